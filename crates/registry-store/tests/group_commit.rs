//! SQLite group commit (`registry_store::group_commit`): concurrent write commands share a
//! batch and its commit, and one command's failure, drop or cancellation neither loses nor
//! hangs the others. Every wait is bounded: a hang fails the test instead of stalling it.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use epp_proto::CommandFrame;
use registry_core::model::Domain;
use registry_core::store::{Store, StoreError, StoreTx};
use registry_core::Registry;
use registry_store::{Db, SqlStore};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

fn domain(name: &str) -> Domain {
    let now = Utc::now();
    Domain {
        id: 0,
        name: name.into(),
        cl_id: "registrarA".into(),
        cr_id: "registrarA".into(),
        cr_date: now,
        up_id: None,
        up_date: None,
        ex_date: now,
        tr_date: None,
        registrant: None,
        contacts: vec![],
        ns: vec![],
        statuses: vec![],
        auth_pw: None,
        auth_set: None,
        ds: vec![],
        max_sig_life: None,
        grace: vec![],
        rgp: None,
        transfer: None,
        restore_report: None,
        registry_lock: None,
    }
}

/// Names in the domain table, read on a connection of its own (committed rows only).
async fn committed_domains(url: &str) -> Vec<String> {
    let db = Db::connect(url, 1).await.unwrap();
    let Db::Sqlite(p) = &db else {
        panic!("SQLite only")
    };
    let names = sqlx::query_scalar("SELECT name FROM domain ORDER BY name")
        .fetch_all(p)
        .await
        .unwrap();
    db.close().await;
    names
}

/// Waits until `n` commands are queued for the writer.
async fn until_queued(store: &SqlStore, n: usize) {
    timeout(LIMIT, async {
        while store.group_commit_stats().unwrap().queued < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("commands never queued");
}

/// Starts a write command in a task of its own that waits for the writer; returns once it is
/// queued.
async fn queue<T: Send + 'static>(
    store: &SqlStore,
    n: usize,
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    let h = tokio::spawn(f);
    until_queued(store, n).await;
    h
}

/// Many sessions creating at once: every create answered 1000 is in the database after it
/// was closed and opened again, with its history and journal rows; the creates shared batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_all_committed_after_reopen() {
    let env = sqlite_env().await;
    assert_eq!(env.code("registrarA", create_contact("gc1")).await, 1000);
    assert_eq!(
        env.code("registrarA", create_host("ns1.gc.example", &[]))
            .await,
        1000
    );
    let store = SqlStore::new(env.db.clone());
    let reg = Arc::new(Registry::new(
        store.clone(),
        Arc::new(env.clock.clone()),
        config(),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let reg = reg.clone();
        tasks.spawn(async move {
            let f = CommandFrame {
                command: create_domain(&format!("gc{i}.test"), "gc1", &["ns1.gc.example"]),
                extensions: vec![],
                cl_trid: None,
            };
            code_of(reg.execute(&actor("registrarA"), &f).await)
        });
    }
    let codes = timeout(LIMIT, tasks.join_all())
        .await
        .expect("creates hung");
    assert!(codes.iter().all(|c| *c == 1000), "{codes:?}");
    let stats = store.group_commit_stats().unwrap();
    eprintln!("200 creates: {stats:?}");
    assert_eq!(stats.commands, 200, "{stats:?}");
    assert!(
        stats.batches < 200,
        "no two creates shared a commit: {stats:?}"
    );
    assert_eq!(stats.queued, 0);
    drop(reg);
    drop(store);

    let db = Db::connect(&env.url, 1).await.unwrap();
    let Db::Sqlite(p) = &db else { panic!() };
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(p)
            .await
            .unwrap()
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM domain WHERE name LIKE 'gc%'").await,
        200
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM object_history WHERE op = 'domain:create'").await,
        200
    );
    assert_eq!(count("SELECT COUNT(*) FROM zone_journal").await, 200);
    assert_eq!(count("SELECT COUNT(*) FROM domain_ns").await, 200);
    db.close().await;
    env.finish().await;
}

