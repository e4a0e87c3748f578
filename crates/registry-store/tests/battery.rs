//! The storage/core test battery: every test runs on SQLite and, when `EPP_TEST_PG_URL` is
//! set, on PostgreSQL (`sqlite::name` and `postgres::name`). With `CI=true` and no reachable
//! PostgreSQL, the postgres variants fail instead of skipping.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Duration;
use common::*;
use epp_proto::domain::*;
use epp_proto::ext::rgp::{RgpReport, RgpStatus, RgpUpdate};
use epp_proto::ext::sec_dns::*;
use epp_proto::ext::{CommandExtension, ResponseExtension};
use epp_proto::host::*;
use epp_proto::*;
use registry_core::ObjectRef;

macro_rules! battery {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let env = crate::common::sqlite_env().await;
                super::$name(&env).await;
                env.finish().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(env) = crate::common::pg_env().await else { return };
                super::$name(&env).await;
                env.finish().await;
            })*
        }
    };
}

battery!(
    domain_create_check_info,
    domain_create_errors,
    only_sponsor_changes,
    status_command_matrix,
    domain_update_rules,
    renew_rules,
    transfer_approve_reject_cancel,
    transfer_auto_approve,
    rgp_cycle,
    add_grace_delete_purges,
    auto_renew,
    host_rules,
    host_rename_and_glue_journal,
    contact_rules,
    contact_transfer,
    poll_queue,
    history_rows,
    dnssec,
    bug_sec_dns_rem_all_clears_max_sig_life,
    concurrent_creates_one_wins,
    concurrent_updates_serialize,
    host_status_command_matrix,
    contact_status_command_matrix,
    restore_report_is_stored,
    registry_delete,
);

const A: &str = "registrarA";
const B: &str = "registrarB";

async fn domain_create_check_info(env: &Env) {
    assert_eq!(env.code(A, create_contact("jd1")).await, 1000);
    assert_eq!(env.code(A, create_host("ns1.ext.example", &[])).await, 1000);
    assert_eq!(
        env.code(
            A,
            create_domain("Example.test", "jd1", &["ns1.ext.example"])
        )
        .await,
        1000
    );
    // check
    let labels = [
        "example.test",
        "free.test",
        "x.org",
        "-bad.test",
        "a.b.test",
    ]
    .map(|s| Label::new(s).unwrap())
    .to_vec();
    let out = env
        .run(B, Command::Domain(DomainCommand::Check(labels)))
        .await
        .unwrap();
    let Some(ResponseData::DomainCheck(items)) = out.res_data else {
        panic!()
    };
    let av: Vec<(bool, Option<&str>)> = items
        .iter()
        .map(|i| (i.available, i.reason.as_deref()))
        .collect();
    assert_eq!(
        av,
        vec![
            (false, Some("in use")),
            (true, None),
            (false, Some("not in a served TLD")),
            (false, Some("invalid domain name")),
            (false, Some("not a registrable name")),
        ]
    );
    // info by sponsor: full data
    let (d, ext) = env.domain_info(A, "example.test").await;
    assert_eq!(d.name.as_str(), "example.test");
    assert!(d.roid.as_str().starts_with('D'));
    assert_eq!(d.registrant.as_ref().map(|c| c.as_str()), Some("jd1"));
    // RFC 9154 section 4.2: the authInfo is never returned.
    assert!(d.auth_info.is_none());
    assert_eq!(
        d.statuses.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![DomainStatus::Ok]
    );
    assert_eq!(
        d.ns,
        Some(NameServers::HostObj(vec![hn("ns1.ext.example")]))
    );
    assert!(ext.iter().any(
        |e| matches!(e, ResponseExtension::RgpInfo(r) if r.statuses == vec![RgpStatus::AddPeriod])
    ));
    // info by another registrar: limited
    let (d, _) = env.domain_info(B, "example.test").await;
    assert!(d.auth_info.is_none() && d.registrant.is_none() && d.ns.is_none());
    // with the right authInfo: full; wrong: 2202
    let info = |pw: &str| {
        Command::Domain(DomainCommand::Info(DomainInfo {
            name: hn("example.test"),
            hosts: HostsFilter::All,
            auth_info: Some(auth(pw)),
        }))
    };
    let out = env.run(B, info("domainpw1")).await.unwrap();
    let Some(ResponseData::DomainInfo(d)) = out.res_data else {
        panic!()
    };
    assert!(d.registrant.is_some() && d.auth_info.is_none());
    assert_eq!(env.code(B, info("wrongpw1")).await, 2202);
    assert_eq!(
        env.code(
            A,
            Command::Domain(DomainCommand::Info(DomainInfo {
                name: hn("nope.test"),
                hosts: HostsFilter::All,
                auth_info: None
            }))
        )
        .await,
        2303
    );
    // inactive without NS
    assert_eq!(
        env.code(A, create_domain("bare.test", "jd1", &[])).await,
        1000
    );
    let (d, _) = env.domain_info(A, "bare.test").await;
    assert_eq!(
        d.statuses.iter().map(|s| s.status).collect::<Vec<_>>(),
        vec![DomainStatus::Inactive]
    );
}

async fn domain_create_errors(env: &Env) {
    assert_eq!(env.code(A, create_contact("jd1")).await, 1000);
    assert_eq!(
        env.code(A, create_domain("taken.test", "jd1", &[])).await,
        1000
    );
    assert_eq!(
        env.code(B, create_domain("taken.test", "jd1", &[])).await,
        2302
    );
    assert_eq!(env.code(A, create_domain("x.org", "jd1", &[])).await, 2306);
    assert_eq!(
        env.code(A, create_domain("a.b.test", "jd1", &[])).await,
        2306
    );
    assert_eq!(
        env.code(A, create_domain("xx--abc.test", "jd1", &[])).await,
        2005
    );
    assert_eq!(
        env.code(A, create_domain("xn--abcdefghij-zzzz.test", "jd1", &[]))
            .await,
        2005
    );
    assert_eq!(
        env.code(A, create_domain("xn--bcher-kva.test", "jd1", &[]))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, create_domain("nsless.test", "nobody", &[]))
            .await,
        2303
    );
    assert_eq!(
        env.code(
            A,
            create_domain("nsless.test", "jd1", &["ns9.nowhere.example"])
        )
        .await,
        2303
    );
    let mut c = create_domain("noreg.test", "jd1", &[]);
    if let Command::Domain(DomainCommand::Create(dc)) = &mut c {
        dc.registrant = None;
    }
    assert_eq!(env.code(A, c).await, 2003);
    let mut c = create_domain("attr.test", "jd1", &[]);
    if let Command::Domain(DomainCommand::Create(dc)) = &mut c {
        dc.ns = Some(NameServers::HostAttr(vec![HostAttr {
            name: hn("ns1.attr.test"),
            addrs: vec!["192.0.2.1".parse().unwrap()],
        }]));
    }
    assert_eq!(env.code(A, c).await, 2102);
    for (years, want) in [(11u8, 2306u16), (10, 1000)] {
        let mut c = create_domain(&format!("p{years}.test"), "jd1", &[]);
        if let Command::Domain(DomainCommand::Create(dc)) = &mut c {
            dc.period = Some(Period::years(years).unwrap());
        }
        assert_eq!(env.code(A, c).await, want, "period {years}");
    }
    // Login is not the core's.
    assert_eq!(env.code(A, Command::Logout).await, 2002);
}

async fn only_sponsor_changes(env: &Env) {
    env.setup_domain(A, "mine.test").await;
    let (d, _) = env.domain_info(A, "mine.test").await;
    let ex = d.ex_date.unwrap().date_naive();
    assert_eq!(
        env.code(B, add_status("mine.test", DomainStatus::ClientHold))
            .await,
        2201
    );
    assert_eq!(env.code(B, delete_domain("mine.test")).await, 2201);
    assert_eq!(env.code(B, renew("mine.test", ex, 1)).await, 2201);
    assert_eq!(
        env.code(B, transfer("mine.test", TransferOp::Approve, None))
            .await,
        2201
    );
    assert_eq!(
        env.code(
            B,
            Command::Contact(epp_proto::contact::ContactCommand::Delete(
                ContactId::new("c-mine-test").unwrap()
            ))
        )
        .await,
        2201
    );
    assert_eq!(
        env.code(A, create_host("ns1.mine.test", &["192.0.2.10"]))
            .await,
        1000
    );
    assert_eq!(
        env.code(B, Command::Host(HostCommand::Delete(hn("ns1.mine.test"))))
            .await,
        2201
    );
}

