//! `epp-cli`: the registrars' and operators' EPP client: one command per invocation, a
//! batch of commands over one login, or an interactive shell.
//!
//! The connection, TLS and framing are `epp-client`'s. This crate owns the command line
//! ([`cli`]: one subcommand per EPP command, mapped to `epp-proto` values), profiles
//! ([`profile`]), what one command, a batch and the shell share ([`run`]), the two outputs
//! ([`render`] for people, [`json`] for scripts, with a versioned schema), [`batch`] and
//! [`shell`].

pub mod batch;
pub mod cli;
pub mod json;
pub mod profile;
pub mod render;
pub mod run;
pub mod shell;

/// Exit statuses, distinct per kind of failure so scripts can tell them apart.
pub mod exit {
    /// The command succeeded (1xxx); in a batch, every line did.
    pub const OK: u8 = 0;
    /// The server refused the command (2xxx); in a batch, some line failed or was not sent.
    pub const EPP_ERROR: u8 = 1;
    /// Bad arguments (clap also uses 2); in a batch, a bad line (then nothing was sent).
    pub const USAGE: u8 = 2;
    /// Login refused.
    pub const LOGIN_REFUSED: u8 = 3;
    /// Could not connect, lost the connection, or the server spoke something else.
    pub const CONNECTION: u8 = 4;
    /// TLS or certificate failure.
    pub const TLS: u8 = 5;
    /// A local file (profile, certificate, key, password) could not be used.
    pub const LOCAL_FILES: u8 = 6;
}
