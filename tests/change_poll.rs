//! Change poll (RFC 8590) over real TLS against the registry core: every change to a
//! registrar's object that it did not make itself — the scheduler's steps, operators'
//! actions, the registry lock procedure, a held publication, a batch the zone publisher's
//! safety valve held (with Knot as the primary) — leaves a poll message whose
//! response carries the object's `<infData>` and `<changePoll:changeData>` for a session that
//! selected the extension, and the same message as text (with its transfer data, if any) for
//! a session of the same registrar that did not. Every response frame is validated against the
//! XSDs. Each test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Mutex;

use epp_proto::domain::{DomainCommand as D, DomainStatus as DS, DomainTransfer};
use epp_proto::ext::change_poll::{self as cp, ChangeData, ChangeState, Operation};
use epp_proto::ext::registry_lock::{self as rl, RegistryLockCommand, UnlockDuration};
use epp_proto::ext::{CommandExtension as X, ResponseExtension};
use epp_proto::session::Poll;
use epp_proto::{Command, MsgId, ResponseData, TransferOp, TransferStatus};
use registry_core::mail::{MailError, MailTransport};
use registry_core::model::{LockContact, OutboxMail};
use registry_core::ObjectRef;
use support::core::*;
use support::*;

both_backends!(
    scheduler_auto_renew_and_transfer_auto_approval,
    scheduler_expiry_redemption_purge,
    operator_suspension_statuses_and_delete,
    lock_procedure_and_held_publication,
    safety_valve_held_batch,
);

const OPERATOR: &str = "alice";

/// One poll message as both sessions of a registrar saw it.
#[derive(Debug)]
struct Seen {
    msg: String,
    /// The changePoll session's answer.
    change: Option<ChangeData>,
    res_data: Option<ResponseData>,
    /// The other session's resData (transfer data, or none).
    plain: Option<ResponseData>,
}

impl Seen {
    fn change(&self) -> &ChangeData {
        self.change
            .as_ref()
            .unwrap_or_else(|| panic!("no changeData: {self:?}"))
    }

    fn domain(&self) -> &epp_proto::domain::DomainInfoData {
        match &self.res_data {
            Some(ResponseData::DomainInfo(d)) => d,
            other => panic!("expected domain infData, got {other:?}"),
        }
    }

    fn op(&self) -> (Operation, Option<&str>) {
        let c = self.change();
        (c.operation, c.op.as_deref())
    }
}

/// Two sessions of one registrar: `with` selected changePoll at login, `without` did not.
struct Pair {
    with: Session,
    without: Session,
}

impl Pair {
    async fn new(env: &CoreEnv, reg: &Reg) -> Pair {
        Pair {
            with: env
                .login_with(reg, &[SEC_DNS_NS, RGP_NS, rl::NS, cp::NS])
                .await,
            without: env.login_with(reg, &[SEC_DNS_NS, RGP_NS, rl::NS]).await,
        }
    }

    /// Reads every message with both sessions (the same head each time), acknowledging each.
    async fn drain(&mut self) -> Vec<Seen> {
        let mut out = Vec::new();
        for _ in 0..50 {
            let r = self.with.cmd(Command::Poll(Poll::Request)).await;
            let p = self.without.cmd(Command::Poll(Poll::Request)).await;
            if r.code == 1300 {
                assert_eq!(p.code, 1300, "{}", p.xml);
                return out;
            }
            assert_eq!((r.code, p.code), (1301, 1301), "{}\n{}", r.xml, p.xml);
            let q = r.response.msg_q.clone().expect("msgQ");
            let pq = p.response.msg_q.clone().expect("msgQ");
            assert_eq!((&q.id, &q.msg), (&pq.id, &pq.msg), "same message");
            assert!(
                !p.xml.contains(cp::NS) && p.response.extensions.is_empty(),
                "no changePoll without the extension:\n{}",
                p.xml
            );
            let change = r.response.extensions.iter().find_map(|e| match e {
                ResponseExtension::ChangePoll(c) => Some(c.clone()),
                _ => None,
            });
            if change.is_some() {
                // RFC 8590: the object's infData as resData.
                assert!(
                    matches!(
                        r.response.res_data,
                        Some(
                            ResponseData::DomainInfo(_)
                                | ResponseData::HostInfo(_)
                                | ResponseData::ContactInfo(_)
                        )
                    ),
                    "{}",
                    r.xml
                );
                assert!(r.xml.contains("<changePoll:changeData"), "{}", r.xml);
            } else {
                assert_eq!(r.response.res_data, p.response.res_data);
            }
            out.push(Seen {
                msg: q.msg.clone().unwrap_or_default(),
                change,
                res_data: r.response.res_data.clone(),
                plain: p.response.res_data.clone(),
            });
            self.with
                .cmd(Command::Poll(Poll::Acknowledge(
                    MsgId::new(q.id.as_str()).unwrap(),
                )))
                .await
                .ok();
        }
        panic!("more than 50 poll messages");
    }
}