/// Every prohibition status against every command it must stop.
async fn status_command_matrix(env: &Env) {
    use DomainStatus as S;
    assert_eq!(env.code(A, create_contact("mx1")).await, 1000);
    let statuses = [
        S::ClientUpdateProhibited,
        S::ServerUpdateProhibited,
        S::ClientDeleteProhibited,
        S::ServerDeleteProhibited,
        S::ClientRenewProhibited,
        S::ServerRenewProhibited,
        S::ClientTransferProhibited,
        S::ServerTransferProhibited,
        S::PendingTransfer,
        S::PendingDelete,
    ];
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Cmd {
        Update,
        Delete,
        Renew,
        Transfer,
    }
    for (i, st) in statuses.iter().enumerate() {
        for cmd in [Cmd::Update, Cmd::Delete, Cmd::Renew, Cmd::Transfer] {
            let name = format!("m{i}{}.test", format!("{cmd:?}").to_lowercase());
            assert_eq!(env.code(A, create_domain(&name, "mx1", &[])).await, 1000);
            env.advance_days(6); // out of add grace: a delete would otherwise purge
            match st {
                S::PendingTransfer => assert_eq!(
                    env.code(B, transfer(&name, TransferOp::Request, Some("domainpw1")))
                        .await,
                    1001
                ),
                S::PendingDelete => assert_eq!(env.code(A, delete_domain(&name)).await, 1001),
                s if s.is_client_settable() => {
                    assert_eq!(env.code(A, add_status(&name, *s)).await, 1000)
                }
                s => env
                    .reg
                    .set_server_statuses(&ObjectRef::Domain(name.clone()), &[s.as_str()], &[])
                    .await
                    .unwrap(),
            }
            let (d, _) = env.domain_info(A, &name).await;
            let ex = d.ex_date.unwrap().date_naive();
            let mut u = domain_update(&name);
            u.chg = Some(DomainChg {
                registrant: None,
                auth_info: Some(AuthInfoChange::Set(auth("newpw123"))),
            });
            let got = match cmd {
                Cmd::Update => env.code(A, upd(u)).await,
                Cmd::Delete => env.code(A, delete_domain(&name)).await,
                Cmd::Renew => env.code(A, renew(&name, ex, 1)).await,
                Cmd::Transfer => {
                    env.code(B, transfer(&name, TransferOp::Request, Some("domainpw1")))
                        .await
                }
            };
            let prohibits = match st {
                S::ClientUpdateProhibited | S::ServerUpdateProhibited => cmd == Cmd::Update,
                S::ClientDeleteProhibited | S::ServerDeleteProhibited => cmd == Cmd::Delete,
                S::ClientRenewProhibited | S::ServerRenewProhibited => cmd == Cmd::Renew,
                S::ClientTransferProhibited | S::ServerTransferProhibited => cmd == Cmd::Transfer,
                _ => true,
            };
            let want = match (st, cmd, prohibits) {
                (S::PendingTransfer, Cmd::Transfer, _) => 2300,
                (_, _, true) => 2304,
                (_, Cmd::Delete, false) => 1001,
                (_, Cmd::Transfer, false) => 1001,
                (_, _, false) => 1000,
            };
            assert_eq!(got, want, "{st} × {cmd:?}");
        }
    }
    // The one update clientUpdateProhibited allows: removing it.
    assert_eq!(
        env.code(A, create_domain("cup.test", "mx1", &[])).await,
        1000
    );
    assert_eq!(
        env.code(A, add_status("cup.test", S::ClientUpdateProhibited))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, add_status("cup.test", S::ClientHold)).await,
        2304
    );
    assert_eq!(
        env.code(A, rem_status("cup.test", S::ClientUpdateProhibited))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, add_status("cup.test", S::ClientHold)).await,
        1000
    );
}

async fn domain_update_rules(env: &Env) {
    env.setup_domain(A, "upd.test").await;
    assert_eq!(env.code(A, create_host("ns1.ext.example", &[])).await, 1000);
    assert_eq!(env.code(A, create_host("ns2.ext.example", &[])).await, 1000);
    let ns = |names: &[&str]| Some(NameServers::HostObj(names.iter().map(|n| hn(n)).collect()));
    let mut u = domain_update("upd.test");
    u.add.ns = ns(&["ns1.ext.example", "ns2.ext.example"]);
    assert_eq!(env.code(A, upd(u)).await, 1000);
    let mut u = domain_update("upd.test");
    u.add.ns = ns(&["ns1.ext.example"]);
    assert_eq!(env.code(A, upd(u)).await, 2306, "adding a present ns");
    let mut u = domain_update("upd.test");
    u.rem.ns = ns(&["ns9.ext.example"]);
    assert_eq!(env.code(A, upd(u)).await, 2306, "removing an absent ns");
    let mut u = domain_update("upd.test");
    u.add.ns = ns(&["ns9.ext.example"]);
    assert_eq!(env.code(A, upd(u)).await, 2303, "adding a nonexistent host");
    for s in [
        DomainStatus::ServerHold,
        DomainStatus::Ok,
        DomainStatus::PendingDelete,
        DomainStatus::Inactive,
    ] {
        assert_eq!(env.code(A, add_status("upd.test", s)).await, 2306, "{s}");
    }
    assert_eq!(
        env.code(A, rem_status("upd.test", DomainStatus::ClientHold))
            .await,
        2306
    );
    // hold takes it out of the zone: journal
    let before = env.reg.store().db().backend();
    assert!(!before.is_empty());
    let j0 = registry_core::Store::journal_since(env.reg.store(), 0, 1000)
        .await
        .unwrap()
        .len();
    assert_eq!(
        env.code(A, add_status("upd.test", DomainStatus::ClientHold))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, add_status("upd.test", DomainStatus::ClientHold))
            .await,
        2306
    );
    let j = registry_core::Store::journal_since(env.reg.store(), 0, 1000)
        .await
        .unwrap();
    assert_eq!(j.len(), j0 + 1);
    let last = j.last().unwrap();
    assert_eq!(
        (last.change.kind(), last.change.name()),
        ("domain", "upd.test")
    );
    assert!(jdata(last).contains("\"in_zone\":false"));
    assert!(j.windows(2).all(|w| w[0].position < w[1].position));
    // contacts & registrant
    assert_eq!(env.code(A, create_contact("tech1")).await, 1000);
    let mut u = domain_update("upd.test");
    u.add.contacts.push(DomainContact {
        contact_type: ContactType::Tech,
        id: ContactId::new("tech1").unwrap(),
    });
    assert_eq!(env.code(A, upd(u.clone())).await, 1000);
    assert_eq!(env.code(A, upd(u)).await, 2306);
    let mut u = domain_update("upd.test");
    u.chg = Some(DomainChg {
        registrant: Some(Some(ContactId::new("ghost").unwrap())),
        auth_info: None,
    });
    assert_eq!(env.code(A, upd(u)).await, 2303);
    let mut u = domain_update("upd.test");
    u.chg = Some(DomainChg {
        registrant: Some(Some(ContactId::new("tech1").unwrap())),
        auth_info: None,
    });
    assert_eq!(env.code(A, upd(u)).await, 1000);
    let (d, _) = env.domain_info(A, "upd.test").await;
    assert_eq!(d.registrant.unwrap().as_str(), "tech1");
    assert_eq!(d.contacts.len(), 1);
    assert!(d
        .statuses
        .iter()
        .any(|s| s.status == DomainStatus::ClientHold));
}

async fn renew_rules(env: &Env) {
    env.setup_domain(A, "ren.test").await;
    let (d, _) = env.domain_info(A, "ren.test").await;
    let ex = d.ex_date.unwrap();
    assert_eq!(
        env.code(A, renew("ren.test", ex.date_naive() + Duration::days(1), 1))
            .await,
        2306
    );
    assert_eq!(
        env.code(A, renew("ren.test", ex.date_naive(), 10)).await,
        2306,
        "beyond 10 years"
    );
    let out = env
        .run(A, renew("ren.test", ex.date_naive(), 2))
        .await
        .unwrap();
    let Some(ResponseData::DomainRenew(r)) = out.res_data else {
        panic!()
    };
    assert_eq!(
        r.ex_date.unwrap().date_naive(),
        (ex + chrono::Months::new(24)).date_naive()
    );
    let (_, ext) = env.domain_info(A, "ren.test").await;
    assert!(ext.iter().any(|e| matches!(e, ResponseExtension::RgpInfo(r) if r.statuses.contains(&RgpStatus::RenewPeriod))));
}

