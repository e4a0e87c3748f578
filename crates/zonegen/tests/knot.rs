//! End to end: a publisher drives a Knot primary (TSIG UPDATEs) and an NSD secondary.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use zonegen::dns::{DnsClient, Referral};
use zonegen::harness::{free_port, kzonecheck, require_tools, Knot, Nsd};
use zonegen::master::write_master_file;
use zonegen::publisher::{Publisher, PublisherConfig, StepOutcome};
use zonegen::source::MemorySource;
use zonegen::store::{MemoryStore, PublisherStore};
use zonegen::{zone_contents, Change};

fn config(knot: &Knot, notify: Option<u16>) -> PublisherConfig {
    let mut cfg = PublisherConfig::new(apex(), knot.addr(), knot.zone_file.clone());
    cfg.key = Some(knot.key.clone());
    cfg.notify_key = Some(knot.key.clone());
    cfg.reload_command = knot.reload_command();
    cfg.notify = notify
        .map(|p| vec![std::net::SocketAddr::from(([127, 0, 0, 1], p))])
        .unwrap_or_default();
    cfg.dns_timeout = Duration::from_secs(5);
    cfg.reload_timeout = Duration::from_secs(20);
    cfg.reconcile_interval = None;
    cfg
}

async fn referral(client: &DnsClient, name: &str) -> Referral {
    client.referral(&n(name)).await.expect("query")
}

