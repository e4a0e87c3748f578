//! Time-driven steps of a domain's and a contact's life, applied in time order:
//!
//! * a pending transfer nobody acted on is approved by the server at its `acDate`;
//! * at `exDate` a domain renews itself for a year (auto-renew grace starts), or, with
//!   `auto_renew = false`, is deleted into redemption — except a registry-locked domain, which
//!   is always renewed: the clock must not take a locked delegation out of the zone;
//! * redemptionPeriod ends in pendingDelete; a pendingRestore not followed by a report in
//!   time returns to redemptionPeriod (RFC 3915 section 3.2);
//! * pendingDelete ends in the purge: the row, its links and its subordinate hosts go. When a
//!   subordinate host is a name server of a registry-locked domain, the delegation guard refuses
//!   the purge; the domain then stays in pendingDelete (so nobody can register the name its
//!   hosts live under), the purge is retried every `purge_hold_hours`, and each time both
//!   sponsors get a poll message and the log a warning (`rgp:purgeHeld` in the history);
//! * a timed unlock ends in the relock.
//!
//! Each step happens *at its due time*, not at the time it is noticed, so a late scheduler
//! gives the same dates as a punctual one. Each step is a [`Change`] of its own and passes the
//! delegation guard like any command.

use epp_proto::domain::DomainStatus as DS;
use epp_proto::Timestamp;