async fn transfer_approve_reject_cancel(env: &Env) {
    env.setup_domain(A, "tr.test").await;
    assert_eq!(
        env.code(A, create_host("ns1.tr.test", &["192.0.2.1"]))
            .await,
        1000
    );
    assert_eq!(
        env.code(
            A,
            transfer("tr.test", TransferOp::Request, Some("domainpw1"))
        )
        .await,
        2106
    );
    assert_eq!(
        env.code(B, transfer("tr.test", TransferOp::Request, Some("wrongpw")))
            .await,
        2202
    );
    assert_eq!(
        env.code(B, transfer("tr.test", TransferOp::Query, None))
            .await,
        2301
    );
    assert_eq!(
        env.code(A, transfer("tr.test", TransferOp::Approve, None))
            .await,
        2301
    );
    // request → reject
    let out = env
        .run(
            B,
            transfer("tr.test", TransferOp::Request, Some("domainpw1")),
        )
        .await
        .unwrap();
    assert_eq!(out.code, ResultCode::SuccessActionPending);
    let Some(ResponseData::DomainTransfer(t)) = out.res_data else {
        panic!()
    };
    assert_eq!(
        (t.tr_status, t.re_id.as_str(), t.ac_id.as_str()),
        (TransferStatus::Pending, B, A)
    );
    assert_eq!(
        env.code(
            B,
            transfer("tr.test", TransferOp::Request, Some("domainpw1"))
        )
        .await,
        2300
    );
    assert_eq!(
        env.code(B, transfer("tr.test", TransferOp::Approve, None))
            .await,
        2201
    );
    assert_eq!(
        env.code(A, transfer("tr.test", TransferOp::Cancel, None))
            .await,
        2201
    );
    let out = env.run(A, poll_req()).await.unwrap();
    assert_eq!(out.code, ResultCode::SuccessAckToDequeue);
    assert!(
        matches!(out.res_data, Some(ResponseData::DomainTransfer(ref t)) if t.tr_status == TransferStatus::Pending)
    );
    assert_eq!(
        env.code(A, transfer("tr.test", TransferOp::Reject, None))
            .await,
        1000
    );
    let (d, _) = env.domain_info(A, "tr.test").await;
    assert_eq!(d.cl_id.as_str(), A);
    // request → cancel
    assert_eq!(
        env.code(
            B,
            transfer("tr.test", TransferOp::Request, Some("domainpw1"))
        )
        .await,
        1001
    );
    assert_eq!(
        env.code(B, transfer("tr.test", TransferOp::Cancel, None))
            .await,
        1000
    );
    // request → approve: sponsor, expiry, hosts move
    let (before, _) = env.domain_info(A, "tr.test").await;
    assert_eq!(
        env.code(
            B,
            transfer("tr.test", TransferOp::Request, Some("domainpw1"))
        )
        .await,
        1001
    );
    let q = env
        .run(B, transfer("tr.test", TransferOp::Query, None))
        .await
        .unwrap();
    assert!(
        matches!(q.res_data, Some(ResponseData::DomainTransfer(ref t)) if t.tr_status == TransferStatus::Pending)
    );
    assert_eq!(
        env.code(A, transfer("tr.test", TransferOp::Approve, None))
            .await,
        1000
    );
    let (d, ext) = env.domain_info(B, "tr.test").await;
    assert_eq!(d.cl_id.as_str(), B);
    assert_eq!(
        d.ex_date.unwrap(),
        before.ex_date.unwrap() + chrono::Months::new(12)
    );
    assert!(d.tr_date.is_some());
    assert!(ext.iter().any(|e| matches!(e, ResponseExtension::RgpInfo(r) if r.statuses.contains(&RgpStatus::TransferPeriod))));
    let h = env
        .run(B, Command::Host(HostCommand::Info(hn("ns1.tr.test"))))
        .await
        .unwrap();
    let Some(ResponseData::HostInfo(h)) = h.res_data else {
        panic!()
    };
    assert_eq!(h.cl_id.as_str(), B);
    // B's queue: reject, approve notices (the cancel went to A)
    let out = env.run(B, poll_req()).await.unwrap();
    assert_eq!(out.msg_q.as_ref().unwrap().count, 2);
}

async fn transfer_auto_approve(env: &Env) {
    env.setup_domain(A, "auto.test").await;
    env.setup_domain(A, "lazy.test").await;
    assert_eq!(
        env.code(
            B,
            transfer("auto.test", TransferOp::Request, Some("domainpw1"))
        )
        .await,
        1001
    );
    assert_eq!(
        env.code(
            B,
            transfer("lazy.test", TransferOp::Request, Some("domainpw1"))
        )
        .await,
        1001
    );
    env.advance_days(4);
    assert_eq!(env.reg.run_due(env.reg.now()).await.unwrap(), 0);
    env.advance_days(2);
    // The scheduler approves one; the other is settled by the next command that loads it.
    let n = env.reg.run_due(env.reg.now()).await.unwrap();
    assert_eq!(n, 2);
    let (d, _) = env.domain_info(B, "auto.test").await;
    assert_eq!(d.cl_id.as_str(), B);
    assert!(!d
        .statuses
        .iter()
        .any(|s| s.status == DomainStatus::PendingTransfer));
    let q = env
        .run(A, transfer("auto.test", TransferOp::Query, None))
        .await
        .unwrap();
    assert!(
        matches!(q.res_data, Some(ResponseData::DomainTransfer(ref t)) if t.tr_status == TransferStatus::ServerApproved)
    );
    // Both registrars were told.
    for cl in [A, B] {
        let out = env.run(cl, poll_req()).await.unwrap();
        assert!(out.msg_q.unwrap().count >= 1, "{cl}");
    }
}

async fn rgp_cycle(env: &Env) {
    env.setup_domain(A, "rgp.test").await;
    env.advance_days(10);
    assert_eq!(env.code(A, delete_domain("rgp.test")).await, 1001);
    let (d, ext) = env.domain_info(A, "rgp.test").await;
    assert!(d
        .statuses
        .iter()
        .any(|s| s.status == DomainStatus::PendingDelete));
    assert!(ext.iter().any(|e| matches!(e, ResponseExtension::RgpInfo(r) if r.statuses == vec![RgpStatus::RedemptionPeriod])));
    assert_eq!(
        env.code(B, create_domain("rgp.test", "c-rgp-test", &[]))
            .await,
        2302
    );
    let restore = |r: RgpUpdate| {
        (
            upd(domain_update("rgp.test")),
            vec![CommandExtension::RgpUpdate(r)],
        )
    };
    let report = |env: &Env| {
        RgpUpdate::Report(Box::new(RgpReport {
            pre_data: "pre".into(),
            post_data: "post".into(),
            del_time: env.reg.now() - Duration::days(2),
            res_time: env.reg.now(),
            res_reason: "mistake".into(),
            statements: ["s1".into(), "s2".into()],
            other: None,
        }))
    };
    let (c, x) = restore(report(env));
    assert_eq!(env.code_ext(A, c, x).await, 2304, "report before request");
    let (c, x) = restore(RgpUpdate::Request);
    let out = env.run_ext(A, c, x).await.unwrap();
    assert!(
        matches!(&out.extensions[..], [ResponseExtension::RgpUpdate(u)] if u.statuses == vec![RgpStatus::PendingRestore])
    );
    let (c, x) = restore(report(env));
    assert_eq!(env.code_ext(A, c, x).await, 1000);
    let (d, _) = env.domain_info(A, "rgp.test").await;
    assert!(!d
        .statuses
        .iter()
        .any(|s| s.status == DomainStatus::PendingDelete));
    // Delete again and let it run out: redemption (30 d) → pendingDelete (5 d) → purge.
    assert_eq!(env.code(A, delete_domain("rgp.test")).await, 1001);
    env.advance_days(31);
    env.reg.run_due(env.reg.now()).await.unwrap();
    let (_, ext) = env.domain_info(A, "rgp.test").await;
    assert!(ext.iter().any(|e| matches!(e, ResponseExtension::RgpInfo(r) if r.statuses == vec![RgpStatus::PendingDelete])));
    let (c, x) = restore(RgpUpdate::Request);
    assert_eq!(env.code_ext(A, c, x).await, 2304);
    env.advance_days(5);
    env.reg.run_due(env.reg.now()).await.unwrap();
    assert_eq!(
        env.code(
            A,
            Command::Domain(DomainCommand::Info(DomainInfo {
                name: hn("rgp.test"),
                hosts: HostsFilter::All,
                auth_info: None
            }))
        )
        .await,
        2303
    );
    let hist = env
        .reg
        .history(&ObjectRef::Domain("rgp.test".into()))
        .await
        .unwrap();
    let ops: Vec<&str> = hist.iter().map(|h| h.op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "domain:create",
            "domain:delete",
            "rgp:restoreRequest",
            "rgp:restoreReport",
            "domain:delete",
            "rgp:pendingDelete",
            "rgp:purge"
        ]
    );
    assert!(hist.last().unwrap().after.is_none());
    // The name is free again.
    assert_eq!(env.code(B, create_contact("bb1")).await, 1000);
    assert_eq!(
        env.code(B, create_domain("rgp.test", "bb1", &[])).await,
        1000
    );
    // Sponsor got a purge message (after the change poll message of the redemption's end).
    let mut msgs = Vec::new();
    for _ in 0..5 {
        let Some(q) = env.run(A, poll_req()).await.unwrap().msg_q else {
            break;
        };
        msgs.push(q.msg.clone().unwrap_or_default());
        env.run(A, poll_ack(q.id.as_str())).await.unwrap();
    }
    assert!(msgs.iter().any(|m| m.contains("purged")), "{msgs:?}");
}

