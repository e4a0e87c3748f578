//! Group commit: every SQLite write transaction of this process runs on one writer connection,
//! and the commands that queue up for it share one outer transaction and one fsync.
//!
//! Why: SQLite has a single writer lock per database file. With one `BEGIN IMMEDIATE`
//! transaction per command on pooled connections, concurrent sessions contend for that lock
//! through SQLite's busy handler, which *sleeps* (1, 2, 5, … 100 ms) instead of queueing; the
//! lock sits idle while losers sleep, throughput collapses and the p99 latency is the sleep
//! schedule. And each commit is one fsync (`synchronous=FULL`), so even a perfect queue would
//! be bounded by the disk's flush rate. Queueing in-process on a fair async mutex removes the
//! sleeping; letting the commands that queued while one was running commit together amortises
//! the fsync over the batch.
//!
//! How a command sees it ([`GroupTx`]):
//! * `begin` waits for the writer (counted in `queued` meanwhile), opens the outer transaction
//!   (`BEGIN IMMEDIATE`) if no batch is open, and runs the command inside `SAVEPOINT cmd`;
//! * `commit` releases the savepoint, which makes the command part of the batch. If another
//!   command is queued and the batch has room, the writer is handed on and this command waits
//!   for the batch's outcome; otherwise it commits the batch now. Either way `commit` returns
//!   `Ok` only once the outer `COMMIT` succeeded: nothing acknowledged can be lost, and if the
//!   `COMMIT` fails every command of the batch gets the error (none of them was answered yet);
//! * dropped without commit (an error, or a cancelled future), the command's savepoint is
//!   rolled back by a spawned task — `Drop` cannot await — which then settles the batch the same
//!   way, so earlier members never wait for a commit nobody will issue.
//!
//! Why a savepoint per command: a failed command (say a duplicate name) must not take the
//! commands batched before it down. Some errors (`SQLITE_FULL`, `IOERR`, `BUSY`, `NOMEM`) may
//! make SQLite roll back the whole outer transaction instead; the savepoint is then gone, which
//! `ROLLBACK TO`/`RELEASE` report, and the whole batch fails. A command that saw such an error
//! is poisoned (its next statements and its commit fail) so it cannot go on in autocommit mode.
//!
//! Why the batch is capped (count and age): other processes (`registry-admin`, `zonegen`) write
//! the same file with a busy timeout, and a batch holds SQLite's write lock until it commits.
//!
//! Liveness: the writer is only ever released with a batch still open when a command was
//! queued for it at that moment; a queued command that gives up (cancelled) spawns a task that
//! takes its place. Whatever holds the writer is a [`Held`]; dropped without being released
//! on purpose (a panic, a runtime shutting down) it closes the connection, which rolls the
//! transaction back, and fails the batch — so every batch ends in `COMMIT` or a failure that
//! its members are told about.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use registry_core::store::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use crate::objects::map_err;

/// Most commands in one batch.
pub(crate) const MAX_BATCH: usize = 64;
/// Oldest a batch gets before it commits even though commands are queued.
pub(crate) const MAX_BATCH_AGE: Duration = Duration::from_millis(25);

type Outcome = Option<StoreResult<()>>;

