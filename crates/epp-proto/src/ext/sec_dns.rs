//! DNS security extensions, secDNS-1.1 (RFC 5910): DS data and key data interfaces.

/// A DNSKEY's fields (`secDNS:keyDataType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KeyData {
    pub flags: u16,
    pub protocol: u8,
    pub alg: u8,
    /// Base64 as received, white space removed.
    pub pub_key: String,
}

/// A DS record's fields (`secDNS:dsDataType`), optionally with the key it digests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DsData {
    pub key_tag: u16,
    pub alg: u8,
    pub digest_type: u8,
    /// Hex as received (the schema's `xs:hexBinary`), upper-cased by the codec.
    pub digest: String,
    pub key_data: Option<KeyData>,
}

/// The two interfaces of RFC 5910 section 4: a server and client use one or the other.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum DsOrKeyData {
    Ds(Vec<DsData>),
    Key(Vec<KeyData>),
}

impl DsOrKeyData {
    pub fn len(&self) -> usize {
        match self {
            DsOrKeyData::Ds(v) => v.len(),
            DsOrKeyData::Key(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `<secDNS:create>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SecDnsCreate {
    pub max_sig_life: Option<u32>,
    pub data: DsOrKeyData,
}

/// `<secDNS:rem>`: everything, or the listed records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase"))]
pub enum SecDnsRem {
    All,
    Data(DsOrKeyData),
}

/// `<secDNS:update urgent="…">`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SecDnsUpdate {
    pub urgent: bool,
    pub rem: Option<SecDnsRem>,
    pub add: Option<DsOrKeyData>,
    /// `<secDNS:chg><secDNS:maxSigLife>`.
    pub chg_max_sig_life: Option<u32>,
}

/// `<secDNS:infData>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SecDnsInfoData {
    pub max_sig_life: Option<u32>,
    pub data: DsOrKeyData,
}

/// RFC 5910 bounds `maxSigLife` to 1..=2147483647.
pub const MAX_SIG_LIFE_MAX: u32 = 2_147_483_647;