/// The one message whose changeData has this operation and op.
#[track_caller]
fn find<'a>(seen: &'a [Seen], op: (Operation, Option<&str>)) -> &'a Seen {
    let hits: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.change.is_some() && s.op() == op)
        .collect();
    assert_eq!(hits.len(), 1, "one message {op:?} expected in {seen:#?}");
    hits[0]
}

fn transfer(op: TransferOp, name: &str, pw: Option<&str>) -> Command {
    Command::Domain(D::Transfer(DomainTransfer {
        op,
        name: host_name(name),
        period: None,
        auth_info: pw.map(auth),
    }))
}

fn statuses(d: &epp_proto::domain::DomainInfoData) -> Vec<DS> {
    d.statuses.iter().map(|s| s.status).collect()
}

async fn scheduler_auto_renew_and_transfer_auto_approval(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let reg_a = env.registrar("reg-a").await;
            let reg_b = env.registrar("reg-b").await;
            let mut a = Pair::new(&env, &reg_a).await;
            let mut b = Pair::new(&env, &reg_b).await;
            a.with
                .cmd(contact_create("reg-a-c1", "contact-pw"))
                .await
                .ok();
            for n in ["renew.test", "move.test"] {
                a.with
                    .cmd(domain_create(n, "reg-a-c1", &[], "dom-pw-1"))
                    .await
                    .ok();
            }
            b.with
                .cmd(transfer(TransferOp::Request, "move.test", Some("dom-pw-1")))
                .await
                .expect(1001);
            // A registrar's transfer request has its RFC 5730 message, not a change message.
            let seen = a.drain().await;
            assert_eq!(seen.len(), 1, "{seen:#?}");
            assert!(seen[0].change.is_none());
            assert!(
                matches!(&seen[0].res_data, Some(ResponseData::DomainTransfer(t)) if t.tr_status == TransferStatus::Pending)
            );

            // Transfer auto-approval: both parties, changeData with the transfer data kept
            // for the session without the extension.
            env.advance_days(5).await;
            for (p, cl_id) in [(&mut a, "reg-a"), (&mut b, "reg-b")] {
                let seen = p.drain().await;
                let s = find(&seen, (Operation::Transfer, Some("autoApprove")));
                assert_eq!(s.domain().name.as_str(), "move.test");
                assert_eq!(s.domain().cl_id.as_str(), "reg-b", "{cl_id}: state after");
                let c = s.change();
                assert_eq!(c.state, ChangeState::After);
                assert_eq!(c.who.as_str(), "registry");
                assert!(c.sv_trid.as_str().starts_with("SYS-"), "{c:?}");
                assert_eq!(c.reason.as_ref().map(|r| r.as_str()), Some("not acted on in time"));
                assert!(
                    matches!(&s.plain, Some(ResponseData::DomainTransfer(t)) if t.tr_status == TransferStatus::ServerApproved),
                    "{cl_id}: {s:?}"
                );
                assert!(s.msg.contains("approved by the registry"), "{}", s.msg);
            }

            // Auto-renew at expiry: a message where there was none, text only without.
            env.advance_days(366).await;
            let seen = a.drain().await;
            let s = find(&seen, (Operation::AutoRenew, None));
            assert_eq!(s.domain().name.as_str(), "renew.test");
            assert!(s.plain.is_none());
            assert!(s.msg.contains("renew.test") && s.msg.contains("autoRenew"), "{}", s.msg);
            let renewed = env.stored_domain("renew.test").await;
            assert_eq!(s.domain().ex_date, Some(renewed.ex_date));
            // Only reg-a's domain: move.test's transfer added a year to it.
            assert_eq!(seen.len(), 1, "{seen:#?}");
            assert!(b.drain().await.is_empty());
        },
    )
    .await
}

