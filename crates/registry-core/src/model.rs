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
    /// The authInfo in its stored form (`sha256$salt$digest`, [`crate::secure_auth`]); `None`
    /// when none is set (RFC 9154: empty unless the sponsor set one for a transfer).
    pub auth_pw: Option<String>,
    /// When the authInfo was set: it opens a transfer until `auth_set` + `ttl_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_set: Option<Timestamp>,
    pub ds: Vec<DsRec>,
    pub max_sig_life: Option<u32>,
    pub grace: Vec<GraceRec>,
    pub rgp: Option<RgpRec>,
    pub transfer: Option<TransferRec>,
    /// The last restore report (RFC 3915 section 4.2.5) received for this domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_report: Option<RestoreReportRec>,
    /// The registry lock, when one is applied (or released for a while).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_lock: Option<LockRec>,
}

/// A restore report as received, kept with the domain (and so in its history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReportRec {
    pub received: Timestamp,
    pub pre_data: String,
    pub post_data: String,
    pub del_time: Timestamp,
    pub res_time: Timestamp,
    pub res_reason: String,
    pub statements: [String; 2],
    #[serde(default)]
    pub other: Option<String>,
}

/// The statuses a registry lock added to one subordinate host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostLockRec {
    pub host: String,
    pub added: Vec<String>,
}

/// A registry lock on a domain. It records exactly which server statuses it added, so that
/// releasing it removes those and leaves statuses set by other means alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRec {
    /// The request that applied (or last reapplied) the lock.
    pub request_id: i64,
    pub since: Timestamp,
    /// Domain statuses the lock added.
    pub added: Vec<String>,
    /// Host statuses the lock added, per subordinate host.
    pub hosts: Vec<HostLockRec>,
    /// During a timed unlock: when the registry locks the domain again. While set, the lock
    /// is released (`added` and `hosts` are empty).
    #[serde(default)]
    pub relock_at: Option<Timestamp>,
}

impl LockRec {
    /// Whether the lock is in force (not released for a timed unlock).
    pub fn in_force(&self) -> bool {
        self.relock_at.is_none()
    }
}

/// The server statuses a registry lock puts on a domain.
pub const LOCK_DOMAIN_STATUSES: [&str; 3] = [
    "serverUpdateProhibited",
    "serverDeleteProhibited",
    "serverTransferProhibited",
];

/// The server statuses a registry lock puts on the domain's subordinate hosts.
pub const LOCK_HOST_STATUSES: [&str; 2] = ["serverUpdateProhibited", "serverDeleteProhibited"];

/// A registrar's designated lock contact: the person the registry calls back to verify a
/// lock or unlock request, and who receives its confirmation codes by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockContact {
    pub cl_id: String,
    pub name: String,
    pub phone: String,
    pub email: String,
}

/// A lock or unlock request and its verification state. The code itself is never stored:
/// only `SHA-256(salt ‖ code)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRequest {
    /// Set by the store.
    #[serde(skip)]
    pub id: i64,
    pub domain: String,
    /// The sponsoring registrar the request is for.
    pub cl_id: String,
    /// `lock` or `unlock`.
    pub op: String,
    /// A timed unlock's length.
    #[serde(default)]
    pub unlock_secs: Option<u32>,
    /// `epp_proto::ext::registry_lock::LockRequestState` token.
    pub state: String,
    /// Who asked: the registrar's clID, or `operator:NAME`.
    pub requested_by: String,
    pub created: Timestamp,
    pub expires: Timestamp,
    #[serde(default)]
    pub code_sent: Option<Timestamp>,
    pub attempts: u32,
    #[serde(default)]
    pub closed: Option<Timestamp>,
    /// Why it ended, when it did not apply (operator's reason, "expired", …).
    #[serde(default)]
    pub outcome_note: Option<String>,
    /// Hex salt and hex `SHA-256(salt ‖ code)`.
    pub code_salt: String,
    pub code_hash: String,
}

impl LockRequest {
    /// The request without its code hash, for history rows and listings.
    pub fn summary(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(m) = v.as_object_mut() {
            m.remove("code_salt");
            m.remove("code_hash");
            m.insert("id".into(), self.id.into());
        }
        v
    }
}

/// One e-mail in the outbox. Mail is written in the transaction that decides to send it and
/// sent later by the mail worker, so sending never holds a database transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Set by the store.
    pub id: i64,
    /// `lockCode` (carries a confirmation code; cancelled when its request ends) or `notice`.
    pub kind: String,
    pub lock_request_id: Option<i64>,
    pub recipient: String,
    pub subject: String,
    /// Emptied once sent (a code must not linger in the database).
    pub body: String,
    pub created: Timestamp,
    pub next_attempt: Timestamp,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent: Option<Timestamp>,
}