/// The process's SQLite writer: one connection and the batch open on it.
pub(crate) struct Writer {
    opts: Arc<SqliteConnectOptions>,
    state: Arc<Mutex<State>>,
    /// Commands waiting for the writer (incremented before `lock`, decremented once held).
    queued: AtomicUsize,
    batches: AtomicU64,
    commands: AtomicU64,
    largest: AtomicUsize,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Counters of the SQLite writer, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupCommitStats {
    /// Commands waiting for the writer right now.
    pub queued: usize,
    /// Batches committed.
    pub batches: u64,
    /// Commands committed (in those batches).
    pub commands: u64,
    /// Most commands committed by one batch.
    pub largest: usize,
}

#[derive(Default)]
struct State {
    /// `None` until first use, and after anything left it in an unknown state.
    conn: Option<SqliteConnection>,
    batch: Option<Batch>,
}

/// The open outer transaction.
struct Batch {
    /// Commands whose savepoint was released into it; they wait for `outcome`.
    members: usize,
    opened: Instant,
    /// `None` while open. Dropped without a value, its members see an error.
    outcome: watch::Sender<Outcome>,
}

impl Batch {
    fn new() -> Self {
        Self {
            members: 0,
            opened: Instant::now(),
            outcome: watch::Sender::new(None),
        }
    }
}

/// The writer, held. Released on purpose with [`Held::release`]; dropped any other way (a
/// panic, a task dropped at runtime shutdown) it closes the connection — SQLite rolls the open
/// transaction back — and fails the batch, so no member waits forever.
struct Held {
    guard: OwnedMutexGuard<State>,
    released: bool,
}

impl Held {
    fn new(guard: OwnedMutexGuard<State>) -> Self {
        Self {
            guard,
            released: false,
        }
    }

    fn release(mut self) {
        self.released = true;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.released {
            self.guard.conn = None;
            if let Some(b) = self.guard.batch.take() {
                b.outcome.send_replace(Some(Err(StoreError::Backend(
                    "SQLite writer abandoned mid-transaction".into(),
                ))));
            }
        }
    }
}

async fn exec(c: &mut SqliteConnection, sql: &'static str) -> StoreResult<()> {
    sqlx::query(sql)
        .execute(&mut *c)
        .await
        .map(drop)
        .map_err(map_err)
}

fn backend(e: StoreError) -> StoreError {
    match e {
        StoreError::Backend(_) => e,
        other => StoreError::Backend(other.to_string()),
    }
}

impl Writer {
    pub(crate) fn new(opts: Arc<SqliteConnectOptions>) -> Arc<Self> {
        Arc::new(Self {
            opts,
            state: Arc::new(Mutex::new(State::default())),
            queued: AtomicUsize::new(0),
            batches: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            largest: AtomicUsize::new(0),
        })
    }