async fn scheduler_expiry_redemption_purge(backend: Backend) {
    run_core(
        backend,
        |_, core| core.auto_renew = false,
        |env| async move {
            let reg_a = env.registrar("reg-a").await;
            let mut a = Pair::new(&env, &reg_a).await;
            a.with
                .cmd(contact_create("reg-a-c1", "contact-pw"))
                .await
                .ok();
            a.with
                .cmd(domain_create("gone.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            a.with
                .cmd(host_create("ns1.gone.test", &["192.0.2.1"]))
                .await
                .ok();
            env.advance_days(366).await;
            let seen = a.drain().await;
            let s = find(&seen, (Operation::AutoDelete, None));
            assert!(statuses(s.domain()).contains(&DS::PendingDelete));
            assert!(s.msg.contains("redemption"), "{}", s.msg);
            assert!(s.plain.is_none());

            env.advance_days(30).await;
            let seen = a.drain().await;
            let s = find(&seen, (Operation::Update, Some("pendingDelete")));
            assert_eq!(
                s.change().reason.as_ref().map(|r| r.as_str()),
                Some("redemption period ended")
            );

            // The purge: the domain as it was before (it is gone), one message although the
            // subordinate host went too.
            env.advance_days(5).await;
            let seen = a.drain().await;
            assert_eq!(seen.len(), 1, "{seen:#?}");
            let s = find(&seen, (Operation::AutoPurge, None));
            assert_eq!(s.change().state, ChangeState::Before);
            assert_eq!(s.domain().name.as_str(), "gone.test");
            assert!(s.msg.contains("purged"), "{}", s.msg);
            assert!(s.xml_free_of_auth());
        },
    )
    .await
}

impl Seen {
    /// No authInfo in the object (RFC 9154: never returned).
    fn xml_free_of_auth(&self) -> bool {
        match &self.res_data {
            Some(ResponseData::DomainInfo(d)) => d.auth_info.is_none(),
            Some(ResponseData::ContactInfo(c)) => c.auth_info.is_none(),
            _ => true,
        }
    }
}

async fn operator_suspension_statuses_and_delete(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let reg_a = env.registrar("reg-a").await;
            let mut a = Pair::new(&env, &reg_a).await;
            a.with
                .cmd(contact_create("reg-a-c1", "contact-pw"))
                .await
                .ok();
            a.with.cmd(host_create("ns.other.example", &[])).await.ok();
            a.with
                .cmd(domain_create(
                    "susp.test",
                    "reg-a-c1",
                    &["ns.other.example"],
                    "dom-pw-1",
                ))
                .await
                .ok();
            let dom = ObjectRef::Domain("susp.test".into());
            // Suspension and its end.
            env.registry
                .set_server_statuses(&dom, &["serverHold"], &[])
                .await
                .expect("suspend");
            env.registry
                .set_server_statuses(&dom, &[], &["serverHold"])
                .await
                .expect("unsuspend");
            // Server statuses on a host and a contact: their own infData.
            env.registry
                .set_server_statuses(
                    &ObjectRef::Host("ns.other.example".into()),
                    &["serverUpdateProhibited"],
                    &[],
                )
                .await
                .expect("host status");
            env.registry
                .set_server_statuses(
                    &ObjectRef::Contact("reg-a-c1".into()),
                    &["serverDeleteProhibited"],
                    &[],
                )
                .await
                .expect("contact status");
            // A registry delete by an operator, with its reason.
            env.registry
                .registry_delete_domain(OPERATOR, "susp.test", "court order 42", false)
                .await
                .expect("delete");
            let seen = a.drain().await;
            assert_eq!(seen.len(), 5, "{seen:#?}");
            let s = find(&seen, (Operation::Update, Some("suspend")));
            assert!(statuses(s.domain()).contains(&DS::ServerHold));
            assert!(s.msg.contains("added [serverHold]"), "{}", s.msg);
            let s = find(&seen, (Operation::Update, Some("unsuspend")));
            assert!(!statuses(s.domain()).contains(&DS::ServerHold));
            let s = seen
                .iter()
                .find(|s| matches!(s.res_data, Some(ResponseData::HostInfo(_))))
                .expect("host message");
            assert_eq!(s.op(), (Operation::Update, Some("serverStatus")));
            let s = seen
                .iter()
                .find(|s| matches!(s.res_data, Some(ResponseData::ContactInfo(_))))
                .expect("contact message");
            assert_eq!(s.op(), (Operation::Update, Some("serverStatus")));
            assert!(s.xml_free_of_auth());
            let s = find(&seen, (Operation::Delete, None));
            let c = s.change();
            assert_eq!(c.who.as_str(), "registry operator");
            assert!(c.sv_trid.as_str().starts_with("ADM-"), "{c:?}");
            assert_eq!(
                c.reason.as_ref().map(|r| r.as_str()),
                Some("court order 42")
            );
            assert!(statuses(s.domain()).contains(&DS::PendingDelete));
            assert!(s.msg.contains("court order 42"), "{}", s.msg);
        },
    )
    .await
}

