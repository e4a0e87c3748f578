//! The result codes of RFC 5730 section 3, with their standard texts.

macro_rules! result_codes {
    ($($variant:ident = $code:literal, $text:literal;)*) => {
        /// An EPP result code (RFC 5730 section 3). `1xxx` is success, `2xxx` failure;
        /// `x5xx` codes close the session.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResultCode {
            $($variant,)*
        }

        impl ResultCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ResultCode] = &[$(ResultCode::$variant,)*];

            /// The four-digit code.
            pub const fn code(self) -> u16 {
                match self { $(ResultCode::$variant => $code,)* }
            }

            /// The text RFC 5730 gives for this code (used as the default `<msg>`).
            pub const fn text(self) -> &'static str {
                match self { $(ResultCode::$variant => $text,)* }
            }

            /// The code for a four-digit number, if RFC 5730 defines it.
            pub const fn from_code(code: u16) -> Option<ResultCode> {
                match code { $($code => Some(ResultCode::$variant),)* _ => None }
            }
        }
    };
}

result_codes! {
    Success = 1000, "Command completed successfully";
    SuccessActionPending = 1001, "Command completed successfully; action pending";
    SuccessNoMessages = 1300, "Command completed successfully; no messages";
    SuccessAckToDequeue = 1301, "Command completed successfully; ack to dequeue";
    SuccessEndingSession = 1500, "Command completed successfully; ending session";
    UnknownCommand = 2000, "Unknown command";
    CommandSyntaxError = 2001, "Command syntax error";
    CommandUseError = 2002, "Command use error";
    RequiredParameterMissing = 2003, "Required parameter missing";
    ParameterValueRangeError = 2004, "Parameter value range error";
    ParameterValueSyntaxError = 2005, "Parameter value syntax error";
    UnimplementedProtocolVersion = 2100, "Unimplemented protocol version";
    UnimplementedCommand = 2101, "Unimplemented command";
    UnimplementedOption = 2102, "Unimplemented option";
    UnimplementedExtension = 2103, "Unimplemented extension";
    BillingFailure = 2104, "Billing failure";
    ObjectNotEligibleForRenewal = 2105, "Object is not eligible for renewal";
    ObjectNotEligibleForTransfer = 2106, "Object is not eligible for transfer";
    AuthenticationError = 2200, "Authentication error";
    AuthorizationError = 2201, "Authorization error";
    InvalidAuthorizationInformation = 2202, "Invalid authorization information";
    ObjectPendingTransfer = 2300, "Object pending transfer";
    ObjectNotPendingTransfer = 2301, "Object not pending transfer";
    ObjectExists = 2302, "Object exists";
    ObjectDoesNotExist = 2303, "Object does not exist";
    ObjectStatusProhibitsOperation = 2304, "Object status prohibits operation";
    ObjectAssociationProhibitsOperation = 2305, "Object association prohibits operation";
    ParameterValuePolicyError = 2306, "Parameter value policy error";
    UnimplementedObjectService = 2307, "Unimplemented object service";
    DataManagementPolicyViolation = 2308, "Data management policy violation";
    CommandFailed = 2400, "Command failed";
    CommandFailedServerClosingConnection = 2500, "Command failed; server closing connection";
    AuthenticationErrorServerClosingConnection = 2501, "Authentication error; server closing connection";
    SessionLimitExceededServerClosingConnection = 2502, "Session limit exceeded; server closing connection";
}

impl ResultCode {
    /// `1xxx`: the command succeeded.
    pub const fn is_success(self) -> bool {
        self.code() < 2000
    }

    /// `x5xx`: the server ends the session after this response (RFC 5730 section 3).
    pub const fn closes_session(self) -> bool {
        self.code() % 1000 >= 500
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for ResultCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.code())
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_sorted() {
        for pair in ResultCode::ALL.windows(2) {
            assert!(pair[0].code() < pair[1].code());
        }
        for &c in ResultCode::ALL {
            assert_eq!(ResultCode::from_code(c.code()), Some(c));
        }
        assert_eq!(ResultCode::ALL.len(), 34);
        assert_eq!(ResultCode::from_code(1999), None);
    }

    #[test]
    fn closing_codes() {
        assert!(ResultCode::SuccessEndingSession.closes_session());
        assert!(ResultCode::SessionLimitExceededServerClosingConnection.closes_session());
        assert!(!ResultCode::AuthenticationError.closes_session());
        assert!(ResultCode::SuccessNoMessages.is_success());
        assert!(!ResultCode::UnknownCommand.is_success());
    }
}
