//! The registry's objects as the core keeps them: plain data, serializable (the store keeps
//! them as JSON documents beside their key columns, and history rows are these documents).
//! Names are stored lowercase; statuses as their RFC tokens.

use std::net::IpAddr;

use epp_proto::Timestamp;
use serde::{Deserialize, Serialize};

/// A status token with its optional reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRec {
    pub s: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl StatusRec {
    pub fn new(s: &str) -> Self {
        Self {
            s: s.to_owned(),
            lang: None,
            reason: None,
        }
    }
}

pub(crate) fn has_status(list: &[StatusRec], s: &str) -> bool {
    list.iter().any(|r| r.s == s)
}

pub(crate) fn add_status(list: &mut Vec<StatusRec>, s: &str) {
    if !has_status(list, s) {
        list.push(StatusRec::new(s));
    }
}

pub(crate) fn remove_status(list: &mut Vec<StatusRec>, s: &str) {
    list.retain(|r| r.s != s);
}

/// A transfer, pending or finished (the last one is kept for `<transfer op="query">`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRec {
    /// `eppcom:trStatusType` token.
    pub status: String,
    pub re_id: String,
    pub re_date: Timestamp,
    pub ac_id: String,
    /// When pending: the auto-approval time; afterwards: when it was acted on.
    pub ac_date: Timestamp,
    /// Domains: months to add on approval.
    #[serde(default)]
    pub period_months: u32,
    /// Domains: the expiry date the transfer gives (or gave).
    #[serde(default)]
    pub ex_date: Option<Timestamp>,
    #[serde(default)]
    pub cl_trid: Option<String>,
    #[serde(default)]
    pub sv_trid: Option<String>,
}

impl TransferRec {
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }
}

/// A grace period (RFC 3915) running on a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GraceKind {
    AddPeriod,
    RenewPeriod,
    AutoRenewPeriod,
    TransferPeriod,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraceRec {
    pub kind: GraceKind,
    pub until: Timestamp,
}

/// Where a deleted domain is in the redemption cycle (RFC 3915 section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RgpState {
    RedemptionPeriod,
    PendingRestore,
    PendingDelete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RgpRec {
    pub state: RgpState,
    pub until: Timestamp,
}

/// A DS record (RFC 4034 section 5).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DsRec {
    pub key_tag: u16,
    pub alg: u8,
    pub digest_type: u8,
    /// Upper-case hex.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ContactLink {
    /// `admin`, `billing` or `tech`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A domain (RFC 5731).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Row id, set by the store; the ROID is derived from it.
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub cl_id: String,
    pub cr_id: String,
    pub cr_date: Timestamp,
    pub up_id: Option<String>,
    pub up_date: Option<Timestamp>,
    pub ex_date: Timestamp,
    pub tr_date: Option<Timestamp>,
    pub registrant: Option<String>,
    pub contacts: Vec<ContactLink>,
    /// Host object names, lowercase. The store keeps them as links to host rows, so a host
    /// rename shows here without touching the domain.
    pub ns: Vec<String>,
    pub statuses: Vec<StatusRec>,
    pub auth_pw: Option<String>,
    pub ds: Vec<DsRec>,
    pub max_sig_life: Option<u32>,
    pub grace: Vec<GraceRec>,
    pub rgp: Option<RgpRec>,
    pub transfer: Option<TransferRec>,
}

