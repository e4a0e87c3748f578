//! The entry point the frontend calls: [`Registry::execute`] takes one object or poll command
//! with the acting registrar and runs it as one store transaction; [`Registry::run_due`]
//! (crate::lifecycle) runs the time-driven steps.
//!
//! Every command follows one pipeline: load (in a transaction, settling time-driven steps that
//! are due, so no command sees a state the scheduler has not caught up with), decide (the
//! command's module: `domain/update.rs`, `host/create.rs`, …), describe the whole effect as
//! one [`Change`], and [`Registry::commit`] it: the delegation guard checks it and derives its
//! journal entries, the store applies it in one call, the transaction commits. History rows,
//! journal entries, poll messages and mail all travel in the change.

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

use crate::change::{Applied, Change, HistoryNote, Who};
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
    /// The resData for a session that did not select an extension whose data `res_data` is
    /// ([`ResponseExtension::owns_res_data`]): a change poll message (RFC 8590) carries the
    /// object's infData, and is answered without the extension as before, with its transfer
    /// data or none.
    pub plain_res_data: Option<ResponseData>,
}

impl Outcome {
    pub(crate) fn ok(res_data: Option<ResponseData>) -> Self {
        Self {
            code: ResultCode::Success,
            res_data,
            extensions: Vec::new(),
            msg_q: None,
            plain_res_data: None,
        }
    }

    pub(crate) fn pending(res_data: Option<ResponseData>) -> Self {
        Self {
            code: ResultCode::SuccessActionPending,
            res_data,
            extensions: Vec::new(),
            msg_q: None,
            plain_res_data: None,
        }
    }
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
    seq: AtomicU64,
    auth_guard: crate::auth_guard::AuthGuard,
}

pub(crate) const MAX_ATTEMPTS: u32 = 5;

tokio::task_local! {
    /// When the command being executed must have committed, and when it is answered
    /// ([`Registry::execute_by`]).
    static COMMIT_BY: (std::time::Instant, std::time::Instant);
}

/// Whether the running command's commit-by time has passed (false outside `execute_by`).
fn past_commit_by() -> bool {
    COMMIT_BY
        .try_with(|(by, _)| std::time::Instant::now() >= *by)
        .unwrap_or(false)
}

/// How long the database may take to get to the running command's COMMIT: three quarters of
/// the time left before the answer, so that its reply still arrives in time (`None` outside
/// `execute_by`).
fn commit_window() -> Option<std::time::Duration> {
    COMMIT_BY
        .try_with(|(_, answer_by)| answer_by.saturating_duration_since(std::time::Instant::now()))
        .ok()
        .map(|left| left * 3 / 4)
}

/// The resData of a poll message's transfer payload (RFC 5730 section 2.9.2.3).
fn poll_res_data(p: &PollPayload) -> Result<Option<ResponseData>, CoreError> {
    Ok(match p {
        PollPayload::DomainTransfer { name, transfer } => Some(ResponseData::DomainTransfer(
            crate::convert::transfer_data(name, transfer)?,
        )),
        PollPayload::ContactTransfer { id, transfer } => {
            let mut t = crate::convert::transfer_data(id, transfer)?;
            t.ex_date = None;
            Some(ResponseData::ContactTransfer(t))
        }
        PollPayload::Change { .. } => None,
    })
}

