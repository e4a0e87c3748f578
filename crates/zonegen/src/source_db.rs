//! [`DelegationSource`] over registry-store's `zone_journal` table.
//!
//! Each journal row holds the whole zone-relevant state of one object after a change
//! (`kind` = `domain`: `{"in_zone":bool,"ns":[…],"ds":[{key_tag,alg,digest_type,digest}]}`;
//! `kind` = `host`: `{"addrs":[…]}`). A row's position is its `seq`, which the store's
//! sequencer assigns once the row is committed (see the README, "Journal positions"):
//! positions never change and never appear below one a reader has seen, and the entries of
//! one object are numbered in the order they were committed. So the latest numbered row per
//! (kind, name) *is* the object's state at the head position: the snapshot folds those in
//! one read transaction, then takes the entries numbered after it (`changes_since`, through
//! `registry_core::Store::journal_since`, which runs the sequencer first) so that it also
//! holds what was committed but not numbered yet. This relies on the journal never losing
//! the latest row of a name (compaction must keep it). The row's time (`at`, written by the
//! core) feeds the publisher's lag metric.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::SystemTime;

use registry_core::Store as _;
use registry_store::{Db, SqlStore};
use serde::Deserialize;

use crate::model::{DomainDelegationState, Ds, HostAddrs};
use crate::name::DnsName;
use crate::source::{DelegationSource, JournalEntry, Position, Snapshot, SourceError};
use crate::zone::Change;

#[derive(Debug, Deserialize)]
struct DsJson {
    key_tag: u16,
    alg: u8,
    digest_type: u8,
    digest: String,
}

#[derive(Debug, Deserialize)]
struct DomainJson {
    in_zone: bool,
    #[serde(default)]
    ns: Vec<String>,
    #[serde(default)]
    ds: Vec<DsJson>,
}

#[derive(Debug, Deserialize)]
struct HostJson {
    #[serde(default)]
    addrs: Vec<IpAddr>,
}

fn invalid(id: i64, what: impl std::fmt::Display) -> SourceError {
    SourceError::Invalid(format!("zone_journal position {id}: {what}"))
}

/// Turns one journal row (at position `id`) into a [`Change`].
pub fn parse_row(id: i64, kind: &str, name: &str, data: &str) -> Result<Change, SourceError> {
    let dname = DnsName::new(name).map_err(|e| invalid(id, e))?;
    match kind {
        "domain" => {
            let d: DomainJson = serde_json::from_str(data).map_err(|e| invalid(id, e))?;
            let ns =
                d.ns.iter()
                    .map(|n| DnsName::new(n))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(id, e))?;
            let ds =
                d.ds.iter()
                    .map(|r| Ds::from_hex(r.key_tag, r.alg, r.digest_type, &r.digest))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(id, e))?;
            Ok(Change::Domain(DomainDelegationState {
                name: dname,
                ns,
                ds,
                // The core folds hold, pendingDelete and redemption into `in_zone`.
                on_hold: !d.in_zone,
                in_redemption_or_pending_delete: false,
            }))
        }
        "host" => {
            let h: HostJson = serde_json::from_str(data).map_err(|e| invalid(id, e))?;
            Ok(Change::Host {
                name: dname,
                addrs: h.addrs,
            })
        }
        other => Err(invalid(id, format!("unknown kind {other:?}"))),
    }
}

/// Turns one of the core's journal entries (at `position`) into a [`Change`].
pub fn from_core(
    position: i64,
    z: &registry_core::model::ZoneChange,
) -> Result<Change, SourceError> {
    use registry_core::model::ZoneChange as Z;
    let dname = DnsName::new(z.name()).map_err(|e| invalid(position, e))?;
    match z {
        Z::Domain { delegation: d, .. } => {
            let ns =
                d.ns.iter()
                    .map(|n| DnsName::new(n))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(position, e))?;
            let ds =
                d.ds.iter()
                    .map(|r| Ds::from_hex(r.key_tag, r.alg, r.digest_type, &r.digest))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(position, e))?;
            Ok(Change::Domain(DomainDelegationState {
                name: dname,
                ns,
                ds,
                // The core folds hold, pendingDelete and redemption into `in_zone`.
                on_hold: !d.in_zone,
                in_redemption_or_pending_delete: false,
            }))
        }
        Z::Host { addrs, .. } => Ok(Change::Host {
            name: dname,
            addrs: addrs.clone(),
        }),
    }
}

/// The registry database's journal as a delegation source.
#[derive(Debug, Clone)]
pub struct DbSource {
    store: SqlStore,
}

type Row = (i64, String, String, String);

/// The latest numbered row of each object. Per object, position order is commit order.
const LATEST: &str = "SELECT seq, kind, name, data FROM zone_journal
     WHERE seq IN (SELECT MAX(seq) FROM zone_journal GROUP BY kind, name) ORDER BY seq";
const HEAD: &str = "SELECT COALESCE(MAX(seq), 0) FROM zone_journal";
/// The latest row of each object at or below a position: the data as it was there. Positions
/// are final and new ones are only given above the head, so this never changes once the
/// position has been read.
const LATEST_AT: &str = "SELECT seq, kind, name, data FROM zone_journal
     WHERE seq IN (SELECT MAX(seq) FROM zone_journal WHERE seq <= $1 GROUP BY kind, name)
     ORDER BY seq";
