//! Change poll (RFC 8590): the sponsor of an object hears of every change to it that it did
//! not make itself — the scheduler's steps (auto-renew, expiry, redemption, purge, transfer
//! auto-approval, relock), operators' actions (server statuses and suspension, deletes, lock
//! verification, lock requests filed for it), refusals of changes to its locked domain, held
//! publications (the publisher check's and the safety valve's).
//!
//! The rule lives here, in one place every write passes: [`Registry::apply`] hands each
//! [`Change`] to [`Registry::add_change_polls`] before the delegation guard. For every object
//! write and history note of the change whose object's sponsor (before or after) is not the
//! actor, the sponsor's poll message in the change gets a [`PollPayload::Change`] payload —
//! the object's state after the change (before it, when the change removed the object) and
//! what was done, when, by whom, why — or, when the change has no message for it, one is
//! queued with a text of its own. A new command, step or operator action therefore cannot
//! forget to tell the sponsor: it has no other way to write.
//!
//! Left out: bookkeeping notes that change nothing (a lock code mailed, a verification attempt), and registrars'
//! transfer commands, which have their own poll messages (RFC 5730 section 2.9.2.3). Each
//! sponsor gets at most one change message per change, about its domain before its contacts
//! and hosts (a lock applied writes the domain and its subordinate hosts: one message).
//!
//! Over EPP the message carries `<changePoll:changeData>` only for sessions that selected the
//! extension at login; the frontend answers the others with the message's text (and transfer
//! data) as before (`ResponseExtension::owns_res_data`).

use std::collections::BTreeSet;

use epp_proto::domain::DomainStatus as DS;

use crate::change::{Change, ObjectWrite};
use crate::error::CoreError;
use crate::model::*;
use crate::registry::Registry;
use crate::store::{Store, StoreTx};

/// The changePoll operation, its `op` and a default reason for a history op.
fn describe(
    history_op: &str,
    operator: bool,
) -> (&'static str, Option<&'static str>, &'static str) {
    match history_op {
        "domain:autoRenew" => ("autoRenew", None, "expiry date reached"),
        "domain:expire" => ("autoDelete", None, "expired, not renewed"),
        "rgp:pendingDelete" => ("update", Some("pendingDelete"), "redemption period ended"),
        "rgp:restoreLapsed" => ("update", Some("restoreLapsed"), "no restore report in time"),
        "rgp:purge" => ("autoPurge", None, "pending delete period ended"),
        "rgp:purgeHeld" => ("update", Some("purgeHeld"), "host used by a locked domain"),
        "host:purgedWithDomain" if operator => ("delete", Some("purge"), "superordinate purged"),
        "host:purgedWithDomain" => ("autoPurge", None, "superordinate domain purged"),
        "transfer:serverApproved" => ("transfer", Some("autoApprove"), "not acted on in time"),
        "registry:status" => ("update", Some("serverStatus"), "registry status change"),
        "registry:delete" => ("delete", None, "deleted by the registry"),
        "registry:purge" => ("delete", Some("purge"), "deleted by the registry"),
        "lock:applied" => ("update", Some("lock"), "registry lock verified"),
        "lock:released" => ("update", Some("unlock"), "registry unlock verified"),
        "lock:relocked" => ("update", Some("relock"), "timed unlock ended"),
        "lock:requested" => ("custom", Some("lockRequested"), "lock request filed"),
        "lock:rejected" => ("custom", Some("lockRejected"), "rejected by the registry"),
        "lock:expired" => ("custom", Some("lockExpired"), "code expired"),
        "lock:failed" => ("custom", Some("lockFailed"), "lock request failed"),
        "lock:changeRefused" => ("custom", Some("changeRefused"), "domain is registry-locked"),
        "lock:publishHeld" => ("custom", Some("publishHeld"), "held for review"),
        crate::delegation::OP_ZONE_BATCH_HELD => {
            ("custom", Some("batchHeld"), "zone batch held for review")
        }
        // Any other object write is still told, as an update.
        _ => ("update", None, "registry action"),
    }
}

/// History notes the sponsor is told of; the others (a lock code mailed, a verification
/// attempt, the delegation a lock holds) are bookkeeping of changes told otherwise.
fn told_note(history_op: &str) -> bool {
    matches!(
        history_op,
        "lock:requested"
            | "lock:rejected"
            | "lock:expired"
            | "lock:failed"
            | "lock:changeRefused"
            | "lock:publishHeld"
            | crate::delegation::OP_ZONE_BATCH_HELD
    )
}

