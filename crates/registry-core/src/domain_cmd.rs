//! Domain commands (RFC 5731) with secDNS-1.1 (RFC 5910) and rgp-1.0 (RFC 3915).
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

use std::collections::BTreeSet;

use epp_proto::domain::{
    AuthInfoChange, ContactType, DomainContact, DomainCreate, DomainCreateData, DomainInfo,
    DomainInfoData, DomainRenew, DomainRenewData, DomainStatus as DS, DomainTransfer, DomainUpdate,
    HostsFilter, NameServers,
};
use epp_proto::ext::registry_lock::RegistryLockCommand;
use epp_proto::ext::rgp::{RgpInfoData, RgpStatus, RgpUpdData, RgpUpdate};
use epp_proto::ext::sec_dns::{DsOrKeyData, SecDnsCreate, SecDnsInfoData, SecDnsRem, SecDnsUpdate};
use epp_proto::ext::ResponseExtension;
use epp_proto::{AuthInfo, CheckItem, DomainName, Label, Period, ResponseData, TransferOp};

use crate::convert;
use crate::error::CoreError;
use crate::model::*;
use crate::policy;
use crate::registry::{Outcome, Registry, Who};
use crate::store::{Store, StoreTx};

fn months_of(p: Option<Period>, default_years: u8) -> u32 {
    p.map(Period::months)
        .unwrap_or(u32::from(default_years) * 12)
}

fn host_objs(ns: &NameServers) -> Result<Vec<String>, CoreError> {
    match ns {
        NameServers::HostObj(v) => Ok(v.iter().map(|h| h.as_str().to_owned()).collect()),
        NameServers::HostAttr(_) => Err(CoreError::UnimplementedOption("hostAttr not supported")),
    }
}

fn link(c: &DomainContact) -> ContactLink {
    ContactLink {
        kind: c.contact_type.as_str().to_owned(),
        id: c.id.as_str().to_owned(),
    }
}

fn check_pw(pw: &str) -> Result<(), CoreError> {
    if pw.is_empty() {
        return Err(CoreError::Policy("authInfo must not be empty"));
    }
    Ok(())
}

impl<S: Store> Registry<S> {
    fn is_sponsor(who: &Who, cl_id: &str) -> bool {
        who.cl_id == cl_id
    }

    /// Whether a non-sponsor's authInfo opens the domain: 2202 when given and wrong.
    fn domain_auth(d: &Domain, auth: Option<&AuthInfo>) -> Result<bool, CoreError> {
        match auth {
            None => Ok(false),
            Some(a)
                if a.roid.is_none()
                    && d.auth_pw.as_deref() == Some(a.expose())
                    && !a.expose().is_empty() =>
            {
                Ok(true)
            }
            Some(_) => Err(CoreError::InvalidAuthInfo),
        }
    }

    pub(crate) async fn domain_check(&self, names: &[Label]) -> Result<Outcome, CoreError> {
        if names.len() > self.cfg.max_check {
            return Err(CoreError::Policy("too many names in check"));
        }
        let parsed: Vec<_> = names
            .iter()
            .map(|raw| policy::check_domain_name(&self.cfg, raw.as_str()))
            .collect();
        let valid: Vec<&str> = parsed.iter().flatten().map(|n| n.as_str()).collect();
        let taken: BTreeSet<String> = self
            .store
            .domains_taken(&valid)
            .await?
            .into_iter()
            .collect();
        let mut items = Vec::with_capacity(names.len());
        for (raw, parsed) in names.iter().zip(parsed) {
            let item = match parsed {
                Err(e) => CheckItem {
                    name: raw.as_str().to_owned(),
                    available: false,
                    reason: Some(e.reason().to_owned()),
                },
                Ok(n) => {
                    let taken = taken.contains(n.as_str());
                    CheckItem {
                        name: n.as_str().to_owned(),
                        available: !taken,
                        reason: taken.then(|| "in use".to_owned()),
                    }
                }
            };
            items.push(item);
        }
        Ok(Outcome::ok(Some(ResponseData::DomainCheck(items))))
    }

    fn domain_statuses(d: &Domain) -> Result<Vec<epp_proto::StatusEntry<DS>>, CoreError> {
        let mut list = convert::statuses(&d.statuses, DS::from_token)?;
        if d.ns.is_empty() {
            list.push(epp_proto::StatusEntry::new(DS::Inactive));
        }
        if list.is_empty() {
            list.push(epp_proto::StatusEntry::new(DS::Ok));
        }
        Ok(list)
    }

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