    pub(crate) fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            queued: self.queued.load(Ordering::SeqCst),
            batches: self.batches.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            largest: self.largest.load(Ordering::Relaxed),
        }
    }

    /// Waits for the writer, counted in `queued` meanwhile so that its holder hands the batch
    /// on rather than committing it.
    async fn acquire(self: &Arc<Self>) -> Held {
        struct Queued<'a> {
            w: &'a Arc<Writer>,
            got: bool,
        }
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.w.queued.fetch_sub(1, Ordering::SeqCst);
                if !self.got {
                    // Given up while queued: a holder may have left the batch open for us.
                    let w = Arc::clone(self.w);
                    if let Ok(rt) = tokio::runtime::Handle::try_current() {
                        rt.spawn(async move {
                            let held = Held::new(Arc::clone(&w.state).lock_owned().await);
                            w.settle(held).await;
                        });
                    }
                }
            }
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut q = Queued {
            w: self,
            got: false,
        };
        let guard = Arc::clone(&self.state).lock_owned().await;
        q.got = true;
        drop(q);
        Held::new(guard)
    }

    /// Starts a command: its own savepoint in the open batch, or in a new one.
    pub(crate) async fn begin(self: &Arc<Self>) -> StoreResult<GroupTx> {
        let held = self.acquire().await;
        let w = Arc::clone(self);
        // In a task of its own, so a caller giving up mid-way cannot leave the connection
        // half-opened: the task finishes and, if nobody takes its GroupTx, drops it (rollback).
        tokio::spawn(async move { w.open(held).await })
            .await
            .map_err(|e| StoreError::Backend(format!("SQLite writer task: {e}")))?
    }

    async fn open(self: Arc<Self>, mut held: Held) -> StoreResult<GroupTx> {
        match self.start(&mut held.guard).await {
            Ok(()) => Ok(GroupTx {
                writer: self,
                held: Some(held),
                poisoned: None,
            }),
            Err(e) => {
                self.settle(held).await;
                Err(e)
            }
        }
    }

    async fn start(&self, s: &mut State) -> StoreResult<()> {
        let conn = match &mut s.conn {
            Some(c) => c,
            empty => empty.insert(self.opts.connect().await.map_err(map_err)?),
        };
        if s.batch.is_none() {
            if let Err(e) = exec(conn, "BEGIN IMMEDIATE").await {
                if !matches!(e, StoreError::Conflict(_)) {
                    // Not just busy: start afresh with a new connection next time.
                    s.conn = None;
                }
                return Err(e);
            }
            s.batch = Some(Batch::new());
        }
        if let Err(e) = exec(conn, "SAVEPOINT cmd").await {
            Self::fail_batch(s, backend(e.clone())).await;
            return Err(e);
        }
        Ok(())
    }

    /// With no savepoint open: hands the batch on to the next queued command if there is one
    /// and the batch has room, else commits it. Releases the writer.
    async fn settle(&self, mut held: Held) {
        let s = &mut *held.guard;
        if let Some(b) = &s.batch {
            let room = b.members < MAX_BATCH && b.opened.elapsed() < MAX_BATCH_AGE;
            if !(room && self.queued.load(Ordering::SeqCst) > 0) {
                self.end_batch(s).await;
            }
        }
        held.release();
    }

    async fn end_batch(&self, s: &mut State) {
        let Some(b) = s.batch.take() else { return };
        let r = match &mut s.conn {
            Some(c) => exec(c, "COMMIT").await,
            None => Err(StoreError::Backend("SQLite writer connection lost".into())),
        };
        let r = match r {
            Ok(()) => {
                self.batches.fetch_add(1, Ordering::Relaxed);
                self.commands.fetch_add(b.members as u64, Ordering::Relaxed);
                self.largest.fetch_max(b.members, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, commands = b.members, "SQLite batch commit failed");
                Self::rollback(s).await;
                Err(backend(e))
            }
        };
        b.outcome.send_replace(Some(r));
    }

    /// Ends the outer transaction with `ROLLBACK` and tells the batch's members.
    async fn fail_batch(s: &mut State, e: StoreError) {
        let Some(b) = s.batch.take() else { return };
        tracing::error!(error = %e, commands = b.members, "SQLite batch rolled back");
        Self::rollback(s).await;
        b.outcome.send_replace(Some(Err(e)));
    }

    async fn rollback(s: &mut State) {
        if let Some(c) = &mut s.conn {
            if exec(c, "ROLLBACK").await.is_err() {
                // No transaction left (SQLite already rolled it back) or a broken connection:
                // either way a fresh connection is the known state.
                s.conn = None;
            }
        }
    }

    /// Commits a command into its batch; the receiver tells the batch's outcome.
    async fn finish(
        &self,
        mut held: Held,
        poisoned: Option<StoreError>,
    ) -> StoreResult<watch::Receiver<Outcome>> {
        if let Some(e) = poisoned {
            self.abort(held).await;
            return Err(e);
        }
        let s = &mut *held.guard;
        let released = match &mut s.conn {
            Some(c) => exec(c, "RELEASE cmd").await,
            None => Err(StoreError::Backend("SQLite writer connection lost".into())),
        };
        if let Err(e) = released {
            // The savepoint is gone: SQLite rolled back the whole outer transaction.
            let e = backend(e);
            Self::fail_batch(s, e.clone()).await;
            held.release();
            return Err(e);
        }
        let rx = match &mut s.batch {
            Some(b) => {
                b.members += 1;
                b.outcome.subscribe()
            }
            None => {
                held.release();
                return Err(StoreError::Backend("SQLite batch vanished".into()));
            }
        };
        self.settle(held).await;
        Ok(rx)
    }

    /// Rolls a command back to its savepoint and settles the batch.
    async fn abort(&self, mut held: Held) {
        let s = &mut *held.guard;
        let r = match &mut s.conn {
            Some(c) => match exec(c, "ROLLBACK TO cmd").await {
                Ok(()) => exec(c, "RELEASE cmd").await,
                Err(e) => Err(e),
            },
            None => Err(StoreError::Backend("SQLite writer connection lost".into())),
        };
        if let Err(e) = r {
            // "no such savepoint": an error inside the command made SQLite roll back the
            // whole outer transaction, the batch's earlier commands with it.
            Self::fail_batch(s, backend(e)).await;
        }
        self.settle(held).await;
    }
}