/// Polls `client` until `check` holds (secondaries are asynchronous), at most 10 s.
async fn eventually(
    client: &DnsClient,
    name: &str,
    check: impl Fn(&Referral) -> bool,
) -> Result<Referral, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = client.referral(&n(name)).await;
        if let Ok(r) = &r {
            if check(r) {
                return Ok(r.clone());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{name} never matched at {}: {r:?}", client.server));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_changes_to_knot_and_nsd() {
    if !require_tools(
        "publishes_changes_to_knot_and_nsd",
        &["knotd", "knotc", "nsd"],
    ) {
        return;
    }
    let nsd_port = free_port().expect("port");
    // The zone starts unloaded: the publisher's first act is a full reload.
    let knot = Knot::start(&n("tld"), |_| Ok(()), Some(nsd_port)).expect("knot");
    let nsd = Nsd::start(&n("tld"), nsd_port, &knot).expect("nsd");
    let (domains, hosts) = sample();
    let source = Arc::new(MemorySource::new(domains, hosts));
    let store = MemoryStore::default();
    let mut cfg = config(&knot, Some(nsd_port));
    cfg.min_held_changes = 2;
    let lock_check = Arc::new(zonegen::lockcheck::MemoryLockCheck::default());
    let mut publisher =
        Publisher::new(cfg, source.clone(), store.clone()).with_lock_check(lock_check.clone());
    publisher.start().await.expect("start");
    let metrics = publisher.metrics();
    assert_eq!(metrics.snapshot().full_reloads, 1);

    let primary = DnsClient::new(knot.addr(), None, Duration::from_secs(5));
    let secondary = DnsClient::new(nsd.addr(), None, Duration::from_secs(5));
    let r = referral(&primary, "signed.tld").await;
    assert_eq!(r.ns, vec![n("ns.provider.example"), n("ns1.signed.tld")]);
    assert_eq!(r.ds, vec![ds(1234), ds(2371)]);
    assert_eq!(
        r.glue.get(&n("ns1.signed.tld")),
        Some(&vec![ip("198.51.100.7")])
    );
    eventually(&secondary, "signed.tld", |r| r.ds.len() == 2)
        .await
        .expect("secondary");
    assert!(referral(&primary, "held.tld").await.ns.is_empty());

    // NS change with new in-domain glue, in one batch.
    source.push(Change::Host {
        name: n("ns3.example.tld"),
        addrs: vec![ip("192.0.2.3")],
    });
    source.push(Change::Domain(dom(
        "example.tld",
        &["ns1.example.tld", "ns3.example.tld"],
    )));
    let out = publisher.step().await.expect("step");
    assert!(matches!(out, StepOutcome::Published { .. }), "{out:?}");
    let r = referral(&primary, "example.tld").await;
    assert_eq!(r.ns, vec![n("ns1.example.tld"), n("ns3.example.tld")]);
    assert_eq!(
        r.glue.get(&n("ns3.example.tld")),
        Some(&vec![ip("192.0.2.3")])
    );
    eventually(&secondary, "example.tld", |r| {
        r.ns.contains(&n("ns3.example.tld"))
    })
    .await
    .expect("secondary");
    // ns2.example.tld is no longer used by anyone: its glue is gone.
    let served = primary.axfr(&n("tld"), 1000).await.expect("axfr");
    assert!(!served.nodes.contains_key(&n("ns2.example.tld")));

    // Hold, then release; delete, then restore.
    let mut held = dom("signed.tld", &["ns1.signed.tld", "ns.provider.example"]);
    held.ds = vec![ds(2371), ds(1234)];
    held.on_hold = true;
    source.push(Change::Domain(held.clone()));
    publisher.step().await.expect("step");
    assert!(referral(&primary, "signed.tld").await.ns.is_empty());
    assert!(referral(&primary, "signed.tld").await.ds.is_empty());
    eventually(&secondary, "signed.tld", |r| r.ns.is_empty())
        .await
        .expect("secondary");
    held.on_hold = false;
    source.push(Change::Domain(held));
    publisher.step().await.expect("step");
    assert_eq!(referral(&primary, "signed.tld").await.ds.len(), 2);
    source.push(Change::DomainDeleted(n("out.tld")));
    publisher.step().await.expect("step");
    assert!(referral(&primary, "out.tld").await.ns.is_empty());
    source.push(Change::Domain(dom("out.tld", &["a.ns.example.net"])));
    publisher.step().await.expect("step");
    assert_eq!(
        referral(&primary, "out.tld").await.ns,
        vec![n("a.ns.example.net")]
    );
    eventually(&secondary, "out.tld", |r| {
        r.ns == vec![n("a.ns.example.net")]
    })
    .await
    .expect("secondary");

    // Safety valve: removing 3 of 5 delegations is held until approved.
    for name in ["example.tld", "signed.tld", "out.tld"] {
        source.push(Change::DomainDeleted(n(name)));
    }
    let out = publisher.step().await.expect("step");
    let StepOutcome::Held(batch) = out else {
        panic!("expected a held batch, got {out:?}");
    };
    assert_eq!(batch.removed, 3);
    assert_eq!(metrics.snapshot().held_batches, 1);
    assert!(matches!(
        publisher.step().await.expect("step"),
        StepOutcome::Held(_)
    ));
    // The sponsors are told once, of each domain in the batch (not again while it waits).
    let held = lock_check.held.lock().unwrap().clone();
    assert_eq!(held.len(), 1, "{held:?}");
    let mut told = held[0].0.clone();
    told.sort();
    assert_eq!(told, ["example.tld", "out.tld", "signed.tld"]);
    assert!(
        held[0].1.contains(&format!("held batch {}", batch.id)),
        "{held:?}"
    );
    assert_eq!(
        referral(&primary, "out.tld").await.ns.len(),
        1,
        "held batch leaked"
    );
    store.approve(batch.id, "operator").await.expect("approve");
    let out = publisher.step().await.expect("step");
    assert!(matches!(out, StepOutcome::Published { .. }), "{out:?}");
    assert!(referral(&primary, "out.tld").await.ns.is_empty());
    assert_eq!(metrics.snapshot().held_batches, 0);

    // Reconciliation: clean, then drift injected behind the publisher's back.
    let report = publisher.reconcile().await.expect("reconcile");
    assert!(!report.drift(), "{report:?}");
    let rogue = zonegen::dns::build_update(
        &apex(),
        publisher.serial(),
        publisher.serial() + 1,
        &[zonegen::zone::NodeDiff {
            owner: n("rogue.tld"),
            old: None,
            new: Some(zonegen::Node {
                ns: vec![n("ns.evil.example")],
                ..Default::default()
            }),
        }],
    )
    .expect("build");
    let signed = DnsClient::new(knot.addr(), Some(knot.key.clone()), Duration::from_secs(5));
    signed.update(rogue).await.expect("rogue update");
    let report = publisher.reconcile().await.expect("reconcile");
    assert!(report.drift());
    assert_eq!(report.differing_owners.len(), 1);
    assert_eq!(metrics.snapshot().drift_alarms, 1);
    // Repair (re-diff), and the next publication is conditional on the repaired serial.
    assert!(matches!(
        publisher.step().await.expect("step"),
        StepOutcome::Resynced { .. }
    ));
    assert!(!publisher.reconcile().await.expect("reconcile").drift());
    assert!(referral(&primary, "rogue.tld").await.ns.is_empty());

    // A serial bump behind our back makes the prerequisite fail: full reload.
    let bump = zonegen::dns::build_update(&apex(), publisher.serial(), publisher.serial() + 5, &[])
        .expect("build");
    signed.update(bump).await.expect("bump");
    source.push(Change::Domain(dom("new.tld", &["ns.provider.example"])));
    let reloads = metrics.snapshot().full_reloads;
    assert!(matches!(
        publisher.step().await.expect("step"),
        StepOutcome::Published { .. }
    ));
    assert_eq!(metrics.snapshot().full_reloads, reloads + 1);
    assert_eq!(
        referral(&primary, "new.tld").await.ns,
        vec![n("ns.provider.example")]
    );
    if let Err(e) = eventually(&secondary, "new.tld", |r| !r.ns.is_empty()).await {
        panic!("{e}\nNSD log:\n{}\nKnot log:\n{}", nsd.log(), knot.log());
    }

    // The master file the publisher wrote is valid and equals a fresh generation.
    assert!(!publisher.reconcile().await.expect("reconcile").drift());
    let served = primary.axfr(&n("tld"), 1000).await.expect("axfr");
    let (d, h) = source.current();
    let (fresh, _) = zone_contents(&apex(), &d, &h);
    assert_eq!(served.nodes, fresh.nodes);
    assert_eq!(metrics.snapshot().last_serial, u64::from(served.serial));
    if require_tools(
        "publishes_changes_to_knot_and_nsd/kzonecheck",
        &["kzonecheck"],
    ) {
        let k = kzonecheck(&knot.zone_file, &n("tld")).expect("kzonecheck");
        assert!(k.ok, "{}", k.output);
    }
}

/// The publisher dies in the middle of a multi-message batch; a new one repairs the zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_batch_then_restart() {
    if !require_tools("crash_mid_batch_then_restart", &["knotd", "knotc"]) {
        return;
    }
    let (domains, hosts) = sample();
    let (zone, _) = zone_contents(&apex(), &domains, &hosts);
    let knot = Knot::start(
        &n("tld"),
        |p| write_master_file(&zone, 100, p).map_err(std::io::Error::other),
        None,
    )
    .expect("knot");
    let source = Arc::new(MemorySource::new(domains, hosts));
    let store = MemoryStore::default();
    let mut cfg = config(&knot, None);
    cfg.max_update_bytes = 400; // several UPDATE messages per batch
    cfg.max_change_share = 1.0;
    let mut first = Publisher::new(cfg.clone(), source.clone(), store.clone());
    first.start().await.expect("start");
    assert_eq!(
        first.metrics().snapshot().full_reloads,
        0,
        "loaded zone was trusted"
    );
    let before = store.load("tld").await.expect("load").expect("state");
    for i in 0..30 {
        source.push(Change::Domain(dom(
            &format!("d{i}.tld"),
            &["ns1.example.tld"],
        )));
    }
    first.crash_before_update = Some(2);
    let err = first.step().await.expect_err("crash");
    assert!(matches!(
        err,
        zonegen::publisher::PublishError::InjectedCrash
    ));
    drop(first);
    // The crash left the zone half-published and the stored position unchanged.
    let primary = DnsClient::new(knot.addr(), None, Duration::from_secs(5));
    let half = primary.axfr(&n("tld"), 1000).await.expect("axfr");
    let delegated = half
        .nodes
        .keys()
        .filter(|k| k.as_str().starts_with('d'))
        .count();
    assert!(
        delegated > 0 && delegated < 30,
        "{delegated} of 30 published before the crash"
    );
    assert_eq!(store.load("tld").await.expect("load"), Some(before));

    let mut second = Publisher::new(cfg, source.clone(), store.clone());
    second.start().await.expect("restart");
    let served = primary.axfr(&n("tld"), 1000).await.expect("axfr");
    let (d, h) = source.current();
    let (fresh, _) = zone_contents(&apex(), &d, &h);
    assert_eq!(served.nodes, fresh.nodes);
    let after = store.load("tld").await.expect("load").expect("state");
    assert_eq!(after.position, source.position());
    assert_eq!(after.serial, served.serial);
    assert_eq!(
        second.metrics().snapshot().full_reloads,
        0,
        "repaired by re-diff"
    );
    // Nothing is applied twice: the next step has nothing to do.
    assert_eq!(second.step().await.expect("step"), StepOutcome::Idle);
}