async fn add_grace_delete_purges(env: &Env) {
    env.setup_domain(A, "quick.test").await;
    assert_eq!(env.code(A, delete_domain("quick.test")).await, 1000);
    assert_eq!(
        env.code(A, create_domain("quick.test", "c-quick-test", &[]))
            .await,
        1000
    );
}

async fn auto_renew(env: &Env) {
    env.setup_domain(A, "ar.test").await;
    let (d, _) = env.domain_info(A, "ar.test").await;
    let ex = d.ex_date.unwrap();
    env.clock.set(ex + Duration::hours(1));
    assert_eq!(env.reg.run_due(env.reg.now()).await.unwrap(), 1);
    let (d, ext) = env.domain_info(A, "ar.test").await;
    assert_eq!(d.ex_date.unwrap(), ex + chrono::Months::new(12));
    assert!(ext.iter().any(|e| matches!(e, ResponseExtension::RgpInfo(r) if r.statuses.contains(&RgpStatus::AutoRenewPeriod))));
}

async fn host_rules(env: &Env) {
    env.setup_domain(A, "hosts.test").await;
    env.setup_domain(B, "other.test").await;
    assert_eq!(env.code(A, create_host("ns1.hosts.test", &[])).await, 2003);
    assert_eq!(
        env.code(A, create_host("ns1.ext.example", &["192.0.2.1"]))
            .await,
        2306
    );
    assert_eq!(
        env.code(A, create_host("ns1.nothere.test", &["192.0.2.1"]))
            .await,
        2303
    );
    assert_eq!(
        env.code(A, create_host("ns1.other.test", &["192.0.2.1"]))
            .await,
        2201
    );
    for bad in ["127.0.0.1", "::", "::1"] {
        assert_eq!(
            env.code(A, create_host("ns1.hosts.test", &[bad])).await,
            2306,
            "{bad}"
        );
    }
    assert_eq!(
        env.code(
            A,
            create_host("ns1.hosts.test", &["192.0.2.1", "2001:db8::1"])
        )
        .await,
        1000
    );
    assert_eq!(
        env.code(A, create_host("ns1.hosts.test", &["192.0.2.1"]))
            .await,
        2302
    );
    // check
    let out = env
        .run(
            A,
            Command::Host(HostCommand::Check(vec![
                Label::new("ns1.hosts.test").unwrap(),
                Label::new("ns2.hosts.test").unwrap(),
            ])),
        )
        .await
        .unwrap();
    let Some(ResponseData::HostCheck(items)) = out.res_data else {
        panic!()
    };
    assert_eq!(
        items.iter().map(|i| i.available).collect::<Vec<_>>(),
        [false, true]
    );
    // linked
    let mut u = domain_update("hosts.test");
    u.add.ns = Some(NameServers::HostObj(vec![hn("ns1.hosts.test")]));
    assert_eq!(env.code(A, upd(u)).await, 1000);
    let out = env
        .run(B, Command::Host(HostCommand::Info(hn("ns1.hosts.test"))))
        .await
        .unwrap();
    let Some(ResponseData::HostInfo(h)) = out.res_data else {
        panic!()
    };
    assert_eq!(
        h.statuses.iter().map(|s| s.status).collect::<Vec<_>>(),
        [HostStatus::Linked]
    );
    assert_eq!(
        env.code(A, Command::Host(HostCommand::Delete(hn("ns1.hosts.test"))))
            .await,
        2305
    );
    assert_eq!(
        env.code(A, delete_domain("hosts.test")).await,
        2305,
        "subordinate hosts"
    );
    // update addresses
    let hu = |add: &[&str], rem: &[&str]| {
        Command::Host(HostCommand::Update(HostUpdate {
            name: hn("ns1.hosts.test"),
            add: HostAddRem {
                addrs: add.iter().map(|a| a.parse().unwrap()).collect(),
                statuses: vec![],
            },
            rem: HostAddRem {
                addrs: rem.iter().map(|a| a.parse().unwrap()).collect(),
                statuses: vec![],
            },
            new_name: None,
        }))
    };
    assert_eq!(env.code(A, hu(&["192.0.2.1"], &[])).await, 2306);
    assert_eq!(env.code(A, hu(&[], &["192.0.2.99"])).await, 2306);
    assert_eq!(env.code(A, hu(&["127.0.0.1"], &[])).await, 2306);
    assert_eq!(
        env.code(A, hu(&[], &["192.0.2.1", "2001:db8::1"])).await,
        2306,
        "internal host needs an address"
    );
    assert_eq!(env.code(A, hu(&["192.0.2.2"], &["192.0.2.1"])).await, 1000);
    // statuses
    let hs = |add: Vec<HostStatus>, rem: Vec<HostStatus>| {
        Command::Host(HostCommand::Update(HostUpdate {
            name: hn("ns1.hosts.test"),
            add: HostAddRem {
                addrs: vec![],
                statuses: add.into_iter().map(StatusEntry::new).collect(),
            },
            rem: HostAddRem {
                addrs: vec![],
                statuses: rem.into_iter().map(StatusEntry::new).collect(),
            },
            new_name: None,
        }))
    };
    assert_eq!(
        env.code(A, hs(vec![HostStatus::Linked], vec![])).await,
        2306
    );
    assert_eq!(
        env.code(A, hs(vec![HostStatus::ServerUpdateProhibited], vec![]))
            .await,
        2306
    );
    assert_eq!(
        env.code(A, hs(vec![HostStatus::ClientUpdateProhibited], vec![]))
            .await,
        1000
    );
    assert_eq!(env.code(A, hu(&["192.0.2.3"], &[])).await, 2304);
    assert_eq!(
        env.code(A, hs(vec![], vec![HostStatus::ClientUpdateProhibited]))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, hs(vec![HostStatus::ClientDeleteProhibited], vec![]))
            .await,
        1000
    );
    let mut u = domain_update("hosts.test");
    u.rem.ns = Some(NameServers::HostObj(vec![hn("ns1.hosts.test")]));
    assert_eq!(env.code(A, upd(u)).await, 1000);
    assert_eq!(
        env.code(A, Command::Host(HostCommand::Delete(hn("ns1.hosts.test"))))
            .await,
        2304
    );
    assert_eq!(
        env.code(A, hs(vec![], vec![HostStatus::ClientDeleteProhibited]))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, Command::Host(HostCommand::Delete(hn("ns1.hosts.test"))))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, Command::Host(HostCommand::Info(hn("ns1.hosts.test"))))
            .await,
        2303
    );
}

