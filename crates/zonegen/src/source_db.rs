//! [`DelegationSource`] over registry-store's `zone_journal` table (read-only).
//!
//! Each journal row holds the whole zone-relevant state of one object after a change
//! (`kind` = `domain`: `{"in_zone":bool,"ns":[…],"ds":[{key_tag,alg,digest_type,digest}]}`;
//! `kind` = `host`: `{"addrs":[…]}`), and ids grow in commit order. So the latest row per
//! (kind, name) *is* the current state: the snapshot folds the journal in one read
//! transaction, and `changes_since` reads rows after a position. This relies on the journal
//! never losing the latest row of a name (compaction must keep it).

use std::net::IpAddr;

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
    "SELECT id, kind, name, data FROM zone_journal WHERE id > $1 ORDER BY id LIMIT $2";
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
        let rows: Vec<Row> = match self {
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
            .map(|(id, kind, name, data)| {
                Ok(JournalEntry {
                    position: id,
                    change: parse_row(id, &kind, &name, &data)?,
                    recorded_at: None,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn folds_the_journal() {
        let pool = SqlitePool::connect("sqlite::memory:")
            .await
            .expect("sqlite");
        sqlx::query(
            "CREATE TABLE zone_journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
             kind TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL)",
        )
        .execute(&pool)
        .await
        .expect("create");
        let rows = [
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
        for (kind, name, data) in rows {
            sqlx::query("INSERT INTO zone_journal (at, kind, name, data) VALUES ('t', $1, $2, $3)")
                .bind(kind)
                .bind(name)
                .bind(data)
                .execute(&pool)
                .await
                .expect("insert");
        }
        let src = DbSource::Sqlite(pool);
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
        assert!(parse_row(9, "domain", "x.tld", "{").is_err());
        assert!(parse_row(9, "zone", "x.tld", "{}").is_err());
    }
}