/// One write command on the SQLite writer: a savepoint in the open batch. Commit returns once
/// the batch is durably committed; dropped, the command is rolled back.
pub struct GroupTx {
    writer: Arc<Writer>,
    /// `None` once committed (or handed to the rollback task).
    held: Option<Held>,
    /// An error after which SQLite may have rolled back the outer transaction.
    poisoned: Option<StoreError>,
}

impl fmt::Debug for GroupTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTx")
            .field("open", &self.held.is_some())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl GroupTx {
    /// The writer connection, for the command's statements.
    pub(crate) fn conn(&mut self) -> StoreResult<&mut SqliteConnection> {
        if let Some(e) = &self.poisoned {
            return Err(e.clone());
        }
        self.held
            .as_mut()
            .and_then(|h| h.guard.conn.as_mut())
            .ok_or_else(|| StoreError::Backend("SQLite writer connection lost".into()))
    }

    /// Passes a statement's result through, poisoning the command on errors that may have
    /// rolled back the outer transaction (constraint errors only undo their statement).
    pub(crate) fn note<T>(&mut self, r: StoreResult<T>) -> StoreResult<T> {
        if let Err(e) = &r {
            let may_have_ended = matches!(e, StoreError::Conflict(_) | StoreError::Backend(_));
            if may_have_ended && self.poisoned.is_none() {
                self.poisoned = Some(e.clone());
            }
        }
        r
    }

    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        let Some(held) = self.held.take() else {
            return Err(StoreError::Backend("SQLite command already ended".into()));
        };
        let poisoned = self.poisoned.take();
        let w = Arc::clone(&self.writer);
        // In a task of its own so that the batch is settled even if our caller gives up.
        let mut rx = tokio::spawn(async move { w.finish(held, poisoned).await })
            .await
            .map_err(|e| StoreError::Backend(format!("SQLite writer task: {e}")))??;
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone(),
            Err(_) => None,
        };
        outcome.unwrap_or_else(|| Err(StoreError::Backend("SQLite batch abandoned".into())))
    }
}

