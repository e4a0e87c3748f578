//! Operator accounts and the two-person rule (issue 13), on SQLite and (with
//! `EPP_TEST_PG_URL`) PostgreSQL: keys, bootstrap and enrolment, signed direct actions, and
//! for every two-person action: refused when run directly, not approvable by its proposer,
//! nor after the window, nor without a key, with a wrong key or by a disabled operator; each
//! step in the history with both operators; the approved action takes effect.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Parser as _;
use epp_proto::contact::*;
use epp_proto::domain::*;
use epp_proto::*;
use registry_admin::{run_on, AdminError, Cli, Output};
use registry_core::clock::ManualClock;
use registry_core::{Actor, Registry};
use registry_store::{Db, SqlStore};
use serde_json::Value;
use zonegen::store::PublisherStore as _;

const FP: &str = "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89";
const FP2: &str = "1111111111111111111111111111111111111111111111111111111111111111";

struct Env {
    dir: tempfile::TempDir,
    db: Db,
    clock: ManualClock,
    cfg: registry_core::Config,
    pg: Option<(String, String)>,
}

fn config() -> registry_core::Config {
    let mut cfg = registry_core::Config::default();
    // One hour, so that an expired proposal is reached before the lock code expires (24 h).
    cfg.operators.proposal_window_hours = 1;
    cfg
}

async fn sqlite_env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("reg.db").display());
    let db = Db::connect(&url, 2).await.unwrap();
    Env {
        dir,
        db,
        clock: ManualClock::new(chrono::Utc::now()),
        cfg: config(),
        pg: None,
    }
}

async fn pg_env() -> Option<Env> {
    let Ok(admin) = std::env::var("EPP_TEST_PG_URL") else {
        eprintln!("EPP_TEST_PG_URL not set: skipping the PostgreSQL variant");
        return None;
    };
    let name = format!(
        "epp_ops_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let url = match admin.rsplit_once('/') {
        Some((base, _)) if base.len() > "postgres://".len() => format!("{base}/{name}"),
        _ => format!("{admin}/{name}"),
    };
    let db = Db::connect(&url, 2).await.unwrap();
    Some(Env {
        dir: tempfile::tempdir().unwrap(),
        db,
        clock: ManualClock::new(chrono::Utc::now()),
        cfg: config(),
        pg: Some((admin, name)),
    })
}

impl Env {
    async fn close(self) {
        self.db.close().await;
        if let Some((admin, name)) = self.pg {
            let pool = sqlx::PgPool::connect(&admin).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await;
            pool.close().await;
        }
    }

    fn key(&self, who: &str) -> PathBuf {
        self.dir.path().join(format!("{who}.key"))
    }

    /// `registry-admin --operator OP [--key FILE] ARGS…` on this database and clock.
    async fn run(&self, op: &str, key: Option<&Path>, args: &[&str]) -> Result<Output, AdminError> {
        let mut v: Vec<String> = vec![
            "registry-admin".into(),
            "--json".into(),
            "--operator".into(),
            op.into(),
        ];
        if let Some(k) = key {
            v.push("--key".into());
            v.push(k.display().to_string());
        }
        v.extend(args.iter().map(|s| s.to_string()));
        let cli = Cli::try_parse_from(v).map_err(|e| AdminError::Usage(e.to_string()))?;
        run_on(
            &cli,
            &self.db,
            Arc::new(self.clock.clone()),
            self.cfg.clone(),
        )
        .await
    }

    /// As `who` with their own key.
    async fn by(&self, who: &str, args: &[&str]) -> Result<Output, AdminError> {
        self.run(who, Some(&self.key(who)), args).await
    }

    async fn keygen(&self, who: &str) -> String {
        let out = self
            .run(
                who,
                None,
                &["operator", "keygen", self.key(who).to_str().unwrap()],
            )
            .await
            .unwrap();
        out.json["public_key"].as_str().unwrap().to_owned()
    }

    fn registry(&self) -> Registry<SqlStore> {
        Registry::new(
            SqlStore::new(self.db.clone()),
            Arc::new(self.clock.clone()),
            self.cfg.clone(),
        )
    }

    async fn history(&self, kind: &str, key: &str) -> Vec<Value> {
        self.by("alice", &["history", kind, key])
            .await
            .unwrap()
            .json
            .as_array()
            .unwrap()
            .clone()
    }
}

fn code(r: Result<Output, AdminError>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.exit_code(),
    }
}

