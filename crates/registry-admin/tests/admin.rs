//! The admin tool as a library, on a fresh SQLite database: registrar management, lock
//! requests filed, listed, verified (wrong code) and rejected, history, audit, exit codes.
//! Operators alice and bob sign; registrar changes go through the two-person rule (`two`).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use epp_proto::contact::*;
use epp_proto::domain::*;
use epp_proto::*;
use registry_admin::{run_args, AdminError, Output};
use registry_core::clock::ManualClock;
use registry_core::{Actor, Registry};
use registry_store::{Db, SqlStore};

struct Tmp {
    _dir: tempfile::TempDir,
    url: String,
}

fn tmp() -> Tmp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("reg.db").display());
    Tmp { _dir: dir, url }
}

async fn adm_as(t: &Tmp, who: &str, args: &[&str]) -> Result<Output, AdminError> {
    let key = t._dir.path().join(format!("{who}.key"));
    let key = key.to_str().unwrap();
    let mut v = vec![
        "registry-admin",
        "--db",
        &t.url,
        "--operator",
        who,
        "--key",
        key,
    ];
    v.extend_from_slice(args);
    run_args(v).await
}

/// As alice (a security operator).
async fn adm(t: &Tmp, args: &[&str]) -> Result<Output, AdminError> {
    adm_as(t, "alice", args).await
}

/// Operators alice (security, the first account) and bob (operator, approved by alice).
async fn operators(t: &Tmp) {
    let mut pk = Vec::new();
    for who in ["alice", "bob"] {
        let file = t._dir.path().join(format!("{who}.key"));
        let out = adm_as(t, who, &["operator", "keygen", file.to_str().unwrap()])
            .await
            .unwrap();
        pk.push(out.json["public_key"].as_str().unwrap().to_owned());
    }
    adm(
        t,
        &[
            "operator",
            "add",
            "alice",
            "--role",
            "security",
            "--public-key",
            &pk[0],
        ],
    )
    .await
    .unwrap();
    let p = adm_as(
        t,
        "bob",
        &[
            "operator",
            "add",
            "bob",
            "--role",
            "operator",
            "--public-key",
            &pk[1],
        ],
    )
    .await
    .unwrap();
    let id = p.json["id"].to_string();
    adm(t, &["proposal", "approve", &id]).await.unwrap();
}

/// A two-person action: alice proposes `args`, bob approves; the result of the action.
async fn two(t: &Tmp, args: &[&str]) -> Result<Output, AdminError> {
    let mut v = vec!["propose"];
    v.extend_from_slice(args);
    let p = adm(t, &v).await?;
    let id = p.json["id"].to_string();
    let mut out = adm_as(t, "bob", &["proposal", "approve", &id]).await?;
    out.json = out.json["result"].clone();
    Ok(out)
}

fn code(r: Result<Output, AdminError>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.exit_code(),
    }
}

const FP: &str = "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89";

