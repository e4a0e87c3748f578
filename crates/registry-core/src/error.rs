//! The core's error type and its one mapping to EPP result codes.

use epp_proto::ResultCode;

use crate::store::StoreError;

/// Why the core refused (or failed) a command. Each variant carries a short, fixed reason
/// for logs and `<extValue>`; the mapping to a result code is [`CoreError::result_code`],
/// right below, with no catch-all arm.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// 2002: the command is not one the core handles here (login/logout), or an extension is
    /// used with a command it does not belong to.
    #[error("command use error: {0}")]
    CommandUse(&'static str),
    /// 2003.
    #[error("required parameter missing: {0}")]
    Missing(&'static str),
    /// 2004.
    #[error("parameter value range error: {0}")]
    Range(&'static str),
    /// 2005.
    #[error("parameter value syntax error: {0}")]
    Syntax(&'static str),
    /// 2102.
    #[error("unimplemented option: {0}")]
    UnimplementedOption(&'static str),
    /// 2105.
    #[error("not eligible for renewal: {0}")]
    NotEligibleForRenewal(&'static str),
    /// 2106.
    #[error("not eligible for transfer: {0}")]
    NotEligibleForTransfer(&'static str),
    /// 2201: the actor may not act on this object.
    #[error("authorization error: {0}")]
    Authorization(&'static str),
    /// 2202.
    #[error("invalid authorization information")]
    InvalidAuthInfo,
    /// 2202: an authInfo offered to be set is below the strength policy (RFC 9154 section
    /// 4.1 names 2202 for this); the reason names the weakness.
    #[error("authInfo too weak: {0}")]
    WeakAuthInfo(crate::secure_auth::Weakness),
    /// 2202, whatever the authInfo: too many wrong ones lately from this registrar or for
    /// this object ([`crate::auth_guard`]). Still 2202, because during a back-off the right
    /// value must get the same answer as a wrong one.
    #[error("authInfo attempts in back-off")]
    AuthInfoBackoff,
    /// 2300.
    #[error("object pending transfer")]
    PendingTransfer,
    /// 2301.
    #[error("object not pending transfer")]
    NotPendingTransfer,
    /// 2302.
    #[error("object exists: {0}")]
    Exists(&'static str),
    /// 2303.
    #[error("object does not exist: {0}")]
    NotFound(&'static str),
    /// 2304.
    #[error("object status prohibits operation: {0}")]
    StatusProhibits(&'static str),
    /// 2304: the delegation guard refused a change that would alter what the zone publishes
    /// for a registry-locked domain (`domain`, kept for the audit row; the reason names the
    /// lock and is the same for every registrar).
    #[error("registry lock prohibits operation: {reason} ({domain})")]
    RegistryLocked {
        reason: &'static str,
        domain: String,
    },
    /// 2305.
    #[error("object association prohibits operation: {0}")]
    Association(&'static str),
    /// 2306.
    #[error("parameter value policy error: {0}")]
    Policy(&'static str),
    /// 2400: storage failed (the cause is logged, never sent).
    #[error("storage error: {0}")]
    Store(StoreError),
    /// 2400: the command's time was up before its transaction could commit (the database is
    /// slow or gone); the transaction was rolled back.
    #[error("command timed out")]
    Timeout,
    /// 2400: stored data the core cannot read back (a bug or a hand-edited database).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl CoreError {
    pub fn result_code(&self) -> ResultCode {
        match self {
            CoreError::CommandUse(_) => ResultCode::CommandUseError,
            CoreError::Missing(_) => ResultCode::RequiredParameterMissing,
            CoreError::Range(_) => ResultCode::ParameterValueRangeError,
            CoreError::Syntax(_) => ResultCode::ParameterValueSyntaxError,
            CoreError::UnimplementedOption(_) => ResultCode::UnimplementedOption,
            CoreError::NotEligibleForRenewal(_) => ResultCode::ObjectNotEligibleForRenewal,
            CoreError::NotEligibleForTransfer(_) => ResultCode::ObjectNotEligibleForTransfer,
            CoreError::Authorization(_) => ResultCode::AuthorizationError,
            CoreError::InvalidAuthInfo
            | CoreError::AuthInfoBackoff
            | CoreError::WeakAuthInfo(_) => ResultCode::InvalidAuthorizationInformation,
            CoreError::PendingTransfer => ResultCode::ObjectPendingTransfer,
            CoreError::NotPendingTransfer => ResultCode::ObjectNotPendingTransfer,
            CoreError::Exists(_) => ResultCode::ObjectExists,
            CoreError::NotFound(_) => ResultCode::ObjectDoesNotExist,
            CoreError::StatusProhibits(_) | CoreError::RegistryLocked { .. } => {
                ResultCode::ObjectStatusProhibitsOperation
            }
            CoreError::Association(_) => ResultCode::ObjectAssociationProhibitsOperation,
            CoreError::Policy(_) => ResultCode::ParameterValuePolicyError,
            CoreError::Store(e) => match e {
                StoreError::Duplicate => ResultCode::ObjectExists,
                StoreError::ForeignKey => ResultCode::ObjectAssociationProhibitsOperation,
                StoreError::Conflict(_) | StoreError::Backend(_) => ResultCode::CommandFailed,
            },
            CoreError::Corrupt(_) | CoreError::Timeout => ResultCode::CommandFailed,
        }
    }

    /// A short reason (≤ 32 characters, fits `eppcom:reasonBaseType`) that may be sent to the
    /// client; storage details are never part of it.
    pub fn reason(&self) -> &'static str {
        match self {
            CoreError::CommandUse(r)
            | CoreError::Missing(r)
            | CoreError::Range(r)
            | CoreError::Syntax(r)
            | CoreError::UnimplementedOption(r)
            | CoreError::NotEligibleForRenewal(r)
            | CoreError::NotEligibleForTransfer(r)
            | CoreError::Authorization(r)
            | CoreError::Exists(r)
            | CoreError::NotFound(r)
            | CoreError::StatusProhibits(r)
            | CoreError::Association(r)
            | CoreError::Policy(r) => r,
            CoreError::RegistryLocked { reason, .. } => reason,
            CoreError::InvalidAuthInfo => "invalid authInfo",
            CoreError::WeakAuthInfo(w) => w.reason(),
            CoreError::AuthInfoBackoff => "authInfo attempts: retry later",
            CoreError::PendingTransfer => "pending transfer",
            CoreError::NotPendingTransfer => "not pending transfer",
            CoreError::Store(StoreError::Duplicate) => "object exists",
            CoreError::Store(StoreError::ForeignKey) => "object is referenced",
            CoreError::Store(_) | CoreError::Corrupt(_) => "internal error",
            CoreError::Timeout => "timed out, not applied",
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        CoreError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_errors_map_without_leaking() {
        let e = CoreError::Store(StoreError::Backend("disk on fire at /var/db".into()));
        assert_eq!(e.result_code(), ResultCode::CommandFailed);
        assert_eq!(e.reason(), "internal error");
        assert_eq!(
            CoreError::Store(StoreError::Duplicate).result_code(),
            ResultCode::ObjectExists
        );
    }

    #[test]
    fn reasons_fit_the_schema() {
        let all = [
            CoreError::InvalidAuthInfo,
            CoreError::AuthInfoBackoff,
            CoreError::WeakAuthInfo(crate::secure_auth::Weakness::TooFewClasses),
            CoreError::NotEligibleForTransfer(crate::secure_auth::REASON_LOCK_CREATED),
            CoreError::NotEligibleForTransfer(crate::secure_auth::REASON_LOCK_TRANSFERRED),
            CoreError::PendingTransfer,
            CoreError::NotPendingTransfer,
            CoreError::Store(StoreError::ForeignKey),
            CoreError::RegistryLocked {
                reason: crate::guard::REASON_DOMAIN,
                domain: String::new(),
            },
            CoreError::RegistryLocked {
                reason: crate::guard::REASON_LINKED,
                domain: String::new(),
            },
        ];
        for e in all {
            assert!(e.reason().chars().count() <= 32, "{}", e.reason());
        }
    }
}
