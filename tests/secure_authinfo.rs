//! Secure authorization information for transfer (RFC 9154, issue 18) over real TLS against the
//! registry core, on SQLite and on PostgreSQL: authInfo empty on create, set by the sponsor,
//! stored only hashed, never returned by info, refused below the strength policy (2202 with the
//! weakness as reason), expiring after its TTL, cleared by a completed transfer; the transfer
//! locks after create and after a transfer (2106); the registrant told of each transfer
//! request by mail; and migration 0023 hashing plaintext values in place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use epp_proto::contact::{ContactChg, ContactCommand as C, ContactUpdate};
use epp_proto::domain::{AuthInfoChange, DomainChg, DomainCommand as D, DomainTransfer};
use epp_proto::{Command, TransferOp};
use registry_core::secure_auth::{is_hashed, opens};
use registry_core::Store;
use support::core::*;
use support::*;

both_backends!(
    empty_on_create_set_by_sponsor_cleared_by_transfer,
    wrong_and_expired_values_do_not_open,
    weak_values_refused_with_reason,
    create_refuses_authinfo_when_not_accepted,
    info_never_returns_authinfo,
    transfer_locks_after_create_and_after_transfer,
    registrant_mailed_on_transfer_request,
    contact_authinfo_same_rules,
    migration_hashes_plaintext_in_place,
);

fn transfer(op: TransferOp, name: &str, pw: Option<&str>) -> Command {
    Command::Domain(D::Transfer(DomainTransfer {
        op,
        name: host_name(name),
        period: None,
        auth_info: pw.map(auth),
    }))
}

fn set_auth(name: &str, change: AuthInfoChange) -> Command {
    let mut u = domain_update(name);
    u.chg = Some(DomainChg {
        registrant: None,
        auth_info: Some(change),
    });
    Command::Domain(D::Update(u))
}

fn set_contact_auth(id: &str, pw: &str) -> Command {
    Command::Contact(C::Update(ContactUpdate {
        id: contact_id(id),
        add: Vec::new(),
        rem: Vec::new(),
        chg: Some(ContactChg {
            auth_info: Some(auth(pw)),
            ..Default::default()
        }),
    }))
}

fn contact_transfer(op: TransferOp, id: &str, pw: Option<&str>) -> Command {
    Command::Contact(C::Transfer {
        op,
        id: contact_id(id),
        auth_info: pw.map(auth),
    })
}

/// reg-a with contact `reg-a-c1` and the domain `name` created with an empty authInfo
/// (`<domain:pw/>`, as RFC 9154 section 4.1 asks); reg-b.
async fn two(env: &CoreEnv, name: &str) -> (Session, Session) {
    let (_, mut a) = env.new_session("reg-a").await;
    let (_, b) = env.new_session("reg-b").await;
    a.cmd(contact_create("reg-a-c1", "contact-pw")).await.ok();
    a.cmd(domain_create(name, "reg-a-c1", &[], "")).await.ok();
    (a, b)
}

