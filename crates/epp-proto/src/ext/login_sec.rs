//! Login security, loginSec-1.0 (RFC 8807): passwords longer than `<pw>`'s 16 characters, a
//! client's user agent, and the security events a server reports in the login response.
//!
//! With the extension, `<pw>` (and `<newPW>`) say [`SENTINEL`] and the password itself is in
//! `<loginSec:pw>` (`<loginSec:newPW>`). [`credentials`] resolves the pair into the password
//! and new password the login really carries, so nothing past the codec needs to know where
//! each came from.

use crate::common::{Password, Timestamp};
use crate::session::Login;

/// The extension's namespace URI.
pub const NS: &str = "urn:ietf:params:xml:ns:epp:loginSec-1.0";

/// What `<pw>` / `<newPW>` say when the value is in the extension (RFC 8807 section 3.2).
pub const SENTINEL: &str = "[LOGIN-SECURITY]";

/// `<loginSec:userAgent>`: at least one of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct UserAgent {
    pub app: Option<String>,
    pub tech: Option<String>,
    pub os: Option<String>,
}

impl UserAgent {
    /// One line for logs: `app; tech; os`, the parts present.
    pub fn summary(&self) -> String {
        [&self.app, &self.tech, &self.os]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `<loginSec:loginSec>` in a login's `<extension>`.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct LoginSec {
    pub user_agent: Option<UserAgent>,
    pub pw: Option<Password>,
    pub new_pw: Option<Password>,
}

/// `loginSec:typeEnum`: what a security event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum EventType {
    Password,
    Certificate,
    Cipher,
    TlsProtocol,
    NewPw,
    Stat,
    Custom,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::Password,
        EventType::Certificate,
        EventType::Cipher,
        EventType::TlsProtocol,
        EventType::NewPw,
        EventType::Stat,
        EventType::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Password => "password",
            EventType::Certificate => "certificate",
            EventType::Cipher => "cipher",
            EventType::TlsProtocol => "tlsProtocol",
            EventType::NewPw => "newPW",
            EventType::Stat => "stat",
            EventType::Custom => "custom",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// `loginSec:levelEnum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum EventLevel {
    Warning,
    Error,
}

impl EventLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            EventLevel::Warning => "warning",
            EventLevel::Error => "error",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        match s {
            "warning" => Some(EventLevel::Warning),
            "error" => Some(EventLevel::Error),
            _ => None,
        }
    }
}

/// `<loginSec:event>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub struct Event {
    pub kind: EventType,
    /// For `stat` and `custom` events: which statistic (`failedLogins`).
    pub name: Option<String>,
    pub level: EventLevel,
    pub ex_date: Option<Timestamp>,
    /// The statistic's value, or the weak cipher or protocol.
    pub value: Option<String>,
    /// An `xs:duration` the statistic covers, when it covers a fixed period.
    pub duration: Option<String>,
    /// The event's description (`normalizedString`).
    pub text: String,
}

impl Event {
    pub fn new(kind: EventType, level: EventLevel, text: impl Into<String>) -> Self {
        Event {
            kind,
            name: None,
            level,
            ex_date: None,
            value: None,
            duration: None,
            text: text.into(),
        }
    }
}

/// `<loginSec:loginSecData>` in a login response's `<extension>`: one event or more.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct LoginSecData {
    pub events: Vec<Event>,
}

/// Why a login's passwords cannot be resolved (2001: the pair breaks RFC 8807 section 3.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("<{0}> must be \"[LOGIN-SECURITY]\" when <loginSec:{0}> is given")]
    SentinelMissing(&'static str),
    #[error("<{0}> is \"[LOGIN-SECURITY]\" but no <loginSec:{0}> carries the value")]
    ValueMissing(&'static str),
    #[error("<loginSec:newPW> needs a <newPW>[LOGIN-SECURITY]</newPW> in the login")]
    NewPwWithoutNewPw,
}

/// The passwords a login really carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub pw: Password,
    pub new_pw: Option<Password>,
}

