//! Contact commands over real TLS against the registry core (RFC 5733): check, info
//! (sponsor, other registrar with and without authInfo), create, update, delete (linked →
//! 2305) and transfer (request, query, approve, reject, cancel, server approval), with their
//! error paths. Every response frame is validated against the XSDs. Each test runs on
//! SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use epp_proto::contact::{
    ContactChg, ContactCommand as C, ContactCreate, ContactStatus as CS, ContactUpdate, Phone,
    PostalInfoType,
};
use epp_proto::session::Poll;
use epp_proto::{Command, ResponseData, StatusEntry, TransferOp, TransferStatus};
use registry_core::ObjectRef;
use support::core::*;
use support::*;

both_backends!(
    check_create_info,
    create_field_rules,
    info_authorisation,
    update_and_statuses,
    delete_linked,
    transfer_all_ops,
);

fn info(id: &str, pw: Option<&str>) -> Command {
    Command::Contact(C::Info {
        id: contact_id(id),
        auth_info: pw.map(auth),
    })
}

fn transfer(op: TransferOp, id: &str, pw: Option<&str>) -> Command {
    Command::Contact(C::Transfer {
        op,
        id: contact_id(id),
        auth_info: pw.map(auth),
    })
}

fn upd(id: &str) -> ContactUpdate {
    ContactUpdate {
        id: contact_id(id),
        add: Vec::new(),
        rem: Vec::new(),
        chg: None,
    }
}

fn update(u: ContactUpdate) -> Command {
    Command::Contact(C::Update(u))
}

fn create_of(id: &str) -> ContactCreate {
    let Command::Contact(C::Create(c)) = contact_create(id, "contact-pw") else {
        unreachable!()
    };
    c
}

fn tokens(r: &Reply) -> Vec<&'static str> {
    let mut v: Vec<_> = r
        .contact_info()
        .statuses
        .iter()
        .map(|s| s.status.as_str())
        .collect();
    v.sort();
    v
}

async fn check_create_info(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            let r = a
                .cmd(Command::Contact(C::Check(vec![
                    contact_id("c-one"),
                    contact_id("c-two"),
                ])))
                .await
                .ok();
            assert!(r.check().iter().all(|i| i.available));
            let r = a.cmd(contact_create("c-one", "contact-pw")).await.ok();
            let ResponseData::ContactCreate(cd) = r.res_data() else {
                panic!("creData expected: {}", r.xml);
            };
            assert_eq!(cd.id.as_str(), "c-one");
            assert_eq!(cd.cr_date, env.now());
            a.cmd(contact_create("c-one", "contact-pw"))
                .await
                .expect(2302);
            let r = a
                .cmd(Command::Contact(C::Check(vec![
                    contact_id("c-one"),
                    contact_id("c-two"),
                ])))
                .await
                .ok();
            let avail: Vec<bool> = r.check().iter().map(|i| i.available).collect();
            assert_eq!(avail, [false, true]);

            let r = a.cmd(info("c-one", None)).await.ok();
            let c = r.contact_info();
            assert_eq!(c.id.as_str(), "c-one");
            assert_eq!(c.cl_id.as_str(), "reg-a");
            assert_eq!(c.email, "c-one@example.net");
            assert_eq!(c.postal_info.len(), 1);
            assert_eq!(c.postal_info[0].info_type, PostalInfoType::Int);
            assert_eq!(c.postal_info[0].addr.cc, "US");
            // RFC 9154 section 4.2: info never returns the authInfo, not even to the sponsor.
            assert!(c.auth_info.is_none());
            assert_eq!(tokens(&r), ["ok"]);
            a.cmd(info("c-none", None)).await.expect(2303);
            assert_eq!(
                env.history_ops(ObjectRef::Contact("c-one".into())).await,
                ["contact:create"]
            );
        },
    )
    .await
}