    pub(crate) async fn domain_info(
        &self,
        who: &Who,
        i: &DomainInfo,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(false).await?;
        let d = self.load_domain_r(&mut tx, who, i.name.as_str()).await?;
        let full = Self::is_sponsor(who, &d.cl_id) || Self::domain_auth(&d, i.auth_info.as_ref())?;
        let sub = if full && matches!(i.hosts, HostsFilter::All | HostsFilter::Sub) {
            tx.hosts_under(&d.name)
                .await?
                .into_iter()
                .map(|h| convert::host_name(&h.name))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            Vec::new()
        };
        drop(tx);
        let ns =
            if full && matches!(i.hosts, HostsFilter::All | HostsFilter::Del) && !d.ns.is_empty() {
                let mut v =
                    d.ns.iter()
                        .map(|n| convert::host_name(n))
                        .collect::<Result<Vec<_>, _>>()?;
                v.sort();
                Some(NameServers::HostObj(v))
            } else {
                None
            };
        let mut contacts = Vec::new();
        if full {
            for c in &d.contacts {
                let contact_type = ContactType::from_token(&c.kind)
                    .ok_or_else(|| CoreError::Corrupt(format!("contact type {:?}", c.kind)))?;
                contacts.push(DomainContact {
                    contact_type,
                    id: convert::contact_id(&c.id)?,
                });
            }
        }
        let data = DomainInfoData {
            name: convert::host_name(&d.name)?,
            roid: convert::roid(&self.roid('D', d.id))?,
            statuses: Self::domain_statuses(&d)?,
            registrant: if full {
                d.registrant
                    .as_deref()
                    .map(convert::contact_id)
                    .transpose()?
            } else {
                None
            },
            contacts,
            ns,
            hosts: sub,
            cl_id: convert::client_id(&d.cl_id)?,
            cr_id: if full {
                Some(convert::client_id(&d.cr_id)?)
            } else {
                None
            },
            cr_date: Some(d.cr_date),
            up_id: if full {
                d.up_id.as_deref().map(convert::client_id).transpose()?
            } else {
                None
            },
            up_date: if full { d.up_date } else { None },
            ex_date: Some(d.ex_date),
            tr_date: if full { d.tr_date } else { None },
            auth_info: if full {
                d.auth_pw
                    .as_deref()
                    .map(|p| AuthInfo::new(p, None))
                    .transpose()
                    .map_err(|e| CoreError::Corrupt(e.to_string()))?
            } else {
                None
            },
        };
        let mut out = Outcome::ok(Some(ResponseData::DomainInfo(Box::new(data))));
        // No infData without DS records, even if a maxSigLife were stored (see the module docs).
        if !d.ds.is_empty() {
            let ds =
                d.ds.iter()
                    .map(|r| epp_proto::ext::sec_dns::DsData {
                        key_tag: r.key_tag,
                        alg: r.alg,
                        digest_type: r.digest_type,
                        digest: r.digest.clone(),
                        key_data: None,
                    })
                    .collect();
            out.extensions
                .push(ResponseExtension::SecDnsInfo(SecDnsInfoData {
                    max_sig_life: d.max_sig_life,
                    data: DsOrKeyData::Ds(ds),
                }));
        }
        let rgp = Self::rgp_statuses(&d, who.now);
        if !rgp.is_empty() {
            out.extensions
                .push(ResponseExtension::RgpInfo(RgpInfoData { statuses: rgp }));
        }
        Ok(out)
    }

    /// Checks that every NS host exists (locking it so it cannot be deleted meanwhile).
    /// Name servers and contacts a domain links to are read without a row lock: the link
    /// rows' foreign keys already hold them (PostgreSQL takes a key-share lock on the
    /// referenced row when the link is inserted, which a concurrent delete's `FOR UPDATE`
    /// waits for, after which it sees the link and refuses with 2305). Locking them for
    /// update here would serialise every create that names a popular name server or a
    /// registrar's default contact.
    async fn require_hosts(&self, tx: &mut S::Tx, names: &[String]) -> Result<(), CoreError> {
        for n in names {
            if tx.host_get(n, false).await?.is_none() {
                return Err(CoreError::NotFound("name server host"));
            }
        }
        Ok(())
    }

