//! Issue 12, end to end at the name server: a registry-locked domain's referral in Knot (NS,
//! DS, glue, both its own in-bailiwick name server and one under another registrar's domain)
//! is identical after every attack two registrars can make over EPP; and the publisher check
//! holds a delegation change written straight into the database — it is not published, the
//! sponsor is told (poll message, mail to the lock contact, history note), the metric counts
//! it — until an operator approves the held batch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use epp_proto::domain::{DomainCommand as D, DomainStatus as DS, DomainTransfer, NameServers};
use epp_proto::ext::registry_lock::RegistryLockCommand;
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, SecDnsCreate, SecDnsRem, SecDnsUpdate};
use epp_proto::ext::CommandExtension as X;
use epp_proto::host::{HostAddRem, HostCommand, HostUpdate};
use epp_proto::{Command, StatusEntry, TransferOp};
use registry_core::Store as _;
use registry_store::Db;
use support::core::*;
use support::*;
use zonegen::dns::{DnsClient, Referral};
use zonegen::harness::{require_tools, Knot};
use zonegen::lockcheck::RegistryLockCheck;
use zonegen::publisher::{Publisher, PublisherConfig};
use zonegen::source_db::DbSource;
use zonegen::store::{SqlStore, HOLD_REASON_LOCK};
use zonegen::{ApexConfig, DnsName};

both_backends!(locked_referral_holds_at_knot);

const DIGEST: &str = "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766";
const LOCK_EMAIL: &str = "lock-keeper@reg-a.example";

fn n(s: &str) -> DnsName {
    DnsName::new(s).expect("name")
}

fn apex() -> ApexConfig {
    ApexConfig {
        origin: n("test"),
        mname: n("ns1.nic.example"),
        rname: n("hostmaster.nic.example"),
        refresh: 1800,
        retry: 900,
        expire: 604_800,
        minimum: 3600,
        ttl: 3600,
        apex_ns: vec![n("ns1.nic.example"), n("ns2.nic.example")],
        apex_glue: Default::default(),
    }
}

fn ns_update(name: &str, add: &[&str], rem: &[&str]) -> Command {
    let hosts = |v: &[&str]| {
        (!v.is_empty()).then(|| NameServers::HostObj(v.iter().map(|h| host_name(h)).collect()))
    };
    let mut u = domain_update(name);
    u.add.ns = hosts(add);
    u.rem.ns = hosts(rem);
    Command::Domain(D::Update(u))
}

fn status_update(name: &str, add: Option<DS>, rem: Option<DS>) -> Command {
    let mut u = domain_update(name);
    u.add.statuses = add.into_iter().map(StatusEntry::new).collect();
    u.rem.statuses = rem.into_iter().map(StatusEntry::new).collect();
    Command::Domain(D::Update(u))
}

fn host_update(name: &str, add: &[&str], rem: &[&str], new_name: Option<&str>) -> Command {
    Command::Host(HostCommand::Update(HostUpdate {
        name: host_name(name),
        add: HostAddRem {
            addrs: add.iter().map(|a| ip(a)).collect(),
            statuses: Vec::new(),
        },
        rem: HostAddRem {
            addrs: rem.iter().map(|a| ip(a)).collect(),
            statuses: Vec::new(),
        },
        new_name: new_name.map(host_name),
    }))
}

fn ds_data() -> DsData {
    DsData {
        key_tag: 2371,
        alg: 13,
        digest_type: 2,
        digest: DIGEST.into(),
        key_data: None,
    }
}

