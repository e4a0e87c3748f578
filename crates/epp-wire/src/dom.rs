//! A small, bounded, namespace-resolved element tree built with quick-xml's `NsReader`.
//!
//! Decoding happens in two stages (so that a bad command can still be answered with its
//! clTRID): first the bytes become a tree here, which refuses anything that is not plain,
//! well-formed UTF-8 XML within our limits; then the mappers in `command`/`response` read the
//! tree. Prefixes never matter: every element and attribute is known by (namespace URI, local
//! name). DOCTYPE declarations are refused outright, so there are no entity definitions and no
//! external references to expand; only the five predefined entities and character references
//! are decoded.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::DecodeError;

/// Bounds on a document; generous for EPP, small enough that no frame can exhaust memory
/// beyond a small multiple of its own size.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
    /// Per element, namespace declarations not counted.
    pub max_attributes: usize,
    /// Per text node and per attribute value, in bytes.
    pub max_text: usize,
    /// Namespace declarations (`xmlns`, `xmlns:p`) on one element. Every name is resolved
    /// against the declarations in scope, so together with `max_namespaces` and `max_depth`
    /// this keeps the work per name, and so the whole decode, linear in the frame size.
    pub max_namespaces_per_element: usize,
    /// Namespace declarations in the whole document.
    pub max_namespaces: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 24,
            max_elements: 20_000,
            max_attributes: 16,
            max_text: 64 * 1024,
            max_namespaces_per_element: DEFAULT_MAX_NAMESPACES_PER_ELEMENT,
            max_namespaces: DEFAULT_MAX_NAMESPACES,
        }
    }
}

/// Default of [`Limits::max_namespaces_per_element`]: an `<epp>` declaring every EPP
/// namespace and extension anyone uses needs about 15.
pub const DEFAULT_MAX_NAMESPACES_PER_ELEMENT: usize = 32;
/// Default of [`Limits::max_namespaces`].
pub const DEFAULT_MAX_NAMESPACES: usize = 128;

/// An attribute. Names and values borrow from the document where they can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Namespace of a prefixed attribute; unprefixed attributes have none (XML Namespaces 1.0).
    pub ns: Option<Cow<'static, str>>,
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// An element of the tree. It borrows from the document it was parsed from, so building the
/// tree allocates little more than the child lists (decode speed is a stated target).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element<'a> {
    /// The element's namespace URI; empty when it has none. The namespaces we serve are
    /// `'static` strings, so comparing and storing them costs nothing.
    pub ns: Cow<'static, str>,
    pub name: Cow<'a, str>,
    pub attrs: Vec<Attribute<'a>>,
    pub children: Vec<Element<'a>>,
    /// Character data directly inside this element, concatenated, not trimmed. White space
    /// between child elements is dropped (EPP has no mixed content).
    pub text: Cow<'a, str>,
}

impl Element<'_> {
    /// Value of an unprefixed attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| &*a.value)
    }

    /// `prefix:name` style label for error messages, using a short form of the namespace.
    pub fn label(&self) -> String {
        qualified(&self.ns, &self.name)
    }

    /// True when the element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The text with XML white space trimmed at both ends.
    pub fn trimmed_text(&self) -> &str {
        self.text.trim_matches([' ', '\t', '\r', '\n'])
    }
}

/// A readable label for `{ns}name`: the conventional prefix for namespaces we know.
pub fn qualified(ns: &str, name: &str) -> String {
    let prefix = match ns {
        epp_proto::ns::EPP => "",
        epp_proto::ns::DOMAIN => "domain:",
        epp_proto::ns::HOST => "host:",
        epp_proto::ns::CONTACT => "contact:",
        epp_proto::ns::SEC_DNS => "secDNS:",
        epp_proto::ns::RGP => "rgp:",
        "" => "",
        _ => return format!("{{{ns}}}{name}"),
    };
    format!("{prefix}{name}")
}

/// Known namespace URIs, as `'static` strings (no allocation per element).
const KNOWN_NAMESPACES: &[&str] = &[
    epp_proto::ns::EPP,
    epp_proto::ns::EPPCOM,
    epp_proto::ns::DOMAIN,
    epp_proto::ns::HOST,
    epp_proto::ns::CONTACT,
    epp_proto::ns::SEC_DNS,
    epp_proto::ns::RGP,
    epp_proto::ext::registry_lock::NS,
    "http://www.w3.org/2001/XMLSchema-instance",
];

