//! The publisher's own durable state: the last journal position applied with the serial it
//! produced, and batches held by the safety valve.
//!
//! [`SqlStore`] keeps them in the registry database (SQLite or PostgreSQL) in two tables of
//! its own, `zonegen_state` and `zonegen_held_batch`, created if missing at start-up (the
//! lead may move them into registry-store's migrations). [`MemoryStore`] is for tests.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sqlx::{PgPool, SqlitePool};

use crate::source::Position;
use crate::zone::DiffStats;

/// The store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("no held batch with id {0}")]
    NoSuchBatch(i64),
    #[error("leadership lost (lock connection failed)")]
    LeadershipLost,
}

/// What was last published: all journal entries up to `position`, as SOA `serial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedState {
    pub position: Position,
    pub serial: u32,
}

/// A batch the safety valve stopped: entries in (`from_position`, `to_position`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBatch {
    pub id: i64,
    pub zone: String,
    pub from_position: Position,
    pub to_position: Position,
    pub removed: i64,
    pub repointed: i64,
    pub delegations: i64,
    pub created_at: i64,
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
}

/// Storage of the publisher's state.
pub trait PublisherStore: Send + Sync {
    fn load(
        &self,
        zone: &str,
    ) -> impl Future<Output = Result<Option<PublishedState>, StoreError>> + Send;
    fn save(
        &self,
        zone: &str,
        state: PublishedState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a held batch starting after `from` (or returns the one already recorded).
    fn hold(
        &self,
        zone: &str,
        from: Position,
        to: Position,
        stats: DiffStats,
        delegations: usize,
    ) -> impl Future<Output = Result<HeldBatch, StoreError>> + Send;
    /// The held batch starting after `from`, if any.
    fn held_from(
        &self,
        zone: &str,
        from: Position,
    ) -> impl Future<Output = Result<Option<HeldBatch>, StoreError>> + Send;
    /// Held batches not approved yet.
    fn pending_held(
        &self,
        zone: &str,
    ) -> impl Future<Output = Result<Vec<HeldBatch>, StoreError>> + Send;
    /// The operator's approval: the publisher then publishes the batch as it is.
    fn approve(
        &self,
        id: i64,
        operator: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Default)]
struct MemInner {
    states: BTreeMap<String, PublishedState>,
    held: Vec<HeldBatch>,
}

/// In-memory store; clones share the same state (like a database would).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore(Arc<Mutex<MemInner>>);

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemInner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl PublisherStore for MemoryStore {
    async fn load(&self, zone: &str) -> Result<Option<PublishedState>, StoreError> {
        Ok(self.lock().states.get(zone).copied())
    }
    async fn save(&self, zone: &str, state: PublishedState) -> Result<(), StoreError> {
        self.lock().states.insert(zone.to_owned(), state);
        Ok(())
    }
    async fn hold(
        &self,
        zone: &str,
        from: Position,
        to: Position,
        stats: DiffStats,
        delegations: usize,
    ) -> Result<HeldBatch, StoreError> {
        let mut inner = self.lock();
        if let Some(h) = inner
            .held
            .iter()
            .find(|h| h.zone == zone && h.from_position == from)
        {
            return Ok(h.clone());
        }
        let batch = HeldBatch {
            id: inner.held.len() as i64 + 1,
            zone: zone.to_owned(),
            from_position: from,
            to_position: to,
            removed: stats.removed as i64,
            repointed: stats.repointed as i64,
            delegations: delegations as i64,
            created_at: unix_now(),
            approved_by: None,
            approved_at: None,
        };
        inner.held.push(batch.clone());
        Ok(batch)
    }
    async fn held_from(&self, zone: &str, from: Position) -> Result<Option<HeldBatch>, StoreError> {
        Ok(self
            .lock()
            .held
            .iter()
            .find(|h| h.zone == zone && h.from_position == from)
            .cloned())
    }
    async fn pending_held(&self, zone: &str) -> Result<Vec<HeldBatch>, StoreError> {
        Ok(self
            .lock()
            .held
            .iter()
            .filter(|h| h.zone == zone && h.approved_by.is_none())
            .cloned()
            .collect())
    }
    async fn approve(&self, id: i64, operator: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let h = inner
            .held
            .iter_mut()
            .find(|h| h.id == id)
            .ok_or(StoreError::NoSuchBatch(id))?;
        h.approved_by = Some(operator.to_owned());
        h.approved_at = Some(unix_now());
        Ok(())
    }
}

/// The publisher's state in the registry database.
#[derive(Debug, Clone)]
pub enum SqlStore {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            SqlStore::Sqlite($p) => $body,
            SqlStore::Postgres($p) => $body,
        }
    };
}

