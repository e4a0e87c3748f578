//! The whole server process as `eppd serve` runs it: the database, the registry core behind
//! the EPP frontend, the scheduler of time-driven steps, the mail worker (registry lock codes
//! and notices), the daily certificate expiry check and the metrics listener, all from one
//! [`Config`].

use std::net::SocketAddr;
use std::sync::Arc;

use registry_core::clock::{Clock, SystemClock};
use registry_core::{MailError, Registry};
use registry_mail::Mailer;
use registry_store::{Db, DbError, SqlStore};
use tokio::net::TcpListener;
use tracing::info;

use crate::config::Config;
use crate::core_handler::CoreHandler;
use crate::instance_lock::{self, InstanceLock};
use crate::metrics::{self, Metrics};
use crate::server::{Server, ServerError, Shutdown};
use crate::tls::{self, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("TLS files: {0}")]
    Tls(#[from] TlsError),
    #[error("database {url}: {source}")]
    Db { url: String, source: DbError },
    #[error("[registry.mail]: {0}")]
    Mail(#[from] MailError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    InstanceLock(#[from] crate::instance_lock::InstanceLockError),
    #[error("cannot listen for metrics on {addr}: {source}")]
    MetricsBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A started (bound, not yet serving) server process.
pub struct App {
    config: Config,
    db: Db,
    registry: Arc<Registry<SqlStore>>,
    clock: Arc<dyn Clock>,
    mailer: Mailer,
    server: Server,
    metrics: Arc<Metrics>,
    metrics_listener: Option<TcpListener>,
    /// On SQLite: the lock that keeps a second eppd off the database file, held until the
    /// database is closed.
    instance_lock: Option<InstanceLock>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("epp", &self.server.local_addrs())
            .field("metrics", &self.metrics_addr())
            .finish_non_exhaustive()
    }
}

/// Connects to the configured database and runs its migrations.
pub async fn connect_db(config: &Config) -> Result<Db, AppError> {
    Db::connect_bounded(
        &config.database.url,
        config.database.max_connections,
        config.limits.command_timeout(),
    )
    .await
    .map_err(|source| AppError::Db {
        url: redact_url(&config.database.url),
        source,
    })
}

/// The URL without a password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{}://{user}@{}", &url[..s], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl App {
    /// Checks the TLS files, connects to the database, and binds the EPP and metrics
    /// listeners.
    pub async fn start(config: Config) -> Result<App, AppError> {
        // The TLS files first: a bad path should not wait for a database.
        tls::server_config(&config.tls)?;
        // Before the database is opened: a second server on a SQLite file is refused here.
        let lock = instance_lock::acquire(&config.database.url)?;
        let db = connect_db(&config).await?;
        let mut app = Self::start_with(config, db, Arc::new(SystemClock)).await?;
        app.instance_lock = lock;
        Ok(app)
    }

    /// Keeps `lock` ([`instance_lock::acquire`]) until the server has closed its database.
    pub fn hold(&mut self, lock: Option<InstanceLock>) {
        self.instance_lock = lock;
    }

    /// [`App::start`] on an open database and a given clock.
    pub async fn start_with(
        config: Config,
        db: Db,
        clock: Arc<dyn Clock>,
    ) -> Result<App, AppError> {
        // A bad sender or relay address is a configuration error: refuse to start.
        let mailer = Mailer::from_config(&config.registry.mail)?;
        let registry = Arc::new(Registry::new(
            SqlStore::new(db.clone()),
            Arc::clone(&clock),
            config.registry.clone(),
        ));
        let metrics = Arc::new(Metrics::new());
        let metrics_listener = match &config.metrics {
            Some(m) => {
                Some(
                    metrics::bind(m.listen)
                        .await
                        .map_err(|source| AppError::MetricsBind {
                            addr: m.listen,
                            source,
                        })?,
                )
            }
            None => None,
        };
        let server = Server::bind_with_metrics(
            config.clone(),
            db.clone(),
            Arc::new(CoreHandler::new(Arc::clone(&registry))),
            Arc::clone(&clock),
            Arc::clone(&metrics),
        )
        .await?;
        Ok(App {
            config,
            db,
            registry,
            clock,
            mailer,
            server,
            metrics,
            metrics_listener,
            instance_lock: None,
        })
    }

    /// The EPP addresses bound (the real ports when the configuration said 0).
    pub fn epp_addrs(&self) -> Vec<SocketAddr> {
        self.server.local_addrs()
    }

    /// The metrics address bound, if metrics are on.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn registry(&self) -> &Arc<Registry<SqlStore>> {
        &self.registry
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Serves until `shutdown` is triggered; then stops the background tasks and closes the
    /// database.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), AppError> {
        let App {
            config,
            db,
            registry,
            clock,
            mailer,
            server,
            metrics,
            metrics_listener,
            instance_lock,
        } = self;
        let mut tasks = vec![
            crate::workers::spawn_scheduler(Arc::clone(&registry), config.scheduler.interval()),
            crate::workers::spawn_mail_worker(
                Arc::clone(&registry),
                mailer,
                config.scheduler.mail_interval(),
            ),
            crate::cert_watch::spawn(
                Arc::clone(&registry),
                db.clone(),
                Arc::clone(&metrics),
                config.certificates.clone(),
            ),
        ];
        tasks.extend(crate::history::spawn(
            registry.store().clone(),
            clock,
            Arc::clone(&metrics),
            config.history.clone(),
        ));
        if let Some(l) = metrics_listener {
            if let Ok(addr) = l.local_addr() {
                info!(%addr, "serving metrics at /metrics");
            }
            tasks.push(tokio::spawn(metrics::serve(l, Arc::clone(&metrics))));
        }
        info!(addrs = ?server.local_addrs(), tlds = ?config.registry.tlds, "serving EPP");
        let result = server.run(shutdown).await;
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        db.close().await;
        drop(instance_lock);
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://eppd:s3cret@db:5432/registry"),
            "postgres://eppd@db:5432/registry"
        );
        assert_eq!(redact_url("sqlite:/var/lib/x.db"), "sqlite:/var/lib/x.db");
    }
}