async fn empty_on_create_set_by_sponsor_cleared_by_transfer(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "sa.test").await;
            // Created without one: nothing opens it, not even an empty value.
            let d = env.stored_domain("sa.test").await;
            assert_eq!((d.auth_pw, d.auth_set), (None, None));
            b.cmd(transfer(TransferOp::Request, "sa.test", Some("guess")))
                .await
                .expect(2202);
            b.cmd(Command::Domain(D::Transfer(DomainTransfer {
                op: TransferOp::Request,
                name: host_name("sa.test"),
                period: None,
                auth_info: Some(raw_auth("")),
            })))
            .await
            .expect(2202);

            // The sponsor sets one (the registrant asked to transfer): stored hashed.
            a.cmd(set_auth("sa.test", AuthInfoChange::Set(auth("tr-1"))))
                .await
                .ok();
            let d = env.stored_domain("sa.test").await;
            let stored = d.auth_pw.clone().expect("set");
            assert!(is_hashed(&stored) && !stored.contains("tr-1"), "{stored}");
            assert!(opens(&stored, &strong("tr-1")));
            assert_eq!(d.auth_set, Some(env.now()));

            // The gaining registrar transfers with it.
            b.cmd(transfer(TransferOp::Request, "sa.test", Some("tr-1")))
                .await
                .expect(1001);
            a.cmd(transfer(TransferOp::Approve, "sa.test", None))
                .await
                .ok();
            let d = env.stored_domain("sa.test").await;
            assert_eq!(d.cl_id, "reg-b");
            // Cleared by the transfer: the losing registrar cannot pull it straight back.
            assert_eq!((d.auth_pw, d.auth_set), (None, None));
            a.cmd(transfer(TransferOp::Request, "sa.test", Some("tr-1")))
                .await
                .expect(2202);

            // `<domain:null/>` and an empty `<domain:pw/>` both unset it.
            b.cmd(set_auth("sa.test", AuthInfoChange::Set(auth("tr-2"))))
                .await
                .ok();
            assert!(env.stored_domain("sa.test").await.auth_pw.is_some());
            b.cmd(set_auth("sa.test", AuthInfoChange::Remove))
                .await
                .ok();
            assert_eq!(env.stored_domain("sa.test").await.auth_pw, None);
            b.cmd(set_auth("sa.test", AuthInfoChange::Set(auth("tr-3"))))
                .await
                .ok();
            b.raw(
                r#"<update><domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>sa.test</domain:name><domain:chg><domain:authInfo><domain:pw/></domain:authInfo></domain:chg></domain:update></update>"#,
            )
            .await
            .ok();
            let d = env.stored_domain("sa.test").await;
            assert_eq!((d.auth_pw, d.auth_set), (None, None));

            // Auto-approval clears it too.
            b.cmd(set_auth("sa.test", AuthInfoChange::Set(auth("tr-4"))))
                .await
                .ok();
            a.cmd(transfer(TransferOp::Request, "sa.test", Some("tr-4")))
                .await
                .expect(1001);
            env.advance_days(5).await;
            let d = env.stored_domain("sa.test").await;
            assert_eq!(d.cl_id, "reg-a");
            assert_eq!((d.auth_pw, d.auth_set), (None, None));
        },
    )
    .await
}

async fn wrong_and_expired_values_do_not_open(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "ttl.test").await;
            a.cmd(set_auth("ttl.test", AuthInfoChange::Set(auth("ttl-1"))))
                .await
                .ok();
            b.cmd(transfer(TransferOp::Request, "ttl.test", Some("ttl-2")))
                .await
                .expect(2202);
            b.cmd(domain_info("ttl.test", Some("ttl-2")))
                .await
                .expect(2202);
            // Within the TTL (14 days by default) it opens ...
            env.advance_days(13).await;
            let r = b.cmd(domain_info("ttl.test", Some("ttl-1"))).await.ok();
            assert!(r.domain_info().registrant.is_some(), "full view");
            // ... after it, it is just another wrong value.
            env.advance_days(1).await;
            b.cmd(domain_info("ttl.test", Some("ttl-1")))
                .await
                .expect(2202);
            b.cmd(transfer(TransferOp::Request, "ttl.test", Some("ttl-1")))
                .await
                .expect(2202);
            // Setting it again starts a new TTL.
            a.cmd(set_auth("ttl.test", AuthInfoChange::Set(auth("ttl-1"))))
                .await
                .ok();
            b.cmd(transfer(TransferOp::Request, "ttl.test", Some("ttl-1")))
                .await
                .expect(1001);
        },
    )
    .await
}

async fn weak_values_refused_with_reason(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            a.cmd(contact_create("reg-a-c1", "contact-pw")).await.ok();
            let weak = [
                ("x", "authInfo too short"),
                ("2fooBAR", "authInfo too short"),
                (
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    "authInfo: too few char classes",
                ),
                ("abcdefgh12345678", "authInfo: too little entropy"),
            ];
            for (pw, reason) in weak {
                let Command::Domain(D::Create(mut c)) =
                    domain_create("weak.test", "reg-a-c1", &[], "")
                else {
                    unreachable!()
                };
                c.auth_info = raw_auth(pw);
                let r = a.cmd(Command::Domain(D::Create(c))).await.expect(2202);
                assert!(r.xml.contains(reason), "{pw}: {}", r.xml);
                let Command::Contact(C::Create(mut c)) = contact_create("weak-c", "") else {
                    unreachable!()
                };
                c.auth_info = raw_auth(pw);
                let r = a.cmd(Command::Contact(C::Create(c))).await.expect(2202);
                assert!(r.xml.contains(reason), "{pw}: {}", r.xml);
            }
            a.cmd(domain_info("weak.test", None)).await.expect(2303);
            a.cmd(domain_create("weak.test", "reg-a-c1", &[], ""))
                .await
                .ok();
            for (pw, reason) in weak {
                let r = a
                    .cmd(set_auth("weak.test", AuthInfoChange::Set(raw_auth(pw))))
                    .await
                    .expect(2202);
                assert!(r.xml.contains(reason), "{pw}: {}", r.xml);
                let mut u = ContactUpdate {
                    id: contact_id("reg-a-c1"),
                    add: Vec::new(),
                    rem: Vec::new(),
                    chg: Some(ContactChg::default()),
                };
                if let Some(chg) = u.chg.as_mut() {
                    chg.auth_info = Some(raw_auth(pw));
                }
                let r = a.cmd(Command::Contact(C::Update(u))).await.expect(2202);
                assert!(r.xml.contains(reason), "{pw}: {}", r.xml);
            }
            assert_eq!(env.stored_domain("weak.test").await.auth_pw, None);
        },
    )
    .await
}

