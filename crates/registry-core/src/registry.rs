//! The entry point the frontend calls: [`Registry::execute`] takes one object or poll command
//! with the acting registrar and runs it as one store transaction; [`Registry::run_due`] runs
//! the time-driven steps (transfer auto-approval, expiry and auto-renew, redemption, purge).
//!
//! Every mutation writes a history row (who, from where, clTRID/svTRID, before and after) and,
//! when it changes what the zone says, a delegation journal entry, in the same transaction.
//! Time-driven steps that are due are also applied whenever a command loads the object, so a
//! command never sees a state the scheduler simply has not caught up with yet.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{Months, TimeDelta};
use epp_proto::ext::ResponseExtension;
use epp_proto::response::MsgQ;
use epp_proto::session::Poll;
use epp_proto::{
    ClTrid, ClientId, Command, CommandFrame, ResponseData, ResultCode, SvTrid, Timestamp,
};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::CoreError;
use crate::model::*;
use crate::store::{Store, StoreError, StoreTx};

/// The registrar acting, and the transaction the action belongs to.
#[derive(Debug, Clone)]
pub struct Actor {
    pub cl_id: ClientId,
    pub source_ip: IpAddr,
    pub cert_fingerprint: Option<String>,
    pub cl_trid: Option<ClTrid>,
    pub sv_trid: SvTrid,
}

/// A successful command's result: 1000, 1001 (action pending), 1300 (no messages) or 1301
/// (ack to dequeue), with its response data, extensions (rgp/secDNS: the frontend sends them
/// only to sessions that asked for them) and message queue state.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub code: ResultCode,
    pub res_data: Option<ResponseData>,
    pub extensions: Vec<ResponseExtension>,
    pub msg_q: Option<MsgQ>,
}

impl Outcome {
    pub(crate) fn ok(res_data: Option<ResponseData>) -> Self {
        Self {
            code: ResultCode::Success,
            res_data,
            extensions: Vec::new(),
            msg_q: None,
        }
    }

    pub(crate) fn pending(res_data: Option<ResponseData>) -> Self {
        Self {
            code: ResultCode::SuccessActionPending,
            res_data,
            extensions: Vec::new(),
            msg_q: None,
        }
    }
}

/// Who a mutation is recorded against: a registrar's command or the registry itself.
#[derive(Debug, Clone)]
pub(crate) struct Who {
    pub cl_id: String,
    pub source_ip: Option<String>,
    pub cert: Option<String>,
    pub cl_trid: Option<String>,
    pub sv_trid: String,
    pub now: Timestamp,
}

/// A registry object named for an operator action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    Domain(String),
    Host(String),
    Contact(String),
}

/// The registry: policy + store + clock.
#[derive(Debug)]
pub struct Registry<S: Store> {
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cfg: Config,
    sys_seq: AtomicU64,
}

const MAX_ATTEMPTS: u32 = 5;

