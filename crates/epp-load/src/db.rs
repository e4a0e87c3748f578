//! `db-baseline`: the raw insert rate of the database the server uses, measured like the EPP
//! scenarios (same scheduler, same sessions). Each request inserts one row shaped like a domain
//! row, in its own transaction; SQLite runs with WAL and `synchronous=FULL` (durable, as the
//! server must be). The `domain:create` rate divided by this is the ratio to report.
//!
//! The rows go to a table of its own, `epp_load_raw_<run>`, created at the start and dropped at
//! the end, so pointing this at a server's database leaves nothing behind.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::time::Instant;

use crate::run::{Driver, Worker};
use crate::schedule::{Plan, Rate};
use crate::stats::{Outcome, Progress, Report};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("--db must start with sqlite: or postgres:// (got {0:?})")]
    Url(String),
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

impl Pool {
    fn kind(&self) -> &'static str {
        match self {
            Pool::Sqlite(_) => "sqlite",
            Pool::Pg(_) => "postgres",
        }
    }

    async fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            Pool::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop),
            Pool::Pg(p) => sqlx::query(sql).execute(p).await.map(drop),
        }
    }

    async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Pg(p) => p.close().await,
        }
    }
}

/// The columns of a domain row (name, repository id, registrant, sponsor, creator, dates,
/// authInfo, statuses) and an index on the sponsor, as a registry's domain table has.
fn create_table_sql(table: &str) -> String {
    format!(
        "CREATE TABLE {table} (
            name       TEXT PRIMARY KEY NOT NULL,
            roid       TEXT NOT NULL UNIQUE,
            registrant TEXT,
            cl_id      TEXT NOT NULL,
            cr_id      TEXT NOT NULL,
            cr_date    TEXT NOT NULL,
            up_date    TEXT,
            ex_date    TEXT NOT NULL,
            auth_info  TEXT,
            statuses   TEXT NOT NULL
        )"
    )
}

fn insert_sql(table: &str, pg: bool) -> String {
    let p: Vec<String> = (1..=8)
        .map(|i| if pg { format!("${i}") } else { format!("?{i}") })
        .collect();
    format!(
        "INSERT INTO {table} (name, roid, registrant, cl_id, cr_id, cr_date, ex_date, auth_info, statuses) \
         VALUES ({}, {}, {}, {}, {}, {}, {}, {}, 'ok')",
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
    )
}

#[derive(Debug)]
struct DbWorker {
    pool: Pool,
    sql: Arc<str>,
    run: Arc<str>,
    cr_date: Arc<str>,
    ex_date: Arc<str>,
    name: String,
    roid: String,
}

impl DbWorker {
    async fn insert(&self) -> Result<(), sqlx::Error> {
        macro_rules! insert {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await?;
                sqlx::query(&self.sql)
                    .bind(&self.name)
                    .bind(&self.roid)
                    .bind("ldcontact")
                    .bind("registrar1")
                    .bind("registrar1")
                    .bind(&*self.cr_date)
                    .bind(&*self.ex_date)
                    .bind(crate::frames::LOAD_AUTH_INFO)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }};
        }
        match &self.pool {
            Pool::Sqlite(p) => insert!(p),
            Pool::Pg(p) => insert!(p),
        }
    }
}

impl Worker for DbWorker {
    fn prepare(&mut self, n: u64) -> &'static str {
        self.name = format!("load-{}-{n}.test", self.run);
        self.roid = format!("{n}_LOAD-{}", self.run.to_ascii_uppercase());
        "insert"
    }

    async fn call(&mut self) -> Outcome {
        match self.insert().await {
            Ok(()) => Outcome::Ok,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Outcome::Failed("unique-violation")
            }
            Err(sqlx::Error::PoolTimedOut) => Outcome::Failed("pool-timeout"),
            Err(_) => Outcome::Failed("db"),
        }
    }

    fn alive(&self) -> bool {
        true
    }

    async fn finish(self) {}
}

/// Settings of a db-baseline run.
#[derive(Debug, Clone)]
pub struct DbRun {
    pub url: String,
    /// Pool size; `None`: 1 for SQLite (one writer, as SQLite allows), `sessions` for PostgreSQL.
    pub connections: Option<u32>,
    pub run_id: String,
    pub sessions: u32,
    pub warmup: Duration,
    pub duration: Duration,
    pub rate: Rate,
    pub count: Option<u64>,
    pub request_timeout: Duration,
    pub max_time: Duration,
    pub quiet: bool,
}

