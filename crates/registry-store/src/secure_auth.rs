//! The second half of migration `0023_secure_authinfo`: hashing, in place, the authInfo
//! values that databases from before it keep in plaintext.
//!
//! The migration lists those objects in `auth_info_plaintext` (SQL has no portable salted
//! SHA-256); [`hash_plaintext`], which [`crate::Db::connect_bounded`] runs right after the
//! migrations, replaces each object's `auth_pw` with its hash
//! ([`registry_core::secure_auth::new_value`]), sets `auth_set` to now (so a migrated value
//! opens a transfer for one more TTL from the migration, then expires like any other) and
//! takes the object off the list, one object per transaction. An empty value becomes "no
//! authInfo". Only the two fields change: the rest of the document is left as it is, and no
//! history row is written (history rows never held the plaintext: they redact it).
//!
//! Once the list is empty (every connect after the first) this is one indexed `SELECT`.

use registry_core::secure_auth;
use serde_json::Value;
use sqlx::Row;

use crate::db::{Db, DbError};

/// Objects hashed per round trip for the list.
const BATCH: i64 = 500;

/// The document with its authInfo hashed; `None` when it needs no change (already hashed).
fn rehash(object_type: &str, data: &str, now: &Value) -> Result<Option<String>, DbError> {
    let corrupt = |why: &str| DbError::Corrupt(format!("{object_type} document: {why}"));
    let mut doc: Value = serde_json::from_str(data).map_err(|e| corrupt(&e.to_string()))?;
    let m = doc
        .as_object_mut()
        .ok_or_else(|| corrupt("not an object"))?;
    let plain = match m.get("auth_pw") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if secure_auth::is_hashed(s) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(corrupt("auth_pw is not a string")),
    };
    if plain.is_empty() {
        // Domains keep "no authInfo" as null, contacts as "".
        let unset = if object_type == "domain" {
            Value::Null
        } else {
            Value::String(String::new())
        };
        m.insert("auth_pw".into(), unset);
        m.remove("auth_set");
    } else {
        let hashed = secure_auth::new_value(&plain).map_err(|e| DbError::Corrupt(e.to_string()))?;
        m.insert("auth_pw".into(), Value::String(hashed));
        m.insert("auth_set".into(), now.clone());
    }
    Ok(Some(doc.to_string()))
}

macro_rules! hash_backend {
    ($name:ident, $pool:ty, $for_update:literal) => {
        async fn $name(pool: &$pool, now: &Value) -> Result<usize, DbError> {
            let mut done = 0;
            loop {
                let rows = sqlx::query(
                    "SELECT object_type, object_id FROM auth_info_plaintext \
                     ORDER BY object_type, object_id LIMIT $1",
                )
                .bind(BATCH)
                .fetch_all(pool)
                .await?;
                if rows.is_empty() {
                    return Ok(done);
                }
                for row in rows {
                    let object_type: String = row.try_get("object_type")?;
                    let id: i64 = row.try_get("object_id")?;
                    let table = match object_type.as_str() {
                        "domain" => "domain",
                        "contact" => "contact",
                        other => {
                            return Err(DbError::Corrupt(format!(
                                "auth_info_plaintext lists a {other:?}"
                            )))
                        }
                    };
                    let mut tx = pool.begin().await?;
                    let data: Option<String> = sqlx::query_scalar(&format!(
                        concat!("SELECT data FROM {} WHERE id = $1", $for_update),
                        table
                    ))
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    // Gone since (deleted or purged): nothing to hash.
                    if let Some(new) = data.map(|d| rehash(table, &d, now)).transpose()?.flatten() {
                        sqlx::query(&format!("UPDATE {table} SET data = $2 WHERE id = $1"))
                            .bind(id)
                            .bind(new)
                            .execute(&mut *tx)
                            .await?;
                        done += 1;
                    }
                    sqlx::query(
                        "DELETE FROM auth_info_plaintext WHERE object_type = $1 AND object_id = $2",
                    )
                    .bind(&object_type)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                }
            }
        }
    };
}

hash_backend!(hash_sqlite, sqlx::SqlitePool, "");
hash_backend!(hash_pg, sqlx::PgPool, " FOR UPDATE");

/// Hashes every authInfo `auth_info_plaintext` lists (see the module documentation); returns
/// how many objects it changed. [`DbError::Corrupt`] for a document it cannot read.
pub async fn hash_plaintext(db: &Db) -> Result<usize, DbError> {
    let now = serde_json::to_value(chrono::Utc::now())
        .map_err(|e| DbError::Corrupt(format!("time: {e}")))?;
    let n = match db {
        Db::Sqlite(p) => hash_sqlite(p, &now).await?,
        Db::Postgres(p) => hash_pg(p, &now).await?,
    };
    if n > 0 {
        tracing::info!(
            objects = n,
            "hashed plaintext authInfo values in place (migration 0023)"
        );
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rehash_touches_only_the_authinfo() {
        let now = serde_json::json!("2026-01-01T00:00:00Z");
        let out = rehash("domain", r#"{"name":"a.test","auth_pw":"2fooBAR"}"#, &now)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        let v: Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(v["name"], "a.test");
        assert_eq!(v["auth_set"], now);
        let stored = v["auth_pw"].as_str().unwrap_or_default();
        assert!(secure_auth::opens(stored, "2fooBAR"));
        // Already hashed, or none: unchanged.
        let again = format!(r#"{{"auth_pw":{}}}"#, Value::String(stored.to_owned()));
        assert!(matches!(rehash("domain", &again, &now), Ok(None)));
        assert!(matches!(
            rehash("domain", r#"{"auth_pw":null}"#, &now),
            Ok(None)
        ));
        let empty = rehash("contact", r#"{"auth_pw":""}"#, &now)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert!(!empty.contains("auth_set"));
        assert!(matches!(
            rehash("contact", "not json", &now),
            Err(DbError::Corrupt(_))
        ));
        assert!(matches!(
            rehash("contact", r#"{"auth_pw":7}"#, &now),
            Err(DbError::Corrupt(_))
        ));
    }
}
