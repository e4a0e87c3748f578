//! The input model: what the registry knows about each delegation, and the apex configuration.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;

use crate::name::DnsName;

/// Why a value of the model was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("DS digest is empty")]
    EmptyDigest,
    #[error("DS digest is longer than 255 octets")]
    LongDigest,
    #[error("DS digest is not hexadecimal: {0:?}")]
    BadHex(String),
}

/// A DS record's data (RFC 4034 §5), as carried by secDNS (RFC 5910) dsData.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ds {
    pub key_tag: u16,
    pub algorithm: u8,
    pub digest_type: u8,
    digest: Vec<u8>,
}

impl Ds {
    /// A DS from its binary digest; the digest must hold 1..=255 octets.
    pub fn new(
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: Vec<u8>,
    ) -> Result<Self, ModelError> {
        if digest.is_empty() {
            return Err(ModelError::EmptyDigest);
        }
        if digest.len() > 255 {
            return Err(ModelError::LongDigest);
        }
        Ok(Ds {
            key_tag,
            algorithm,
            digest_type,
            digest,
        })
    }

    /// A DS from the hex digest as EPP carries it (either case, no spaces).
    pub fn from_hex(
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest_hex: &str,
    ) -> Result<Self, ModelError> {
        let digest = hex::decode(digest_hex.trim())
            .map_err(|_| ModelError::BadHex(digest_hex.to_owned()))?;
        Ds::new(key_tag, algorithm, digest_type, digest)
    }

    pub fn digest(&self) -> &[u8] {
        &self.digest
    }
}

/// Everything the generator needs to know about one registered domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainDelegationState {
    pub name: DnsName,
    pub ns: Vec<DnsName>,
    pub ds: Vec<Ds>,
    /// clientHold or serverHold is set.
    pub on_hold: bool,
    /// The domain is in redemptionPeriod or pendingDelete.
    pub in_redemption_or_pending_delete: bool,
}

/// Addresses of host objects, by host name. Only in-bailiwick hosts matter (for glue).
pub type HostAddrs = BTreeMap<DnsName, Vec<IpAddr>>;

fn default_ttl() -> u32 {
    86_400
}
fn default_refresh() -> u32 {
    1_800
}
fn default_retry() -> u32 {
    900
}
fn default_expire() -> u32 {
    604_800
}
fn default_minimum() -> u32 {
    3_600
}

/// The zone apex: SOA fields, apex name servers and their addresses.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApexConfig {
    /// The zone's name, e.g. `tld`.
    pub origin: DnsName,
    /// SOA MNAME: the primary name server.
    pub mname: DnsName,
    /// SOA RNAME: the responsible mailbox as a name (`hostmaster.nic.tld`).
    pub rname: DnsName,
    #[serde(default = "default_refresh")]
    pub refresh: u32,
    #[serde(default = "default_retry")]
    pub retry: u32,
    #[serde(default = "default_expire")]
    pub expire: u32,
    /// SOA MINIMUM: the negative-caching TTL (RFC 2308).
    #[serde(default = "default_minimum")]
    pub minimum: u32,
    /// TTL of every record of the zone (SOA, NS, DS, glue).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The zone's own name servers (at least one).
    pub apex_ns: Vec<DnsName>,
    /// Addresses of apex name servers that lie inside the zone.
    #[serde(default)]
    pub apex_glue: BTreeMap<DnsName, Vec<IpAddr>>,
}
