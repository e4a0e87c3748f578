//! Opening a database and bringing its schema up to date.
//!
//! The backend is chosen by the URL's scheme: `sqlite:` (file, created if missing, WAL,
//! `synchronous=FULL` so an acknowledged commit survives power loss) or `postgres:`. On SQLite
//! the pool serves reads (and the writes of the registrar and lock modules); the object
//! store's write transactions run on a writer connection of their own
//! ([`crate::group_commit`]).

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data that cannot be read back (a hand-edited database, or a bug).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static PG_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// sqlx's default wait for a pooled connection.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection pool to one of the two supported backends.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects and runs the embedded migrations of the backend, waiting at most
    /// [`DEFAULT_ACQUIRE_TIMEOUT`] for a pooled connection.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        Self::connect_bounded(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Db::connect`] with the longest wait for a pooled connection (opening one included):
    /// past it an operation fails at once instead of queueing behind a database that is slow
    /// or gone.
    pub async fn connect_bounded(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, DbError> {
        let db = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // No ping before handing out a connection: a local file does not go stale the way
            // a network connection does, and each ping is a round trip to the connection's
            // worker thread — as much as a one-row query, on every `<check>`.
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(acquire_timeout)
                .test_before_acquire(false)
                .connect_with(opts)
                .await?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(acquire_timeout)
                .connect(url)
                .await?;
            // The frontends' least-privilege roles (migration 0016) may not create or write
            // `_sqlx_migrations`, so the migrator, which always does, runs only when the
            // schema is behind; then it needs the owner (`registry-admin migrate`).
            if !pg_schema_current(&pool).await {
                PG_MIGRATIONS.run(&pool).await?;
            }
            Db::Postgres(pool)
        } else {
            return Err(DbError::UnsupportedUrl(url.to_owned()));
        };
        // Migration 0023's second half, which SQL cannot do (see the module).
        crate::secure_auth::hash_plaintext(&db).await?;
        Ok(db)
    }

    /// The migrations applied to this database, oldest first: version and description.
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, DbError> {
        const Q: &str =
            "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
        Ok(match self {
            Db::Sqlite(p) => sqlx::query_as(Q).fetch_all(p).await?,
            Db::Postgres(p) => sqlx::query_as(Q).fetch_all(p).await?,
        })
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// Whether every migration of this build is already applied (successfully) to the database.
async fn pg_schema_current(pool: &PgPool) -> bool {
    let applied: Result<Vec<i64>, _> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await;
    match applied {
        Ok(v) => PG_MIGRATIONS.iter().all(|m| v.contains(&m.version)),
        Err(_) => false,
    }
}