type HeldRow = (
    i64,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<i64>,
);

fn held_from_row(r: HeldRow) -> HeldBatch {
    HeldBatch {
        id: r.0,
        zone: r.1,
        from_position: r.2,
        to_position: r.3,
        removed: r.4,
        repointed: r.5,
        delegations: r.6,
        created_at: r.7,
        approved_by: r.8,
        approved_at: r.9,
    }
}

const HELD_COLUMNS: &str = "id, zone, from_position, to_position, removed, repointed, \
     delegations, created_at, approved_by, approved_at";

/// Held by the leading publisher; dropping it (or losing its connection) ends leadership.
#[derive(Debug)]
pub struct LeaderLock {
    conn: Option<sqlx::PgConnection>,
}

impl LeaderLock {
    /// Checks that the lock's connection (and so the lock) is still there.
    pub async fn check(&mut self) -> Result<(), StoreError> {
        if let Some(conn) = self.conn.as_mut() {
            sqlx::query("SELECT 1")
                .execute(conn)
                .await
                .map_err(|_| StoreError::LeadershipLost)?;
        }
        Ok(())
    }
}

/// The advisory-lock key of a zone's publisher (FNV-1a of "zonegen:" + zone).
pub fn leader_lock_key(zone: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "zonegen:".bytes().chain(zone.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

impl SqlStore {
    /// Creates the two tables if they are missing.
    pub async fn init(&self) -> Result<(), StoreError> {
        let id_col = match self {
            SqlStore::Sqlite(_) => "INTEGER PRIMARY KEY AUTOINCREMENT",
            SqlStore::Postgres(_) => "BIGSERIAL PRIMARY KEY",
        };
        let state = "CREATE TABLE IF NOT EXISTS zonegen_state (
                zone       TEXT PRIMARY KEY,
                position   BIGINT NOT NULL,
                serial     BIGINT NOT NULL,
                updated_at BIGINT NOT NULL)";
        let held = format!(
            "CREATE TABLE IF NOT EXISTS zonegen_held_batch (
                id            {id_col},
                zone          TEXT NOT NULL,
                from_position BIGINT NOT NULL,
                to_position   BIGINT NOT NULL,
                removed       BIGINT NOT NULL,
                repointed     BIGINT NOT NULL,
                delegations   BIGINT NOT NULL,
                created_at    BIGINT NOT NULL,
                approved_by   TEXT,
                approved_at   BIGINT,
                UNIQUE (zone, from_position))"
        );
        on_pool!(self, p => {
            sqlx::query(state).execute(p).await?;
            sqlx::query(&held).execute(p).await?;
        });
        Ok(())
    }

    /// Waits until this instance is the zone's only publisher. PostgreSQL: a session-level
    /// `pg_advisory_lock` on a dedicated connection. SQLite: one process per database file
    /// by construction, so there is nothing to elect.
    pub async fn acquire_leadership(&self, zone: &str) -> Result<LeaderLock, StoreError> {
        match self {
            SqlStore::Sqlite(_) => Ok(LeaderLock { conn: None }),
            SqlStore::Postgres(p) => {
                let mut conn = p.acquire().await?.detach();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(leader_lock_key(zone))
                    .execute(&mut conn)
                    .await?;
                Ok(LeaderLock { conn: Some(conn) })
            }
        }
    }
}