/// Page size for the snapshot's tail (entries numbered after its read transaction).
const TAIL_PAGE: usize = 10_000;

/// The delegation data as of some position, by name.
#[derive(Default)]
struct Fold {
    position: Position,
    domains: BTreeMap<DnsName, DomainDelegationState>,
    hosts: HostAddrs,
}

impl Fold {
    fn apply(&mut self, position: Position, change: Change) {
        self.position = self.position.max(position);
        match change {
            Change::Domain(d) => {
                self.domains.insert(d.name.clone(), d);
            }
            Change::DomainDeleted(n) => {
                self.domains.remove(&n);
            }
            Change::Host { name, addrs } => {
                self.hosts.insert(name, addrs);
            }
            Change::HostDeleted(n) => {
                self.hosts.remove(&n);
            }
        }
    }

    fn into_snapshot(self) -> Snapshot {
        Snapshot {
            position: self.position,
            domains: self.domains.into_values().collect(),
            hosts: self.hosts,
        }
    }
}

fn fold(position: Position, rows: Vec<Row>) -> Result<Fold, SourceError> {
    let mut f = Fold {
        position,
        ..Fold::default()
    };
    for (seq, kind, name, data) in rows {
        if seq > position {
            continue;
        }
        f.apply(seq, parse_row(seq, &kind, &name, &data)?);
    }
    Ok(f)
}

impl DbSource {
    /// The source on the registry database.
    pub fn from_db(db: &Db) -> Self {
        DbSource {
            store: SqlStore::new(db.clone()),
        }
    }
}