use crate::change::{Change, Who};
use crate::error::CoreError;
use crate::model::*;
use crate::registry::{Registry, MAX_ATTEMPTS};
use crate::store::{Store, StoreError, StoreTx};

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

    /// Applies one step (other than the purge) in memory. Returns the history op name.
    fn apply_step(
        &self,
        d: &mut Domain,
        step: Step,
        at: Timestamp,
    ) -> Result<&'static str, CoreError> {
        match step {
            Step::AutoApprove => {
                crate::transfer::approve(d, "serverApproved", at, &self.domain_completion(at)?)?;
                Ok("transfer:serverApproved")
            }
            Step::Expire => {
                d.grace.retain(|g| g.until > at);
                if self.cfg.auto_renew || d.registry_locked() {
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

    /// When a held purge is tried again.
    fn purge_retry(&self, now: Timestamp) -> Timestamp {
        now + chrono::TimeDelta::hours(i64::from(self.cfg.purge_hold_hours.max(1)))
    }

    /// The domain as it is at `now` without writing anything (for read-only commands and the
    /// public services); `None` if it has been purged by then. A purge the delegation guard
    /// would refuse is shown held, as the scheduler will leave it (only then is the store
    /// asked, in a read-only transaction of its own).
    pub(crate) async fn settle_view(
        &self,
        mut d: Domain,
        now: Timestamp,
    ) -> Result<Option<Domain>, CoreError> {
        while let Some((at, step)) = self.next_step(&d).filter(|(t, _)| *t <= now) {
            if step == Step::Purge {
                let who = self.system_who(at);
                let mut tx = self.store.begin(false).await?;
                let ch = self.purge_change(&mut tx, &who, &d, "rgp:purge").await?;
                if !crate::guard::would_refuse(&mut tx, ch).await? {
                    return Ok(None);
                }
                if let Some(r) = d.rgp.as_mut() {
                    r.until = self.purge_retry(now);
                }
                continue;
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
                let mut ch = self.purge_change(tx, &who, &d, "rgp:purge").await?;
                Self::notify(
                    &mut ch,
                    &d.cl_id,
                    format!("Domain {} was purged.", d.name),
                    None,
                );
                match self.apply(tx, ch).await {
                    Ok(_) => return Ok(None),
                    Err(CoreError::RegistryLocked { domain, .. }) => {
                        d = self.hold_purge(tx, &who, d, &domain, now).await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let before = d.clone();
            let op = self.apply_step(&mut d, step, at)?;
            let mut ch = self.change(&who);
            match step {
                Step::Relock => {
                    let hosts = self.lock_host_writes(tx, &mut ch, &d, op).await?;
                    if let Some(l) = d.registry_lock.as_mut() {
                        l.hosts = hosts;
                    }
                    let msg = format!(
                        "Registry lock of {}: the timed unlock ended; the domain is locked again.",
                        d.name
                    );
                    let req = d.registry_lock.as_ref().map(|l| l.request_id);
                    self.lock_notice(tx, &mut ch, &d.cl_id, req, msg).await?;
                }
                Step::AutoApprove => {
                    self.move_subordinate_hosts(tx, &mut ch, &d.name, &d.cl_id)
                        .await?;
                    if let Some(t) = d.transfer.clone() {
                        let payload = PollPayload::DomainTransfer {
                            name: d.name.clone(),
                            transfer: t.clone(),
                        };
                        let msg = format!("Transfer of {} approved by the registry.", d.name);
                        Self::notify(&mut ch, &t.re_id, msg.clone(), Some(payload.clone()));
                        Self::notify(&mut ch, &t.ac_id, msg, Some(payload));
                    }
                }
                Step::Expire if op == "domain:expire" => {
                    let msg = format!(
                        "Domain {} expired and was deleted; it is in redemption.",
                        d.name
                    );
                    Self::notify(&mut ch, &d.cl_id, msg, None);
                }
                Step::Expire if !self.cfg.auto_renew => {
                    let msg = format!(
                        "Domain {} reached its expiry date while registry-locked: it was \
                         renewed for a year instead of deleted.",
                        d.name
                    );
                    tracing::warn!(domain = %d.name, "registry-locked domain renewed at expiry");
                    Self::notify(&mut ch, &d.cl_id, msg, None);
                }
                _ => {}
            }
            // Written after the relock's host writes so that the lock record lists them.
            self.write_domain(&mut ch, op, Some(before), Some(d.clone()));
            self.apply(tx, ch).await?;
        }
        Ok(Some(d))
    }

    /// Keeps `d` in pendingDelete because purging it would change the delegation of the
    /// registry-locked `locked`: retried later, both sponsors told, operators warned.
    async fn hold_purge(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        d: Domain,
        locked: &str,
        now: Timestamp,
    ) -> Result<Domain, CoreError> {
        let retry = self.purge_retry(now);
        let mut after = d.clone();
        if let Some(r) = after.rgp.as_mut() {
            r.until = retry;
        }
        tracing::warn!(
            domain = %d.name,
            locked_domain = %locked,
            retry = %retry,
            "purge held: a subordinate host is a name server of a registry-locked domain"
        );
        let mut ch = self.change(who);
        Self::notify(
            &mut ch,
            &d.cl_id,
            format!(
                "Domain {} is due to be purged, but a host under it is a name server of the \
                 registry-locked domain {locked}: it stays in pendingDelete until that \
                 delegation no longer uses it.",
                d.name
            ),
            None,
        );
        if let Some(l) = tx.domain_get(locked, false).await? {
            if l.cl_id != d.cl_id {
                Self::notify(
                    &mut ch,
                    &l.cl_id,
                    format!(
                        "The registry-locked domain {locked} uses a name server under {}, which \
                         is due to be purged; the purge is held. Move the delegation off it.",
                        d.name
                    ),
                    None,
                );
            }
        }
        self.write_domain(&mut ch, "rgp:purgeHeld", Some(d), Some(after.clone()));
        self.apply(tx, ch).await?;
        Ok(after)
    }

    /// The change that removes a domain for good, with its subordinate hosts (their links
    /// from other domains go too; the guard journals those domains' new delegations).
    pub(crate) async fn purge_change(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        d: &Domain,
        op: &'static str,
    ) -> Result<Change, CoreError> {
        let mut ch = self.change(who);
        for h in tx.hosts_under(&d.name).await? {
            ch.host("host:purgedWithDomain", Some(h), None);
        }
        self.write_domain(&mut ch, op, Some(d.clone()), None);
        Ok(ch)
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
            Self::approve_contact_transfer(&mut c, at);
            let mut ch = self.change(&who);
            if let Some(t) = c.transfer.clone() {
                let payload = PollPayload::ContactTransfer {
                    id: c.handle.clone(),
                    transfer: t.clone(),
                };
                let msg = format!("Transfer of contact {} approved by the registry.", c.handle);
                Self::notify(&mut ch, &t.re_id, msg.clone(), Some(payload.clone()));
                Self::notify(&mut ch, &t.ac_id, msg, Some(payload));
            }
            self.write_contact(
                &mut ch,
                "transfer:serverApproved",
                Some(before),
                Some(c.clone()),
            );
            self.apply(tx, ch).await?;
        }
        Ok(c)
    }

    pub(crate) fn settle_contact_view(&self, mut c: Contact, now: Timestamp) -> Contact {
        if let Some(at) = self.next_due_contact(&c).filter(|t| *t <= now) {
            Self::approve_contact_transfer(&mut c, at);
        }
        c
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
        self.settle_view(d, who.now)
            .await?
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

    // ---- the scheduler ------------------------------------------------------------------

    /// Runs every time-driven step due at `now`; returns how many objects it touched.
    /// Each object is its own transaction; a failure is logged and the object retried next time.
    pub async fn run_due(&self, now: Timestamp) -> Result<usize, CoreError> {
        const BATCH: u32 = 500;
        let mut done = 0;
        for name in self.store.due_domains(now, BATCH).await? {
            match self.run_due_domain(&name, now).await {
                Ok(()) => done += 1,
                Err(e) => tracing::error!(domain = %name, error = %e, "scheduled step failed"),
            }
        }
        for id in self.store.due_contacts(now, BATCH).await? {
            match self.run_due_contact(&id, now).await {
                Ok(()) => done += 1,
                Err(e) => tracing::error!(contact = %id, error = %e, "scheduled step failed"),
            }
        }
        for id in self.store.due_lock_requests(now, BATCH).await? {
            match self.expire_lock_request(id, now).await {
                Ok(()) => done += 1,
                Err(e) => tracing::error!(lock_request = id, error = %e, "scheduled step failed"),
            }
        }
        Ok(done)
    }

    async fn run_due_domain(&self, name: &str, now: Timestamp) -> Result<(), CoreError> {
        self.retry_conflicts(|| async {
            let mut tx = self.store.begin(true).await?;
            if let Some(d) = tx.domain_get(name, true).await? {
                self.settle_domain(&mut tx, d, now).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn run_due_contact(&self, id: &str, now: Timestamp) -> Result<(), CoreError> {
        self.retry_conflicts(|| async {
            let mut tx = self.store.begin(true).await?;
            if let Some(c) = tx.contact_get(id, true).await? {
                self.settle_contact(&mut tx, c, now).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn retry_conflicts<F, Fut>(&self, mut f: F) -> Result<(), CoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), CoreError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match f().await {
                Err(CoreError::Store(StoreError::Conflict(_))) if attempt < MAX_ATTEMPTS => {}
                other => return other,
            }
        }
    }
}