/// `registry:status` adding or removing serverHold: a suspension or its end.
fn status_op(before: &[StatusRec], after: &[StatusRec]) -> Option<&'static str> {
    let hold = DS::ServerHold.as_str();
    match (has_status(before, hold), has_status(after, hold)) {
        (false, true) => Some("suspend"),
        (true, false) => Some("unsuspend"),
        _ => None,
    }
}

/// A registrar's transfer command: its own poll messages tell the parties.
fn transfer_command(history_op: &str) -> bool {
    history_op.starts_with("transfer:") || history_op == "host:transferWithDomain"
}

/// One object a change touched, for its sponsors.
struct Touched {
    sponsors: Vec<String>,
    history_op: &'static str,
    op_override: Option<&'static str>,
    label: String,
    object: ChangedObject,
    before: bool,
}

fn without_secret_domain(mut d: Domain) -> Domain {
    d.auth_pw = None;
    d.auth_set = None;
    d
}

fn without_secret_contact(mut c: Contact) -> Contact {
    c.auth_pw = String::new();
    c.auth_set = None;
    c
}

impl<S: Store> Registry<S> {
    /// The `<changePoll:who>` of the change's actor: a registrar's clID, the registry's, or
    /// "… operator" (operators are named in the history, not over EPP).
    fn change_who(&self, cl_id: &str) -> String {
        if cl_id.starts_with("operator:") {
            format!("{} operator", self.cfg.registry_cl_id)
        } else {
            cl_id.to_owned()
        }
    }

    fn touched_writes(&self, ch: &Change) -> Vec<Touched> {
        let mut out = Vec::new();
        let sponsors = |a: Option<&str>, b: Option<&str>| {
            let mut v: Vec<String> = a.into_iter().chain(b).map(str::to_owned).collect();
            v.dedup();
            v
        };
        // Domains first, then contacts, then hosts: a sponsor hears of the most telling one.
        for rank in 0..3 {
            for w in &ch.objects {
                let t = match (rank, w) {
                    (0, ObjectWrite::Domain(w)) => {
                        let Some(cur) = w.current() else { continue };
                        let op_override = match (&w.before, &w.after) {
                            (Some(b), Some(a)) if w.op == "registry:status" => {
                                status_op(&b.statuses, &a.statuses)
                            }
                            _ => None,
                        };
                        Touched {
                            sponsors: sponsors(
                                w.before.as_ref().map(|d| d.cl_id.as_str()),
                                w.after.as_ref().map(|d| d.cl_id.as_str()),
                            ),
                            history_op: w.op,
                            op_override,
                            label: format!("Domain {}", cur.name),
                            object: ChangedObject::Domain {
                                roid: self.roid('D', cur.id),
                                domain: Box::new(without_secret_domain(cur.clone())),
                            },
                            before: w.after.is_none(),
                        }
                    }
                    (1, ObjectWrite::Contact(w)) => {
                        let Some(cur) = w.current() else { continue };
                        Touched {
                            sponsors: sponsors(
                                w.before.as_ref().map(|c| c.cl_id.as_str()),
                                w.after.as_ref().map(|c| c.cl_id.as_str()),
                            ),
                            history_op: w.op,
                            op_override: None,
                            label: format!("Contact {}", cur.handle),
                            object: ChangedObject::Contact {
                                roid: self.roid('C', cur.id),
                                contact: Box::new(without_secret_contact(cur.clone())),
                            },
                            before: w.after.is_none(),
                        }
                    }
                    (2, ObjectWrite::Host(w)) => {
                        let Some(cur) = w.current() else { continue };
                        Touched {
                            sponsors: sponsors(
                                w.before.as_ref().map(|h| h.cl_id.as_str()),
                                w.after.as_ref().map(|h| h.cl_id.as_str()),
                            ),
                            history_op: w.op,
                            op_override: None,
                            label: format!("Host {}", cur.name),
                            object: ChangedObject::Host {
                                roid: self.roid('H', cur.id),
                                host: Box::new(cur.clone()),
                            },
                            before: w.after.is_none(),
                        }
                    }
                    _ => continue,
                };
                out.push(t);
            }
        }
        out
    }