impl OutboxMail {
    /// A mail queued at `at` for its first attempt (`kind`: `lockCode` or `notice`).
    pub fn queued(
        kind: &str,
        lock_request_id: Option<i64>,
        recipient: String,
        subject: String,
        body: String,
        at: Timestamp,
    ) -> Self {
        Self {
            id: 0,
            kind: kind.to_owned(),
            lock_request_id,
            recipient,
            subject,
            body,
            created: at,
            next_attempt: at,
            attempts: 0,
            last_error: None,
            sent: None,
        }
    }
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
    /// The authInfo in its stored form, as for domains; empty when none is set.
    pub auth_pw: String,
    /// When the authInfo was set (see [`Domain::auth_set`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_set: Option<Timestamp>,
    pub disclose: Option<DiscloseRec>,
    pub statuses: Vec<StatusRec>,
    pub transfer: Option<TransferRec>,
}

/// What a poll message carries besides its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PollPayload {
    DomainTransfer {
        name: String,
        transfer: TransferRec,
    },
    ContactTransfer {
        id: String,
        transfer: TransferRec,
    },
    /// A change the sponsor did not make itself (RFC 8590, [`crate::change_poll`]): the
    /// object's state and what was done. `plain` is what the message carried before (a
    /// transfer's data), for sessions that did not select the changePoll extension.
    Change {
        change: Box<ChangeNotice>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plain: Option<Box<PollPayload>>,
    },
}

/// The object of a change poll message, as it was right after the change (or right before
/// it, when the change removed it), with its ROID (the store's row id is not serialized) and
/// without its authInfo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChangedObject {
    Domain { roid: String, domain: Box<Domain> },
    Host { roid: String, host: Box<Host> },
    Contact { roid: String, contact: Box<Contact> },
}

/// What a change poll message tells besides the object (RFC 8590 `<changePoll:changeData>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeNotice {
    /// `changePoll:operationEnum` token.
    pub operation: String,
    /// The sub-operation (`op` attribute), or the name of a `custom` operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    pub date: Timestamp,
    pub sv_trid: String,
    pub who: String,
    /// At most 32 characters (`eppcom:reasonType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The object is as it was before the change (it is gone), not after.
    #[serde(default)]
    pub before: bool,
    pub object: ChangedObject,
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

/// What the zone must now say about one name: a domain's delegation, or the glue addresses
/// of an internal host. Each carries the whole current state, so applying one twice, or an
/// older one after a newer one was lost, cannot leave the zone in a state the registry never had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZoneChange {
    Domain {
        name: String,
        delegation: Delegation,
    },
    /// An internal host's addresses; empty when the host is gone (or became external).
    Host { name: String, addrs: Vec<IpAddr> },
}

impl ZoneChange {
    pub fn name(&self) -> &str {
        match self {
            ZoneChange::Domain { name, .. } | ZoneChange::Host { name, .. } => name,
        }
    }

    /// `domain` or `host`.
    pub fn kind(&self) -> &'static str {
        match self {
            ZoneChange::Domain { .. } => "domain",
            ZoneChange::Host { .. } => "host",
        }
    }
}

/// One entry of the delegation change journal, as the zone generator reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The entry's journal position: final once given, in commit order per object; set by
    /// the store.
    pub position: i64,
    pub at: Timestamp,
    pub change: ZoneChange,
}

/// The zone-relevant view of a domain, as the journal carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub in_zone: bool,
    pub ns: Vec<String>,
    pub ds: Vec<DsRec>,
}

impl Delegation {
    /// A domain the zone does not carry (deleted, on hold, or never delegated).
    pub fn absent() -> Self {
        Delegation {
            in_zone: false,
            ns: Vec::new(),
            ds: Vec::new(),
        }
    }
}

/// The repository object identifier of a stored object: `D42-EPP`, `H7-EPP`, `C3-EPP`.
pub fn roid(prefix: char, id: i64, suffix: &str) -> String {
    format!("{prefix}{id}-{suffix}")
}

impl Domain {
    pub fn has(&self, s: epp_proto::domain::DomainStatus) -> bool {
        has_status(&self.statuses, s.as_str())
    }

    pub fn in_grace(&self, kind: GraceKind, now: Timestamp) -> bool {
        self.grace.iter().any(|g| g.kind == kind && g.until > now)
    }

    /// Whether a registry lock is in force (applied, and not released for a timed unlock).
    pub fn registry_locked(&self) -> bool {
        self.registry_lock.as_ref().is_some_and(LockRec::in_force)
    }

    /// What the journal says about this domain (hold and deletion take it out of the zone).
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
