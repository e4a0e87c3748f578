//! The history chain's storage (issue 13; the hashing and the checks are registry-core
//! `history`): the sequencer that chains committed rows, and the reader that walks the chain.
//!
//! Rows are inserted with `chain_seq` NULL (the write path takes no lock for the chain). The
//! sequencer takes the committed, unchained rows in id order, gives each the next position and
//! its chain hash, under a transaction-scoped advisory lock on PostgreSQL (several frontends
//! run it; one at a time, so the chain never forks; the unique index on `chain_seq` is the
//! second wall). A row that commits late (a lower id than rows already chained) is simply
//! chained later, at a later position: positions follow the sequencer, not the ids.

use epp_proto::Timestamp;
use registry_core::history::{
    self, ChainBreak, ChainWalk, ChainedRow, ChainedTable, Checkpoint, ObjectRowRef,
};
use registry_core::model::HistoryEntry;
use registry_core::store::{StoreError, StoreResult};
use sqlx::Row;

use crate::db::Db;
use crate::objects::map_err;

/// Arbitrary constant naming the chain's advisory lock.
const CHAIN_LOCK: i64 = 0x0048_6973_7443_6861_i64;

const COLUMNS: &str = "id, object_type, object_key, roid, op, cl_id, source_ip, cert_fingerprint, \
                       cl_trid, sv_trid, at, before_state, after_state, chain_seq, chain_hash";

/// What one sequencer pass did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SequenceReport {
    /// Rows chained in this pass.
    pub chained: u64,
    /// The chain's head after the pass: position and hash.
    pub head: (i64, [u8; 32]),
    /// Rows chained now that are dated more than `late_after` before the pass: written straight
    /// into the database rather than by the registry (which chains within seconds).
    pub late: Vec<i64>,
}

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub rows: u64,
    /// Position and hash of the last row that fits.
    pub head: (i64, [u8; 32]),
    /// The first row that does not fit, if any.
    pub problem: Option<ChainBreak>,
    /// Rows not chained yet (the sequencer chains them within seconds).
    pub unchained: u64,
}

fn hash_of(s: Option<&str>) -> StoreResult<[u8; 32]> {
    let s = s.ok_or_else(|| StoreError::Backend("chained row without chain_hash".into()))?;
    hex::decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| StoreError::Backend(format!("chain_hash {s:?} is not 32 bytes of hex")))
}

macro_rules! entry_of {
    ($r:expr) => {{
        let r = $r;
        HistoryEntry {
            id: r.try_get("id").map_err(map_err)?,
            object_type: r.try_get("object_type").map_err(map_err)?,
            object_key: r.try_get("object_key").map_err(map_err)?,
            roid: r.try_get("roid").map_err(map_err)?,
            op: r.try_get("op").map_err(map_err)?,
            cl_id: r.try_get("cl_id").map_err(map_err)?,
            source_ip: r.try_get("source_ip").map_err(map_err)?,
            cert_fingerprint: r.try_get("cert_fingerprint").map_err(map_err)?,
            cl_trid: r.try_get("cl_trid").map_err(map_err)?,
            sv_trid: r.try_get("sv_trid").map_err(map_err)?,
            at: r.try_get("at").map_err(map_err)?,
            before: r.try_get("before_state").map_err(map_err)?,
            after: r.try_get("after_state").map_err(map_err)?,
        }
    }};
}