/// The lock procedure as registry-admin runs it: request, code by mail, verification.
async fn lock(env: &CoreEnv, domain: &str) {
    let req = env
        .registry
        .request_lock("alice", domain, &RegistryLockCommand::Lock)
        .await
        .expect("lock request");
    let (_, mail) = env.registry.lock_request(req.id).await.expect("request");
    let code = mail
        .iter()
        .find(|m| m.kind == "lockCode")
        .and_then(|m| {
            m.body
                .lines()
                .map(str::trim)
                .find(|l| l.len() == 11 && l.as_bytes()[5] == b'-')
                .map(str::to_owned)
        })
        .expect("code in the lock mail");
    let mailer = registry_mail::Mailer::Log {
        from: "lock@registry.test".into(),
    };
    env.registry.send_mail(&mailer).await.expect("send");
    let out = env
        .registry
        .lock_verify("bob", req.id, &code)
        .await
        .expect("verify");
    assert_eq!(out, registry_core::VerifyOutcome::Applied);
}

/// Polls Knot until the referral for `name` satisfies `check` (at most 10 s).
async fn at_knot(knot: &DnsClient, name: &str, what: &str, check: impl Fn(&Referral) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = knot.referral(&n(name)).await;
        if let Ok(r) = &r {
            if check(r) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: Knot never showed it for {name}; last answer {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The journal's head position (after numbering what is committed).
async fn journal_head(env: &CoreEnv) -> i64 {
    let entries = env
        .registry
        .store()
        .journal_since(0, u32::MAX)
        .await
        .expect("journal");
    entries.last().map(|e| e.position).unwrap_or(0)
}

/// A delegation change written straight into the database, past the core: the intruder's
/// (or a bug's) journal row moving the glue of the locked domain's name server.
async fn direct_journal_write(db: &Db, host: &str, addr: &str) {
    let data = serde_json::json!({ "addrs": [addr] }).to_string();
    let at = chrono::Utc::now();
    match db {
        Db::Sqlite(p) => {
            sqlx::query(
                "INSERT INTO zone_journal (at, kind, name, data) VALUES ($1, 'host', $2, $3)",
            )
            .bind(at)
            .bind(host)
            .bind(&data)
            .execute(p)
            .await
            .expect("insert");
        }
        Db::Postgres(p) => {
            sqlx::query(
                "INSERT INTO zone_journal (at, kind, name, data) VALUES ($1, 'host', $2, $3)",
            )
            .bind(at)
            .bind(host)
            .bind(&data)
            .execute(p)
            .await
            .expect("insert");
        }
    }
}

async fn locked_referral_holds_at_knot(backend: Backend) {
    if !require_tools("locked_referral_holds_at_knot", &["knotd", "knotc"]) {
        return;
    }
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let knot = Knot::start(&n("test"), |_| Ok(()), None).expect("knot");
            let mut cfg = PublisherConfig::new(apex(), knot.addr(), knot.zone_file.clone());
            cfg.key = Some(knot.key.clone());
            cfg.reload_command = knot.reload_command();
            cfg.poll_interval = Duration::from_millis(25);
            cfg.reconcile_interval = None;
            cfg.dns_timeout = Duration::from_secs(5);
            cfg.reload_timeout = Duration::from_secs(20);
            let mut publisher =
                Publisher::new(cfg, DbSource::from_db(&env.db), SqlStore::from_db(&env.db))
                    .with_lock_check(RegistryLockCheck::from_db(&env.db));
            let metrics = publisher.metrics();
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let running = tokio::spawn(async move { publisher.run(stopped).await });
            let dns = DnsClient::new(knot.addr(), None, Duration::from_secs(5));

            // reg-b sponsors other.test and its host ns1.other.test; reg-a's locked.test uses
            // that host, its own ns1.locked.test (glue) and an external one, with a DS.
            let (_, mut a) = env.new_session("reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            // The lock contact as `registry-admin propose registrar set-lock-contact` sets
            // it once approved (the two-person rule has its own tests).
            env.registry
                .store()
                .set_lock_contact(
                    &registry_core::model::LockContact {
                        cl_id: "reg-a".into(),
                        name: "Lock Keeper".into(),
                        phone: "+1.5555550100".into(),
                        email: LOCK_EMAIL.into(),
                    },
                    registry_core::clock::Clock::now(&env.clock),
                )
                .await
                .expect("set-lock-contact");
            b.cmd(contact_create("b-c1", "contact-pw")).await.ok();
            b.cmd(domain_create("other.test", "b-c1", &[], "dom-pw-b"))
                .await
                .ok();
            b.cmd(host_create("ns1.other.test", &["192.0.2.7"]))
                .await
                .ok();
            b.cmd(ns_update("other.test", &["ns1.other.test"], &[]))
                .await
                .ok();
            a.cmd(contact_create("a-c1", "contact-pw")).await.ok();
            a.cmd(host_create("ns.provider.example", &[])).await.ok();
            a.cmd_ext(
                domain_create(
                    "locked.test",
                    "a-c1",
                    &["ns.provider.example", "ns1.other.test"],
                    "dom-pw-a",
                ),
                vec![X::SecDnsCreate(SecDnsCreate {
                    max_sig_life: None,
                    data: DsOrKeyData::Ds(vec![ds_data()]),
                })],
            )
            .await
            .ok();
            a.cmd(host_create(
                "ns1.locked.test",
                &["192.0.2.1", "2001:db8::1"],
            ))
            .await
            .ok();
            a.cmd(ns_update("locked.test", &["ns1.locked.test"], &[]))
                .await
                .ok();
            at_knot(&dns, "locked.test", "the delegation before the lock", |r| {
                r.ns.len() == 3 && r.glue.len() == 2 && r.ds.len() == 1
            })
            .await;

            lock(&env, "locked.test").await;
            let before = dns.referral(&n("locked.test")).await.expect("referral");
            let zone_before = dns.axfr(&n("test"), 1000).await.expect("axfr");

            // Every attack two registrars can make on the delegation and what it links to.
            let rem_ds = X::SecDnsUpdate(SecDnsUpdate {
                urgent: false,
                rem: Some(SecDnsRem::All),
                add: None,
                chg_max_sig_life: None,
            });
            let transfer = Command::Domain(D::Transfer(DomainTransfer {
                op: TransferOp::Request,
                name: host_name("locked.test"),
                period: None,
                auth_info: Some(auth("dom-pw-a")),
            }));
            let host_delete = |h: &str| Command::Host(HostCommand::Delete(host_name(h)));
            // (what, 0 = reg-a (the sponsor) / 1 = reg-b, command, extensions)
            let attacks: Vec<(&str, usize, Command, Vec<X>)> = vec![
                (
                    "NS add",
                    0,
                    ns_update("locked.test", &["ns.evil.example"], &[]),
                    vec![],
                ),
                (
                    "NS rem",
                    0,
                    ns_update("locked.test", &[], &["ns1.other.test"]),
                    vec![],
                ),
                (
                    "clientHold",
                    0,
                    status_update("locked.test", Some(DS::ClientHold), None),
                    vec![],
                ),
                (
                    "DS removal",
                    0,
                    Command::Domain(D::Update(domain_update("locked.test"))),
                    vec![rem_ds],
                ),
                (
                    "own glue",
                    0,
                    host_update("ns1.locked.test", &["198.51.100.1"], &["192.0.2.1"], None),
                    vec![],
                ),
                (
                    "own host rename",
                    0,
                    host_update("ns1.locked.test", &[], &[], Some("ns9.locked.test")),
                    vec![],
                ),
                ("own host delete", 0, host_delete("ns1.locked.test"), vec![]),
                ("delete", 0, domain_delete("locked.test"), vec![]),
                (
                    "linked glue",
                    1,
                    host_update("ns1.other.test", &["198.51.100.66"], &["192.0.2.7"], None),
                    vec![],
                ),
                (
                    "linked host rename",
                    1,
                    host_update("ns1.other.test", &[], &[], Some("ns1.evil.example")),
                    vec![],
                ),
                (
                    "linked host delete",
                    1,
                    host_delete("ns1.other.test"),
                    vec![],
                ),
                (
                    "superordinate hold",
                    1,
                    status_update("other.test", Some(DS::ClientHold), None),
                    vec![],
                ),
                (
                    "superordinate delete",
                    1,
                    domain_delete("other.test"),
                    vec![],
                ),
                ("transfer request", 1, transfer, vec![]),
            ];
            for (what, who, cmd, ext) in attacks {
                let s = if who == 0 { &mut a } else { &mut b };
                let r = s.cmd_ext(cmd, ext).await;
                // clientHold on the superordinate domain does not take its hosts' glue out of
                // the zone (the generator keeps glue a delegation uses), so it may be accepted:
                // the referral comparison below is what decides.
                if what != "superordinate hold" {
                    assert!(r.code >= 2000, "{what}: accepted ({}): {}", r.code, r.xml);
                }
            }
            // The publisher has seen everything the core wrote.
            let head = journal_head(&env).await;
            eventually("the publisher to catch up", || async {
                metrics.snapshot().last_position >= head
            })
            .await;
            let after = dns.referral(&n("locked.test")).await.expect("referral");
            assert_eq!(after, before, "the locked referral changed at Knot");
            let zone_after = dns.axfr(&n("test"), 1000).await.expect("axfr");
            for owner in ["locked.test", "ns1.locked.test", "ns1.other.test"] {
                assert_eq!(
                    zone_after.nodes.get(&n(owner)),
                    zone_before.nodes.get(&n(owner)),
                    "{owner} changed in the served zone"
                );
            }

            // Past the core: a journal row moving the linked name server's glue. Held.
            let mut polls_before = 0;
            let r = a
                .cmd(Command::Poll(epp_proto::session::Poll::Request))
                .await;
            if r.code == 1301 {
                polls_before = r.response.msg_q.as_ref().map(|q| q.count).unwrap_or(0);
            }
            direct_journal_write(&env.db, "ns1.other.test", "198.51.100.66").await;
            eventually("the publisher check to hold the batch", || async {
                metrics.snapshot().lock_holds == 1
            })
            .await;
            assert_eq!(metrics.snapshot().held_batches, 1);
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert_eq!(
                dns.referral(&n("locked.test")).await.expect("referral"),
                before,
                "a held change reached Knot"
            );
            let held = zonegen::pending_held_batches(&env.db, Some("test"))
                .await
                .expect("held");
            assert_eq!(held.len(), 1, "{held:?}");
            assert_eq!(held[0].reason, HOLD_REASON_LOCK);
            // The alarm: history note, poll message to the sponsor, mail to its lock contact.
            let ops = env
                .history_ops(registry_core::ObjectRef::Domain("locked.test".into()))
                .await;
            assert!(ops.iter().any(|o| o == "lock:publishHeld"), "{ops:?}");
            let r = a
                .cmd(Command::Poll(epp_proto::session::Poll::Request))
                .await;
            assert_eq!(r.code, 1301, "{}", r.xml);
            let count = r.response.msg_q.as_ref().map(|q| q.count).unwrap_or(0);
            assert!(count > polls_before, "no new poll message: {}", r.xml);
            let mail = env
                .registry
                .store()
                .outbox_due(env.now() + chrono::Duration::days(1), 100)
                .await
                .expect("outbox");
            assert!(
                mail.iter()
                    .any(|m| m.recipient == LOCK_EMAIL && m.subject.contains("locked.test")),
                "{mail:?}"
            );

            // An operator's approval publishes it as it is.
            zonegen::approve_held_batch(&env.db, held[0].id, "carol")
                .await
                .expect("approve");
            at_knot(&dns, "locked.test", "the approved batch", |r| {
                r.glue.get(&n("ns1.other.test")) == Some(&vec![ip("198.51.100.66")])
            })
            .await;

            let _ = stop.send(true);
            running.await.expect("publisher task");
        },
    )
    .await;
}