async fn host_rename_and_glue_journal(env: &Env) {
    env.setup_domain(A, "ren1.test").await;
    env.setup_domain(A, "ren2.test").await;
    env.setup_domain(B, "theirs.test").await;
    assert_eq!(
        env.code(A, create_host("ns1.ren1.test", &["192.0.2.1"]))
            .await,
        1000
    );
    let mut u = domain_update("ren2.test");
    u.add.ns = Some(NameServers::HostObj(vec![hn("ns1.ren1.test")]));
    assert_eq!(env.code(A, upd(u)).await, 1000);
    let rename = |to: &str| {
        Command::Host(HostCommand::Update(HostUpdate {
            name: hn("ns1.ren1.test"),
            add: HostAddRem::default(),
            rem: HostAddRem::default(),
            new_name: Some(hn(to)),
        }))
    };
    assert_eq!(env.code(A, rename("ns1.theirs.test")).await, 2201);
    assert_eq!(env.code(A, rename("ns1.ghost.test")).await, 2303);
    // Internal to external while adding an address: refused (an external host takes none).
    let with_addr = Command::Host(HostCommand::Update(HostUpdate {
        name: hn("ns1.ren1.test"),
        add: HostAddRem {
            addrs: vec!["192.0.2.9".parse().unwrap()],
            statuses: vec![],
        },
        rem: HostAddRem::default(),
        new_name: Some(hn("ns1.ext.example")),
    }));
    assert_eq!(
        env.code(A, with_addr).await,
        2306,
        "external host takes no address"
    );
    let j0 = registry_core::Store::journal_since(env.reg.store(), 0, 1000)
        .await
        .unwrap()
        .last()
        .map(|j| j.position)
        .unwrap_or(0);
    assert_eq!(env.code(A, rename("ns9.ren1.test")).await, 1000);
    let j = registry_core::Store::journal_since(env.reg.store(), j0, 1000)
        .await
        .unwrap();
    let entries: Vec<(&str, &str)> = j
        .iter()
        .map(|e| (e.change.kind(), e.change.name()))
        .collect();
    assert!(entries.contains(&("host", "ns1.ren1.test")));
    assert!(entries.contains(&("host", "ns9.ren1.test")));
    assert!(entries.contains(&("domain", "ren2.test")));
    let (d, _) = env.domain_info(A, "ren2.test").await;
    assert_eq!(d.ns, Some(NameServers::HostObj(vec![hn("ns9.ren1.test")])));
    let (d, _) = env.domain_info(A, "ren1.test").await;
    assert_eq!(d.hosts, vec![hn("ns9.ren1.test")]);

    // Internal with addresses to external: the addresses go, and the journal removes the glue
    // (RST epp-23 row 2).
    let j0 = j.last().map(|j| j.position).unwrap_or(j0);
    let ext = Command::Host(HostCommand::Update(HostUpdate {
        name: hn("ns9.ren1.test"),
        add: HostAddRem::default(),
        rem: HostAddRem::default(),
        new_name: Some(hn("ns1.ext.example")),
    }));
    assert_eq!(env.code(A, ext).await, 1000);
    let j = registry_core::Store::journal_since(env.reg.store(), j0, 1000)
        .await
        .unwrap();
    let entries: Vec<(&str, &str, String)> = j
        .iter()
        .map(|e| (e.change.kind(), e.change.name(), jdata(e)))
        .collect();
    assert_eq!(
        entries
            .iter()
            .filter(|(k, _, _)| *k == "host")
            .collect::<Vec<_>>(),
        [&("host", "ns9.ren1.test", r#"{"addrs":[]}"#.to_owned())],
        "the old glue is removed and no new glue appears"
    );
    assert!(entries
        .iter()
        .any(|(k, n, _)| (*k, *n) == ("domain", "ren2.test")));
    let out = env
        .run(A, Command::Host(HostCommand::Info(hn("ns1.ext.example"))))
        .await
        .unwrap();
    let Some(ResponseData::HostInfo(h)) = out.res_data else {
        panic!("no host info")
    };
    assert!(h.addrs.is_empty(), "{:?}", h.addrs);
    let (d, _) = env.domain_info(A, "ren1.test").await;
    assert!(d.hosts.is_empty());
}

async fn contact_rules(env: &Env) {
    use epp_proto::contact::*;
    assert_eq!(env.code(A, create_contact("ct1")).await, 1000);
    assert_eq!(env.code(B, create_contact("ct1")).await, 2302);
    let bad = |f: &dyn Fn(&mut ContactCreate)| {
        let mut c = create_contact("ct2");
        if let Command::Contact(ContactCommand::Create(cc)) = &mut c {
            f(cc);
        }
        c
    };
    let cases: Vec<(&str, Command)> = vec![
        (
            "phone",
            bad(&|c| {
                c.voice = Some(Phone {
                    number: "+12345".into(),
                    ext: None,
                })
            }),
        ),
        (
            "phone2",
            bad(&|c| {
                c.voice = Some(Phone {
                    number: "+1.a".into(),
                    ext: None,
                })
            }),
        ),
        ("email", bad(&|c| c.email = "no-at-sign".into())),
        ("cc", bad(&|c| c.postal_info[0].addr.cc = "USA".into())),
        (
            "int ascii",
            bad(&|c| c.postal_info[0].addr.city = "Zürich".into()),
        ),
        (
            "long org",
            bad(&|c| c.postal_info[0].org = Some("o".repeat(256))),
        ),
    ];
    for (what, c) in cases {
        assert_eq!(env.code(A, c).await, 2005, "{what}");
    }
    let loc = bad(&|c| {
        c.postal_info[0].info_type = PostalInfoType::Loc;
        c.postal_info[0].addr.city = "Zürich".into();
    });
    assert_eq!(env.code(A, loc).await, 1000);
    // info: sponsor yes, other no (2201), other with authInfo yes, wrong 2202
    let info = |pw: Option<&str>| {
        Command::Contact(ContactCommand::Info {
            id: ContactId::new("ct1").unwrap(),
            auth_info: pw.map(auth),
        })
    };
    assert_eq!(env.code(A, info(None)).await, 1000);
    assert_eq!(env.code(B, info(None)).await, 2201);
    assert_eq!(env.code(B, info(Some("2fooBAR"))).await, 1000);
    assert_eq!(env.code(B, info(Some("nope123"))).await, 2202);
    // update: status rules from RST epp-09
    let st = |add: Vec<ContactStatus>, rem: Vec<ContactStatus>| {
        Command::Contact(ContactCommand::Update(ContactUpdate {
            id: ContactId::new("ct1").unwrap(),
            add: add.into_iter().map(StatusEntry::new).collect(),
            rem: rem.into_iter().map(StatusEntry::new).collect(),
            chg: None,
        }))
    };
    assert_eq!(
        env.code(A, st(vec![ContactStatus::ClientUpdateProhibited], vec![]))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, st(vec![ContactStatus::ClientUpdateProhibited], vec![]))
            .await,
        2304
    );
    assert_eq!(
        env.code(A, st(vec![], vec![ContactStatus::ClientUpdateProhibited]))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, st(vec![ContactStatus::ClientDeleteProhibited], vec![]))
            .await,
        1000
    );
    assert_eq!(
        env.code(A, st(vec![ContactStatus::ClientDeleteProhibited], vec![]))
            .await,
        2306
    );
    for s in [
        ContactStatus::Linked,
        ContactStatus::Ok,
        ContactStatus::PendingDelete,
        ContactStatus::ServerUpdateProhibited,
    ] {
        assert_eq!(env.code(A, st(vec![s], vec![])).await, 2306, "{s}");
        assert_eq!(env.code(A, st(vec![], vec![s])).await, 2306, "{s}");
    }
    assert_eq!(
        env.code(
            A,
            Command::Contact(ContactCommand::Delete(ContactId::new("ct1").unwrap()))
        )
        .await,
        2304
    );
    assert_eq!(
        env.code(A, st(vec![], vec![ContactStatus::ClientDeleteProhibited]))
            .await,
        1000
    );
    // chg
    let chg = Command::Contact(ContactCommand::Update(ContactUpdate {
        id: ContactId::new("ct1").unwrap(),
        add: vec![],
        rem: vec![],
        chg: Some(ContactChg {
            email: Some("new@example.test".into()),
            voice: Some(None),
            ..ContactChg::default()
        }),
    }));
    assert_eq!(env.code(A, chg).await, 1000);
    let out = env.run(A, info(None)).await.unwrap();
    let Some(ResponseData::ContactInfo(c)) = out.res_data else {
        panic!()
    };
    assert_eq!(
        (c.email.as_str(), c.voice.is_none()),
        ("new@example.test", true)
    );
    // linked → 2305
    assert_eq!(
        env.code(A, create_domain("uses.test", "ct1", &[])).await,
        1000
    );
    assert_eq!(
        env.code(
            A,
            Command::Contact(ContactCommand::Delete(ContactId::new("ct1").unwrap()))
        )
        .await,
        2305
    );
    let out = env.run(A, info(None)).await.unwrap();
    let Some(ResponseData::ContactInfo(c)) = out.res_data else {
        panic!()
    };
    assert!(c.statuses.iter().any(|s| s.status == ContactStatus::Linked));
    assert_eq!(
        env.code(
            A,
            Command::Contact(ContactCommand::Delete(ContactId::new("ct2").unwrap()))
        )
        .await,
        1000
    );
}

