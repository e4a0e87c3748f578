//! Registrars, the login audit log, lock-outs and frontend instances, on both backends.
//!
//! SQLite stores timestamps as fixed-width UTC text (`2024-01-31T12:00:00.000000Z`), so text
//! order is time order; PostgreSQL uses `TIMESTAMPTZ`. Suspending a registrar on PostgreSQL
//! also sends `NOTIFY registrar_suspended` with the clID; frontends poll
//! [`Db::suspended_registrars`] as well, which is what works on SQLite.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDateTime, Utc};
use epp_proto::{ClientId, Timestamp};
use ipnet::IpNet;
use registry_core::registrar::{
    parse_network, CertFingerprint, FailedLogins, LoginAuditEntry, LoginOutcome, PasswordHash,
    RateLimitOverrides, Registrar, RegistrarError, RegistrarStatus,
};
use sqlx::Row;

use crate::Db;

/// The PostgreSQL notification channel a suspension is announced on.
pub const SUSPEND_CHANNEL: &str = "registrar_suspended";

#[derive(Debug, thiserror::Error)]
pub enum RegistrarStoreError {
    #[error("registrar {0} already exists")]
    Exists(String),
    #[error("registrar {0} does not exist")]
    NotFound(String),
    #[error("stored registrar data is invalid: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
}

impl From<RegistrarError> for RegistrarStoreError {
    fn from(e: RegistrarError) -> Self {
        RegistrarStoreError::Invalid(e.to_string())
    }
}

/// What a lock-out or failure count is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockKey {
    /// Every failure from the address counts.
    Source(IpAddr),
    /// Only the failures that struck the clID count (`LoginAuditEntry::clid_strike`).
    ClId(String),
    /// Every failure with the client certificate counts, whatever the address.
    Cert(CertFingerprint),
}

impl LockKey {
    fn key(&self) -> String {
        match self {
            LockKey::Source(ip) => format!("ip:{ip}"),
            LockKey::ClId(c) => format!("clid:{c}"),
            LockKey::Cert(f) => format!("cert:{}", f.to_hex()),
        }
    }

    /// `source`, `clid` or `certificate` (metrics and logs).
    pub fn scope(&self) -> &'static str {
        match self {
            LockKey::Source(_) => "source",
            LockKey::ClId(_) => "clid",
            LockKey::Cert(_) => "certificate",
        }
    }
}

fn ts_text(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_ts(s: &str) -> Result<Timestamp, RegistrarStoreError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.fZ")
        .map(|n| DateTime::<Utc>::from_naive_utc_and_offset(n, Utc))
        .map_err(|_| RegistrarStoreError::Invalid(format!("timestamp {s:?}")))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

struct RegistrarRow {
    cl_id: String,
    name: String,
    status: String,
    suspend_reason: Option<String>,
    pw_hash: String,
    max_sessions: i64,
    rate_limits: RateLimitOverrides,
    pw_changed_at: Option<Timestamp>,
}

/// The rate limit override columns of a row (INTEGER: i64 on SQLite, i32 on PostgreSQL).
fn rate_limits_of<'r, R, T>(row: &'r R) -> Result<RateLimitOverrides, RegistrarStoreError>
where
    R: Row,
    &'static str: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database> + TryInto<u32>,
{
    let mut v = [None; 8];
    for (slot, name) in v.iter_mut().zip(RateLimitOverrides::NAMES) {
        let raw: Option<T> = row.try_get(name)?;
        *slot = raw
            .map(|x| {
                x.try_into()
                    .map_err(|_| RegistrarStoreError::Invalid(format!("{name} out of range")))
            })
            .transpose()?;
    }
    Ok(RateLimitOverrides::from_values(v))
}

/// `, registrar_check_per_second, …` for a SELECT list.
fn rate_limit_columns() -> String {
    RateLimitOverrides::NAMES
        .iter()
        .map(|n| format!(", {n}"))
        .collect()
}