macro_rules! backend {
    ($m:ident, $db:ty, $pg:literal, $set_links:ident) => {
        pub(crate) mod $m {
            use super::*;
            type Conn = <$db as sqlx::Database>::Connection;

            pub async fn head(c: &mut Conn) -> StoreResult<(i64, [u8; 32])> {
                let row = sqlx::query(
                    "SELECT chain_seq, chain_hash FROM object_history \
                     WHERE chain_seq = (SELECT MAX(chain_seq) FROM object_history)",
                )
                .fetch_optional(&mut *c)
                .await
                .map_err(map_err)?;
                match row {
                    None => Ok((0, history::GENESIS)),
                    Some(r) => {
                        let seq: i64 = r.try_get("chain_seq").map_err(map_err)?;
                        let h: Option<String> = r.try_get("chain_hash").map_err(map_err)?;
                        Ok((seq, hash_of(h.as_deref())?))
                    }
                }
            }

            pub async fn sequence(
                c: &mut Conn,
                limit: u32,
                late_before: Timestamp,
            ) -> StoreResult<SequenceReport> {
                // SQLite: take the write lock up front (a read that later upgrades would fail
                // with SQLITE_BUSY instead of waiting); PostgreSQL: one sequencer at a time.
                // Dropped unfinished, the transaction rolls back.
                let begin = if $pg { "BEGIN" } else { "BEGIN IMMEDIATE" };
                let mut tx = sqlx::Connection::begin_with(&mut *c, begin).await.map_err(map_err)?;
                let r = pass(&mut tx, limit, late_before).await?;
                tx.commit().await.map_err(map_err)?;
                Ok(r)
            }

            /// One pass inside the caller's write transaction.
            pub(crate) async fn pass(
                tx: &mut Conn,
                limit: u32,
                late_before: Timestamp,
            ) -> StoreResult<SequenceReport> {
                if $pg {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(CHAIN_LOCK)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                let (mut pos, mut prev) = head(&mut *tx).await?;
                let rows = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM object_history WHERE chain_seq IS NULL ORDER BY id LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
                let mut report = SequenceReport::default();
                let mut links = Vec::with_capacity(rows.len());
                for r in &rows {
                    let e = entry_of!(r);
                    pos += 1;
                    prev = history::chain_hash(&prev, &history::object_row_hash(&e));
                    links.push((e.id, pos, hex::encode(prev)));
                    if e.at < late_before {
                        report.late.push(e.id);
                    }
                }
                let n = super::$set_links(&mut *tx, &links).await?;
                if n != links.len() as u64 {
                    return Err(StoreError::Conflict("history row chained twice".into()));
                }
                report.chained = n;
                report.head = (pos, prev);
                Ok(report)
            }

            /// Chained rows with a position above `after`, in position order, as read.
            pub async fn page(
                c: &mut Conn,
                after: i64,
                limit: u32,
            ) -> StoreResult<Vec<<$db as sqlx::Database>::Row>> {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM object_history WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)
            }

            /// Hashes rows as read (by column position, borrowing their text).
            pub fn hashed(rows: &[<$db as sqlx::Database>::Row]) -> StoreResult<Vec<ChainedRow>> {
                rows.iter()
                    .map(|r| {
                        let g = |i: usize| -> StoreResult<&str> { r.try_get(i).map_err(map_err) };
                        let o = |i: usize| -> StoreResult<Option<&str>> { r.try_get(i).map_err(map_err) };
                        let e = ObjectRowRef {
                            id: r.try_get(0).map_err(map_err)?,
                            object_type: g(1)?,
                            object_key: g(2)?,
                            roid: g(3)?,
                            op: g(4)?,
                            cl_id: g(5)?,
                            source_ip: o(6)?,
                            cert_fingerprint: o(7)?,
                            cl_trid: o(8)?,
                            sv_trid: g(9)?,
                            at: r.try_get(10).map_err(map_err)?,
                            before: o(11)?,
                            after: o(12)?,
                        };
                        Ok(ChainedRow {
                            table: ChainedTable::Object,
                            id: e.id,
                            position: r.try_get(13).map_err(map_err)?,
                            content_hash: history::object_row_ref_hash(&e),
                            stored_chain_hash: hash_of(o(14)?)?,
                        })
                    })
                    .collect()
            }

            /// History rows with an id above `after`, in id order (the order of their writes for
            /// any one object, which row locks serialize).
            pub async fn entries(c: &mut Conn, after: i64, limit: u32) -> StoreResult<Vec<HistoryEntry>> {
                let rows = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM object_history WHERE id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)?;
                rows.iter().map(|r| Ok(entry_of!(r))).collect()
            }

            pub async fn unchained(c: &mut Conn) -> StoreResult<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM object_history WHERE chain_seq IS NULL")
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
    };
}

backend!(sq, sqlx::Sqlite, false, set_links_sqlite);
backend!(pg, sqlx::Postgres, true, set_links_pg);

/// (row id, position, chain hash) for each newly chained row; returns the rows updated.
type Links = [(i64, i64, String)];

/// SQLite: one UPDATE for the whole pass (the links as one JSON array): the pass runs on the
/// store's single writer, so every statement it saves is one the EPP write path does not wait for.
/// The unary `+` keeps the planner off the `chain_seq` index: driven by it, the plan scans every
/// unchained row and re-reads the whole JSON array for each (seen in a profile: a third of the
/// writer thread in SQLite's JSON parser); driven by the array, each row is one rowid lookup.
async fn set_links_sqlite(c: &mut sqlx::SqliteConnection, links: &Links) -> StoreResult<u64> {
    let json = serde_json::to_string(links).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(sqlx::query(
        "UPDATE object_history AS h SET chain_seq = v.seq, chain_hash = v.hash \
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS seq, value ->> 2 AS hash FROM json_each($1)) AS v \
         WHERE h.id = v.id AND +h.chain_seq IS NULL",
    )
    .bind(json)
    .execute(&mut *c)
    .await
    .map_err(map_err)?
    .rows_affected())
}

