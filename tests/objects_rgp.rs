//! Redemption grace period (rgp-1.0, RFC 3915) over real TLS against the registry core:
//! grace statuses in info, delete into redemptionPeriod, restore request and report, the
//! lapses driven by the manual clock and `run_due` (redemption → pendingDelete → purge;
//! pendingRestore without report → redemptionPeriod), and rgp data only for sessions that
//! asked for it. Every response frame is validated against the XSDs. Each test runs on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use epp_proto::domain::{DomainCommand as D, DomainRenew, DomainStatus as DS};
use epp_proto::ext::rgp::{RgpReport, RgpStatus, RgpUpdate};
use epp_proto::ext::{CommandExtension as X, ResponseExtension};
use epp_proto::{Command, Label, StatusEntry};
use registry_core::ObjectRef;
use support::core::*;
use support::*;

both_backends!(
    grace_statuses_in_info,
    restore_request_and_report,
    redemption_lapses_into_purge,
    restore_request_lapses,
    restore_refusals,
);

fn rgp_of(r: &Reply) -> Vec<RgpStatus> {
    r.response
        .extensions
        .iter()
        .filter_map(|e| match e {
            ResponseExtension::RgpInfo(i) => Some(i.statuses.clone()),
            ResponseExtension::RgpUpdate(u) => Some(u.statuses.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn restore(name: &str, op: RgpUpdate) -> (Command, Vec<X>) {
    (
        Command::Domain(D::Update(domain_update(name))),
        vec![X::RgpUpdate(op)],
    )
}

fn report(env: &CoreEnv) -> RgpUpdate {
    RgpUpdate::Report(Box::new(RgpReport {
        pre_data: "Pre-delete registration data".into(),
        post_data: "Post-restore registration data".into(),
        del_time: env.now() - chrono::Duration::days(3),
        res_time: env.now(),
        res_reason: "Registrant error".into(),
        statements: [
            "This registrar has not restored the name to assume its rights.".into(),
            "The information in this report is true.".into(),
        ],
        other: None,
    }))
}

fn status_tokens(r: &Reply) -> Vec<&'static str> {
    let mut v: Vec<_> = r
        .domain_info()
        .statuses
        .iter()
        .map(|s| s.status.as_str())
        .collect();
    v.sort();
    v
}

async fn setup(env: &CoreEnv, name: &str) -> (Reg, Session) {
    let (reg, mut a) = env.new_session("reg-a").await;
    a.cmd(contact_create("reg-a-c1", "contact-pw")).await.ok();
    a.cmd(domain_create(name, "reg-a-c1", &[], "dom-pw-1"))
        .await
        .ok();
    (reg, a)
}

async fn grace_statuses_in_info(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (reg, mut a) = setup(&env, "grace.test").await;
            let r = a.cmd(domain_info("grace.test", None)).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::AddPeriod]);
            // After the add grace period: no rgp data at all.
            env.advance_days(5).await;
            let r = a.cmd(domain_info("grace.test", None)).await.ok();
            assert!(rgp_of(&r).is_empty(), "{}", r.xml);
            assert!(r.response.extensions.is_empty(), "{}", r.xml);
            // Renew: renewPeriod for 5 days.
            let ex = r.domain_info().ex_date.unwrap();
            a.cmd(Command::Domain(D::Renew(DomainRenew {
                name: host_name("grace.test"),
                cur_exp_date: ex.date_naive(),
                period: None,
            })))
            .await
            .ok();
            let r = a.cmd(domain_info("grace.test", None)).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::RenewPeriod]);
            // A session without the rgp extension never sees it.
            let mut plain = env.login_with(&reg, &[SEC_DNS_NS]).await;
            let r = plain.cmd(domain_info("grace.test", None)).await.ok();
            assert!(r.response.extensions.is_empty(), "{}", r.xml);
            // Expiry: auto-renew for a year, autoRenewPeriod.
            let ex = r.domain_info().ex_date.unwrap();
            env.clock.set(ex + chrono::Duration::hours(1));
            env.registry.run_due(env.now()).await.expect("run_due");
            let r = a.cmd(domain_info("grace.test", None)).await.ok();
            assert_eq!(
                r.domain_info().ex_date,
                Some(ex.checked_add_months(chrono::Months::new(12)).unwrap())
            );
            assert_eq!(rgp_of(&r), [RgpStatus::AutoRenewPeriod]);
            assert_eq!(
                env.history_ops(ObjectRef::Domain("grace.test".into()))
                    .await,
                ["domain:create", "domain:renew", "domain:autoRenew"]
            );
        },
    )
    .await
}

