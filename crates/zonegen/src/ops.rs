//! One-call operations for other crates and the `zonegen` command line, on the registry
//! database (`registry_store::Db`):
//!
//! - [`write_zone_file`]: one full generation from the database into a master file (what
//!   `eppd demo` calls periodically to keep `DIR/zone.db` current; `zonegen write`).
//! - [`pending_held_batches`] / [`approve_held_batch`]: the safety valve's operator side
//!   (`zonegen held list|approve`, and the admin tool).

use std::io::Write;
use std::path::{Path, PathBuf};

use registry_store::Db;

use crate::master::{write_master_file, write_zone, MasterFileError};
use crate::model::ApexConfig;
use crate::serial::{next_serial, serial_gt, unix_now};
use crate::source::{DelegationSource, Position, SourceError};
use crate::source_db::DbSource;
use crate::store::{HeldBatch, PublisherStore, SqlStore, StoreError};
use crate::zone::zone_contents;

/// [`write_zone_file`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ZoneFileError {
    #[error("reading the registry: {0}")]
    Source(#[from] SourceError),
    #[error("reading the publisher state: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    MasterFile(#[from] MasterFileError),
    #[error("reading the existing zone file: {0}")]
    Io(#[from] std::io::Error),
    #[error("zone generation task failed: {0}")]
    Task(String),
}

/// What [`write_zone_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFileReport {
    pub path: PathBuf,
    /// The journal position the zone corresponds to.
    pub position: Position,
    /// The SOA serial in the file (the existing one when nothing changed).
    pub serial: u32,
    pub delegations: usize,
    /// Data left out of the zone (e.g. an in-zone name server without addresses).
    pub left_out: usize,
    /// False when the file already held exactly this zone (it is then left untouched).
    pub written: bool,
}

/// The SOA serial of a master file written by this crate (second line), if any.
fn serial_in_file(path: &Path) -> std::io::Result<Option<u32>> {
    use std::io::BufRead;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let reader = std::io::BufReader::new(file);
    for line in reader.lines().take(2) {
        let line = line?;
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if let Some(i) = tokens.iter().position(|t| *t == "SOA") {
            return Ok(tokens.get(i + 3).and_then(|s| s.parse().ok()));
        }
    }
    Ok(None)
}

/// A `Write` that only hashes (to compare a rendering with a file without holding either).
struct Hasher(ring::digest::Context);

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn file_digest(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let mut h = Hasher(ring::digest::Context::new(&ring::digest::SHA256));
    std::io::copy(&mut file, &mut h)?;
    Ok(h.0.finish().as_ref().to_vec())
}

/// One full generation of the zone from the registry database into the master file `path`,
/// written atomically (temp file, fsync, rename). If the file already holds exactly this
/// zone it is left alone (`written: false`), so calling this every few seconds costs no
/// churn and no serial bumps. Otherwise the serial is `max(previous + 1, unix time)`, where
/// previous is the larger of the file's serial and the publisher's stored one.
///
/// The database's migrations must have run (`Db::connect` does that). Generation and
/// writing run on tokio's blocking pool.
pub async fn write_zone_file(
    db: &Db,
    apex: &ApexConfig,
    path: &Path,
) -> Result<ZoneFileReport, ZoneFileError> {
    let snap = DbSource::from_db(db).snapshot().await?;
    let stored = SqlStore::from_db(db)
        .load(apex.origin.as_str())
        .await?
        .map(|s| s.serial);
    let apex = apex.clone();
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<ZoneFileReport, ZoneFileError> {
        let (zone, warnings) = zone_contents(&apex, &snap.domains, &snap.hosts);
        let mut report = ZoneFileReport {
            path: path.clone(),
            position: snap.position,
            serial: 0,
            delegations: zone.delegation_count(),
            left_out: warnings.len(),
            written: false,
        };
        let in_file = serial_in_file(&path)?;
        if let Some(serial) = in_file {
            let mut h = Hasher(ring::digest::Context::new(&ring::digest::SHA256));
            write_zone(&zone, serial, &mut h)?;
            if h.0.finish().as_ref() == file_digest(&path)?.as_slice() {
                report.serial = serial;
                return Ok(report);
            }
        }
        let floor = match (in_file, stored) {
            (Some(a), Some(b)) => Some(if serial_gt(a, b) { a } else { b }),
            (a, b) => a.or(b),
        };
        report.serial = next_serial(floor, unix_now());
        write_master_file(&zone, report.serial, &path)?;
        report.written = true;
        Ok(report)
    })
    .await
    .map_err(|e| ZoneFileError::Task(e.to_string()))?
}

/// Held batches waiting for approval: of one zone (its origin without the final dot, e.g.
/// `tld`, as [`crate::DnsName::as_str`] gives it), or of all zones.
pub async fn pending_held_batches(
    db: &Db,
    zone: Option<&str>,
) -> Result<Vec<HeldBatch>, StoreError> {
    let store = SqlStore::from_db(db);
    match zone {
        Some(z) => store.pending_held(z).await,
        None => store.pending_held_all().await,
    }
}