async fn contact_transfer(env: &Env) {
    use epp_proto::contact::*;
    assert_eq!(env.code(A, create_contact("ctr")).await, 1000);
    let tr = |op, pw: Option<&str>| {
        Command::Contact(ContactCommand::Transfer {
            op,
            id: ContactId::new("ctr").unwrap(),
            auth_info: pw.map(auth),
        })
    };
    assert_eq!(
        env.code(B, tr(TransferOp::Request, Some("bad-pw1"))).await,
        2202
    );
    assert_eq!(
        env.code(B, tr(TransferOp::Request, Some("2fooBAR"))).await,
        1001
    );
    assert_eq!(
        env.code(
            A,
            Command::Contact(ContactCommand::Delete(ContactId::new("ctr").unwrap()))
        )
        .await,
        2304
    );
    assert_eq!(env.code(A, tr(TransferOp::Approve, None)).await, 1000);
    let out = env
        .run(
            B,
            Command::Contact(ContactCommand::Info {
                id: ContactId::new("ctr").unwrap(),
                auth_info: None,
            }),
        )
        .await
        .unwrap();
    let Some(ResponseData::ContactInfo(c)) = out.res_data else {
        panic!()
    };
    assert_eq!(c.cl_id.as_str(), B);
    // The transfer cleared the authInfo (RFC 9154): the old one no longer opens it, and the
    // new sponsor sets one for the next transfer.
    assert_eq!(
        env.code(A, tr(TransferOp::Request, Some("2fooBAR"))).await,
        2202
    );
    assert_eq!(
        env.code(
            B,
            Command::Contact(ContactCommand::Update(ContactUpdate {
                id: ContactId::new("ctr").unwrap(),
                add: Vec::new(),
                rem: Vec::new(),
                chg: Some(ContactChg {
                    auth_info: Some(auth("2fooBAR")),
                    ..Default::default()
                }),
            }))
        )
        .await,
        1000
    );
    // auto-approve
    assert_eq!(
        env.code(A, tr(TransferOp::Request, Some("2fooBAR"))).await,
        1001
    );
    env.advance_days(6);
    assert_eq!(env.reg.run_due(env.reg.now()).await.unwrap(), 1);
    let q = env.run(A, tr(TransferOp::Query, None)).await.unwrap();
    assert!(
        matches!(q.res_data, Some(ResponseData::ContactTransfer(ref t)) if t.tr_status == TransferStatus::ServerApproved)
    );
}

async fn poll_queue(env: &Env) {
    let out = env.run(A, poll_req()).await.unwrap();
    assert_eq!((out.code, out.msg_q), (ResultCode::SuccessNoMessages, None));
    assert_eq!(env.code(A, poll_ack("12345")).await, 2303);
    assert_eq!(env.code(A, poll_ack("not-a-number")).await, 2303);
    env.setup_domain(A, "pq.test").await;
    env.reg
        .set_server_statuses(&ObjectRef::Domain("pq.test".into()), &["serverHold"], &[])
        .await
        .unwrap();
    env.reg
        .set_server_statuses(&ObjectRef::Domain("pq.test".into()), &[], &["serverHold"])
        .await
        .unwrap();
    let out = env.run(A, poll_req()).await.unwrap();
    let q = out.msg_q.unwrap();
    assert_eq!(q.count, 2);
    assert!(q.msg.unwrap().contains("serverHold"));
    // B cannot ack A's message
    assert_eq!(env.code(B, poll_ack(q.id.as_str())).await, 2303);
    let ack = env.run(A, poll_ack(q.id.as_str())).await.unwrap();
    assert_eq!(ack.msg_q.unwrap().count, 1);
    assert_eq!(env.code(A, poll_ack(q.id.as_str())).await, 2303);
    let out = env.run(A, poll_req()).await.unwrap();
    assert_ne!(out.msg_q.unwrap().id, q.id);
    assert!(env
        .reg
        .set_server_statuses(&ObjectRef::Domain("pq.test".into()), &["clientHold"], &[])
        .await
        .is_err());
}

async fn history_rows(env: &Env) {
    env.setup_domain(A, "hist.test").await;
    assert_eq!(
        env.code(A, add_status("hist.test", DomainStatus::ClientHold))
            .await,
        1000
    );
    let h = env
        .reg
        .history(&ObjectRef::Domain("hist.test".into()))
        .await
        .unwrap();
    assert_eq!(h.len(), 2);
    let u = &h[1];
    assert_eq!((u.op.as_str(), u.cl_id.as_str()), ("domain:update", A));
    assert_eq!(u.source_ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(
        u.cert_fingerprint.as_deref(),
        Some("ab".repeat(32).as_str())
    );
    assert_eq!(u.cl_trid.as_deref(), Some("ABC-123"));
    assert!(u.sv_trid.starts_with("SV-"));
    let before: serde_json::Value = serde_json::from_str(u.before.as_deref().unwrap()).unwrap();
    let after: serde_json::Value = serde_json::from_str(u.after.as_deref().unwrap()).unwrap();
    assert_eq!(before["statuses"].as_array().unwrap().len(), 0);
    assert_eq!(after["statuses"][0]["s"], "clientHold");
    assert_eq!(after["auth_pw"], "***", "secrets are redacted");
    assert!(h[0].before.is_none());
    let hc = env
        .reg
        .history(&ObjectRef::Contact("c-hist-test".into()))
        .await
        .unwrap();
    assert_eq!(hc.len(), 1);
}

async fn dnssec(env: &Env) {
    env.setup_domain(A, "sec.test").await;
    let ds = |tag: u16, alg: u8, dt: u8, len: usize| DsData {
        key_tag: tag,
        alg,
        digest_type: dt,
        digest: "A1".repeat(len / 2),
        key_data: None,
    };
    let sec = |add: Vec<DsData>, rem: Option<SecDnsRem>| {
        vec![CommandExtension::SecDnsUpdate(SecDnsUpdate {
            urgent: false,
            rem,
            add: if add.is_empty() {
                None
            } else {
                Some(DsOrKeyData::Ds(add))
            },
            chg_max_sig_life: None,
        })]
    };
    let u = || upd(domain_update("sec.test"));
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(1, 123, 2, 64)], None))
            .await,
        2306,
        "alg 123"
    );
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(1, 13, 255, 64)], None))
            .await,
        2306,
        "digest type 255"
    );
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(1, 13, 2, 10)], None))
            .await,
        2005,
        "digest length"
    );
    let key = vec![CommandExtension::SecDnsUpdate(SecDnsUpdate {
        urgent: false,
        rem: None,
        add: Some(DsOrKeyData::Key(vec![KeyData {
            flags: 257,
            protocol: 3,
            alg: 13,
            pub_key: "AAAA".into(),
        }])),
        chg_max_sig_life: None,
    })];
    assert_eq!(env.code_ext(A, u(), key).await, 2306, "keyData refused");
    let urgent = vec![CommandExtension::SecDnsUpdate(SecDnsUpdate {
        urgent: true,
        ..SecDnsUpdate::default()
    })];
    assert_eq!(env.code_ext(A, u(), urgent).await, 2102);
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(1, 13, 2, 64), ds(2, 8, 1, 40)], None))
            .await,
        1000
    );
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(1, 13, 2, 64)], None))
            .await,
        2306,
        "already present"
    );
    assert_eq!(
        env.code_ext(
            A,
            u(),
            sec(
                vec![],
                Some(SecDnsRem::Data(DsOrKeyData::Ds(vec![ds(9, 13, 2, 64)])))
            )
        )
        .await,
        2306,
        "absent"
    );
    let (_, ext) = env.domain_info(B, "sec.test").await;
    let n = ext.iter().find_map(|e| match e {
        ResponseExtension::SecDnsInfo(i) => Some(i.data.len()),
        _ => None,
    });
    assert_eq!(n, Some(2));
    assert_eq!(
        env.code_ext(
            A,
            u(),
            sec(
                vec![],
                Some(SecDnsRem::Data(DsOrKeyData::Ds(vec![ds(2, 8, 1, 40)])))
            )
        )
        .await,
        1000
    );
    // rem all + add in one command ("chg")
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(3, 13, 2, 64)], Some(SecDnsRem::All)))
            .await,
        1000
    );
    let (_, ext) = env.domain_info(A, "sec.test").await;
    assert!(ext.iter().any(|e| matches!(e, ResponseExtension::SecDnsInfo(i) if matches!(&i.data, DsOrKeyData::Ds(v) if v.len() == 1 && v[0].key_tag == 3))));
    assert_eq!(
        env.code_ext(A, u(), sec(vec![], Some(SecDnsRem::All)))
            .await,
        1000
    );
    let (_, ext) = env.domain_info(A, "sec.test").await;
    assert!(!ext
        .iter()
        .any(|e| matches!(e, ResponseExtension::SecDnsInfo(_))));
    // create with DS
    let c = create_domain("sec2.test", "c-sec-test", &[]);
    let x = vec![CommandExtension::SecDnsCreate(SecDnsCreate {
        max_sig_life: Some(604800),
        data: DsOrKeyData::Ds(vec![ds(5, 13, 2, 64)]),
    })];
    assert_eq!(env.code_ext(A, c, x).await, 1000);
    let j = registry_core::Store::journal_since(env.reg.store(), 0, 1000)
        .await
        .unwrap();
    assert!(j
        .iter()
        .any(|e| e.change.name() == "sec2.test" && jdata(e).contains("\"key_tag\":5")));
    // secDNS on a host command is a use error
    let x = vec![CommandExtension::SecDnsCreate(SecDnsCreate {
        max_sig_life: None,
        data: DsOrKeyData::Ds(vec![]),
    })];
    assert_eq!(
        env.code_ext(A, create_host("ns1.ext.example", &[]), x)
            .await,
        2002
    );
}