async fn restore_request_and_report(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = setup(&env, "res.test").await;
            a.cmd(host_create("ns1.example.net", &[])).await.ok();
            let mut u = domain_update("res.test");
            u.add.ns = Some(epp_proto::domain::NameServers::HostObj(vec![host_name(
                "ns1.example.net",
            )]));
            a.cmd(Command::Domain(D::Update(u))).await.ok();
            env.advance_days(6).await;
            let journal_before = env.journal().await.len();
            a.cmd(domain_delete("res.test")).await.expect(1001);
            // Out of the zone.
            assert_eq!(env.journal().await.len(), journal_before + 1);
            let r = a.cmd(domain_info("res.test", None)).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::RedemptionPeriod]);
            assert!(status_tokens(&r).contains(&"pendingDelete"));
            // Report before request: 2304.
            let (c, x) = restore("res.test", report(&env));
            a.cmd_ext(c, x).await.expect(2304);
            // Request: pendingRestore, returned in rgp:upData.
            let (c, x) = restore("res.test", RgpUpdate::Request);
            let r = a.cmd_ext(c, x).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::PendingRestore]);
            let r = a.cmd(domain_info("res.test", None)).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::PendingRestore]);
            // A second request: 2304.
            let (c, x) = restore("res.test", RgpUpdate::Request);
            a.cmd_ext(c, x).await.expect(2304);
            // Report: restored, back in the zone.
            env.advance_days(1).await;
            let (c, x) = restore("res.test", report(&env));
            a.cmd_ext(c, x).await.ok();
            let r = a.cmd(domain_info("res.test", None)).await.ok();
            assert!(!status_tokens(&r).contains(&"pendingDelete"), "{}", r.xml);
            assert!(rgp_of(&r).is_empty(), "{}", r.xml);
            assert_eq!(env.journal().await.len(), journal_before + 2);
            // Now it can be updated again.
            let mut u = domain_update("res.test");
            u.add.statuses = vec![StatusEntry::new(DS::ClientHold)];
            a.cmd(Command::Domain(D::Update(u))).await.ok();
            assert_eq!(
                env.history_ops(ObjectRef::Domain("res.test".into())).await,
                [
                    "domain:create",
                    "domain:update",
                    "domain:delete",
                    "rgp:restoreRequest",
                    "rgp:restoreReport",
                    "domain:update"
                ]
            );
        },
    )
    .await
}