    /// Gives every sponsor of an object `ch` touches without being its actor a change poll
    /// message (see the module docs). Reads the domains of history notes through `tx`.
    pub(crate) async fn add_change_polls(
        &self,
        tx: &mut S::Tx,
        ch: &mut Change,
    ) -> Result<(), CoreError> {
        let actor = ch.who.cl_id.clone();
        let registrar = !(actor == self.cfg.registry_cl_id || actor.starts_with("operator:"));
        let operator = actor.starts_with("operator:");
        let mut touched = self.touched_writes(ch);
        for n in &ch.notes {
            if n.object_type != "domain" || !told_note(n.op) {
                continue;
            }
            if let Some(d) = tx.domain_get(&n.object_key, false).await? {
                touched.push(Touched {
                    sponsors: vec![d.cl_id.clone()],
                    history_op: n.op,
                    op_override: None,
                    label: format!("Domain {}", d.name),
                    object: ChangedObject::Domain {
                        roid: self.roid('D', d.id),
                        domain: Box::new(without_secret_domain(d)),
                    },
                    before: false,
                });
            }
        }
        let mut told = BTreeSet::new();
        for t in touched {
            if registrar && transfer_command(t.history_op) {
                continue;
            }
            let (operation, op, default_reason) = describe(t.history_op, operator);
            let op = t.op_override.or(op);
            let reason = ch.reason.as_deref().unwrap_or(default_reason);
            let reason = epp_proto::ext::change_poll::Reason::truncated(reason)
                .map(|r| r.as_str().to_owned());
            for sponsor in &t.sponsors {
                if *sponsor == actor
                    || *sponsor == self.cfg.registry_cl_id
                    || !told.insert(sponsor.clone())
                {
                    continue;
                }
                let notice = ChangeNotice {
                    operation: operation.to_owned(),
                    op: op.map(str::to_owned),
                    date: ch.who.now,
                    sv_trid: ch.who.sv_trid.clone(),
                    who: self.change_who(&actor),
                    reason: reason.clone(),
                    before: t.before,
                    object: t.object.clone(),
                };
                match ch.polls.iter_mut().find(|m| {
                    m.cl_id == *sponsor && !matches!(m.payload, Some(PollPayload::Change { .. }))
                }) {
                    Some(m) => {
                        m.payload = Some(PollPayload::Change {
                            change: Box::new(notice),
                            plain: m.payload.take().map(Box::new),
                        });
                    }
                    None => {
                        let what = match op {
                            Some(op) => format!("{operation} ({op})"),
                            None => operation.to_owned(),
                        };
                        let why = reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default();
                        let msg = format!("{}: {what} by {}{why}.", t.label, notice.who);
                        let payload = PollPayload::Change {
                            change: Box::new(notice),
                            plain: None,
                        };
                        Self::notify(ch, sponsor, msg, Some(payload));
                    }
                }
            }
        }
        Ok(())
    }
}

impl<S: Store> Registry<S> {
    /// A change poll message's `<resData>` (the object's infData, as the sponsor sees it) and
    /// `<changePoll:changeData>`.
    pub(crate) fn change_poll_data(
        &self,
        n: &ChangeNotice,
    ) -> Result<(epp_proto::ResponseData, epp_proto::ext::ResponseExtension), CoreError> {
        use epp_proto::ext::change_poll as cp;
        use epp_proto::ResponseData as R;
        let corrupt = |what: &str| CoreError::Corrupt(format!("change poll message: {what}"));
        let data = match &n.object {
            ChangedObject::Domain { roid, domain } => R::DomainInfo(Box::new(
                crate::domain::info::domain_info_data(domain, roid, true, true, Vec::new())?,
            )),
            ChangedObject::Host { roid, host } => R::HostInfo(Box::new(
                crate::host::info::host_info_data(host, roid, false)?,
            )),
            ChangedObject::Contact { roid, contact } => R::ContactInfo(Box::new(
                crate::contact::info::contact_info_data(contact, roid, false)?,
            )),
        };
        let ext = cp::ChangeData {
            state: if n.before {
                cp::ChangeState::Before
            } else {
                cp::ChangeState::After
            },
            operation: cp::Operation::from_token(&n.operation)
                .ok_or_else(|| corrupt("operation"))?,
            op: n.op.clone(),
            date: n.date,
            sv_trid: epp_proto::SvTrid::new(&n.sv_trid).map_err(|_| corrupt("svTRID"))?,
            who: cp::Who::new(&n.who).map_err(|_| corrupt("who"))?,
            reason: n
                .reason
                .as_deref()
                .map(cp::Reason::new)
                .transpose()
                .map_err(|_| corrupt("reason"))?,
        };
        Ok((data, epp_proto::ext::ResponseExtension::ChangePoll(ext)))
    }
}
