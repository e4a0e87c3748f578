//! Why a command or a session failed, and the one place that turns it into a `<result>`.

use epp_proto::response::EppResult;
use epp_proto::response::TrId;
use epp_proto::{ClTrid, Response, ResultCode, SvTrid};
use epp_wire::DecodeError;

/// What the session answers instead of dispatching a command. Each maps to one result code
/// (right below); codes in the x5xx range close the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("{0}")]
    Decode(DecodeError),
    #[error("a client may send hello or a command, not a {0}")]
    UnexpectedFrame(&'static str),
    #[error("log in first")]
    NotLoggedIn,
    #[error("already logged in")]
    AlreadyLoggedIn,
    #[error("protocol version {0} is not supported (only 1.0)")]
    UnsupportedVersion(String),
    #[error("language {0} is not supported (only en)")]
    UnsupportedLang(String),
    #[error("object service not served: {0}")]
    ObjectNotServed(String),
    #[error("extension not served: {0}")]
    ExtensionNotServed(String),
    #[error("object service not selected at login: {0}")]
    ObjectNotSelected(&'static str),
    #[error("extension not selected at login: {0}")]
    ExtensionNotSelected(&'static str),
    /// Every failed authentication, whatever the reason (the audit log has it).
    #[error("authentication failed")]
    AuthenticationFailed,
    #[error("too many failed logins; try again later")]
    LockedOut,
    #[error("session limit reached")]
    SessionLimit,
    #[error("{0}")]
    NewPasswordRefused(registry_core::registrar::PasswordRefusal),
    /// Right credentials, but the password is past `[password] max_age_days`: only a login
    /// that sets a new one gets in.
    #[error("password expired at {}; log in with a new password (newPW)", .since.format("%Y-%m-%dT%H:%M:%SZ"))]
    PasswordExpired { since: epp_proto::Timestamp },
    /// `<pw>`/`<newPW>` and `<loginSec:pw>`/`<loginSec:newPW>` do not pair up.
    #[error("{0}")]
    Credentials(epp_proto::ext::login_sec::CredentialsError),
    /// A command extension that has no place in a `<login>`.
    #[error("extension {0} does not apply to login")]
    ExtensionNotForLogin(&'static str),
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLong { len: u32, max: u32 },
    #[error("invalid frame length {0}")]
    FrameTooShort(u32),
    #[error("frame not received in time")]
    FrameTimeout,
    #[error("session idle for too long")]
    IdleTimeout,
    #[error("registrar suspended")]
    Suspended,
    #[error("server shutting down")]
    ShuttingDown,
    /// A command rate limit is exhausted (`crate::ratelimit`, where the choice of 2308 is
    /// explained); the session stays open.
    #[error(
        "{} rate limit of this {} exceeded; retry in {} ms",
        .0.budget.as_str(),
        .0.scope.as_str(),
        .0.retry_after_ms
    )]
    RateLimited(crate::ratelimit::Refused),
    /// Storage or other internal failure: the detail goes to the log, never to the wire.
    #[error("internal error")]
    Internal,
}

impl SessionError {
    pub fn result_code(&self) -> ResultCode {
        match self {
            SessionError::Decode(e) => e.result_code(),
            SessionError::UnexpectedFrame(_) => ResultCode::CommandSyntaxError,
            SessionError::NotLoggedIn => ResultCode::CommandUseError,
            SessionError::AlreadyLoggedIn => ResultCode::CommandUseError,
            SessionError::UnsupportedVersion(_) => ResultCode::UnimplementedProtocolVersion,
            SessionError::UnsupportedLang(_) => ResultCode::UnimplementedOption,
            SessionError::ObjectNotServed(_) => ResultCode::UnimplementedObjectService,
            SessionError::ExtensionNotServed(_) => ResultCode::UnimplementedExtension,
            SessionError::ObjectNotSelected(_) => ResultCode::UnimplementedObjectService,
            SessionError::ExtensionNotSelected(_) => ResultCode::UnimplementedExtension,
            SessionError::AuthenticationFailed => ResultCode::AuthenticationError,
            SessionError::LockedOut => ResultCode::AuthenticationErrorServerClosingConnection,
            SessionError::SessionLimit => ResultCode::SessionLimitExceededServerClosingConnection,
            SessionError::NewPasswordRefused(_) => ResultCode::ParameterValuePolicyError,
            SessionError::PasswordExpired { .. } => ResultCode::AuthenticationError,
            SessionError::Credentials(_) => ResultCode::CommandSyntaxError,
            SessionError::ExtensionNotForLogin(_) => ResultCode::CommandSyntaxError,
            SessionError::FrameTooLong { .. } => ResultCode::CommandFailedServerClosingConnection,
            SessionError::FrameTooShort(_) => ResultCode::CommandFailedServerClosingConnection,
            SessionError::FrameTimeout => ResultCode::CommandFailedServerClosingConnection,
            SessionError::IdleTimeout => ResultCode::CommandFailedServerClosingConnection,
            SessionError::Suspended => ResultCode::CommandFailedServerClosingConnection,
            SessionError::ShuttingDown => ResultCode::CommandFailedServerClosingConnection,
            SessionError::RateLimited(_) => ResultCode::DataManagementPolicyViolation,
            SessionError::Internal => ResultCode::CommandFailed,
        }
    }

    /// The `<msg>`: the code's standard text, then why (authentication failures and internal
    /// errors say nothing more, so every failed login reads the same).
    pub fn message(&self) -> String {
        let code = self.result_code();
        match self {
            SessionError::AuthenticationFailed | SessionError::Internal => code.text().to_owned(),
            other => format!("{}: {other}", code.text()),
        }
    }
}

/// Renders an error as a response; the caller closes the session when the code says so
/// ([`ResultCode::closes_session`]).
pub fn error_response(err: &SessionError, cl_trid: Option<ClTrid>, sv_trid: SvTrid) -> Response {
    let mut result = EppResult::new(err.result_code());
    result.msg = err.message();
    Response {
        results: vec![result],
        msg_q: None,
        res_data: None,
        extensions: Vec::new(),
        tr_id: TrId {
            cl_trid,
            sv_trid: Some(sv_trid),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failures_all_read_the_same_and_closing_codes_close() {
        let e = SessionError::AuthenticationFailed;
        assert_eq!(e.message(), "Authentication error");
        assert!(!e.result_code().closes_session());
        for e in [
            SessionError::LockedOut,
            SessionError::SessionLimit,
            SessionError::FrameTooLong { len: 9, max: 8 },
            SessionError::IdleTimeout,
            SessionError::Suspended,
            SessionError::ShuttingDown,
        ] {
            assert!(e.result_code().closes_session(), "{e:?}");
        }
        let d = SessionError::Decode(DecodeError::MissingElement {
            parent: "login".into(),
            element: "pw".into(),
        });
        assert_eq!(d.result_code(), ResultCode::CommandSyntaxError);
        assert!(d.message().contains("pw"));
    }
}
