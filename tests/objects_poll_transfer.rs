//! Domain transfer (RFC 5731 section 3.2.4: request, query, approve, reject, cancel, server
//! approval after the auto-approve period) and the poll queue (RFC 5730 section 2.9.2.3:
//! req/ack with transfer messages) over real TLS against the registry core. Every response
//! frame is validated against the XSDs. Each test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use epp_proto::domain::{DomainCommand as D, DomainStatus as DS, DomainTransfer};
use epp_proto::session::Poll;
use epp_proto::{Command, MsgId, Period, ResponseData, StatusEntry, TransferOp, TransferStatus};
use registry_core::ObjectRef;
use support::core::*;
use support::*;

both_backends!(
    poll_empty_req_ack,
    transfer_request_reject_cancel,
    transfer_approve_moves_domain_and_hosts,
    transfer_server_approves_after_period,
    transfer_refusals,
);

fn transfer(op: TransferOp, name: &str, pw: Option<&str>, years: Option<u8>) -> Command {
    Command::Domain(D::Transfer(DomainTransfer {
        op,
        name: host_name(name),
        period: years.map(|y| Period::years(y).unwrap()),
        auth_info: pw.map(auth),
    }))
}

fn poll_req() -> Command {
    Command::Poll(Poll::Request)
}

fn ack(id: &str) -> Command {
    Command::Poll(Poll::Acknowledge(MsgId::new(id).unwrap()))
}

/// Reads and acknowledges every message of a session (bounded); returns (msg, trnData).
async fn drain(s: &mut Session) -> Vec<(String, Option<epp_proto::TransferData>)> {
    let mut out = Vec::new();
    for _ in 0..50 {
        let r = s.cmd(poll_req()).await;
        if r.code == 1300 {
            return out;
        }
        assert_eq!(r.code, 1301, "{}", r.xml);
        let q = r.response.msg_q.clone().expect("msgQ");
        let t = match &r.response.res_data {
            Some(ResponseData::DomainTransfer(t)) => Some(t.clone()),
            _ => None,
        };
        out.push((q.msg.clone().unwrap_or_default(), t));
        let a = s.cmd(ack(q.id.as_str())).await.ok();
        assert_eq!(
            a.response.msg_q.as_ref().map(|m| m.count),
            Some(q.count - 1)
        );
    }
    panic!("more than 50 poll messages");
}

/// reg-a with contact and domain `name`, and reg-b; returns both sessions.
async fn two(env: &CoreEnv, name: &str) -> (Session, Session) {
    let (_, mut a) = env.new_session("reg-a").await;
    let (_, b) = env.new_session("reg-b").await;
    a.cmd(contact_create("reg-a-c1", "contact-pw")).await.ok();
    a.cmd(domain_create(name, "reg-a-c1", &[], "dom-pw-1"))
        .await
        .ok();
    (a, b)
}

async fn poll_empty_req_ack(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "poll.test").await;
            a.cmd(poll_req()).await.expect(1300);
            a.cmd(ack("12345")).await.expect(2303);
            a.cmd(ack("not-a-number")).await.expect(2303);
            // Two transfer requests to reg-a (the second after a cancel): two messages.
            b.cmd(transfer(
                TransferOp::Request,
                "poll.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(1001);
            b.cmd(transfer(TransferOp::Cancel, "poll.test", None, None))
                .await
                .ok();
            let r = a.cmd(poll_req()).await.expect(1301);
            let q = r.response.msg_q.clone().expect("msgQ");
            assert_eq!(q.count, 2);
            assert!(q.q_date.is_some() && q.msg.is_some(), "{}", r.xml);
            let t = r.transfer();
            assert_eq!(t.object, "poll.test");
            assert_eq!(t.tr_status, TransferStatus::Pending);
            assert_eq!(t.re_id.as_str(), "reg-b");
            // Polling again without ack returns the same message.
            let again = a.cmd(poll_req()).await.expect(1301);
            assert_eq!(again.response.msg_q.as_ref().unwrap().id, q.id);
            // Another registrar cannot ack it.
            b.cmd(ack(q.id.as_str())).await.expect(2303);
            let r = a.cmd(ack(q.id.as_str())).await.ok();
            assert_eq!(r.response.msg_q.as_ref().map(|m| m.count), Some(1));
            a.cmd(ack(q.id.as_str())).await.expect(2303);
            let r = a.cmd(poll_req()).await.expect(1301);
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientCancelled);
            let id = r.response.msg_q.unwrap().id;
            a.cmd(ack(id.as_str())).await.ok();
            a.cmd(poll_req()).await.expect(1300);
            // reg-b has nothing.
            b.cmd(poll_req()).await.expect(1300);
        },
    )
    .await
}

