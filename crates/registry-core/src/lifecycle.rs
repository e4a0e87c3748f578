//! Time-driven steps of a domain's and a contact's life, applied in time order:
//!
//! * a pending transfer nobody acted on is approved by the server at its `acDate`;
//! * at `exDate` a domain renews itself for a year (auto-renew grace starts), or, with
//!   `auto_renew = false`, is deleted into redemption;
//! * redemptionPeriod ends in pendingDelete; a pendingRestore not followed by a report in
//!   time returns to redemptionPeriod (RFC 3915 section 3.2);
//! * pendingDelete ends in the purge: the row, its links and its subordinate hosts go.
//!
//! Each step happens *at its due time*, not at the time it is noticed, so a late scheduler
//! gives the same dates as a punctual one.

use epp_proto::domain::DomainStatus as DS;
use epp_proto::Timestamp;

use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Registry, Who};
use crate::store::{Store, StoreTx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    AutoApprove,
    Expire,
    RedemptionEnd,
    RestoreLapse,
    Purge,
    /// A timed unlock is over: the registry lock comes back.
    Relock,
}

impl<S: Store> Registry<S> {
    pub(crate) fn next_step(&self, d: &Domain) -> Option<(Timestamp, Step)> {
        let mut c: Vec<(Timestamp, Step)> = Vec::new();
        if let Some(t) = d.transfer.as_ref().filter(|t| t.is_pending()) {
            c.push((t.ac_date, Step::AutoApprove));
        }
        match &d.rgp {
            None => c.push((d.ex_date, Step::Expire)),
            Some(r) => c.push((
                r.until,
                match r.state {
                    RgpState::RedemptionPeriod => Step::RedemptionEnd,
                    RgpState::PendingRestore => Step::RestoreLapse,
                    RgpState::PendingDelete => Step::Purge,
                },
            )),
        }
        if let Some(t) = d.registry_lock.as_ref().and_then(|l| l.relock_at) {
            c.push((t, Step::Relock));
        }
        c.into_iter().min_by_key(|(t, _)| *t)
    }

    pub(crate) fn next_due_domain(&self, d: &Domain) -> Option<Timestamp> {
        self.next_step(d).map(|(t, _)| t)
    }

    pub(crate) fn next_due_contact(&self, c: &Contact) -> Option<Timestamp> {
        c.transfer
            .as_ref()
            .filter(|t| t.is_pending())
            .map(|t| t.ac_date)
    }

    /// Completes a pending domain transfer in memory: new sponsor, new expiry, transfer grace.
    /// Returns (gaining, losing) registrars.
    pub(crate) fn approve_domain_transfer(
        &self,
        d: &mut Domain,
        status: &str,
        at: Timestamp,
    ) -> Result<(String, String), CoreError> {
        let Some(t) = d.transfer.as_mut() else {
            return Err(CoreError::NotPendingTransfer);
        };
        let ceiling = Self::add_months(at, self.cfg.max_registration_years.saturating_mul(12))?;
        let ex = Self::add_months(d.ex_date, t.period_months)?.min(ceiling);
        t.status = status.to_owned();
        t.ac_date = at;
        t.ex_date = Some(ex);
        let (gaining, losing) = (t.re_id.clone(), t.ac_id.clone());
        d.ex_date = ex;
        d.cl_id = gaining.clone();
        d.tr_date = Some(at);
        remove_status(&mut d.statuses, DS::PendingTransfer.as_str());
        d.grace.retain(|g| g.until > at);
        d.grace.push(GraceRec {
            kind: GraceKind::TransferPeriod,
            until: at + Self::days(self.cfg.transfer_grace_days),
        });
        Ok((gaining, losing))
    }

