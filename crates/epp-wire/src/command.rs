//! Commands and hello, decoded and encoded. (Being written.)
use epp_proto::{CommandFrame, Frame};

use crate::dom::Element;
use crate::error::{DecodeError, FrameDecodeError};
use crate::xml::XmlWriter;

pub(crate) fn decode_hello(_el: &Element) -> Result<Frame, DecodeError> {
    Ok(Frame::Hello)
}

pub(crate) fn decode_command(el: &Element) -> Result<Frame, FrameDecodeError> {
    Err(DecodeError::UnknownCommand(el.label()).into())
}

pub(crate) fn encode_command(_w: &mut XmlWriter, _c: &CommandFrame) {}
