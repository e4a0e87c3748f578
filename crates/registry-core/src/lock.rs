//! Registry lock with out-of-band verification (issue #5).
//!
//! A registrar (over EPP: an empty `<domain:update>` with `<rl:lock/>` or `<rl:unlock/>`) or
//! an operator on its behalf files a request. The request gets a one-time confirmation code,
//! mailed to the registrar's designated lock contact through the outbox (never inside the
//! request's transaction, never over the EPP session). The operator calls the contact back on
//! the number on file, reads the code from them and enters it ([`Registry::lock_verify`]).
//!
//! * Codes: 10 characters from a 32-symbol alphabet (50 bits), stored only as
//!   `SHA-256(salt ‖ code)`, single use, valid `lock.code_ttl_hours` (24 h), at most
//!   `lock.max_attempts` (3) tries; a wrong or expired code changes nothing on the domain.
//! * A request whose code mail has not gone out yet is in state `codeNotSent` and cannot be
//!   verified; an unreachable relay only delays the mail (the worker retries with back-off).
//! * Applying a lock adds serverUpdateProhibited, serverDeleteProhibited and
//!   serverTransferProhibited to the domain and serverUpdateProhibited +
//!   serverDeleteProhibited to its subordinate hosts, recording which of them it added;
//!   releasing removes exactly those. A timed unlock releases the lock and the scheduler
//!   relocks the domain when the time is up (a domain step like expiry).
//! * Decisions: a lock request for a domain already locked is refused with 2304 (as is an
//!   unlock request for a domain that is not locked, and any request while another one for the
//!   domain is open); a new subordinate host under a locked domain (create or rename into it)
//!   is refused with 2304.
//! * What a lock holds is decided by the delegation guard ([`crate::guard`]), not here: while
//!   the lock is in force, no change by anyone alters the domain's published delegation (NS,
//!   DS, glue), also through the hosts it uses. Applying and releasing a lock change statuses
//!   only, so the guard lets them through; applying one takes row locks on the domain's name
//!   servers, so that a concurrent change to one of them is seen by whichever commits second.
//! * Every step (requested, code sent, code mail failed, each verification attempt, applied,
//!   released, relocked, rejected, expired, failed) is a history row of the domain with its
//!   actor (the registrar's clID, `operator:NAME`, or the registry's clID for the scheduler
//!   and the mail worker); the registrar hears of every outcome by poll message and e-mail.

use chrono::TimeDelta;
use epp_proto::domain::DomainStatus as DS;
use epp_proto::ext::registry_lock::{
    LockOp, LockRequestState as St, RegistryLockCommand, RegistryLockData,
};
use epp_proto::ext::ResponseExtension;
use epp_proto::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use epp_proto::domain::DomainUpdate;
use epp_proto::ext::rgp::RgpUpdate;
use epp_proto::ext::sec_dns::SecDnsUpdate;

use crate::change::{Change, HistoryNote, LockRequestWrite, Who};
use crate::error::CoreError;
use crate::mail::MailTransport;
use crate::model::*;
use crate::registry::{Outcome, Registry};
use crate::store::{Store, StoreTx};

/// What entering a code did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum VerifyOutcome {
    /// Right code: the lock is on.
    Applied,
    /// Right code: the lock is off (until `relock_at`, for a timed unlock).
    Released { relock_at: Option<Timestamp> },
    /// Wrong code; the request stays open.
    WrongCode { attempts_left: u32 },
    /// Wrong code, and the last attempt: the request failed.
    Failed,
    /// The code had expired: the request is closed.
    Expired,
}

const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;
/// How long a mail stays claimed by one worker before another may retry it.
const MAIL_LEASE_SECS: i64 = 300;

/// A fresh code, `XXXXX-XXXXX`.
fn new_code() -> Result<String, CoreError> {
    let mut raw = [0u8; CODE_LEN];
    getrandom::getrandom(&mut raw).map_err(|e| CoreError::Corrupt(format!("random: {e}")))?;
    let mut s = String::with_capacity(CODE_LEN + 1);
    for (i, b) in raw.iter().enumerate() {
        if i == CODE_LEN / 2 {
            s.push('-');
        }
        // 256 is a multiple of 32: no bias.
        s.push(char::from(CODE_ALPHABET[usize::from(*b) % 32]));
    }
    Ok(s)
}