/// True for the characters XML 1.0 allows (`Char` production, section 2.2). quick-xml passes
/// others through (a raw NUL, C0 controls, U+FFFE/U+FFFF, or `&#0;`); they are not XML, and our
/// writer could not write them back (fuzz finding `nul-char-in-text`, tests/regressions/).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_chars(s: &str) -> Result<(), DecodeError> {
    // Fast path: printable ASCII and the three allowed controls are the common case.
    let ascii_ok = s
        .bytes()
        .all(|b| (0x20..0x80).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r'));
    if ascii_ok || s.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(DecodeError::Malformed(
            "a character XML does not allow".into(),
        ))
    }
}

/// `slice` as a `&'a str` borrowed from `input` when it lies inside it (quick-xml hands out
/// element names borrowed from its event rather than from the input), else an owned copy.
fn borrow_from<'a>(input: &'a str, slice: &[u8]) -> Result<Cow<'a, str>, DecodeError> {
    let start = (slice.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
    match input.get(start..start.wrapping_add(slice.len())) {
        // Same address and length: the very bytes of the input (comparing addresses, not
        // contents, keeps this O(1)).
        Some(s) if start <= input.len() && s.as_ptr() == slice.as_ptr() => Ok(Cow::Borrowed(s)),
        _ => Ok(Cow::Owned(
            std::str::from_utf8(slice)
                .map_err(|_| DecodeError::NotUtf8)?
                .to_owned(),
        )),
    }
}

/// Decodes character data (UTF-8 check, then the predefined entities and character
/// references), borrowing from `input` when the raw bytes lie inside it and need no unescaping.
fn unescape<'a>(input: &'a str, raw: Cow<'_, [u8]>) -> Result<Cow<'a, str>, DecodeError> {
    let text = match raw {
        Cow::Borrowed(b) => borrow_from(input, b)?,
        Cow::Owned(b) => Cow::Owned(String::from_utf8(b).map_err(|_| DecodeError::NotUtf8)?),
    };
    let unescaped = match text {
        Cow::Borrowed(s) => {
            quick_xml::escape::unescape(s).map_err(|e| DecodeError::Malformed(e.to_string()))?
        }
        Cow::Owned(s) => Cow::Owned(
            quick_xml::escape::unescape(&s)
                .map_err(|e| DecodeError::Malformed(e.to_string()))?
                .into_owned(),
        ),
    };
    check_chars(&unescaped)?;
    Ok(unescaped)
}

/// Parses a whole document into its root element.
pub fn parse<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Element<'a>, DecodeError> {
    let input = std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)?;
    let mut reader = NsReader::from_str(input);
    {
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
    }
    let mut stack: Vec<Element<'a>> = Vec::with_capacity(8);
    let mut root: Option<Element<'a>> = None;
    let mut elements = 0usize;
    let mut namespaces = 0usize;

    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| DecodeError::Malformed(e.to_string()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(DecodeError::Malformed(
                        "content after the root element".into(),
                    ));
                }
                elements += 1;
                if stack.len() >= limits.max_depth {
                    return Err(DecodeError::LimitExceeded("element nesting too deep"));
                }
                if elements > limits.max_elements {
                    return Err(DecodeError::LimitExceeded("too many elements"));
                }
                let ns = namespace(resolved)?;
                let name = borrow_from(input, start.local_name().into_inner())?;
                let mut attrs = Vec::new();
                let mut declared = 0usize;
                // quick-xml checks each attribute name against the ones before it, so the
                // limits are checked as the attributes come: an element with thousands of
                // them costs no more than one at the limit.
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| DecodeError::Malformed(e.to_string()))?;
                    let key = attr.key;
                    if key.as_namespace_binding().is_some() {
                        declared += 1;
                        namespaces += 1;
                        if declared > limits.max_namespaces_per_element {
                            return Err(DecodeError::LimitExceeded(
                                "too many namespace declarations on one element",
                            ));
                        }
                        if namespaces > limits.max_namespaces {
                            return Err(DecodeError::LimitExceeded(
                                "too many namespace declarations",
                            ));
                        }
                        continue;
                    }
                    if attrs.len() >= limits.max_attributes {
                        return Err(DecodeError::LimitExceeded("too many attributes"));
                    }
                    if attr.value.len() > limits.max_text {
                        return Err(DecodeError::LimitExceeded("attribute value too long"));
                    }
                    let (attr_ns, local) = reader.resolve_attribute(key);
                    let attr_ns = match attr_ns {
                        ResolveResult::Unbound => None,
                        other => Some(namespace(other)?),
                    };
                    attrs.push(Attribute {
                        ns: attr_ns,
                        name: borrow_from(input, local.into_inner())?,
                        value: unescape(input, attr.value)?,
                    });
                }
                if let Some(parent) = stack.last_mut() {
                    // White space before a child element is indentation, not content.
                    if parent.children.is_empty() && is_blank(&parent.text) {
                        parent.text = Cow::Borrowed("");
                    }
                }
                stack.push(Element {
                    ns,
                    name,
                    attrs,
                    children: Vec::new(),
                    text: Cow::Borrowed(""),
                });
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| DecodeError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let value = unescape(input, t.into_inner())?;
                push_text(&mut stack, value, limits, root.is_some())?;
            }
            Event::CData(c) => {
                let value = match c.into_inner() {
                    Cow::Borrowed(b) => {
                        Cow::Borrowed(std::str::from_utf8(b).map_err(|_| DecodeError::NotUtf8)?)
                    }
                    Cow::Owned(b) => {
                        Cow::Owned(String::from_utf8(b).map_err(|_| DecodeError::NotUtf8)?)
                    }
                };
                check_chars(&value)?;
                push_text(&mut stack, value, limits, root.is_some())?;
            }
            Event::Decl(decl) => {
                if let Some(enc) = decl.encoding() {
                    let enc = enc.map_err(|e| DecodeError::Malformed(e.to_string()))?;
                    if !enc.eq_ignore_ascii_case(b"utf-8") {
                        return Err(DecodeError::NotUtf8);
                    }
                }
            }
            Event::DocType(_) => return Err(DecodeError::DocType),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Empty(_) => unreachable_empty()?,
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(DecodeError::Malformed("unexpected end of document".into()));
    }
    root.ok_or_else(|| DecodeError::Malformed("no root element".into()))
}