impl<S: Store> Registry<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>, config: Config) -> Self {
        Self {
            store,
            clock,
            cfg: config,
            seq: AtomicU64::new(0),
            auth_guard: crate::auth_guard::AuthGuard::default(),
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
    /// retried a few times when the store reports a lost race. A change refused by the
    /// delegation guard is recorded in the locked domain's history.
    pub async fn execute(&self, actor: &Actor, cmd: &CommandFrame) -> Result<Outcome, CoreError> {
        let who = Who {
            cl_id: actor.cl_id.as_str().to_owned(),
            source_ip: Some(actor.source_ip.to_string()),
            cert: actor.cert_fingerprint.clone(),
            cl_trid: actor.cl_trid.as_ref().map(|t| t.as_str().to_owned()),
            sv_trid: actor.sv_trid.as_str().to_owned(),
            now: self.clock.now(),
        };
        // authInfo guessing is bounded here, the one way in for every command.
        let auth_target = crate::auth_guard::AuthTarget::of(&cmd.command);
        if let Some(target) = &auth_target {
            if !self.auth_guard.allows(&who.cl_id, target, who.now) {
                tracing::warn!(
                    cl_id = who.cl_id,
                    object = target.describe(),
                    "authInfo attempt refused: back-off"
                );
                return Err(CoreError::AuthInfoBackoff);
            }
        }
        let r = self
            .retrying(cmd.command.name(), &who.sv_trid, || {
                self.dispatch(&who, cmd)
            })
            .await;
        if let Err(e @ CoreError::RegistryLocked { .. }) = &r {
            self.audit_refusal(&who, cmd.command.name(), e).await;
        }
        if let (Some(target), Err(CoreError::InvalidAuthInfo)) = (&auth_target, &r) {
            self.auth_info_failed(&who, target).await;
        }
        r
    }

    /// Counts a wrong authInfo; tells the object's sponsor when the object's back-off starts.
    async fn auth_info_failed(&self, who: &Who, target: &crate::auth_guard::AuthTarget) {
        let out = self
            .auth_guard
            .failed(&self.cfg.auth_info, &who.cl_id, target, who.now);
        if out.registrar_backoff {
            tracing::warn!(
                cl_id = who.cl_id,
                "authInfo back-off for the registrar: too many wrong authInfo values"
            );
        }
        let Some(until) = out.object_backoff else {
            return;
        };
        let object = target.describe();
        tracing::warn!(cl_id = who.cl_id, object, failures = out.object_failures, %until, "authInfo back-off for the object: too many wrong authInfo values");
        let sponsor = match self.sponsor_of(target).await {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, object, "cannot find the sponsor to tell of authInfo guessing");
                return;
            }
        };
        let msg = format!(
            "{object}: {} wrong authInfo values within {} s, the last from {}; authInfo attempts \
             on it are refused until {}. Consider changing its authInfo.",
            out.object_failures,
            self.cfg.auth_info.window_secs,
            who.cl_id,
            until.format("%Y-%m-%dT%H:%M:%SZ")
        );
        if let Err(e) = self.notify_registrar(&sponsor, msg).await {
            tracing::error!(error = %e, object, "cannot tell the sponsor of authInfo guessing");
        }
    }

    async fn sponsor_of(
        &self,
        target: &crate::auth_guard::AuthTarget,
    ) -> Result<Option<String>, CoreError> {
        let mut tx = self.store.begin(false).await?;
        Ok(match target {
            crate::auth_guard::AuthTarget::Domain(n) => {
                tx.domain_get(n, false).await?.map(|d| d.cl_id)
            }
            crate::auth_guard::AuthTarget::Contact(id) => {
                tx.contact_get(id, false).await?.map(|c| c.cl_id)
            }
        })
    }

    /// [`Registry::execute`] that answers by `deadline`: past `commit_by` (which should leave
    /// the commit some of the time) no transaction is committed and no conflict retried — the
    /// transaction is rolled back and the answer is [`CoreError::Timeout`] (2400); and if the
    /// database has not answered by `deadline`, the command is dropped (its transaction rolls
    /// back) and answered the same. A command answered 2400 is then not applied later, unless
    /// its COMMIT was already on its way to a database that stalled right then.
    pub async fn execute_by(
        &self,
        actor: &Actor,
        cmd: &CommandFrame,
        commit_by: std::time::Instant,
        deadline: std::time::Instant,
    ) -> Result<Outcome, CoreError> {
        let run = COMMIT_BY.scope((commit_by, deadline), self.execute(actor, cmd));
        match tokio::time::timeout_at(deadline.into(), run).await {
            Ok(r) => r,
            Err(_) => {
                tracing::error!(
                    what = cmd.command.name(),
                    sv_trid = actor.sv_trid.as_str(),
                    "command timed out: the database did not answer in time"
                );
                Err(CoreError::Timeout)
            }
        }
    }

    /// Runs `f` again while it loses races (up to [`MAX_ATTEMPTS`], and while there is time);
    /// logs what fails.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        what: &str,
        sv_trid: &str,
        mut f: F,
    ) -> Result<T, CoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, CoreError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match f().await {
                Err(CoreError::Store(StoreError::Conflict(why)))
                    if attempt < MAX_ATTEMPTS && !past_commit_by() =>
                {
                    tracing::debug!(attempt, %why, what, "store conflict, retrying");
                }
                Err(e @ CoreError::Store(StoreError::Conflict(_) | StoreError::Backend(_)))
                | Err(e @ CoreError::Corrupt(_))
                | Err(e @ CoreError::Timeout) => {
                    tracing::error!(error = %e, what, sv_trid, "command failed");
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
                // Only a login carries it, and the frontend handles logins.
                X::LoginSec(_) => return Err(CoreError::CommandUse("extension not valid here")),
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
                D::Update(u) => match (lock, rgp) {
                    (Some(l), _) => self.domain_lock_request(who, u, sec_update, rgp, l).await,
                    (None, Some(r)) => self.domain_restore(who, u, sec_update, r).await,
                    (None, None) => self.domain_update(who, u, sec_update).await,
                },
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

    // ---- the pipeline's shared steps ------------------------------------------------------

    /// An empty change recorded against `who`.
    pub(crate) fn change(&self, who: &Who) -> Change {
        Change::new(who, &self.cfg.roid_suffix)
    }

    /// Gives the sponsors of what `change` touches their change poll messages
    /// ([`crate::change_poll`]), passes it through the delegation guard and applies it, inside
    /// `tx`.
    pub(crate) async fn apply(
        &self,
        tx: &mut S::Tx,
        mut change: Change,
    ) -> Result<Applied, CoreError> {
        if change.is_empty() {
            return Ok(Applied::default());
        }
        self.add_change_polls(tx, &mut change).await?;
        let checked = crate::guard::check(tx, change).await?;
        Ok(tx.apply(&checked).await?)
    }

    /// [`Registry::apply`], then commit.
    pub(crate) async fn commit(&self, mut tx: S::Tx, change: Change) -> Result<Applied, CoreError> {
        let applied = self.apply(&mut tx, change).await?;
        // Out of time: roll back (dropping the transaction) rather than commit a change the
        // client will have been told failed.
        if past_commit_by() {
            drop(tx);
            return Err(CoreError::Timeout);
        }
        match commit_window() {
            Some(within) => tx.commit_within(within).await?,
            None => tx.commit().await?,
        }
        Ok(applied)
    }

    /// A domain write with its next due step.
    pub(crate) fn write_domain(
        &self,
        ch: &mut Change,
        op: &'static str,
        before: Option<Domain>,
        after: Option<Domain>,
    ) {
        let next_due = after.as_ref().and_then(|d| self.next_due_domain(d));
        ch.objects
            .push(crate::change::ObjectWrite::Domain(crate::change::Write {
                op,
                before,
                after,
                next_due,
            }));
    }

    /// A contact write with its next due step.
    pub(crate) fn write_contact(
        &self,
        ch: &mut Change,
        op: &'static str,
        before: Option<Contact>,
        after: Option<Contact>,
    ) {
        let next_due = after.as_ref().and_then(|c| self.next_due_contact(c));
        ch.objects
            .push(crate::change::ObjectWrite::Contact(crate::change::Write {
                op,
                before,
                after,
                next_due,
            }));
    }

    pub(crate) fn notify(ch: &mut Change, cl_id: &str, msg: String, payload: Option<PollPayload>) {
        let q_date = ch.who.now;
        ch.poll(PollMessage {
            id: 0,
            cl_id: cl_id.to_owned(),
            q_date,
            msg,
            payload,
        });
    }

    /// Records in the locked domain's history that the guard refused a change (in a
    /// transaction of its own: the refused one was rolled back). Best effort: a failure here
    /// is logged, the refusal stands.
    pub(crate) async fn audit_refusal(&self, who: &Who, attempted: &str, err: &CoreError) {
        let CoreError::RegistryLocked { reason, domain } = err else {
            return;
        };
        let r = async {
            let mut tx = self.store.begin(true).await?;
            let roid = match tx.domain_get(domain, false).await? {
                Some(d) => self.roid('D', d.id),
                None => String::new(),
            };
            let mut ch = self.change(who);
            ch.note(HistoryNote {
                object_type: "domain",
                object_key: domain.clone(),
                roid,
                op: "lock:changeRefused",
                detail: Some(
                    serde_json::json!({ "attempted": attempted, "reason": reason }).to_string(),
                ),
            });
            ch.reason = Some(reason.to_string());
            self.commit(tx, ch).await?;
            Ok::<(), CoreError>(())
        }
        .await;
        if let Err(e) = r {
            tracing::error!(error = %e, domain = %domain, "could not record a refused change");
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// The registry acting on its own (scheduler, mail worker) at `at`.
    pub(crate) fn system_who(&self, at: Timestamp) -> Who {
        let n = self.next_seq();
        Who {
            cl_id: self.cfg.registry_cl_id.clone(),
            source_ip: None,
            cert: None,
            cl_trid: None,
            sv_trid: format!("SYS-{}-{}-{n}", at.timestamp_micros(), std::process::id()),
            now: at,
        }
    }

    /// An operator's action (`operator:NAME` in history rows).
    pub(crate) fn operator_who(&self, operator: &str) -> Who {
        let now = self.clock.now();
        let n = self.next_seq();
        Who {
            cl_id: format!("operator:{operator}"),
            source_ip: None,
            cert: None,
            cl_trid: None,
            sv_trid: format!("ADM-{}-{}-{n}", now.timestamp_micros(), std::process::id()),
            now,
        }
    }

    /// The clID an object shows for `who` (`upID`): a registrar's own, or the registry's for an
    /// operator's action (the operator is named in the history, not over EPP).
    pub(crate) fn epp_client_id(&self, who: &Who) -> String {
        if who.cl_id.starts_with("operator:") {
            self.cfg.registry_cl_id.clone()
        } else {
            who.cl_id.clone()
        }
    }

    pub(crate) fn roid(&self, prefix: char, id: i64) -> String {
        crate::model::roid(prefix, id, &self.cfg.roid_suffix)
    }

    pub(crate) fn add_months(t: Timestamp, months: u32) -> Result<Timestamp, CoreError> {
        t.checked_add_months(Months::new(months))
            .ok_or(CoreError::Range("date out of range"))
    }

    pub(crate) fn max_expiry(&self, now: Timestamp) -> Result<Timestamp, CoreError> {
        Self::add_months(now, self.cfg.max_registration_years.saturating_mul(12))
    }

    pub(crate) fn days(d: u32) -> TimeDelta {
        Config::days(d)
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
                plain_res_data: None,
            });
        };
        let (res_data, extensions, plain_res_data) = match &m.payload {
            Some(PollPayload::Change { change, plain }) => {
                let plain = plain.as_deref().map(poll_res_data).transpose()?.flatten();
                let (data, ext) = self.change_poll_data(change)?;
                (Some(data), vec![ext], plain)
            }
            other => (
                other.as_ref().map(poll_res_data).transpose()?.flatten(),
                Vec::new(),
                None,
            ),
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
            extensions,
            msg_q: Some(msg_q),
            plain_res_data,
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
            plain_res_data: None,
        })
    }

    /// Queues a poll message from the registry to a registrar (certificate expiry warnings and
    /// other notices that concern no registry object).
    pub async fn notify_registrar(&self, cl_id: &str, msg: String) -> Result<(), CoreError> {
        let who = self.system_who(self.clock.now());
        let tx = self.store.begin(true).await?;
        let mut ch = self.change(&who);
        Self::notify(&mut ch, cl_id, msg, None);
        self.commit(tx, ch).await.map(drop)
    }

    /// The domains registry-locked now, each with the delegation its lock holds (what the
    /// publisher check compares every batch against).
    pub async fn lock_baselines(&self) -> Result<Vec<crate::delegation::LockBaseline>, CoreError> {
        let rows = self.store.lock_history().await?;
        crate::delegation::lock_baselines(&rows).map_err(CoreError::Corrupt)
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
}
