//! Least privilege on PostgreSQL (issue 13, migration 0016): a frontend connected as a member of
//! `epp_frontend` runs the registry and the history sequencer, but cannot rewrite or delete
//! history or login audit rows, nor touch the schema; a member of `epp_reader` only reads; and
//! the owner, who can, is stopped by the append-only triggers until it drops them.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use chrono::Utc;
use common::*;
use registry_core::registrar::{LoginAuditEntry, LoginOutcome};
use registry_store::{chain, Db};

async fn try_sql(db: &Db, q: &str) -> Result<(), String> {
    match db {
        Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(drop),
        Db::Postgres(p) => sqlx::query(q).execute(p).await.map(drop),
    }
    .map_err(|e| e.to_string())
}

async fn sql(db: &Db, q: &str) {
    try_sql(db, q).await.unwrap_or_else(|e| panic!("{q}: {e}"));
}

fn refused(r: Result<(), String>, q: &str) {
    let e = r.expect_err(&format!("{q} was allowed"));
    assert!(
        e.contains("permission denied")
            || e.contains("must be owner")
            || e.contains("cannot be changed")
            || e.contains("cannot be deleted"),
        "{q}: unexpected error {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frontend_role_cannot_rewrite_the_trail() {
    let Some(env) = pg_env().await else { return };
    let u = env.url.rsplit('/').next().unwrap().to_owned();
    let (fe, rd) = (format!("{u}_fe"), format!("{u}_rd"));
    sql(
        &env.db,
        &format!("CREATE ROLE {fe} LOGIN IN ROLE epp_frontend"),
    )
    .await;
    sql(
        &env.db,
        &format!("CREATE ROLE {rd} LOGIN IN ROLE epp_reader"),
    )
    .await;

    // The frontend's connection: the schema is current, so no migration is attempted.
    let front = Db::connect(&with_user(&env.url, &fe), 2).await.unwrap();
    let reg = env.registry_on(front.clone());
    env.setup_domain("registrarA", "owner.test").await;
    let frame = epp_proto::CommandFrame {
        command: create_contact("c-fe"),
        extensions: vec![],
        cl_trid: None,
    };
    reg.execute(&actor("registrarA"), &frame).await.unwrap();
    front
        .record_login(&LoginAuditEntry {
            at: Utc::now(),
            cl_id: "registrarA".into(),
            source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            cert_fingerprint: None,
            outcome: LoginOutcome::Success,
            reason: String::new(),
            clid_strike: false,
        })
        .await
        .unwrap();
    // The sequencer runs in the frontends: it may set the chain fields, once.
    let r = chain::sequence(&front, 1000, Utc::now()).await.unwrap();
    assert!(r.chained > 0, "nothing chained: {r:?}");
    let v = chain::verify(&front, None).await.unwrap();
    assert!(v.problem.is_none(), "{v:?}");

    for q in [
        "UPDATE object_history SET op = 'forged'",
        "UPDATE object_history SET chain_hash = 'x'",
        "DELETE FROM object_history",
        "TRUNCATE object_history",
        "UPDATE login_audit SET reason = 'forged'",
        "DELETE FROM login_audit",
        "DROP TRIGGER object_history_append_only ON object_history",
        "ALTER TABLE object_history DISABLE TRIGGER ALL",
        "DELETE FROM _sqlx_migrations",
        "CREATE TABLE intruder (x int)",
    ] {
        refused(try_sql(&front, q).await, q);
    }

    // The reader reads, nothing more.
    let reader = registry_store::public::open_read_only(&with_user(&env.url, &rd), 1, 5_000)
        .await
        .unwrap();
    sql(&reader, "SELECT count(*) FROM domain").await;
    let raw = Db::Postgres(
        sqlx::PgPool::connect(&with_user(&env.url, &rd))
            .await
            .unwrap(),
    );
    for q in [
        "INSERT INTO login_audit (at, cl_id, source_ip, outcome, reason) VALUES (now(), 'x', '::1', 'success', '')",
        "UPDATE domain SET name = name",
        "DELETE FROM poll_message",
    ] {
        refused(try_sql(&raw, q).await, q);
    }

    // Even the owner hits the triggers.
    for q in [
        "UPDATE object_history SET op = 'forged'",
        "DELETE FROM object_history",
        "UPDATE login_audit SET reason = 'forged'",
        "DELETE FROM login_audit",
    ] {
        refused(try_sql(&env.db, q).await, q);
    }

    front.close().await;
    reader.close().await;
    raw.close().await;
    let url = env.url.clone();
    env.finish().await;
    let admin = std::env::var("EPP_TEST_PG_URL").unwrap_or(url);
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    for r in [&fe, &rd] {
        sqlx::query(&format!("DROP ROLE IF EXISTS {r}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}
