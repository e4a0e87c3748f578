//! The registry's background work, run by the server process: the scheduler of time-driven
//! steps ([`Registry::run_due`]) and the mail worker ([`Registry::send_mail`]). The core decides
//! what is due; these loops only wake it (it spawns nothing itself).

use std::sync::Arc;
use std::time::Duration;

use registry_core::mail::MailTransport;
use registry_core::{CoreError, Registry, Store, StoreError};

/// Calls [`Registry::run_due`] every `every` on the registry's clock until the task is aborted.
pub fn spawn_scheduler<S: Store>(
    registry: Arc<Registry<S>>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match registry.run_due(registry.now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(objects = n, "scheduled steps run"),
                Err(e) => tracing::error!(error = %e, "scheduler pass failed"),
            }
        }
    })
}

/// Runs [`Registry::send_mail`] every `every` until the task is aborted.
pub fn spawn_mail_worker<S: Store, M: MailTransport + 'static>(
    registry: Arc<Registry<S>>,
    mailer: M,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match registry.send_mail(&mailer).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(mails = n, "mail sent"),
                Err(CoreError::Store(StoreError::Conflict(e))) => {
                    tracing::debug!(error = %e, "mail pass lost a race")
                }
                Err(e) => tracing::error!(error = %e, "mail pass failed"),
            }
        }
    })
}