async fn redemption_lapses_into_purge(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = setup(&env, "lapse.test").await;
            a.cmd(host_create("ns1.lapse.test", &["192.0.2.1"]))
                .await
                .ok();
            env.advance_days(6).await;
            // Subordinate hosts block the delete; remove it first.
            a.cmd(domain_delete("lapse.test")).await.expect(2305);
            a.cmd(host_delete("ns1.lapse.test")).await.ok();
            a.cmd(domain_delete("lapse.test")).await.expect(1001);
            // 30 days of redemption, then pendingDelete.
            env.advance_days(29).await;
            let r = a.cmd(domain_info("lapse.test", None)).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::RedemptionPeriod]);
            env.advance_days(1).await;
            let r = a.cmd(domain_info("lapse.test", None)).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::PendingDelete]);
            // No restore from pendingDelete.
            let (c, x) = restore("lapse.test", RgpUpdate::Request);
            a.cmd_ext(c, x).await.expect(2304);
            // 5 more days: purged; the name is free.
            env.advance_days(5).await;
            a.cmd(domain_info("lapse.test", None)).await.expect(2303);
            let r = a
                .cmd(Command::Domain(D::Check(vec![
                    Label::new("lapse.test").unwrap()
                ])))
                .await
                .ok();
            assert!(r.check()[0].available, "{}", r.xml);
            // The sponsor was told of the purge.
            let mut told = false;
            for _ in 0..10 {
                let r = a
                    .cmd(Command::Poll(epp_proto::session::Poll::Request))
                    .await;
                if r.code == 1300 {
                    break;
                }
                let q = r.response.msg_q.clone().expect("msgQ");
                told |= q.msg.as_deref().is_some_and(|m| m.contains("lapse.test"));
                a.cmd(Command::Poll(epp_proto::session::Poll::Acknowledge(q.id)))
                    .await
                    .ok();
            }
            assert!(told, "no poll message about the purge");
            // And it can be registered again.
            a.cmd(domain_create("lapse.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
        },
    )
    .await
}

async fn restore_request_lapses(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = setup(&env, "nolap.test").await;
            env.advance_days(6).await;
            a.cmd(domain_delete("nolap.test")).await.expect(1001);
            let (c, x) = restore("nolap.test", RgpUpdate::Request);
            a.cmd_ext(c, x).await.ok();
            // No report within 7 days: back to redemptionPeriod (RFC 3915 section 3.2).
            env.advance_days(7).await;
            let r = a.cmd(domain_info("nolap.test", None)).await.ok();
            assert_eq!(rgp_of(&r), [RgpStatus::RedemptionPeriod]);
            let (c, x) = restore("nolap.test", report(&env));
            a.cmd_ext(c, x).await.expect(2304);
            // A new request works.
            let (c, x) = restore("nolap.test", RgpUpdate::Request);
            a.cmd_ext(c, x).await.ok();
        },
    )
    .await
}

async fn restore_refusals(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (reg, mut a) = setup(&env, "ref.test").await;
            let (_, mut b) = env.new_session("reg-b").await;
            // Not deleted: 2304.
            let (c, x) = restore("ref.test", RgpUpdate::Request);
            a.cmd_ext(c, x).await.expect(2304);
            env.advance_days(6).await;
            a.cmd(domain_delete("ref.test")).await.expect(1001);
            // Another registrar: 2201.
            let (c, x) = restore("ref.test", RgpUpdate::Request);
            b.cmd_ext(c, x).await.expect(2201);
            // Restore with other changes: 2306.
            let mut u = domain_update("ref.test");
            u.add.statuses = vec![StatusEntry::new(DS::ClientHold)];
            a.cmd_ext(
                Command::Domain(D::Update(u)),
                vec![X::RgpUpdate(RgpUpdate::Request)],
            )
            .await
            .expect(2306);
            // rgp on a create: 2002. Without rgp at login: 2103.
            a.cmd_ext(
                domain_create("other.test", "reg-a-c1", &[], "dom-pw-1"),
                vec![X::RgpUpdate(RgpUpdate::Request)],
            )
            .await
            .expect(2002);
            let mut plain = env.login_with(&reg, &[]).await;
            let (c, x) = restore("ref.test", RgpUpdate::Request);
            plain.cmd_ext(c, x).await.expect(2103);
            // Report times in the future: 2306.
            let (c, x) = restore("ref.test", RgpUpdate::Request);
            a.cmd_ext(c, x).await.ok();
            let mut rep = report(&env);
            if let RgpUpdate::Report(r) = &mut rep {
                r.res_time = env.now() + chrono::Duration::days(3);
            }
            let (c, x) = restore("ref.test", rep);
            a.cmd_ext(c, x).await.expect(2306);
            assert_eq!(
                env.history_ops(ObjectRef::Domain("ref.test".into())).await,
                ["domain:create", "domain:delete", "rgp:restoreRequest"]
            );
        },
    )
    .await
}