    async fn require_contact(&self, tx: &mut S::Tx, id: &str) -> Result<(), CoreError> {
        if tx.contact_get(id, false).await?.is_none() {
            return Err(CoreError::NotFound("contact"));
        }
        Ok(())
    }

    fn check_ds_list(&self, data: &DsOrKeyData) -> Result<Vec<DsRec>, CoreError> {
        match data {
            DsOrKeyData::Key(_) => Err(CoreError::Policy("keyData is not supported")),
            DsOrKeyData::Ds(v) => v.iter().map(policy::check_ds).collect(),
        }
    }

    fn check_max_sig_life(v: Option<u32>) -> Result<(), CoreError> {
        match v {
            Some(0) => Err(CoreError::Range("maxSigLife out of range")),
            Some(n) if n > epp_proto::ext::sec_dns::MAX_SIG_LIFE_MAX => {
                Err(CoreError::Range("maxSigLife out of range"))
            }
            _ => Ok(()),
        }
    }

    pub(crate) async fn domain_create(
        &self,
        who: &Who,
        c: &DomainCreate,
        sec: Option<&SecDnsCreate>,
    ) -> Result<Outcome, CoreError> {
        let name =
            policy::check_domain_name(&self.cfg, c.name.as_str()).map_err(|e| e.into_core())?;
        let months = months_of(c.period, self.cfg.default_period_years);
        if months == 0 || months > self.cfg.max_registration_years.saturating_mul(12) {
            return Err(CoreError::Policy("period out of range"));
        }
        let ns = match &c.ns {
            Some(ns) => host_objs(ns)?,
            None => Vec::new(),
        };
        if ns.iter().collect::<BTreeSet<_>>().len() != ns.len() {
            return Err(CoreError::Policy("duplicate name server"));
        }
        if ns.len() > NameServers::MAX {
            return Err(CoreError::Policy("too many name servers"));
        }
        let registrant = c
            .registrant
            .as_ref()
            .ok_or(CoreError::Missing("registrant"))?;
        let contacts: Vec<ContactLink> = c.contacts.iter().map(link).collect();
        if contacts.iter().collect::<BTreeSet<_>>().len() != contacts.len() {
            return Err(CoreError::Policy("duplicate contact"));
        }
        check_pw(c.auth_info.expose())?;
        let mut ds = Vec::new();
        let mut max_sig_life = None;
        if let Some(s) = sec {
            Self::check_max_sig_life(s.max_sig_life)?;
            max_sig_life = s.max_sig_life;
            ds = self.check_ds_list(&s.data)?;
            ds.sort();
            ds.dedup();
            if ds.len() > self.cfg.max_ds {
                return Err(CoreError::Policy("too many DS records"));
            }
        }
        let mut tx = self.store.begin(true).await?;
        if let Some(old) = tx.domain_get(name.as_str(), true).await? {
            // A name whose purge is due is free.
            if self.settle_domain(&mut tx, old, who.now).await?.is_some() {
                return Err(CoreError::Exists("domain exists"));
            }
        }
        // Not locked: see require_hosts.
        if tx.contact_get(registrant.as_str(), false).await?.is_none() {
            return Err(CoreError::NotFound("registrant contact"));
        }
        for l in &contacts {
            self.require_contact(&mut tx, &l.id).await?;
        }
        self.require_hosts(&mut tx, &ns).await?;
        let ex_date = Self::add_months(who.now, months)?;
        let mut d = Domain {
            id: 0,
            name: name.as_str().to_owned(),
            cl_id: who.cl_id.clone(),
            cr_id: who.cl_id.clone(),
            cr_date: who.now,
            up_id: None,
            up_date: None,
            ex_date,
            tr_date: None,
            registrant: Some(registrant.as_str().to_owned()),
            contacts,
            ns,
            statuses: Vec::new(),
            auth_pw: Some(c.auth_info.expose().to_owned()),
            ds,
            max_sig_life,
            grace: vec![GraceRec {
                kind: GraceKind::AddPeriod,
                until: who.now + Self::days(self.cfg.add_grace_days),
            }],
            rgp: None,
            transfer: None,
            restore_report: None,
            registry_lock: None,
        };
        d.id = tx.domain_insert(&d, self.next_due_domain(&d)).await?;
        self.record(
            &mut tx,
            who,
            "domain",
            &d.name,
            self.roid('D', d.id),
            "domain:create",
            None,
            Some(&d),
        )
        .await?;
        if d.delegation() != Self::absent_delegation() {
            self.journal_domain(&mut tx, who.now, &d.name, &d.delegation())
                .await?;
        }
        tx.commit().await?;
        Ok(Outcome::ok(Some(ResponseData::DomainCreate(
            DomainCreateData {
                name,
                cr_date: who.now,
                ex_date: Some(ex_date),
            },
        ))))
    }

