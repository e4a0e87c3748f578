//! Bytes -> RFC 5734 framing -> `epp_wire::decode`; whatever decodes must encode and decode to
//! the same frame. Must never panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first four bytes are the frame header; the framer must refuse bad lengths without
    // allocating, and a good length bounds the payload we decode.
    let Some((header, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let payload = match epp_wire::framing::payload_len(
        u32::from_be_bytes(*header),
        epp_wire::DEFAULT_MAX_FRAME_LEN,
    ) {
        Ok(len) => &rest[..len.min(rest.len())],
        // A refused header still has its bytes decoded: the XML decoder sees all inputs.
        Err(_) => rest,
    };
    if let Ok(frame) = epp_wire::decode(payload) {
        let xml = epp_wire::encode(&frame);
        match epp_wire::decode(xml.as_bytes()) {
            Ok(again) => assert_eq!(again, frame, "re-decoded frame differs\n{xml}"),
            Err(e) => panic!("encoded frame does not decode: {e:?}\n{xml}"),
        }
    }
});