fn build_registrar(
    row: RegistrarRow,
    certs: Vec<String>,
    nets: Vec<String>,
) -> Result<Registrar, RegistrarStoreError> {
    let cl_id =
        ClientId::new(&row.cl_id).map_err(|e| RegistrarStoreError::Invalid(e.to_string()))?;
    let certs = certs
        .iter()
        .map(|c| c.parse::<CertFingerprint>())
        .collect::<Result<Vec<_>, _>>()?;
    let nets = nets
        .iter()
        .map(|n| parse_network(n))
        .collect::<Result<Vec<IpNet>, _>>()?;
    let max_sessions = u32::try_from(row.max_sessions)
        .map_err(|_| RegistrarStoreError::Invalid("max_sessions".into()))?;
    Ok(Registrar::new(
        cl_id,
        &row.name,
        RegistrarStatus::from_parts(&row.status, row.suspend_reason)?,
        PasswordHash::new(&row.pw_hash)?,
        certs,
        nets,
        max_sessions,
    )?
    .with_rate_limits(row.rate_limits)
    .with_password_changed_at(row.pw_changed_at))
}

fn status_parts(status: &RegistrarStatus) -> (&'static str, Option<&str>) {
    match status {
        RegistrarStatus::Active => ("active", None),
        RegistrarStatus::Suspended { reason } => ("suspended", Some(reason.as_str())),
    }
}