    pub(crate) async fn domain_delete(
        &self,
        who: &Who,
        name: &DomainName,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, name.as_str()).await?;
        if !Self::is_sponsor(who, &d.cl_id) {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        for (s, why) in [
            (DS::ClientDeleteProhibited, "clientDeleteProhibited"),
            (DS::ServerDeleteProhibited, "serverDeleteProhibited"),
            (DS::PendingDelete, "pendingDelete"),
            (DS::PendingTransfer, "pendingTransfer"),
        ] {
            if d.has(s) {
                return Err(CoreError::StatusProhibits(why));
            }
        }
        if !tx.hosts_under(&d.name).await?.is_empty() {
            return Err(CoreError::Association("subordinate hosts exist"));
        }
        if d.in_grace(GraceKind::AddPeriod, who.now) {
            self.purge_domain(&mut tx, who, &d, "domain:delete").await?;
            tx.commit().await?;
            return Ok(Outcome::ok(None));
        }
        let mut after = d.clone();
        add_status(&mut after.statuses, DS::PendingDelete.as_str());
        after.grace.clear();
        after.rgp = Some(RgpRec {
            state: RgpState::RedemptionPeriod,
            until: who.now + Self::days(self.cfg.redemption_days),
        });
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        self.save_domain(&mut tx, who, "domain:delete", &d, &after)
            .await?;
        tx.commit().await?;
        Ok(Outcome::pending(None))
    }

    pub(crate) async fn domain_renew(
        &self,
        who: &Who,
        r: &DomainRenew,
    ) -> Result<Outcome, CoreError> {
        let months = months_of(r.period, self.cfg.default_period_years);
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, r.name.as_str()).await?;
        if !Self::is_sponsor(who, &d.cl_id) {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        for (s, why) in [
            (DS::ClientRenewProhibited, "clientRenewProhibited"),
            (DS::ServerRenewProhibited, "serverRenewProhibited"),
            (DS::PendingDelete, "pendingDelete"),
            (DS::PendingTransfer, "pendingTransfer"),
        ] {
            if d.has(s) {
                return Err(CoreError::StatusProhibits(why));
            }
        }
        if d.ex_date.date_naive() != r.cur_exp_date {
            return Err(CoreError::Policy("curExpDate does not match"));
        }
        let ex = Self::add_months(d.ex_date, months)?;
        if ex > self.max_expiry(who.now)? {
            return Err(CoreError::Policy("exceeds maximum period"));
        }
        let mut after = d.clone();
        after.ex_date = ex;
        after.grace.retain(|g| g.until > who.now);
        after.grace.push(GraceRec {
            kind: GraceKind::RenewPeriod,
            until: who.now + Self::days(self.cfg.renew_grace_days),
        });
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        self.save_domain(&mut tx, who, "domain:renew", &d, &after)
            .await?;
        tx.commit().await?;
        Ok(Outcome::ok(Some(ResponseData::DomainRenew(
            DomainRenewData {
                name: r.name.clone(),
                ex_date: Some(ex),
            },
        ))))
    }