async fn create_field_rules(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            let mk = |f: &dyn Fn(&mut ContactCreate)| {
                let mut c = create_of("c-bad");
                f(&mut c);
                Command::Contact(C::Create(c))
            };
            let cases: Vec<(&str, Command, u16)> = vec![
                ("bad e-mail", mk(&|c| c.email = "not-an-email".into()), 2005),
                (
                    "bad cc",
                    mk(&|c| c.postal_info[0].addr.cc = "USA".into()),
                    2005,
                ),
                (
                    "bad voice",
                    mk(&|c| {
                        c.voice = Some(Phone {
                            number: "+1.".into(),
                            ext: None,
                        })
                    }),
                    2005,
                ),
                (
                    "non-ASCII int",
                    mk(&|c| c.postal_info[0].name = "Jürgen".into()),
                    2005,
                ),
                (
                    "empty city",
                    mk(&|c| c.postal_info[0].addr.city = String::new()),
                    2005,
                ),
                (
                    "long org",
                    mk(&|c| c.postal_info[0].org = Some("x".repeat(256))),
                    2005,
                ),
                // Below the strength policy (RFC 9154 section 4.1): 2202.
                (
                    "weak authInfo",
                    mk(&|c| c.auth_info = raw_auth("2fooBAR")),
                    2202,
                ),
            ];
            for (what, cmd, code) in cases {
                let r = a.cmd(cmd).await;
                assert_eq!(r.code, code, "{what}: {}", r.xml);
            }
            a.cmd(info("c-bad", None)).await.expect(2303);
            // A `loc` postal info may carry any script.
            let mut c = create_of("c-loc");
            c.postal_info[0].info_type = PostalInfoType::Loc;
            c.postal_info[0].name = "Jürgen Müller".into();
            a.cmd(Command::Contact(C::Create(c))).await.ok();
        },
    )
    .await
}

async fn info_authorisation(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            a.cmd(contact_create("c-priv", "contact-pw")).await.ok();
            // Contact data is personal data: no authInfo, no info.
            b.cmd(info("c-priv", None)).await.expect(2201);
            b.cmd(info("c-priv", Some("wrong-pw"))).await.expect(2202);
            let r = b.cmd(info("c-priv", Some("contact-pw"))).await.ok();
            assert_eq!(r.contact_info().email, "c-priv@example.net");
            // Another registrar cannot update or delete.
            let mut u = upd("c-priv");
            u.chg = Some(ContactChg {
                email: Some("x@example.org".into()),
                ..Default::default()
            });
            b.cmd(update(u)).await.expect(2201);
            b.cmd(Command::Contact(C::Delete(contact_id("c-priv"))))
                .await
                .expect(2201);
        },
    )
    .await
}

async fn update_and_statuses(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            a.cmd(contact_create("c-upd", "contact-pw")).await.ok();
            let mut u = upd("c-upd");
            u.add = vec![StatusEntry::new(CS::ClientDeleteProhibited)];
            u.chg = Some(ContactChg {
                email: Some("new@example.org".into()),
                voice: Some(None),
                auth_info: Some(auth("new-contact-pw")),
                ..Default::default()
            });
            a.cmd(update(u)).await.ok();
            let r = a.cmd(info("c-upd", None)).await.ok();
            let c = r.contact_info();
            assert_eq!(c.email, "new@example.org");
            assert!(c.voice.is_none());
            assert!(c.auth_info.is_none(), "info never returns the authInfo");
            assert_eq!(c.up_id.as_ref().map(|c| c.as_str()), Some("reg-a"));
            assert_eq!(tokens(&r), ["clientDeleteProhibited"]);
            a.cmd(Command::Contact(C::Delete(contact_id("c-upd"))))
                .await
                .expect(2304);

            // server*/linked/ok are not the client's.
            for s in [
                CS::ServerUpdateProhibited,
                CS::ServerDeleteProhibited,
                CS::ServerTransferProhibited,
                CS::Linked,
                CS::Ok,
            ] {
                let mut u = upd("c-upd");
                u.add = vec![StatusEntry::new(s)];
                let r = a.cmd(update(u)).await;
                assert_eq!(r.code, 2306, "adding {s}: {}", r.xml);
            }
            // Present/absent.
            let mut u = upd("c-upd");
            u.add = vec![StatusEntry::new(CS::ClientDeleteProhibited)];
            a.cmd(update(u)).await.expect(2306);
            let mut u = upd("c-upd");
            u.rem = vec![StatusEntry::new(CS::ClientTransferProhibited)];
            a.cmd(update(u)).await.expect(2306);
            // Bad values in chg.
            let mut u = upd("c-upd");
            u.chg = Some(ContactChg {
                email: Some("broken".into()),
                ..Default::default()
            });
            a.cmd(update(u)).await.expect(2005);
            // clientUpdateProhibited.
            let mut u = upd("c-upd");
            u.add = vec![StatusEntry::new(CS::ClientUpdateProhibited)];
            a.cmd(update(u)).await.ok();
            let mut u = upd("c-upd");
            u.chg = Some(ContactChg {
                email: Some("again@example.org".into()),
                ..Default::default()
            });
            a.cmd(update(u)).await.expect(2304);
            let mut u = upd("c-upd");
            u.rem = vec![StatusEntry::new(CS::ClientUpdateProhibited)];
            u.chg = Some(ContactChg {
                email: Some("again@example.org".into()),
                ..Default::default()
            });
            a.cmd(update(u)).await.ok();
            a.cmd(update(upd("c-none"))).await.expect(2303);
            // Registry-set serverUpdateProhibited binds the sponsor.
            env.registry
                .set_server_statuses(
                    &ObjectRef::Contact("c-upd".into()),
                    &["serverUpdateProhibited"],
                    &[],
                )
                .await
                .expect("server status");
            let mut u = upd("c-upd");
            u.rem = vec![StatusEntry::new(CS::ClientDeleteProhibited)];
            a.cmd(update(u)).await.expect(2304);
            assert_eq!(
                env.history_ops(ObjectRef::Contact("c-upd".into())).await,
                [
                    "contact:create",
                    "contact:update",
                    "contact:update",
                    "contact:update",
                    "registry:status"
                ]
            );
        },
    )
    .await
}

