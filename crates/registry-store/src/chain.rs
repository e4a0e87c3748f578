//! The history chain's storage (issue 13; the hashing and the checks are registry-core
//! `history`): the sequencer that chains committed rows, and the reader that walks the chain.
//!
//! # What is chained
//!
//! Every row of the registry's trail: `object_history` (object changes, lock steps, and every
//! operator action: signed actions, proposals, approvals, refusals, failed operator
//! authentications, operator account changes, each written there in the transaction of the
//! change) and `login_audit` (every registrar login, succeeded or failed). The `operators`,
//! `proposals` and `operator_nonces` tables are state, not trail: each change of them writes
//! its `object_history` row, which is chained.
//!
//! # One chain across the tables
//!
//! Both tables share **one** chain: positions are unique across them, and the chain hash at
//! a position follows from the previous position whichever table holds it. Rather than one
//! chain per table, because
//! - one head is one checkpoint: the signed file outside the database, the metric and
//!   `history verify --checkpoint` stay one position and one hash, and the format of
//!   checkpoints already signed does not change;
//! - the order *between* the tables is protected too: a failed login and the change that
//!   followed it cannot be silently swapped, and an intruder cannot truncate one table's
//!   chain (the audit of a break-in, say) while the other's head keeps moving — any cut
//!   shows as a gap or a mismatch in the one chain the checkpoint covers;
//! - one sequencer lock serializes one chain: no second lock order to get wrong.
//!
//! The cost is that the walk merges the tables by position (a range of positions is read
//! from each, and merged), and that a position could be claimed by a row in each table: the
//! per-table unique index cannot see across tables, so the walk names the second one
//! ([`ChainBreak::Repeated`]).
//!
//! # Sequencing
//!
//! Rows are inserted with `chain_seq` NULL (the write path takes no lock for the chain). The
//! sequencer takes the committed, unchained rows in id order (object history first, then the
//! login audit), gives each the next position and its chain hash, under a transaction-scoped
//! advisory lock on PostgreSQL (several frontends run it; one at a time, so the chain never
//! forks; the unique indexes on `chain_seq` are the second wall) and in a `BEGIN IMMEDIATE`
//! transaction on SQLite. The links are written with one statement per table and pass. A row
//! that commits late (a lower id than rows already chained) is simply chained later, at a
//! later position: positions follow the sequencer, not the ids.

use epp_proto::Timestamp;
use registry_core::history::{
    self, AuditRowRef, ChainBreak, ChainWalk, ChainedRow, ChainedTable, Checkpoint, ObjectRowRef,
};
use registry_core::model::HistoryEntry;
use registry_core::store::{StoreError, StoreResult};
use sqlx::Row;

use crate::db::Db;
use crate::objects::map_err;

/// Arbitrary constant naming the chain's advisory lock.
const CHAIN_LOCK: i64 = 0x0048_6973_7443_6861_i64;

/// `object_history`'s columns by position: content 0..=12, `chain_seq` 13, `chain_hash` 14.
const OBJECT_COLUMNS: &str = "id, object_type, object_key, roid, op, cl_id, source_ip, \
                              cert_fingerprint, cl_trid, sv_trid, at, before_state, after_state, \
                              chain_seq, chain_hash";
/// `login_audit`'s columns by position: content 0..=7, `chain_seq` 8, `chain_hash` 9.
const AUDIT_COLUMNS: &str =
    "id, at, cl_id, source_ip, fingerprint, outcome, reason, clid_strike, chain_seq, chain_hash";

/// Rows per table and page of the walk (a range of this many positions).
const PAGE: i64 = 20_000;

/// One chained row's address, as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RowId {
    pub table: ChainedTable,
    pub id: i64,
}

impl std::fmt::Display for RowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} row {}", self.table, self.id)
    }
}

/// What one sequencer pass did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SequenceReport {
    /// Rows chained in this pass (all tables).
    pub chained: u64,
    /// The chain's head after the pass: position and hash.
    pub head: (i64, [u8; 32]),
    /// Rows chained now that are dated more than `late_after` before the pass: written straight
    /// into the database rather than by the registry (which chains within seconds).
    pub late: Vec<RowId>,
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
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| StoreError::Backend(format!("chain_hash {s:?} is not 32 bytes of hex")))?;
    Ok(out)
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

