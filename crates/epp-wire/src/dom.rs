//! A small, bounded, namespace-resolved element tree built with quick-xml's `NsReader`.
//!
//! Decoding happens in two stages (so that a bad command can still be answered with its
//! clTRID): first the bytes become a tree here, which refuses anything that is not plain,
//! well-formed UTF-8 XML within our limits; then the mappers in `command`/`response` read the
//! tree. Prefixes never matter: every element and attribute is known by (namespace URI, local
//! name). DOCTYPE declarations are refused outright, so there are no entity definitions and no
//! external references to expand; only the five predefined entities and character references
//! are decoded.

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
    pub max_attributes: usize,
    /// Per text node and per attribute value, in bytes.
    pub max_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_depth: 24, max_elements: 20_000, max_attributes: 16, max_text: 64 * 1024 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace of a prefixed attribute; unprefixed attributes have none (XML Namespaces 1.0).
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The element's namespace URI; empty when it has none.
    pub ns: String,
    pub name: String,
    pub attrs: Vec<Attribute>,
    pub children: Vec<Element>,
    /// Character data directly inside this element, concatenated, not trimmed.
    pub text: String,
}

impl Element {
    /// Value of an unprefixed attribute.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.ns.is_none() && a.name == name).map(|a| a.value.as_str())
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

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Element, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)?;
    let mut reader = NsReader::from_str(text);
    {
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut elements = 0usize;

    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(|e| DecodeError::Malformed(e.to_string()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(DecodeError::Malformed("content after the root element".into()));
                }
                elements += 1;
                if stack.len() >= limits.max_depth {
                    return Err(DecodeError::LimitExceeded("element nesting too deep"));
                }
                if elements > limits.max_elements {
                    return Err(DecodeError::LimitExceeded("too many elements"));
                }
                let ns = namespace(resolved)?;
                let name = std::str::from_utf8(start.local_name().into_inner())
                    .map_err(|_| DecodeError::NotUtf8)?
                    .to_owned();
                let mut attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| DecodeError::Malformed(e.to_string()))?;
                    let key = attr.key;
                    if key.as_namespace_binding().is_some() {
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
                    let value = attr.unescape_value().map_err(|e| DecodeError::Malformed(e.to_string()))?;
                    attrs.push(Attribute {
                        ns: attr_ns,
                        name: std::str::from_utf8(local.into_inner()).map_err(|_| DecodeError::NotUtf8)?.to_owned(),
                        value: value.into_owned(),
                    });
                }
                stack.push(Element { ns, name, attrs, children: Vec::new(), text: String::new() });
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| DecodeError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let value = t.unescape().map_err(|e| DecodeError::Malformed(e.to_string()))?;
                push_text(&mut stack, &value, limits, root.is_some())?;
            }
            Event::CData(c) => {
                let value = std::str::from_utf8(c.as_ref()).map_err(|_| DecodeError::NotUtf8)?.to_owned();
                push_text(&mut stack, &value, limits, root.is_some())?;
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
    Err(DecodeError::Malformed("unexpected empty element event".into()))
}

fn push_text(stack: &mut [Element], value: &str, limits: &Limits, after_root: bool) -> Result<(), DecodeError> {
    match stack.last_mut() {
        Some(el) => {
            if el.text.len() + value.len() > limits.max_text {
                return Err(DecodeError::LimitExceeded("text too long"));
            }
            el.text.push_str(value);
            Ok(())
        }
        // White space around the root is allowed; anything else is not XML.
        None if value.trim_matches([' ', '\t', '\r', '\n']).is_empty() => Ok(()),
        None if after_root => Err(DecodeError::Malformed("content after the root element".into())),
        None => Err(DecodeError::Malformed("text before the root element".into())),
    }
}

fn namespace(resolved: ResolveResult<'_>) -> Result<String, DecodeError> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(std::str::from_utf8(ns.into_inner()).map_err(|_| DecodeError::NotUtf8)?.to_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(DecodeError::Malformed(format!(
            "undeclared namespace prefix {:?}",
            String::from_utf8_lossy(&prefix)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, DecodeError> {
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

    #[test]
    fn refuses_garbage() {
        for bad in ["", "   ", "<a>", "<a></b>", "<a/><b/>", "x<a/>", "<a/>x", "<p:a/>", "\u{feff}"] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(parse(&[0x3c, 0x61, 0xff, 0x2f, 0x3e], &Limits::default()), Err(DecodeError::NotUtf8)));
        assert!(matches!(p(r#"<?xml version="1.0" encoding="ISO-8859-1"?><a/>"#), Err(DecodeError::NotUtf8)));
    }
}
