//! Host commands over real TLS against the registry core (RFC 5732): check, info, create,
//! update (addresses, statuses, rename) and delete, with the subordinate/external rules,
//! linked hosts (2305) and authorisation (2201). Every response frame is validated against
//! the XSDs. Each test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use epp_proto::domain::{DomainCommand as D, NameServers};
use epp_proto::host::{HostAddRem, HostCommand as H, HostStatus as HS, HostUpdate};
use epp_proto::{Command, Label, ResponseData, StatusEntry};
use registry_core::ObjectRef;
use support::core::*;
use support::*;

both_backends!(
    check_create_info,
    create_rules,
    update_addresses_and_statuses,
    rename_rules_and_followers,
    delete_linked_and_authorisation,
);

fn check(names: &[&str]) -> Command {
    Command::Host(H::Check(
        names
            .iter()
            .map(|n| Label::new(n).expect("label"))
            .collect(),
    ))
}

fn upd(name: &str) -> HostUpdate {
    HostUpdate {
        name: host_name(name),
        add: HostAddRem::default(),
        rem: HostAddRem::default(),
        new_name: None,
    }
}

fn update(u: HostUpdate) -> Command {
    Command::Host(H::Update(u))
}

fn tokens(r: &Reply) -> Vec<&'static str> {
    let mut v: Vec<_> = r
        .host_info()
        .statuses
        .iter()
        .map(|s| s.status.as_str())
        .collect();
    v.sort();
    v
}

/// A registrar with contact `<cl_id>-c1` and domain `<label>.test`.
async fn with_domain(env: &CoreEnv, cl_id: &str, label: &str) -> Session {
    let (_, mut s) = env.new_session(cl_id).await;
    let c = format!("{cl_id}-c1");
    s.cmd(contact_create(&c, "contact-pw")).await.ok();
    s.cmd(domain_create(&format!("{label}.test"), &c, &[], "dom-pw-1"))
        .await
        .ok();
    s
}

async fn check_create_info(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = with_domain(&env, "reg-a", "hosta").await;
            let (_, mut b) = env.new_session("reg-b").await;
            let r = a
                .cmd(check(&[
                    "ns1.hosta.test",
                    "ns1.example.net",
                    "-x-.example",
                    "a..b",
                ]))
                .await
                .ok();
            let avail: Vec<bool> = r.check().iter().map(|i| i.available).collect();
            assert_eq!(avail, [true, true, false, false]);

            let r = a
                .cmd(host_create("ns1.hosta.test", &["192.0.2.1", "2001:db8::1"]))
                .await
                .ok();
            let ResponseData::HostCreate(c) = r.res_data() else {
                panic!("creData expected: {}", r.xml);
            };
            assert_eq!(c.name.as_str(), "ns1.hosta.test");
            assert_eq!(c.cr_date, env.now());
            a.cmd(host_create("ns1.example.net", &[])).await.ok();
            let r = a
                .cmd(check(&["ns1.hosta.test", "ns1.example.net"]))
                .await
                .ok();
            assert!(r.check().iter().all(|i| !i.available));

            // Info: any registrar may see a host.
            for s in [&mut a, &mut b] {
                let r = s.cmd(host_info("ns1.hosta.test")).await.ok();
                let h = r.host_info();
                assert_eq!(h.cl_id.as_str(), "reg-a");
                assert_eq!(h.cr_id.as_str(), "reg-a");
                assert_eq!(h.addrs, [ip("192.0.2.1"), ip("2001:db8::1")]);
                assert_eq!(tokens(&r), ["ok"]);
            }
            b.cmd(host_info("ns9.hosta.test")).await.expect(2303);

            // Linked once a domain uses it.
            a.cmd(host_create("ns2.hosta.test", &["192.0.2.2"]))
                .await
                .ok();
            let mut u = domain_update("hosta.test");
            u.add.ns = Some(NameServers::HostObj(vec![host_name("ns1.hosta.test")]));
            a.cmd(Command::Domain(D::Update(u))).await.ok();
            let r = a.cmd(host_info("ns1.hosta.test")).await.ok();
            assert_eq!(tokens(&r), ["linked"]);

            // Glue of internal hosts is journalled; external hosts are not.
            let journal = env.journal().await;
            let hosts: Vec<&str> = journal
                .iter()
                .filter(|(k, _)| k == "host")
                .map(|(_, n)| n.as_str())
                .collect();
            assert_eq!(hosts, ["ns1.hosta.test", "ns2.hosta.test"]);
        },
    )
    .await
}

