//! Responses and greeting, decoded and encoded. (Being written.)
use epp_proto::{Greeting, Response};

use crate::dom::Element;
use crate::error::DecodeError;
use crate::xml::XmlWriter;

pub(crate) fn decode_greeting(el: &Element) -> Result<Greeting, DecodeError> {
    Err(DecodeError::UnknownCommand(el.label()))
}

pub(crate) fn decode_response(el: &Element) -> Result<Response, DecodeError> {
    Err(DecodeError::UnknownCommand(el.label()))
}

pub(crate) fn encode_greeting(_w: &mut XmlWriter, _g: &Greeting) {}

pub(crate) fn encode_response(_w: &mut XmlWriter, _r: &Response) {}