/// A timestamp in the fixed-width UTC form the store uses.
fn stamp(offset_years: i32) -> String {
    let now = chrono::Utc::now();
    let t = now
        .checked_add_months(chrono::Months::new(12 * offset_years.unsigned_abs()))
        .unwrap_or(now);
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

async fn connect(run: &DbRun) -> Result<Pool, DbError> {
    let url = run.url.as_str();
    let timeout = run.request_timeout.max(Duration::from_secs(5));
    if url.starts_with("sqlite:") {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(timeout);
        let n = run.connections.unwrap_or(1).max(1);
        let pool = SqlitePoolOptions::new()
            .max_connections(n)
            .min_connections(n)
            .acquire_timeout(timeout)
            .connect_with(opts)
            .await?;
        Ok(Pool::Sqlite(pool))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let n = run.connections.unwrap_or(run.sessions).max(1);
        let pool = PgPoolOptions::new()
            .max_connections(n)
            .min_connections(n)
            .acquire_timeout(timeout)
            .connect(url)
            .await?;
        Ok(Pool::Pg(pool))
    } else {
        Err(DbError::Url(url.chars().take(40).collect()))
    }
}

/// Creates the table, runs the plan, drops the table.
pub async fn run_db(run: DbRun) -> Result<Report, DbError> {
    let pool = connect(&run).await?;
    let table = format!("epp_load_raw_{}", run.run_id.to_ascii_lowercase());
    pool.execute(&create_table_sql(&table)).await?;
    pool.execute(&format!("CREATE INDEX {table}_cl_id ON {table} (cl_id)"))
        .await?;
    let sql: Arc<str> = insert_sql(&table, matches!(pool, Pool::Pg(_))).into();
    let (run_id, cr_date, ex_date): (Arc<str>, Arc<str>, Arc<str>) =
        (run.run_id.as_str().into(), stamp(0).into(), stamp(1).into());
    let workers: Vec<DbWorker> = (0..run.sessions)
        .map(|_| DbWorker {
            pool: pool.clone(),
            sql: Arc::clone(&sql),
            run: Arc::clone(&run_id),
            cr_date: Arc::clone(&cr_date),
            ex_date: Arc::clone(&ex_date),
            name: String::new(),
            roid: String::new(),
        })
        .collect();
    let plan = Plan {
        start: Instant::now() + Duration::from_millis(20),
        warmup: run.warmup,
        duration: run.duration,
        rate: run.rate,
        sessions: run.sessions,
        count: run.count,
    };
    let progress = Arc::new(Progress::default());
    let driver = Arc::new(Driver {
        plan,
        request_timeout: run.request_timeout,
        max_time: run.max_time,
        progress: Arc::clone(&progress),
    });
    if !run.quiet {
        progress.spawn_printer("db".into(), plan.start, plan.warmup, run.max_time);
    }
    let result = driver.run_all(workers).await;
    progress
        .stop
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let dropped = pool.execute(&format!("DROP TABLE {table}")).await;
    let kind = pool.kind();
    pool.close().await;
    let mut report = result.into_report("db-baseline", &plan);
    report.info.insert("database".into(), kind.into());
    report.info.insert(
        "pool_connections".into(),
        match kind {
            "sqlite" => run.connections.unwrap_or(1),
            _ => run.connections.unwrap_or(run.sessions),
        }
        .max(1)
        .into(),
    );
    if kind == "sqlite" {
        report
            .info
            .insert("sqlite".into(), "journal_mode=WAL, synchronous=FULL".into());
    }
    report.info.insert("rows_per_transaction".into(), 1.into());
    if let Err(e) = dropped {
        report
            .info
            .insert("cleanup_error".into(), e.to_string().into());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_placeholders_per_backend() {
        let s = insert_sql("t", false);
        assert!(s.contains("?1") && s.contains("?8") && !s.contains('$'));
        let p = insert_sql("t", true);
        assert!(p.contains("$1") && p.contains("$8") && !p.contains('?'));
    }

    #[tokio::test]
    async fn sqlite_baseline_inserts_rows() {
        let dir = std::env::temp_dir().join(format!("epp-load-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = DbRun {
            url: format!("sqlite://{}", dir.join("raw.db").display()),
            connections: None,
            run_id: "t1".into(),
            sessions: 2,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(30),
            rate: Rate::Max,
            count: Some(20),
            request_timeout: Duration::from_secs(10),
            max_time: Duration::from_secs(60),
            quiet: true,
        };
        let r = run_db(run).await.unwrap();
        assert_eq!(r.total.answered, 20, "{}", r.to_text());
        assert_eq!(r.total.errors, 0);
        assert_eq!(r.info["database"], "sqlite");
        assert!(!r.info.contains_key("cleanup_error"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn refuses_other_urls() {
        let run = DbRun {
            url: "mysql://x".into(),
            connections: None,
            run_id: "t2".into(),
            sessions: 1,
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            rate: Rate::Max,
            count: Some(1),
            request_timeout: Duration::from_secs(1),
            max_time: Duration::from_secs(2),
            quiet: true,
        };
        assert!(matches!(run_db(run).await, Err(DbError::Url(_))));
    }
}
