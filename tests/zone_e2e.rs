//! Issue #6 end to end: EPP commands over real TLS change the registry (in-process server
//! with the registry core on SQLite), the zone publisher runs in-process on the same
//! database, and a real Knot on a loopback port serves the result. Every step is checked by
//! asking Knot for the referral (NS, glue, DS) as a resolver would: create with NS and DS,
//! in-bailiwick glue, NS change, clientHold, delete into redemption, restore, and a domain
//! locked by the registry (server*Prohibited, what an applied registry lock sets) whose
//! delegation cannot change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use epp_proto::domain::{DomainCommand as D, DomainStatus as DS, NameServers};
use epp_proto::ext::rgp::{RgpReport, RgpUpdate};
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, SecDnsCreate};
use epp_proto::ext::CommandExtension as X;
use epp_proto::{Command, StatusEntry};
use registry_core::ObjectRef;
use support::core::*;
use support::*;
use zonegen::dns::{DnsClient, Referral};
use zonegen::harness::{require_tools, Knot};
use zonegen::publisher::{Publisher, PublisherConfig};
use zonegen::source_db::DbSource;
use zonegen::store::SqlStore;
use zonegen::{ApexConfig, DnsName, Ds};

const DIGEST: &str = "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766";

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

fn hold(name: &str, on: bool) -> Command {
    let mut u = domain_update(name);
    let s = vec![StatusEntry::new(DS::ClientHold)];
    if on {
        u.add.statuses = s;
    } else {
        u.rem.statuses = s;
    }
    Command::Domain(D::Update(u))
}

fn restore(name: &str, op: RgpUpdate) -> (Command, Vec<X>) {
    (
        Command::Domain(D::Update(domain_update(name))),
        vec![X::RgpUpdate(op)],
    )
}