async fn transfer_request_reject_cancel(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "tr.test").await;
            let r = b
                .cmd(transfer(
                    TransferOp::Request,
                    "tr.test",
                    Some("dom-pw-1"),
                    Some(1),
                ))
                .await
                .expect(1001);
            let t = r.transfer().clone();
            assert_eq!(t.tr_status, TransferStatus::Pending);
            assert_eq!((t.re_id.as_str(), t.ac_id.as_str()), ("reg-b", "reg-a"));
            assert_eq!(t.re_date, env.now());
            assert_eq!(t.ac_date, env.now() + chrono::Duration::days(5));
            let ex = a
                .cmd(domain_info("tr.test", None))
                .await
                .ok()
                .domain_info()
                .ex_date
                .unwrap();
            assert_eq!(
                t.ex_date,
                Some(ex.checked_add_months(chrono::Months::new(12)).unwrap())
            );
            // pendingTransfer blocks update, renew, delete and another request.
            let r = a.cmd(domain_info("tr.test", None)).await.ok();
            assert!(r
                .domain_info()
                .statuses
                .iter()
                .any(|s| s.status == DS::PendingTransfer));
            let mut u = domain_update("tr.test");
            u.add.statuses = vec![StatusEntry::new(DS::ClientHold)];
            a.cmd(Command::Domain(D::Update(u))).await.expect(2304);
            a.cmd(domain_delete("tr.test")).await.expect(2304);
            b.cmd(transfer(
                TransferOp::Request,
                "tr.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(2300);
            // Query by both parties.
            for s in [&mut a, &mut b] {
                let r = s
                    .cmd(transfer(TransferOp::Query, "tr.test", None, None))
                    .await
                    .ok();
                assert_eq!(r.transfer().tr_status, TransferStatus::Pending);
            }
            // Reject.
            let r = a
                .cmd(transfer(TransferOp::Reject, "tr.test", None, None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientRejected);
            let r = a.cmd(domain_info("tr.test", None)).await.ok();
            assert_eq!(r.domain_info().cl_id.as_str(), "reg-a");
            assert!(!r
                .domain_info()
                .statuses
                .iter()
                .any(|s| s.status == DS::PendingTransfer));
            // The last transfer can still be queried.
            let r = b
                .cmd(transfer(TransferOp::Query, "tr.test", None, None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientRejected);
            // Request again, cancel.
            b.cmd(transfer(
                TransferOp::Request,
                "tr.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(1001);
            let r = b
                .cmd(transfer(TransferOp::Cancel, "tr.test", None, None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientCancelled);
            // Messages: b heard of the reject; a of two requests and the cancel.
            let mb = drain(&mut b).await;
            let statuses: Vec<_> = mb
                .iter()
                .map(|(_, t)| t.as_ref().unwrap().tr_status)
                .collect();
            assert_eq!(statuses, [TransferStatus::ClientRejected]);
            let ma = drain(&mut a).await;
            let statuses: Vec<_> = ma
                .iter()
                .map(|(_, t)| t.as_ref().unwrap().tr_status)
                .collect();
            assert_eq!(
                statuses,
                [
                    TransferStatus::Pending,
                    TransferStatus::Pending,
                    TransferStatus::ClientCancelled
                ]
            );
            assert_eq!(
                env.history_ops(ObjectRef::Domain("tr.test".into())).await,
                [
                    "domain:create",
                    "transfer:request",
                    "transfer:clientRejected",
                    "transfer:request",
                    "transfer:clientCancelled"
                ]
            );
        },
    )
    .await
}

async fn transfer_approve_moves_domain_and_hosts(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "mv.test").await;
            a.cmd(host_create("ns1.mv.test", &["192.0.2.1"])).await.ok();
            let ex = a
                .cmd(domain_info("mv.test", None))
                .await
                .ok()
                .domain_info()
                .ex_date
                .unwrap();
            env.advance_days(10).await;
            b.cmd(transfer(
                TransferOp::Request,
                "mv.test",
                Some("dom-pw-1"),
                Some(2),
            ))
            .await
            .expect(1001);
            // Only the sponsor approves.
            b.cmd(transfer(TransferOp::Approve, "mv.test", None, None))
                .await
                .expect(2201);
            let r = a
                .cmd(transfer(TransferOp::Approve, "mv.test", None, None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientApproved);
            let want = ex.checked_add_months(chrono::Months::new(24)).unwrap();
            assert_eq!(r.transfer().ex_date, Some(want));
            let r = b.cmd(domain_info("mv.test", None)).await.ok();
            let d = r.domain_info();
            assert_eq!(d.cl_id.as_str(), "reg-b");
            assert_eq!(d.ex_date, Some(want));
            assert_eq!(d.tr_date, Some(env.now()));
            // The subordinate host moved with it.
            let r = b.cmd(host_info("ns1.mv.test")).await.ok();
            assert_eq!(r.host_info().cl_id.as_str(), "reg-b");
            // The old sponsor is now a stranger.
            let mut u = domain_update("mv.test");
            u.add.statuses = vec![StatusEntry::new(DS::ClientHold)];
            a.cmd(Command::Domain(D::Update(u))).await.expect(2201);
            // rgp: transferPeriod for sessions with rgp.
            assert!(r.xml.contains("ns1.mv.test"));
            let r = b.cmd(domain_info("mv.test", None)).await.ok();
            assert!(r.xml.contains("transferPeriod"), "{}", r.xml);
            // b got the approval message.
            let mb = drain(&mut b).await;
            assert_eq!(mb.len(), 1);
            assert_eq!(
                mb[0].1.as_ref().unwrap().tr_status,
                TransferStatus::ClientApproved
            );
        },
    )
    .await
}

async fn transfer_server_approves_after_period(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "auto.test").await;
            b.cmd(transfer(
                TransferOp::Request,
                "auto.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(1001);
            // Four days: still pending.
            env.advance_days(4).await;
            let r = b
                .cmd(transfer(TransferOp::Query, "auto.test", None, None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::Pending);
            // Five days: the scheduler approves it.
            let touched = env.advance_days(1).await;
            assert!(touched >= 1, "run_due touched {touched}");
            let r = b
                .cmd(transfer(TransferOp::Query, "auto.test", None, None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ServerApproved);
            let r = b.cmd(domain_info("auto.test", None)).await.ok();
            assert_eq!(r.domain_info().cl_id.as_str(), "reg-b");
            // Both parties are told.
            for s in [&mut a, &mut b] {
                let msgs = drain(s).await;
                assert!(
                    msgs.iter().any(|(_, t)| t
                        .as_ref()
                        .is_some_and(|t| t.tr_status == TransferStatus::ServerApproved)),
                    "{} got {msgs:?}",
                    s.cl_id
                );
            }
            assert_eq!(
                env.history_ops(ObjectRef::Domain("auto.test".into())).await,
                [
                    "domain:create",
                    "transfer:request",
                    "transfer:serverApproved"
                ]
            );
        },
    )
    .await
}

async fn transfer_refusals(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "no.test").await;
            let (_, mut c) = env.new_session("reg-c").await;
            // Not pending.
            a.cmd(transfer(TransferOp::Query, "no.test", None, None))
                .await
                .expect(2301);
            a.cmd(transfer(TransferOp::Approve, "no.test", None, None))
                .await
                .expect(2301);
            a.cmd(transfer(TransferOp::Reject, "no.test", None, None))
                .await
                .expect(2301);
            b.cmd(transfer(TransferOp::Cancel, "no.test", None, None))
                .await
                .expect(2301);
            // The sponsor; missing or wrong authInfo; unknown domain.
            a.cmd(transfer(
                TransferOp::Request,
                "no.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(2106);
            b.cmd(transfer(TransferOp::Request, "no.test", None, None))
                .await
                .expect(2202);
            b.cmd(transfer(
                TransferOp::Request,
                "no.test",
                Some("wrong-pw"),
                None,
            ))
            .await
            .expect(2202);
            b.cmd(transfer(
                TransferOp::Request,
                "none.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(2303);
            // Beyond ten years.
            b.cmd(transfer(
                TransferOp::Request,
                "no.test",
                Some("dom-pw-1"),
                Some(10),
            ))
            .await
            .expect(2306);
            // clientTransferProhibited.
            let mut u = domain_update("no.test");
            u.add.statuses = vec![StatusEntry::new(DS::ClientTransferProhibited)];
            a.cmd(Command::Domain(D::Update(u))).await.ok();
            b.cmd(transfer(
                TransferOp::Request,
                "no.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(2304);
            let mut u = domain_update("no.test");
            u.rem.statuses = vec![StatusEntry::new(DS::ClientTransferProhibited)];
            a.cmd(Command::Domain(D::Update(u))).await.ok();
            // Pending: a third registrar may not query (2201) unless it has the authInfo; the
            // requester may not approve; the sponsor may not cancel.
            b.cmd(transfer(
                TransferOp::Request,
                "no.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(1001);
            c.cmd(transfer(TransferOp::Query, "no.test", None, None))
                .await
                .expect(2201);
            c.cmd(transfer(
                TransferOp::Query,
                "no.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .ok();
            b.cmd(transfer(TransferOp::Reject, "no.test", None, None))
                .await
                .expect(2201);
            a.cmd(transfer(TransferOp::Cancel, "no.test", None, None))
                .await
                .expect(2201);
            c.cmd(transfer(
                TransferOp::Request,
                "no.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(2300);
            // A domain in redemption cannot be transferred.
            a.cmd(domain_create("red.test", "reg-a-c1", &[], "dom-pw-1"))
                .await
                .ok();
            env.advance_days(6).await;
            a.cmd(domain_delete("red.test")).await.expect(1001);
            b.cmd(transfer(
                TransferOp::Request,
                "red.test",
                Some("dom-pw-1"),
                None,
            ))
            .await
            .expect(2304);
        },
    )
    .await
}