    /// Applies one step in memory. Returns the history op name.
    fn apply_step(
        &self,
        d: &mut Domain,
        step: Step,
        at: Timestamp,
    ) -> Result<&'static str, CoreError> {
        match step {
            Step::AutoApprove => {
                self.approve_domain_transfer(d, "serverApproved", at)?;
                Ok("transfer:serverApproved")
            }
            Step::Expire => {
                d.grace.retain(|g| g.until > at);
                if self.cfg.auto_renew {
                    d.ex_date = Self::add_months(d.ex_date, 12)?;
                    d.grace.push(GraceRec {
                        kind: GraceKind::AutoRenewPeriod,
                        until: at + Self::days(self.cfg.auto_renew_grace_days),
                    });
                    Ok("domain:autoRenew")
                } else {
                    add_status(&mut d.statuses, DS::PendingDelete.as_str());
                    d.rgp = Some(RgpRec {
                        state: RgpState::RedemptionPeriod,
                        until: at + Self::days(self.cfg.redemption_days),
                    });
                    Ok("domain:expire")
                }
            }
            Step::RedemptionEnd => {
                d.rgp = Some(RgpRec {
                    state: RgpState::PendingDelete,
                    until: at + Self::days(self.cfg.pending_delete_days),
                });
                Ok("rgp:pendingDelete")
            }
            Step::RestoreLapse => {
                d.rgp = Some(RgpRec {
                    state: RgpState::RedemptionPeriod,
                    until: at + Self::days(self.cfg.redemption_days),
                });
                Ok("rgp:restoreLapsed")
            }
            Step::Purge => Ok("rgp:purge"),
            Step::Relock => {
                let added = Self::lock_domain_statuses(d);
                if let Some(l) = d.registry_lock.as_mut() {
                    l.added = added;
                    l.since = at;
                    l.relock_at = None;
                }
                Ok("lock:relocked")
            }
        }
    }

    /// The domain as it is at `now` without writing anything (for read-only commands);
    /// `None` if it has been purged by then.
    pub(crate) fn settle_view(
        &self,
        mut d: Domain,
        now: Timestamp,
    ) -> Result<Option<Domain>, CoreError> {
        while let Some((at, step)) = self.next_step(&d).filter(|(t, _)| *t <= now) {
            if step == Step::Purge {
                return Ok(None);
            }
            self.apply_step(&mut d, step, at)?;
        }
        Ok(Some(d))
    }

    /// Applies and records every step due at `now`; `None` if the domain was purged.
    pub(crate) async fn settle_domain(
        &self,
        tx: &mut S::Tx,
        mut d: Domain,
        now: Timestamp,
    ) -> Result<Option<Domain>, CoreError> {
        while let Some((at, step)) = self.next_step(&d).filter(|(t, _)| *t <= now) {
            let who = self.system_who(at);
            if step == Step::Purge {
                self.purge_domain(tx, &who, &d, "rgp:purge").await?;
                self.notify(
                    tx,
                    &d.cl_id.clone(),
                    at,
                    format!("Domain {} was purged.", d.name),
                    None,
                )
                .await?;
                return Ok(None);
            }
            let before = d.clone();
            let op = self.apply_step(&mut d, step, at)?;
            if step == Step::Relock {
                let hosts = self.lock_hosts(tx, &who, &d.name, op).await?;
                if let Some(l) = d.registry_lock.as_mut() {
                    l.hosts = hosts;
                }
            }
            self.save_domain(tx, &who, op, &before, &d).await?;
            match step {
                Step::AutoApprove => {
                    self.move_subordinate_hosts(tx, &who, &d.name, &d.cl_id)
                        .await?;
                    if let Some(t) = d.transfer.clone() {
                        let payload = PollPayload::DomainTransfer {
                            name: d.name.clone(),
                            transfer: t.clone(),
                        };
                        let msg = format!("Transfer of {} approved by the registry.", d.name);
                        self.notify(tx, &t.re_id, at, msg.clone(), Some(payload.clone()))
                            .await?;
                        self.notify(tx, &t.ac_id, at, msg, Some(payload)).await?;
                    }
                }
                Step::Relock => {
                    let msg = format!(
                        "Registry lock of {}: the timed unlock ended; the domain is locked again.",
                        d.name
                    );
                    let req = d.registry_lock.as_ref().map(|l| l.request_id);
                    self.lock_notice(tx, &d.cl_id.clone(), req, at, msg).await?;
                }
                Step::Expire if !self.cfg.auto_renew => {
                    let msg = format!(
                        "Domain {} expired and was deleted; it is in redemption.",
                        d.name
                    );
                    self.notify(tx, &d.cl_id.clone(), at, msg, None).await?;
                }
                _ => {}
            }
        }
        Ok(Some(d))
    }

    /// Removes a domain for good, with its subordinate hosts (their links from other domains
    /// go too, and those domains' delegations are journalled).
    pub(crate) async fn purge_domain(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        d: &Domain,
        op: &str,
    ) -> Result<(), CoreError> {
        for h in tx.hosts_under(&d.name).await? {
            let users = tx.domains_using_host(h.id).await?;
            tx.host_delete(h.id).await?;
            self.record(
                tx,
                who,
                "host",
                &h.name,
                self.roid('H', h.id),
                "host:purgedWithDomain",
                Some(&h),
                None,
            )
            .await?;
            self.journal_host(tx, who.now, &h.name, &[]).await?;
            for u in users.iter().filter(|u| **u != d.name) {
                if let Some(other) = tx.domain_get(u, true).await? {
                    self.journal_domain(tx, who.now, &other.name, &other.delegation())
                        .await?;
                }
            }
        }
        tx.domain_purge(d.id).await?;
        self.record(
            tx,
            who,
            "domain",
            &d.name,
            self.roid('D', d.id),
            op,
            Some(d),
            None,
        )
        .await?;
        if d.delegation() != Self::absent_delegation() {
            self.journal_domain(tx, who.now, &d.name, &Self::absent_delegation())
                .await?;
        }
        Ok(())
    }

    /// Subordinate hosts follow their domain to its new sponsor (RFC 5732 section 1).
    pub(crate) async fn move_subordinate_hosts(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        domain: &str,
        new_sponsor: &str,
    ) -> Result<(), CoreError> {
        for h in tx.hosts_under(domain).await? {
            let mut after = h.clone();
            after.cl_id = new_sponsor.to_owned();
            after.tr_date = Some(who.now);
            self.save_host(tx, who, "host:transferWithDomain", &h, &after)
                .await?;
        }
        Ok(())
    }

    pub(crate) async fn settle_contact(
        &self,
        tx: &mut S::Tx,
        mut c: Contact,
        now: Timestamp,
    ) -> Result<Contact, CoreError> {
        if let Some(at) = self.next_due_contact(&c).filter(|t| *t <= now) {
            let who = self.system_who(at);
            let before = c.clone();
            Self::approve_contact_transfer(&mut c, "serverApproved", at);
            self.save_contact(tx, &who, "transfer:serverApproved", &before, &c)
                .await?;
            if let Some(t) = c.transfer.clone() {
                let payload = PollPayload::ContactTransfer {
                    id: c.handle.clone(),
                    transfer: t.clone(),
                };
                let msg = format!("Transfer of contact {} approved by the registry.", c.handle);
                self.notify(tx, &t.re_id, at, msg.clone(), Some(payload.clone()))
                    .await?;
                self.notify(tx, &t.ac_id, at, msg, Some(payload)).await?;
            }
        }
        Ok(c)
    }

    pub(crate) fn settle_contact_view(&self, mut c: Contact, now: Timestamp) -> Contact {
        if let Some(at) = self.next_due_contact(&c).filter(|t| *t <= now) {
            Self::approve_contact_transfer(&mut c, "serverApproved", at);
        }
        c
    }

    pub(crate) fn approve_contact_transfer(c: &mut Contact, status: &str, at: Timestamp) {
        if let Some(t) = c.transfer.as_mut() {
            t.status = status.to_owned();
            t.ac_date = at;
            c.cl_id = t.re_id.clone();
            c.tr_date = Some(at);
            remove_status(
                &mut c.statuses,
                epp_proto::contact::ContactStatus::PendingTransfer.as_str(),
            );
        }
    }

    /// Loads a domain for a write, locked and settled. 2303 if absent or purged.
    pub(crate) async fn load_domain_w(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        name: &str,
    ) -> Result<Domain, CoreError> {
        let d = tx
            .domain_get(name, true)
            .await?
            .ok_or(CoreError::NotFound("domain"))?;
        self.settle_domain(tx, d, who.now)
            .await?
            .ok_or(CoreError::NotFound("domain"))
    }

    pub(crate) async fn load_domain_r(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        name: &str,
    ) -> Result<Domain, CoreError> {
        let d = tx
            .domain_get(name, false)
            .await?
            .ok_or(CoreError::NotFound("domain"))?;
        self.settle_view(d, who.now)?
            .ok_or(CoreError::NotFound("domain"))
    }

    pub(crate) async fn load_contact_w(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        id: &str,
    ) -> Result<Contact, CoreError> {
        let c = tx
            .contact_get(id, true)
            .await?
            .ok_or(CoreError::NotFound("contact"))?;
        self.settle_contact(tx, c, who.now).await
    }
}