/// The operator's approval of held batch `id`: the publisher then publishes exactly that
/// batch. Refuses an empty or over-long operator name, an unknown id and a batch already
/// approved. Returns the batch as approved.
pub async fn approve_held_batch(db: &Db, id: i64, operator: &str) -> Result<HeldBatch, StoreError> {
    let operator = operator.trim();
    if operator.is_empty() || operator.chars().count() > 64 {
        return Err(StoreError::BadOperator);
    }
    let store = SqlStore::from_db(db);
    store.approve(id, operator).await?;
    store
        .held_by_id(id)
        .await?
        .ok_or(StoreError::NoSuchBatch(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::DnsName;
    use crate::store::HOLD_REASON_VALVE;
    use crate::zone::DiffStats;

    fn n(s: &str) -> DnsName {
        DnsName::new(s).expect("name")
    }

    fn apex() -> ApexConfig {
        ApexConfig {
            origin: n("test"),
            mname: n("ns1.nic.example"),
            rname: n("hostmaster.nic.example"),
            refresh: 1800,
            retry: 900,
            expire: 604_800,
            minimum: 3600,
            ttl: 3600,
            apex_ns: vec![n("ns1.nic.example")],
            apex_glue: Default::default(),
        }
    }

    async fn journal(db: &Db, kind: &str, name: &str, data: &str) {
        let Db::Sqlite(p) = db else {
            panic!("SQLite expected")
        };
        sqlx::query("INSERT INTO zone_journal (at, kind, name, data) VALUES ($1, $2, $3, $4)")
            .bind(chrono::Utc::now())
            .bind(kind)
            .bind(name)
            .bind(data)
            .execute(p)
            .await
            .expect("insert");
    }

    #[tokio::test]
    async fn zone_file_follows_the_database() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite:{}", dir.path().join("registry.db").display());
        let db = Db::connect(&url, 2).await.expect("db");
        let path = dir.path().join("zone.db");

        let r = write_zone_file(&db, &apex(), &path).await.expect("first");
        assert!(r.written);
        assert_eq!((r.delegations, r.position), (0, 0));
        let first = r.serial;

        journal(&db, "host", "ns1.a.test", r#"{"addrs":["192.0.2.1"]}"#).await;
        journal(
            &db,
            "domain",
            "a.test",
            r#"{"in_zone":true,"ns":["ns1.a.test","ns.provider.example"],"ds":[]}"#,
        )
        .await;
        let r = write_zone_file(&db, &apex(), &path).await.expect("second");
        assert!(r.written);
        assert_eq!((r.delegations, r.position), (1, 2));
        assert!(serial_gt(r.serial, first), "serial must grow");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("a.test. 3600 IN NS ns1.a.test."), "{text}");
        assert!(text.contains("ns1.a.test. 3600 IN A 192.0.2.1"), "{text}");
        assert!(text.contains(&format!(
            " SOA ns1.nic.example. hostmaster.nic.example. {} ",
            r.serial
        )));

        // Nothing changed: the file is left alone, same serial.
        let again = write_zone_file(&db, &apex(), &path).await.expect("third");
        assert!(!again.written);
        assert_eq!(again.serial, r.serial);

        // The file equals a fresh generation with its serial.
        let snap = DbSource::from_db(&db).snapshot().await.expect("snapshot");
        let (zone, _) = zone_contents(&apex(), &snap.domains, &snap.hosts);
        let mut fresh = Vec::new();
        write_zone(&zone, r.serial, &mut fresh).expect("render");
        assert_eq!(fresh, text.into_bytes());

        // A domain on hold leaves the zone, and its glue with it.
        journal(
            &db,
            "domain",
            "a.test",
            r#"{"in_zone":false,"ns":["ns1.a.test","ns.provider.example"],"ds":[]}"#,
        )
        .await;
        let r = write_zone_file(&db, &apex(), &path).await.expect("fourth");
        assert!(r.written && r.delegations == 0);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("a.test. 3600 IN NS"), "{text}");
        assert!(!text.contains("192.0.2.1"), "{text}");

        // A serial published by the publisher is a floor.
        let store = SqlStore::from_db(&db);
        let high = r.serial.wrapping_add(1000);
        store
            .save(
                "test",
                crate::store::PublishedState {
                    position: 3,
                    serial: high,
                },
            )
            .await
            .expect("save");
        journal(&db, "host", "ns1.a.test", r#"{"addrs":["192.0.2.9"]}"#).await;
        journal(
            &db,
            "domain",
            "a.test",
            r#"{"in_zone":true,"ns":["ns1.a.test"],"ds":[]}"#,
        )
        .await;
        let r = write_zone_file(&db, &apex(), &path).await.expect("fifth");
        assert!(r.written);
        assert!(serial_gt(r.serial, high));
    }

    #[tokio::test]
    async fn held_batches_list_and_approve() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite:{}", dir.path().join("registry.db").display());
        let db = Db::connect(&url, 2).await.expect("db");
        let store = SqlStore::from_db(&db);
        let stats = DiffStats {
            removed: 20,
            repointed: 0,
            added: 0,
        };
        let h = store
            .hold("test", 5, 40, stats, 100, HOLD_REASON_VALVE)
            .await
            .expect("hold");
        store
            .hold("other", 1, 2, stats, 100, HOLD_REASON_VALVE)
            .await
            .expect("hold");
        assert_eq!(pending_held_batches(&db, None).await.expect("all").len(), 2);
        let mine = pending_held_batches(&db, Some("test")).await.expect("one");
        assert_eq!(mine, vec![h.clone()]);
        assert!(matches!(
            approve_held_batch(&db, h.id, "  ").await,
            Err(StoreError::BadOperator)
        ));
        assert!(matches!(
            approve_held_batch(&db, 999, "alice").await,
            Err(StoreError::NoSuchBatch(999))
        ));
        let approved = approve_held_batch(&db, h.id, "alice")
            .await
            .expect("approve");
        assert_eq!(approved.approved_by.as_deref(), Some("alice"));
        assert!(matches!(
            approve_held_batch(&db, h.id, "bob").await,
            Err(StoreError::AlreadyApproved(_))
        ));
        assert_eq!(pending_held_batches(&db, None).await.expect("all").len(), 1);
    }
}
