//! The history chain (issue 13) on both backends: rows written by real commands are chained by
//! the sequencer; each way of tampering with the history straight in the database (edit a row,
//! delete one, insert one, rewrite the whole chain consistently) is found and names the row;
//! the triggers refuse edits and deletes until an intruder drops them; two frontends
//! sequencing at once never fork the chain.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::*;
use registry_core::history::{ChainBreak, Checkpoint};
use registry_store::chain;
use registry_store::Db;

macro_rules! both {
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

both!(
    chain_holds_and_names_each_tampering,
    consistent_rewrite_is_caught_by_the_checkpoint,
    two_frontends_never_fork_the_chain,
);

/// Some history: contacts, domains, updates.
async fn history(env: &Env, n: usize) {
    for i in 0..n {
        env.setup_domain("registrarA", &format!("chain{i}.test"))
            .await;
    }
}

/// Runs raw SQL as an intruder with the database's owner rights would.
async fn sql(db: &Db, q: &str) {
    match db {
        Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(drop),
        Db::Postgres(p) => sqlx::query(q).execute(p).await.map(drop),
    }
    .unwrap_or_else(|e| panic!("{q}: {e}"));
}

async fn try_sql(db: &Db, q: &str) -> Result<(), String> {
    match db {
        Db::Sqlite(p) => sqlx::query(q).execute(p).await.map(drop),
        Db::Postgres(p) => sqlx::query(q).execute(p).await.map(drop),
    }
    .map_err(|e| e.to_string())
}

/// What the triggers are, so a test can take them away as an intruder would.
async fn drop_walls(db: &Db) {
    match db {
        Db::Sqlite(_) => {
            sql(db, "DROP TRIGGER object_history_no_delete").await;
            sql(db, "DROP TRIGGER object_history_no_update").await;
        }
        Db::Postgres(_) => {
            sql(
                db,
                "DROP TRIGGER object_history_append_only ON object_history",
            )
            .await;
        }
    }
}

async fn sequence_all(db: &Db) -> (i64, [u8; 32]) {
    loop {
        let r = chain::sequence(db, 1000, Utc::now() - chrono::Duration::days(3650))
            .await
            .unwrap();
        if r.chained == 0 {
            return r.head;
        }
    }
}

async fn chain_holds_and_names_each_tampering(env: &Env) {
    history(env, 6).await;
    let (head, _) = sequence_all(&env.db).await;
    assert!(head >= 12, "rows were chained: {head}");
    let r = chain::verify(&env.db, None).await.unwrap();
    assert_eq!(r.problem, None);
    assert_eq!(r.rows as i64, head);
    assert_eq!(r.unchained, 0);

    // The walls: no update of content, no delete, even before an intruder drops them.
    assert!(try_sql(
        &env.db,
        "UPDATE object_history SET op = 'x' WHERE chain_seq = 3"
    )
    .await
    .is_err());
    assert!(
        try_sql(&env.db, "DELETE FROM object_history WHERE chain_seq = 3")
            .await
            .is_err()
    );
    // Each tampering below is undone before the next, and the chain checked good again.
    let db = env.db.clone();
    drop_walls(&db).await;

    // Edited: row at position 4 says something else now.
    sql(
        &db,
        "UPDATE object_history SET cl_id = 'registrarB' WHERE chain_seq = 4",
    )
    .await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(
        matches!(r.problem, Some(ChainBreak::Edited { position: 4, .. })),
        "{:?}",
        r.problem
    );
    assert_eq!(r.head.0, 3, "the chain is good up to the row before");
    sql(
        &db,
        "UPDATE object_history SET cl_id = 'registrarA' WHERE chain_seq = 4",
    )
    .await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Inserted: a made-up row slipped into the chain at position 5 (the rows after it moved up).
    sql(
        &db,
        "UPDATE object_history SET chain_seq = chain_seq + 1000000 WHERE chain_seq >= 5",
    )
    .await;
    sql(
        &db,
        "UPDATE object_history SET chain_seq = chain_seq - 1000000 + 1 WHERE chain_seq >= 1000000",
    )
    .await;
    sql(
        &db,
        "INSERT INTO object_history (object_type, object_key, roid, op, cl_id, sv_trid, at, chain_seq, chain_hash) \
         SELECT object_type, object_key, roid, 'domain:update', cl_id, 'FORGED', at, 5, chain_hash FROM object_history WHERE chain_seq = 4",
    )
    .await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(
        matches!(r.problem, Some(ChainBreak::Edited { position: 5, .. })),
        "{:?}",
        r.problem
    );
    sql(&db, "DELETE FROM object_history WHERE sv_trid = 'FORGED'").await;
    sql(
        &db,
        "UPDATE object_history SET chain_seq = chain_seq + 1000000 WHERE chain_seq >= 6",
    )
    .await;
    sql(
        &db,
        "UPDATE object_history SET chain_seq = chain_seq - 1000000 - 1 WHERE chain_seq >= 1000000",
    )
    .await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Reordered: two rows swap positions.
    sql(
        &db,
        "UPDATE object_history SET chain_seq = -7 WHERE chain_seq = 7",
    )
    .await;
    sql(
        &db,
        "UPDATE object_history SET chain_seq = 7 WHERE chain_seq = 8",
    )
    .await;
    sql(
        &db,
        "UPDATE object_history SET chain_seq = 8 WHERE chain_seq = -7",
    )
    .await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(
        matches!(r.problem, Some(ChainBreak::Edited { position: 7, .. })),
        "{:?}",
        r.problem
    );
    sql(
        &db,
        "UPDATE object_history SET chain_seq = -7 WHERE chain_seq = 7",
    )
    .await;
    sql(
        &db,
        "UPDATE object_history SET chain_seq = 7 WHERE chain_seq = 8",
    )
    .await;
    sql(
        &db,
        "UPDATE object_history SET chain_seq = 8 WHERE chain_seq = -7",
    )
    .await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Deleted: the row at position 9 is gone.
    sql(&db, "DELETE FROM object_history WHERE chain_seq = 9").await;
    let r = chain::verify(&db, None).await.unwrap();
    assert_eq!(
        r.problem,
        Some(ChainBreak::Deleted {
            after: 8,
            position: 10
        })
    );
    assert!(r.problem.unwrap().to_string().contains("9..9"));
}

async fn consistent_rewrite_is_caught_by_the_checkpoint(env: &Env) {
    history(env, 4).await;
    let (pos, hash) = sequence_all(&env.db).await;
    let (key, public) = registry_core::history::new_signing_key().unwrap();
    let cp = Checkpoint::sign(pos, &hash, Utc::now(), &key).unwrap();
    cp.verify(&public).unwrap();
    assert_eq!(
        chain::verify(&env.db, Some(&cp)).await.unwrap().problem,
        None
    );

    // The intruder edits row 2 and re-chains everything from there, consistently: the chain
    // alone cannot tell, the checkpoint can.
    drop_walls(&env.db).await;
    sql(
        &env.db,
        "UPDATE object_history SET after_state = '{\"forged\":true}' WHERE chain_seq = 2",
    )
    .await;
    sql(
        &env.db,
        "UPDATE object_history SET chain_seq = NULL, chain_hash = NULL WHERE chain_seq >= 2",
    )
    .await;
    // Re-chained in id order, which is the order they had.
    sequence_all(&env.db).await;
    assert_eq!(
        chain::verify(&env.db, None).await.unwrap().problem,
        None,
        "a consistent rewrite passes the chain check"
    );
    let r = chain::verify(&env.db, Some(&cp)).await.unwrap();
    assert_eq!(
        r.problem,
        Some(ChainBreak::CheckpointMismatch { position: pos })
    );

    // And cutting the chain short of the checkpoint is named too.
    sql(
        &env.db,
        &format!("DELETE FROM object_history WHERE chain_seq >= {}", pos - 1),
    )
    .await;
    let r = chain::verify(&env.db, Some(&cp)).await.unwrap();
    assert!(
        matches!(
            r.problem,
            Some(ChainBreak::Truncated { .. }) | Some(ChainBreak::CheckpointMismatch { .. })
        ),
        "{:?}",
        r.problem
    );
}

fn frame(command: epp_proto::Command) -> epp_proto::CommandFrame {
    epp_proto::CommandFrame {
        command,
        extensions: Vec::new(),
        cl_trid: None,
    }
}

/// Two registries on one database (two frontends), writing and sequencing at once.
async fn two_frontends_never_fork_the_chain(env: &Env) {
    let second = env.second_frontend().await;
    let db2 = second.store().db().clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sequencers: Vec<_> = [env.db.clone(), db2.clone()]
        .into_iter()
        .map(|db| {
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    chain::sequence(&db, 50, Utc::now() - chrono::Duration::days(3650))
                        .await
                        .unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
            })
        })
        .collect();
    let a = async {
        for i in 0..30 {
            let r = env
                .reg
                .execute(
                    &actor("registrarA"),
                    &frame(create_contact(&format!("fa{i}"))),
                )
                .await;
            assert_eq!(code_of(r), 1000);
        }
    };
    let b = async {
        for i in 0..30 {
            let r = second
                .execute(
                    &actor("registrarB"),
                    &frame(create_contact(&format!("fb{i}"))),
                )
                .await;
            assert_eq!(code_of(r), 1000);
        }
    };
    tokio::join!(a, b);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in sequencers {
        s.await.unwrap();
    }
    let (head, _) = sequence_all(&env.db).await;
    let r = chain::verify(&env.db, None).await.unwrap();
    assert_eq!(r.problem, None);
    assert_eq!(r.rows as i64, head);
    assert!(head >= 60, "{head}");
    db2.close().await;
}