async fn create_refuses_authinfo_when_not_accepted(backend: Backend) {
    run_core(
        backend,
        |_, core| core.secure_auth.accept_on_create = false,
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            a.cmd(contact_create("reg-a-c1", "")).await.ok();
            a.cmd(contact_create("reg-a-c2", "contact-pw"))
                .await
                .expect(2306);
            a.cmd(domain_create("nac.test", "reg-a-c1", &[], "dom-pw"))
                .await
                .expect(2306);
            a.cmd(domain_create("nac.test", "reg-a-c1", &[], ""))
                .await
                .ok();
            // Set later, by update, it is accepted.
            a.cmd(set_auth("nac.test", AuthInfoChange::Set(auth("dom-pw"))))
                .await
                .ok();
        },
    )
    .await
}

async fn info_never_returns_authinfo(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "info.test").await;
            a.cmd(set_auth("info.test", AuthInfoChange::Set(auth("info-1"))))
                .await
                .ok();
            a.cmd(set_contact_auth("reg-a-c1", "info-c")).await.ok();
            let stored = env.stored_domain("info.test").await.auth_pw.expect("set");
            let hidden = |xml: &str| {
                !xml.contains("authInfo")
                    && !xml.contains(&strong("info-1"))
                    && !xml.contains(&strong("info-c"))
                    && !xml.contains("sha256$")
                    && !xml.contains(&stored)
            };
            // The sponsor.
            let r = a.cmd(domain_info("info.test", None)).await.ok();
            assert!(hidden(&r.xml), "{}", r.xml);
            // A non-sponsor who has it: the full view, without it.
            let r = b.cmd(domain_info("info.test", Some("info-1"))).await.ok();
            assert!(r.domain_info().registrant.is_some());
            assert!(hidden(&r.xml), "{}", r.xml);
            // Contacts alike.
            let info = |pw: Option<&str>| {
                Command::Contact(C::Info {
                    id: contact_id("reg-a-c1"),
                    auth_info: pw.map(auth),
                })
            };
            let r = a.cmd(info(None)).await.ok();
            assert!(hidden(&r.xml), "{}", r.xml);
            let r = b.cmd(info(Some("info-c"))).await.ok();
            assert!(hidden(&r.xml), "{}", r.xml);
        },
    )
    .await
}

async fn transfer_locks_after_create_and_after_transfer(backend: Backend) {
    run_core(
        backend,
        |_, core| {
            // The defaults (the harness turns them off for the other suites).
            let d = registry_core::secure_auth::SecureAuthConfig::default();
            core.secure_auth.transfer_lock_after_create_days = d.transfer_lock_after_create_days;
            core.secure_auth.transfer_lock_after_transfer_days =
                d.transfer_lock_after_transfer_days;
        },
        |env| async move {
            let (mut a, mut b) = two(&env, "lock.test").await;
            let (_, mut c) = env.new_session("reg-c").await;
            a.cmd(set_auth("lock.test", AuthInfoChange::Set(auth("lk-1"))))
                .await
                .ok();
            // Minutes after create: 2106 with the reason.
            let r = b
                .cmd(transfer(TransferOp::Request, "lock.test", Some("lk-1")))
                .await
                .expect(2106);
            assert!(
                r.xml.contains("transfer lock: created recently"),
                "{}",
                r.xml
            );
            // A wrong authInfo still gets 2202: the lock is only told to its holder.
            b.cmd(transfer(TransferOp::Request, "lock.test", Some("lk-x")))
                .await
                .expect(2202);
            env.advance_days(59).await;
            a.cmd(set_auth("lock.test", AuthInfoChange::Set(auth("lk-2"))))
                .await
                .ok();
            b.cmd(transfer(TransferOp::Request, "lock.test", Some("lk-2")))
                .await
                .expect(2106);
            env.advance_days(1).await;
            b.cmd(transfer(TransferOp::Request, "lock.test", Some("lk-2")))
                .await
                .expect(1001);
            a.cmd(transfer(TransferOp::Approve, "lock.test", None))
                .await
                .ok();
            // Just transferred: locked again.
            b.cmd(set_auth("lock.test", AuthInfoChange::Set(auth("lk-3"))))
                .await
                .ok();
            let r = c
                .cmd(transfer(TransferOp::Request, "lock.test", Some("lk-3")))
                .await
                .expect(2106);
            assert!(
                r.xml.contains("transfer lock: recent transfer"),
                "{}",
                r.xml
            );
            env.advance_days(60).await;
            b.cmd(set_auth("lock.test", AuthInfoChange::Set(auth("lk-4"))))
                .await
                .ok();
            c.cmd(transfer(TransferOp::Request, "lock.test", Some("lk-4")))
                .await
                .expect(1001);
        },
    )
    .await
}

