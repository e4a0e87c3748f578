//! Unit-test support: a fresh PostgreSQL database through the project's `EPP_TEST_PG_URL`.
#![allow(clippy::expect_used)]

use sqlx::Connection;

/// A migrated PostgreSQL database of its own, dropped by [`PgTestDb::remove`].
#[derive(Debug)]
pub struct PgTestDb {
    pub db: registry_store::Db,
    admin_url: String,
    name: String,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl PgTestDb {
    /// `None` when `EPP_TEST_PG_URL` is unset (a failure when `CI=true`).
    pub async fn create() -> Option<PgTestDb> {
        let admin_url = match std::env::var("EPP_TEST_PG_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but EPP_TEST_PG_URL is not set: the PostgreSQL test must run in CI"
                );
                eprintln!("SKIP: EPP_TEST_PG_URL not set");
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
        let name = format!("zonegen_t_{}_{nanos}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("EPP_TEST_PG_URL unreachable");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await.ok();
        let db = registry_store::Db::connect(&with_database(&admin_url, &name), 4)
            .await
            .expect("migrated PostgreSQL");
        Some(PgTestDb {
            db,
            admin_url,
            name,
        })
    }

    pub async fn remove(self) {
        self.db.close().await;
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("admin connection");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .expect("DROP DATABASE");
        admin.close().await.ok();
    }
}
