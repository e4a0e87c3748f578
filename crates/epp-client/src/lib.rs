//! `epp-client`: the one EPP client of the workspace, shared by `epp-cli`, `epp-load` and the
//! end-to-end tests.
//!
//! It owns the client side of RFC 5734 (EPP over TLS over TCP) and nothing above it: no
//! command-line parsing, no output, no load schedule. Two layers:
//!
//! - [`Connection`]: raw. TCP connect (optionally from a chosen source address), TLS with a
//!   client certificate, then RFC 5734 frames as bytes: send a frame, send arbitrary bytes (to
//!   test a server with broken frames), receive a frame. No timeouts of its own and no copies
//!   beyond one reused output buffer, so a load generator's hot loop costs what the socket
//!   costs. [`scan`] reads a result code from an answer without decoding it.
//! - [`Session`]: typed. Reads and decodes the greeting, then `hello`, `login` (all objects
//!   and extensions the greeting offers, unless told otherwise), commands as `epp-proto`
//!   values or as XML text, `logout`; every wait bounded by the session's timeout, clTRIDs
//!   generated.
//!
//! [`tls`] builds the rustls configuration from PEM files or DER values, and puts TLS
//! failures into words an operator can act on.

pub mod conn;
pub mod error;
pub mod scan;
pub mod session;
pub mod tls;

pub use conn::{ConnectOptions, Connection};
pub use error::ClientError;
pub use session::{ClTridGen, LoginRequest, Session};
