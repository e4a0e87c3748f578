//! The publisher's own durable state: the last journal position applied with the serial it
//! produced, and batches held by the safety valve.
//!
//! [`SqlStore`] keeps them in the registry database (SQLite or PostgreSQL) in two tables of
//! its own, `zonegen_state` and `zonegen_held_batch`, created by registry-store's migration
//! `0005_zonegen.sql` (run by `registry_store::Db::connect`). [`MemoryStore`] is for tests.

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
    #[error("held batch {0} is already approved")]
    AlreadyApproved(i64),
    #[error("operator name must be 1-64 characters")]
    BadOperator,
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
    /// [`HOLD_REASON_VALVE`] or [`HOLD_REASON_LOCK`].
    pub reason: String,
}

/// The safety valve held the batch: it removes or repoints too many delegations.
pub const HOLD_REASON_VALVE: &str = "safety valve";
/// The publisher check held the batch: a registry-locked delegation would change.
pub const HOLD_REASON_LOCK: &str = "registry lock";

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
        reason: &str,
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
    /// The operator's approval: the publisher then publishes the batch as it is. A batch
    /// is approved once ([`StoreError::AlreadyApproved`] after that).
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
        reason: &str,
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
            reason: reason.to_owned(),
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
        if h.approved_by.is_some() {
            return Err(StoreError::AlreadyApproved(id));
        }
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
    String,
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
        reason: r.10,
    }
}

const HELD_COLUMNS: &str = "id, zone, from_position, to_position, removed, repointed, \
     delegations, created_at, approved_by, approved_at, reason";

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
    /// The store on the registry database (whose migrations created the tables).
    pub fn from_db(db: &registry_store::Db) -> Self {
        match db {
            registry_store::Db::Sqlite(p) => SqlStore::Sqlite(p.clone()),
            registry_store::Db::Postgres(p) => SqlStore::Postgres(p.clone()),
        }
    }

    /// One held batch, approved or not.
    pub async fn held_by_id(&self, id: i64) -> Result<Option<HeldBatch>, StoreError> {
        let sql = format!("SELECT {HELD_COLUMNS} FROM zonegen_held_batch WHERE id = $1");
        let row: Option<HeldRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        Ok(row.map(held_from_row))
    }

    /// Held batches not approved yet, of every zone.
    pub async fn pending_held_all(&self) -> Result<Vec<HeldBatch>, StoreError> {
        let sql = format!(
            "SELECT {HELD_COLUMNS} FROM zonegen_held_batch WHERE approved_by IS NULL ORDER BY id"
        );
        let rows: Vec<HeldRow> = on_pool!(self, p => {
            sqlx::query_as(&sql).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(held_from_row).collect())
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
        reason: &str,
    ) -> Result<HeldBatch, StoreError> {
        let sql = "INSERT INTO zonegen_held_batch
                   (zone, from_position, to_position, removed, repointed, delegations, created_at, reason)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
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
                .bind(reason)
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
                   WHERE id = $3 AND approved_by IS NULL";
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
            return Err(match self.held_by_id(id).await? {
                Some(_) => StoreError::AlreadyApproved(id),
                None => StoreError::NoSuchBatch(id),
            });
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
        let h = store
            .hold("tld", 9, 20, stats, 100, HOLD_REASON_LOCK)
            .await
            .expect("hold");
        let again = store
            .hold("tld", 9, 25, stats, 100, HOLD_REASON_VALVE)
            .await
            .expect("hold twice");
        assert_eq!(h, again, "holding the same batch twice keeps the first row");
        assert_eq!(again.reason, HOLD_REASON_LOCK);
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
        assert!(matches!(
            store.approve(h.id, "bob").await,
            Err(StoreError::AlreadyApproved(_))
        ));
        let h = store.held_from("tld", 9).await.expect("held").expect("row");
        assert_eq!(
            h.approved_by.as_deref(),
            Some("alice"),
            "first approval kept"
        );
    }

    #[tokio::test]
    async fn memory_store() {
        battery(&MemoryStore::default()).await;
    }

    #[tokio::test]
    async fn sqlite_store() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("registry.db").display());
        let db = registry_store::Db::connect(&url, 2)
            .await
            .expect("migrated SQLite");
        let store = SqlStore::from_db(&db);
        battery(&store).await;
        let mut lock = store.acquire_leadership("tld").await.expect("leader");
        lock.check().await.expect("nothing to lose with SQLite");
    }

    /// PostgreSQL through `EPP_TEST_PG_URL` (a fresh database, dropped afterwards). Unset:
    /// skipped locally, a failure when `CI=true`.
    #[tokio::test]
    async fn postgres_store() {
        let Some(pg) = crate::testing::PgTestDb::create().await else {
            return;
        };
        let store = SqlStore::from_db(&pg.db);
        battery(&store).await;
        let mut lock = store.acquire_leadership("tld").await.expect("leader");
        lock.check().await.expect("still leader");
        // A second publisher of the same zone waits while the first one leads.
        let other = SqlStore::from_db(&pg.db);
        let second = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            other.acquire_leadership("tld"),
        )
        .await;
        assert!(second.is_err(), "two leaders of one zone");
        drop(lock);
        pg.remove().await;
    }
}