/// Bug: `<secDNS:rem><secDNS:all>` kept maxSigLife, and info then answered an infData with
/// maxSigLife and no dsData (schema-invalid). maxSigLife now goes with the last DS record.
async fn bug_sec_dns_rem_all_clears_max_sig_life(env: &Env) {
    env.setup_domain(A, "msl.test").await;
    let ds = |tag: u16| DsData {
        key_tag: tag,
        alg: 13,
        digest_type: 2,
        digest: "A1".repeat(32),
        key_data: None,
    };
    let sec = |add: Vec<DsData>, rem: Option<SecDnsRem>, chg_max_sig_life: Option<u32>| {
        vec![CommandExtension::SecDnsUpdate(SecDnsUpdate {
            urgent: false,
            rem,
            add: (!add.is_empty()).then_some(DsOrKeyData::Ds(add)),
            chg_max_sig_life,
        })]
    };
    let u = || upd(domain_update("msl.test"));
    let info = || async {
        let (_, ext) = env.domain_info(A, "msl.test").await;
        ext.into_iter().find_map(|e| match e {
            ResponseExtension::SecDnsInfo(i) => Some((i.max_sig_life, i.data.len())),
            _ => None,
        })
    };
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(1)], None, Some(604_800)))
            .await,
        1000
    );
    assert_eq!(info().await, Some((Some(604_800), 1)));
    // rem all: no DS, no maxSigLife, no infData at all.
    assert_eq!(
        env.code_ext(A, u(), sec(vec![], Some(SecDnsRem::All), None))
            .await,
        1000
    );
    assert_eq!(info().await, None);
    // A DS added later does not bring the old maxSigLife back.
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(2)], None, None)).await,
        1000
    );
    assert_eq!(info().await, Some((None, 1)));
    // A maxSigLife that would be left without DS data is refused, and changes nothing.
    assert_eq!(
        env.code_ext(A, u(), sec(vec![], Some(SecDnsRem::All), Some(3600)))
            .await,
        2306
    );
    assert_eq!(info().await, Some((None, 1)));
    // rem all + add + chg in one command is fine.
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(3)], Some(SecDnsRem::All), Some(3600)))
            .await,
        1000
    );
    assert_eq!(info().await, Some((Some(3600), 1)));
    // Removing the last record one by one clears it too.
    let rem3 = Some(SecDnsRem::Data(DsOrKeyData::Ds(vec![ds(3)])));
    assert_eq!(env.code_ext(A, u(), sec(vec![], rem3, None)).await, 1000);
    assert_eq!(info().await, None);
    assert_eq!(
        env.code_ext(A, u(), sec(vec![ds(4)], None, None)).await,
        1000
    );
    assert_eq!(info().await, Some((None, 1)));
}

/// Two frontends on one database race to create the same names: exactly one wins each.
async fn concurrent_creates_one_wins(env: &Env) {
    assert_eq!(env.code(A, create_contact("race")).await, 1000);
    let other = std::sync::Arc::new(env.second_frontend().await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let other = other.clone();
        let cl = if i % 2 == 0 { A } else { B };
        tasks.push(tokio::spawn(async move {
            let f = CommandFrame {
                command: create_domain("race.test", "race", &[]),
                extensions: vec![],
                cl_trid: None,
            };
            code_of(other.execute(&actor(cl), &f).await)
        }));
    }
    let mine: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(env.code(A, create_domain("race.test", "race", &[])).await);
        }
        v
    };
    let mut codes = mine;
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 1000).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 1000 || *c == 2302), "{codes:?}");
}

