//! The server greeting (RFC 5730 section 2.4), with its data collection policy.

use crate::common::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Greeting {
    pub sv_id: String,
    pub sv_date: Timestamp,
    pub versions: Vec<String>,
    pub langs: Vec<String>,
    pub obj_uris: Vec<String>,
    pub ext_uris: Vec<String>,
    pub dcp: Dcp,
}

/// `<dcp>`: the server's data collection policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Dcp {
    pub access: DcpAccess,
    pub statements: Vec<DcpStatement>,
    pub expiry: Option<DcpExpiry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DcpAccess {
    All,
    None,
    Null,
    Other,
    Personal,
    PersonalAndOther,
}

impl DcpAccess {
    pub const ALL: [DcpAccess; 6] = [
        DcpAccess::All,
        DcpAccess::None,
        DcpAccess::Null,
        DcpAccess::Other,
        DcpAccess::Personal,
        DcpAccess::PersonalAndOther,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DcpAccess::All => "all",
            DcpAccess::None => "none",
            DcpAccess::Null => "null",
            DcpAccess::Other => "other",
            DcpAccess::Personal => "personal",
            DcpAccess::PersonalAndOther => "personalAndOther",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DcpStatement {
    /// At least one of admin, contact, other, prov.
    pub purposes: Vec<DcpPurpose>,
    /// At least one of other, ours, public, same, unrelated.
    pub recipients: Vec<DcpRecipient>,
    pub retention: DcpRetention,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DcpPurpose {
    Admin,
    Contact,
    Other,
    Prov,
}

impl DcpPurpose {
    pub const ALL: [DcpPurpose; 4] = [
        DcpPurpose::Admin,
        DcpPurpose::Contact,
        DcpPurpose::Other,
        DcpPurpose::Prov,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DcpPurpose::Admin => "admin",
            DcpPurpose::Contact => "contact",
            DcpPurpose::Other => "other",
            DcpPurpose::Prov => "prov",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A recipient; `Ours` may carry a `<recDesc>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DcpRecipient {
    Other,
    Ours(Option<String>),
    Public,
    Same,
    Unrelated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DcpRetention {
    Business,
    Indefinite,
    Legal,
    None,
    Stated,
}

impl DcpRetention {
    pub const ALL: [DcpRetention; 5] = [
        DcpRetention::Business,
        DcpRetention::Indefinite,
        DcpRetention::Legal,
        DcpRetention::None,
        DcpRetention::Stated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DcpRetention::Business => "business",
            DcpRetention::Indefinite => "indefinite",
            DcpRetention::Legal => "legal",
            DcpRetention::None => "none",
            DcpRetention::Stated => "stated",
        }
    }

    pub fn from_token(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// `<expiry>`: absolute date or relative duration (kept as the `xs:duration` text).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DcpExpiry {
    Absolute(Timestamp),
    Relative(String),
}