async fn create_rules(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = with_domain(&env, "reg-a", "mine").await;
            let _b = with_domain(&env, "reg-b", "theirs").await;
            // Internal: needs an address (2003), a superordinate domain (2303) of the same
            // sponsor (2201).
            a.cmd(host_create("ns1.mine.test", &[])).await.expect(2003);
            a.cmd(host_create("ns1.nodomain.test", &["192.0.2.1"]))
                .await
                .expect(2303);
            a.cmd(host_create("ns1.theirs.test", &["192.0.2.1"]))
                .await
                .expect(2201);
            // External: takes no address (2306).
            a.cmd(host_create("ns1.example.net", &["192.0.2.1"]))
                .await
                .expect(2306);
            // Addresses that cannot serve DNS (2306).
            for bad in [
                "127.0.0.1",
                "0.0.0.0",
                "224.0.0.1",
                "::1",
                "fe80::1",
                "::ffff:192.0.2.1",
            ] {
                let r = a.cmd(host_create("ns2.mine.test", &[bad])).await;
                assert_eq!(r.code, 2306, "{bad}: {}", r.xml);
            }
            // Deeper names under the domain are internal too.
            a.cmd(host_create("a.b.mine.test", &["192.0.2.3"]))
                .await
                .ok();
            // Exists.
            a.cmd(host_create("a.b.mine.test", &["192.0.2.4"]))
                .await
                .expect(2302);
            // Reserved `xx--` label: 2005.
            a.cmd(host_create("xx--bad.example.net", &[]))
                .await
                .expect(2005);
            // A superordinate domain in pendingDelete takes no new hosts.
            env.advance_days(6).await;
            a.cmd(domain_create("gone.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            env.advance_days(6).await;
            a.cmd(domain_delete("gone.test")).await.expect(1001);
            a.cmd(host_create("ns1.gone.test", &["192.0.2.5"]))
                .await
                .expect(2304);
            assert!(env
                .history_ops(ObjectRef::Host("ns1.mine.test".into()))
                .await
                .is_empty());
        },
    )
    .await
}