/// A host (RFC 5732).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    /// The domain this host is subordinate to (a domain of a served TLD), if internal.
    pub superordinate: Option<String>,
    pub cl_id: String,
    pub cr_id: String,
    pub cr_date: Timestamp,
    pub up_id: Option<String>,
    pub up_date: Option<Timestamp>,
    pub tr_date: Option<Timestamp>,
    pub addrs: Vec<IpAddr>,
    pub statuses: Vec<StatusRec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalRec {
    /// `int` or `loc`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub org: Option<String>,
    pub street: Vec<String>,
    pub city: String,
    pub sp: Option<String>,
    pub pc: Option<String>,
    pub cc: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneRec {
    pub number: String,
    pub ext: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscloseRec {
    pub flag: bool,
    /// `name:int`, `org:loc`, `addr:int`, `voice`, `fax`, `email`.
    pub fields: Vec<String>,
}

/// A contact (RFC 5733).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(skip)]
    pub id: i64,
    /// The client-chosen contact id (`contact:id`).
    pub handle: String,
    pub cl_id: String,
    pub cr_id: String,
    pub cr_date: Timestamp,
    pub up_id: Option<String>,
    pub up_date: Option<Timestamp>,
    pub tr_date: Option<Timestamp>,
    pub postal: Vec<PostalRec>,
    pub voice: Option<PhoneRec>,
    pub fax: Option<PhoneRec>,
    pub email: String,
    pub auth_pw: String,
    pub disclose: Option<DiscloseRec>,
    pub statuses: Vec<StatusRec>,
    pub transfer: Option<TransferRec>,
}

/// What a poll message carries besides its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PollPayload {
    DomainTransfer { name: String, transfer: TransferRec },
    ContactTransfer { id: String, transfer: TransferRec },
}

/// One message in a registrar's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollMessage {
    /// Set by the store.
    pub id: i64,
    pub cl_id: String,
    pub q_date: Timestamp,
    pub msg: String,
    pub payload: Option<PollPayload>,
}

/// Who did what to which object, and the object before and after (JSON, secrets redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: i64,
    /// `domain`, `host` or `contact`.
    pub object_type: String,
    /// Name or contact id.
    pub object_key: String,
    pub roid: String,
    /// `domain:create`, `transfer:autoApprove`, `rgp:purge`, …
    pub op: String,
    pub cl_id: String,
    pub source_ip: Option<String>,
    pub cert_fingerprint: Option<String>,
    pub cl_trid: Option<String>,
    pub sv_trid: String,
    pub at: Timestamp,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One entry of the delegation change journal: a snapshot of what the zone must now say
/// about `name` (a domain's delegation, or a host's glue addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Monotonic in commit order; set by the store.
    pub id: i64,
    pub at: Timestamp,
    /// `domain` or `host`.
    pub kind: String,
    pub name: String,
    /// JSON: for domains `{"in_zone":bool,"ns":[…],"ds":[…]}`, for hosts `{"addrs":[…]}`.
    pub data: String,
}

/// The zone-relevant view of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delegation {
    pub in_zone: bool,
    pub ns: Vec<String>,
    pub ds: Vec<DsRec>,
}

impl Domain {
    pub fn has(&self, s: epp_proto::domain::DomainStatus) -> bool {
        has_status(&self.statuses, s.as_str())
    }

    pub fn in_grace(&self, kind: GraceKind, now: Timestamp) -> bool {
        self.grace.iter().any(|g| g.kind == kind && g.until > now)
    }

    /// Whether the zone carries this domain (hold and deletion take it out).
    pub fn delegation(&self) -> Delegation {
        use epp_proto::domain::DomainStatus as S;
        let in_zone =
            !(self.has(S::ClientHold) || self.has(S::ServerHold) || self.has(S::PendingDelete));
        let mut ns = self.ns.clone();
        ns.sort();
        let mut ds = self.ds.clone();
        ds.sort();
        Delegation { in_zone, ns, ds }
    }
}

impl Host {
    pub fn has(&self, s: epp_proto::host::HostStatus) -> bool {
        has_status(&self.statuses, s.as_str())
    }
}

impl Contact {
    pub fn has(&self, s: epp_proto::contact::ContactStatus) -> bool {
        has_status(&self.statuses, s.as_str())
    }
}

/// JSON of an object for a history row, with its authInfo replaced by `***`.
pub fn redacted_json<T: Serialize>(obj: &T) -> String {
    let mut v = serde_json::to_value(obj).unwrap_or(serde_json::Value::Null);
    if let Some(m) = v.as_object_mut() {
        if let Some(pw) = m.get_mut("auth_pw") {
            if !pw.is_null() {
                *pw = serde_json::Value::String("***".to_owned());
            }
        }
    }
    v.to_string()
}