/// A command of a batch fails (duplicate name): it alone is undone; the commands before and
/// after it in the batch commit together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_command_does_not_affect_its_batch() {
    let env = sqlite_env().await;
    let store = SqlStore::new(env.db.clone());

    let mut a = store.begin(true).await.unwrap();
    insert_domain(&mut a, &domain("a.test")).await.unwrap();
    let s = store.clone();
    let b = queue(&store, 1, async move {
        let mut b = s.begin(true).await.unwrap();
        // a.test is in the open batch: the duplicate is seen.
        let r = insert_domain(&mut b, &domain("a.test")).await;
        drop(b);
        r
    })
    .await;
    let s = store.clone();
    let c = queue(&store, 2, async move {
        let mut c = s.begin(true).await.unwrap();
        insert_domain(&mut c, &domain("c.test")).await.unwrap();
        c.commit().await
    })
    .await;
    timeout(LIMIT, a.commit()).await.unwrap().unwrap();
    assert_eq!(b.await.unwrap(), Err(StoreError::Duplicate));
    timeout(LIMIT, c).await.unwrap().unwrap().unwrap();

    let stats = store.group_commit_stats().unwrap();
    assert_eq!(
        (stats.batches, stats.commands, stats.largest),
        (1, 2, 2),
        "{stats:?}"
    );
    assert_eq!(committed_domains(&env.url).await, ["a.test", "c.test"]);
    env.finish().await;
}

/// Commands dropped without commit — on an error path, or because their future was
/// cancelled mid-command — leave nothing behind, and the rest of the batch commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_commands_leave_nothing() {
    let env = sqlite_env().await;
    let store = SqlStore::new(env.db.clone());

    let mut a = store.begin(true).await.unwrap();
    insert_domain(&mut a, &domain("a.test")).await.unwrap();
    let s = store.clone();
    let b = queue(&store, 1, async move {
        let mut b = s.begin(true).await.unwrap();
        insert_domain(&mut b, &domain("b.test")).await.unwrap();
        // dropped here: rolled back
    })
    .await;
    let (inserted_tx, inserted) = tokio::sync::oneshot::channel();
    let s = store.clone();
    let cancelled = queue(&store, 2, async move {
        let mut t = s.begin(true).await.unwrap();
        insert_domain(&mut t, &domain("cancelled.test"))
            .await
            .unwrap();
        inserted_tx.send(()).unwrap();
        std::future::pending::<()>().await;
        t.commit().await
    })
    .await;
    let s = store.clone();
    let d = queue(&store, 3, async move {
        let mut d = s.begin(true).await.unwrap();
        insert_domain(&mut d, &domain("d.test")).await.unwrap();
        d.commit().await
    })
    .await;

    let a_done = tokio::spawn(a.commit());
    b.await.unwrap();
    timeout(LIMIT, inserted).await.unwrap().unwrap();
    cancelled.abort();
    assert!(cancelled.await.unwrap_err().is_cancelled());
    timeout(LIMIT, d).await.unwrap().unwrap().unwrap();
    timeout(LIMIT, a_done).await.unwrap().unwrap().unwrap();

    let stats = store.group_commit_stats().unwrap();
    assert_eq!((stats.batches, stats.commands), (1, 2), "{stats:?}");
    assert_eq!(committed_domains(&env.url).await, ["a.test", "d.test"]);

    // The writer is usable afterwards, and the dropped names are free.
    let mut t = store.begin(true).await.unwrap();
    insert_domain(&mut t, &domain("b.test")).await.unwrap();
    timeout(LIMIT, t.commit()).await.unwrap().unwrap();
    assert_eq!(
        committed_domains(&env.url).await,
        ["a.test", "b.test", "d.test"]
    );
    env.finish().await;
}

/// A command that hit an error it did not propagate cannot commit: it is rolled back, and its
/// batch commits without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_after_backend_error_cannot_commit() {
    let env = sqlite_env().await;
    let Db::Sqlite(p) = &env.db else { panic!() };
    sqlx::query("INSERT INTO domain (name, cl_id, data) VALUES ('corrupt.test', 'x', 'not json')")
        .execute(p)
        .await
        .unwrap();
    let store = SqlStore::new(env.db.clone());
    let mut a = store.begin(true).await.unwrap();
    insert_domain(&mut a, &domain("a.test")).await.unwrap();
    let s = store.clone();
    let b = queue(&store, 1, async move {
        let mut b = s.begin(true).await.unwrap();
        insert_domain(&mut b, &domain("b.test")).await.unwrap();
        let e = b.domain_get("corrupt.test", true).await.unwrap_err();
        assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
        // Poisoned: no more statements, and no commit.
        assert!(b.domain_get("a.test", false).await.is_err());
        b.commit().await
    })
    .await;
    timeout(LIMIT, a.commit()).await.unwrap().unwrap();
    assert!(matches!(
        timeout(LIMIT, b).await.unwrap().unwrap(),
        Err(StoreError::Backend(_))
    ));
    assert_eq!(
        committed_domains(&env.url).await,
        ["a.test", "corrupt.test"]
    );
    env.finish().await;
}