/// A restart with the served serial equal to the stored one resumes from the stored position
/// (no AXFR, no re-diff) and publishes what came in meanwhile as ordinary batches; a restart
/// after a change behind the publisher's back, even one that tries to keep the serial, or
/// with another apex configured, takes the full start-up reconcile and repairs the zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_when_serial_matches() {
    if !require_tools("restart_resumes_when_serial_matches", &["knotd", "knotc"]) {
        return;
    }
    let (domains, hosts) = sample();
    let (zone, _) = zone_contents(&apex(), &domains, &hosts);
    let knot = Knot::start(
        &n("tld"),
        |p| write_master_file(&zone, 100, p).map_err(std::io::Error::other),
        None,
    )
    .expect("knot");
    let source = Arc::new(MemorySource::new(domains, hosts));
    let store = MemoryStore::default();
    let cfg = config(&knot, None);
    let primary = DnsClient::new(knot.addr(), None, Duration::from_secs(5));
    let fresh = || {
        let (d, h) = source.current();
        zone_contents(&apex(), &d, &h).0.nodes
    };

    let mut first = Publisher::new(cfg.clone(), source.clone(), store.clone());
    assert!(matches!(
        first.start().await.expect("start"),
        StepOutcome::Resynced { .. }
    ));
    source.push(Change::Domain(dom("one.tld", &["ns.provider.example"])));
    assert!(matches!(
        first.step().await.expect("step"),
        StepOutcome::Published { .. }
    ));
    let stored = store.load("tld").await.expect("load").expect("state");
    drop(first);

    // Down for a while: a new delegation, an NS change with new glue, a removal.
    source.push(Change::Host {
        name: n("ns9.example.tld"),
        addrs: vec![ip("192.0.2.99")],
    });
    source.push(Change::Domain(dom("example.tld", &["ns9.example.tld"])));
    source.push(Change::Domain(dom("two.tld", &["ns.provider.example"])));
    source.push(Change::DomainDeleted(n("one.tld")));

    let mut second = Publisher::new(cfg.clone(), source.clone(), store.clone());
    assert_eq!(
        second.start().await.expect("resume"),
        StepOutcome::Resumed {
            serial: stored.serial,
            position: stored.position
        }
    );
    assert_eq!(second.position(), stored.position);
    let out = second.step().await.expect("step");
    assert!(matches!(out, StepOutcome::Published { .. }), "{out:?}");
    assert_eq!(second.step().await.expect("step"), StepOutcome::Idle);
    let served = primary.axfr(&n("tld"), 1000).await.expect("axfr");
    assert_eq!(served.nodes, fresh());
    assert!(
        !served.nodes.contains_key(&n("ns2.example.tld")),
        "old glue gone"
    );
    assert!(!second.reconcile().await.expect("reconcile").drift());
    assert_eq!(second.metrics().snapshot().full_reloads, 0);
    let stored = store.load("tld").await.expect("load").expect("state");
    assert_eq!(stored.position, source.position());
    assert_eq!(stored.serial, served.serial);
    drop(second);

    // A rogue UPDATE that sets the same serial: Knot still moves the serial on, so the next
    // start sees a mismatch and reconciles in full.
    let rogue = zonegen::dns::build_update(
        &apex(),
        stored.serial,
        stored.serial,
        &[zonegen::zone::NodeDiff {
            owner: n("rogue.tld"),
            old: None,
            new: Some(zonegen::Node {
                ns: vec![n("ns.evil.example")],
                ..Default::default()
            }),
        }],
    )
    .expect("build");
    let signed = DnsClient::new(knot.addr(), Some(knot.key.clone()), Duration::from_secs(5));
    signed.update(rogue).await.expect("rogue update");
    assert_eq!(
        referral(&primary, "rogue.tld").await.ns,
        vec![n("ns.evil.example")]
    );
    let served_serial = primary
        .soa_serial(&n("tld"))
        .await
        .expect("soa")
        .expect("served");
    assert_ne!(served_serial, stored.serial, "Knot kept the serial");
    let mut third = Publisher::new(cfg.clone(), source.clone(), store.clone());
    assert!(matches!(
        third.start().await.expect("start"),
        StepOutcome::Resynced { .. }
    ));
    assert!(referral(&primary, "rogue.tld").await.ns.is_empty());
    assert_eq!(
        primary.axfr(&n("tld"), 1000).await.expect("axfr").nodes,
        fresh()
    );
    drop(third);

    // Same serial, but the apex name servers' addresses were reconfigured: full path, which
    // brings the served glue in line.
    let mut moved = cfg.clone();
    moved
        .apex
        .apex_glue
        .insert(n("ns1.nic.tld"), vec![ip("192.0.2.153")]);
    let mut fourth = Publisher::new(moved, source.clone(), store.clone());
    assert!(matches!(
        fourth.start().await.expect("start"),
        StepOutcome::Resynced { .. }
    ));
    assert_eq!(
        primary.addresses(&n("ns1.nic.tld")).await.expect("query"),
        vec![ip("192.0.2.153")]
    );
    drop(fourth);

    // Nothing changed since: the original configuration is now the one that differs, and a
    // repeat of the moved one resumes.
    let mut moved = cfg.clone();
    moved
        .apex
        .apex_glue
        .insert(n("ns1.nic.tld"), vec![ip("192.0.2.153")]);
    let mut fifth = Publisher::new(moved, source.clone(), store.clone());
    assert!(matches!(
        fifth.start().await.expect("start"),
        StepOutcome::Resumed { .. }
    ));
    let mut sixth = Publisher::new(cfg, source.clone(), store.clone());
    assert!(matches!(
        sixth.start().await.expect("start"),
        StepOutcome::Resynced { .. }
    ));
}