#[tokio::test]
async fn registrars() {
    let t = tmp();
    operators(&t).await;
    let out = adm(
        &t,
        &[
            "registrar",
            "create",
            "regA",
            "--name",
            "Registrar A",
            "--cert",
            FP,
            "--network",
            "192.0.2.0/24",
            "--password",
            "s3cret-pw",
        ],
    )
    .await
    .unwrap();
    assert_eq!(out.json["cl_id"], "regA");
    // Duplicate: refused (4).
    assert_eq!(
        code(
            adm(
                &t,
                &[
                    "registrar",
                    "create",
                    "regA",
                    "--name",
                    "X",
                    "--cert",
                    FP,
                    "--network",
                    "192.0.2.0/24",
                    "--password",
                    "s3cret-pw"
                ]
            )
            .await
        ),
        4
    );
    // A PEM certificate file: pinned by the SHA-256 of its DER.
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("c.pem");
    std::fs::write(
        &pem,
        "-----BEGIN CERTIFICATE-----\nAAECAwQ=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = two(
        &t,
        &["registrar", "add-cert", "regA", pem.to_str().unwrap()],
    )
    .await
    .unwrap();
    // SHA-256 of the bytes 00 01 02 03 04.
    assert_eq!(
        out.json["added"],
        "08bb5e5d6eaac1049ede0893d30ed022b1a4d9b5b48db414871f51c9cb35283d"
    );
    assert_eq!(
        code(two(&t, &["registrar", "add-cert", "regA", "not-a-cert"]).await),
        2
    );
    assert_eq!(
        code(two(&t, &["registrar", "remove-cert", "regA", FP]).await),
        0
    );
    // The last certificate stays.
    assert_eq!(
        code(
            two(
                &t,
                &["registrar", "remove-cert", "regA", pem.to_str().unwrap()]
            )
            .await
        ),
        4
    );
    assert_eq!(
        code(two(&t, &["registrar", "add-network", "regA", "2001:db8::/32"]).await),
        0
    );
    assert_eq!(
        code(two(&t, &["registrar", "add-network", "regA", "2001:db8::/32"]).await),
        4
    );
    assert_eq!(
        code(two(&t, &["registrar", "remove-network", "regA", "192.0.2.0/24"]).await),
        0
    );
    assert_eq!(
        code(two(&t, &["registrar", "add-network", "regA", "bogus"]).await),
        2
    );
    assert_eq!(
        code(
            two(
                &t,
                &[
                    "registrar",
                    "set-password",
                    "regA",
                    "--password",
                    "other-password-1"
                ]
            )
            .await
        ),
        0
    );
    // The frontend's [password] policy: at least 16 characters by default.
    assert_eq!(
        code(
            two(
                &t,
                &[
                    "registrar",
                    "set-password",
                    "regA",
                    "--password",
                    "shortpassword1"
                ]
            )
            .await
        ),
        2
    );
    assert_eq!(
        code(
            two(
                &t,
                &[
                    "registrar",
                    "set-password",
                    "nobody",
                    "--password",
                    "other-password-1"
                ]
            )
            .await
        ),
        3
    );
    assert_eq!(
        code(
            two(
                &t,
                &[
                    "registrar",
                    "set-lock-contact",
                    "regA",
                    "--name",
                    "Kim",
                    "--phone",
                    "+1.5555550100",
                    "--email",
                    "not-mail"
                ]
            )
            .await
        ),
        2
    );
    two(
        &t,
        &[
            "registrar",
            "set-lock-contact",
            "regA",
            "--name",
            "Kim",
            "--phone",
            "+1.5555550100",
            "--email",
            "kim@rega.example",
        ],
    )
    .await
    .unwrap();
    let show = adm(&t, &["registrar", "show", "regA"]).await.unwrap();
    assert_eq!(
        show.json["allowed_networks"],
        serde_json::json!(["2001:db8::/32"])
    );
    assert_eq!(show.json["lock_contact"]["email"], "kim@rega.example");
    assert!(
        show.text.contains("Kim <kim@rega.example>"),
        "{}",
        show.text
    );
    // Suspension is what the frontends watch.
    adm(
        &t,
        &[
            "registrar",
            "suspend",
            "regA",
            "--reason",
            "compromised credentials",
        ],
    )
    .await
    .unwrap();
    let db = Db::connect(&t.url, 1).await.unwrap();
    assert_eq!(
        db.suspended_registrars().await.unwrap(),
        vec!["regA".to_owned()]
    );
    let list = adm(&t, &["registrar", "list"]).await.unwrap();
    assert!(
        list.text.contains("suspended") && list.text.contains("compromised credentials"),
        "{}",
        list.text
    );
    two(&t, &["registrar", "resume", "regA"]).await.unwrap();
    assert!(db.suspended_registrars().await.unwrap().is_empty());
    // The stored hash is argon2id with the frontend's parameters.
    let r = db
        .registrar(&ClientId::new("regA").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(r
        .password_hash
        .as_phc()
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    db.close().await;
    // Usage errors.
    assert_eq!(
        code(run_args(["registry-admin", "registrar", "list"]).await),
        2,
        "no database"
    );
    assert_eq!(code(adm(&t, &["registrar", "frobnicate"]).await), 2);
    // The audit log is readable (empty here).
    assert_eq!(
        adm(&t, &["audit", "--json"]).await.unwrap().json,
        serde_json::json!([])
    );
}

#[tokio::test]
async fn lock_requests() {
    let t = tmp();
    operators(&t).await;
    adm(
        &t,
        &[
            "registrar",
            "create",
            "regA",
            "--name",
            "Registrar A",
            "--cert",
            FP,
            "--network",
            "192.0.2.0/24",
            "--password",
            "s3cret-pw",
        ],
    )
    .await
    .unwrap();
    // A domain of regA, made through the core.
    let db = Db::connect(&t.url, 2).await.unwrap();
    let clock = ManualClock::new(chrono::Utc::now());
    let reg = Registry::new(
        SqlStore::new(db.clone()),
        Arc::new(clock),
        registry_core::Config::default(),
    );
    let actor = Actor {
        cl_id: ClientId::new("regA").unwrap(),
        source_ip: "192.0.2.7".parse().unwrap(),
        cert_fingerprint: None,
        cl_trid: None,
        sv_trid: SvTrid::new("SV-admin-test-1").unwrap(),
    };
    let run = |cmd: Command| CommandFrame {
        command: cmd,
        extensions: vec![],
        cl_trid: None,
    };
    reg.execute(
        &actor,
        &run(Command::Contact(ContactCommand::Create(ContactCreate {
            id: ContactId::new("kim1").unwrap(),
            postal_info: vec![PostalInfo {
                info_type: PostalInfoType::Int,
                name: "Kim".into(),
                org: None,
                addr: Address {
                    street: vec!["1 Main St".into()],
                    city: "Town".into(),
                    sp: None,
                    pc: None,
                    cc: "US".into(),
                },
            }],
            voice: None,
            fax: None,
            email: "kim@rega.example".into(),
            auth_info: AuthInfo::new("2fooBAR-Zq8#Kx3Vm9!Tr2Lw4$", None).unwrap(),
            disclose: None,
        }))),
    )
    .await
    .unwrap();
    reg.execute(
        &actor,
        &run(Command::Domain(DomainCommand::Create(DomainCreate {
            name: HostName::new("example.test").unwrap(),
            period: None,
            ns: None,
            registrant: Some(ContactId::new("kim1").unwrap()),
            contacts: vec![],
            auth_info: AuthInfo::new("domainpw1-Zq8#Kx3Vm9!Tr2Lw4$", None).unwrap(),
        }))),
    )
    .await
    .unwrap();
    // No lock contact yet: refused.
    assert_eq!(code(adm(&t, &["lock", "request", "example.test"]).await), 4);
    two(
        &t,
        &[
            "registrar",
            "set-lock-contact",
            "regA",
            "--name",
            "Kim",
            "--phone",
            "+1.5555550100",
            "--email",
            "kim@rega.example",
        ],
    )
    .await
    .unwrap();
    let out = adm(&t, &["lock", "request", "EXAMPLE.test"]).await.unwrap();
    let id = out.json["id"].as_i64().unwrap();
    assert_eq!(out.json["requested_by"], "operator:alice");
    assert!(out.json.get("code_hash").is_none());
    // Visible as "code not sent" until the mail worker ran.
    let list = adm(&t, &["lock", "list"]).await.unwrap();
    assert!(list.text.contains("code not sent"), "{}", list.text);
    assert_eq!(list.json[0]["state"], "codeNotSent");
    // A code cannot be entered before it was sent; a wrong one is exit 5 once it was.
    assert_eq!(
        code(adm(&t, &["lock", "verify", &id.to_string(), "AAAAA-AAAAA"]).await),
        4
    );
    assert_eq!(
        code(adm(&t, &["send-mail"]).await),
        0,
        "log channel by default"
    );
    assert_eq!(
        code(adm(&t, &["lock", "verify", &id.to_string(), "AAAAA-AAAAA"]).await),
        5
    );
    let show = adm(&t, &["lock", "show", &id.to_string()]).await.unwrap();
    assert_eq!(show.json["attempts"], 1);
    assert_eq!(show.json["state"], "pendingVerification");
    assert!(show.text.contains("sent"), "{}", show.text);
    adm(
        &t,
        &[
            "lock",
            "reject",
            &id.to_string(),
            "--reason",
            "contact denied",
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        code(
            adm(
                &t,
                &["lock", "reject", &id.to_string(), "--reason", "again"]
            )
            .await
        ),
        4
    );
    assert_eq!(code(adm(&t, &["lock", "show", "999"]).await), 3);
    assert!(adm(&t, &["lock", "list"])
        .await
        .unwrap()
        .json
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        adm(&t, &["lock", "list", "--all"])
            .await
            .unwrap()
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        code(
            adm(
                &t,
                &[
                    "lock",
                    "request",
                    "example.test",
                    "--unlock",
                    "--duration",
                    "P1Y"
                ]
            )
            .await
        ),
        2
    );
    let hist = adm(&t, &["history", "domain", "example.test"])
        .await
        .unwrap();
    for op in [
        "domain:create",
        "lock:requested",
        "lock:codeSent",
        "lock:verifyAttempt:wrong",
        "lock:rejected",
    ] {
        assert!(hist.text.contains(op), "{op} missing:\n{}", hist.text);
    }
    assert!(hist.text.contains("operator:alice"));
    assert_eq!(
        code(adm(&t, &["history", "domain", "nosuch.test"]).await),
        3
    );
    db.close().await;
}

/// Runs raw SQL on the database as an intruder with the file would.
async fn intrude(db: &Db, q: &str) {
    let Db::Sqlite(p) = db else { panic!("SQLite") };
    sqlx::query(q)
        .execute(p)
        .await
        .unwrap_or_else(|e| panic!("{q}: {e}"));
}

/// `history verify`, `keygen` and `checkpoint` end to end (issue 13): a clean chain verifies;
/// with the right key the checkpoint file verifies, with another key or a forged line it does
/// not; an edited row, a deleted row and a truncated tail are each named, exit code 8.
#[tokio::test]
async fn history_chain_verify() {
    let t = tmp();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&t.url, 2).await.unwrap();
    let reg = Registry::new(
        SqlStore::new(db.clone()),
        Arc::new(ManualClock::new(chrono::Utc::now())),
        registry_core::Config::default(),
    );
    let actor = Actor {
        cl_id: ClientId::new("regA").unwrap(),
        source_ip: "192.0.2.7".parse().unwrap(),
        cert_fingerprint: None,
        cl_trid: None,
        sv_trid: SvTrid::new("SV-admin-chain").unwrap(),
    };
    for i in 0..12 {
        let frame = CommandFrame {
            command: Command::Contact(ContactCommand::Create(ContactCreate {
                id: ContactId::new(&format!("chain{i}")).unwrap(),
                postal_info: vec![PostalInfo {
                    info_type: PostalInfoType::Int,
                    name: "Kim".into(),
                    org: None,
                    addr: Address {
                        street: vec![],
                        city: "Town".into(),
                        sp: None,
                        pc: None,
                        cc: "US".into(),
                    },
                }],
                voice: None,
                fax: None,
                email: "kim@rega.example".into(),
                auth_info: AuthInfo::new("2fooBAR-Zq8#Kx3Vm9!Tr2Lw4$", None).unwrap(),
                disclose: None,
            })),
            extensions: vec![],
            cl_trid: None,
        };
        reg.execute(&actor, &frame).await.unwrap();
    }

    let ok = adm(&t, &["history", "verify"]).await.unwrap();
    assert_eq!(ok.json["rows"], 12, "{}", ok.text);
    assert!(ok.text.contains("history chain ok"), "{}", ok.text);
    let z = adm(&t, &["history", "verify", "--zone"]).await.unwrap();
    assert!(z.text.contains("zone ok"), "{}", z.text);
    // A delegation in the journal that no history row explains.
    {
        let Db::Sqlite(p) = &db else { panic!() };
        sqlx::query("INSERT INTO zone_journal (at, kind, name, data) VALUES ($1, 'domain', 'ghost.test', $2)")
            .bind(chrono::Utc::now())
            .bind(r#"{"in_zone":true,"ns":["ns.evil.example"],"ds":[]}"#)
            .execute(p)
            .await
            .unwrap();
    }
    let e = adm(&t, &["history", "verify", "--zone"]).await.unwrap_err();
    assert_eq!(e.exit_code(), 10, "{e}");
    assert!(e.to_string().contains("ghost.test"), "{e}");

    let key = dir.path().join("cp.key");
    let key_s = key.to_str().unwrap();
    let made = adm(&t, &["history", "keygen", key_s]).await.unwrap();
    let public = made.json["public_key"].as_str().unwrap().to_owned();
    assert_eq!(public.len(), 64);
    assert_eq!(
        code(adm(&t, &["history", "keygen", key_s]).await),
        4,
        "keygen overwrote a key"
    );
    let other = dir.path().join("other.key");
    let other_pub = adm(&t, &["history", "keygen", other.to_str().unwrap()])
        .await
        .unwrap()
        .json["public_key"]
        .as_str()
        .unwrap()
        .to_owned();

    let cps = dir.path().join("checkpoints.jsonl");
    let cps_s = cps.to_str().unwrap();
    let cp = adm(
        &t,
        &[
            "history",
            "checkpoint",
            "--signing-key",
            key_s,
            "--file",
            cps_s,
        ],
    )
    .await
    .unwrap();
    assert_eq!(cp.json["position"], 12);
    let verify_cp = |pk: String| {
        let t = &t;
        async move {
            adm(
                t,
                &[
                    "history",
                    "verify",
                    "--checkpoint",
                    cps_s,
                    "--public-key",
                    &pk,
                ],
            )
            .await
        }
    };
    let good = verify_cp(public.clone()).await.unwrap();
    assert!(good.text.contains("checkpoint ok"), "{}", good.text);
    let e = verify_cp(other_pub).await.unwrap_err();
    assert_eq!(e.exit_code(), 10, "{e}");
    assert!(e.to_string().contains("does not verify"), "{e}");

    // A forged checkpoint line (position changed, signature kept).
    let line = std::fs::read_to_string(&cps).unwrap();
    let forged_file = dir.path().join("forged.jsonl");
    std::fs::write(
        &forged_file,
        line.replace("\"position\":12", "\"position\":3"),
    )
    .unwrap();
    let e = adm(
        &t,
        &[
            "history",
            "verify",
            "--checkpoint",
            forged_file.to_str().unwrap(),
            "--public-key",
            &public,
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit_code(), 10, "{e}");

    // The triggers refuse edits; an intruder drops them, then edits row 5 in place.
    let raw = Db::connect(&t.url, 1).await.unwrap();
    let Db::Sqlite(p) = &raw else { panic!() };
    assert!(
        sqlx::query("UPDATE object_history SET cl_id = 'regB' WHERE chain_seq = 5")
            .execute(p)
            .await
            .is_err()
    );
    intrude(&raw, "DROP TRIGGER object_history_no_update").await;
    intrude(&raw, "DROP TRIGGER object_history_no_delete").await;
    intrude(
        &raw,
        "UPDATE object_history SET cl_id = 'regB' WHERE chain_seq = 5",
    )
    .await;
    let e = adm(&t, &["history", "verify"]).await.unwrap_err();
    assert_eq!(e.exit_code(), 10);
    assert!(e.to_string().contains("chain position 5"), "{e}");
    intrude(
        &raw,
        "UPDATE object_history SET cl_id = 'regA' WHERE chain_seq = 5",
    )
    .await;
    assert!(adm(&t, &["history", "verify"]).await.is_ok());

    // A deleted row.
    intrude(&raw, "DELETE FROM object_history WHERE chain_seq = 7").await;
    let e = adm(&t, &["history", "verify"]).await.unwrap_err();
    assert!(e.to_string().contains("7..7 are missing"), "{e}");

    // Cutting the tail leaves a chain that is whole in itself: only the checkpoint shows it.
    intrude(&raw, "DELETE FROM object_history WHERE chain_seq >= 7").await;
    assert!(adm(&t, &["history", "verify"]).await.is_ok());
    let e = verify_cp(public).await.unwrap_err();
    assert_eq!(e.exit_code(), 10);
    assert!(e.to_string().contains("deleted"), "{e}");
    raw.close().await;
    db.close().await;
}
