//! The history chain (issue 13) on both backends: rows written by real commands, and login
//! audit rows, are chained by the sequencer into one chain; each way of tampering with the
//! history or the audit straight in the database (edit a row, delete one, insert one, reorder
//! two, rewrite the whole chain consistently) is found and names the row (table and id); the
//! triggers refuse edits and deletes until an intruder drops them; two frontends sequencing
//! at once never fork the chain.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Utc;
use common::*;
use registry_core::history::{ChainBreak, ChainedTable, Checkpoint};
use registry_core::registrar::{LoginAuditEntry, LoginOutcome};
use registry_store::chain;
use registry_store::Db;

both!(
    chain_holds_and_names_each_tampering,
    consistent_rewrite_is_caught_by_the_checkpoint,
    two_frontends_never_fork_the_chain,
    audit_rows_join_the_chain_and_each_tampering_is_named,
    audit_rewrite_is_caught_by_the_checkpoint,
    sequencer_links_many_rows_at_once,
);

/// Some history: contacts, domains, updates.
async fn history(env: &Env, n: usize) {
    history_range(env, 0..n).await;
}

async fn history_range(env: &Env, r: std::ops::Range<usize>) {
    for i in r {
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

/// Moves one row to another chain position, straight in the database (as an intruder would).
async fn set_position(db: &Db, table: &str, id: i64, position: i64) {
    sql(
        db,
        &format!("UPDATE {table} SET chain_seq = {position} WHERE id = {id}"),
    )
    .await;
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
            sql(db, "DROP TRIGGER login_audit_no_delete").await;
            sql(db, "DROP TRIGGER login_audit_no_update").await;
        }
        Db::Postgres(_) => {
            sql(
                db,
                "DROP TRIGGER object_history_append_only ON object_history",
            )
            .await;
            sql(db, "DROP TRIGGER login_audit_append_only ON login_audit").await;
        }
    }
}

async fn scalar(db: &Db, q: &str) -> i64 {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(q).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_scalar(q).fetch_one(p).await,
    }
    .unwrap_or_else(|e| panic!("{q}: {e}"))
}

async fn column(db: &Db, q: &str) -> Vec<i64> {
    match db {
        Db::Sqlite(p) => sqlx::query_scalar(q).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_scalar(q).fetch_all(p).await,
    }
    .unwrap_or_else(|e| panic!("{q}: {e}"))
}

/// Logins as eppd records them: failures (wrong password, unknown clID, from outside the
/// networks), refusals and successes.
async fn logins(db: &Db, n: usize) {
    for i in 0..n {
        let (outcome, reason) = match i % 3 {
            0 => (LoginOutcome::Failure, "bad_password"),
            1 => (LoginOutcome::Success, ""),
            _ => (LoginOutcome::Refused, "locked_out"),
        };
        db.record_login(&LoginAuditEntry {
            at: Utc::now(),
            cl_id: format!("registrar{}", i % 2),
            source_ip: "192.0.2.9".parse().unwrap(),
            cert_fingerprint: None,
            outcome,
            reason: reason.into(),
            clid_strike: i % 2 == 0,
        })
        .await
        .unwrap();
    }
}