/// (row id, position, chain hash) for each newly chained row of one table.
type Links = [(i64, i64, String)];

macro_rules! backend {
    ($m:ident, $db:ty, $pg:literal, $set_links:ident) => {
        pub(crate) mod $m {
            use super::*;
            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;
            type Pool = sqlx::Pool<$db>;

            /// An `object_history` row's id, date and content hash, read by column position
            /// (borrowing its text).
            fn object_content(r: &DbRow) -> StoreResult<(i64, Timestamp, [u8; 32])> {
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
                Ok((e.id, e.at, history::object_row_ref_hash(&e)))
            }

            /// A `login_audit` row's id, date and content hash.
            fn audit_content(r: &DbRow) -> StoreResult<(i64, Timestamp, [u8; 32])> {
                let g = |i: usize| -> StoreResult<&str> { r.try_get(i).map_err(map_err) };
                let e = AuditRowRef {
                    id: r.try_get(0).map_err(map_err)?,
                    at: r.try_get(1).map_err(map_err)?,
                    cl_id: g(2)?,
                    source_ip: g(3)?,
                    fingerprint: r.try_get(4).map_err(map_err)?,
                    outcome: g(5)?,
                    reason: g(6)?,
                    clid_strike: r.try_get(7).map_err(map_err)?,
                };
                Ok((e.id, e.at, history::audit_row_hash(&e)))
            }

            fn content(
                table: ChainedTable,
                r: &DbRow,
            ) -> StoreResult<(i64, Timestamp, [u8; 32])> {
                match table {
                    ChainedTable::Object => object_content(r),
                    ChainedTable::LoginAudit => audit_content(r),
                }
            }

            fn columns(table: ChainedTable) -> &'static str {
                match table {
                    ChainedTable::Object => OBJECT_COLUMNS,
                    ChainedTable::LoginAudit => AUDIT_COLUMNS,
                }
            }

            /// The column position of `chain_seq` (`chain_hash` follows it).
            fn seq_col(table: ChainedTable) -> usize {
                match table {
                    ChainedTable::Object => 13,
                    ChainedTable::LoginAudit => 8,
                }
            }

            pub async fn head(c: &mut Conn) -> StoreResult<(i64, [u8; 32])> {
                let row = sqlx::query(
                    "SELECT chain_seq, chain_hash FROM object_history \
                     WHERE chain_seq = (SELECT MAX(chain_seq) FROM object_history) \
                     UNION ALL \
                     SELECT chain_seq, chain_hash FROM login_audit \
                     WHERE chain_seq = (SELECT MAX(chain_seq) FROM login_audit) \
                     ORDER BY chain_seq DESC LIMIT 1",
                )
                .fetch_optional(&mut *c)
                .await
                .map_err(map_err)?;
                match row {
                    None => Ok((0, history::GENESIS)),
                    Some(r) => {
                        let seq: i64 = r.try_get(0).map_err(map_err)?;
                        let h: Option<String> = r.try_get(1).map_err(map_err)?;
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
                let mut report = SequenceReport::default();
                for table in [ChainedTable::Object, ChainedTable::LoginAudit] {
                    let rows = sqlx::query(&format!(
                        "SELECT {} FROM {} WHERE chain_seq IS NULL ORDER BY id LIMIT $1",
                        columns(table),
                        table.table()
                    ))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if rows.is_empty() {
                        continue;
                    }
                    let mut links = Vec::with_capacity(rows.len());
                    for r in &rows {
                        let (id, at, content) = content(table, r)?;
                        pos += 1;
                        prev = history::chain_hash(&prev, &content);
                        links.push((id, pos, hex::encode(prev)));
                        if at < late_before {
                            report.late.push(RowId { table, id });
                        }
                    }
                    let n = super::$set_links(&mut *tx, table, &links).await?;
                    if n != links.len() as u64 {
                        return Err(StoreError::Conflict("history row chained twice".into()));
                    }
                    report.chained += n;
                }
                report.head = (pos, prev);
                Ok(report)
            }

            /// Chained rows of `table` at positions in `(after, upto]`, in position order.
            async fn page(
                pool: &Pool,
                table: ChainedTable,
                after: i64,
                upto: i64,
            ) -> StoreResult<Vec<DbRow>> {
                let mut c = pool.acquire().await.map_err(map_err)?;
                sqlx::query(&format!(
                    "SELECT {} FROM {} WHERE chain_seq > $1 AND chain_seq <= $2 ORDER BY chain_seq",
                    columns(table),
                    table.table()
                ))
                .bind(after)
                .bind(upto)
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)
            }

            /// The lowest chained position above `after` in any table.
            async fn next_position(pool: &Pool, after: i64) -> StoreResult<Option<i64>> {
                let mut c = pool.acquire().await.map_err(map_err)?;
                sqlx::query_scalar(
                    "SELECT MIN(p) FROM (\
                     SELECT MIN(chain_seq) AS p FROM object_history WHERE chain_seq > $1 \
                     UNION ALL \
                     SELECT MIN(chain_seq) AS p FROM login_audit WHERE chain_seq > $1) AS m",
                )
                .bind(after)
                .fetch_one(&mut *c)
                .await
                .map_err(map_err)
            }

            /// Hashes rows of one table as read.
            fn hashed(table: ChainedTable, rows: &[DbRow]) -> StoreResult<Vec<ChainedRow>> {
                let s = seq_col(table);
                rows.iter()
                    .map(|r| {
                        let (id, _, content_hash) = content(table, r)?;
                        let stored: Option<&str> = r.try_get(s + 1).map_err(map_err)?;
                        Ok(ChainedRow {
                            table,
                            id,
                            position: r.try_get(s).map_err(map_err)?,
                            content_hash,
                            stored_chain_hash: hash_of(stored)?,
                        })
                    })
                    .collect()
            }

            /// One page of both tables, hashed (the object rows, the bulk, on two threads)
            /// and merged into position order.
            fn hash_page(objects: &[DbRow], audit: &[DbRow]) -> StoreResult<Vec<ChainedRow>> {
                let mid = objects.len() / 2;
                let (first, second) = std::thread::scope(|s| {
                    let second = s.spawn(|| hashed(ChainedTable::Object, &objects[mid..]));
                    let first = hashed(ChainedTable::Object, &objects[..mid]);
                    (first, second.join())
                });
                let mut obj = first?;
                obj.extend(second.map_err(|_| StoreError::Backend("hashing thread panicked".into()))??);
                let aud = hashed(ChainedTable::LoginAudit, audit)?;
                if aud.is_empty() {
                    return Ok(obj);
                }
                Ok(super::merge(obj, aud))
            }

            /// Reads the chain page by page (positions `(after, after + PAGE]` of each table)
            /// and sends the pages on, until the chain ends or the receiver goes.
            async fn read(
                pool: Pool,
                tx: tokio::sync::mpsc::Sender<StoreResult<(Vec<DbRow>, Vec<DbRow>)>>,
            ) {
                let mut after = 0;
                loop {
                    let upto = after + PAGE;
                    let both = tokio::try_join!(
                        page(&pool, ChainedTable::Object, after, upto),
                        page(&pool, ChainedTable::LoginAudit, after, upto),
                    );
                    let (objects, audit) = match both {
                        Ok(b) => b,
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    };
                    if objects.is_empty() && audit.is_empty() {
                        // The end, or a gap of a whole page (deleted rows, or a position set
                        // far ahead): jump to the next row, which the walk then names.
                        match next_position(&pool, after).await {
                            Ok(Some(p)) => {
                                after = p - 1;
                                continue;
                            }
                            Ok(None) => return,
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                return;
                            }
                        }
                    }
                    after = upto;
                    if tx.send(Ok((objects, audit))).await.is_err() {
                        return;
                    }
                }
            }

            /// Walks the whole chain: one task reads pages ahead while this one hashes them.
            pub async fn walk(pool: &Pool, walk: &mut ChainWalk) -> StoreResult<Option<ChainBreak>> {
                let (tx, mut rx) = tokio::sync::mpsc::channel(2);
                let reader = tokio::spawn(read(pool.clone(), tx));
                let mut problem = None;
                while let Some(page) = rx.recv().await {
                    let (objects, audit) = page?;
                    let rows = tokio::task::spawn_blocking(move || hash_page(&objects, &audit))
                        .await
                        .map_err(|e| StoreError::Backend(format!("hashing: {e}")))??;
                    if let Some(b) = rows.iter().find_map(|r| walk.push(r).err()) {
                        problem = Some(b);
                        break;
                    }
                }
                drop(rx);
                reader.abort();
                let _ = reader.await;
                Ok(problem)
            }

            /// History rows with an id above `after`, in id order (the order of their writes for
            /// any one object, which row locks serialize).
            pub async fn entries(c: &mut Conn, after: i64, limit: u32) -> StoreResult<Vec<HistoryEntry>> {
                let rows = sqlx::query(&format!(
                    "SELECT {OBJECT_COLUMNS} FROM object_history WHERE id > $1 ORDER BY id LIMIT $2"
                ))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await
                .map_err(map_err)?;
                rows.iter().map(|r| Ok(entry_of!(r))).collect()
            }

            pub async fn unchained(c: &mut Conn) -> StoreResult<u64> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM object_history WHERE chain_seq IS NULL) \
                     + (SELECT COUNT(*) FROM login_audit WHERE chain_seq IS NULL)",
                )
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

