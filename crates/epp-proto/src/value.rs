//! Newtypes for the values the EPP schemas constrain. Constructors check; a value that exists
//! is valid. XSD `token` values have their white space collapsed first, as a schema validator
//! would, then their length is checked in characters.

use std::fmt;

/// Why a value was refused. Carries no secret (passwords are never echoed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum ValueError {
    #[error("{what} must be {min}-{max} characters long, got {got}")]
    Length {
        what: &'static str,
        min: usize,
        max: usize,
        got: usize,
    },
    #[error("{what} has an invalid syntax: {reason}")]
    Syntax {
        what: &'static str,
        reason: &'static str,
    },
    #[error("{what} is out of range")]
    Range { what: &'static str },
}

/// Collapses XML white space the way `xs:token` does.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for part in s.split([' ', '\t', '\n', '\r']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
}

fn token(what: &'static str, raw: &str, min: usize, max: usize) -> Result<String, ValueError> {
    let v = if raw.contains([' ', '\t', '\n', '\r']) {
        collapse_whitespace(raw)
    } else {
        raw.to_owned()
    };
    let got = v.chars().count();
    if got < min || got > max {
        return Err(ValueError::Length {
            what,
            min,
            max,
            got,
        });
    }
    Ok(v)
}

macro_rules! token_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct $name(String);

        impl $name {
            pub const MIN_LEN: usize = $min;
            pub const MAX_LEN: usize = $max;

            pub fn new(raw: &str) -> Result<Self, ValueError> {
                token($what, raw, $min, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

token_type!(
    /// A client transaction identifier (`epp:trIDStringType`, 3-64 characters).
    ClTrid, "clTRID", 3, 64
);
token_type!(
    /// A server transaction identifier (`epp:trIDStringType`, 3-64 characters).
    SvTrid, "svTRID", 3, 64
);
token_type!(
    /// A client (registrar) identifier (`eppcom:clIDType`, 3-16 characters).
    ClientId, "clID", 3, 16
);
token_type!(
    /// A contact identifier (`eppcom:clIDType`, 3-16 characters).
    ContactId, "contact id", 3, 16
);
token_type!(
    /// A name as the schemas carry it (`eppcom:labelType`, 1-255 characters), before any
    /// hostname syntax check: `domain:check` must be able to answer "invalid" for it.
    Label, "name", 1, 255
);
token_type!(
    /// A poll message identifier (`msgID` attribute: a token; we bound it to 1-64).
    MsgId, "msgID", 1, 64
);

/// A password (`epp:pwType`, 6-16 characters). Never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The longest password `<pw>` and `<newPW>` carry (`epp:pwType`); longer ones travel in
    /// loginSec (RFC 8807).
    pub const MAX_LEN: usize = 16;
    /// The longest password this server takes in `<loginSec:pw>` / `<loginSec:newPW>` (the
    /// schema sets no maximum; RFC 8807's examples and registrar software use up to 128).
    pub const MAX_LOGIN_SEC_LEN: usize = 128;

    pub fn new(raw: &str) -> Result<Self, ValueError> {
        token("pw", raw, 6, Self::MAX_LEN).map(Self)
    }

    /// A password of loginSec's `pwType` (6 characters or more; bounded here at
    /// [`Password::MAX_LOGIN_SEC_LEN`]).
    pub fn new_login_sec(raw: &str) -> Result<Self, ValueError> {
        token("pw", raw, 6, Self::MAX_LOGIN_SEC_LEN).map(Self)
    }

    /// Length in characters.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// Never true: a password has at least six characters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The secret itself: call only to hash or verify it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An object's authorisation information (`pwAuthInfoType`: a normalizedString with an
/// optional `roid`). Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AuthInfo {
    pw: String,
    pub roid: Option<Roid>,
}

impl AuthInfo {
    /// Longest authInfo we keep; the schema sets no bound, a server must.
    pub const MAX_LEN: usize = 256;

    pub fn new(pw: &str, roid: Option<Roid>) -> Result<Self, ValueError> {
        let got = pw.chars().count();
        if got > Self::MAX_LEN {
            return Err(ValueError::Length {
                what: "authInfo",
                min: 0,
                max: Self::MAX_LEN,
                got,
            });
        }
        Ok(Self {
            pw: pw.to_owned(),
            roid,
        })
    }

    /// The secret itself: call only to hash, compare or store it.
    pub fn expose(&self) -> &str {
        &self.pw
    }
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("pw", &"***")
            .field("roid", &self.roid)
            .finish()
    }
}

/// A repository object identifier (`eppcom:roidType`: `(\w|_){1,80}-\w{1,8}`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Roid(String);

impl Roid {
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        let v = collapse_whitespace(raw);
        let bad = ValueError::Syntax {
            what: "roid",
            reason: "expected (\\w|_){1,80}-\\w{1,8}",
        };
        let (head, tail) = v.rsplit_once('-').ok_or(bad.clone())?;
        let word = |s: &str| s.chars().all(|c| c.is_alphanumeric() || c == '_');
        let (hl, tl) = (head.chars().count(), tail.chars().count());
        if !(1..=80).contains(&hl) || !(1..=8).contains(&tl) || !word(head) || !word(tail) {
            return Err(bad);
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Roid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Roid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A host or domain name in DNS syntax: LDH labels of 1-63 octets, no leading or trailing
/// hyphen, at least two labels, at most 253 octets, no trailing dot. Stored lowercase, so
/// equality is the DNS's case-insensitive equality. A-labels (`xn--`) pass here as LDH; whether
/// they are valid IDNA is policy (`registry-core`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostName(String);

impl HostName {
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        let v = raw.trim_matches([' ', '\t', '\n', '\r']);
        let syntax = |reason| ValueError::Syntax {
            what: "host name",
            reason,
        };
        if v.is_empty() || v.len() > 253 {
            return Err(ValueError::Length {
                what: "host name",
                min: 1,
                max: 253,
                got: v.len(),
            });
        }
        if !v.is_ascii() {
            return Err(syntax("only ASCII (use A-labels for IDN)"));
        }
        let mut labels = 0;
        for label in v.split('.') {
            labels += 1;
            if label.is_empty() || label.len() > 63 {
                return Err(syntax("each label must be 1-63 characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(syntax("labels may hold only letters, digits and hyphens"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(syntax("a label may not start or end with a hyphen"));
            }
        }
        if labels < 2 {
            return Err(syntax("at least two labels"));
        }
        Ok(Self(v.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }

    /// The name without its leftmost label (`ns1.example.test` → `example.test`).
    pub fn parent(&self) -> Option<&str> {
        self.0.split_once('.').map(|(_, rest)| rest)
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_at_or_below(&self, other: &str) -> bool {
        self.0 == other
            || (self.0.len() > other.len()
                && self.0.ends_with(other)
                && self.0.as_bytes()[self.0.len() - other.len() - 1] == b'.')
    }
}

impl fmt::Debug for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for HostName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A domain name is a host name by syntax; the alias says which role a value plays.
pub type DomainName = HostName;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cltrid_bounds() {
        assert!(ClTrid::new("ab").is_err());
        assert!(ClTrid::new("abc").is_ok());
        assert!(ClTrid::new(&"a".repeat(64)).is_ok());
        assert!(ClTrid::new(&"a".repeat(65)).is_err());
        assert_eq!(ClTrid::new("  ab  c ").unwrap().as_str(), "ab c");
    }

    #[test]
    fn password_bounds_and_redaction() {
        assert!(Password::new("12345").is_err());
        assert!(Password::new("123456").is_ok());
        assert!(Password::new("1234567890123456").is_ok());
        assert!(Password::new("12345678901234567").is_err());
        assert_eq!(
            format!("{:?}", Password::new("secret1").unwrap()),
            "Password(***)"
        );
        assert!(!format!("{:?}", AuthInfo::new("2fooBAR", None).unwrap()).contains("fooBAR"));
    }

    #[test]
    fn host_names() {
        assert_eq!(
            HostName::new("NS1.Example.TEST").unwrap().as_str(),
            "ns1.example.test"
        );
        assert!(HostName::new("example").is_err());
        assert!(HostName::new("-a.test").is_err());
        assert!(HostName::new("a-.test").is_err());
        assert!(HostName::new("a!.test").is_err());
        assert!(HostName::new("a..test").is_err());
        assert!(HostName::new("a.test.").is_err());
        assert!(HostName::new(&format!("{}.test", "a".repeat(64))).is_err());
        assert!(HostName::new(&format!("{}.test", "a".repeat(63))).is_ok());
        assert!(HostName::new("xn--bcher-kva.test").is_ok());
        assert!(HostName::new("bücher.test").is_err());
        let n = HostName::new("ns1.example.test").unwrap();
        assert!(n.is_at_or_below("example.test"));
        assert!(n.is_at_or_below("test"));
        assert!(!n.is_at_or_below("ample.test"));
        assert_eq!(n.parent(), Some("example.test"));
    }

    #[test]
    fn roids() {
        assert!(Roid::new("EXAMPLE1-REP").is_ok());
        assert!(Roid::new("EXAMPLE1").is_err());
        assert!(Roid::new("-REP").is_err());
        assert!(Roid::new("A-123456789").is_err());
    }
}