/// NSD in the harness requires the TSIG key for NOTIFY: an unsigned NOTIFY or one signed
/// with another key is refused, the publisher's signed one is acknowledged (and the
/// acknowledgement's signature checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsd_requires_signed_notify() {
    if !require_tools("nsd_requires_signed_notify", &["knotd", "knotc", "nsd"]) {
        return;
    }
    let nsd_port = free_port().expect("port");
    let (domains, hosts) = sample();
    let (zone, _) = zone_contents(&apex(), &domains, &hosts);
    let knot = Knot::start(
        &n("tld"),
        |p| write_master_file(&zone, 100, p).map_err(std::io::Error::other),
        Some(nsd_port),
    )
    .expect("knot");
    let nsd = Nsd::start(&n("tld"), nsd_port, &knot).expect("nsd");
    let secondary = DnsClient::new(nsd.addr(), None, Duration::from_secs(5));
    // NSD transfers with the key (Knot's signed ACL): the zone arrives.
    eventually(&secondary, "signed.tld", |r| r.ds.len() == 2)
        .await
        .unwrap_or_else(|e| panic!("{e}\nNSD log:\n{}", nsd.log()));

    let timeout = Duration::from_secs(3);
    let unsigned = DnsClient::new(nsd.addr(), None, timeout);
    let err = unsigned.notify(&apex(), 101).await.expect_err("unsigned");
    assert!(
        matches!(err, zonegen::dns::DnsError::Rcode { .. }),
        "unsigned NOTIFY: {err:?}"
    );
    let (other_key, _) =
        zonegen::dns::TsigKey::generate(zonegen::harness::TEST_KEY_NAME).expect("key");
    let forged = DnsClient::new(nsd.addr(), Some(other_key), timeout);
    let err = forged.notify(&apex(), 101).await.expect_err("wrong key");
    assert!(
        matches!(
            err,
            zonegen::dns::DnsError::Rcode { .. } | zonegen::dns::DnsError::Tsig { .. }
        ),
        "NOTIFY with a wrong key: {err:?}"
    );
    let signed = DnsClient::new(nsd.addr(), Some(knot.key.clone()), timeout);
    signed
        .notify(&apex(), 101)
        .await
        .unwrap_or_else(|e| panic!("signed NOTIFY: {e}\nNSD log:\n{}", nsd.log()));
}