/// Two position-ordered runs in one (equal positions both kept: the walk names the second).
fn merge(a: Vec<ChainedRow>, b: Vec<ChainedRow>) -> Vec<ChainedRow> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.position <= y.position,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// SQLite: one UPDATE for the whole pass (the links as one JSON array): the pass runs on the
/// store's single writer, so every statement it saves is one the EPP write path does not wait
/// for. The unary `+` keeps the planner off the `chain_seq` index: driven by it, SQLite loops
/// over the unchained rows and re-reads the whole array for each (quadratic: 600 s for 25 000
/// rows, a third of the writer thread in SQLite's JSON parser under load); driven by the array,
/// each row is one rowid lookup.
async fn set_links_sqlite(
    c: &mut sqlx::SqliteConnection,
    table: ChainedTable,
    links: &Links,
) -> StoreResult<u64> {
    let json = serde_json::to_string(links).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(sqlx::query(&format!(
        "UPDATE {} AS h SET chain_seq = v.seq, chain_hash = v.hash \
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS seq, value ->> 2 AS hash FROM json_each($1)) AS v \
         WHERE h.id = v.id AND +h.chain_seq IS NULL",
        table.table()
    ))
    .bind(json)
    .execute(&mut *c)
    .await
    .map_err(map_err)?
    .rows_affected())
}

