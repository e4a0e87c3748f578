//! Why a frame could not be decoded, and the EPP result code each reason maps to.

use epp_proto::ResultCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame is not UTF-8")]
    NotUtf8,
    #[error("XML is not well-formed: {0}")]
    Malformed(String),
    #[error("DOCTYPE declarations are not allowed")]
    DocType,
    #[error("limit exceeded: {0}")]
    LimitExceeded(&'static str),
    #[error("unexpected element {element} in {parent}")]
    UnexpectedElement { parent: String, element: String },
    #[error("missing element {element} in {parent}")]
    MissingElement { parent: String, element: String },
    #[error("missing attribute {attribute} of {element}")]
    MissingAttribute {
        element: String,
        attribute: &'static str,
    },
    #[error("invalid value of {element}: {reason}")]
    InvalidValue { element: String, reason: String },
    #[error("value of {element} out of range: {reason}")]
    OutOfRange { element: String, reason: String },
    #[error("unknown command {0}")]
    UnknownCommand(String),
    #[error("object service not implemented: {0}")]
    UnimplementedObject(String),
    #[error("extension not implemented: {0}")]
    UnimplementedExtension(String),
    /// A `<pw>` or `<newPW>` longer than `epp:pwType` allows (16): a schema violation, whose
    /// answer tells the client where long passwords go.
    #[error(
        "{element} is longer than 16 characters: longer passwords go in <loginSec:{local}> \
         (loginSec, urn:ietf:params:xml:ns:epp:loginSec-1.0, RFC 8807) with \
         <{local}>[LOGIN-SECURITY]</{local}>"
    )]
    PasswordNeedsLoginSec {
        element: String,
        local: &'static str,
    },
}

impl DecodeError {
    /// The result code a server answers with. Schema violations are 2001 (RFC 5730: "Command
    /// syntax error"); a well-placed value of the wrong form is 2005, out of bounds 2004.
    pub fn result_code(&self) -> ResultCode {
        match self {
            DecodeError::NotUtf8 => ResultCode::CommandSyntaxError,
            DecodeError::Malformed(_) => ResultCode::CommandSyntaxError,
            DecodeError::DocType => ResultCode::CommandSyntaxError,
            DecodeError::LimitExceeded(_) => ResultCode::CommandSyntaxError,
            DecodeError::UnexpectedElement { .. } => ResultCode::CommandSyntaxError,
            DecodeError::MissingElement { .. } => ResultCode::CommandSyntaxError,
            DecodeError::MissingAttribute { .. } => ResultCode::CommandSyntaxError,
            DecodeError::InvalidValue { .. } => ResultCode::ParameterValueSyntaxError,
            DecodeError::OutOfRange { .. } => ResultCode::ParameterValueRangeError,
            DecodeError::UnknownCommand(_) => ResultCode::UnknownCommand,
            DecodeError::UnimplementedObject(_) => ResultCode::UnimplementedObjectService,
            DecodeError::UnimplementedExtension(_) => ResultCode::UnimplementedExtension,
            DecodeError::PasswordNeedsLoginSec { .. } => ResultCode::CommandSyntaxError,
        }
    }
}

/// A failed decode, with the clTRID when it could still be recovered from the tree, so the
/// error response can echo it (RFC 5730 section 2.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct FrameDecodeError {
    pub error: DecodeError,
    pub cl_trid: Option<epp_proto::ClTrid>,
}

impl From<DecodeError> for FrameDecodeError {
    fn from(error: DecodeError) -> Self {
        Self {
            error,
            cl_trid: None,
        }
    }
}
