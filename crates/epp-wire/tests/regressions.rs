//! Inputs that once broke the codec (found by the `decode` fuzz target), named after the bug.
//! Each file in `tests/regressions/` is a raw fuzz input: a 4-byte RFC 5734 header, then the
//! document. Every one goes through the fuzz target's property; some have a precise check too.

// Test code: helpers outside #[test] fns unwrap on fixtures and generated values.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use epp_wire::{decode, encode, framing, DecodeError, DEFAULT_MAX_FRAME_LEN};

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions")
}

/// The fuzz target's property: frame, decode; what decodes re-encodes to the same frame.
fn property(data: &[u8]) -> Option<Result<epp_proto::Frame, epp_wire::FrameDecodeError>> {
    let (header, rest) = data.split_first_chunk::<4>()?;
    let payload = match framing::payload_len(u32::from_be_bytes(*header), DEFAULT_MAX_FRAME_LEN) {
        Ok(len) => &rest[..len.min(rest.len())],
        Err(_) => rest,
    };
    let got = decode(payload);
    if let Ok(frame) = &got {
        let xml = encode(frame);
        assert_eq!(decode(xml.as_bytes()).as_ref(), Ok(frame), "{xml}");
    }
    Some(got)
}

#[test]
fn every_regression_input_holds_the_fuzz_property() {
    let mut n = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "bin") {
            property(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 1);
}

/// A raw NUL inside `<clTRID>`: quick-xml passed it through, the decoder accepted it, and the
/// writer (which replaces characters XML cannot carry) wrote something else back.
#[test]
fn nul_char_in_text() {
    let data = std::fs::read(dir().join("nul-char-in-text-1.bin")).unwrap();
    let got = property(&data).unwrap();
    let err = got.expect_err("a NUL is not XML");
    assert!(matches!(err.error, DecodeError::Malformed(_)), "{err:?}");
    // The same in an attribute, in element text, or as a character reference: the document is
    // not XML, so the tree builder refuses it before any clTRID could be read (2001 without
    // clTRID, as for any frame that is not well-formed).
    let frame = |body: &str| {
        format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>{body}<clTRID>ABC-12345</clTRID></command></epp>"#
        )
    };
    for body in [
        "<poll op=\"ack\" msgID=\"1\u{0}\"/>",
        "<poll op=\"ack\" msgID=\"1&#1;\"/>",
        "<logout>\u{1}</logout>",
    ] {
        let err = decode(frame(body).as_bytes()).expect_err(body);
        assert!(
            matches!(err.error, DecodeError::Malformed(_)),
            "{body}: {err:?}"
        );
        assert_eq!(err.cl_trid, None);
    }
}