fn audit_edit(r: &chain::VerifyReport, id: i64) -> bool {
    matches!(r.problem, Some(ChainBreak::Edited { table: ChainedTable::LoginAudit, id: i, .. }) if i == id)
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
    assert!(
        matches!(
            r.problem,
            Some(ChainBreak::Deleted {
                after: 8,
                position: 10,
                table: ChainedTable::Object,
                ..
            })
        ),
        "{:?}",
        r.problem
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

/// The chain: object rows, then audit rows, then object rows again (three sequencer passes).
async fn mixed_chain(env: &Env) -> (i64, [u8; 32]) {
    history(env, 2).await;
    sequence_all(&env.db).await;
    logins(&env.db, 6).await;
    sequence_all(&env.db).await;
    history_range(env, 2..4).await;
    sequence_all(&env.db).await
}

async fn audit_rows_join_the_chain_and_each_tampering_is_named(env: &Env) {
    let (head, _) = mixed_chain(env).await;
    let db = env.db.clone();
    let r = chain::verify(&db, None).await.unwrap();
    assert_eq!(r.problem, None);
    assert_eq!(r.rows as i64, head);
    assert_eq!(r.unchained, 0);
    // Every row of both tables holds one position; together they are 1..=head.
    let mut all = column(
        &db,
        "SELECT chain_seq FROM object_history UNION ALL SELECT chain_seq FROM login_audit",
    )
    .await;
    all.sort_unstable();
    assert_eq!(all, (1..=head).collect::<Vec<_>>());
    let audit = column(
        &db,
        "SELECT id FROM login_audit WHERE outcome = 'failure' ORDER BY id",
    )
    .await;
    assert_eq!(audit.len(), 2, "failed logins are chained like the rest");
    let pos = |id: i64| {
        let db = db.clone();
        async move {
            scalar(
                &db,
                &format!("SELECT chain_seq FROM login_audit WHERE id = {id}"),
            )
            .await
        }
    };
    let (a1, a2) = (audit[0], audit[1]);
    let p1 = pos(a1).await;
    assert!(
        scalar(
            &db,
            &format!("SELECT COUNT(*) FROM object_history WHERE chain_seq > {p1}")
        )
        .await
            > 0,
        "object rows follow the audit rows in the chain"
    );

    // The walls, before an intruder drops them: no edit, no delete, no second chaining.
    for q in [
        format!("UPDATE login_audit SET reason = 'x' WHERE id = {a1}"),
        format!("UPDATE login_audit SET chain_seq = 999 WHERE id = {a1}"),
        format!("DELETE FROM login_audit WHERE id = {a1}"),
    ] {
        assert!(try_sql(&db, &q).await.is_err(), "{q}");
    }
    drop_walls(&db).await;

    // Edited: a failed login turned into a success.
    sql(
        &db,
        &format!("UPDATE login_audit SET outcome = 'success', reason = '' WHERE id = {a1}"),
    )
    .await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(audit_edit(&r, a1), "{:?}", r.problem);
    assert_eq!(r.head.0, p1 - 1, "good up to the row before");
    let msg = r.problem.unwrap().to_string();
    assert!(msg.contains(&format!("login_audit row {a1}")), "{msg}");
    sql(
        &db,
        &format!(
            "UPDATE login_audit SET outcome = 'failure', reason = 'bad_password' WHERE id = {a1}"
        ),
    )
    .await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);
    // The same for the strike flag alone (what the lock-out counts).
    sql(
        &db,
        &format!("UPDATE login_audit SET clid_strike = NOT clid_strike WHERE id = {a1}"),
    )
    .await;
    assert!(audit_edit(&chain::verify(&db, None).await.unwrap(), a1));
    sql(
        &db,
        &format!("UPDATE login_audit SET clid_strike = NOT clid_strike WHERE id = {a1}"),
    )
    .await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Reordered within the audit: the two failures swap positions.
    let p2 = pos(a2).await;
    set_position(&db, "login_audit", a1, -1).await;
    set_position(&db, "login_audit", a2, p1).await;
    set_position(&db, "login_audit", a1, p2).await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(audit_edit(&r, a2), "{:?}", r.problem);
    set_position(&db, "login_audit", a2, -1).await;
    set_position(&db, "login_audit", a1, p1).await;
    set_position(&db, "login_audit", a2, p2).await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Reordered across the tables: the audit row and the object row before it swap.
    let o = scalar(
        &db,
        &format!(
            "SELECT id FROM object_history WHERE chain_seq = (SELECT MAX(chain_seq) FROM object_history WHERE chain_seq < {p1})"
        ),
    )
    .await;
    let po = scalar(
        &db,
        &format!("SELECT chain_seq FROM object_history WHERE id = {o}"),
    )
    .await;
    set_position(&db, "object_history", o, p1).await;
    set_position(&db, "login_audit", a1, po).await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(r.problem.is_some(), "a swap across tables is seen");
    assert!(r.head.0 < po.max(p1), "{:?}", r.problem);
    set_position(&db, "object_history", o, po).await;
    set_position(&db, "login_audit", a1, p1).await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Inserted: a made-up audit row given a position an object row holds, with that row's
    // hash.
    let taken = p1 - 1;
    sql(
        &db,
        &format!(
            "INSERT INTO login_audit (at, cl_id, source_ip, fingerprint, outcome, reason, clid_strike, chain_seq, chain_hash) \
             SELECT at, 'registrar0', '192.0.2.66', NULL, 'success', 'FORGED', clid_strike, {taken}, \
             (SELECT chain_hash FROM login_audit WHERE chain_seq = {taken} UNION ALL SELECT chain_hash FROM object_history WHERE chain_seq = {taken}) \
             FROM login_audit WHERE id = {a1}"
        ),
    )
    .await;
    let forged = scalar(&db, "SELECT id FROM login_audit WHERE reason = 'FORGED'").await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(
        matches!(
            r.problem,
            Some(ChainBreak::Repeated { table: ChainedTable::LoginAudit, id, position })
                if id == forged && position == taken
        ) || audit_edit(&r, forged),
        "{:?}",
        r.problem
    );
    assert!(
        r.problem
            .unwrap()
            .to_string()
            .contains(&format!("login_audit row {forged}")),
        "the inserted row is named"
    );
    sql(&db, "DELETE FROM login_audit WHERE reason = 'FORGED'").await;
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Inserted with no position: the sequencer chains it at the head, dated long ago, so it is
    // reported as late (written around the registry).
    sql(
        &db,
        "INSERT INTO login_audit (at, cl_id, source_ip, outcome, reason) \
         VALUES ('2020-01-01T00:00:00.000000Z', 'registrar0', '192.0.2.67', 'success', 'BACKDATED')",
    )
    .await;
    let r = chain::sequence(&db, 100, Utc::now() - chrono::Duration::days(1))
        .await
        .unwrap();
    let late = scalar(&db, "SELECT id FROM login_audit WHERE reason = 'BACKDATED'").await;
    assert!(
        r.late.contains(&chain::RowId {
            table: ChainedTable::LoginAudit,
            id: late
        }),
        "{:?}",
        r.late
    );
    assert_eq!(chain::verify(&db, None).await.unwrap().problem, None);

    // Deleted: the first failed login is gone; the row after it is named.
    let next = scalar(
        &db,
        &format!(
            "SELECT id FROM login_audit WHERE chain_seq = {} UNION ALL SELECT id FROM object_history WHERE chain_seq = {}",
            p1 + 1,
            p1 + 1
        ),
    )
    .await;
    sql(&db, &format!("DELETE FROM login_audit WHERE id = {a1}")).await;
    let r = chain::verify(&db, None).await.unwrap();
    assert!(
        matches!(r.problem, Some(ChainBreak::Deleted { after, position, id, .. })
            if after == p1 - 1 && position == p1 + 1 && id == next),
        "{:?}",
        r.problem
    );
    let msg = r.problem.unwrap().to_string();
    assert!(msg.contains(&format!("{p1}..{p1} are missing")), "{msg}");
}

async fn audit_rewrite_is_caught_by_the_checkpoint(env: &Env) {
    let (pos, hash) = mixed_chain(env).await;
    let (key, public) = registry_core::history::new_signing_key().unwrap();
    let cp = Checkpoint::sign(pos, &hash, Utc::now(), &key).unwrap();
    cp.verify(&public).unwrap();
    assert_eq!(
        chain::verify(&env.db, Some(&cp)).await.unwrap().problem,
        None
    );
    // The intruder erases a failed login and re-chains everything after it, consistently.
    let db = &env.db;
    drop_walls(db).await;
    let first = scalar(
        db,
        "SELECT MIN(chain_seq) FROM login_audit WHERE outcome = 'failure'",
    )
    .await;
    sql(
        db,
        &format!("DELETE FROM login_audit WHERE chain_seq = {first}"),
    )
    .await;
    for t in ["object_history", "login_audit"] {
        sql(
            db,
            &format!(
                "UPDATE {t} SET chain_seq = NULL, chain_hash = NULL WHERE chain_seq > {first}"
            ),
        )
        .await;
    }
    sequence_all(db).await;
    assert_eq!(
        chain::verify(db, None).await.unwrap().problem,
        None,
        "a consistent rewrite passes the chain check"
    );
    let r = chain::verify(db, Some(&cp)).await.unwrap();
    assert!(
        matches!(
            r.problem,
            Some(ChainBreak::Truncated { .. }) | Some(ChainBreak::CheckpointMismatch { .. })
        ),
        "{:?}",
        r.problem
    );
    // One more row, and the chain reaches the checkpoint's position again, with another hash.
    logins(db, 1).await;
    sequence_all(db).await;
    let r = chain::verify(db, Some(&cp)).await.unwrap();
    assert_eq!(
        r.problem,
        Some(ChainBreak::CheckpointMismatch { position: pos })
    );
}

/// One pass links more rows than a page of the walk, in one statement per table; the walk
/// pages across both tables.
async fn sequencer_links_many_rows_at_once(env: &Env) {
    let db = &env.db;
    logins(db, 1).await;
    // 25 000 rows each way, in few statements.
    for (t, cols) in [
        (
            "object_history",
            "object_type, object_key, roid, op, cl_id, sv_trid, at",
        ),
        ("login_audit", "at, cl_id, source_ip, outcome, reason"),
    ] {
        let sel = if t == "object_history" {
            "'domain', 'bulk' || n || '.test', 'D1-EPP', 'domain:update', 'registrarA', 'SV-bulk', (SELECT at FROM login_audit LIMIT 1)"
        } else {
            "(SELECT at FROM login_audit LIMIT 1), 'registrar' || (n % 7), '192.0.2.1', 'failure', 'bad_password'"
        };
        sql(
            db,
            &format!(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 25000) \
                 INSERT INTO {t} ({cols}) SELECT {sel} FROM s"
            ),
        )
        .await;
    }
    let r = chain::sequence(db, 30_000, Utc::now() - chrono::Duration::days(3650))
        .await
        .unwrap();
    assert_eq!(r.chained, 50_001);
    assert_eq!(r.head.0, 50_001);
    let v = chain::verify(db, None).await.unwrap();
    assert_eq!(v.problem, None);
    assert_eq!(v.rows, 50_001);
    assert_eq!(v.head, r.head);
    assert_eq!(chain::head(db).await.unwrap(), r.head);
}
