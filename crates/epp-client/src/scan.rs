//! Reading an answer without decoding it: the first result code and whether it is a
//! greeting. A load generator looks at millions of answers and needs nothing else; anything
//! the fast scan does not recognise goes through the full decoder.

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Position of element `name`'s start tag, whatever its namespace prefix.
fn find_element(xml: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find(&xml[from..], name) {
        let at = from + i;
        let before = at.checked_sub(1).map(|b| xml[b]);
        let after = xml.get(at + name.len()).copied();
        if matches!(before, Some(b'<' | b':'))
            && matches!(after, Some(b' ' | b'>' | b'/' | b'\t' | b'\n' | b'\r'))
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The first result code of an EPP response. A fast scan for `<result code="NNNN"`; anything
/// else goes through the full decoder.
pub fn result_code(xml: &[u8]) -> Option<u16> {
    if let Some(at) = find_element(xml, b"result") {
        let tail = &xml[at..xml.len().min(at + 64)];
        if let Some(c) = find(tail, b"code=") {
            let v = &tail[c + 5..];
            if let [q @ (b'"' | b'\''), d @ ..] = v {
                if d.len() >= 5 && d[..4].iter().all(u8::is_ascii_digit) && d[4] == *q {
                    return std::str::from_utf8(&d[..4]).ok()?.parse().ok();
                }
            }
        }
    }
    match epp_wire::decode(xml) {
        Ok(epp_proto::Frame::Response(r)) => r.code().map(|c| c.code()),
        _ => None,
    }
}

/// Whether a frame is a greeting.
pub fn is_greeting(xml: &[u8]) -> bool {
    find_element(xml, b"greeting").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_code_fast_path() {
        let xml = br#"<?xml version="1.0"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response><result code="2302"><msg>Object exists</msg></result></response></epp>"#;
        assert_eq!(result_code(xml), Some(2302));
        let prefixed = br#"<e:epp xmlns:e="urn:ietf:params:xml:ns:epp-1.0"><e:response><e:result code='1000'><e:msg>ok</e:msg></e:result></e:response></e:epp>"#;
        assert_eq!(result_code(prefixed), Some(1000));
    }

    #[test]
    fn result_code_refuses_lookalikes_and_garbage() {
        assert_eq!(result_code(br#"<resultx code="1000"/>"#), None);
        assert_eq!(result_code(br#"<result code="10"/>"#), None);
        assert_eq!(result_code(br#"<result code="1000'/>"#), None);
        assert_eq!(result_code(b""), None);
        assert_eq!(result_code(b"<result code=\""), None);
        assert_eq!(result_code(&[0xff, 0xfe, 0x00]), None);
    }

    #[test]
    fn greeting_detection() {
        assert!(is_greeting(
            br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><greeting><svID>x</svID></greeting></epp>"#
        ));
        assert!(!is_greeting(
            br#"<epp><response><result code="1000"/></response></epp>"#
        ));
        assert!(!is_greeting(b"<epp><greetings/></epp>"));
    }
}
