//! Every way a query can fail, and (right below) the HTTP status and RDAP error object each
//! one gets (RFC 9083 section 6). Storage errors never reach the client: they are logged and
//! answered 500 or 503 without detail.

use axum::http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdapError {
    /// Not an RDAP query this server can interpret (RFC 7480 section 5.4): an unknown path,
    /// a malformed name or address, a missing parameter.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A domain or host name beyond the DNS limits (253 octets, 63 per label).
    #[error("name too long")]
    NameTooLong,
    /// The request target is longer than `limits.max_uri_len`.
    #[error("request target too long")]
    UriTooLong,
    #[error("not found")]
    NotFound,
    /// A search with a partial-match style this server does not support (RFC 9082 4.1).
    #[error("unprocessable search: {0}")]
    Unprocessable(String),
    /// An RDAP query type this registry does not serve (ip, autnum, entity searches, …).
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Over the client's rate limit (RFC 7480 section 5.5).
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database did not answer in time.
    #[error("service unavailable")]
    Unavailable,
    /// A storage or data error (details in the log only).
    #[error("internal error")]
    Internal,
}

impl RdapError {
    pub fn status(&self) -> StatusCode {
        match self {
            RdapError::BadRequest(_) | RdapError::NameTooLong => StatusCode::BAD_REQUEST,
            RdapError::UriTooLong => StatusCode::URI_TOO_LONG,
            RdapError::NotFound => StatusCode::NOT_FOUND,
            RdapError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RdapError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            RdapError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            RdapError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            RdapError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            RdapError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error object's `title`.
    pub fn title(&self) -> &'static str {
        match self {
            RdapError::BadRequest(_) => "Bad Request",
            RdapError::NameTooLong => "Name Too Long",
            RdapError::UriTooLong => "URI Too Long",
            RdapError::NotFound => "Not Found",
            RdapError::Unprocessable(_) => "Unprocessable Search",
            RdapError::NotImplemented(_) => "Not Implemented",
            RdapError::MethodNotAllowed => "Method Not Allowed",
            RdapError::TooManyRequests { .. } => "Too Many Requests",
            RdapError::Unavailable => "Service Unavailable",
            RdapError::Internal => "Internal Server Error",
        }
    }

    /// The error object's `description` lines.
    pub fn description(&self) -> Vec<String> {
        match self {
            RdapError::BadRequest(why) => vec![why.clone()],
            RdapError::NameTooLong => {
                vec!["A domain name has at most 253 characters and 63 per label (RFC 1035).".into()]
            }
            RdapError::UriTooLong => vec!["The request target is too long.".into()],
            RdapError::NotFound => vec!["The object does not exist in this registry.".into()],
            RdapError::Unprocessable(why) => vec![why.clone()],
            RdapError::NotImplemented(what) => {
                vec![format!(
                    "This registry's RDAP service does not answer {what}."
                )]
            }
            RdapError::MethodNotAllowed => {
                vec!["RDAP queries use GET or HEAD.".into()]
            }
            RdapError::TooManyRequests { retry_after_secs } => vec![format!(
                "Too many queries from your address; retry in {retry_after_secs} s."
            )],
            RdapError::Unavailable => {
                vec!["The service is busy; retry in a moment.".into()]
            }
            RdapError::Internal => vec!["The query could not be answered.".into()],
        }
    }
}

impl From<registry_core::CoreError> for RdapError {
    fn from(e: registry_core::CoreError) -> Self {
        tracing::error!(error = %e, "RDAP query failed in the registry core");
        RdapError::Internal
    }
}