    pub(crate) async fn domain_transfer(
        &self,
        who: &Who,
        t: &DomainTransfer,
    ) -> Result<Outcome, CoreError> {
        let name = t.name.as_str();
        if t.op == TransferOp::Query {
            let mut tx = self.store.begin(false).await?;
            let d = self.load_domain_r(&mut tx, who, name).await?;
            drop(tx);
            let tr = d.transfer.as_ref().ok_or(CoreError::NotPendingTransfer)?;
            let allowed = Self::is_sponsor(who, &d.cl_id)
                || who.cl_id == tr.re_id
                || who.cl_id == tr.ac_id
                || Self::domain_auth(&d, t.auth_info.as_ref())?;
            if !allowed {
                return Err(CoreError::Authorization("not a party to the transfer"));
            }
            return Ok(Outcome::ok(Some(ResponseData::DomainTransfer(
                convert::transfer_data(name, tr)?,
            ))));
        }
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, name).await?;
        let mut after = d.clone();
        let (code_pending, op) = match t.op {
            TransferOp::Query => return Err(CoreError::CommandUse("query")),
            TransferOp::Request => {
                if Self::is_sponsor(who, &d.cl_id) {
                    return Err(CoreError::NotEligibleForTransfer("already the sponsor"));
                }
                if !Self::domain_auth(&d, t.auth_info.as_ref())? {
                    return Err(CoreError::InvalidAuthInfo);
                }
                for (s, why) in [
                    (DS::ClientTransferProhibited, "clientTransferProhibited"),
                    (DS::ServerTransferProhibited, "serverTransferProhibited"),
                    (DS::PendingDelete, "pendingDelete"),
                ] {
                    if d.has(s) {
                        return Err(CoreError::StatusProhibits(why));
                    }
                }
                if d.has(DS::PendingTransfer) {
                    return Err(CoreError::PendingTransfer);
                }
                let months = months_of(t.period, self.cfg.default_period_years);
                let ex = Self::add_months(d.ex_date, months)?;
                if ex > self.max_expiry(who.now)? {
                    return Err(CoreError::Policy("exceeds maximum period"));
                }
                add_status(&mut after.statuses, DS::PendingTransfer.as_str());
                after.transfer = Some(TransferRec {
                    status: "pending".into(),
                    re_id: who.cl_id.clone(),
                    re_date: who.now,
                    ac_id: d.cl_id.clone(),
                    ac_date: who.now + Self::days(self.cfg.transfer_auto_approve_days),
                    period_months: months,
                    ex_date: Some(ex),
                    cl_trid: who.cl_trid.clone(),
                    sv_trid: Some(who.sv_trid.clone()),
                });
                (true, "transfer:request")
            }
            TransferOp::Approve | TransferOp::Reject => {
                if !Self::is_sponsor(who, &d.cl_id) {
                    return Err(CoreError::Authorization("not the sponsoring registrar"));
                }
                if !d.transfer.as_ref().is_some_and(TransferRec::is_pending) {
                    return Err(CoreError::NotPendingTransfer);
                }
                if t.op == TransferOp::Approve {
                    self.approve_domain_transfer(&mut after, "clientApproved", who.now)?;
                    (false, "transfer:clientApproved")
                } else {
                    Self::end_transfer(
                        &mut after.transfer,
                        &mut after.statuses,
                        "clientRejected",
                        who.now,
                    );
                    (false, "transfer:clientRejected")
                }
            }
            TransferOp::Cancel => {
                let tr = d
                    .transfer
                    .as_ref()
                    .filter(|t| t.is_pending())
                    .ok_or(CoreError::NotPendingTransfer)?;
                if tr.re_id != who.cl_id {
                    return Err(CoreError::Authorization("not the requesting registrar"));
                }
                Self::end_transfer(
                    &mut after.transfer,
                    &mut after.statuses,
                    "clientCancelled",
                    who.now,
                );
                (false, "transfer:clientCancelled")
            }
        };
        self.save_domain(&mut tx, who, op, &d, &after).await?;
        let tr = after
            .transfer
            .clone()
            .ok_or(CoreError::Corrupt("transfer record vanished".into()))?;
        if t.op == TransferOp::Approve {
            self.move_subordinate_hosts(&mut tx, who, &after.name, &after.cl_id)
                .await?;
        }
        // The other party hears about it.
        let other = if who.cl_id == tr.re_id {
            &tr.ac_id
        } else {
            &tr.re_id
        };
        let msg = format!("Transfer of {} {}.", after.name, tr.status);
        let payload = PollPayload::DomainTransfer {
            name: after.name.clone(),
            transfer: tr.clone(),
        };
        self.notify(&mut tx, other, who.now, msg, Some(payload))
            .await?;
        tx.commit().await?;
        let data = Some(ResponseData::DomainTransfer(convert::transfer_data(
            name, &tr,
        )?));
        Ok(if code_pending {
            Outcome::pending(data)
        } else {
            Outcome::ok(data)
        })
    }

    pub(crate) fn end_transfer(
        t: &mut Option<TransferRec>,
        statuses: &mut Vec<StatusRec>,
        status: &str,
        at: epp_proto::Timestamp,
    ) {
        if let Some(t) = t.as_mut() {
            t.status = status.to_owned();
            t.ac_date = at;
        }
        remove_status(statuses, "pendingTransfer");
    }

    pub(crate) async fn domain_update(
        &self,
        who: &Who,
        u: &DomainUpdate,
        sec: Option<&SecDnsUpdate>,
        rgp: Option<&RgpUpdate>,
        lock: Option<&RegistryLockCommand>,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, u.name.as_str()).await?;
        if !Self::is_sponsor(who, &d.cl_id) {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        if let Some(l) = lock {
            // A lock request is accepted while the domain is locked: it is how an unlock is
            // asked for. It changes nothing until it is verified out of band.
            if !u.add.is_empty()
                || !u.rem.is_empty()
                || u.chg.is_some()
                || sec.is_some()
                || rgp.is_some()
            {
                return Err(CoreError::Policy("lock request must be alone"));
            }
            let req = self.file_lock_request(&mut tx, who, &d, l).await?;
            tx.commit().await?;
            return Self::lock_request_outcome(&req);
        }
        if let Some(r) = rgp {
            let out = self.domain_restore(&mut tx, who, u, sec, r, d).await?;
            tx.commit().await?;
            return Ok(out);
        }
        let removes_cup = u
            .rem
            .statuses
            .iter()
            .any(|s| s.status == DS::ClientUpdateProhibited);
        for (s, why) in [
            (DS::ServerUpdateProhibited, "serverUpdateProhibited"),
            (DS::PendingDelete, "pendingDelete"),
            (DS::PendingTransfer, "pendingTransfer"),
        ] {
            if d.has(s) {
                return Err(CoreError::StatusProhibits(why));
            }
        }
        if d.has(DS::ClientUpdateProhibited) && !removes_cup {
            return Err(CoreError::StatusProhibits("clientUpdateProhibited"));
        }
        let mut after = d.clone();
        // Statuses: rem, then add.
        for s in &u.rem.statuses {
            if !s.status.is_client_settable() {
                return Err(CoreError::Policy("status not client-settable"));
            }
            if !has_status(&after.statuses, s.status.as_str()) {
                return Err(CoreError::Policy("status not present"));
            }
            remove_status(&mut after.statuses, s.status.as_str());
        }
        for s in &u.add.statuses {
            if !s.status.is_client_settable() {
                return Err(CoreError::Policy("status not client-settable"));
            }
            if has_status(&after.statuses, s.status.as_str()) {
                return Err(CoreError::Policy("status already present"));
            }
            after.statuses.push(StatusRec {
                s: s.status.as_str().to_owned(),
                lang: s.lang.clone(),
                reason: s.reason.clone(),
            });
        }
        // Name servers.
        if let Some(ns) = &u.rem.ns {
            for n in host_objs(ns)? {
                if !after.ns.contains(&n) {
                    return Err(CoreError::Policy("name server not present"));
                }
                after.ns.retain(|x| *x != n);
            }
        }
        if let Some(ns) = &u.add.ns {
            let add = host_objs(ns)?;
            for n in &add {
                if after.ns.contains(n) {
                    return Err(CoreError::Policy("name server already present"));
                }
                after.ns.push(n.clone());
            }
            self.require_hosts(&mut tx, &add).await?;
            if after.ns.len() > NameServers::MAX {
                return Err(CoreError::Policy("too many name servers"));
            }
        }
        // Contacts.
        for c in &u.rem.contacts {
            let l = link(c);
            if !after.contacts.contains(&l) {
                return Err(CoreError::Policy("contact not present"));
            }
            after.contacts.retain(|x| *x != l);
        }
        for c in &u.add.contacts {
            let l = link(c);
            if after.contacts.contains(&l) {
                return Err(CoreError::Policy("contact already present"));
            }
            self.require_contact(&mut tx, &l.id).await?;
            after.contacts.push(l);
        }
        if let Some(chg) = &u.chg {
            match &chg.registrant {
                None => {}
                Some(None) => return Err(CoreError::Policy("registrant is required")),
                Some(Some(id)) => {
                    // Not locked: see require_hosts.
                    if tx.contact_get(id.as_str(), false).await?.is_none() {
                        return Err(CoreError::NotFound("registrant contact"));
                    }
                    after.registrant = Some(id.as_str().to_owned());
                }
            }
            match &chg.auth_info {
                None => {}
                Some(AuthInfoChange::Remove) => after.auth_pw = None,
                Some(AuthInfoChange::Set(a)) => {
                    check_pw(a.expose())?;
                    after.auth_pw = Some(a.expose().to_owned());
                }
            }
        }
        if let Some(s) = sec {
            if s.urgent {
                return Err(CoreError::UnimplementedOption("urgent is not supported"));
            }
            match &s.rem {
                None => {}
                Some(SecDnsRem::All) => after.ds.clear(),
                Some(SecDnsRem::Data(data)) => {
                    for r in self.check_ds_list(data)? {
                        if !after.ds.contains(&r) {
                            return Err(CoreError::Policy("DS record not present"));
                        }
                        after.ds.retain(|x| *x != r);
                    }
                }
            }
            if let Some(data) = &s.add {
                for r in self.check_ds_list(data)? {
                    if after.ds.contains(&r) {
                        return Err(CoreError::Policy("DS record already present"));
                    }
                    after.ds.push(r);
                }
                if after.ds.len() > self.cfg.max_ds {
                    return Err(CoreError::Policy("too many DS records"));
                }
            }
            if s.chg_max_sig_life.is_some() {
                Self::check_max_sig_life(s.chg_max_sig_life)?;
                after.max_sig_life = s.chg_max_sig_life;
            }
            // maxSigLife goes with the last DS record (see the module docs).
            if after.ds.is_empty() {
                if s.chg_max_sig_life.is_some() {
                    return Err(CoreError::Policy("maxSigLife needs DS data"));
                }
                after.max_sig_life = None;
            }
        }
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        self.save_domain(&mut tx, who, "domain:update", &d, &after)
            .await?;
        tx.commit().await?;
        Ok(Outcome::ok(None))
    }

    /// RFC 3915 restore: `request` moves a domain in redemptionPeriod to pendingRestore;
    /// `report` restores a domain in pendingRestore (renewing it by a year while expired).
    async fn domain_restore(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        u: &DomainUpdate,
        sec: Option<&SecDnsUpdate>,
        r: &RgpUpdate,
        d: Domain,
    ) -> Result<Outcome, CoreError> {
        if !u.add.is_empty() || !u.rem.is_empty() || u.chg.is_some() || sec.is_some() {
            return Err(CoreError::Policy("restore must be alone"));
        }
        let mut after = d.clone();
        let state = d.rgp.as_ref().map(|r| r.state);
        let op = match r {
            RgpUpdate::Request => {
                if state != Some(RgpState::RedemptionPeriod) {
                    return Err(CoreError::StatusProhibits("not in redemptionPeriod"));
                }
                after.rgp = Some(RgpRec {
                    state: RgpState::PendingRestore,
                    until: who.now + Self::days(self.cfg.pending_restore_days),
                });
                "rgp:restoreRequest"
            }
            RgpUpdate::Report(rep) => {
                if state != Some(RgpState::PendingRestore) {
                    return Err(CoreError::StatusProhibits("not in pendingRestore"));
                }
                if rep.del_time > rep.res_time
                    || rep.res_time > who.now + chrono::TimeDelta::days(1)
                {
                    return Err(CoreError::Policy("restore report times"));
                }
                tracing::info!(domain = %d.name, reason = %rep.res_reason, "restore report received");
                after.restore_report = Some(RestoreReportRec {
                    received: who.now,
                    pre_data: rep.pre_data.clone(),
                    post_data: rep.post_data.clone(),
                    del_time: rep.del_time,
                    res_time: rep.res_time,
                    res_reason: rep.res_reason.clone(),
                    statements: rep.statements.clone(),
                    other: rep.other.clone(),
                });
                after.rgp = None;
                remove_status(&mut after.statuses, DS::PendingDelete.as_str());
                while after.ex_date <= who.now {
                    after.ex_date = Self::add_months(after.ex_date, 12)?;
                }
                "rgp:restoreReport"
            }
        };
        after.up_id = Some(who.cl_id.clone());
        after.up_date = Some(who.now);
        self.save_domain(tx, who, op, &d, &after).await?;
        let mut out = Outcome::ok(None);
        let statuses = Self::rgp_statuses(&after, who.now);
        if !statuses.is_empty() {
            out.extensions
                .push(ResponseExtension::RgpUpdate(RgpUpdData { statuses }));
        }
        Ok(out)
    }
}