/// A storm of commands — creates, duplicates, drops, commands cancelled while queued or
/// mid-command — all finish, and every create that returned Ok is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_mixed_commands_never_hangs() {
    let env = sqlite_env().await;
    let store = SqlStore::new(env.db.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400u64 {
        let s = store.clone();
        tasks.spawn(async move {
            let name = format!("s{}.test", i % 300);
            // Staggered, so commands meet the writer in every state.
            tokio::time::sleep(Duration::from_micros((i % 17) * 150)).await;
            let work = async {
                let mut t = s.begin(true).await?;
                insert_domain(&mut t, &domain(&name)).await?;
                if i % 7 == 3 {
                    return Ok(None); // dropped
                }
                t.commit().await.map(|()| Some(name.clone()))
            };
            // Some commands give up early: while queued, mid-command or mid-commit.
            let give_up = Duration::from_micros((i % 9) * 250);
            if i % 4 == 1 {
                match timeout(give_up, work).await {
                    Ok(r) => r,
                    Err(_) => Ok(None),
                }
            } else {
                work.await
            }
        });
    }
    let results = timeout(LIMIT, tasks.join_all())
        .await
        .expect("commands hung");
    let mut committed: Vec<String> = results
        .iter()
        .filter_map(|r| match r {
            Ok(Some(n)) => Some(n.clone()),
            Ok(None) | Err(StoreError::Duplicate) => None,
            Err(e) => panic!("unexpected {e:?}"),
        })
        .collect();
    committed.sort();
    // A create cancelled mid-commit may be committed without its caller knowing: the
    // database holds every acknowledged name, and maybe a few more.
    let in_db = committed_domains(&env.url).await;
    eprintln!(
        "storm: {} acknowledged, {} committed, {:?}",
        committed.len(),
        in_db.len(),
        store.group_commit_stats()
    );
    for n in &committed {
        assert!(in_db.contains(n), "{n} acknowledged but not committed");
    }
    // And the writer still works.
    let mut t = timeout(LIMIT, store.begin(true)).await.unwrap().unwrap();
    insert_domain(&mut t, &domain("after.test")).await.unwrap();
    timeout(LIMIT, t.commit()).await.unwrap().unwrap();
    assert_eq!(store.group_commit_stats().unwrap().queued, 0);
    env.finish().await;
}

/// `*_taken` answer with the exact names that exist, on both backends.
async fn taken(env: &Env) {
    assert_eq!(env.code("registrarA", create_contact("tk1")).await, 1000);
    assert_eq!(
        env.code("registrarA", create_host("ns1.taken.example", &[]))
            .await,
        1000
    );
    assert_eq!(
        env.code(
            "registrarA",
            create_domain("taken.test", "tk1", &["ns1.taken.example"])
        )
        .await,
        1000
    );
    let s = env.reg.store();
    let mut d = s
        .domains_taken(&["free.test", "taken.test", "TAKEN.test", "taken.test"])
        .await
        .unwrap();
    d.sort();
    d.dedup();
    assert_eq!(d, ["taken.test"]);
    assert_eq!(s.domains_taken(&[]).await.unwrap(), Vec::<String>::new());
    assert_eq!(
        s.hosts_taken(&["ns1.taken.example", "ns2.taken.example"])
            .await
            .unwrap(),
        ["ns1.taken.example"]
    );
    assert_eq!(
        s.contacts_taken(&["TK1", "tk1", "tk2"]).await.unwrap(),
        ["tk1"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_sqlite() {
    let env = sqlite_env().await;
    taken(&env).await;
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_postgres() {
    let Some(env) = pg_env().await else { return };
    taken(&env).await;
    env.finish().await;
}
