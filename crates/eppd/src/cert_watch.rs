//! Certificate hygiene: a periodic (daily) check of the pinned client certificates whose
//! expiry is known. Each one expiring within `certificates.expiry_warning_days` (or already
//! expired) is logged as a warning on every check and counted in the
//! `eppd_client_certs_expiring` gauge; its registrar gets one poll message about it (claimed in
//! the database, so frontends sharing it send one between them). Fingerprints pinned without
//! a certificate have no known expiry until the registrar logs in with the certificate.

use std::sync::Arc;

use chrono::TimeDelta;
use registry_core::{Registry, Store};
use registry_store::Db;
use tracing::{error, info, warn};

use crate::config::CertificateConfig;
use crate::metrics::Metrics;

/// What one check found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Pinned certificates expiring within the window (or expired).
    pub expiring: usize,
    /// Poll messages enqueued by this check.
    pub warned: usize,
}

/// Runs one check now.
pub async fn check_once<S: Store>(
    registry: &Registry<S>,
    db: &Db,
    metrics: &Metrics,
    config: &CertificateConfig,
) -> CheckReport {
    let now = registry.now();
    let horizon = now + TimeDelta::days(i64::from(config.expiry_warning_days));
    let certs = match db.pinned_certs_expiring(horizon).await {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "certificate expiry check: cannot read pinned certificates");
            return CheckReport::default();
        }
    };
    metrics.set_certs_expiring(certs.len());
    let mut report = CheckReport {
        expiring: certs.len(),
        warned: 0,
    };
    for cert in certs {
        let days = (cert.not_after - now).num_days();
        warn!(
            cl_id = cert.cl_id,
            fingerprint = cert.fingerprint,
            not_after = %cert.not_after,
            days_left = days,
            "pinned client certificate expires soon: the registrar must pin a new one"
        );
        match db
            .claim_cert_expiry_warning(&cert.cl_id, &cert.fingerprint, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                error!(error = %e, "cannot claim a certificate expiry warning");
                continue;
            }
        }
        let when = cert.not_after.format("%Y-%m-%dT%H:%M:%SZ");
        let msg = if cert.not_after <= now {
            format!(
                "Client certificate {} expired at {when}; pin a new certificate.",
                cert.fingerprint
            )
        } else {
            format!(
                "Client certificate {} expires at {when}; pin a new certificate before then.",
                cert.fingerprint
            )
        };
        let pushed = registry.notify_registrar(&cert.cl_id, msg).await;
        match pushed {
            Ok(()) => {
                report.warned += 1;
                info!(
                    cl_id = cert.cl_id,
                    fingerprint = cert.fingerprint,
                    "certificate expiry poll message enqueued"
                );
            }
            Err(e) => {
                error!(error = %e, cl_id = cert.cl_id, "cannot enqueue a certificate expiry poll message");
                if let Err(e) = db
                    .release_cert_expiry_warning(&cert.cl_id, &cert.fingerprint)
                    .await
                {
                    error!(error = %e, "cannot release a certificate expiry warning");
                }
            }
        }
    }
    report
}

/// Runs [`check_once`] at start and then every `certificates.check_interval_ms`, until the
/// task is aborted.
pub fn spawn<S: Store>(
    registry: Arc<Registry<S>>,
    db: Db,
    metrics: Arc<Metrics>,
    config: CertificateConfig,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(config.check_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            check_once(&registry, &db, &metrics, &config).await;
        }
    })
}
