//! Both backends' migrations produce the same logical schema: the same tables with the same
//! columns, of the same (normalised) types and nullability. Needs PostgreSQL
//! (`EPP_TEST_PG_URL`); skipped without it unless `CI=true`.
//!
//! Type classes: `text` (TEXT, VARCHAR, CHARACTER VARYING), `integer` (INTEGER, BIGINT,
//! SMALLINT, INT), `timestamp` (PostgreSQL TIMESTAMP[TZ]). SQLite has no timestamp type: a
//! PostgreSQL timestamp column must be TEXT on SQLite (fixed-width UTC text, see the 0001 and
//! 0002 migrations), so `timestamp` on PostgreSQL matches `text` on SQLite and nothing else.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use registry_store::Db;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Col {
    class: &'static str,
    not_null: bool,
    raw: String,
}

fn class(raw: &str) -> &'static str {
    let t = raw.to_ascii_lowercase();
    if t.starts_with("timestamp") {
        "timestamp"
    } else if t == "text" || t.starts_with("varchar") || t.starts_with("character varying") {
        "text"
    } else if matches!(
        t.as_str(),
        "integer" | "bigint" | "smallint" | "int" | "int4" | "int8"
    ) {
        "integer"
    } else if t == "boolean" || t == "bool" {
        "boolean"
    } else {
        "other"
    }
}

async fn columns(db: &Db) -> BTreeMap<(String, String), Col> {
    let rows: Vec<(String, String, String, bool)> = match db {
        Db::Sqlite(p) => sqlx::query(
            "SELECT m.name AS t, c.name AS c, c.type AS ty, c.\"notnull\" AS nn, c.pk AS pk \
             FROM sqlite_master m JOIN pragma_table_info(m.name) c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(p)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let nn: i64 = r.get("nn");
            let pk: i64 = r.get("pk");
            // A primary key is never null (SQLite's rowid alias reports notnull = 0).
            (r.get("t"), r.get("c"), r.get("ty"), nn != 0 || pk != 0)
        })
        .collect(),
        Db::Postgres(p) => sqlx::query(
            "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
             is_nullable::text AS n FROM information_schema.columns WHERE table_schema = 'public'",
        )
        .fetch_all(p)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let n: String = r.get("n");
            (r.get("t"), r.get("c"), r.get("ty"), n == "NO")
        })
        .collect(),
    };
    rows.into_iter()
        .filter(|(t, ..)| t != "_sqlx_migrations")
        .map(|(t, c, ty, not_null)| {
            (
                (t, c),
                Col {
                    class: class(&ty),
                    not_null,
                    raw: ty,
                },
            )
        })
        .collect()
}

/// Whether a SQLite column and a PostgreSQL column hold the same kind of value.
fn same_type(sqlite: &Col, pg: &Col) -> bool {
    sqlite.class != "other"
        && pg.class != "other"
        && (sqlite.class == pg.class || (pg.class == "timestamp" && sqlite.class == "text"))
}

#[test]
fn type_classes() {
    let c = |raw: &str| Col {
        class: class(raw),
        not_null: true,
        raw: raw.into(),
    };
    assert!(same_type(&c("TEXT"), &c("character varying")));
    assert!(same_type(&c("INTEGER"), &c("bigint")));
    assert!(same_type(&c("TEXT"), &c("timestamp with time zone")));
    assert!(!same_type(&c("INTEGER"), &c("timestamp with time zone")));
    assert!(!same_type(&c("TEXT"), &c("bigint")));
    assert!(!same_type(&c("INTEGER"), &c("text")));
    assert!(!same_type(&c("BLOB"), &c("bytea")));
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(pg) = common::pg_env().await else {
        return;
    };
    let sq = common::sqlite_env().await;
    let (a, b) = (columns(&sq.db).await, columns(&pg.db).await);
    assert!(a.contains_key(&("domain".to_owned(), "data".to_owned())));
    assert!(a.contains_key(&("lock_request".to_owned(), "state".to_owned())));
    let only_sqlite: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_pg: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_sqlite:?}; only in PostgreSQL: {only_pg:?}"
    );
    let mismatched: Vec<String> = a
        .iter()
        .filter_map(|(k, s)| {
            let p = &b[k];
            (!same_type(s, p) || s.not_null != p.not_null).then(|| {
                format!(
                    "{}.{}: SQLite {} {} vs PostgreSQL {} {}",
                    k.0,
                    k.1,
                    s.raw,
                    if s.not_null { "NOT NULL" } else { "NULL" },
                    p.raw,
                    if p.not_null { "NOT NULL" } else { "NULL" }
                )
            })
        })
        .collect();
    assert!(
        mismatched.is_empty(),
        "column types differ:\n{}",
        mismatched.join("\n")
    );
    sq.finish().await;
    pg.finish().await;
}
