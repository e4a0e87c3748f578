//! Parsing what clients send ("parse, don't validate"): a [`Name`] is a valid domain or host
//! name in its A-label form; a [`NamePattern`] is a search this server can run; a [`Cursor`]
//! is a page position. Anything else is an [`RdapError`] naming what is wrong.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::RdapError;

/// Longest name input accepted before any processing (a U-label name can be longer in bytes
/// than its A-label form; anything past this cannot be a DNS name).
const MAX_INPUT: usize = 1024;

/// A domain or host name: lowercase A-labels, 1-63 LDH characters each, at most 253 in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    ldh: String,
    /// The U-label form, when a label is an A-label (`xn--`).
    unicode: Option<String>,
}

impl Name {
    /// A-label or U-label input, any case, one trailing dot allowed.
    pub fn parse(input: &str) -> Result<Name, RdapError> {
        if input.len() > MAX_INPUT {
            return Err(RdapError::NameTooLong);
        }
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Err(RdapError::BadRequest("empty name".into()));
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            // UTS 46 with the IDNA 2008 rules (STD3 ASCII, no transitional mapping).
            idna::domain_to_ascii_strict(trimmed).map_err(|_| {
                RdapError::BadRequest(format!("{trimmed:?} is not a valid IDN domain name"))
            })?
        };
        Self::from_ascii(&ascii)
    }

    fn from_ascii(ascii: &str) -> Result<Name, RdapError> {
        if ascii.len() > 253 {
            return Err(RdapError::NameTooLong);
        }
        let mut has_a_label = false;
        for label in ascii.split('.') {
            if label.len() > 63 {
                return Err(RdapError::NameTooLong);
            }
            if !is_ldh_label(label) {
                return Err(RdapError::BadRequest(format!(
                    "{ascii:?} is not a domain name: labels are 1-63 letters, digits and \
                     hyphens, not starting or ending with a hyphen"
                )));
            }
            if label.starts_with("xn--") {
                has_a_label = true;
            }
        }
        let unicode = if has_a_label {
            let (u, r) = idna::domain_to_unicode(ascii);
            // An A-label that does not decode to a valid U-label is not a valid name.
            if r.is_err() || idna::domain_to_ascii_strict(&u).ok().as_deref() != Some(ascii) {
                return Err(RdapError::BadRequest(format!(
                    "{ascii:?} holds an invalid A-label"
                )));
            }
            Some(u)
        } else {
            None
        };
        Ok(Name {
            ldh: ascii.to_owned(),
            unicode,
        })
    }

    pub fn ldh(&self) -> &str {
        &self.ldh
    }

    pub fn unicode(&self) -> Option<&str> {
        self.unicode.as_deref()
    }
}

fn is_ldh_label(l: &str) -> bool {
    !l.is_empty()
        && !l.starts_with('-')
        && !l.ends_with('-')
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The U-label form of a stored (A-label) name, if it has any A-label.
pub fn unicode_of(ldh: &str) -> Option<String> {
    if !ldh.split('.').any(|l| l.starts_with("xn--")) {
        return None;
    }
    let (u, r) = idna::domain_to_unicode(ldh);
    r.ok().map(|_| u)
}

/// A `domains?name=` pattern (RFC 9082 section 4.1): an exact name, or a prefix of the first
/// label followed by `*` and optionally a suffix (`exam*`, `exam*.test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    Exact(Name),
    Prefix {
        prefix: String,
        /// With its leading dot.
        suffix: Option<String>,
    },
}

impl NamePattern {
    pub fn parse(input: &str, min_prefix_len: usize) -> Result<NamePattern, RdapError> {
        if input.len() > MAX_INPUT {
            return Err(RdapError::NameTooLong);
        }
        let Some(star) = input.find('*') else {
            return Ok(NamePattern::Exact(Name::parse(input)?));
        };
        let (head, tail) = (&input[..star], &input[star + 1..]);
        if tail.contains('*') || head.contains('.') {
            return Err(RdapError::Unprocessable(
                "only one '*', at the end of the first label (\"exam*\" or \"exam*.test\"), is \
                 supported"
                    .into(),
            ));
        }
        if !head.is_ascii() {
            return Err(RdapError::Unprocessable(
                "partial matching of U-labels is not supported: use the A-label (xn--) prefix"
                    .into(),
            ));
        }
        let prefix = head.to_ascii_lowercase();
        if prefix.chars().count() < min_prefix_len {
            return Err(RdapError::Unprocessable(format!(
                "a pattern needs at least {min_prefix_len} characters before the '*'"
            )));
        }
        if prefix.len() > 63
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || prefix.starts_with('-')
        {
            return Err(RdapError::BadRequest(format!(
                "{head:?} cannot start a domain name label"
            )));
        }
        let suffix = if tail.is_empty() {
            None
        } else {
            let Some(rest) = tail.strip_prefix('.') else {
                return Err(RdapError::Unprocessable(
                    "'*' must end the first label".into(),
                ));
            };
            Some(format!(".{}", Name::parse(rest)?.ldh()))
        };
        Ok(NamePattern::Prefix { prefix, suffix })
    }
}