/// The mail worker's transport for these tests: keeps every mail.
#[derive(Default)]
struct Kept(Mutex<Vec<OutboxMail>>);

impl MailTransport for Kept {
    async fn send(&self, m: &OutboxMail) -> Result<(), MailError> {
        self.0.lock().unwrap().push(m.clone());
        Ok(())
    }
}

/// Sends the outbox and returns the confirmation code of lock request `id`.
async fn code(env: &CoreEnv, kept: &Kept, id: i64) -> String {
    env.registry.send_mail(kept).await.expect("send mail");
    let mails = kept.0.lock().unwrap();
    let m = mails
        .iter()
        .find(|m| m.kind == "lockCode" && m.lock_request_id == Some(id))
        .expect("code mail");
    m.body
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 11 && l.as_bytes()[5] == b'-')
        .expect("code in the mail")
        .to_owned()
}

async fn lock_request(s: &mut Session, name: &str, cmd: RegistryLockCommand) -> i64 {
    let r = s
        .cmd_ext(
            Command::Domain(D::Update(domain_update(name))),
            vec![X::RegistryLock(cmd)],
        )
        .await
        .expect(1001);
    match r.response.extensions.as_slice() {
        [ResponseExtension::RegistryLock(d)] => i64::try_from(d.id).unwrap(),
        other => panic!("expected <rl:reqData>, got {other:?}"),
    }
}

