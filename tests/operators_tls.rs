//! The two-person rule over real TLS (issue 13): a registrar's certificate pins and password
//! are changed only by a proposal of one operator approved by another (`registry-admin`
//! through its library, on the frontend's database and clock), and the frontend's login then
//! follows: the new pin works, the removed one and the old password do not. On SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser as _;
use support::*;

both_backends!(pins_and_password_through_two_operators);

/// `registry-admin --json --operator WHO --key WHO.key ARGS…` on `env`'s database and clock.
async fn admin(
    env: &Env,
    keys: &tempfile::TempDir,
    who: &str,
    args: &[&str],
) -> Result<registry_admin::Output, registry_admin::AdminError> {
    let key: PathBuf = keys.path().join(format!("{who}.key"));
    let mut v = vec![
        "registry-admin".to_owned(),
        "--json".into(),
        "--operator".into(),
        who.into(),
        "--key".into(),
        key.display().to_string(),
    ];
    v.extend(args.iter().map(|s| s.to_string()));
    let cli = registry_admin::Cli::try_parse_from(v).expect("arguments");
    registry_admin::run_on(
        &cli,
        &env.db,
        Arc::new(env.clock.clone()),
        registry_core::Config::default(),
    )
    .await
}

/// alice proposes `args`, bob approves; the approval's output.
async fn two_person(env: &Env, keys: &tempfile::TempDir, args: &[&str]) -> registry_admin::Output {
    let mut v = vec!["propose"];
    v.extend_from_slice(args);
    // One operator alone is refused.
    let direct = admin(env, keys, "alice", args).await.expect_err("direct");
    assert_eq!(direct.exit_code(), 9, "{direct}");
    let p = admin(env, keys, "alice", &v).await.expect("propose");
    let id = p.json["id"].to_string();
    let own = admin(env, keys, "alice", &["proposal", "approve", &id])
        .await
        .expect_err("own approval");
    assert_eq!(own.exit_code(), 9, "{own}");
    let out = admin(env, keys, "bob", &["proposal", "approve", &id])
        .await
        .expect("approve");
    assert_eq!(out.json["state"], "done", "{:?}", out.json);
    out
}

/// A login of reg-a from 127.0.0.1 with `id`'s certificate: the result code.
async fn login(env: &Env, id: &Identity, pw: &str) -> u16 {
    let mut c = env.connect(LOCAL, Some(id)).await.expect("connect");
    c.login("reg-a", pw).await.expect("login answer").code
}

async fn pins_and_password_through_two_operators(backend: Backend) {
    run(
        backend,
        |c| c.lockout.max_failures = 1000,
        |env| async move {
            let old = env.simple_registrar("reg-a", "right-pw-1").await;
            let new = env.pki.client("reg-a");
            assert_eq!(
                login(&env, &new, "right-pw-1").await,
                2200,
                "not pinned yet"
            );

            let keys = tempfile::tempdir().expect("keys");
            let mut pk = Vec::new();
            for who in ["alice", "bob"] {
                let file = keys.path().join(format!("{who}.key"));
                let out = admin(
                    &env,
                    &keys,
                    who,
                    &["operator", "keygen", file.to_str().unwrap()],
                )
                .await
                .expect("keygen");
                pk.push(out.json["public_key"].as_str().unwrap().to_owned());
            }
            admin(
                &env,
                &keys,
                "alice",
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
            .expect("first operator");
            let p = admin(
                &env,
                &keys,
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
            .expect("enrolment");
            let id = p.json["id"].to_string();
            admin(&env, &keys, "alice", &["proposal", "approve", &id])
                .await
                .expect("approve bob");

            let fp_new = new.fingerprint.to_hex();
            two_person(&env, &keys, &["registrar", "add-cert", "reg-a", &fp_new]).await;
            assert_eq!(
                login(&env, &new, "right-pw-1").await,
                1000,
                "the new pin works"
            );
            let fp_old = old.fingerprint.to_hex();
            two_person(&env, &keys, &["registrar", "remove-cert", "reg-a", &fp_old]).await;
            assert_eq!(
                login(&env, &old, "right-pw-1").await,
                2200,
                "the old pin is gone"
            );
            two_person(
                &env,
                &keys,
                &[
                    "registrar",
                    "set-password",
                    "reg-a",
                    "--password",
                    "new-password-22x",
                ],
            )
            .await;
            assert_eq!(login(&env, &new, "right-pw-1").await, 2200, "old password");
            assert_eq!(
                login(&env, &new, "new-password-22x").await,
                1000,
                "new password"
            );
            let hist = admin(&env, &keys, "bob", &["history", "registrar", "reg-a"])
                .await
                .expect("history");
            let approved: Vec<&serde_json::Value> = hist
                .json
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h["op"] == "proposal:approved")
                .collect();
            assert_eq!(approved.len(), 3, "{:?}", hist.json);
            for h in approved {
                assert_eq!(h["actor"], "operator:bob");
                assert_eq!(h["after"]["proposed_by"], "alice");
            }
        },
    )
    .await;
}