async fn update_addresses_and_statuses(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = with_domain(&env, "reg-a", "hu").await;
            let (_, mut b) = env.new_session("reg-b").await;
            a.cmd(host_create("ns1.hu.test", &["192.0.2.1"])).await.ok();
            a.cmd(host_create("ns.example.net", &[])).await.ok();

            let mut u = upd("ns1.hu.test");
            u.add.addrs = vec![ip("192.0.2.2"), ip("2001:db8::2")];
            u.rem.addrs = vec![ip("192.0.2.1")];
            a.cmd(update(u)).await.ok();
            let r = a.cmd(host_info("ns1.hu.test")).await.ok();
            assert_eq!(r.host_info().addrs, [ip("192.0.2.2"), ip("2001:db8::2")]);
            assert_eq!(
                r.host_info().up_id.as_ref().map(|c| c.as_str()),
                Some("reg-a")
            );

            // Removing an absent address, adding a present one, adding a bad one: 2306.
            let mut u = upd("ns1.hu.test");
            u.rem.addrs = vec![ip("192.0.2.9")];
            a.cmd(update(u)).await.expect(2306);
            let mut u = upd("ns1.hu.test");
            u.add.addrs = vec![ip("192.0.2.2")];
            a.cmd(update(u)).await.expect(2306);
            let mut u = upd("ns1.hu.test");
            u.add.addrs = vec![ip("127.0.0.1")];
            a.cmd(update(u)).await.expect(2306);
            // An internal host keeps at least one address; an external one gets none.
            let mut u = upd("ns1.hu.test");
            u.rem.addrs = vec![ip("192.0.2.2"), ip("2001:db8::2")];
            a.cmd(update(u)).await.expect(2306);
            let mut u = upd("ns.example.net");
            u.add.addrs = vec![ip("192.0.2.7")];
            a.cmd(update(u)).await.expect(2306);

            // Statuses: client* only; clientUpdateProhibited blocks all but its removal.
            for s in [
                HS::ServerUpdateProhibited,
                HS::ServerDeleteProhibited,
                HS::Linked,
                HS::Ok,
                HS::PendingDelete,
            ] {
                let mut u = upd("ns1.hu.test");
                u.add.statuses = vec![StatusEntry::new(s)];
                let r = a.cmd(update(u)).await;
                assert_eq!(r.code, 2306, "adding {s}: {}", r.xml);
            }
            let mut u = upd("ns1.hu.test");
            u.add.statuses = vec![StatusEntry::new(HS::ClientUpdateProhibited)];
            a.cmd(update(u)).await.ok();
            let mut u = upd("ns1.hu.test");
            u.add.addrs = vec![ip("192.0.2.3")];
            a.cmd(update(u)).await.expect(2304);
            let mut u = upd("ns1.hu.test");
            u.rem.statuses = vec![StatusEntry::new(HS::ClientUpdateProhibited)];
            u.add.addrs = vec![ip("192.0.2.3")];
            a.cmd(update(u)).await.ok();
            let mut u = upd("ns1.hu.test");
            u.rem.statuses = vec![StatusEntry::new(HS::ClientDeleteProhibited)];
            a.cmd(update(u)).await.expect(2306);

            // The registry's serverUpdateProhibited binds the sponsor.
            env.registry
                .set_server_statuses(
                    &ObjectRef::Host("ns1.hu.test".into()),
                    &["serverUpdateProhibited"],
                    &[],
                )
                .await
                .expect("server status");
            let mut u = upd("ns1.hu.test");
            u.rem.statuses = vec![StatusEntry::new(HS::ServerUpdateProhibited)];
            a.cmd(update(u)).await.expect(2304);

            // Another registrar; unknown host.
            let mut u = upd("ns.example.net");
            u.add.statuses = vec![StatusEntry::new(HS::ClientDeleteProhibited)];
            b.cmd(update(u)).await.expect(2201);
            a.cmd(update(upd("ns9.hu.test"))).await.expect(2303);

            let ops = env.history_ops(ObjectRef::Host("ns1.hu.test".into())).await;
            assert_eq!(
                ops,
                [
                    "host:create",
                    "host:update",
                    "host:update",
                    "host:update",
                    "registry:status"
                ]
            );
        },
    )
    .await
}