async fn registrant_mailed_on_transfer_request(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "mail.test").await;
            a.cmd(set_auth("mail.test", AuthInfoChange::Set(auth("ml-1"))))
                .await
                .ok();
            let outbox = || async {
                env.registry
                    .store()
                    .outbox_due(env.now(), 100)
                    .await
                    .expect("outbox")
            };
            assert!(outbox().await.is_empty());
            b.cmd(transfer(TransferOp::Request, "mail.test", Some("ml-1")))
                .await
                .expect(1001);
            let mail = outbox().await;
            assert_eq!(mail.len(), 1, "{mail:?}");
            let m = &mail[0];
            // contact_create gives contact X the address X@example.net.
            assert_eq!(m.recipient, "reg-a-c1@example.net");
            assert_eq!(m.kind, "notice");
            assert!(m.subject.contains("mail.test"), "{}", m.subject);
            assert!(
                m.body.contains("reg-b") && m.body.contains("reg-a"),
                "{}",
                m.body
            );
            assert!(!m.body.contains(&strong("ml-1")), "no secret in mail");
            // Each request: a second one after a cancel is mailed too.
            b.cmd(transfer(TransferOp::Cancel, "mail.test", None))
                .await
                .ok();
            b.cmd(transfer(TransferOp::Request, "mail.test", Some("ml-1")))
                .await
                .expect(1001);
            assert_eq!(outbox().await.len(), 2);
        },
    )
    .await
}

async fn contact_authinfo_same_rules(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (_, mut a) = env.new_session("reg-a").await;
            let (_, mut b) = env.new_session("reg-b").await;
            a.cmd(contact_create("ct-1", "")).await.ok();
            let c = env.stored_contact("ct-1").await;
            assert_eq!((c.auth_pw.as_str(), c.auth_set), ("", None));
            b.cmd(contact_transfer(TransferOp::Request, "ct-1", Some("x")))
                .await
                .expect(2202);
            a.cmd(set_contact_auth("ct-1", "ct-pw")).await.ok();
            let c = env.stored_contact("ct-1").await;
            assert!(is_hashed(&c.auth_pw) && opens(&c.auth_pw, &strong("ct-pw")));
            b.cmd(contact_transfer(TransferOp::Request, "ct-1", Some("ct-pw")))
                .await
                .expect(1001);
            a.cmd(contact_transfer(TransferOp::Approve, "ct-1", None))
                .await
                .ok();
            let c = env.stored_contact("ct-1").await;
            assert_eq!(c.cl_id, "reg-b");
            assert_eq!((c.auth_pw.as_str(), c.auth_set), ("", None));
            a.cmd(contact_transfer(TransferOp::Request, "ct-1", Some("ct-pw")))
                .await
                .expect(2202);
            // Expiry.
            b.cmd(set_contact_auth("ct-1", "ct-pw-2")).await.ok();
            env.advance_days(14).await;
            a.cmd(contact_transfer(
                TransferOp::Request,
                "ct-1",
                Some("ct-pw-2"),
            ))
            .await
            .expect(2202);
        },
    )
    .await
}