async fn lock_procedure_and_held_publication(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let reg_a = env.registrar("reg-a").await;
            let mut a = Pair::new(&env, &reg_a).await;
            env.registry
                .store()
                .set_lock_contact(
                    &LockContact {
                        cl_id: "reg-a".into(),
                        name: "Lock Keeper".into(),
                        phone: "+1.5555550100".into(),
                        email: "lock@reg-a.example".into(),
                    },
                    env.now(),
                )
                .await
                .expect("lock contact");
            a.with
                .cmd(contact_create("reg-a-c1", "contact-pw"))
                .await
                .ok();
            a.with.cmd(host_create("ns.other.example", &[])).await.ok();
            a.with
                .cmd(domain_create(
                    "lk.test",
                    "reg-a-c1",
                    &["ns.other.example"],
                    "dom-pw-1",
                ))
                .await
                .ok();
            a.with
                .cmd(host_create("ns1.lk.test", &["192.0.2.1"]))
                .await
                .ok();
            let kept = Kept::default();

            // Lock applied (the registrar's request, verified by an operator).
            let id = lock_request(&mut a.with, "lk.test", RegistryLockCommand::Lock).await;
            // The registrar's own request tells it nothing.
            assert!(a.drain().await.is_empty());
            let c = code(&env, &kept, id).await;
            env.registry
                .lock_verify(OPERATOR, id, &c)
                .await
                .expect("verify");
            let seen = a.drain().await;
            assert_eq!(
                seen.len(),
                1,
                "one message for the domain and its host: {seen:#?}"
            );
            let s = find(&seen, (Operation::Update, Some("lock")));
            assert!(statuses(s.domain()).contains(&DS::ServerUpdateProhibited));
            assert_eq!(s.change().who.as_str(), "registry operator");
            assert!(s.msg.contains("the domain is locked"), "{}", s.msg);

            // A change the lock refuses: the operator's serverHold.
            let r = env
                .registry
                .set_server_statuses(&ObjectRef::Domain("lk.test".into()), &["serverHold"], &[])
                .await;
            assert!(r.is_err(), "{r:?}");
            let seen = a.drain().await;
            let s = find(&seen, (Operation::Custom, Some("changeRefused")));
            assert_eq!(
                s.change().reason.as_ref().map(|r| r.as_str()),
                Some("domain is registry-locked")
            );
            assert!(!statuses(s.domain()).contains(&DS::ServerHold));

            // A held publication (the zone publisher's alarm).
            env.registry
                .alarm_locked_delegation("lk.test", "NS would change")
                .await
                .expect("alarm");
            let seen = a.drain().await;
            find(&seen, (Operation::Custom, Some("publishHeld")));

            // Timed unlock: released, then relocked by the scheduler.
            let id = lock_request(
                &mut a.with,
                "lk.test",
                RegistryLockCommand::Unlock {
                    duration: UnlockDuration::from_secs(3600),
                },
            )
            .await;
            let c = code(&env, &kept, id).await;
            env.registry
                .lock_verify(OPERATOR, id, &c)
                .await
                .expect("release");
            let seen = a.drain().await;
            let s = find(&seen, (Operation::Update, Some("unlock")));
            assert!(!statuses(s.domain()).contains(&DS::ServerUpdateProhibited));
            env.clock.advance(chrono::Duration::hours(2));
            env.registry.run_due(env.now()).await.expect("run_due");
            let seen = a.drain().await;
            let s = find(&seen, (Operation::Update, Some("relock")));
            assert!(statuses(s.domain()).contains(&DS::ServerUpdateProhibited));
            assert_eq!(s.change().who.as_str(), "registry");

            // An unlock request an operator files for the registrar, then rejects.
            let req = env
                .registry
                .request_lock(
                    OPERATOR,
                    "lk.test",
                    &RegistryLockCommand::Unlock { duration: None },
                )
                .await
                .expect("operator request");
            env.registry
                .lock_reject(OPERATOR, req.id, "caller could not be verified")
                .await
                .expect("reject");
            let seen = a.drain().await;
            assert_eq!(seen.len(), 2, "{seen:#?}");
            find(&seen, (Operation::Custom, Some("lockRequested")));
            let s = find(&seen, (Operation::Custom, Some("lockRejected")));
            assert_eq!(
                s.change().reason.as_ref().map(|r| r.as_str()),
                Some("caller could not be verified")
            );
            assert!(s.msg.contains("rejected"), "{}", s.msg);
        },
    )
    .await
}

