//! The EPP server: accepts TLS connections, authenticates registrars (client certificate
//! pinned per registrar, argon2id password, source-address allow-list), runs one session per
//! connection and dispatches decoded commands to the registry core.