/// Resolves `<pw>`/`<newPW>` and the loginSec extension, if any, into the passwords.
pub fn credentials(login: &Login, ext: Option<&LoginSec>) -> Result<Credentials, CredentialsError> {
    let sentinel = |p: &Password| p.expose() == SENTINEL;
    let pw = match (ext.and_then(|e| e.pw.as_ref()), sentinel(&login.pw)) {
        (Some(v), true) => v.clone(),
        (Some(_), false) => return Err(CredentialsError::SentinelMissing("pw")),
        (None, true) => return Err(CredentialsError::ValueMissing("pw")),
        (None, false) => login.pw.clone(),
    };
    let ext_new = ext.and_then(|e| e.new_pw.as_ref());
    let new_pw = match (&login.new_pw, ext_new) {
        (None, None) => None,
        (None, Some(_)) => return Err(CredentialsError::NewPwWithoutNewPw),
        (Some(n), Some(v)) if sentinel(n) => Some(v.clone()),
        (Some(_), Some(_)) => return Err(CredentialsError::SentinelMissing("newPW")),
        (Some(n), None) if sentinel(n) => return Err(CredentialsError::ValueMissing("newPW")),
        (Some(n), None) => Some(n.clone()),
    };
    Ok(Credentials { pw, new_pw })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::ClientId;

    fn login(pw: &str, new_pw: Option<&str>) -> Login {
        Login {
            cl_id: ClientId::new("reg-a").unwrap(),
            pw: Password::new(pw).unwrap(),
            new_pw: new_pw.map(|n| Password::new(n).unwrap()),
            version: "1.0".into(),
            lang: "en".into(),
            obj_uris: vec![],
            ext_uris: vec![NS.into()],
        }
    }

    fn ext(pw: Option<&str>, new_pw: Option<&str>) -> LoginSec {
        LoginSec {
            user_agent: None,
            pw: pw.map(|p| Password::new_login_sec(p).unwrap()),
            new_pw: new_pw.map(|p| Password::new_login_sec(p).unwrap()),
        }
    }

    #[test]
    fn resolves_every_combination_rfc_8807_allows() {
        let long = "a-long-password-of-24-ch";
        let c = credentials(&login("short-pw", None), None).unwrap();
        assert_eq!(c.pw.expose(), "short-pw");
        let c = credentials(&login(SENTINEL, None), Some(&ext(Some(long), None))).unwrap();
        assert_eq!(c.pw.expose(), long);
        assert!(c.new_pw.is_none());
        let c = credentials(
            &login(SENTINEL, Some(SENTINEL)),
            Some(&ext(Some(long), Some("another-long-password-xx"))),
        )
        .unwrap();
        assert_eq!(c.new_pw.unwrap().expose(), "another-long-password-xx");
        // A short password with only the new one in the extension.
        let c = credentials(
            &login("short-pw", Some(SENTINEL)),
            Some(&ext(None, Some(long))),
        )
        .unwrap();
        assert_eq!(
            (c.pw.expose(), c.new_pw.unwrap().expose()),
            ("short-pw", long)
        );
        // The extension with only a user agent changes nothing.
        let c = credentials(&login("short-pw", Some("new-pw-1")), Some(&ext(None, None))).unwrap();
        assert_eq!(c.new_pw.unwrap().expose(), "new-pw-1");
    }

    #[test]
    fn refuses_pairs_that_do_not_match() {
        let long = "a-long-password-of-24-ch";
        assert_eq!(
            credentials(&login("short-pw", None), Some(&ext(Some(long), None))),
            Err(CredentialsError::SentinelMissing("pw"))
        );
        assert_eq!(
            credentials(&login(SENTINEL, None), None),
            Err(CredentialsError::ValueMissing("pw"))
        );
        assert_eq!(
            credentials(&login("short-pw", None), Some(&ext(None, Some(long)))),
            Err(CredentialsError::NewPwWithoutNewPw)
        );
        assert_eq!(
            credentials(
                &login("short-pw", Some("new-pw-1")),
                Some(&ext(None, Some(long)))
            ),
            Err(CredentialsError::SentinelMissing("newPW"))
        );
        assert_eq!(
            credentials(&login("short-pw", Some(SENTINEL)), None),
            Err(CredentialsError::ValueMissing("newPW"))
        );
    }

    #[test]
    fn event_tokens_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_token(t.as_str()), Some(t));
        }
        assert_eq!(EventLevel::from_token("error"), Some(EventLevel::Error));
        assert_eq!(EventLevel::from_token("fatal"), None);
    }
}
