//! [`DelegationSource`] over registry-store's `zone_journal` table (read-only).
//!
//! Each journal row holds the whole zone-relevant state of one object after a change
//! (`kind` = `domain`: `{"in_zone":bool,"ns":[…],"ds":[{key_tag,alg,digest_type,digest}]}`;
//! `kind` = `host`: `{"addrs":[…]}`), and ids grow in commit order. So the latest row per
//! (kind, name) *is* the current state: the snapshot folds the journal in one read
//! transaction, and `changes_since` reads rows after a position. This relies on the journal
//! never losing the latest row of a name (compaction must keep it). The row's commit time
//! (`at`, written by the core) feeds the publisher's lag metric.

use std::net::IpAddr;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgPool, SqlitePool};

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
    SourceError::Invalid(format!("zone_journal id {id}: {what}"))
}

/// Turns one journal row into a [`Change`].
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

/// The registry database's journal as a delegation source.
#[derive(Debug, Clone)]
pub enum DbSource {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

type Row = (i64, String, String, String);

const LATEST: &str = "SELECT id, kind, name, data FROM zone_journal
     WHERE id IN (SELECT MAX(id) FROM zone_journal GROUP BY kind, name) ORDER BY id";
const SINCE: &str =
    "SELECT id, at, kind, name, data FROM zone_journal WHERE id > $1 ORDER BY id LIMIT $2";
const HEAD: &str = "SELECT COALESCE(MAX(id), 0) FROM zone_journal";

fn fold(position: Position, rows: Vec<Row>) -> Result<Snapshot, SourceError> {
    let mut domains = Vec::new();
    let mut hosts = HostAddrs::new();
    for (id, kind, name, data) in rows {
        if id > position {
            continue;
        }
        match parse_row(id, &kind, &name, &data)? {
            Change::Domain(d) => domains.push(d),
            Change::Host { name, addrs } => {
                hosts.insert(name, addrs);
            }
            Change::DomainDeleted(_) | Change::HostDeleted(_) => {}
        }
    }
    Ok(Snapshot {
        position,
        domains,
        hosts,
    })
}

impl DbSource {
    /// The source on the registry database.
    pub fn from_db(db: &registry_store::Db) -> Self {
        match db {
            registry_store::Db::Sqlite(p) => DbSource::Sqlite(p.clone()),
            registry_store::Db::Postgres(p) => DbSource::Postgres(p.clone()),
        }
    }
}

type TimedRow = (i64, DateTime<Utc>, String, String, String);

impl DelegationSource for DbSource {
    async fn snapshot(&self) -> Result<Snapshot, SourceError> {
        let (position, rows): (i64, Vec<Row>) = match self {
            DbSource::Sqlite(p) => {
                let mut tx = p.begin().await?;
                let (head,): (i64,) = sqlx::query_as(HEAD).fetch_one(&mut *tx).await?;
                let rows = sqlx::query_as(LATEST).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                (head, rows)
            }
            DbSource::Postgres(p) => {
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
        fold(position, rows)
    }

    async fn changes_since(
        &self,
        position: Position,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, SourceError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<TimedRow> = match self {
            DbSource::Sqlite(p) => {
                sqlx::query_as(SINCE)
                    .bind(position)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
            DbSource::Postgres(p) => {
                sqlx::query_as(SINCE)
                    .bind(position)
                    .bind(limit)
                    .fetch_all(p)
                    .await?
            }
        };
        rows.into_iter()
            .map(|(id, at, kind, name, data)| {
                Ok(JournalEntry {
                    position: id,
                    change: parse_row(id, &kind, &name, &data)?,
                    recorded_at: Some(SystemTime::from(at)),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn refuses_bad_rows() {
        assert!(parse_row(9, "domain", "x.tld", "{").is_err());
        assert!(parse_row(9, "zone", "x.tld", "{}").is_err());
        assert!(parse_row(9, "domain", "x.tld", r#"{"in_zone":true,"ns":["a..b"]}"#).is_err());
    }
}
