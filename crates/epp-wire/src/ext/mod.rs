//! Extension codecs: one module per extension namespace. The command and response codecs
//! hand every child of `<extension>` to [`decode_command_extension`] /
//! [`decode_response_extension`], which dispatch on the namespace; adding an extension is a new
//! module plus one arm in each function below.

use epp_proto::ext::{CommandExtension, ResponseExtension};

use crate::dom::Element;
use crate::error::DecodeError;
use crate::xml::XmlWriter;

/// Decodes one child of a command's `<extension>`.
pub fn decode_command_extension(el: &Element) -> Result<CommandExtension, DecodeError> {
    Err(DecodeError::UnimplementedExtension(el.ns.clone()))
}

/// Decodes one child of a response's `<extension>`.
pub fn decode_response_extension(el: &Element) -> Result<ResponseExtension, DecodeError> {
    Err(DecodeError::UnimplementedExtension(el.ns.clone()))
}

/// Writes one command extension element (with its own `xmlns:` declaration).
pub fn encode_command_extension(_w: &mut XmlWriter, _ext: &CommandExtension) {}

/// Writes one response extension element (with its own `xmlns:` declaration).
pub fn encode_response_extension(_w: &mut XmlWriter, _ext: &ResponseExtension) {}