/// A database from before migration 0023 with plaintext authInfo values: connecting migrates
/// it, and the values are hashed in place and still open.
async fn migration_hashes_plaintext_in_place(backend: Backend) {
    run_core(
        backend,
        |_, _| {},
        |env| async move {
            let (mut a, mut b) = two(&env, "old.test").await;
            a.cmd(domain_create("hashed.test", "reg-a-c1", &[], "keep-me"))
                .await
                .ok();
            let kept = env.stored_domain("hashed.test").await.auth_pw;
            let plain = strong("old-plain");
            let plain_c = strong("old-contact");
            // As a pre-0023 server kept them: plaintext, no auth_set.
            let old = |table: &str, key: &str, pw: &str| {
                let (table, key, pw) = (table.to_owned(), key.to_owned(), pw.to_owned());
                let db = env.db.clone();
                async move {
                    let col = if table == "domain" { "name" } else { "handle" };
                    let q = format!("SELECT data FROM {table} WHERE {col} = $1");
                    let data: String = match &db {
                        registry_store::Db::Sqlite(p) => {
                            sqlx::query_scalar(&q).bind(&key).fetch_one(p).await
                        }
                        registry_store::Db::Postgres(p) => {
                            sqlx::query_scalar(&q).bind(&key).fetch_one(p).await
                        }
                    }
                    .expect("read");
                    let mut v: serde_json::Value = serde_json::from_str(&data).expect("json");
                    v["auth_pw"] = serde_json::Value::String(pw);
                    v.as_object_mut().expect("object").remove("auth_set");
                    let u = format!("UPDATE {table} SET data = $1 WHERE {col} = $2");
                    match &db {
                        registry_store::Db::Sqlite(p) => sqlx::query(&u)
                            .bind(v.to_string())
                            .bind(&key)
                            .execute(p)
                            .await
                            .map(drop),
                        registry_store::Db::Postgres(p) => sqlx::query(&u)
                            .bind(v.to_string())
                            .bind(&key)
                            .execute(p)
                            .await
                            .map(drop),
                    }
                    .expect("write");
                }
            };
            old("domain", "old.test", &plain).await;
            old("contact", "reg-a-c1", &plain_c).await;
            // Before the migration ran, a plaintext value opens nothing (fail closed).
            b.cmd(transfer(TransferOp::Request, "old.test", Some("old-plain")))
                .await
                .expect(2202);
            // Undo 0023 as if it had never run, then connect as the owner who migrates.
            let undo = [
                "DELETE FROM _sqlx_migrations WHERE version = 23",
                "DROP TABLE auth_info_plaintext",
            ];
            for q in undo {
                match &env.db {
                    registry_store::Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(drop),
                    registry_store::Db::Postgres(p) => sqlx::query(q).execute(p).await.map(drop),
                }
                .expect(q);
            }
            let owner_url = match &env.backend {
                Backend::Sqlite => env.db_url.clone(),
                Backend::Postgres { admin_url } => {
                    let name = env.db_url.rsplit('/').next().expect("database name");
                    with_database(admin_url, name)
                }
            };
            let migrated = registry_store::Db::connect(&owner_url, 2)
                .await
                .expect("migrate");
            let d = env.stored_domain("old.test").await;
            let stored = d.auth_pw.clone().expect("kept");
            assert!(is_hashed(&stored), "hashed in place: {stored}");
            assert!(opens(&stored, &plain));
            assert!(d.auth_set.is_some(), "its TTL starts at the migration");
            let c = env.stored_contact("reg-a-c1").await;
            assert!(is_hashed(&c.auth_pw) && opens(&c.auth_pw, &plain_c));
            assert_eq!(env.stored_domain("hashed.test").await.auth_pw, kept);
            let left: i64 = match &migrated {
                registry_store::Db::Sqlite(p) => {
                    sqlx::query_scalar("SELECT COUNT(*) FROM auth_info_plaintext")
                        .fetch_one(p)
                        .await
                }
                registry_store::Db::Postgres(p) => {
                    sqlx::query_scalar("SELECT COUNT(*) FROM auth_info_plaintext")
                        .fetch_one(p)
                        .await
                }
            }
            .expect("count");
            assert_eq!(left, 0);
            migrated.close().await;
            // And the old value still opens the transfer.
            b.cmd(transfer(TransferOp::Request, "old.test", Some("old-plain")))
                .await
                .expect(1001);
            let r = b
                .cmd(Command::Contact(C::Info {
                    id: contact_id("reg-a-c1"),
                    auth_info: Some(auth("old-contact")),
                }))
                .await
                .ok();
            assert!(!r.xml.contains("authInfo"));
        },
    )
    .await
}
