//! Expiry of pinned client certificates: the frontend records a certificate's `notAfter` when
//! it is known (pinned from a certificate file, or seen at a login) and a daily check warns the
//! registrar once, claiming the warning in the database so that several frontends sharing it
//! send one poll message between them.

use chrono::{DateTime, NaiveDateTime, Utc};
use epp_proto::Timestamp;
use registry_core::registrar::CertFingerprint;

use crate::registrars::RegistrarStoreError;
use crate::Db;

/// A pinned certificate whose expiry is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedCertExpiry {
    pub cl_id: String,
    pub fingerprint: String,
    pub not_after: Timestamp,
    /// When the registrar was warned (poll message), if it was.
    pub warned_at: Option<Timestamp>,
}

fn ts_text(t: Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_ts(s: &str) -> Result<Timestamp, RegistrarStoreError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.fZ")
        .map(|n| DateTime::<Utc>::from_naive_utc_and_offset(n, Utc))
        .map_err(|_| RegistrarStoreError::Invalid(format!("timestamp {s:?}")))
}

impl Db {
    /// Records when a pinned certificate expires. Returns false when `fingerprint` is not
    /// pinned to `cl_id`. A changed date clears an earlier warning.
    pub async fn set_cert_not_after(
        &self,
        cl_id: &str,
        fingerprint: &CertFingerprint,
        not_after: Timestamp,
    ) -> Result<bool, RegistrarStoreError> {
        let n = match self {
            Db::Sqlite(pool) => sqlx::query(
                "UPDATE registrar_cert SET not_after = ?3, expiry_warned_at = NULL \
                 WHERE cl_id = ?1 AND fingerprint = ?2 AND (not_after IS NULL OR not_after <> ?3)",
            )
            .bind(cl_id)
            .bind(fingerprint.to_hex())
            .bind(ts_text(not_after))
            .execute(pool)
            .await?
            .rows_affected(),
            Db::Postgres(pool) => sqlx::query(
                "UPDATE registrar_cert SET not_after = $3, expiry_warned_at = NULL \
                 WHERE cl_id = $1 AND fingerprint = $2 AND (not_after IS NULL OR not_after <> $3)",
            )
            .bind(cl_id)
            .bind(fingerprint.to_hex())
            .bind(not_after)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(n > 0)
    }

    /// Pinned certificates with a known expiry at or before `before`, soonest first.
    pub async fn pinned_certs_expiring(
        &self,
        before: Timestamp,
    ) -> Result<Vec<PinnedCertExpiry>, RegistrarStoreError> {
        match self {
            Db::Sqlite(pool) => {
                let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
                    "SELECT cl_id, fingerprint, not_after, expiry_warned_at FROM registrar_cert \
                     WHERE not_after IS NOT NULL AND not_after <= ?1 ORDER BY not_after, cl_id",
                )
                .bind(ts_text(before))
                .fetch_all(pool)
                .await?;
                rows.into_iter()
                    .map(|(cl_id, fingerprint, not_after, warned)| {
                        Ok(PinnedCertExpiry {
                            cl_id,
                            fingerprint,
                            not_after: parse_ts(&not_after)?,
                            warned_at: warned.as_deref().map(parse_ts).transpose()?,
                        })
                    })
                    .collect()
            }
            Db::Postgres(pool) => {
                let rows: Vec<(String, String, Timestamp, Option<Timestamp>)> = sqlx::query_as(
                    "SELECT cl_id, fingerprint, not_after, expiry_warned_at FROM registrar_cert \
                     WHERE not_after IS NOT NULL AND not_after <= $1 ORDER BY not_after, cl_id",
                )
                .bind(before)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(cl_id, fingerprint, not_after, warned_at)| PinnedCertExpiry {
                            cl_id,
                            fingerprint,
                            not_after,
                            warned_at,
                        },
                    )
                    .collect())
            }
        }
    }

    /// Claims the expiry warning of one certificate: true for exactly one caller until
    /// [`Db::release_cert_expiry_warning`] (or a new `notAfter`) clears it.
    pub async fn claim_cert_expiry_warning(
        &self,
        cl_id: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<bool, RegistrarStoreError> {
        let n = match self {
            Db::Sqlite(pool) => sqlx::query(
                "UPDATE registrar_cert SET expiry_warned_at = ?3 \
                 WHERE cl_id = ?1 AND fingerprint = ?2 AND expiry_warned_at IS NULL",
            )
            .bind(cl_id)
            .bind(fingerprint)
            .bind(ts_text(now))
            .execute(pool)
            .await?
            .rows_affected(),
            Db::Postgres(pool) => sqlx::query(
                "UPDATE registrar_cert SET expiry_warned_at = $3 \
                 WHERE cl_id = $1 AND fingerprint = $2 AND expiry_warned_at IS NULL",
            )
            .bind(cl_id)
            .bind(fingerprint)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(n == 1)
    }

    /// Gives a claimed warning back (sending it failed).
    pub async fn release_cert_expiry_warning(
        &self,
        cl_id: &str,
        fingerprint: &str,
    ) -> Result<(), RegistrarStoreError> {
        match self {
            Db::Sqlite(pool) => {
                sqlx::query(
                    "UPDATE registrar_cert SET expiry_warned_at = NULL \
                     WHERE cl_id = ?1 AND fingerprint = ?2",
                )
                .bind(cl_id)
                .bind(fingerprint)
                .execute(pool)
                .await?;
            }
            Db::Postgres(pool) => {
                sqlx::query(
                    "UPDATE registrar_cert SET expiry_warned_at = NULL \
                     WHERE cl_id = $1 AND fingerprint = $2",
                )
                .bind(cl_id)
                .bind(fingerprint)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }
}