/// Concurrent updates of one object never lose one another's changes.
async fn concurrent_updates_serialize(env: &Env) {
    env.setup_domain(A, "conc.test").await;
    let other = std::sync::Arc::new(env.second_frontend().await);
    let statuses = [
        DomainStatus::ClientHold,
        DomainStatus::ClientDeleteProhibited,
        DomainStatus::ClientRenewProhibited,
        DomainStatus::ClientTransferProhibited,
    ];
    let mut tasks = Vec::new();
    for s in statuses {
        let other = other.clone();
        tasks.push(tokio::spawn(async move {
            let f = CommandFrame {
                command: add_status("conc.test", s),
                extensions: vec![],
                cl_trid: None,
            };
            code_of(other.execute(&actor(A), &f).await)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 1000);
    }
    let (d, _) = env.domain_info(A, "conc.test").await;
    let set: Vec<_> = d
        .statuses
        .iter()
        .map(|s| s.status)
        .filter(|s| statuses.contains(s))
        .collect();
    assert_eq!(set.len(), 4, "{:?}", d.statuses);
    let h = env
        .reg
        .history(&ObjectRef::Domain("conc.test".into()))
        .await
        .unwrap();
    assert_eq!(h.len(), 5);
}

async fn host_status_command_matrix(env: &Env) {
    use HostStatus as S;
    env.setup_domain(A, "hm.test").await;
    let statuses = [
        S::ClientUpdateProhibited,
        S::ServerUpdateProhibited,
        S::ClientDeleteProhibited,
        S::ServerDeleteProhibited,
        S::Linked,
    ];
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Cmd {
        Update,
        Delete,
    }
    for (i, st) in statuses.iter().enumerate() {
        for cmd in [Cmd::Update, Cmd::Delete] {
            let name = format!("h{i}{}.hm.test", format!("{cmd:?}").to_lowercase());
            assert_eq!(env.code(A, create_host(&name, &["192.0.2.1"])).await, 1000);
            match st {
                S::Linked => {
                    let mut u = domain_update("hm.test");
                    u.add.ns = Some(NameServers::HostObj(vec![hn(&name)]));
                    assert_eq!(env.code(A, upd(u)).await, 1000);
                }
                s if s.is_client_settable() => {
                    let u = HostUpdate {
                        name: hn(&name),
                        add: HostAddRem {
                            addrs: vec![],
                            statuses: vec![StatusEntry::new(*s)],
                        },
                        rem: HostAddRem::default(),
                        new_name: None,
                    };
                    assert_eq!(
                        env.code(A, Command::Host(HostCommand::Update(u))).await,
                        1000
                    );
                }
                s => env
                    .reg
                    .set_server_statuses(&ObjectRef::Host(name.clone()), &[s.as_str()], &[])
                    .await
                    .unwrap(),
            }
            let got = match cmd {
                Cmd::Update => {
                    let u = HostUpdate {
                        name: hn(&name),
                        add: HostAddRem {
                            addrs: vec!["192.0.2.99".parse().unwrap()],
                            statuses: vec![],
                        },
                        rem: HostAddRem::default(),
                        new_name: None,
                    };
                    env.code(A, Command::Host(HostCommand::Update(u))).await
                }
                Cmd::Delete => {
                    env.code(A, Command::Host(HostCommand::Delete(hn(&name))))
                        .await
                }
            };
            let want = match (st, cmd) {
                (S::ClientUpdateProhibited | S::ServerUpdateProhibited, Cmd::Update) => 2304,
                (S::ClientDeleteProhibited | S::ServerDeleteProhibited, Cmd::Delete) => 2304,
                (S::Linked, Cmd::Delete) => 2305,
                _ => 1000,
            };
            assert_eq!(got, want, "{st:?} × {cmd:?}");
        }
    }
}

async fn contact_status_command_matrix(env: &Env) {
    use epp_proto::contact::{ContactCommand, ContactStatus as S, ContactUpdate};
    let statuses = [
        S::ClientUpdateProhibited,
        S::ServerUpdateProhibited,
        S::ClientDeleteProhibited,
        S::ServerDeleteProhibited,
        S::ClientTransferProhibited,
        S::ServerTransferProhibited,
        S::PendingTransfer,
        S::Linked,
    ];
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Cmd {
        Update,
        Delete,
        Transfer,
    }
    let cid = |s: &str| ContactId::new(s).unwrap();
    for (i, st) in statuses.iter().enumerate() {
        for cmd in [Cmd::Update, Cmd::Delete, Cmd::Transfer] {
            let id = format!("cm{i}{}", format!("{cmd:?}").to_lowercase());
            assert_eq!(env.code(A, create_contact(&id)).await, 1000);
            match st {
                S::Linked => {
                    let name = format!("{id}.test");
                    assert_eq!(env.code(A, create_domain(&name, &id, &[])).await, 1000);
                }
                S::PendingTransfer => assert_eq!(
                    env.code(
                        B,
                        Command::Contact(ContactCommand::Transfer {
                            op: TransferOp::Request,
                            id: cid(&id),
                            auth_info: Some(auth("2fooBAR")),
                        })
                    )
                    .await,
                    1001
                ),
                s if s.is_client_settable() => {
                    let u = ContactUpdate {
                        id: cid(&id),
                        add: vec![StatusEntry::new(*s)],
                        rem: vec![],
                        chg: None,
                    };
                    assert_eq!(
                        env.code(A, Command::Contact(ContactCommand::Update(u)))
                            .await,
                        1000
                    );
                }
                s => env
                    .reg
                    .set_server_statuses(&ObjectRef::Contact(id.clone()), &[s.as_str()], &[])
                    .await
                    .unwrap(),
            }
            let got = match cmd {
                Cmd::Update => {
                    let u = ContactUpdate {
                        id: cid(&id),
                        add: vec![],
                        rem: vec![],
                        chg: Some(epp_proto::contact::ContactChg {
                            postal_info: vec![],
                            voice: None,
                            fax: None,
                            email: Some("new@example.test".into()),
                            auth_info: None,
                            disclose: None,
                        }),
                    };
                    env.code(A, Command::Contact(ContactCommand::Update(u)))
                        .await
                }
                Cmd::Delete => {
                    env.code(A, Command::Contact(ContactCommand::Delete(cid(&id))))
                        .await
                }
                Cmd::Transfer => {
                    env.code(
                        B,
                        Command::Contact(ContactCommand::Transfer {
                            op: TransferOp::Request,
                            id: cid(&id),
                            auth_info: Some(auth("2fooBAR")),
                        }),
                    )
                    .await
                }
            };
            let want = match (st, cmd) {
                (S::PendingTransfer, Cmd::Transfer) => 2300,
                (S::PendingTransfer, _) => 2304,
                (S::ClientUpdateProhibited | S::ServerUpdateProhibited, Cmd::Update) => 2304,
                (S::ClientDeleteProhibited | S::ServerDeleteProhibited, Cmd::Delete) => 2304,
                (S::ClientTransferProhibited | S::ServerTransferProhibited, Cmd::Transfer) => 2304,
                (S::Linked, Cmd::Delete) => 2305,
                (_, Cmd::Transfer) => 1001,
                _ => 1000,
            };
            assert_eq!(got, want, "{st:?} × {cmd:?}");
        }
    }
}

async fn restore_report_is_stored(env: &Env) {
    env.setup_domain(A, "rr.test").await;
    env.advance_days(6);
    assert_eq!(env.code(A, delete_domain("rr.test")).await, 1001);
    let req = vec![CommandExtension::RgpUpdate(RgpUpdate::Request)];
    assert_eq!(
        env.code_ext(A, upd(domain_update("rr.test")), req).await,
        1000
    );
    let now = env.reg.now();
    let report = RgpReport {
        pre_data: "Pre-delete registration data goes here.".into(),
        post_data: "Post-restore registration data goes here.".into(),
        del_time: now - Duration::days(1),
        res_time: now,
        res_reason: "Registrant error.".into(),
        statements: ["This registrar has not restored the domain name in order to assume the rights to use or sell it.".into(), "The information in this report is true to best of this registrar's knowledge.".into()],
        other: Some("Supporting information goes here.".into()),
    };
    let ext = vec![CommandExtension::RgpUpdate(RgpUpdate::Report(Box::new(
        report,
    )))];
    assert_eq!(
        env.code_ext(A, upd(domain_update("rr.test")), ext).await,
        1000
    );
    let h = env
        .reg
        .history(&ObjectRef::Domain("rr.test".into()))
        .await
        .unwrap();
    let row = h.iter().find(|h| h.op == "rgp:restoreReport").unwrap();
    let after: serde_json::Value = serde_json::from_str(row.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["restore_report"]["res_reason"], "Registrant error.");
    assert_eq!(
        after["restore_report"]["other"],
        "Supporting information goes here."
    );
    assert_eq!(
        after["restore_report"]["pre_data"],
        "Pre-delete registration data goes here."
    );
    assert!(after["restore_report"]["received"].is_string());
}

async fn registry_delete(env: &Env) {
    env.setup_domain(A, "rd.test").await;
    assert_eq!(
        env.code(A, create_host("ns1.rd.test", &["192.0.2.1"]))
            .await,
        1000
    );
    assert_eq!(
        env.code(
            A,
            add_status("rd.test", DomainStatus::ClientDeleteProhibited)
        )
        .await,
        1000
    );
    env.setup_domain(A, "rp.test").await;
    // serverDeleteProhibited stops the operator too.
    env.reg
        .set_server_statuses(
            &ObjectRef::Domain("rd.test".into()),
            &["serverDeleteProhibited"],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        code_of(
            env.reg
                .registry_delete_domain("alice", "rd.test", "court order", false)
                .await
                .map(|_| ok_outcome())
        ),
        2304
    );
    env.reg
        .set_server_statuses(
            &ObjectRef::Domain("rd.test".into()),
            &[],
            &["serverDeleteProhibited"],
        )
        .await
        .unwrap();
    // A pending transfer is cancelled, client statuses and subordinate hosts do not stop it.
    assert_eq!(
        env.code(
            B,
            transfer("rd.test", TransferOp::Request, Some("domainpw1"))
        )
        .await,
        1001
    );
    env.reg
        .registry_delete_domain("alice", "rd.test", "court order 123", false)
        .await
        .unwrap();
    let (d, ext) = env.domain_info(A, "rd.test").await;
    assert!(d
        .statuses
        .iter()
        .any(|s| s.status == DomainStatus::PendingDelete));
    assert!(!d
        .statuses
        .iter()
        .any(|s| s.status == DomainStatus::PendingTransfer));
    assert!(
        matches!(ext.as_slice(), [ResponseExtension::RgpInfo(i)] if i.statuses == [RgpStatus::RedemptionPeriod])
    );
    let mut msgs = Vec::new();
    while let Some(q) = env.run(A, poll_req()).await.unwrap().msg_q {
        msgs.push(q.msg.unwrap_or_default());
        assert_eq!(env.code(A, poll_ack(q.id.as_str())).await, 1000);
    }
    assert!(
        msgs.iter()
            .any(|m| m.contains("deleted by the registry: court order 123")),
        "{msgs:?}"
    );
    let b = env.run(B, poll_req()).await.unwrap().msg_q.unwrap();
    assert!(b.msg.unwrap().contains("cancelled"));
    let h = env
        .reg
        .history(&ObjectRef::Domain("rd.test".into()))
        .await
        .unwrap();
    assert!(h
        .iter()
        .any(|h| h.op == "registry:delete" && h.cl_id == "operator:alice"));
    // Already pendingDelete.
    assert_eq!(
        code_of(
            env.reg
                .registry_delete_domain("alice", "rd.test", "again", false)
                .await
                .map(|_| ok_outcome())
        ),
        2304
    );
    // Purged at once, with its journal entry.
    env.reg
        .registry_delete_domain("alice", "rp.test", "abuse", true)
        .await
        .unwrap();
    assert_eq!(
        env.code(
            A,
            Command::Domain(DomainCommand::Info(DomainInfo {
                name: hn("rp.test"),
                hosts: HostsFilter::All,
                auth_info: None
            }))
        )
        .await,
        2303
    );
}

fn ok_outcome() -> registry_core::Outcome {
    registry_core::Outcome {
        code: ResultCode::Success,
        res_data: None,
        extensions: vec![],
        msg_q: None,
        plain_res_data: None,
    }
}

/// A journal entry's data as the journal stores it (JSON).
fn jdata(e: &registry_core::model::JournalEntry) -> String {
    match &e.change {
        registry_core::model::ZoneChange::Domain { delegation, .. } => {
            serde_json::to_string(delegation).unwrap()
        }
        registry_core::model::ZoneChange::Host { addrs, .. } => {
            serde_json::json!({ "addrs": addrs }).to_string()
        }
    }
}