/// PostgreSQL: one UPDATE for the whole pass (arrays), one round trip.
async fn set_links_pg(
    c: &mut sqlx::PgConnection,
    table: ChainedTable,
    links: &Links,
) -> StoreResult<u64> {
    let ids: Vec<i64> = links.iter().map(|l| l.0).collect();
    let seqs: Vec<i64> = links.iter().map(|l| l.1).collect();
    let hashes: Vec<&str> = links.iter().map(|l| l.2.as_str()).collect();
    Ok(sqlx::query(&format!(
        "UPDATE {} AS h SET chain_seq = v.seq, chain_hash = v.hash \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[]) AS v(id, seq, hash) \
         WHERE h.id = v.id AND h.chain_seq IS NULL",
        table.table()
    ))
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

/// Chains up to `limit` committed rows of each table; rows dated before `late_before` are
/// reported as late.
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

/// Walks the whole chain, against `checkpoint` if given (its signature must have been checked
/// by the caller). Rows not chained yet are counted, not walked: `registry-admin history
/// verify` runs the sequencer first.
pub async fn verify(db: &Db, checkpoint: Option<&Checkpoint>) -> StoreResult<VerifyReport> {
    let mut walk = ChainWalk::new();
    if let Some(c) = checkpoint {
        walk = walk.with_checkpoint(c).map_err(StoreError::Backend)?;
    }
    let mut problem = match db {
        Db::Sqlite(p) => sq::walk(p, &mut walk).await?,
        Db::Postgres(p) => pg::walk(p, &mut walk).await?,
    };
    if problem.is_none() {
        if let Err(b) = walk.finish() {
            problem = Some(b);
        }
    }
    Ok(VerifyReport {
        rows: walk.rows(),
        head: walk.head(),
        problem,
        unchained: on_db!(db, unchained())?,
    })
}
