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
use registry_core::history::{self, ChainBreak, ChainWalk, ChainedRow, ChainedTable, Checkpoint};
use registry_core::model::HistoryEntry;
use registry_core::store::{StoreError, StoreResult};
use sqlx::Row;

use crate::db::Db;
use crate::objects::map_err;

/// Arbitrary constant naming the chain's advisory lock.
const CHAIN_LOCK: i64 = 0x4869_7374_436861_i64;

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
    ($m:ident, $db:ty, $pg:literal) => {
        mod $m {
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
                let mut tx = sqlx::Connection::begin(&mut *c).await.map_err(map_err)?;
                if $pg {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(CHAIN_LOCK)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                let (mut pos, mut prev) = head(&mut tx).await?;
                let rows = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM object_history WHERE chain_seq IS NULL ORDER BY id LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
                let mut report = SequenceReport::default();
                for r in &rows {
                    let e = entry_of!(r);
                    pos += 1;
                    prev = history::chain_hash(&prev, &history::object_row_hash(&e));
                    let n = sqlx::query(
                        "UPDATE object_history SET chain_seq = $1, chain_hash = $2 \
                         WHERE id = $3 AND chain_seq IS NULL",
                    )
                    .bind(pos)
                    .bind(hex::encode(prev))
                    .bind(e.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                    if n != 1 {
                        return Err(StoreError::Conflict("history row chained twice".into()));
                    }
                    if e.at < late_before {
                        report.late.push(e.id);
                    }
                    report.chained += 1;
                }
                tx.commit().await.map_err(map_err)?;
                report.head = (pos, prev);
                Ok(report)
            }

            /// Chained rows with a position above `after`, in position order.
            pub async fn page(c: &mut Conn, after: i64, limit: u32) -> StoreResult<Vec<ChainedRow>> {
                let rows = sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM object_history WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let e = entry_of!(r);
                        let h: Option<String> = r.try_get("chain_hash").map_err(map_err)?;
                        Ok(ChainedRow {
                            table: ChainedTable::Object,
                            id: e.id,
                            position: r.try_get("chain_seq").map_err(map_err)?,
                            content_hash: history::object_row_hash(&e),
                            stored_chain_hash: hash_of(h.as_deref())?,
                        })
                    })
                    .collect()
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

backend!(sq, sqlx::Sqlite, false);
backend!(pg, sqlx::Postgres, true);

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

/// Walks the whole chain (after chaining what is pending), against `checkpoint` if given (its
/// signature must have been checked by the caller).
pub async fn verify(db: &Db, checkpoint: Option<&Checkpoint>) -> StoreResult<VerifyReport> {
    const PAGE: u32 = 20_000;
    let mut walk = ChainWalk::new();
    if let Some(c) = checkpoint {
        walk = walk.with_checkpoint(c).map_err(StoreError::Backend)?;
    }
    let mut after = 0;
    let mut problem = None;
    'pages: loop {
        let page = on_db!(db, page(after, PAGE))?;
        let n = page.len();
        for r in &page {
            if let Err(b) = walk.push(r) {
                problem = Some(b);
                break 'pages;
            }
            after = r.position;
        }
        if n < PAGE as usize {
            break;
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
