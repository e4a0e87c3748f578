//! EPP on the wire: RFC 5734 framing over tokio streams, and the XML codec between EPP
//! documents and the plain types of `epp-proto`.
//!
//! This crate owns every byte of XML the project reads or writes. Decoding is strict and
//! namespace-aware (prefixes are irrelevant), bounded ([`dom::Limits`]), and refuses DTDs.
//! Errors are [`DecodeError`]s that name the offending element and map to an EPP result code
//! via [`DecodeError::result_code`]. Encoding produces documents that validate against the
//! XSDs in `schemas/` (checked by the xmllint suite in `tests/`).
//!
//! Layout: [`framing`] (length-prefixed frames), [`dom`] (bytes → bounded element tree),
//! `command` (commands and hello, both directions), `response` (responses and greeting, both
//! directions), [`ext`] (one module per protocol extension), [`xml`] (the writer).

pub mod dom;
pub mod error;
pub mod ext;
pub mod framing;
pub mod xml;

mod command;
mod read;
mod response;

pub use error::{DecodeError, FrameDecodeError};
pub use framing::{read_frame, write_frame, FrameError, DEFAULT_MAX_FRAME_LEN};

use epp_proto::Frame;

/// Decodes one EPP document (any frame: hello, greeting, command or response).
pub fn decode(bytes: &[u8]) -> Result<Frame, FrameDecodeError> {
    decode_with(bytes, &dom::Limits::default())
}

/// [`decode`] with explicit limits.
pub fn decode_with(bytes: &[u8], limits: &dom::Limits) -> Result<Frame, FrameDecodeError> {
    let root = dom::parse(bytes, limits)?;
    if !root.is(epp_proto::ns::EPP, "epp") {
        return Err(DecodeError::UnexpectedElement {
            parent: "document".into(),
            element: root.label(),
        }
        .into());
    }
    let [child] = root.children.as_slice() else {
        return Err(match root.children.first() {
            None => DecodeError::MissingElement {
                parent: "epp".into(),
                element: "command".into(),
            },
            Some(_) => DecodeError::UnexpectedElement {
                parent: "epp".into(),
                element: root.children[1].label(),
            },
        }
        .into());
    };
    if child.ns != epp_proto::ns::EPP {
        return Err(DecodeError::UnexpectedElement {
            parent: "epp".into(),
            element: child.label(),
        }
        .into());
    }
    match child.name.as_ref() {
        "hello" => command::decode_hello(child).map_err(Into::into),
        "command" => command::decode_command(child),
        "greeting" => response::decode_greeting(child)
            .map(Frame::Greeting)
            .map_err(Into::into),
        "response" => response::decode_response(child)
            .map(Frame::Response)
            .map_err(Into::into),
        "extension" => Err(DecodeError::UnimplementedExtension(
            "protocol extension at the top level".into(),
        )
        .into()),
        _ => Err(DecodeError::UnknownCommand(child.label()).into()),
    }
}

/// Encodes one EPP document as a whole RFC 5734 frame: the 4-byte length header, then the
/// XML. A transport writes it with one call, so a TLS stream sends one record (and the
/// peer wakes once) instead of one for the header and one for the document.
pub fn encode_frame(frame: &Frame) -> Result<Vec<u8>, FrameError> {
    frame_bytes(encode(frame).as_bytes())
}

/// `payload` behind its RFC 5734 length header.
pub fn frame_bytes(payload: &[u8]) -> Result<Vec<u8>, FrameError> {
    let total = payload.len() + framing::HEADER_LEN;
    let len = u32::try_from(total).map_err(|_| FrameError::TooLong {
        len: u32::MAX,
        max: u32::MAX,
    })?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Encodes one EPP document.
pub fn encode(frame: &Frame) -> String {
    let mut w = xml::XmlWriter::new();
    w.open("epp", &[("xmlns", epp_proto::ns::EPP)]);
    match frame {
        Frame::Hello => {
            w.empty("hello", &[]);
        }
        Frame::Command(c) => command::encode_command(&mut w, c),
        Frame::Greeting(g) => response::encode_greeting(&mut w, g),
        Frame::Response(r) => response::encode_response(&mut w, r),
    }
    w.close("epp");
    w.into_string()
}