/// Polls Knot until the referral for `name` satisfies `check` (at most 5 s).
async fn at_knot(knot: &DnsClient, name: &str, what: &str, check: impl Fn(&Referral) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epp_changes_reach_knot() {
    if !require_tools("epp_changes_reach_knot", &["knotd", "knotc"]) {
        return;
    }
    run_core(
        Backend::Sqlite,
        |_, _| {},
        |env| async move {
            // Knot starts without the zone: the publisher's first act is a full reload.
            let knot = Knot::start(&n("test"), |_| Ok(()), None).expect("knot");
            let mut cfg = PublisherConfig::new(apex(), knot.addr(), knot.zone_file.clone());
            cfg.key = Some(knot.key.clone());
            cfg.reload_command = knot.reload_command();
            cfg.poll_interval = Duration::from_millis(25);
            cfg.reconcile_interval = None;
            cfg.dns_timeout = Duration::from_secs(5);
            cfg.reload_timeout = Duration::from_secs(20);
            let mut publisher =
                Publisher::new(cfg, DbSource::from_db(&env.db), SqlStore::from_db(&env.db));
            let metrics = publisher.metrics();
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let running = tokio::spawn(async move { publisher.run(stopped).await });
            let dns = DnsClient::new(knot.addr(), None, Duration::from_secs(5));

            let (_, mut s) = env.new_session("zone-reg").await;
            s.cmd(contact_create("zone-c1", "contact-pw")).await.ok();
            s.cmd(host_create("ns.provider.example", &[])).await.ok();
            // Created with an external name server and a DS (secDNS).
            let ds_data = DsData {
                key_tag: 2371,
                alg: 13,
                digest_type: 2,
                digest: DIGEST.into(),
                key_data: None,
            };
            s.cmd_ext(
                domain_create(
                    "example.test",
                    "zone-c1",
                    &["ns.provider.example"],
                    "dom-pw-1",
                ),
                vec![X::SecDnsCreate(SecDnsCreate {
                    max_sig_life: None,
                    data: DsOrKeyData::Ds(vec![ds_data]),
                })],
            )
            .await
            .ok();
            let ds = Ds::from_hex(2371, 13, 2, DIGEST).expect("ds");
            at_knot(&dns, "example.test", "create with NS and DS", |r| {
                r.ns == [n("ns.provider.example")] && r.ds == [ds.clone()]
            })
            .await;

            // An in-bailiwick name server with glue: its superordinate domain exists now.
            s.cmd(host_create(
                "ns1.example.test",
                &["192.0.2.1", "2001:db8::1"],
            ))
            .await
            .ok();
            s.cmd(ns_update("example.test", &["ns1.example.test"], &[]))
                .await
                .ok();
            at_knot(&dns, "example.test", "two NS, glue and DS", |r| {
                r.ns == [n("ns.provider.example"), n("ns1.example.test")]
                    && r.glue.get(&n("ns1.example.test"))
                        == Some(&vec![ip("192.0.2.1"), ip("2001:db8::1")])
                    && r.ds == [ds.clone()]
            })
            .await;

            // NS change: a new in-bailiwick server replaces the old one; the old glue goes.
            s.cmd(host_create("ns2.example.test", &["192.0.2.2"]))
                .await
                .ok();
            s.cmd(ns_update(
                "example.test",
                &["ns2.example.test"],
                &["ns1.example.test"],
            ))
            .await
            .ok();
            at_knot(&dns, "example.test", "NS change", |r| {
                r.ns == [n("ns.provider.example"), n("ns2.example.test")]
                    && r.glue.get(&n("ns2.example.test")) == Some(&vec![ip("192.0.2.2")])
                    && !r.glue.contains_key(&n("ns1.example.test"))
            })
            .await;
            let served = dns.axfr(&n("test"), 1000).await.expect("axfr");
            assert!(
                !served.nodes.contains_key(&n("ns1.example.test")),
                "orphan glue left in the zone"
            );

            // clientHold takes the delegation out (glue with it); removing it brings it back.
            s.cmd(hold("example.test", true)).await.ok();
            at_knot(&dns, "example.test", "clientHold", |r| {
                r.ns.is_empty() && r.ds.is_empty() && r.glue.is_empty()
            })
            .await;
            s.cmd(hold("example.test", false)).await.ok();
            at_knot(&dns, "example.test", "clientHold removed", |r| {
                r.ns.len() == 2 && r.ds == [ds.clone()]
            })
            .await;

            // A domain with subordinate hosts cannot be deleted (2305): back to the external
            // name server only (the glue goes), then the hosts go.
            s.cmd(ns_update("example.test", &[], &["ns2.example.test"]))
                .await
                .ok();
            at_knot(&dns, "example.test", "in-bailiwick NS removed", |r| {
                r.ns == [n("ns.provider.example")] && r.glue.is_empty() && r.ds == [ds.clone()]
            })
            .await;
            s.cmd(host_delete("ns1.example.test")).await.ok();
            s.cmd(host_delete("ns2.example.test")).await.ok();

            // Delete after the add grace period: redemption, out of the zone. Restore: back.
            env.advance_days(6).await;
            s.cmd(domain_delete("example.test")).await.expect(1001);
            at_knot(&dns, "example.test", "delete (redemption)", |r| {
                r.ns.is_empty()
            })
            .await;
            let (c, x) = restore("example.test", RgpUpdate::Request);
            s.cmd_ext(c, x).await.ok();
            env.advance_days(1).await;
            let report = RgpUpdate::Report(Box::new(RgpReport {
                pre_data: "Pre-delete registration data".into(),
                post_data: "Post-restore registration data".into(),
                del_time: env.now() - chrono::Duration::days(1),
                res_time: env.now(),
                res_reason: "Registrant error".into(),
                statements: [
                    "This registrar has not restored the name to assume its rights.".into(),
                    "The information in this report is true.".into(),
                ],
                other: None,
            }));
            let (c, x) = restore("example.test", report);
            s.cmd_ext(c, x).await.ok();
            at_knot(&dns, "example.test", "restore", |r| {
                r.ns == [n("ns.provider.example")] && r.ds == [ds.clone()]
            })
            .await;
            let before = dns.referral(&n("example.test")).await.expect("referral");

            // Locked by the registry (the statuses an applied registry lock sets): the
            // delegation cannot change over EPP, and the zone does not change.
            env.registry
                .set_server_statuses(
                    &ObjectRef::Domain("example.test".into()),
                    &[
                        "serverUpdateProhibited",
                        "serverDeleteProhibited",
                        "serverTransferProhibited",
                    ],
                    &[],
                )
                .await
                .expect("lock statuses");
            s.cmd(host_create("ns.other.example", &[])).await.ok();
            s.cmd(ns_update("example.test", &["ns.other.example"], &[]))
                .await
                .expect(2304);
            s.cmd(hold("example.test", true)).await.expect(2304);
            s.cmd(domain_delete("example.test")).await.expect(2304);
            // A later change reaching Knot proves the publisher went past the refused ones.
            s.cmd(domain_create(
                "marker.test",
                "zone-c1",
                &["ns.provider.example"],
                "dom-pw-2",
            ))
            .await
            .ok();
            at_knot(&dns, "marker.test", "marker after the lock", |r| {
                r.ns == [n("ns.provider.example")]
            })
            .await;
            let after = dns.referral(&n("example.test")).await.expect("referral");
            assert_eq!(after, before, "a locked delegation changed in the zone");

            // Everything went out as UPDATEs after the first full reload; nothing was held.
            let m = metrics.snapshot();
            assert_eq!(m.full_reloads, 1, "{m:?}");
            assert!(m.updates_sent >= 8, "{m:?}");
            assert_eq!(m.held_batches, 0, "{m:?}");
            let stored = SqlStore::from_db(&env.db);
            let state = zonegen::store::PublisherStore::load(&stored, "test")
                .await
                .expect("state")
                .expect("saved");
            assert_eq!(u64::from(state.serial), m.last_serial);
            s.logout().await;
            stop.send(true).expect("stop");
            running.await.expect("publisher task");
            drop(knot);
        },
    )
    .await;
}