impl<S: Store> Registry<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>, config: Config) -> Self {
        Self {
            store,
            clock,
            cfg: config,
            sys_seq: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs one command (domain, host, contact or poll) for `actor`, in one transaction,
    /// retried a few times when the store reports a lost race.
    pub async fn execute(&self, actor: &Actor, cmd: &CommandFrame) -> Result<Outcome, CoreError> {
        let who = Who {
            cl_id: actor.cl_id.as_str().to_owned(),
            source_ip: Some(actor.source_ip.to_string()),
            cert: actor.cert_fingerprint.clone(),
            cl_trid: actor.cl_trid.as_ref().map(|t| t.as_str().to_owned()),
            sv_trid: actor.sv_trid.as_str().to_owned(),
            now: self.clock.now(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.dispatch(&who, cmd).await {
                Err(CoreError::Store(StoreError::Conflict(why))) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, %why, command = cmd.command.name(), "store conflict, retrying");
                }
                Err(e @ CoreError::Store(StoreError::Conflict(_) | StoreError::Backend(_)))
                | Err(e @ CoreError::Corrupt(_)) => {
                    tracing::error!(error = %e, command = cmd.command.name(), sv_trid = %who.sv_trid, "command failed");
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    async fn dispatch(&self, who: &Who, cmd: &CommandFrame) -> Result<Outcome, CoreError> {
        use epp_proto::contact::ContactCommand as C;
        use epp_proto::domain::DomainCommand as D;
        use epp_proto::ext::CommandExtension as X;
        use epp_proto::host::HostCommand as H;
        let mut sec_create = None;
        let mut sec_update = None;
        let mut rgp = None;
        let mut lock = None;
        for ext in &cmd.extensions {
            match ext {
                X::SecDnsCreate(c) => sec_create = Some(c),
                X::SecDnsUpdate(u) => sec_update = Some(u),
                X::RgpUpdate(r) => rgp = Some(r),
                X::RegistryLock(l) => lock = Some(l),
            }
        }
        let allowed = match &cmd.command {
            Command::Domain(D::Create(_)) => {
                sec_update.is_none() && rgp.is_none() && lock.is_none()
            }
            Command::Domain(D::Update(_)) => sec_create.is_none(),
            _ => cmd.extensions.is_empty(),
        };
        if !allowed {
            return Err(CoreError::CommandUse("extension not valid here"));
        }
        match &cmd.command {
            Command::Login(_) | Command::Logout => Err(CoreError::CommandUse("session command")),
            Command::Poll(Poll::Request) => self.poll_request(who).await,
            Command::Poll(Poll::Acknowledge(id)) => self.poll_ack(who, id.as_str()).await,
            Command::Domain(d) => match d {
                D::Check(names) => self.domain_check(names).await,
                D::Info(i) => self.domain_info(who, i).await,
                D::Create(c) => self.domain_create(who, c, sec_create).await,
                D::Delete(n) => self.domain_delete(who, n).await,
                D::Renew(r) => self.domain_renew(who, r).await,
                D::Transfer(t) => self.domain_transfer(who, t).await,
                D::Update(u) => self.domain_update(who, u, sec_update, rgp, lock).await,
            },
            Command::Host(h) => match h {
                H::Check(names) => self.host_check(names).await,
                H::Info(n) => self.host_info(n).await,
                H::Create(c) => self.host_create(who, c).await,
                H::Delete(n) => self.host_delete(who, n).await,
                H::Update(u) => self.host_update(who, u).await,
            },
            Command::Contact(c) => match c {
                C::Check(ids) => self.contact_check(ids).await,
                C::Info { id, auth_info } => self.contact_info(who, id, auth_info.as_ref()).await,
                C::Create(c) => self.contact_create(who, c).await,
                C::Delete(id) => self.contact_delete(who, id).await,
                C::Transfer { op, id, auth_info } => {
                    self.contact_transfer(who, *op, id, auth_info.as_ref())
                        .await
                }
                C::Update(u) => self.contact_update(who, u).await,
            },
        }
    }

    // ---- shared helpers -------------------------------------------------------------------

    pub(crate) fn system_who(&self, at: Timestamp) -> Who {
        let n = self.sys_seq.fetch_add(1, Ordering::Relaxed);
        Who {
            cl_id: self.cfg.registry_cl_id.clone(),
            source_ip: None,
            cert: None,
            cl_trid: None,
            sv_trid: format!("SYS-{}-{}-{n}", at.timestamp_micros(), std::process::id()),
            now: at,
        }
    }

    pub(crate) fn roid(&self, prefix: char, id: i64) -> String {
        format!("{prefix}{id}-{}", self.cfg.roid_suffix)
    }

    pub(crate) fn add_months(t: Timestamp, months: u32) -> Result<Timestamp, CoreError> {
        t.checked_add_months(Months::new(months))
            .ok_or(CoreError::Range("date out of range"))
    }

    pub(crate) fn max_expiry(&self, now: Timestamp) -> Result<Timestamp, CoreError> {
        Self::add_months(now, self.cfg.max_registration_years.saturating_mul(12))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record<T: Serialize>(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        object_type: &str,
        key: &str,
        roid: String,
        op: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<(), CoreError> {
        let h = HistoryEntry {
            id: 0,
            object_type: object_type.to_owned(),
            object_key: key.to_owned(),
            roid,
            op: op.to_owned(),
            cl_id: who.cl_id.clone(),
            source_ip: who.source_ip.clone(),
            cert_fingerprint: who.cert.clone(),
            cl_trid: who.cl_trid.clone(),
            sv_trid: who.sv_trid.clone(),
            at: who.now,
            before: before.map(redacted_json),
            after: after.map(redacted_json),
        };
        tx.history_append(&h).await?;
        Ok(())
    }

    pub(crate) async fn journal_domain(
        &self,
        tx: &mut S::Tx,
        at: Timestamp,
        name: &str,
        d: &Delegation,
    ) -> Result<(), CoreError> {
        let data = serde_json::to_string(d).map_err(|e| CoreError::Corrupt(e.to_string()))?;
        tx.journal_append(&JournalEntry {
            id: 0,
            at,
            kind: "domain".into(),
            name: name.to_owned(),
            data,
        })
        .await?;
        Ok(())
    }

    pub(crate) async fn journal_host(
        &self,
        tx: &mut S::Tx,
        at: Timestamp,
        name: &str,
        addrs: &[IpAddr],
    ) -> Result<(), CoreError> {
        let data = serde_json::json!({ "addrs": addrs }).to_string();
        tx.journal_append(&JournalEntry {
            id: 0,
            at,
            kind: "host".into(),
            name: name.to_owned(),
            data,
        })
        .await?;
        Ok(())
    }

    pub(crate) fn absent_delegation() -> Delegation {
        Delegation {
            in_zone: false,
            ns: Vec::new(),
            ds: Vec::new(),
        }
    }

    /// Writes a changed domain: the row, a history entry, and a journal entry if the zone
    /// must change.
    pub(crate) async fn save_domain(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        op: &str,
        before: &Domain,
        after: &Domain,
    ) -> Result<(), CoreError> {
        tx.domain_update(after, self.next_due_domain(after)).await?;
        self.record(
            tx,
            who,
            "domain",
            &after.name,
            self.roid('D', after.id),
            op,
            Some(before),
            Some(after),
        )
        .await?;
        let (b, a) = (before.delegation(), after.delegation());
        if b != a {
            self.journal_domain(tx, who.now, &after.name, &a).await?;
        }
        Ok(())
    }

    pub(crate) async fn save_host(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        op: &str,
        before: &Host,
        after: &Host,
    ) -> Result<(), CoreError> {
        tx.host_update(after).await?;
        self.record(
            tx,
            who,
            "host",
            &after.name,
            self.roid('H', after.id),
            op,
            Some(before),
            Some(after),
        )
        .await
    }

    pub(crate) async fn save_contact(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        op: &str,
        before: &Contact,
        after: &Contact,
    ) -> Result<(), CoreError> {
        tx.contact_update(after, self.next_due_contact(after))
            .await?;
        self.record(
            tx,
            who,
            "contact",
            &after.handle,
            self.roid('C', after.id),
            op,
            Some(before),
            Some(after),
        )
        .await
    }

    pub(crate) async fn notify(
        &self,
        tx: &mut S::Tx,
        cl_id: &str,
        at: Timestamp,
        msg: String,
        payload: Option<PollPayload>,
    ) -> Result<(), CoreError> {
        tx.poll_push(&PollMessage {
            id: 0,
            cl_id: cl_id.to_owned(),
            q_date: at,
            msg,
            payload,
        })
        .await?;
        Ok(())
    }

    // ---- poll -----------------------------------------------------------------------------

    async fn poll_request(&self, who: &Who) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(false).await?;
        let head = tx.poll_head(&who.cl_id).await?;
        drop(tx);
        let Some((m, count)) = head else {
            return Ok(Outcome {
                code: ResultCode::SuccessNoMessages,
                res_data: None,
                extensions: Vec::new(),
                msg_q: None,
            });
        };
        let res_data = match &m.payload {
            None => None,
            Some(PollPayload::DomainTransfer { name, transfer }) => Some(
                ResponseData::DomainTransfer(crate::convert::transfer_data(name, transfer)?),
            ),
            Some(PollPayload::ContactTransfer { id, transfer }) => {
                let mut t = crate::convert::transfer_data(id, transfer)?;
                t.ex_date = None;
                Some(ResponseData::ContactTransfer(t))
            }
        };
        let msg_q = MsgQ {
            count,
            id: crate::convert::msg_id(m.id)?,
            q_date: Some(m.q_date),
            msg: Some(m.msg),
            lang: None,
        };
        Ok(Outcome {
            code: ResultCode::SuccessAckToDequeue,
            res_data,
            extensions: Vec::new(),
            msg_q: Some(msg_q),
        })
    }

    async fn poll_ack(&self, who: &Who, id: &str) -> Result<Outcome, CoreError> {
        let Ok(n) = id.parse::<i64>() else {
            return Err(CoreError::NotFound("no such message"));
        };
        let mut tx = self.store.begin(true).await?;
        let Some(left) = tx.poll_ack(&who.cl_id, n).await? else {
            return Err(CoreError::NotFound("no such message"));
        };
        tx.commit().await?;
        let msg_q = MsgQ {
            count: left,
            id: crate::convert::msg_id(n)?,
            q_date: None,
            msg: None,
            lang: None,
        };
        Ok(Outcome {
            code: ResultCode::Success,
            res_data: None,
            extensions: Vec::new(),
            msg_q: Some(msg_q),
        })
    }

    // ---- operator actions ------------------------------------------------------------------

    /// Adds and removes `server*` statuses (the registry's own) on an object, recorded against
    /// the registry, with a poll message to the sponsor. Tokens that are not `server*`
    /// statuses of the object type are refused (2306).
    pub async fn set_server_statuses(
        &self,
        object: &ObjectRef,
        add: &[&str],
        rem: &[&str],
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        let who = self.system_who(now);
        let server_only = |s: &&str| s.starts_with("server");
        if !add.iter().all(server_only) || !rem.iter().all(server_only) {
            return Err(CoreError::Policy("only server statuses"));
        }
        let mut tx = self.store.begin(true).await?;
        let (sponsor, label) = match object {
            ObjectRef::Domain(name) => {
                if add
                    .iter()
                    .chain(rem)
                    .any(|s| epp_proto::domain::DomainStatus::from_token(s).is_none())
                {
                    return Err(CoreError::Policy("not a domain status"));
                }
                let d = self.load_domain_w(&mut tx, &who, name).await?;
                let mut after = d.clone();
                add.iter().for_each(|s| add_status(&mut after.statuses, s));
                rem.iter()
                    .for_each(|s| remove_status(&mut after.statuses, s));
                self.save_domain(&mut tx, &who, "registry:status", &d, &after)
                    .await?;
                (d.cl_id, format!("domain {name}"))
            }
            ObjectRef::Host(name) => {
                if add
                    .iter()
                    .chain(rem)
                    .any(|s| epp_proto::host::HostStatus::from_token(s).is_none())
                {
                    return Err(CoreError::Policy("not a host status"));
                }
                let h = tx
                    .host_get(name, true)
                    .await?
                    .ok_or(CoreError::NotFound("host"))?;
                let mut after = h.clone();
                add.iter().for_each(|s| add_status(&mut after.statuses, s));
                rem.iter()
                    .for_each(|s| remove_status(&mut after.statuses, s));
                self.save_host(&mut tx, &who, "registry:status", &h, &after)
                    .await?;
                (h.cl_id, format!("host {name}"))
            }
            ObjectRef::Contact(id) => {
                if add
                    .iter()
                    .chain(rem)
                    .any(|s| epp_proto::contact::ContactStatus::from_token(s).is_none())
                {
                    return Err(CoreError::Policy("not a contact status"));
                }
                let c = self.load_contact_w(&mut tx, &who, id).await?;
                let mut after = c.clone();
                add.iter().for_each(|s| add_status(&mut after.statuses, s));
                rem.iter()
                    .for_each(|s| remove_status(&mut after.statuses, s));
                self.save_contact(&mut tx, &who, "registry:status", &c, &after)
                    .await?;
                (c.cl_id, format!("contact {id}"))
            }
        };
        let msg = format!(
            "Registry changed the status of {label}: added [{}], removed [{}]",
            add.join(" "),
            rem.join(" ")
        );
        self.notify(&mut tx, &sponsor, now, msg, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registry-initiated delete (an operator's action, e.g. on a court order): the domain
    /// leaves the zone and enters redemption (`purge_now`: is removed at once, with its
    /// subordinate hosts), whatever client statuses it has; a pending transfer is cancelled.
    /// Refused (2304) while serverDeleteProhibited is set (a registry lock sets it: release
    /// the lock or remove the status first) or when the domain is already pendingDelete.
    /// The sponsor gets a poll message with `reason`.
    pub async fn registry_delete_domain(
        &self,
        operator: &str,
        name: &str,
        reason: &str,
        purge_now: bool,
    ) -> Result<(), CoreError> {
        use epp_proto::domain::DomainStatus as DS;
        let who = self.operator_who(operator);
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, &who, name).await?;
        if d.has(DS::ServerDeleteProhibited) {
            return Err(CoreError::StatusProhibits("serverDeleteProhibited"));
        }
        if d.has(DS::PendingDelete) {
            return Err(CoreError::StatusProhibits("pendingDelete"));
        }
        let mut after = d.clone();
        if let Some(tr) = d.transfer.as_ref().filter(|t| t.is_pending()) {
            let gaining = tr.re_id.clone();
            Self::end_transfer(
                &mut after.transfer,
                &mut after.statuses,
                "serverCancelled",
                who.now,
            );
            let msg = format!(
                "Transfer of {} cancelled: the registry deleted the domain.",
                d.name
            );
            let payload = after
                .transfer
                .clone()
                .map(|transfer| PollPayload::DomainTransfer {
                    name: d.name.clone(),
                    transfer,
                });
            self.notify(&mut tx, &gaining, who.now, msg, payload)
                .await?;
        }
        let msg = format!("Domain {} was deleted by the registry: {reason}", d.name);
        if purge_now {
            self.purge_domain(&mut tx, &who, &after, "registry:purge")
                .await?;
        } else {
            add_status(&mut after.statuses, DS::PendingDelete.as_str());
            after.grace.clear();
            after.rgp = Some(RgpRec {
                state: RgpState::RedemptionPeriod,
                until: who.now + Self::days(self.cfg.redemption_days),
            });
            after.up_id = Some(who.cl_id.clone());
            after.up_date = Some(who.now);
            self.save_domain(&mut tx, &who, "registry:delete", &d, &after)
                .await?;
        }
        self.notify(&mut tx, &d.cl_id, who.now, msg, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The history of one object (`domain`, `host` or `contact`), oldest first.
    pub async fn history(&self, object: &ObjectRef) -> Result<Vec<HistoryEntry>, CoreError> {
        let (t, k) = match object {
            ObjectRef::Domain(n) => ("domain", n),
            ObjectRef::Host(n) => ("host", n),
            ObjectRef::Contact(n) => ("contact", n),
        };
        Ok(self.store.history(t, k).await?)
    }

    // ---- scheduler ----------------------------------------------------------------------

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
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = async {
                let mut tx = self.store.begin(true).await?;
                if let Some(d) = tx.domain_get(name, true).await? {
                    self.settle_domain(&mut tx, d, now).await?;
                }
                tx.commit().await?;
                Ok::<(), CoreError>(())
            }
            .await;
            match r {
                Err(CoreError::Store(StoreError::Conflict(_))) if attempt < MAX_ATTEMPTS => {}
                other => return other,
            }
        }
    }

    async fn run_due_contact(&self, id: &str, now: Timestamp) -> Result<(), CoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = async {
                let mut tx = self.store.begin(true).await?;
                if let Some(c) = tx.contact_get(id, true).await? {
                    self.settle_contact(&mut tx, c, now).await?;
                }
                tx.commit().await?;
                Ok::<(), CoreError>(())
            }
            .await;
            match r {
                Err(CoreError::Store(StoreError::Conflict(_))) if attempt < MAX_ATTEMPTS => {}
                other => return other,
            }
        }
    }

    /// Calls [`Registry::run_due`] every `every` on the registry's clock until the task is
    /// aborted.
    pub fn spawn_scheduler(
        self: Arc<Self>,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = self.clock.now();
                match self.run_due(now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(objects = n, "scheduled steps run"),
                    Err(e) => tracing::error!(error = %e, "scheduler pass failed"),
                }
            }
        })
    }

    pub(crate) fn days(d: u32) -> TimeDelta {
        Config::days(d)
    }
}