impl PublisherStore for SqlStore {
    async fn load(&self, zone: &str) -> Result<Option<PublishedState>, StoreError> {
        let row: Option<(i64, i64)> = on_pool!(self, p => {
            sqlx::query_as("SELECT position, serial FROM zonegen_state WHERE zone = $1")
                .bind(zone)
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(|(position, serial)| PublishedState {
            position,
            serial: serial as u32,
        }))
    }

    async fn save(&self, zone: &str, state: PublishedState) -> Result<(), StoreError> {
        let sql = "INSERT INTO zonegen_state (zone, position, serial, updated_at)
                   VALUES ($1, $2, $3, $4)
                   ON CONFLICT (zone) DO UPDATE
                   SET position = excluded.position, serial = excluded.serial,
                       updated_at = excluded.updated_at";
        on_pool!(self, p => {
            sqlx::query(sql)
                .bind(zone)
                .bind(state.position)
                .bind(i64::from(state.serial))
                .bind(unix_now())
                .execute(p)
                .await?;
        });
        Ok(())
    }

    async fn hold(
        &self,
        zone: &str,
        from: Position,
        to: Position,
        stats: DiffStats,
        delegations: usize,
    ) -> Result<HeldBatch, StoreError> {
        let sql = "INSERT INTO zonegen_held_batch
                   (zone, from_position, to_position, removed, repointed, delegations, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (zone, from_position) DO NOTHING";
        on_pool!(self, p => {
            sqlx::query(sql)
                .bind(zone)
                .bind(from)
                .bind(to)
                .bind(stats.removed as i64)
                .bind(stats.repointed as i64)
                .bind(delegations as i64)
                .bind(unix_now())
                .execute(p)
                .await?;
        });
        self.held_from(zone, from)
            .await?
            .ok_or(StoreError::NoSuchBatch(0))
    }

    async fn held_from(&self, zone: &str, from: Position) -> Result<Option<HeldBatch>, StoreError> {
        let sql = format!(
            "SELECT {HELD_COLUMNS} FROM zonegen_held_batch WHERE zone = $1 AND from_position = $2"
        );
        let row: Option<HeldRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(zone).bind(from).fetch_optional(p).await?
        });
        Ok(row.map(held_from_row))
    }

    async fn pending_held(&self, zone: &str) -> Result<Vec<HeldBatch>, StoreError> {
        let sql = format!(
            "SELECT {HELD_COLUMNS} FROM zonegen_held_batch
             WHERE zone = $1 AND approved_by IS NULL ORDER BY id"
        );
        let rows: Vec<HeldRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(zone).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(held_from_row).collect())
    }

    async fn approve(&self, id: i64, operator: &str) -> Result<(), StoreError> {
        let sql = "UPDATE zonegen_held_batch SET approved_by = $1, approved_at = $2
                   WHERE id = $3";
        let affected = on_pool!(self, p => {
            sqlx::query(sql)
                .bind(operator)
                .bind(unix_now())
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::NoSuchBatch(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn battery<S: PublisherStore>(store: &S) {
        assert_eq!(store.load("tld").await.expect("load"), None);
        let st = PublishedState {
            position: 7,
            serial: 1_700_000_000,
        };
        store.save("tld", st).await.expect("save");
        store
            .save("tld", PublishedState { position: 9, ..st })
            .await
            .expect("save again");
        assert_eq!(
            store.load("tld").await.expect("load").map(|s| s.position),
            Some(9)
        );
        let stats = DiffStats {
            removed: 10,
            repointed: 2,
            added: 0,
        };
        let h = store.hold("tld", 9, 20, stats, 100).await.expect("hold");
        let again = store
            .hold("tld", 9, 25, stats, 100)
            .await
            .expect("hold twice");
        assert_eq!(h, again, "holding the same batch twice keeps the first row");
        assert_eq!(store.pending_held("tld").await.expect("pending").len(), 1);
        store.approve(h.id, "alice").await.expect("approve");
        assert!(store.pending_held("tld").await.expect("pending").is_empty());
        let h = store.held_from("tld", 9).await.expect("held").expect("row");
        assert_eq!(h.approved_by.as_deref(), Some("alice"));
        assert_eq!(h.to_position, 20);
        assert!(matches!(
            store.approve(999, "bob").await,
            Err(StoreError::NoSuchBatch(999))
        ));
    }

    #[tokio::test]
    async fn memory_store() {
        battery(&MemoryStore::default()).await;
    }

    #[tokio::test]
    async fn sqlite_store() {
        let pool = SqlitePool::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        let store = SqlStore::Sqlite(pool);
        store.init().await.expect("init");
        store.init().await.expect("init is idempotent");
        battery(&store).await;
    }

    /// Runs against PostgreSQL when `ZONEGEN_TEST_PG_URL` is set.
    #[tokio::test]
    async fn postgres_store() {
        let Ok(url) = std::env::var("ZONEGEN_TEST_PG_URL") else {
            eprintln!("SKIP postgres_store: ZONEGEN_TEST_PG_URL not set");
            return;
        };
        let pool = PgPool::connect(&url).await.expect("postgres");
        let store = SqlStore::Postgres(pool.clone());
        store.init().await.expect("init");
        for table in ["zonegen_held_batch", "zonegen_state"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE zone = 'tld'"))
                .execute(&pool)
                .await
                .expect("clean");
        }
        battery(&store).await;
        let mut lock = store.acquire_leadership("tld").await.expect("leader");
        lock.check().await.expect("still leader");
    }
}