impl Drop for GroupTx {
    fn drop(&mut self) {
        let Some(held) = self.held.take() else { return };
        let w = Arc::clone(&self.writer);
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move { w.abort(held).await });
            }
            // No runtime to roll back on: `Held`'s drop closes the connection instead.
            Err(_) => drop(held),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Failures that only SQLite itself causes, provoked by hand on the writer connection.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Db;

    const LIMIT: Duration = Duration::from_secs(30);

    struct Env {
        db: Db,
        writer: Arc<Writer>,
        path: std::path::PathBuf,
    }

    impl Env {
        async fn new(name: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("epp_gc_{name}_{}.db", std::process::id()));
            let db = Db::connect(&format!("sqlite://{}", path.display()), 2)
                .await
                .unwrap();
            let Db::Sqlite(p) = &db else { panic!() };
            let writer = Writer::new(p.connect_options());
            Self { db, writer, path }
        }

        async fn names(&self) -> Vec<String> {
            let Db::Sqlite(p) = &self.db else { panic!() };
            sqlx::query_scalar("SELECT name FROM domain ORDER BY name")
                .fetch_all(p)
                .await
                .unwrap()
        }

        /// Starts a command holding the writer that inserts `name`.
        async fn insert(&self, sql: &'static str) -> GroupTx {
            let mut t = self.writer.begin().await.unwrap();
            exec(t.conn().unwrap(), sql).await.unwrap();
            t
        }

        /// Runs `f` in a task once it is queued behind the writer's holder.
        async fn queued<T: Send + 'static>(
            &self,
            f: impl std::future::Future<Output = T> + Send + 'static,
        ) -> tokio::task::JoinHandle<T> {
            let n = self.writer.stats().queued + 1;
            let h = tokio::spawn(f);
            tokio::time::timeout(LIMIT, async {
                while self.writer.stats().queued < n {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
            .await
            .unwrap();
            h
        }

        async fn finish(self) {
            drop(self.writer);
            self.db.close().await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
            }
        }
    }

    const INSERT_A: &str = "INSERT INTO domain (name, cl_id, data) VALUES ('a.test', 'x', '{}')";
    const INSERT_B: &str = "INSERT INTO domain (name, cl_id, data) VALUES ('b.test', 'x', '{}')";

    /// The batch's COMMIT fails (here: a deferred foreign key): every member gets an error,
    /// nothing is kept, and the next command commits normally.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_commit_fails_the_whole_batch() {
        let env = Env::new("commit").await;
        let a = env.insert(INSERT_A).await;
        let w = Arc::clone(&env.writer);
        let b = env
            .queued(async move {
                let mut b = w.begin().await.unwrap();
                let c = b.conn().unwrap();
                exec(c, "PRAGMA defer_foreign_keys = ON").await.unwrap();
                exec(
                    c,
                    "INSERT INTO domain_ns (domain_id, host_id) VALUES (9999, 9999)",
                )
                .await
                .unwrap();
                b.commit().await
            })
            .await;
        let a = tokio::time::timeout(LIMIT, a.commit()).await.unwrap();
        assert!(matches!(a, Err(StoreError::Backend(_))), "{a:?}");
        let b = tokio::time::timeout(LIMIT, b).await.unwrap().unwrap();
        assert!(matches!(b, Err(StoreError::Backend(_))), "{b:?}");
        assert!(env.names().await.is_empty());

        let t = env.insert(INSERT_B).await;
        tokio::time::timeout(LIMIT, t.commit())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(env.names().await, ["b.test"]);
        assert_eq!(env.writer.stats().batches, 1);
        env.finish().await;
    }

    /// SQLite rolled back the whole outer transaction under a command (as after SQLITE_FULL
    /// or IOERR; here a bare ROLLBACK): its savepoint is gone, so the batch fails — whether the
    /// command is then dropped or committed — and the writer recovers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn vanished_savepoint_fails_the_batch() {
        let env = Env::new("vanished").await;
        for commit in [false, true] {
            let a = env.insert(INSERT_A).await;
            let w = Arc::clone(&env.writer);
            let b = env
                .queued(async move {
                    let mut b = w.begin().await.unwrap();
                    exec(b.conn().unwrap(), "ROLLBACK").await.unwrap();
                    if commit {
                        b.commit().await
                    } else {
                        drop(b);
                        Ok(())
                    }
                })
                .await;
            let a = tokio::time::timeout(LIMIT, a.commit()).await.unwrap();
            assert!(matches!(a, Err(StoreError::Backend(_))), "{a:?}");
            let b = tokio::time::timeout(LIMIT, b).await.unwrap().unwrap();
            assert_eq!(b.is_err(), commit, "{b:?}");
            assert!(env.names().await.is_empty());
        }
        let t = env.insert(INSERT_B).await;
        tokio::time::timeout(LIMIT, t.commit())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(env.names().await, ["b.test"]);
        env.finish().await;
    }

    /// A command queued for the writer gives up after the holder handed the batch to it: the
    /// batch is still committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_command_giving_up_does_not_strand_the_batch() {
        let env = Env::new("giveup").await;
        let a = env.insert(INSERT_A).await;
        let w = Arc::clone(&env.writer);
        let (go_tx, go) = tokio::sync::oneshot::channel::<()>();
        // Queued, then cancelled once `a` has handed the batch on (or not: either order must
        // end with the batch committed).
        let b = env
            .queued(async move {
                tokio::select! {
                    t = w.begin() => drop(t),
                    _ = go => {}
                }
            })
            .await;
        let a_done = tokio::spawn(a.commit());
        go_tx.send(()).ok();
        b.await.unwrap();
        tokio::time::timeout(LIMIT, a_done)
            .await
            .expect("batch stranded")
            .unwrap()
            .unwrap();
        assert_eq!(env.names().await, ["a.test"]);
        env.finish().await;
    }
}
