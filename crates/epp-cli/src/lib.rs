//! `epp-cli`: the registrars' and operators' EPP client. The library part ([`client`]) is a
//! small TLS EPP client that the load tool and the end-to-end tests share; [`cli`] maps the
//! command line to EPP commands and [`render`] prints answers.

pub mod cli;
pub mod client;
pub mod profile;
pub mod render;

/// Exit statuses, distinct per kind of failure so scripts can tell them apart.
pub mod exit {
    /// The command succeeded (1xxx).
    pub const OK: u8 = 0;
    /// The server refused the command (2xxx).
    pub const EPP_ERROR: u8 = 1;
    /// Bad arguments (clap also uses 2).
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
