//! Domain names as the zone needs them: absolute, lowercase, IDNs as A-labels.

use std::fmt;

/// Why a string is not a usable domain name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("empty label in {0:?}")]
    EmptyLabel(String),
    #[error("label longer than 63 octets in {0:?}")]
    LongLabel(String),
    #[error("name longer than 253 octets: {0:?}")]
    LongName(String),
    #[error("character not allowed in a host name: {0:?}")]
    BadCharacter(String),
    #[error("label starts or ends with a hyphen in {0:?}")]
    BadHyphen(String),
    #[error("IDN conversion to A-labels failed for {0:?}")]
    Idna(String),
}

/// An absolute domain name, stored lowercase in A-label form without the final dot.
///
/// The root is the empty string. A value that exists is valid (LDH labels of 1-63
/// octets, at most 253 octets in all); construct it with [`DnsName::new`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnsName(Box<str>);

impl DnsName {
    /// Parses a name; accepts a trailing dot, upper case and U-labels (converted to A-labels).
    pub fn new(input: &str) -> Result<Self, NameError> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() {
            return Ok(DnsName("".into()));
        }
        let ascii = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(trimmed).map_err(|_| NameError::Idna(input.to_owned()))?
        };
        check_ldh(&ascii, input)?;
        Ok(DnsName(ascii.into_boxed_str()))
    }

    /// The root name.
    pub fn root() -> Self {
        DnsName("".into())
    }

    /// The name without the final dot ("" for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `self` equals `apex` or lies below it.
    pub fn is_at_or_below(&self, apex: &DnsName) -> bool {
        if apex.0.is_empty() || self.0 == apex.0 {
            return true;
        }
        self.0.len() > apex.0.len()
            && self.0.ends_with(&*apex.0)
            && self.0.as_bytes()[self.0.len() - apex.0.len() - 1] == b'.'
    }

    /// Whether `self` lies strictly below `apex`.
    pub fn is_below(&self, apex: &DnsName) -> bool {
        self.0 != apex.0 && self.is_at_or_below(apex)
    }

    /// Labels from the root downwards: the DNS canonical sort key (RFC 4034 §6.1 for LDH names).
    pub fn canonical_key(&self) -> Vec<&str> {
        if self.0.is_empty() {
            return Vec::new();
        }
        self.0.rsplit('.').collect()
    }

    /// The name as `domain`'s owned wire-format name.
    pub fn to_wire(&self) -> domain::base::Name<Vec<u8>> {
        let mut octets = Vec::with_capacity(self.0.len() + 2);
        if !self.0.is_empty() {
            for label in self.0.split('.') {
                // Labels are 1..=63 octets by construction.
                octets.push(label.len() as u8);
                octets.extend_from_slice(label.as_bytes());
            }
        }
        octets.push(0);
        match domain::base::Name::from_octets(octets) {
            Ok(name) => name,
            // Unreachable for a valid `DnsName`; the root is a safe value.
            Err(_) => domain::base::Name::root_vec(),
        }
    }
}

fn check_ldh(ascii: &str, input: &str) -> Result<(), NameError> {
    if ascii.len() > 253 {
        return Err(NameError::LongName(input.to_owned()));
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel(input.to_owned()));
        }
        if label.len() > 63 {
            return Err(NameError::LongLabel(input.to_owned()));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(NameError::BadCharacter(input.to_owned()));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(NameError::BadHyphen(input.to_owned()));
        }
    }
    Ok(())
}

impl fmt::Display for DnsName {
    /// The absolute presentation form, with the final dot.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)?;
        f.write_str(".")
    }
}

impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DnsName({self})")
    }
}

impl std::str::FromStr for DnsName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DnsName::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for DnsName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DnsName::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_and_strips_dot() {
        let n = DnsName::new("Example.TLD.").expect("valid");
        assert_eq!(n.as_str(), "example.tld");
        assert_eq!(n.to_string(), "example.tld.");
    }

    #[test]
    fn idn_becomes_a_label() {
        let n = DnsName::new("bücher.tld").expect("valid");
        assert_eq!(n.as_str(), "xn--bcher-kva.tld");
    }

    #[test]
    fn rejects_bad_names() {
        assert!(matches!(
            DnsName::new("a..b"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(
            DnsName::new("a b.tld"),
            Err(NameError::BadCharacter(_))
        ));
        assert!(matches!(
            DnsName::new("-a.tld"),
            Err(NameError::BadHyphen(_))
        ));
        let long = "a".repeat(64);
        assert!(matches!(DnsName::new(&long), Err(NameError::LongLabel(_))));
    }

    #[test]
    fn bailiwick() {
        let tld = DnsName::new("tld").expect("valid");
        let sub = DnsName::new("ns1.example.tld").expect("valid");
        let other = DnsName::new("ns1.exampletld").expect("valid");
        assert!(sub.is_below(&tld));
        assert!(!other.is_at_or_below(&tld));
        assert!(!tld.is_below(&tld));
        assert!(tld.is_at_or_below(&tld));
    }

    #[test]
    fn wire_form_round_trips() {
        let n = DnsName::new("ns1.example.tld").expect("valid");
        assert_eq!(n.to_wire().to_string(), "ns1.example.tld");
        assert_eq!(DnsName::root().to_wire().to_string(), ".");
    }
}