/// Operators: alice (security, the first account), bob (operator, enrolled by himself and
/// approved by alice), dave (operator, disabled), and mallory's key, which is nobody's.
async fn operators(env: &Env) {
    let pk_a = env.keygen("alice").await;
    // keygen refuses to overwrite, and the file is private.
    assert_eq!(
        code(
            env.run(
                "alice",
                None,
                &["operator", "keygen", env.key("alice").to_str().unwrap()]
            )
            .await
        ),
        4
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(env.key("alice"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The first operator must be a security operator; it needs no signature.
    assert_eq!(
        code(
            env.run(
                "alice",
                None,
                &[
                    "operator",
                    "add",
                    "alice",
                    "--role",
                    "operator",
                    "--public-key",
                    &pk_a
                ]
            )
            .await
        ),
        4
    );
    env.run(
        "alice",
        None,
        &[
            "operator",
            "add",
            "alice",
            "--role",
            "security",
            "--public-key",
            &pk_a,
        ],
    )
    .await
    .unwrap();
    // The next one is a proposal: without a signature, refused.
    let pk_b = env.keygen("bob").await;
    assert_eq!(
        code(
            env.run(
                "bob",
                None,
                &[
                    "operator",
                    "add",
                    "bob",
                    "--role",
                    "operator",
                    "--public-key",
                    &pk_b
                ]
            )
            .await
        ),
        8
    );
    // Bob enrols himself (signed with the key being added); alice approves.
    let p = env
        .by(
            "bob",
            &[
                "operator",
                "add",
                "bob",
                "--role",
                "operator",
                "--public-key",
                &pk_b,
            ],
        )
        .await
        .unwrap();
    let id = p.json["id"].as_i64().unwrap().to_string();
    assert_eq!(p.json["state"], "pending");
    assert_eq!(
        code(env.by("bob", &["proposal", "approve", &id]).await),
        8,
        "bob is no operator yet"
    );
    env.by("alice", &["proposal", "approve", &id])
        .await
        .unwrap();
    let list = env.by("alice", &["operator", "list"]).await.unwrap();
    let bob = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(bob["role"], "operator");
    assert_eq!(bob["created_by"], "alice");
    // Operator accounts need a security operator's approval: bob cannot approve carol.
    let pk_c = env.keygen("carol").await;
    let p = env
        .by(
            "carol",
            &[
                "operator",
                "add",
                "carol",
                "--role",
                "viewer",
                "--public-key",
                &pk_c,
            ],
        )
        .await
        .unwrap();
    let carol = p.json["id"].as_i64().unwrap().to_string();
    assert_eq!(
        code(env.by("bob", &["proposal", "approve", &carol]).await),
        9
    );
    env.by("alice", &["proposal", "approve", &carol])
        .await
        .unwrap();
    // dave: added, then disabled by a security operator (not by an operator).
    let pk_d = env.keygen("dave").await;
    let p = env
        .by(
            "dave",
            &[
                "operator",
                "add",
                "dave",
                "--role",
                "operator",
                "--public-key",
                &pk_d,
            ],
        )
        .await
        .unwrap();
    let d = p.json["id"].as_i64().unwrap().to_string();
    env.by("alice", &["proposal", "approve", &d]).await.unwrap();
    assert_eq!(
        code(env.by("bob", &["operator", "disable", "dave"]).await),
        9
    );
    env.by("alice", &["operator", "disable", "dave"])
        .await
        .unwrap();
    // The last security operator stays enabled.
    assert_eq!(
        code(env.by("alice", &["operator", "disable", "alice"]).await),
        4
    );
    env.keygen("mallory").await;
    let hist = env.history("operator", "bob").await;
    let ops: Vec<&str> = hist.iter().map(|h| h["op"].as_str().unwrap()).collect();
    // Refused attempts are part of the trail too: bob's approval before his account existed,
    // and the two actions his role does not permit.
    assert_eq!(
        ops,
        [
            "proposal:proposed",
            "admin:unauthenticated",
            "proposal:approved",
            "proposal:done",
            "admin:not-permitted",
            "admin:not-permitted"
        ],
        "{hist:?}"
    );
    assert_eq!(hist[0]["actor"], "operator:bob");
    assert_eq!(hist[2]["actor"], "operator:alice");
}

/// The two-person procedure for one action: `propose` ARGS by alice; refused when run
/// directly; an expired proposal; then the refusals; bob approves. Returns bob's output.
async fn two_person(env: &Env, direct: &[&str], target: (&str, &str)) -> Output {
    assert_eq!(
        code(env.by("alice", direct).await),
        9,
        "run directly: {direct:?}"
    );
    let mut propose = vec!["propose"];
    propose.extend_from_slice(direct);
    // Expired: the window (1 h here) passed.
    let old = env.by("alice", &propose).await.unwrap();
    let old_id = old.json["id"].as_i64().unwrap().to_string();
    env.clock.advance(chrono::Duration::minutes(61));
    let listed = env.by("bob", &["proposal", "list", "--all"]).await.unwrap();
    let row = listed
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].as_i64() == old_id.parse().ok())
        .unwrap()
        .clone();
    assert_eq!(row["state"], "expired");
    assert_eq!(
        code(env.by("bob", &["proposal", "approve", &old_id]).await),
        4,
        "expired"
    );

    let p = env.by("alice", &propose).await.unwrap();
    let id = p.json["id"].as_i64().unwrap().to_string();
    // The proposer cannot approve.
    assert_eq!(
        code(env.by("alice", &["proposal", "approve", &id]).await),
        9,
        "own proposal"
    );
    // Unauthenticated: no key, somebody else's key, an unknown operator, a disabled one.
    assert_eq!(
        code(env.run("bob", None, &["proposal", "approve", &id]).await),
        8,
        "no key"
    );
    assert_eq!(
        code(
            env.run(
                "bob",
                Some(&env.key("mallory")),
                &["proposal", "approve", &id]
            )
            .await
        ),
        8,
        "wrong key"
    );
    assert_eq!(
        code(env.by("mallory", &["proposal", "approve", &id]).await),
        8,
        "unknown"
    );
    assert_eq!(
        code(env.by("dave", &["proposal", "approve", &id]).await),
        8,
        "disabled"
    );
    let pending = env.by("bob", &["proposal", "list"]).await.unwrap();
    assert!(pending
        .json
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"].as_i64() == id.parse().ok()));
    let out = env.by("bob", &["proposal", "approve", &id]).await.unwrap();
    assert_eq!(out.json["state"], "done", "{:?}", out.json);
    assert_eq!(out.json["proposed_by"], "alice");
    assert_eq!(out.json["approved_by"], "bob");
    // Once done, not again.
    assert_eq!(
        code(env.by("carol", &["proposal", "approve", &id]).await),
        9,
        "viewer"
    );
    assert_eq!(
        code(env.by("alice", &["proposal", "approve", &id]).await),
        4,
        "done"
    );
    // Each step in the history of the object, with both operators.
    let hist = env.history(target.0, target.1).await;
    let steps: Vec<(String, String, Value)> = hist
        .iter()
        .filter(|h| h["after"]["proposal"].as_i64() == id.parse().ok())
        .map(|h| {
            (
                h["op"].as_str().unwrap().to_owned(),
                h["actor"].as_str().unwrap().to_owned(),
                h["after"].clone(),
            )
        })
        .collect();
    let names: Vec<(&str, &str)> = steps
        .iter()
        .map(|(o, a, _)| (o.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("proposal:proposed", "operator:alice"),
            ("proposal:refused", "operator:alice"),
            ("proposal:approved", "operator:bob"),
            ("proposal:done", "operator:bob"),
        ],
        "{hist:#?}"
    );
    assert_eq!(steps[1].2["refused_approval_by"], "alice");
    assert_eq!(steps[2].2["proposed_by"], "alice");
    assert_eq!(steps[2].2["approved_by"], "bob");
    assert_eq!(steps[3].2["proposed_by"], "alice");
    assert_eq!(steps[3].2["approved_by"], "bob");
    // The expired one: its refusal names the late approver.
    let late: Vec<&Value> = hist
        .iter()
        .filter(|h| h["after"]["proposal"].as_i64() == old_id.parse().ok())
        .collect();
    assert_eq!(late.last().unwrap()["op"], "proposal:refused", "{late:?}");
    assert_eq!(late.last().unwrap()["actor"], "operator:bob");
    out
}

fn code_from_mail(reg: &registry_core::model::OutboxMail) -> String {
    reg.body
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 11 && l.as_bytes()[5] == b'-')
        .unwrap()
        .to_owned()
}

async fn scenario(env: Env) {
    // No operator accounts yet: direct commands run unsigned (setting up), but two-person
    // actions cannot run at all.
    env.run(
        "alice",
        None,
        &[
            "registrar",
            "create",
            "regZ",
            "--name",
            "Z",
            "--cert",
            FP,
            "--network",
            "198.51.100.0/24",
            "--password",
            "s3cret-pw",
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        code(
            env.run("alice", None, &["registrar", "resume", "regZ"])
                .await
        ),
        9
    );
    assert_eq!(
        code(
            env.run("alice", None, &["propose", "registrar", "resume", "regZ"])
                .await
        ),
        8
    );
    operators(&env).await;

    // Direct actions are signed once accounts exist.
    let create = [
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
    ];
    assert_eq!(code(env.run("alice", None, &create).await), 8, "unsigned");
    assert_eq!(
        code(env.run("alice", Some(&env.key("bob")), &create).await),
        8,
        "bob's key"
    );
    assert_eq!(code(env.by("carol", &create).await), 9, "viewer");
    env.by("alice", &create).await.unwrap();
    env.by(
        "alice",
        &["registrar", "suspend", "regA", "--reason", "compromised"],
    )
    .await
    .unwrap();
    let hist = env.history("registrar", "regA").await;
    assert_eq!(hist[0]["op"], "admin:registrar.create");
    assert_eq!(hist[1]["op"], "admin:registrar.suspend");
    assert_eq!(hist[1]["actor"], "operator:alice");
    // A viewer neither proposes nor approves.
    assert_eq!(
        code(
            env.by("carol", &["propose", "registrar", "resume", "regA"])
                .await
        ),
        9
    );

    // Lifting the suspension.
    two_person(
        &env,
        &["registrar", "resume", "regA"],
        ("registrar", "regA"),
    )
    .await;
    assert!(env.db.suspended_registrars().await.unwrap().is_empty());

    // Password.
    let id = ClientId::new("regA").unwrap();
    let before = env.db.registrar(&id).await.unwrap().unwrap().password_hash;
    two_person(
        &env,
        &[
            "registrar",
            "set-password",
            "regA",
            "--password",
            "n3w-secret-passw0rd",
        ],
        ("registrar", "regA"),
    )
    .await;
    let after = env.db.registrar(&id).await.unwrap().unwrap().password_hash;
    assert_ne!(before, after);
    assert!(after.as_phc().starts_with("$argon2id$"));
    // The proposal never shows the hash.
    let all = env.by("bob", &["proposal", "list", "--all"]).await.unwrap();
    assert!(!all.text.contains("$argon2id$") && !all.json.to_string().contains("$argon2id$"));

    // Certificates.
    two_person(
        &env,
        &["registrar", "add-cert", "regA", FP2],
        ("registrar", "regA"),
    )
    .await;
    let fps = |r: registry_core::registrar::Registrar| {
        r.cert_fingerprints
            .iter()
            .map(|f| f.to_hex())
            .collect::<Vec<_>>()
    };
    assert!(fps(env.db.registrar(&id).await.unwrap().unwrap()).contains(&FP2.to_owned()));
    two_person(
        &env,
        &["registrar", "remove-cert", "regA", FP],
        ("registrar", "regA"),
    )
    .await;
    assert_eq!(
        fps(env.db.registrar(&id).await.unwrap().unwrap()),
        [FP2.to_owned()]
    );

    // Networks.
    two_person(
        &env,
        &["registrar", "add-network", "regA", "2001:db8::/32"],
        ("registrar", "regA"),
    )
    .await;
    two_person(
        &env,
        &["registrar", "remove-network", "regA", "192.0.2.0/24"],
        ("registrar", "regA"),
    )
    .await;
    let nets: Vec<String> = env
        .db
        .registrar(&id)
        .await
        .unwrap()
        .unwrap()
        .allowed_networks
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(nets, ["2001:db8::/32"]);

    // Lock contact.
    two_person(
        &env,
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
        ("registrar", "regA"),
    )
    .await;
    let reg = env.registry();
    assert_eq!(
        reg.store()
            .lock_contact("regA")
            .await
            .unwrap()
            .unwrap()
            .email,
        "kim@rega.example"
    );

    // Releasing a registry lock: a domain of regA, locked (one operator suffices), then an
    // unlock request whose verification is a two-person action.
    let actor = Actor {
        cl_id: ClientId::new("regA").unwrap(),
        source_ip: "192.0.2.7".parse().unwrap(),
        cert_fingerprint: None,
        cl_trid: None,
        sv_trid: SvTrid::new("SV-ops-test-1").unwrap(),
    };
    let frame = |cmd: Command| CommandFrame {
        command: cmd,
        extensions: vec![],
        cl_trid: None,
    };
    reg.execute(
        &actor,
        &frame(Command::Contact(ContactCommand::Create(ContactCreate {
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
        &frame(Command::Domain(DomainCommand::Create(DomainCreate {
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
    let requested = |unlock: bool| {
        let env = &env;
        async move {
            let mut a = vec!["lock", "request", "example.test"];
            if unlock {
                a.push("--unlock");
            }
            let id = env.by("alice", &a).await.unwrap().json["id"]
                .as_i64()
                .unwrap();
            // The code as the mail carries it (the sent mail keeps no code).
            let (_, mail) = env.registry().lock_request(id).await.unwrap();
            let code = code_from_mail(&mail[0]);
            env.by("alice", &["send-mail"]).await.unwrap();
            (id.to_string(), code)
        }
    };
    let (lock_id, lock_code) = requested(false).await;
    let out = env
        .by("alice", &["lock", "verify", &lock_id, &lock_code])
        .await
        .unwrap();
    assert_eq!(out.json["result"], "applied");
    let (unlock_id, unlock_code) = requested(true).await;
    let out = two_person(
        &env,
        &["lock", "verify", &unlock_id, &unlock_code],
        ("domain", "example.test"),
    )
    .await;
    assert_eq!(out.json["result"]["result"], "released", "{:?}", out.json);
    let show = env.by("bob", &["lock", "show", &unlock_id]).await.unwrap();
    assert_eq!(show.json["state"], "applied");
    let hist = env.history("domain", "example.test").await;
    assert!(
        hist.iter()
            .any(|h| h["op"] == "lock:released" && h["actor"] == "operator:bob"),
        "{hist:#?}"
    );
    // The code is not shown in proposal lists.
    let all = env.by("bob", &["proposal", "list", "--all"]).await.unwrap();
    assert!(!all.json.to_string().contains(&unlock_code));

    // A held zone batch.
    let store = zonegen::store::SqlStore::from_db(&env.db);
    let stats = zonegen::zone::DiffStats {
        removed: 20,
        repointed: 0,
        added: 0,
    };
    let h = store
        .hold("test", 5, 40, stats, 100, zonegen::store::HOLD_REASON_VALVE)
        .await
        .unwrap();
    let held = env.by("bob", &["zone", "held"]).await.unwrap();
    assert_eq!(held.json[0]["id"], h.id);
    let hid = h.id.to_string();
    two_person(&env, &["zone", "approve", &hid], ("zone", &hid)).await;
    let h = store.held_from("test", 5).await.unwrap().unwrap();
    assert_eq!(h.approved_by.as_deref(), Some("bob"));
    assert!(env
        .by("bob", &["zone", "held"])
        .await
        .unwrap()
        .json
        .as_array()
        .unwrap()
        .is_empty());

    // A signed action is accepted once, and only while fresh: both are the store's check,
    // shown here through the library.
    let key = registry_admin::operators::load_key(&env.key("alice")).unwrap();
    let now = registry_core::clock::Clock::now(&env.clock);
    let signed = registry_core::operator::SignedAction::sign(
        &key,
        "alice",
        "registrar.suspend",
        &serde_json::json!({ "cl_id": "regA" }),
        now,
    )
    .unwrap();
    let check = registry_store::operators::Check {
        action: "registrar.suspend",
        need: registry_core::operator::Role::Operator,
        now,
        max_age_secs: 300,
    };
    let target = registry_store::operators::Target {
        kind: "registrar",
        key: "regA",
    };
    env.db.authenticate(&signed, check, target).await.unwrap();
    let again = env
        .db
        .authenticate(&signed, check, target)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("replay"), "{again}");
    let late = registry_store::operators::Check {
        now: now + chrono::Duration::seconds(301),
        ..check
    };
    let stale = env
        .db
        .authenticate(&signed, late, target)
        .await
        .unwrap_err();
    assert!(stale.to_string().contains("at most 300 s"), "{stale}");
    let other = registry_store::operators::Check {
        action: "registrar.resume",
        ..check
    };
    let wrong = env
        .db
        .authenticate(&signed, other, target)
        .await
        .unwrap_err();
    assert!(wrong.is_authentication(), "{wrong}");

    env.close().await;
}

/// The scenario's future is large (every admin command inlined): run it on a thread with
/// room for it.
fn on_big_stack<F: std::future::Future<Output = ()> + 'static>(
    f: impl FnOnce() -> F + Send + 'static,
) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(Box::pin(f()))
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn two_person_rule_sqlite() {
    on_big_stack(|| async { scenario(sqlite_env().await).await });
}

#[test]
fn two_person_rule_postgres() {
    on_big_stack(|| async {
        if let Some(env) = pg_env().await {
            scenario(env).await;
        }
    });
}
