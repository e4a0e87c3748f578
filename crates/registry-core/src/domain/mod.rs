//! Domain commands (RFC 5731) with secDNS-1.1 (RFC 5910) and rgp-1.0 (RFC 3915), one module
//! per command.
//!
//! Choices where the RFCs leave room:
//! * name servers are host objects only; `hostAttr` is refused with 2102;
//! * a registrant is required and must exist (2003 / 2303); contacts must exist (2303);
//! * adding a name server, contact, status or DS record already present, or removing one
//!   that is absent, is refused with 2306 (as ICANN's RST expects);
//! * a delete inside the add grace period purges at once (1000); otherwise the domain enters
//!   redemption (pendingDelete, out of the zone) and the answer is 1001;
//! * a delete is refused with 2305 while subordinate hosts exist;
//! * a non-sponsor's info without authInfo gets name, roid, statuses, sponsor and dates;
//! * maxSigLife (RFC 5910) lives with the DS set, since it is the lifetime of the parent's
//!   signature over the DS RRset: `<secDNS:rem><secDNS:all>` (RFC 5910 section 5.2.5: "all DS
//!   data") removes every DS record and the maxSigLife with them, as does removing the last
//!   record one by one; a `<secDNS:chg>` that would leave a maxSigLife on a domain without DS
//!   data is refused with 2306. `<secDNS:infData>` is sent only with at least one DS record
//!   (secDNS-1.1.xsd requires `dsData` or `keyData` in it).

mod check;
mod create;
mod delete;
pub(crate) mod info;
mod renew;
mod restore;
mod transfer;
mod update;

use epp_proto::domain::{DomainContact, NameServers};
use epp_proto::ext::rgp::RgpStatus;
use epp_proto::ext::sec_dns::DsOrKeyData;
use epp_proto::{AuthInfo, Period};

use crate::error::CoreError;
use crate::model::*;
use crate::policy;
use crate::registry::Registry;
use crate::store::{Store, StoreTx};

pub(crate) fn months_of(p: Option<Period>, default_years: u8) -> u32 {
    p.map(Period::months)
        .unwrap_or(u32::from(default_years) * 12)
}

pub(crate) fn host_objs(ns: &NameServers) -> Result<Vec<String>, CoreError> {
    match ns {
        NameServers::HostObj(v) => Ok(v.iter().map(|h| h.as_str().to_owned()).collect()),
        NameServers::HostAttr(_) => Err(CoreError::UnimplementedOption("hostAttr not supported")),
    }
}

pub(crate) fn link(c: &DomainContact) -> ContactLink {
    ContactLink {
        kind: c.contact_type.as_str().to_owned(),
        id: c.id.as_str().to_owned(),
    }
}

/// Whether a non-sponsor's authInfo opens the domain at `now`: 2202 when given and wrong,
/// expired, or when the domain has none ([`crate::secure_auth::judge`]).
pub(crate) fn domain_auth(
    cfg: &crate::Config,
    d: &Domain,
    auth: Option<&AuthInfo>,
    now: epp_proto::Timestamp,
) -> Result<bool, CoreError> {
    crate::secure_auth::judge(
        &cfg.secure_auth,
        d.auth_pw.as_deref(),
        d.auth_set,
        auth,
        now,
    )
}

pub(crate) fn check_max_sig_life(v: Option<u32>) -> Result<(), CoreError> {
    match v {
        Some(0) => Err(CoreError::Range("maxSigLife out of range")),
        Some(n) if n > epp_proto::ext::sec_dns::MAX_SIG_LIFE_MAX => {
            Err(CoreError::Range("maxSigLife out of range"))
        }
        _ => Ok(()),
    }
}

pub(crate) fn check_ds_list(data: &DsOrKeyData) -> Result<Vec<DsRec>, CoreError> {
    match data {
        DsOrKeyData::Key(_) => Err(CoreError::Policy("keyData is not supported")),
        DsOrKeyData::Ds(v) => v.iter().map(policy::check_ds).collect(),
    }
}

/// The rgp statuses a domain shows at `now` (RFC 3915 section 3).
pub(crate) fn rgp_statuses(d: &Domain, now: epp_proto::Timestamp) -> Vec<RgpStatus> {
    let mut v = Vec::new();
    for g in d.grace.iter().filter(|g| g.until > now) {
        let s = match g.kind {
            GraceKind::AddPeriod => RgpStatus::AddPeriod,
            GraceKind::RenewPeriod => RgpStatus::RenewPeriod,
            GraceKind::AutoRenewPeriod => RgpStatus::AutoRenewPeriod,
            GraceKind::TransferPeriod => RgpStatus::TransferPeriod,
        };
        if !v.contains(&s) {
            v.push(s);
        }
    }
    if let Some(r) = &d.rgp {
        v.push(match r.state {
            RgpState::RedemptionPeriod => RgpStatus::RedemptionPeriod,
            RgpState::PendingRestore => RgpStatus::PendingRestore,
            RgpState::PendingDelete => RgpStatus::PendingDelete,
        });
    }
    v
}

impl<S: Store> Registry<S> {
    /// Checks that every NS host exists. Name servers and contacts a domain links to are read
    /// without a row lock: the link rows' foreign keys already hold them (PostgreSQL takes a
    /// key-share lock on the referenced row when the link is inserted, which a concurrent
    /// delete's `FOR UPDATE` waits for, after which it sees the link and refuses with 2305).
    /// Locking them for update here would serialise every create that names a popular name
    /// server or a registrar's default contact.
    pub(crate) async fn require_hosts(
        &self,
        tx: &mut S::Tx,
        names: &[String],
    ) -> Result<(), CoreError> {
        for n in names {
            if tx.host_get(n, false).await?.is_none() {
                return Err(CoreError::NotFound("name server host"));
            }
        }
        Ok(())
    }

    /// Checks that a contact exists (not locked: see [`Registry::require_hosts`]).
    pub(crate) async fn require_contact(
        &self,
        tx: &mut S::Tx,
        id: &str,
        missing: &'static str,
    ) -> Result<(), CoreError> {
        if tx.contact_get(id, false).await?.is_none() {
            return Err(CoreError::NotFound(missing));
        }
        Ok(())
    }
}