// `expand_empty_elements` turns every `<a/>` into Start + End; an Empty event cannot occur.
fn unreachable_empty() -> Result<(), DecodeError> {
    Err(DecodeError::Malformed(
        "unexpected empty element event".into(),
    ))
}

fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn push_text<'a>(
    stack: &mut [Element<'a>],
    value: Cow<'a, str>,
    limits: &Limits,
    after_root: bool,
) -> Result<(), DecodeError> {
    match stack.last_mut() {
        // Indentation after a child element: not content.
        Some(el) if !el.children.is_empty() && is_blank(&value) => Ok(()),
        Some(el) => {
            if el.text.len() + value.len() > limits.max_text {
                return Err(DecodeError::LimitExceeded("text too long"));
            }
            if el.text.is_empty() {
                el.text = value;
            } else {
                el.text.to_mut().push_str(&value);
            }
            Ok(())
        }
        // White space around the root is allowed; anything else is not XML.
        None if is_blank(&value) => Ok(()),
        None if after_root => Err(DecodeError::Malformed(
            "content after the root element".into(),
        )),
        None => Err(DecodeError::Malformed(
            "text before the root element".into(),
        )),
    }
}

fn namespace(resolved: ResolveResult<'_>) -> Result<Cow<'static, str>, DecodeError> {
    match resolved {
        ResolveResult::Bound(ns) => {
            let bytes = ns.into_inner();
            if let Some(known) = KNOWN_NAMESPACES.iter().find(|k| k.as_bytes() == bytes) {
                return Ok(Cow::Borrowed(known));
            }
            Ok(Cow::Owned(
                std::str::from_utf8(bytes)
                    .map_err(|_| DecodeError::NotUtf8)?
                    .to_owned(),
            ))
        }
        ResolveResult::Unbound => Ok(Cow::Borrowed("")),
        ResolveResult::Unknown(prefix) => Err(DecodeError::Malformed(format!(
            "undeclared namespace prefix {:?}",
            String::from_utf8_lossy(&prefix)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element<'_>, DecodeError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn prefixes_do_not_matter() {
        let a = p(r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#).unwrap();
        let b = p(r#"<e:epp xmlns:e="urn:ietf:params:xml:ns:epp-1.0"><e:hello/></e:epp>"#).unwrap();
        assert_eq!(a, b);
        assert!(a.is(epp_proto::ns::EPP, "epp"));
        assert!(a.children[0].is(epp_proto::ns::EPP, "hello"));
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY x SYSTEM "file:///etc/passwd">]><epp>&x;</epp>"#;
        assert!(matches!(p(xxe), Err(DecodeError::DocType)));
        assert!(p("<epp>&x;</epp>").is_err());
        assert_eq!(p("<epp>&lt;&#65;</epp>").unwrap().text, "<A");
    }

    #[test]
    fn bounds() {
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(p(&deep), Err(DecodeError::LimitExceeded(_))));
        let long = format!("<a>{}</a>", "x".repeat(70_000));
        assert!(matches!(p(&long), Err(DecodeError::LimitExceeded(_))));
        let long = format!(r#"<a b="{}"/>"#, "x".repeat(70_000));
        assert!(matches!(p(&long), Err(DecodeError::LimitExceeded(_))));
    }

    fn ns_bomb(n: usize) -> String {
        let decls: String = (0..n)
            .map(|i| format!(r#" xmlns:p{i}="urn:example:{i}""#))
            .collect();
        format!(r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"{decls}><hello/></epp>"#)
    }

    #[test]
    fn namespace_declarations_are_bounded_per_element() {
        let max = Limits::default().max_namespaces_per_element;
        // The default namespace counts too: max - 1 prefixed ones plus xmlns fit.
        assert!(p(&ns_bomb(max - 1)).is_ok());
        assert!(matches!(
            p(&ns_bomb(max)),
            Err(DecodeError::LimitExceeded(m)) if m.contains("one element")
        ));
        // The namespace bomb of issue 19: 45,000 declarations, about 1 MB, under the frame
        // limit; refused at the limit rather than checked pairwise.
        let bomb = ns_bomb(45_000);
        assert!(bomb.len() > 1_000_000, "{}", bomb.len());
        assert!(matches!(p(&bomb), Err(DecodeError::LimitExceeded(_))));
    }

    #[test]
    fn namespace_declarations_are_bounded_per_document() {
        let limits = Limits::default();
        let children = |n: usize| -> String {
            let c: String = (0..n)
                .map(|i| format!(r#"<p{i}:c xmlns:p{i}="urn:example:{i}"/>"#))
                .collect();
            format!(r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">{c}</epp>"#)
        };
        // One on the root, the rest on children (each within the per-element bound).
        assert!(p(&children(limits.max_namespaces - 1)).is_ok());
        assert!(matches!(
            p(&children(limits.max_namespaces)),
            Err(DecodeError::LimitExceeded(
                "too many namespace declarations"
            ))
        ));
        // Both bounds are the caller's.
        let tight = Limits {
            max_namespaces_per_element: 2,
            max_namespaces: 3,
            ..Limits::default()
        };
        assert!(parse(ns_bomb(1).as_bytes(), &tight).is_ok());
        assert!(parse(ns_bomb(2).as_bytes(), &tight).is_err());
        assert!(parse(children(2).as_bytes(), &tight).is_ok());
        assert!(parse(children(3).as_bytes(), &tight).is_err());
    }

    #[test]
    fn many_attributes_stop_at_the_limit() {
        let attrs: String = (0..45_000).map(|i| format!(r#" a{i}="x""#)).collect();
        assert!(matches!(
            p(&format!("<a{attrs}/>")),
            Err(DecodeError::LimitExceeded("too many attributes"))
        ));
        let dup = r#"<a xmlns:p="urn:x" xmlns:p="urn:y"/>"#;
        assert!(matches!(p(dup), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn refuses_characters_xml_does_not_allow() {
        assert_eq!(
            p("<a b=\"\t\">ok\t\n\u{10FFFF}</a>").unwrap().text,
            "ok\t\n\u{10FFFF}"
        );
        for bad in [
            "<a>\u{0}</a>",
            "<a>\u{1F}</a>",
            "<a>\u{FFFE}</a>",
            "<a>&#0;</a>",
            "<a b=\"\u{1}\"/>",
        ] {
            assert!(matches!(p(bad), Err(DecodeError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn indentation_is_not_content_and_text_borrows() {
        let doc = "<a>\n  <b> x &amp; y </b>\n  <c>plain</c>\n</a>";
        let a = p(doc).unwrap();
        assert_eq!(a.text, "");
        assert_eq!(a.children[0].text, " x & y ");
        assert!(matches!(
            a.children[1].text,
            std::borrow::Cow::Borrowed("plain")
        ));
        assert!(matches!(
            a.children[1].name,
            std::borrow::Cow::Borrowed("c")
        ));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "", "   ", "<a>", "<a></b>", "<a/><b/>", "x<a/>", "<a/>x", "<p:a/>", "\u{feff}",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            parse(&[0x3c, 0x61, 0xff, 0x2f, 0x3e], &Limits::default()),
            Err(DecodeError::NotUtf8)
        ));
        assert!(matches!(
            p(r#"<?xml version="1.0" encoding="ISO-8859-1"?><a/>"#),
            Err(DecodeError::NotUtf8)
        ));
    }
}