async fn rename_rules_and_followers(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = with_domain(&env, "reg-a", "ra").await;
            a.cmd(domain_create("rb.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            let _b = with_domain(&env, "reg-b", "other").await;
            a.cmd(host_create("ns1.ra.test", &["192.0.2.1"])).await.ok();
            a.cmd(host_create("ns.example.net", &[])).await.ok();
            // A domain uses ns1.ra.test.
            a.cmd(domain_create(
                "user.test",
                "reg-a-c1",
                &["ns1.ra.test"],
                "dom-pw-1",
            ))
            .await
            .ok();

            let rename = |from: &str, to: &str| {
                let mut u = upd(from);
                u.new_name = Some(host_name(to));
                update(u)
            };
            // Into another registrar's domain: 2201; into a domain that does not exist: 2303.
            a.cmd(rename("ns1.ra.test", "ns1.other.test"))
                .await
                .expect(2201);
            a.cmd(rename("ns1.ra.test", "ns1.nothere.test"))
                .await
                .expect(2303);
            // Internal to external while adding an address: 2306 (an external host takes none).
            let mut u = upd("ns1.ra.test");
            u.new_name = Some(host_name("ns1.example.org"));
            u.add.addrs = vec![ip("192.0.2.8")];
            a.cmd(update(u)).await.expect(2306);
            // Onto an existing name: 2302.
            a.cmd(rename("ns1.ra.test", "ns.example.net"))
                .await
                .expect(2302);
            // External to external: fine.
            a.cmd(rename("ns.example.net", "ns.example.org")).await.ok();
            a.cmd(host_info("ns.example.net")).await.expect(2303);
            // Internal to another of my domains: fine; the domain using it follows.
            let before = env.journal().await.len();
            a.cmd(rename("ns1.ra.test", "ns1.rb.test")).await.ok();
            let r = a.cmd(domain_info("user.test", None)).await.ok();
            assert_eq!(
                r.domain_info().ns,
                Some(NameServers::HostObj(vec![host_name("ns1.rb.test")]))
            );
            let r = a.cmd(domain_info("ra.test", None)).await.ok();
            assert!(r.domain_info().hosts.is_empty(), "{}", r.xml);
            let r = a.cmd(domain_info("rb.test", None)).await.ok();
            assert_eq!(r.domain_info().hosts, [host_name("ns1.rb.test")]);
            // Journal: the new glue, the user's delegation, the old glue gone — in that order,
            // so that every prefix of the journal is a zone the registry could publish (the
            // delegation never names a server whose glue has not arrived yet).
            let journal = env.journal().await;
            let new: Vec<(&str, &str)> = journal[before..]
                .iter()
                .map(|(k, n)| (k.as_str(), n.as_str()))
                .collect();
            assert_eq!(
                new,
                [
                    ("host", "ns1.rb.test"),
                    ("domain", "user.test"),
                    ("host", "ns1.ra.test")
                ]
            );
            // Internal (with an address) to external: fine, the addresses go with the glue
            // (RST epp-23 row 2); the journal removes the old glue and moves the user.
            let before = env.journal().await.len();
            a.cmd(rename("ns1.rb.test", "ns1.example.org")).await.ok();
            let r = a.cmd(host_info("ns1.example.org")).await.ok();
            assert!(r.host_info().addrs.is_empty(), "{}", r.xml);
            let r = a.cmd(domain_info("rb.test", None)).await.ok();
            assert!(r.domain_info().hosts.is_empty(), "{}", r.xml);
            let r = a.cmd(domain_info("user.test", None)).await.ok();
            assert_eq!(
                r.domain_info().ns,
                Some(NameServers::HostObj(vec![host_name("ns1.example.org")]))
            );
            let journal = env.journal().await;
            let new: Vec<(&str, &str)> = journal[before..]
                .iter()
                .map(|(k, n)| (k.as_str(), n.as_str()))
                .collect();
            // The user's new delegation before the old glue goes (see the rename above).
            assert_eq!(new, [("domain", "user.test"), ("host", "ns1.rb.test")]);
        },
    )
    .await
}

async fn delete_linked_and_authorisation(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let mut a = with_domain(&env, "reg-a", "hd").await;
            let (_, mut b) = env.new_session("reg-b").await;
            a.cmd(host_create("ns1.hd.test", &["192.0.2.1"])).await.ok();
            a.cmd(host_create("ns.example.net", &[])).await.ok();
            a.cmd(domain_create(
                "uses.test",
                "reg-a-c1",
                &["ns.example.net"],
                "dom-pw-1",
            ))
            .await
            .ok();

            b.cmd(host_delete("ns1.hd.test")).await.expect(2201);
            a.cmd(host_delete("ns.example.net")).await.expect(2305);
            a.cmd(host_delete("ns9.hd.test")).await.expect(2303);
            let mut u = upd("ns1.hd.test");
            u.add.statuses = vec![StatusEntry::new(HS::ClientDeleteProhibited)];
            a.cmd(update(u)).await.ok();
            a.cmd(host_delete("ns1.hd.test")).await.expect(2304);
            let mut u = upd("ns1.hd.test");
            u.rem.statuses = vec![StatusEntry::new(HS::ClientDeleteProhibited)];
            a.cmd(update(u)).await.ok();
            a.cmd(host_delete("ns1.hd.test")).await.ok();
            a.cmd(host_info("ns1.hd.test")).await.expect(2303);

            // Unlink, then delete.
            let mut u = domain_update("uses.test");
            u.rem.ns = Some(NameServers::HostObj(vec![host_name("ns.example.net")]));
            a.cmd(Command::Domain(D::Update(u))).await.ok();
            a.cmd(host_delete("ns.example.net")).await.ok();
            let ops = env
                .history_ops(ObjectRef::Host("ns.example.net".into()))
                .await;
            assert_eq!(ops, ["host:create", "host:delete"]);
            // Glue removal of the internal host was journalled.
            let journal = env.journal().await;
            let glue: Vec<&str> = journal
                .iter()
                .filter(|(k, n)| k == "host" && n == "ns1.hd.test")
                .map(|(k, _)| k.as_str())
                .collect();
            assert_eq!(glue.len(), 2, "create and delete");
        },
    )
    .await
}