/// PostgreSQL: one UPDATE for the whole pass (arrays), one round trip.
async fn set_links_pg(c: &mut sqlx::PgConnection, links: &Links) -> StoreResult<u64> {
    let ids: Vec<i64> = links.iter().map(|l| l.0).collect();
    let seqs: Vec<i64> = links.iter().map(|l| l.1).collect();
    let hashes: Vec<String> = links.iter().map(|l| l.2.clone()).collect();
    Ok(sqlx::query(
        "UPDATE object_history AS h SET chain_seq = v.seq, chain_hash = v.hash \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[]) AS v(id, seq, hash) \
         WHERE h.id = v.id AND h.chain_seq IS NULL",
    )
    .bind(ids)
    .bind(seqs)
    .bind(hashes)
    .execute(&mut *c)
    .await
    .map_err(map_err)?
    .rows_affected())
}

macro_rules! on_db {
    ($db:expr, $f:ident ( $($a:expr),* )) => {
        match $db {
            Db::Sqlite(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                sq::$f(&mut c, $($a),*).await
            }
            Db::Postgres(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                pg::$f(&mut c, $($a),*).await
            }
        }
    };
}

/// Chains up to `limit` committed rows; rows dated before `late_before` are reported as late.
pub async fn sequence(db: &Db, limit: u32, late_before: Timestamp) -> StoreResult<SequenceReport> {
    on_db!(db, sequence(limit, late_before))
}

/// The chain's head: position and hash (position 0 and the genesis hash when empty).
pub async fn head(db: &Db) -> StoreResult<(i64, [u8; 32])> {
    on_db!(db, head())
}

/// Up to `limit` history rows with an id above `after`, in id order.
pub async fn entries(db: &Db, after: i64, limit: u32) -> StoreResult<Vec<HistoryEntry>> {
    on_db!(db, entries(after, limit))
}

/// Walks the whole chain (after chaining what is pending), against `checkpoint` if given (its
/// signature must have been checked by the caller).
pub async fn verify(db: &Db, checkpoint: Option<&Checkpoint>) -> StoreResult<VerifyReport> {
    const PAGE: u32 = 20_000;
    let mut walk = ChainWalk::new();
    if let Some(c) = checkpoint {
        walk = walk.with_checkpoint(c).map_err(StoreError::Backend)?;
    }
    // Reading the next page and hashing this one overlap (the hashing runs on a blocking
    // thread): the walk is bound by whichever is slower, not by their sum.
    let mut after = 0;
    let mut problem = None;
    let mut pending: Option<tokio::task::JoinHandle<StoreResult<Vec<ChainedRow>>>> = None;
    loop {
        let (next, n, last_pos) = match db {
            Db::Sqlite(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                let rows = sq::page(&mut c, after, PAGE).await?;
                let (n, pos) = (rows.len(), rows.last().map(|r| r.try_get::<i64, _>(13)));
                (
                    tokio::task::spawn_blocking(move || sq::hashed(&rows)),
                    n,
                    pos,
                )
            }
            Db::Postgres(p) => {
                let mut c = p.acquire().await.map_err(map_err)?;
                let rows = pg::page(&mut c, after, PAGE).await?;
                let (n, pos) = (rows.len(), rows.last().map(|r| r.try_get::<i64, _>(13)));
                (
                    tokio::task::spawn_blocking(move || pg::hashed(&rows)),
                    n,
                    pos,
                )
            }
        };
        if let Some(pos) = last_pos {
            after = pos.map_err(map_err)?;
        }
        if let Some(prev) = pending.replace(next) {
            let rows = prev
                .await
                .map_err(|e| StoreError::Backend(format!("hashing: {e}")))??;
            if let Some(b) = rows.iter().find_map(|r| walk.push(r).err()) {
                problem = Some(b);
                break;
            }
        }
        if n < PAGE as usize {
            break;
        }
    }
    if problem.is_none() {
        if let Some(p) = pending.take() {
            let rows = p
                .await
                .map_err(|e| StoreError::Backend(format!("hashing: {e}")))??;
            problem = rows.iter().find_map(|r| walk.push(r).err());
        }
    }
    if problem.is_none() {
        if let Err(b) = walk.finish() {
            problem = Some(b);
        }
    }
    let head = walk.head();
    Ok(VerifyReport {
        rows: walk.rows(),
        head,
        problem,
        unchained: on_db!(db, unchained())?,
    })
}