fn new_salt() -> Result<String, CoreError> {
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw).map_err(|e| CoreError::Corrupt(format!("random: {e}")))?;
    Ok(hex::encode(raw))
}

/// What people type: case, spaces and dashes do not matter.
fn normalise_code(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn hash_code(salt: &str, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(normalise_code(code).as_bytes());
    hex::encode(h.finalize())
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn state_of(r: &LockRequest) -> Result<St, CoreError> {
    St::from_token(&r.state).ok_or_else(|| CoreError::Corrupt(format!("lock state {:?}", r.state)))
}

fn op_of(r: &LockRequest) -> Result<LockOp, CoreError> {
    LockOp::from_token(&r.op).ok_or_else(|| CoreError::Corrupt(format!("lock op {:?}", r.op)))
}

fn fmt_time(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

impl<S: Store> Registry<S> {
    pub(crate) fn lock_request_outcome(req: &LockRequest) -> Result<Outcome, CoreError> {
        let mut out = Outcome::pending(None);
        out.extensions
            .push(ResponseExtension::RegistryLock(RegistryLockData {
                id: u64::try_from(req.id).map_err(|_| CoreError::Corrupt("request id".into()))?,
                name: crate::convert::host_name(&req.domain)?,
                op: op_of(req)?,
                state: state_of(req)?,
            }));
        Ok(out)
    }

    /// A lock request's step in the domain's history.
    fn lock_note(ch: &mut Change, roid: String, op: &'static str, req: &LockRequest) {
        ch.note(HistoryNote {
            object_type: "domain",
            object_key: req.domain.clone(),
            roid,
            op,
            detail: Some(req.summary().to_string()),
        });
    }

    /// A poll message to the registrar and a mail to its lock contact.
    pub(crate) async fn lock_notice(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
        cl_id: &str,
        req: Option<i64>,
        text: String,
    ) -> Result<(), CoreError> {
        Self::notify(ch, cl_id, text.clone(), None);
        if let Some(c) = tx.lock_contact(cl_id).await? {
            let at = ch.who.now;
            ch.mail.push(OutboxMail::queued(
                "notice",
                req,
                c.email,
                text.clone(),
                format!("{text}\n\nThis is an automatic message from the registry.\n"),
                at,
            ));
        }
        Ok(())
    }

    /// `<domain:update>` with the registryLock extension: a lock or unlock request. Accepted
    /// while the domain is locked (it is how an unlock is asked for); it changes nothing until
    /// it is verified out of band.
    pub(crate) async fn domain_lock_request(
        &self,
        who: &Who,
        u: &DomainUpdate,
        sec: Option<&SecDnsUpdate>,
        rgp: Option<&RgpUpdate>,
        cmd: &RegistryLockCommand,
    ) -> Result<Outcome, CoreError> {
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, who, u.name.as_str()).await?;
        if d.cl_id != who.cl_id {
            return Err(CoreError::Authorization("not the sponsoring registrar"));
        }
        if !u.add.is_empty()
            || !u.rem.is_empty()
            || u.chg.is_some()
            || sec.is_some()
            || rgp.is_some()
        {
            return Err(CoreError::Policy("lock request must be alone"));
        }
        let req = self.file_lock_request(&mut tx, who, &d, cmd).await?;
        tx.commit().await?;
        Self::lock_request_outcome(&req)
    }

    /// Checks and stores a new request for domain `d` (loaded for write) by `who`, with its
    /// code mail in the outbox. Used by the EPP command and by the operator.
    pub(crate) async fn file_lock_request(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        d: &Domain,
        cmd: &RegistryLockCommand,
    ) -> Result<LockRequest, CoreError> {
        for (s, why) in [
            (DS::PendingDelete, "pendingDelete"),
            (DS::PendingTransfer, "pendingTransfer"),
        ] {
            if d.has(s) {
                return Err(CoreError::StatusProhibits(why));
            }
        }
        let in_force = d.registry_locked();
        let (op, unlock_secs) = match cmd {
            RegistryLockCommand::Lock => {
                if in_force {
                    return Err(CoreError::StatusProhibits("already registry-locked"));
                }
                (LockOp::Lock, None)
            }
            RegistryLockCommand::Unlock { duration } => {
                if !in_force {
                    return Err(CoreError::StatusProhibits("not registry-locked"));
                }
                (LockOp::Unlock, duration.map(|d| d.secs()))
            }
        };
        if tx.lock_request_open(&d.name).await?.is_some() {
            return Err(CoreError::StatusProhibits("lock request already open"));
        }
        let contact = tx
            .lock_contact(&d.cl_id)
            .await?
            .ok_or(CoreError::Policy("no lock contact on file"))?;
        let code = new_code()?;
        let salt = new_salt()?;
        let expires = who.now + TimeDelta::hours(i64::from(self.cfg.lock.code_ttl_hours));
        let mut req = LockRequest {
            id: 0,
            domain: d.name.clone(),
            cl_id: d.cl_id.clone(),
            op: op.as_str().to_owned(),
            unlock_secs,
            state: St::CodeNotSent.as_str().to_owned(),
            requested_by: who.cl_id.clone(),
            created: who.now,
            expires,
            code_sent: None,
            attempts: 0,
            closed: None,
            outcome_note: None,
            code_hash: hash_code(&salt, &code),
            code_salt: salt,
        };
        // The request's id goes into its mail and its history row: insert it first.
        let mut ch = self.change(who);
        ch.lock_request = Some(LockRequestWrite::Insert(req.clone()));
        req.id = self
            .apply(tx, ch)
            .await?
            .lock_request_id
            .ok_or(CoreError::Corrupt("lock request without id".into()))?;
        let what = match (op, unlock_secs) {
            (LockOp::Lock, _) => "LOCK".to_owned(),
            (LockOp::Unlock, None) => "UNLOCK".to_owned(),
            (LockOp::Unlock, Some(s)) => format!("UNLOCK for {s} seconds"),
        };
        let body = format!(
            "Dear {name},\n\n\
             {requester} asked the registry on {at} to {what} the domain {domain} \
             (request {id}, registrar {cl_id}).\n\n\
             If you expect this, the registry will call you at the number on file. Read them \
             this confirmation code:\n\n    {code}\n\n\
             The code is valid until {expires}. If you did not expect this request, tell the \
             registry when it calls, and do not give the code to anyone who calls you from \
             another number.\n",
            name = contact.name,
            requester = who.cl_id,
            at = fmt_time(who.now),
            domain = d.name,
            id = req.id,
            cl_id = d.cl_id,
            expires = fmt_time(expires),
        );
        let mut ch = self.change(who);
        ch.mail.push(OutboxMail::queued(
            "lockCode",
            Some(req.id),
            contact.email,
            format!(
                "Registry {} request {} for {}: confirmation code",
                op.as_str(),
                req.id,
                d.name
            ),
            body,
            who.now,
        ));
        Self::lock_note(&mut ch, self.roid('D', d.id), "lock:requested", &req);
        self.apply(tx, ch).await?;
        Ok(req)
    }

    /// An operator files a lock or unlock request on the sponsoring registrar's behalf. The
    /// same checks and the same out-of-band verification apply.
    pub async fn request_lock(
        &self,
        operator: &str,
        domain: &str,
        cmd: &RegistryLockCommand,
    ) -> Result<LockRequest, CoreError> {
        let who = self.operator_who(operator);
        let mut tx = self.store.begin(true).await?;
        let d = self.load_domain_w(&mut tx, &who, domain).await?;
        let req = self.file_lock_request(&mut tx, &who, &d, cmd).await?;
        tx.commit().await?;
        Ok(req)
    }

    async fn load_request(&self, tx: &mut S::Tx, id: i64) -> Result<(LockRequest, St), CoreError> {
        let req = tx
            .lock_request_get(id, true)
            .await?
            .ok_or(CoreError::NotFound("lock request"))?;
        let st = state_of(&req)?;
        Ok((req, st))
    }

    /// Closes an open request without applying it, and tells the registrar (into `ch`).
    async fn end_request(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
        mut req: LockRequest,
        state: St,
        note: &str,
        history_op: &'static str,
    ) -> Result<LockRequest, CoreError> {
        req.state = state.as_str().to_owned();
        req.closed = Some(ch.who.now);
        req.outcome_note = Some(note.to_owned());
        ch.reason = Some(note.to_owned());
        ch.lock_request = Some(LockRequestWrite::Update(req.clone()));
        ch.cancel_code_mail = Some(req.id);
        let roid = match tx.domain_get(&req.domain, false).await? {
            Some(d) => self.roid('D', d.id),
            None => String::new(),
        };
        Self::lock_note(ch, roid, history_op, &req);
        let text = format!(
            "Registry {} request {} for {}: {} ({note}); the domain is unchanged.",
            req.op,
            req.id,
            req.domain,
            state.as_str()
        );
        self.lock_notice(tx, ch, &req.cl_id.clone(), Some(req.id), text)
            .await?;
        Ok(req)
    }

    /// Ends an open request in a change of its own.
    async fn close_request(
        &self,
        tx: &mut S::Tx,
        who: &Who,
        req: LockRequest,
        state: St,
        note: &str,
        history_op: &'static str,
    ) -> Result<LockRequest, CoreError> {
        let mut ch = self.change(who);
        let req = self
            .end_request(tx, &mut ch, req, state, note, history_op)
            .await?;
        self.apply(tx, ch).await?;
        Ok(req)
    }

    /// The operator enters the code the lock contact read out. A wrong code counts as an
    /// attempt (the last allowed one fails the request); an expired code closes the request;
    /// neither changes the domain. The right code applies (or releases) the lock at once.
    pub async fn lock_verify(
        &self,
        operator: &str,
        id: i64,
        code: &str,
    ) -> Result<VerifyOutcome, CoreError> {
        let who = self.operator_who(operator);
        let mut tx = self.store.begin(true).await?;
        let (mut req, st) = self.load_request(&mut tx, id).await?;
        match st {
            St::PendingVerification => {}
            St::CodeNotSent => return Err(CoreError::StatusProhibits("code not sent yet")),
            St::Applied | St::Rejected | St::Expired | St::Failed => {
                return Err(CoreError::StatusProhibits("lock request closed"))
            }
        }
        if who.now >= req.expires {
            self.close_request(
                &mut tx,
                &who,
                req,
                St::Expired,
                "code expired",
                "lock:expired",
            )
            .await?;
            tx.commit().await?;
            return Ok(VerifyOutcome::Expired);
        }
        req.attempts += 1;
        let right = ct_eq(&hash_code(&req.code_salt, code), &req.code_hash);
        let d = tx.domain_get(&req.domain, true).await?;
        let roid = d.as_ref().map(|d| self.roid('D', d.id)).unwrap_or_default();
        let attempt_op = if right {
            "lock:verifyAttempt:right"
        } else {
            "lock:verifyAttempt:wrong"
        };
        let mut ch = self.change(&who);
        ch.lock_request = Some(LockRequestWrite::Update(req.clone()));
        Self::lock_note(&mut ch, roid, attempt_op, &req);
        self.apply(&mut tx, ch).await?;
        if !right {
            let max = self.cfg.lock.max_attempts.max(1);
            let out = if req.attempts >= max {
                self.close_request(
                    &mut tx,
                    &who,
                    req,
                    St::Failed,
                    "too many wrong codes",
                    "lock:failed",
                )
                .await?;
                VerifyOutcome::Failed
            } else {
                VerifyOutcome::WrongCode {
                    attempts_left: max - req.attempts,
                }
            };
            tx.commit().await?;
            return Ok(out);
        }
        let d = match d {
            Some(d) => self.settle_domain(&mut tx, d, who.now).await?,
            None => None,
        };
        let Some(d) = d else {
            self.close_request(&mut tx, &who, req, St::Failed, "domain gone", "lock:failed")
                .await?;
            tx.commit().await?;
            return Err(CoreError::NotFound("domain"));
        };
        if d.cl_id != req.cl_id || d.has(DS::PendingDelete) {
            self.close_request(
                &mut tx,
                &who,
                req,
                St::Failed,
                "domain changed hands or is being deleted",
                "lock:failed",
            )
            .await?;
            tx.commit().await?;
            return Err(CoreError::StatusProhibits("domain no longer eligible"));
        }
        let op = op_of(&req)?;
        req.state = St::Applied.as_str().to_owned();
        req.closed = Some(who.now);
        let mut ch = self.change(&who);
        ch.lock_request = Some(LockRequestWrite::Update(req.clone()));
        ch.cancel_code_mail = Some(req.id);
        let (outcome, text) = match op {
            LockOp::Lock => {
                self.apply_lock(&mut tx, &mut ch, d, req.id, "lock:applied")
                    .await?;
                (
                    VerifyOutcome::Applied,
                    format!(
                        "Registry lock request {} for {}: verified; the domain is locked.",
                        req.id, req.domain
                    ),
                )
            }
            LockOp::Unlock => {
                let relock_at = req
                    .unlock_secs
                    .map(|s| who.now + TimeDelta::seconds(i64::from(s)));
                self.release_lock(&mut tx, &mut ch, d, relock_at).await?;
                let until = relock_at
                    .map(|t| format!(" until {}", fmt_time(t)))
                    .unwrap_or_default();
                (
                    VerifyOutcome::Released { relock_at },
                    format!(
                        "Registry unlock request {} for {}: verified; the domain is unlocked{until}.",
                        req.id, req.domain
                    ),
                )
            }
        };
        self.lock_notice(&mut tx, &mut ch, &req.cl_id, Some(req.id), text)
            .await?;
        self.commit(tx, ch).await?;
        Ok(outcome)
    }

    /// The operator turns a request down (the contact did not confirm it, or could not be
    /// reached).
    pub async fn lock_reject(
        &self,
        operator: &str,
        id: i64,
        reason: &str,
    ) -> Result<LockRequest, CoreError> {
        let who = self.operator_who(operator);
        let mut tx = self.store.begin(true).await?;
        let (req, st) = self.load_request(&mut tx, id).await?;
        if !st.is_open() {
            return Err(CoreError::StatusProhibits("lock request closed"));
        }
        let req = self
            .close_request(&mut tx, &who, req, St::Rejected, reason, "lock:rejected")
            .await?;
        tx.commit().await?;
        Ok(req)
    }

    /// Closes an open request whose code expired (the scheduler's step).
    pub(crate) async fn expire_lock_request(
        &self,
        id: i64,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        let who = self.system_who(now);
        let mut tx = self.store.begin(true).await?;
        let (req, st) = self.load_request(&mut tx, id).await?;
        if st.is_open() && req.expires <= now {
            self.close_request(
                &mut tx,
                &who,
                req,
                St::Expired,
                "code expired",
                "lock:expired",
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts the lock statuses on a domain and its subordinate hosts, recording which were
    /// added (into `ch`).
    pub(crate) async fn apply_lock(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
        d: Domain,
        request_id: i64,
        op: &'static str,
    ) -> Result<Domain, CoreError> {
        let mut after = d.clone();
        let added = Self::lock_domain_statuses(&mut after);
        let hosts = self.lock_host_writes(tx, ch, &d, op).await?;
        after.registry_lock = Some(LockRec {
            request_id,
            since: ch.who.now,
            added,
            hosts,
            relock_at: None,
        });
        // The delegation the lock holds, as the zone publishes it now: the publisher checks
        // every later change of this domain's delegation against this note.
        let held = crate::guard::stored_published(tx, &after).await?;
        let detail = serde_json::to_string(&held)
            .map_err(|e| CoreError::Corrupt(format!("lock delegation: {e}")))?;
        ch.note(HistoryNote {
            object_type: "domain",
            object_key: d.name.clone(),
            roid: self.roid('D', d.id),
            op: crate::delegation::OP_LOCK_DELEGATION,
            detail: Some(detail),
        });
        self.write_domain(ch, op, Some(d), Some(after.clone()));
        Ok(after)
    }

    /// The publisher's alarm (see `zonegen::lockcheck`): a change to the published delegation
    /// of registry-locked `domain` reached the zone generator without a verified unlock — a
    /// bug in the core or a write made straight into the database. The batch is held; this
    /// tells the sponsor (poll message, mail to its lock contact) and writes a history note.
    pub async fn alarm_locked_delegation(
        &self,
        domain: &str,
        detail: &str,
    ) -> Result<(), CoreError> {
        let who = self.system_who(self.clock.now());
        let mut tx = self.store.begin(true).await?;
        let Some(d) = tx.domain_get(domain, false).await? else {
            return Err(CoreError::NotFound("domain"));
        };
        let mut ch = self.change(&who);
        ch.note(HistoryNote {
            object_type: "domain",
            object_key: d.name.clone(),
            roid: self.roid('D', d.id),
            op: "lock:publishHeld",
            detail: Some(detail.to_owned()),
        });
        let text = format!(
            "Registry lock alarm: a change to the delegation of locked domain {} was stopped \
             before publication and is held for review by the registry ({detail})",
            d.name
        );
        self.lock_notice(&mut tx, &mut ch, &d.cl_id.clone(), None, text)
            .await?;
        self.commit(tx, ch).await.map(drop)
    }

    /// The publisher's safety valve held a batch (it removes or repoints more delegations
    /// than the valve lets through without an operator): the sponsor of each of `domains` is
    /// told that its delegation change is not published until an operator approves the batch
    /// — a [`crate::delegation::OP_ZONE_BATCH_HELD`] history note, which the change poll turns
    /// into a message (RFC 8590 `custom`, op `batchHeld`). One change per domain, so that each
    /// sponsor hears of each of its domains (a change tells a sponsor once). Domains no longer
    /// registered are skipped. Returns how many were told.
    pub async fn notify_held_batch(
        &self,
        domains: &[String],
        detail: &str,
    ) -> Result<usize, CoreError> {
        let mut told = 0;
        for name in domains {
            let mut tx = self.store.begin(true).await?;
            let Some(d) = tx.domain_get(name, false).await? else {
                continue;
            };
            let who = self.system_who(self.clock.now());
            let mut ch = self.change(&who);
            ch.note(HistoryNote {
                object_type: "domain",
                object_key: d.name.clone(),
                roid: self.roid('D', d.id),
                op: crate::delegation::OP_ZONE_BATCH_HELD,
                detail: Some(detail.to_owned()),
            });
            self.commit(tx, ch).await?;
            told += 1;
        }
        Ok(told)
    }

    pub(crate) fn lock_domain_statuses(d: &mut Domain) -> Vec<String> {
        let mut added = Vec::new();
        for s in LOCK_DOMAIN_STATUSES {
            if !has_status(&d.statuses, s) {
                add_status(&mut d.statuses, s);
                added.push(s.to_owned());
            }
        }
        added
    }

    /// The lock statuses for the subordinate hosts of `d` (into `ch`), and the row locks on
    /// its name servers that keep a concurrent change to one of them from slipping past the
    /// delegation guard (see [`crate::guard`]).
    pub(crate) async fn lock_host_writes(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
        d: &Domain,
        op: &'static str,
    ) -> Result<Vec<HostLockRec>, CoreError> {
        for n in &d.ns {
            tx.host_get(n, true).await?;
        }
        let mut out = Vec::new();
        for h in tx.hosts_under(&d.name).await? {
            let mut after = h.clone();
            let mut added = Vec::new();
            for s in LOCK_HOST_STATUSES {
                if !has_status(&after.statuses, s) {
                    add_status(&mut after.statuses, s);
                    added.push(s.to_owned());
                }
            }
            out.push(HostLockRec {
                host: h.name.clone(),
                added: added.clone(),
            });
            if !added.is_empty() {
                ch.host(op, Some(h), Some(after));
            }
        }
        Ok(out)
    }

    /// Removes exactly the statuses the lock added; keeps the lock record (with `relock_at`)
    /// for a timed unlock.
    async fn release_lock(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
        d: Domain,
        relock_at: Option<Timestamp>,
    ) -> Result<(), CoreError> {
        let Some(lock) = d.registry_lock.clone() else {
            return Err(CoreError::StatusProhibits("not registry-locked"));
        };
        for hl in &lock.hosts {
            if let Some(h) = tx.host_get(&hl.host, true).await? {
                if h.superordinate.as_deref() != Some(d.name.as_str()) {
                    continue;
                }
                let mut after = h.clone();
                hl.added
                    .iter()
                    .for_each(|s| remove_status(&mut after.statuses, s));
                if after != h {
                    ch.host("lock:released", Some(h), Some(after));
                }
            }
        }
        let mut after = d.clone();
        lock.added
            .iter()
            .for_each(|s| remove_status(&mut after.statuses, s));
        after.registry_lock = relock_at.map(|t| LockRec {
            request_id: lock.request_id,
            since: lock.since,
            added: Vec::new(),
            hosts: Vec::new(),
            relock_at: Some(t),
        });
        self.write_domain(ch, "lock:released", Some(d), Some(after));
        Ok(())
    }

    /// One lock request with its mail.
    pub async fn lock_request(&self, id: i64) -> Result<(LockRequest, Vec<OutboxMail>), CoreError> {
        let mut tx = self.store.begin(false).await?;
        let req = tx
            .lock_request_get(id, false)
            .await?
            .ok_or(CoreError::NotFound("lock request"))?;
        drop(tx);
        let mail = self.store.outbox_for_request(id).await?;
        Ok((req, mail))
    }

    /// Lock requests, newest first (open ones only, or all; at most `limit`).
    pub async fn lock_requests(
        &self,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<LockRequest>, CoreError> {
        Ok(self.store.lock_requests(open_only, limit).await?)
    }

    /// One pass of the mail worker: sends every due outbox mail, each claimed in its own short
    /// transaction, sent with no transaction open, and its result written in another. A code
    /// mail that went out moves its request to pendingVerification. Returns the mails sent.
    pub async fn send_mail<M: MailTransport>(&self, mailer: &M) -> Result<usize, CoreError> {
        let now = self.clock.now();
        let mut sent = 0;
        for mut m in self.store.outbox_due(now, 100).await? {
            let mut tx = self.store.begin(true).await?;
            let lease = now + TimeDelta::seconds(MAIL_LEASE_SECS);
            let claimed = tx.outbox_claim(m.id, m.next_attempt, lease).await?;
            tx.commit().await?;
            if !claimed {
                continue;
            }
            let result = mailer.send(&m).await;
            let at = self.clock.now();
            let who = self.system_who(at);
            let r = async {
                let mut tx = self.store.begin(true).await?;
                m.attempts += 1;
                match &result {
                    Ok(()) => {
                        m.sent = Some(at);
                        m.last_error = None;
                        m.body.clear();
                    }
                    Err(e) => {
                        let shift = m.attempts.saturating_sub(1).min(20);
                        let delay = u64::from(self.cfg.mail.retry_base_secs.max(1))
                            .saturating_mul(1u64 << shift)
                            .min(u64::from(self.cfg.mail.retry_max_secs.max(1)));
                        m.next_attempt = at + TimeDelta::seconds(delay as i64);
                        m.last_error = Some(e.to_string());
                        tracing::warn!(mail = m.id, attempts = m.attempts, error = %e, "mail not sent; will retry");
                    }
                }
                tx.outbox_result(&m).await?;
                if let (Some(rid), "lockCode") = (m.lock_request_id, m.kind.as_str()) {
                    if let Some(mut req) = tx.lock_request_get(rid, true).await? {
                        let roid = match tx.domain_get(&req.domain, false).await? {
                            Some(d) => self.roid('D', d.id),
                            None => String::new(),
                        };
                        let mut ch = self.change(&who);
                        if state_of(&req)? == St::CodeNotSent {
                            if result.is_ok() {
                                req.state = St::PendingVerification.as_str().to_owned();
                                req.code_sent = Some(at);
                                ch.lock_request = Some(LockRequestWrite::Update(req.clone()));
                                Self::lock_note(&mut ch, roid, "lock:codeSent", &req);
                            } else {
                                Self::lock_note(&mut ch, roid, "lock:codeNotSent", &req);
                            }
                        }
                        self.apply(&mut tx, ch).await?;
                    }
                }
                tx.commit().await?;
                Ok::<(), CoreError>(())
            }
            .await;
            match r {
                Ok(()) => {
                    if result.is_ok() {
                        sent += 1;
                    }
                }
                Err(e) => {
                    tracing::error!(mail = m.id, error = %e, "recording a mail attempt failed")
                }
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let c = new_code().unwrap_or_default();
        assert_eq!(c.len(), CODE_LEN + 1);
        assert_eq!(c.chars().nth(5), Some('-'));
        assert!(c
            .chars()
            .filter(|c| *c != '-')
            .all(|c| CODE_ALPHABET.contains(&(c as u8))));
        assert_ne!(new_code().unwrap_or_default(), c);
        let salt = new_salt().unwrap_or_default();
        let h = hash_code(&salt, &c);
        assert!(ct_eq(
            &h,
            &hash_code(&salt, &c.to_lowercase().replace('-', " "))
        ));
        assert!(!ct_eq(&h, &hash_code(&salt, "AAAAA-AAAAA")));
        assert!(!ct_eq(&h, &hash_code("other", &c)));
    }
}