async fn delete_linked(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            a.cmd(contact_create("c-link", "contact-pw")).await.ok();
            a.cmd(contact_create("c-free", "contact-pw")).await.ok();
            a.cmd(domain_create("linked.test", "c-link", &[], "dom-pw-1"))
                .await
                .ok();
            let r = a.cmd(info("c-link", None)).await.ok();
            assert_eq!(tokens(&r), ["linked"]);
            a.cmd(Command::Contact(C::Delete(contact_id("c-link"))))
                .await
                .expect(2305);
            a.cmd(Command::Contact(C::Delete(contact_id("c-free"))))
                .await
                .ok();
            a.cmd(info("c-free", None)).await.expect(2303);
            a.cmd(Command::Contact(C::Delete(contact_id("c-free"))))
                .await
                .expect(2303);
            // Once the domain is gone the contact can go.
            a.cmd(domain_delete("linked.test")).await.ok();
            a.cmd(Command::Contact(C::Delete(contact_id("c-link"))))
                .await
                .ok();
        },
    )
    .await
}

async fn transfer_all_ops(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            let (_, mut c) = env.new_session("reg-c").await;
            a.cmd(contact_create("c-move", "contact-pw")).await.ok();

            // Not pending: query 2301; approve/reject/cancel 2301.
            a.cmd(transfer(TransferOp::Query, "c-move", None))
                .await
                .expect(2301);
            a.cmd(transfer(TransferOp::Approve, "c-move", None))
                .await
                .expect(2301);
            b.cmd(transfer(TransferOp::Cancel, "c-move", None))
                .await
                .expect(2301);
            // Request: sponsor 2106, no/wrong authInfo 2202, unknown 2303.
            a.cmd(transfer(TransferOp::Request, "c-move", Some("contact-pw")))
                .await
                .expect(2106);
            b.cmd(transfer(TransferOp::Request, "c-move", None))
                .await
                .expect(2202);
            b.cmd(transfer(TransferOp::Request, "c-move", Some("wrong-pw")))
                .await
                .expect(2202);
            b.cmd(transfer(TransferOp::Request, "c-none", Some("contact-pw")))
                .await
                .expect(2303);

            // 1. request → reject.
            let r = b
                .cmd(transfer(TransferOp::Request, "c-move", Some("contact-pw")))
                .await
                .expect(1001);
            assert_eq!(r.transfer().tr_status, TransferStatus::Pending);
            assert_eq!(r.transfer().re_id.as_str(), "reg-b");
            assert_eq!(r.transfer().ac_id.as_str(), "reg-a");
            b.cmd(transfer(TransferOp::Request, "c-move", Some("contact-pw")))
                .await
                .expect(2300);
            // Query by both parties; a third registrar without authInfo: 2201.
            for s in [&mut a, &mut b] {
                let r = s
                    .cmd(transfer(TransferOp::Query, "c-move", None))
                    .await
                    .ok();
                assert_eq!(r.transfer().tr_status, TransferStatus::Pending);
            }
            c.cmd(transfer(TransferOp::Query, "c-move", None))
                .await
                .expect(2201);
            // Only the sponsor approves or rejects; only the requester cancels.
            b.cmd(transfer(TransferOp::Approve, "c-move", None))
                .await
                .expect(2201);
            a.cmd(transfer(TransferOp::Cancel, "c-move", None))
                .await
                .expect(2201);
            let r = a.cmd(info("c-move", None)).await.ok();
            assert_eq!(tokens(&r), ["pendingTransfer"]);
            a.cmd(Command::Contact(C::Delete(contact_id("c-move"))))
                .await
                .expect(2304);
            let r = a
                .cmd(transfer(TransferOp::Reject, "c-move", None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientRejected);

            // 2. request → cancel.
            b.cmd(transfer(TransferOp::Request, "c-move", Some("contact-pw")))
                .await
                .expect(1001);
            let r = b
                .cmd(transfer(TransferOp::Cancel, "c-move", None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientCancelled);

            // 3. request → approve: reg-b sponsors it.
            b.cmd(transfer(TransferOp::Request, "c-move", Some("contact-pw")))
                .await
                .expect(1001);
            let r = a
                .cmd(transfer(TransferOp::Approve, "c-move", None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ClientApproved);
            let r = b.cmd(info("c-move", None)).await.ok();
            assert_eq!(r.contact_info().cl_id.as_str(), "reg-b");
            assert!(r.contact_info().tr_date.is_some());
            a.cmd(info("c-move", None)).await.expect(2201);

            // 4. request by reg-c → nobody acts → the server approves after 5 days. The
            // transfer cleared the authInfo: the new sponsor sets one for the next.
            c.cmd(transfer(TransferOp::Request, "c-move", Some("contact-pw")))
                .await
                .expect(2202);
            b.cmd(update(ContactUpdate {
                chg: Some(ContactChg {
                    auth_info: Some(auth("contact-pw-2")),
                    ..Default::default()
                }),
                ..upd("c-move")
            }))
            .await
            .ok();
            c.cmd(transfer(
                TransferOp::Request,
                "c-move",
                Some("contact-pw-2"),
            ))
            .await
            .expect(1001);
            env.advance_days(5).await;
            let r = c.cmd(info("c-move", None)).await.ok();
            assert_eq!(r.contact_info().cl_id.as_str(), "reg-c");
            let r = c
                .cmd(transfer(TransferOp::Query, "c-move", None))
                .await
                .ok();
            assert_eq!(r.transfer().tr_status, TransferStatus::ServerApproved);

            // Poll: reg-a heard of the requests (3) and the cancel.
            let mut msgs = Vec::new();
            for _ in 0..20 {
                let r = a.cmd(Command::Poll(Poll::Request)).await;
                if r.code == 1300 {
                    break;
                }
                assert_eq!(r.code, 1301, "{}", r.xml);
                let q = r.response.msg_q.clone().expect("msgQ");
                if let Some(ResponseData::ContactTransfer(t)) = &r.response.res_data {
                    msgs.push(t.tr_status);
                }
                a.cmd(Command::Poll(Poll::Acknowledge(q.id))).await.ok();
            }
            assert_eq!(
                msgs,
                [
                    TransferStatus::Pending,
                    TransferStatus::Pending,
                    TransferStatus::ClientCancelled,
                    TransferStatus::Pending
                ]
            );
            assert_eq!(
                env.history_ops(ObjectRef::Contact("c-move".into())).await,
                [
                    "contact:create",
                    "transfer:request",
                    "transfer:clientRejected",
                    "transfer:request",
                    "transfer:clientCancelled",
                    "transfer:request",
                    "transfer:clientApproved",
                    "contact:update",
                    "transfer:request",
                    "transfer:serverApproved"
                ]
            );
        },
    )
    .await
}
