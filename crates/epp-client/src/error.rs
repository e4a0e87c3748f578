//! What can go wrong on the client side of a connection.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A local file (certificate, key, CA) could not be read or used.
    #[error("cannot read {path}: {reason}")]
    Files { path: String, reason: String },
    /// The name to verify in the server certificate is not a DNS name or IP address.
    #[error("{0:?} is not a valid server name")]
    ServerName(String),
    #[error("cannot connect to {server}: {reason}")]
    Connect { server: String, reason: String },
    /// The TLS layer failed (certificates, alerts); the text says what to check.
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("connection lost: {0}")]
    Io(String),
    /// The server closed the connection (between frames or in the middle of one).
    #[error("server closed the connection")]
    Closed,
    #[error("server did not answer within {0:?}")]
    Timeout(Duration),
    /// The server sent something that is not the EPP we expected.
    #[error("server sent something that is not valid EPP: {0}")]
    Protocol(String),
    /// A request this server cannot take as asked (a password longer than 16 characters for a
    /// server without loginSec); nothing was sent.
    #[error("{0}")]
    Unsupported(String),
}

impl ClientError {
    /// A short stable name, for counting failures by kind (load reports).
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Files { .. } | ClientError::ServerName(_) => "settings",
            ClientError::Connect { .. } => "connect",
            ClientError::Tls(_) => "tls",
            ClientError::Io(_) => "io",
            ClientError::Closed => "closed",
            ClientError::Timeout(_) => "timeout",
            ClientError::Protocol(_) => "protocol",
            ClientError::Unsupported(_) => "settings",
        }
    }

    /// True for failures of the TLS layer (certificates), as opposed to the network.
    pub fn is_tls(&self) -> bool {
        matches!(self, ClientError::Tls(_))
    }
}

impl From<epp_wire::FrameError> for ClientError {
    fn from(e: epp_wire::FrameError) -> Self {
        use epp_wire::FrameError as F;
        match e {
            F::Closed | F::Truncated => ClientError::Closed,
            F::TooShort(_) | F::TooLong { .. } => ClientError::Protocol(e.to_string()),
            F::Io(e) => io_error(e),
        }
    }
}

/// An I/O error of the TLS stream: a rustls error inside it is a TLS failure.
pub(crate) fn io_error(e: std::io::Error) -> ClientError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return ClientError::Tls(crate::tls::explain(inner));
    }
    ClientError::Io(e.to_string())
}