impl Db {
    /// Creates a registrar with its certificates and networks in one transaction.
    pub async fn insert_registrar(
        &self,
        r: &Registrar,
        now: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        let (status, reason) = status_parts(&r.status);
        // The `?`s below return from this async block, not from the function, so every
        // sqlx error goes through the `map_err` at the end (a unique violation is `Exists`).
        let res: Result<(), sqlx::Error> = async {
            match self {
                Db::Sqlite(pool) => {
                    let now = ts_text(now);
                    let mut tx = pool.begin().await?;
                    sqlx::query(
                        "INSERT INTO registrar (cl_id, name, status, suspend_reason, pw_hash, max_sessions, created_at, updated_at, pw_changed_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)",
                    )
                    .bind(r.cl_id.as_str())
                    .bind(&r.name)
                    .bind(status)
                    .bind(reason)
                    .bind(r.password_hash.as_phc())
                    .bind(i64::from(r.max_sessions))
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                    for f in &r.cert_fingerprints {
                        sqlx::query("INSERT INTO registrar_cert (cl_id, fingerprint, added_at) VALUES (?1, ?2, ?3)")
                            .bind(r.cl_id.as_str())
                            .bind(f.to_hex())
                            .bind(&now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for n in &r.allowed_networks {
                        sqlx::query("INSERT INTO registrar_network (cl_id, cidr) VALUES (?1, ?2)")
                            .bind(r.cl_id.as_str())
                            .bind(n.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                }
                Db::Postgres(pool) => {
                    let mut tx = pool.begin().await?;
                    sqlx::query(
                        "INSERT INTO registrar (cl_id, name, status, suspend_reason, pw_hash, max_sessions, created_at, updated_at, pw_changed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
                    )
                    .bind(r.cl_id.as_str())
                    .bind(&r.name)
                    .bind(status)
                    .bind(reason)
                    .bind(r.password_hash.as_phc())
                    .bind(i32::try_from(r.max_sessions).unwrap_or(i32::MAX))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    for f in &r.cert_fingerprints {
                        sqlx::query("INSERT INTO registrar_cert (cl_id, fingerprint, added_at) VALUES ($1, $2, $3)")
                            .bind(r.cl_id.as_str())
                            .bind(f.to_hex())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    for n in &r.allowed_networks {
                        sqlx::query("INSERT INTO registrar_network (cl_id, cidr) VALUES ($1, $2)")
                            .bind(r.cl_id.as_str())
                            .bind(n.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                }
            }
        }
        .await;
        res.map_err(|e| {
            if is_unique_violation(&e) {
                RegistrarStoreError::Exists(r.cl_id.to_string())
            } else {
                e.into()
            }
        })
    }

    /// Loads a registrar with its certificates and networks.
    pub async fn registrar(
        &self,
        cl_id: &ClientId,
    ) -> Result<Option<Registrar>, RegistrarStoreError> {
        let r = format!(
            "SELECT cl_id, name, status, suspend_reason, pw_hash, max_sessions, pw_changed_at{} FROM registrar WHERE cl_id = ",
            rate_limit_columns()
        );
        let (row, certs, nets) = match self {
            Db::Sqlite(pool) => {
                let Some(row) = sqlx::query(&format!("{r}?1"))
                    .bind(cl_id.as_str())
                    .fetch_optional(pool)
                    .await?
                else {
                    return Ok(None);
                };
                let row = RegistrarRow {
                    cl_id: row.try_get("cl_id")?,
                    name: row.try_get("name")?,
                    status: row.try_get("status")?,
                    suspend_reason: row.try_get("suspend_reason")?,
                    pw_hash: row.try_get("pw_hash")?,
                    max_sessions: row.try_get("max_sessions")?,
                    rate_limits: rate_limits_of::<_, i64>(&row)?,
                    pw_changed_at: row
                        .try_get::<Option<String>, _>("pw_changed_at")?
                        .map(|t| parse_ts(&t))
                        .transpose()?,
                };
                let certs: Vec<String> = sqlx::query_scalar(
                    "SELECT fingerprint FROM registrar_cert WHERE cl_id = ?1 ORDER BY fingerprint",
                )
                .bind(cl_id.as_str())
                .fetch_all(pool)
                .await?;
                let nets: Vec<String> = sqlx::query_scalar(
                    "SELECT cidr FROM registrar_network WHERE cl_id = ?1 ORDER BY cidr",
                )
                .bind(cl_id.as_str())
                .fetch_all(pool)
                .await?;
                (row, certs, nets)
            }
            Db::Postgres(pool) => {
                let Some(row) = sqlx::query(&format!("{r}$1"))
                    .bind(cl_id.as_str())
                    .fetch_optional(pool)
                    .await?
                else {
                    return Ok(None);
                };
                let max_sessions: i32 = row.try_get("max_sessions")?;
                let row = RegistrarRow {
                    cl_id: row.try_get("cl_id")?,
                    name: row.try_get("name")?,
                    status: row.try_get("status")?,
                    suspend_reason: row.try_get("suspend_reason")?,
                    pw_hash: row.try_get("pw_hash")?,
                    max_sessions: i64::from(max_sessions),
                    rate_limits: rate_limits_of::<_, i32>(&row)?,
                    pw_changed_at: row.try_get("pw_changed_at")?,
                };
                let certs: Vec<String> = sqlx::query_scalar(
                    "SELECT fingerprint FROM registrar_cert WHERE cl_id = $1 ORDER BY fingerprint",
                )
                .bind(cl_id.as_str())
                .fetch_all(pool)
                .await?;
                let nets: Vec<String> = sqlx::query_scalar(
                    "SELECT cidr FROM registrar_network WHERE cl_id = $1 ORDER BY cidr",
                )
                .bind(cl_id.as_str())
                .fetch_all(pool)
                .await?;
                (row, certs, nets)
            }
        };
        build_registrar(row, certs, nets).map(Some)
    }

    /// Replaces a registrar's password hash.
    pub async fn set_registrar_password(
        &self,
        cl_id: &ClientId,
        hash: &PasswordHash,
        now: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        let n = match self {
            Db::Sqlite(pool) => {
                sqlx::query("UPDATE registrar SET pw_hash = ?1, updated_at = ?2, pw_changed_at = ?2 WHERE cl_id = ?3")
                    .bind(hash.as_phc())
                    .bind(ts_text(now))
                    .bind(cl_id.as_str())
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
            Db::Postgres(pool) => {
                sqlx::query("UPDATE registrar SET pw_hash = $1, updated_at = $2, pw_changed_at = $2 WHERE cl_id = $3")
                    .bind(hash.as_phc())
                    .bind(now)
                    .bind(cl_id.as_str())
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
        };
        if n == 0 {
            return Err(RegistrarStoreError::NotFound(cl_id.to_string()));
        }
        Ok(())
    }

    /// Replaces a registrar's command rate limit overrides (all eight: `None` clears one).
    pub async fn set_registrar_rate_limits(
        &self,
        cl_id: &ClientId,
        limits: &RateLimitOverrides,
        now: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        let sets: Vec<String> = RateLimitOverrides::NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n} = ${}", i + 1))
            .collect();
        let q = format!(
            "UPDATE registrar SET {}, updated_at = $9 WHERE cl_id = $10",
            sets.join(", ")
        );
        let n = match self {
            Db::Sqlite(pool) => {
                let mut query = sqlx::query(&q);
                for v in limits.values() {
                    query = query.bind(v.map(i64::from));
                }
                query
                    .bind(ts_text(now))
                    .bind(cl_id.as_str())
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
            Db::Postgres(pool) => {
                let mut query = sqlx::query(&q);
                for v in limits.values() {
                    let v = v
                        .map(i32::try_from)
                        .transpose()
                        .map_err(|_| RegistrarStoreError::Invalid("rate limit too large".into()))?;
                    query = query.bind(v);
                }
                query
                    .bind(now)
                    .bind(cl_id.as_str())
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
        };
        if n == 0 {
            return Err(RegistrarStoreError::NotFound(cl_id.to_string()));
        }
        Ok(())
    }

    /// The rate limit overrides of every registrar that has any (what the frontends re-read
    /// for their live sessions).
    pub async fn registrar_rate_limits(
        &self,
    ) -> Result<Vec<(String, RateLimitOverrides)>, RegistrarStoreError> {
        let any: Vec<String> = RateLimitOverrides::NAMES
            .iter()
            .map(|n| format!("{n} IS NOT NULL"))
            .collect();
        let q = format!(
            "SELECT cl_id{} FROM registrar WHERE {}",
            rate_limit_columns(),
            any.join(" OR ")
        );
        let mut out = Vec::new();
        match self {
            Db::Sqlite(pool) => {
                for row in sqlx::query(&q).fetch_all(pool).await? {
                    out.push((row.try_get("cl_id")?, rate_limits_of::<_, i64>(&row)?));
                }
            }
            Db::Postgres(pool) => {
                for row in sqlx::query(&q).fetch_all(pool).await? {
                    out.push((row.try_get("cl_id")?, rate_limits_of::<_, i32>(&row)?));
                }
            }
        }
        Ok(out)
    }

    /// Emergency suspension: new logins are refused at once; every frontend sharing the
    /// database ends the registrar's live sessions within its suspension poll interval (and at
    /// once on PostgreSQL, through `NOTIFY`).
    pub async fn suspend_registrar(
        &self,
        cl_id: &ClientId,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        self.set_status(
            cl_id,
            &RegistrarStatus::Suspended {
                reason: reason.to_owned(),
            },
            now,
        )
        .await
    }

    /// Lifts a suspension.
    pub async fn reactivate_registrar(
        &self,
        cl_id: &ClientId,
        now: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        self.set_status(cl_id, &RegistrarStatus::Active, now).await
    }

    async fn set_status(
        &self,
        cl_id: &ClientId,
        status: &RegistrarStatus,
        now: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        let (token, reason) = status_parts(status);
        let n = match self {
            Db::Sqlite(pool) => {
                sqlx::query("UPDATE registrar SET status = ?1, suspend_reason = ?2, updated_at = ?3 WHERE cl_id = ?4")
                    .bind(token)
                    .bind(reason)
                    .bind(ts_text(now))
                    .bind(cl_id.as_str())
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let n = sqlx::query(
                    "UPDATE registrar SET status = $1, suspend_reason = $2, updated_at = $3 WHERE cl_id = $4",
                )
                .bind(token)
                .bind(reason)
                .bind(now)
                .bind(cl_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 && !status.is_active() {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(SUSPEND_CHANNEL)
                        .bind(cl_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                n
            }
        };
        if n == 0 {
            return Err(RegistrarStoreError::NotFound(cl_id.to_string()));
        }
        Ok(())
    }

    /// The clIDs of all suspended registrars (what the frontends poll).
    pub async fn suspended_registrars(&self) -> Result<Vec<String>, RegistrarStoreError> {
        const Q: &str = "SELECT cl_id FROM registrar WHERE status = 'suspended'";
        Ok(match self {
            Db::Sqlite(pool) => sqlx::query_scalar(Q).fetch_all(pool).await?,
            Db::Postgres(pool) => sqlx::query_scalar(Q).fetch_all(pool).await?,
        })
    }

    /// Pins one more client certificate (rotation: the old one stays until removed).
    pub async fn add_registrar_cert(
        &self,
        cl_id: &ClientId,
        fingerprint: &CertFingerprint,
        now: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        match self {
            Db::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO registrar_cert (cl_id, fingerprint, added_at) VALUES (?1, ?2, ?3)",
                )
                .bind(cl_id.as_str())
                .bind(fingerprint.to_hex())
                .bind(ts_text(now))
                .execute(pool)
                .await?;
            }
            Db::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO registrar_cert (cl_id, fingerprint, added_at) VALUES ($1, $2, $3)",
                )
                .bind(cl_id.as_str())
                .bind(fingerprint.to_hex())
                .bind(now)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Unpins a client certificate. Refuses to remove the last one.
    pub async fn remove_registrar_cert(
        &self,
        cl_id: &ClientId,
        fingerprint: &CertFingerprint,
    ) -> Result<bool, RegistrarStoreError> {
        let n = match self {
            Db::Sqlite(pool) => sqlx::query(
                "DELETE FROM registrar_cert WHERE cl_id = ?1 AND fingerprint = ?2 \
                     AND (SELECT count(*) FROM registrar_cert WHERE cl_id = ?1) > 1",
            )
            .bind(cl_id.as_str())
            .bind(fingerprint.to_hex())
            .execute(pool)
            .await?
            .rows_affected(),
            Db::Postgres(pool) => sqlx::query(
                "DELETE FROM registrar_cert WHERE cl_id = $1 AND fingerprint = $2 \
                     AND (SELECT count(*) FROM registrar_cert WHERE cl_id = $1) > 1",
            )
            .bind(cl_id.as_str())
            .bind(fingerprint.to_hex())
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(n > 0)
    }

    /// Appends one row to the login audit log.
    pub async fn record_login(&self, e: &LoginAuditEntry) -> Result<(), RegistrarStoreError> {
        let fp = e.cert_fingerprint.map(|f| f.to_hex());
        match self {
            Db::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO login_audit (at, cl_id, source_ip, fingerprint, outcome, reason, clid_strike) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .bind(ts_text(e.at))
                .bind(&e.cl_id)
                .bind(e.source_ip.to_string())
                .bind(fp)
                .bind(e.outcome.as_str())
                .bind(&e.reason)
                .bind(e.clid_strike)
                .execute(pool)
                .await?;
            }
            Db::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO login_audit (at, cl_id, source_ip, fingerprint, outcome, reason, clid_strike) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(e.at)
                .bind(&e.cl_id)
                .bind(e.source_ip.to_string())
                .bind(fp)
                .bind(e.outcome.as_str())
                .bind(&e.reason)
                .bind(e.clid_strike)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// The last `limit` rows of the login audit log, oldest first.
    pub async fn login_audit(
        &self,
        limit: u32,
    ) -> Result<Vec<LoginAuditEntry>, RegistrarStoreError> {
        let rows = match self {
            Db::Sqlite(pool) => {
                let rows = sqlx::query(
                    "SELECT at, cl_id, source_ip, fingerprint, outcome, reason, clid_strike FROM login_audit ORDER BY id DESC LIMIT ?1",
                )
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let at: String = row.try_get("at")?;
                    out.push((
                        parse_ts(&at)?,
                        row.try_get::<String, _>("cl_id")?,
                        row.try_get::<String, _>("source_ip")?,
                        row.try_get::<Option<String>, _>("fingerprint")?,
                        row.try_get::<String, _>("outcome")?,
                        row.try_get::<String, _>("reason")?,
                        row.try_get::<bool, _>("clid_strike")?,
                    ));
                }
                out
            }
            Db::Postgres(pool) => {
                let rows = sqlx::query(
                    "SELECT at, cl_id, source_ip, fingerprint, outcome, reason, clid_strike FROM login_audit ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    out.push((
                        row.try_get::<Timestamp, _>("at")?,
                        row.try_get::<String, _>("cl_id")?,
                        row.try_get::<String, _>("source_ip")?,
                        row.try_get::<Option<String>, _>("fingerprint")?,
                        row.try_get::<String, _>("outcome")?,
                        row.try_get::<String, _>("reason")?,
                        row.try_get::<bool, _>("clid_strike")?,
                    ));
                }
                out
            }
        };
        let mut entries = rows
            .into_iter()
            .map(|(at, cl_id, ip, fp, outcome, reason, clid_strike)| {
                Ok(LoginAuditEntry {
                    at,
                    cl_id,
                    source_ip: ip
                        .parse()
                        .map_err(|_| RegistrarStoreError::Invalid(format!("address {ip:?}")))?,
                    cert_fingerprint: fp.map(|f| f.parse()).transpose()?,
                    outcome: LoginOutcome::from_token(&outcome).ok_or_else(|| {
                        RegistrarStoreError::Invalid(format!("outcome {outcome:?}"))
                    })?,
                    reason,
                    clid_strike,
                })
            })
            .collect::<Result<Vec<_>, RegistrarStoreError>>()?;
        entries.reverse();
        Ok(entries)
    }

    /// Failed logins (outcome `failure`) for `key` since `since` (for a clID: its strikes only).
    pub async fn count_login_failures(
        &self,
        key: &LockKey,
        since: Timestamp,
    ) -> Result<u64, RegistrarStoreError> {
        // The column names are constants, never input.
        let (col, val, only_strikes) = match key {
            LockKey::Source(ip) => ("source_ip", ip.to_string(), ""),
            LockKey::ClId(c) => ("cl_id", c.clone(), " AND clid_strike"),
            LockKey::Cert(f) => ("fingerprint", f.to_hex(), ""),
        };
        let n: i64 = match self {
            Db::Sqlite(pool) => {
                sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM login_audit WHERE {col} = ?1 AND at >= ?2 AND outcome = 'failure'{only_strikes}"
                ))
                .bind(val)
                .bind(ts_text(since))
                .fetch_one(pool)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM login_audit WHERE {col} = $1 AND at >= $2 AND outcome = 'failure'{only_strikes}"
                ))
                .bind(val)
                .bind(since)
                .fetch_one(pool)
                .await?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The logins naming `cl_id` that did not succeed (failed or refused, from anywhere)
    /// since its last successful login, and the newest of them: loginSec's `failedLogins`
    /// statistic. Read before the current login's own row is written.
    pub async fn failed_logins_since_success(
        &self,
        cl_id: &str,
    ) -> Result<FailedLogins, RegistrarStoreError> {
        // By row id, not time: rows of one instant (a coarse or manual clock) stay ordered.
        // Each statement walks the (cl_id, id) index from its newest end.
        let (count, last): (i64, Option<(String, Timestamp)>) = match self {
            Db::Sqlite(pool) => {
                let since: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM login_audit WHERE cl_id = ?1 AND outcome = 'success' \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(cl_id)
                .fetch_optional(pool)
                .await?;
                let since = since.unwrap_or(0);
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM login_audit WHERE cl_id = ?1 AND id > ?2",
                )
                .bind(cl_id)
                .bind(since)
                .fetch_one(pool)
                .await?;
                let last: Option<(String, String)> = sqlx::query_as(
                    "SELECT source_ip, at FROM login_audit WHERE cl_id = ?1 AND id > ?2 \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(cl_id)
                .bind(since)
                .fetch_optional(pool)
                .await?;
                let last = match last {
                    Some((ip, at)) => Some((ip, parse_ts(&at)?)),
                    None => None,
                };
                (n, last)
            }
            Db::Postgres(pool) => {
                let since: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM login_audit WHERE cl_id = $1 AND outcome = 'success' \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(cl_id)
                .fetch_optional(pool)
                .await?;
                let since = since.unwrap_or(0);
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM login_audit WHERE cl_id = $1 AND id > $2",
                )
                .bind(cl_id)
                .bind(since)
                .fetch_one(pool)
                .await?;
                let last: Option<(String, Timestamp)> = sqlx::query_as(
                    "SELECT source_ip, at FROM login_audit WHERE cl_id = $1 AND id > $2 \
                     ORDER BY id DESC LIMIT 1",
                )
                .bind(cl_id)
                .bind(since)
                .fetch_optional(pool)
                .await?;
                (n, last)
            }
        };
        let (last_source, last_at) =
            match last {
                Some((ip, at)) => (
                    Some(ip.parse::<IpAddr>().map_err(|_| {
                        RegistrarStoreError::Invalid(format!("source address {ip:?}"))
                    })?),
                    Some(at),
                ),
                None => (None, None),
            };
        Ok(FailedLogins {
            count: u64::try_from(count).unwrap_or(0),
            last_source,
            last_at,
        })
    }

    /// Locks `key` out until `until` (extends, never shortens, an existing lock-out).
    pub async fn set_lockout(
        &self,
        key: &LockKey,
        until: Timestamp,
    ) -> Result<(), RegistrarStoreError> {
        match self {
            Db::Sqlite(pool) => {
                sqlx::query(
                    "INSERT INTO login_lockout (lock_key, until) VALUES (?1, ?2) \
                     ON CONFLICT (lock_key) DO UPDATE SET until = max(until, excluded.until)",
                )
                .bind(key.key())
                .bind(ts_text(until))
                .execute(pool)
                .await?;
            }
            Db::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO login_lockout (lock_key, until) VALUES ($1, $2) \
                     ON CONFLICT (lock_key) DO UPDATE SET until = GREATEST(login_lockout.until, EXCLUDED.until)",
                )
                .bind(key.key())
                .bind(until)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// The latest end of a lock-out among `keys` that is still after `now`.
    pub async fn lockout_until(
        &self,
        keys: &[LockKey],
        now: Timestamp,
    ) -> Result<Option<Timestamp>, RegistrarStoreError> {
        let mut latest: Option<Timestamp> = None;
        for key in keys {
            let until = match self {
                Db::Sqlite(pool) => {
                    let t: Option<String> =
                        sqlx::query_scalar("SELECT until FROM login_lockout WHERE lock_key = ?1")
                            .bind(key.key())
                            .fetch_optional(pool)
                            .await?;
                    t.map(|t| parse_ts(&t)).transpose()?
                }
                Db::Postgres(pool) => {
                    sqlx::query_scalar("SELECT until FROM login_lockout WHERE lock_key = $1")
                        .bind(key.key())
                        .fetch_optional(pool)
                        .await?
                }
            };
            if let Some(t) = until.filter(|t| *t > now) {
                latest = Some(latest.map_or(t, |l| l.max(t)));
            }
        }
        Ok(latest)
    }

    /// Allocates a new frontend instance id (unique among all frontends sharing the database),
    /// the prefix that makes svTRIDs unique without coordination.
    pub async fn register_frontend(
        &self,
        label: &str,
        now: Timestamp,
    ) -> Result<i64, RegistrarStoreError> {
        Ok(match self {
            Db::Sqlite(pool) => sqlx::query_scalar(
                "INSERT INTO frontend_instance (started_at, label) VALUES (?1, ?2) RETURNING id",
            )
            .bind(ts_text(now))
            .bind(label)
            .fetch_one(pool)
            .await?,
            Db::Postgres(pool) => sqlx::query_scalar(
                "INSERT INTO frontend_instance (started_at, label) VALUES ($1, $2) RETURNING id",
            )
            .bind(now)
            .bind(label)
            .fetch_one(pool)
            .await?,
        })
    }
}

/// Wakes a frontend when a registrar is suspended (PostgreSQL `LISTEN`).
#[derive(Debug)]
pub struct SuspensionListener(sqlx::postgres::PgListener);

impl SuspensionListener {
    /// The clID of the next suspended registrar. Reconnects by itself after a lost connection
    /// (notifications sent meanwhile are lost; the frontends' polling covers them).
    pub async fn recv(&mut self) -> Result<String, RegistrarStoreError> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

impl Db {
    /// On PostgreSQL, listens for suspensions; on SQLite there is nothing to listen to.
    pub async fn listen_suspensions(
        &self,
    ) -> Result<Option<SuspensionListener>, RegistrarStoreError> {
        match self {
            Db::Sqlite(_) => Ok(None),
            Db::Postgres(pool) => {
                let mut l = sqlx::postgres::PgListener::connect_with(pool).await?;
                l.listen(SUSPEND_CHANNEL).await?;
                Ok(Some(SuspensionListener(l)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let t = DateTime::parse_from_rfc3339("2024-01-31T12:00:00Z")
            .expect("ts")
            .with_timezone(&Utc);
        assert_eq!(ts_text(t), "2024-01-31T12:00:00.000000Z");
        assert_eq!(parse_ts(&ts_text(t)).expect("parse"), t);
        let t2 = t + chrono::Duration::microseconds(1234);
        assert!(ts_text(t2) > ts_text(t));
        assert_eq!(parse_ts(&ts_text(t2)).expect("parse"), t2);
    }
}
