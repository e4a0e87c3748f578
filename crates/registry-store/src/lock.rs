//! Registry lock persistence for [`crate::SqlStore`]: lock contacts, lock requests and the
//! mail outbox (migration `0003_registry_lock.sql`). Same SQL on both backends, generated per
//! backend by a macro as in [`crate::objects`]. Compared times are microseconds since the epoch.

use chrono::{DateTime, Utc};
use epp_proto::Timestamp;
use registry_core::model::{LockContact, LockRequest, OutboxMail};
use registry_core::store::{StoreError, StoreResult};
use sqlx::Row;

use crate::objects::map_err;

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("corrupt lock request document: {e}"))
}

pub(crate) fn from_micros(us: i64) -> StoreResult<Timestamp> {
    DateTime::<Utc>::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Backend(format!("timestamp {us} out of range")))
}

const OPEN: &str = "('codeNotSent', 'pendingVerification')";

macro_rules! lock_backend {
    ($m:ident, $db:ty, $for_update:literal) => {
        pub(crate) mod $m {
            use super::*;
            type Conn = <$db as sqlx::Database>::Connection;
            type DbRow = <$db as sqlx::Database>::Row;

            fn request_row(row: &DbRow) -> StoreResult<LockRequest> {
                let id: i64 = row.try_get("id").map_err(map_err)?;
                let data: String = row.try_get("data").map_err(map_err)?;
                let mut r: LockRequest = serde_json::from_str(&data).map_err(corrupt)?;
                r.id = id;
                Ok(r)
            }

            fn mail_row(row: &DbRow) -> StoreResult<OutboxMail> {
                let attempts: i64 = row.try_get("attempts").map_err(map_err)?;
                let sent: Option<i64> = row.try_get("sent_at").map_err(map_err)?;
                Ok(OutboxMail {
                    id: row.try_get("id").map_err(map_err)?,
                    kind: row.try_get("kind").map_err(map_err)?,
                    lock_request_id: row.try_get("lock_request_id").map_err(map_err)?,
                    recipient: row.try_get("recipient").map_err(map_err)?,
                    subject: row.try_get("subject").map_err(map_err)?,
                    body: row.try_get("body").map_err(map_err)?,
                    created: from_micros(row.try_get("created_at").map_err(map_err)?)?,
                    next_attempt: from_micros(row.try_get("next_attempt").map_err(map_err)?)?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    last_error: row.try_get("last_error").map_err(map_err)?,
                    sent: sent.map(from_micros).transpose()?,
                })
            }

            const MAIL_COLS: &str = "id, kind, lock_request_id, recipient, subject, body, created_at, next_attempt, attempts, last_error, sent_at";

            pub async fn lock_contact(c: &mut Conn, cl_id: &str) -> StoreResult<Option<LockContact>> {
                let row = sqlx::query("SELECT cl_id, name, phone, email FROM registrar_lock_contact WHERE cl_id = $1")
                    .bind(cl_id)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_err)?;
                row.map(|r| {
                    Ok(LockContact {
                        cl_id: r.try_get("cl_id").map_err(map_err)?,
                        name: r.try_get("name").map_err(map_err)?,
                        phone: r.try_get("phone").map_err(map_err)?,
                        email: r.try_get("email").map_err(map_err)?,
                    })
                })
                .transpose()
            }

            pub async fn set_lock_contact(c: &mut Conn, k: &LockContact, now: Timestamp) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO registrar_lock_contact (cl_id, name, phone, email, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (cl_id) DO UPDATE SET name = excluded.name, phone = excluded.phone, email = excluded.email, updated_at = excluded.updated_at",
                )
                .bind(&k.cl_id)
                .bind(&k.name)
                .bind(&k.phone)
                .bind(&k.email)
                .bind(now.timestamp_micros())
                .execute(&mut *c)
                .await
                .map_err(map_err)?;
                Ok(())
            }

            pub async fn lock_request_insert(c: &mut Conn, r: &LockRequest) -> StoreResult<i64> {
                sqlx::query_scalar("INSERT INTO lock_request (domain, cl_id, state, expires_at, data) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                    .bind(&r.domain)
                    .bind(&r.cl_id)
                    .bind(&r.state)
                    .bind(r.expires.timestamp_micros())
                    .bind(serde_json::to_string(r).map_err(corrupt)?)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(map_err)
            }

            pub async fn lock_request_get(c: &mut Conn, id: i64, lock: bool) -> StoreResult<Option<LockRequest>> {
                let sql = if lock {
                    concat!("SELECT id, data FROM lock_request WHERE id = $1", $for_update)
                } else {
                    "SELECT id, data FROM lock_request WHERE id = $1"
                };
                let row = sqlx::query(sql).bind(id).fetch_optional(&mut *c).await.map_err(map_err)?;
                row.as_ref().map(request_row).transpose()
            }

            pub async fn lock_request_update(c: &mut Conn, r: &LockRequest) -> StoreResult<()> {
                sqlx::query("UPDATE lock_request SET state = $2, expires_at = $3, data = $4 WHERE id = $1")
                    .bind(r.id)
                    .bind(&r.state)
                    .bind(r.expires.timestamp_micros())
                    .bind(serde_json::to_string(r).map_err(corrupt)?)
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            pub async fn lock_request_open(c: &mut Conn, domain: &str) -> StoreResult<Option<LockRequest>> {
                let sql = format!("SELECT id, data FROM lock_request WHERE domain = $1 AND state IN {OPEN}");
                let row = sqlx::query(&sql).bind(domain).fetch_optional(&mut *c).await.map_err(map_err)?;
                row.as_ref().map(request_row).transpose()
            }

            pub async fn lock_requests(c: &mut Conn, open_only: bool, limit: u32) -> StoreResult<Vec<LockRequest>> {
                let filter = if open_only { format!("WHERE state IN {OPEN}") } else { String::new() };
                let sql = format!("SELECT id, data FROM lock_request {filter} ORDER BY id DESC LIMIT $1");
                let rows = sqlx::query(&sql).bind(i64::from(limit)).fetch_all(&mut *c).await.map_err(map_err)?;
                rows.iter().map(request_row).collect()
            }

            pub async fn due_lock_requests(c: &mut Conn, now: Timestamp, limit: u32) -> StoreResult<Vec<i64>> {
                let sql = format!("SELECT id FROM lock_request WHERE state IN {OPEN} AND expires_at <= $1 ORDER BY expires_at LIMIT $2");
                sqlx::query_scalar(&sql)
                    .bind(now.timestamp_micros())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *c)
                    .await
                    .map_err(map_err)
            }

            pub async fn outbox_push(c: &mut Conn, m: &OutboxMail) -> StoreResult<i64> {
                sqlx::query_scalar(
                    "INSERT INTO mail_outbox (kind, lock_request_id, recipient, subject, body, created_at, next_attempt, attempts, last_error, sent_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                )
                .bind(&m.kind)
                .bind(m.lock_request_id)
                .bind(&m.recipient)
                .bind(&m.subject)
                .bind(&m.body)
                .bind(m.created.timestamp_micros())
                .bind(m.next_attempt.timestamp_micros())
                .bind(i64::from(m.attempts))
                .bind(&m.last_error)
                .bind(m.sent.map(|t| t.timestamp_micros()))
                .fetch_one(&mut *c)
                .await
                .map_err(map_err)
            }

            pub async fn outbox_claim(c: &mut Conn, id: i64, expected: Timestamp, lease: Timestamp) -> StoreResult<bool> {
                let r = sqlx::query("UPDATE mail_outbox SET next_attempt = $3 WHERE id = $1 AND next_attempt = $2 AND sent_at IS NULL")
                    .bind(id)
                    .bind(expected.timestamp_micros())
                    .bind(lease.timestamp_micros())
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(r.rows_affected() == 1)
            }

            pub async fn outbox_result(c: &mut Conn, m: &OutboxMail) -> StoreResult<()> {
                sqlx::query("UPDATE mail_outbox SET body = $2, next_attempt = $3, attempts = $4, last_error = $5, sent_at = $6 WHERE id = $1")
                    .bind(m.id)
                    .bind(&m.body)
                    .bind(m.next_attempt.timestamp_micros())
                    .bind(i64::from(m.attempts))
                    .bind(&m.last_error)
                    .bind(m.sent.map(|t| t.timestamp_micros()))
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            pub async fn outbox_cancel_codes(c: &mut Conn, request_id: i64) -> StoreResult<()> {
                sqlx::query("DELETE FROM mail_outbox WHERE lock_request_id = $1 AND kind = 'lockCode' AND sent_at IS NULL")
                    .bind(request_id)
                    .execute(&mut *c)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            pub async fn outbox_due(c: &mut Conn, now: Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>> {
                let sql = format!("SELECT {MAIL_COLS} FROM mail_outbox WHERE sent_at IS NULL AND next_attempt <= $1 ORDER BY next_attempt, id LIMIT $2");
                let rows = sqlx::query(&sql)
                    .bind(now.timestamp_micros())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *c)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(mail_row).collect()
            }

            pub async fn outbox_for_request(c: &mut Conn, request_id: i64) -> StoreResult<Vec<OutboxMail>> {
                let sql = format!("SELECT {MAIL_COLS} FROM mail_outbox WHERE lock_request_id = $1 ORDER BY id");
                let rows = sqlx::query(&sql).bind(request_id).fetch_all(&mut *c).await.map_err(map_err)?;
                rows.iter().map(mail_row).collect()
            }
        }
    };
}

lock_backend!(sq, sqlx::Sqlite, "");
lock_backend!(pg, sqlx::Postgres, " FOR UPDATE");