/// The zone publisher's safety valve holds a batch that removes more delegations than it lets
/// through alone: the sponsor hears of each of its domains in the batch, once, and another
/// registrar of nothing; after an operator's approval the batch is published.
async fn safety_valve_held_batch(backend: Backend) {
    use zonegen::publisher::{Publisher, PublisherConfig, StepOutcome};
    if !zonegen::harness::require_tools("safety_valve_held_batch", &["knotd", "knotc"]) {
        return;
    }
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let zone = |s: &str| zonegen::DnsName::new(s).expect("name");
            let reg_a = env.registrar("reg-a").await;
            let reg_b = env.registrar("reg-b").await;
            let mut a = Pair::new(&env, &reg_a).await;
            let mut b = Pair::new(&env, &reg_b).await;
            for (s, who) in [(&mut a.with, "a"), (&mut b.with, "b")] {
                let c = format!("reg-{who}-c1");
                let ns = format!("ns.ext-{who}.example");
                assert_eq!(s.cmd(contact_create(&c, "contact-pw")).await.code, 1000);
                assert_eq!(s.cmd(host_create(&ns, &[])).await.code, 1000);
                let names: &[&str] = if who == "a" {
                    &["va1.test", "va2.test", "va3.test", "va4.test"]
                } else {
                    &["vb1.test"]
                };
                for d in names {
                    let r = s.cmd(domain_create(d, &c, &[&ns], "dom-pw-1")).await;
                    assert_eq!(r.code, 1000, "{}", r.xml);
                }
            }

            let knot =
                zonegen::harness::Knot::start(&zone("test"), |_| Ok(()), None).expect("knot");
            let apex = zonegen::ApexConfig {
                origin: zone("test"),
                mname: zone("ns1.nic.example"),
                rname: zone("hostmaster.nic.example"),
                refresh: 1800,
                retry: 900,
                expire: 604_800,
                minimum: 3600,
                ttl: 3600,
                apex_ns: vec![zone("ns1.nic.example"), zone("ns2.nic.example")],
                apex_glue: Default::default(),
            };
            let mut cfg = PublisherConfig::new(apex, knot.addr(), knot.zone_file.clone());
            cfg.key = Some(knot.key.clone());
            cfg.reload_command = knot.reload_command();
            cfg.reconcile_interval = None;
            cfg.min_held_changes = 2;
            let mut publisher = Publisher::new(
                cfg,
                zonegen::source_db::DbSource::from_db(&env.db),
                zonegen::store::SqlStore::from_db(&env.db),
            )
            .with_lock_check(zonegen::lockcheck::RegistryLockCheck::from_db(&env.db));
            publisher.start().await.expect("start");
            while !matches!(publisher.step().await.expect("step"), StepOutcome::Idle) {}
            assert!(a.drain().await.is_empty());

            // reg-a takes three of its four delegations out of the zone: held.
            for d in ["va1.test", "va2.test", "va3.test"] {
                let mut u = domain_update(d);
                u.rem.ns = Some(epp_proto::domain::NameServers::HostObj(vec![host_name(
                    "ns.ext-a.example",
                )]));
                let r = a.with.cmd(Command::Domain(D::Update(u))).await;
                assert_eq!(r.code, 1000, "{}", r.xml);
            }
            let out = publisher.step().await.expect("step");
            let StepOutcome::Held(batch) = out else {
                panic!("expected a held batch, got {out:?}");
            };
            assert_eq!(batch.removed, 3);
            assert_eq!(batch.reason, zonegen::store::HOLD_REASON_VALVE);
            // Waiting tells nobody again.
            assert!(matches!(
                publisher.step().await.expect("step"),
                StepOutcome::Held(_)
            ));

            let seen = a.drain().await;
            assert_eq!(
                seen.len(),
                3,
                "one message per domain in the batch: {seen:#?}"
            );
            let mut told: Vec<String> = seen
                .iter()
                .map(|s| {
                    assert_eq!(s.op(), (Operation::Custom, Some("batchHeld")));
                    assert_eq!(s.change().who.as_str(), "registry");
                    assert_eq!(
                        s.change().reason.as_ref().map(|r| r.as_str()),
                        Some("zone batch held for review")
                    );
                    assert!(s.msg.contains("batchHeld"), "{}", s.msg);
                    s.domain().name.as_str().to_owned()
                })
                .collect();
            told.sort();
            assert_eq!(told, ["va1.test", "va2.test", "va3.test"]);
            assert!(b.drain().await.is_empty(), "reg-b has nothing in the batch");
            let ops = env.history_ops(ObjectRef::Domain("va2.test".into())).await;
            assert!(ops.iter().any(|o| o == "zone:batchHeld"), "{ops:?}");

            zonegen::approve_held_batch(&env.db, batch.id, "carol")
                .await
                .expect("approve");
            let out = publisher.step().await.expect("step");
            assert!(matches!(out, StepOutcome::Published { .. }), "{out:?}");
        },
    )
    .await
}