impl DelegationSource for DbSource {
    async fn snapshot(&self) -> Result<Snapshot, SourceError> {
        // Everything numbered so far, in one consistent read.
        let (position, rows): (i64, Vec<Row>) = match self.store.db() {
            Db::Sqlite(p) => {
                let mut tx = p.begin().await?;
                let (head,): (i64,) = sqlx::query_as(HEAD).fetch_one(&mut *tx).await?;
                let rows = sqlx::query_as(LATEST).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                (head, rows)
            }
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                let (head,): (i64,) = sqlx::query_as(HEAD).fetch_one(&mut *tx).await?;
                let rows = sqlx::query_as(LATEST).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                (head, rows)
            }
        };
        let mut f = fold(position, rows)?;
        // Then what was committed but not numbered yet (numbered now, after `position`), so a
        // one-shot generation is current even when no publisher runs the sequencer. Positions
        // are final once given, so the state at the last one is the fold of all up to it. A
        // short page means we caught up: stop there even if writers keep going.
        loop {
            let tail = self.changes_since(f.position, TAIL_PAGE).await?;
            let n = tail.len();
            for e in tail {
                f.apply(e.position, e.change);
            }
            if n < TAIL_PAGE {
                break;
            }
        }
        Ok(f.into_snapshot())
    }

    /// Relies on the journal keeping, for every object, its latest row at or below the
    /// publisher's stored position (a compaction must keep those, as it keeps each object's
    /// latest row for the snapshot).
    async fn snapshot_at(&self, position: Position) -> Result<Option<Snapshot>, SourceError> {
        let (head, rows): (i64, Vec<Row>) = match self.store.db() {
            Db::Sqlite(p) => {
                let mut tx = p.begin().await?;
                let (head,): (i64,) = sqlx::query_as(HEAD).fetch_one(&mut *tx).await?;
                let rows = sqlx::query_as(LATEST_AT)
                    .bind(position)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                (head, rows)
            }
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *tx)
                    .await?;
                let (head,): (i64,) = sqlx::query_as(HEAD).fetch_one(&mut *tx).await?;
                let rows = sqlx::query_as(LATEST_AT)
                    .bind(position)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                (head, rows)
            }
        };
        // A stored position beyond the journal's head means the journal lost entries (a
        // restore from backup): what the primary serves is not derivable from it.
        if position < 0 || position > head {
            return Ok(None);
        }
        Ok(Some(fold(position, rows)?.into_snapshot()))
    }

    async fn changes_since(
        &self,
        position: Position,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, SourceError> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let rows = self.store.journal_since(position, limit).await?;
        rows.into_iter()
            .map(|j| {
                Ok(JournalEntry {
                    position: j.position,
                    change: from_core(j.position, &j.change)?,
                    recorded_at: Some(SystemTime::from(j.at)),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    const ROWS: [(&str, &str, &str); 3] = [
        ("host", "ns1.a.tld", r#"{"addrs":["192.0.2.1"]}"#),
        (
            "domain",
            "a.tld",
            r#"{"in_zone":true,"ns":["ns1.a.tld"],"ds":[]}"#,
        ),
        (
            "domain",
            "a.tld",
            r#"{"in_zone":false,"ns":["ns1.a.tld"],"ds":[{"key_tag":1,"alg":13,"digest_type":2,"digest":"ABCD"}]}"#,
        ),
    ];

    /// Fills the migrated journal as the core does and reads it back.
    async fn battery(db: &registry_store::Db) {
        let at = DateTime::parse_from_rfc3339("2025-03-01T12:00:00.250Z")
            .expect("time")
            .to_utc();
        let insert = "INSERT INTO zone_journal (at, kind, name, data) VALUES ($1, $2, $3, $4)";
        for (kind, name, data) in ROWS {
            let affected = match db {
                registry_store::Db::Sqlite(p) => sqlx::query(insert)
                    .bind(at)
                    .bind(kind)
                    .bind(name)
                    .bind(data)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected()),
                registry_store::Db::Postgres(p) => sqlx::query(insert)
                    .bind(at)
                    .bind(kind)
                    .bind(name)
                    .bind(data)
                    .execute(p)
                    .await
                    .map(|r| r.rows_affected()),
            };
            assert_eq!(affected.expect("insert"), 1);
        }
        let src = DbSource::from_db(db);
        let snap = src.snapshot().await.expect("snapshot");
        assert_eq!(snap.position, 3);
        assert_eq!(snap.domains.len(), 1);
        assert!(snap.domains[0].on_hold);
        assert_eq!(snap.domains[0].ds.len(), 1);
        assert_eq!(snap.hosts.len(), 1);
        let since = src.changes_since(1, 10).await.expect("since");
        assert_eq!(
            since.iter().map(|e| e.position).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(
            since[0].recorded_at,
            Some(SystemTime::from(at)),
            "the journal's commit time feeds the lag metric"
        );
        assert_eq!(src.changes_since(1, 1).await.expect("limit").len(), 1);
        // Back in time: at 2 the domain was still delegated and unsigned.
        let at2 = src.snapshot_at(2).await.expect("at").expect("known");
        assert_eq!(at2.position, 2);
        assert_eq!(at2.domains.len(), 1);
        assert!(!at2.domains[0].on_hold);
        assert!(at2.domains[0].ds.is_empty());
        assert_eq!(at2.hosts.len(), 1);
        let at1 = src.snapshot_at(1).await.expect("at").expect("known");
        assert!(at1.domains.is_empty());
        assert_eq!(at1.hosts.len(), 1);
        let at3 = src.snapshot_at(3).await.expect("at").expect("known");
        assert!(at3.domains[0].on_hold);
        assert!(
            src.snapshot_at(4).await.expect("at").is_none(),
            "a position beyond the head (journal restored from a backup) is not trusted"
        );
    }

    #[tokio::test]
    async fn folds_the_journal_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("registry.db").display());
        let db = registry_store::Db::connect(&url, 2).await.expect("db");
        battery(&db).await;
    }

    #[tokio::test]
    async fn folds_the_journal_postgres() {
        let Some(pg) = crate::testing::PgTestDb::create().await else {
            return;
        };
        battery(&pg.db).await;
        pg.remove().await;
    }

    /// An entry that commits after a later-written one is neither skipped nor reordered: the
    /// snapshot taken while it is open does not hold it, and the next read delivers it.
    #[tokio::test]
    async fn late_commit_is_delivered_postgres() {
        let Some(pg) = crate::testing::PgTestDb::create().await else {
            return;
        };
        let registry_store::Db::Postgres(p) = &pg.db else {
            unreachable!("a PostgreSQL test database")
        };
        let insert = "INSERT INTO zone_journal (at, kind, name, data) VALUES (now(), $1, $2, $3)";
        let mut a = p.begin().await.expect("begin");
        sqlx::query(insert)
            .bind("host")
            .bind("ns1.a.tld")
            .bind(r#"{"addrs":["192.0.2.1"]}"#)
            .execute(&mut *a)
            .await
            .expect("insert A");
        sqlx::query(insert)
            .bind("domain")
            .bind("b.tld")
            .bind(r#"{"in_zone":true,"ns":["ns.b.example"],"ds":[]}"#)
            .execute(p)
            .await
            .expect("insert B");

        let src = DbSource::from_db(&pg.db);
        let snap = src.snapshot().await.expect("snapshot");
        assert_eq!(snap.position, 1);
        assert_eq!(snap.domains.len(), 1);
        assert!(snap.hosts.is_empty(), "A is not committed yet");
        assert!(src.changes_since(1, 10).await.expect("since").is_empty());

        a.commit().await.expect("commit A");
        let next = src.changes_since(snap.position, 10).await.expect("since");
        assert_eq!(next.iter().map(|e| e.position).collect::<Vec<_>>(), vec![2]);
        let a_host = DnsName::new("ns1.a.tld").expect("name");
        assert!(matches!(&next[0].change, Change::Host { name, .. } if *name == a_host));
        let snap = src.snapshot().await.expect("snapshot");
        assert_eq!((snap.position, snap.hosts.len()), (2, 1));
        pg.remove().await;
    }

    #[test]
    fn refuses_bad_rows() {
        assert!(parse_row(9, "domain", "x.tld", "{").is_err());
        assert!(parse_row(9, "zone", "x.tld", "{}").is_err());
        assert!(parse_row(9, "domain", "x.tld", r#"{"in_zone":true,"ns":["a..b"]}"#).is_err());
    }
}
