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
    let nsd = Nsd::start(&n("tld"), nsd_port, knot.port).expect("nsd");
    let (domains, hosts) = sample();
    let source = Arc::new(MemorySource::new(domains, hosts));
    let store = MemoryStore::default();
    let mut cfg = config(&knot, Some(nsd_port));
    cfg.min_held_changes = 2;
    let mut publisher = Publisher::new(cfg, source.clone(), store.clone());
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
