//! Both backends' migrations produce the same logical schema: the same tables with the same
//! column names. Needs PostgreSQL (`EPP_TEST_PG_URL`); skipped without it unless `CI=true`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use registry_store::Db;
use sqlx::Row;

async fn columns(db: &Db) -> BTreeSet<(String, String)> {
    let rows: Vec<(String, String)> = match db {
        Db::Sqlite(p) => sqlx::query(
            "SELECT m.name AS t, c.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(p)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("t"), r.get("c")))
        .collect(),
        Db::Postgres(p) => sqlx::query("SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = 'public'")
            .fetch_all(p)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("t"), r.get("c")))
            .collect(),
    };
    rows.into_iter()
        .filter(|(t, _)| t != "_sqlx_migrations")
        .collect()
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(pg) = common::pg_env().await else {
        return;
    };
    let sq = common::sqlite_env().await;
    let (a, b) = (columns(&sq.db).await, columns(&pg.db).await);
    assert!(a.contains(&("domain".to_owned(), "data".to_owned())));
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_sqlite:?}; only in PostgreSQL: {only_pg:?}"
    );
    sq.finish().await;
    pg.finish().await;
}