/// A `nameservers?ip=` address.
pub fn parse_ip(input: &str) -> Result<IpAddr, RdapError> {
    input
        .parse::<IpAddr>()
        .map(registry_core::registrar::normalise_ip)
        .map_err(|_| RdapError::BadRequest(format!("{input:?} is not an IPv4 or IPv6 address")))
}

/// An RFC 8977 cursor: the page it leads to and the last name of the page before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub page: u32,
    pub after: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.page, self.after))
    }

    pub fn decode(s: &str) -> Result<Cursor, RdapError> {
        let bad = || RdapError::BadRequest("invalid cursor".into());
        if s.len() > 512 {
            return Err(bad());
        }
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let (page, after) = text.split_once(':').ok_or_else(bad)?;
        let page: u32 = page.parse().map_err(|_| bad())?;
        if page < 2 || after.is_empty() || after.len() > 253 {
            return Err(bad());
        }
        Ok(Cursor {
            page,
            after: after.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_in_as_a_or_u_labels_and_leave_as_a_labels() {
        let n = Name::parse("Example.TEST.").expect("name");
        assert_eq!(n.ldh(), "example.test");
        assert_eq!(n.unicode(), None);
        let u = Name::parse("bücher.test").expect("U-label");
        assert_eq!(u.ldh(), "xn--bcher-kva.test");
        assert_eq!(u.unicode(), Some("bücher.test"));
        let a = Name::parse("XN--BCHER-KVA.test").expect("A-label");
        assert_eq!(a, u);
        assert_eq!(
            unicode_of("xn--bcher-kva.test").as_deref(),
            Some("bücher.test")
        );
    }

    #[test]
    fn bad_names_are_refused_with_the_right_error() {
        assert!(matches!(
            Name::parse("exa_mple.test"),
            Err(RdapError::BadRequest(_))
        ));
        assert!(matches!(
            Name::parse("-x.test"),
            Err(RdapError::BadRequest(_))
        ));
        assert!(matches!(
            Name::parse("a..test"),
            Err(RdapError::BadRequest(_))
        ));
        assert!(matches!(Name::parse(""), Err(RdapError::BadRequest(_))));
        assert!(matches!(
            Name::parse("xn--zz.test"),
            Err(RdapError::BadRequest(_))
        ));
        let long_label = format!("{}.test", "a".repeat(64));
        assert_eq!(Name::parse(&long_label), Err(RdapError::NameTooLong));
        let long_name = format!("{}test", "abcdefghi.".repeat(26));
        assert_eq!(Name::parse(&long_name), Err(RdapError::NameTooLong));
        assert_eq!(Name::parse(&"a".repeat(2000)), Err(RdapError::NameTooLong));
    }

    #[test]
    fn patterns() {
        assert_eq!(
            NamePattern::parse("Exa*", 2),
            Ok(NamePattern::Prefix {
                prefix: "exa".into(),
                suffix: None
            })
        );
        assert_eq!(
            NamePattern::parse("exa*.test", 2),
            Ok(NamePattern::Prefix {
                prefix: "exa".into(),
                suffix: Some(".test".into())
            })
        );
        assert!(matches!(
            NamePattern::parse("e*", 2),
            Err(RdapError::Unprocessable(_))
        ));
        assert!(matches!(
            NamePattern::parse("*ample.test", 0),
            Err(RdapError::Unprocessable(_))
        ));
        assert!(matches!(
            NamePattern::parse("ex*am*", 2),
            Err(RdapError::Unprocessable(_))
        ));
        assert!(matches!(
            NamePattern::parse("bü*", 1),
            Err(RdapError::Unprocessable(_))
        ));
        assert!(matches!(
            NamePattern::parse("ex_*", 1),
            Err(RdapError::BadRequest(_))
        ));
        assert!(matches!(
            NamePattern::parse("example.test", 2),
            Ok(NamePattern::Exact(_))
        ));
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let c = Cursor {
            page: 3,
            after: "exa-9.test".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        assert!(Cursor::decode("!!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("1:x")).is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("x")).is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_ip("192.0.2.1").map(|a| a.to_string()).as_deref(),
            Ok("192.0.2.1")
        );
        assert_eq!(
            parse_ip("::ffff:192.0.2.1")
                .map(|a| a.to_string())
                .as_deref(),
            Ok("192.0.2.1")
        );
        assert!(parse_ip("192.0.2.300").is_err());
    }
}
