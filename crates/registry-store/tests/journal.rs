//! Journal positions (migration 0006): entries are written without a lock and numbered once
//! committed, and a reader that follows `journal_since` never skips one, never sees one twice,
//! and sees the entries of one object in the order they were committed. The interleavings need
//! two open write transactions, so these run on PostgreSQL (`EPP_TEST_PG_URL`; skipped without
//! it unless `CI=true`); SQLite serializes writers and gets the ordering tests of the battery.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use registry_core::model::JournalEntry;
use registry_core::{Store, StoreTx};
use registry_store::{Db, SqlStore, SqlTx};

fn names(j: &[JournalEntry]) -> Vec<&str> {
    j.iter().map(|e| e.change.name()).collect()
}

/// A writes first but commits last: B is numbered while A is open, A after B once it commits,
/// and a reader that already moved past B still gets A.
#[tokio::test]
async fn entry_committed_late_is_not_skipped_postgres() {
    let Some(env) = common::pg_env().await else {
        return;
    };
    let store = SqlStore::new(env.db.clone());
    let mut a = store.begin(true).await.unwrap();
    common::journal_version(&mut a, "a.test", 0).await.unwrap();
    let mut b = store.begin(true).await.unwrap();
    common::journal_version(&mut b, "b.test", 0).await.unwrap();
    b.commit().await.unwrap();

    // The sequencer runs inside journal_since: B is numbered, A (still open) is not.
    let first = store.journal_since(0, 100).await.unwrap();
    assert_eq!(names(&first), ["b.test"]);
    let last = first[0].position;
    let Db::Postgres(p) = &env.db else {
        unreachable!()
    };
    let unnumbered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM zone_journal WHERE seq IS NULL")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(
        unnumbered, 0,
        "A's uncommitted row is invisible to the sequencer"
    );

    a.commit().await.unwrap();
    let next = store.journal_since(last, 100).await.unwrap();
    assert_eq!(names(&next), ["a.test"], "A comes after B, not skipped");
    assert!(next[0].position > last);
    // Positions are final: reading from the start gives B then A, each once.
    let all = store.journal_since(0, 100).await.unwrap();
    assert_eq!(names(&all), ["b.test", "a.test"]);
    assert!(store
        .journal_since(next[0].position, 100)
        .await
        .unwrap()
        .is_empty());
    env.finish().await;
}

/// Many writers, each change of an object under that object's row lock (as the core does
/// with `SELECT … FOR UPDATE`) and with random delays between the lock, the journal insert
/// and the commit; a reader polls `journal_since` meanwhile. It must get every entry exactly
/// once, at growing positions, and each object's entries in commit order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_reader_misses_nothing_postgres() {
    const OBJECTS: usize = 5;
    const WRITERS: usize = 12;
    const CHANGES: usize = 25;
    let Some(env) = common::pg_env().await else {
        return;
    };
    let Db::Postgres(pool) = env.db.clone() else {
        unreachable!()
    };
    sqlx::query("CREATE TABLE t_object (name TEXT PRIMARY KEY, version BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    for o in 0..OBJECTS {
        sqlx::query("INSERT INTO t_object VALUES ($1, 0)")
            .bind(format!("o{o}.test"))
            .execute(&pool)
            .await
            .unwrap();
    }
    let store = SqlStore::new(env.db.clone());
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..CHANGES {
                    let name = format!("o{}.test", (w * 7 + i) % OBJECTS);
                    let delay =
                        |k: usize| Duration::from_micros(((w * 31 + i * 17 + k) % 7) as u64 * 700);
                    let mut tx = store.begin(true).await.unwrap();
                    let SqlTx::Postgres(t, _) = &mut tx else {
                        unreachable!()
                    };
                    let version: i64 = sqlx::query_scalar(
                        "UPDATE t_object SET version = version + 1 WHERE name = $1 RETURNING version",
                    )
                    .bind(&name)
                    .fetch_one(&mut **t)
                    .await
                    .unwrap();
                    tokio::time::sleep(delay(1)).await;
                    common::journal_version(&mut tx, &name, version as u32)
                        .await
                        .unwrap();
                    tokio::time::sleep(delay(2)).await;
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();

    // The reader has connections of its own, as the zone publisher has.
    let reader = SqlStore::new(Db::connect(&env.url, 2).await.unwrap());
    let mut seen: Vec<JournalEntry> = Vec::new();
    let mut last = 0;
    let mut early = 0;
    loop {
        // Writers that finished have committed everything: once the reader finds nothing
        // more after that, it must have it all.
        let finished = writers.iter().all(|w| w.is_finished());
        let page = reader.journal_since(last, 7).await.unwrap();
        if !finished {
            early += page.len();
        }
        for e in &page {
            assert!(
                e.position > last,
                "positions grow: {} after {last}",
                e.position
            );
            last = e.position;
        }
        if finished && page.is_empty() {
            break;
        }
        seen.extend(page);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        seen.len(),
        WRITERS * CHANGES,
        "every entry seen exactly once"
    );
    assert!(early > 0, "the reader read while the writers wrote");
    reader.db().close().await;
    for w in writers {
        w.await.unwrap();
    }
    assert!(store.journal_since(last, 100).await.unwrap().is_empty());
    // The case this is about did happen: some entry was numbered after one with a higher id
    // (it committed later), which a reader going by id would have skipped.
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM zone_journal ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        ids.windows(2).any(|w| w[0] > w[1]),
        "no entry committed out of id order"
    );
    let mut per_object: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for e in &seen {
        per_object
            .entry(e.change.name())
            .or_default()
            .push(i64::from(common::version_of(e)));
    }
    for (name, versions) in per_object {
        let expected: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(
            versions, expected,
            "{name}: every change once, in commit order"
        );
    }
    env.finish().await;
}

/// Rows from before migration 0006 keep their ids as positions; new ones continue above.
#[tokio::test]
async fn positions_continue_after_the_last_id_sqlite() {
    let env = common::sqlite_env().await;
    let Db::Sqlite(p) = &env.db else {
        unreachable!()
    };
    // As the migration leaves a journal written before it: seq = id, with gaps.
    for (id, name) in [(3, "x.test"), (8, "y.test")] {
        sqlx::query(r#"INSERT INTO zone_journal (id, seq, at, kind, name, data) VALUES ($1, $1, $2, 'domain', $3, '{"in_zone":false,"ns":[],"ds":[]}')"#)
            .bind(id)
            .bind(Utc::now())
            .bind(name)
            .execute(p)
            .await
            .unwrap();
    }
    let store = SqlStore::new(env.db.clone());
    let mut tx = store.begin(true).await.unwrap();
    common::journal_version(&mut tx, "z.test", 0).await.unwrap();
    tx.commit().await.unwrap();
    let all = store.journal_since(0, 100).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|e| (e.position, e.change.name()))
            .collect::<Vec<_>>(),
        [(3, "x.test"), (8, "y.test"), (9, "z.test")]
    );
    assert_eq!(
        names(&store.journal_since(8, 100).await.unwrap()),
        ["z.test"]
    );
    assert!(store.journal_since(0, 0).await.unwrap().is_empty());
    env.finish().await;
}
