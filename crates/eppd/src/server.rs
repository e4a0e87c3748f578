//! The listener side: accepting connections, the PROXY header, the TLS handshake, the
//! connection limit, the suspension watcher, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use registry_core::clock::Clock;
use registry_store::registrars::RegistrarStoreError;
use registry_store::{Db, DbError};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::handler::CommandHandler;
use crate::live::{KillReason, LiveSessions, SvTridSource};
use crate::metrics::Metrics;
use crate::password::{PasswordError, PasswordPool};
use crate::proxy::{self, ProxiedSource};
use crate::session::{self, Peer};
use crate::tls::{self, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database: {0}")]
    Store(#[from] RegistrarStoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// Triggers a graceful shutdown: stop accepting, let commands in flight finish, close every
/// session with 2500, return from [`Server::run`]. Clone it freely.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Shutdown {
    pub fn new() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }

    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

/// Resolves once shutdown has been triggered.
pub(crate) async fn triggered(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|v| *v).await.is_err() {
        // Sender gone: nobody can trigger any more; never resolve.
        std::future::pending::<()>().await;
    }
}

/// What every session shares.
pub(crate) struct Shared {
    pub config: Config,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub handler: Arc<dyn CommandHandler>,
    pub live: Arc<LiveSessions>,
    pub passwords: PasswordPool,
    pub sv_trids: SvTridSource,
    pub greeting: crate::session::GreetingFrame,
    pub metrics: Arc<Metrics>,
    /// The command rate limits' buckets of the registrars logged in here.
    pub rate_limiter: crate::ratelimit::RateLimiter,
    /// Lowercased.
    /// What every new password must meet (`[password]`).
    pub password_policy: registry_core::registrar::PasswordPolicy,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("db", &self.db.backend())
            .finish_non_exhaustive()
    }
}

/// A bound, ready server.
pub struct Server {
    listeners: Vec<TcpListener>,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Loads the TLS files, allocates this frontend's instance id in the database and binds
    /// every listener. `db` must already be connected (and migrated).
    pub async fn bind(
        config: Config,
        db: Db,
        handler: Arc<dyn CommandHandler>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServerError> {
        Self::bind_with_metrics(config, db, handler, clock, Arc::new(Metrics::new())).await
    }

    /// [`Server::bind`], counting into `metrics`.
    pub async fn bind_with_metrics(
        config: Config,
        db: Db,
        handler: Arc<dyn CommandHandler>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ServerError> {
        let tls = tls::server_config(&config.tls)?;
        let instance = db
            .register_frontend(&config.server.instance_label, clock.now())
            .await?;
        let mut listeners = Vec::new();
        for addr in &config.server.listen {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: *addr,
                    source,
                })?;
            listeners.push(l);
        }
        let passwords = PasswordPool::new(config.limits.password_workers)?;
        let password_policy = config.password.policy();
        let sv_trids = SvTridSource::new(&config.server.sv_trid_prefix, instance);
        info!(
            instance,
            backend = db.backend(),
            "frontend instance registered"
        );
        let greeting = crate::session::GreetingFrame::new(&config.server.sv_id);
        let shared = Arc::new(Shared {
            greeting,
            config,
            db,
            clock,
            handler,
            live: Arc::new(LiveSessions::default()),
            passwords,
            sv_trids,
            metrics,
            rate_limiter: crate::ratelimit::RateLimiter::default(),
            password_policy,
        });
        Ok(Self {
            listeners,
            acceptor: TlsAcceptor::from(tls),
            shared,
        })
    }

    /// The metrics this server counts into.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.shared.metrics)
    }

    /// The addresses actually bound (useful with port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` is triggered, then closes every session (waiting at most
    /// `timeouts.shutdown_grace_ms` for commands in flight) and returns.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), ServerError> {
        let Server {
            listeners,
            acceptor,
            shared,
        } = self;
        let max_conns = shared.config.limits.max_connections;
        let permits = Arc::new(Semaphore::new(max_conns));
        let prelogin = Arc::new(Semaphore::new(
            shared.config.limits.max_prelogin_connections.min(max_conns),
        ));
        let budget = crate::budget::SourceBudget::new(&shared.config.limits);
        let (conn_tx, mut conn_rx) = mpsc::channel::<(TcpStream, SocketAddr)>(64);
        let mut accepters = JoinSet::new();
        for l in listeners {
            let tx = conn_tx.clone();
            accepters.spawn(accept_loop(l, tx));
        }
        drop(conn_tx);
        let watcher = tokio::spawn(suspension_watcher(
            Arc::clone(&shared),
            shutdown.subscribe(),
        ));
        let refresher = tokio::spawn(rate_limit_refresher(
            Arc::clone(&shared),
            shutdown.subscribe(),
        ));

        let mut sessions = JoinSet::new();
        let mut stop = shutdown.subscribe();
        loop {
            tokio::select! {
                _ = triggered(&mut stop) => break,
                next = conn_rx.recv() => {
                    let Some((tcp, peer)) = next else { break };
                    // Refused here, before the TLS handshake costs anything; closing the
                    // socket is the whole answer.
                    let slot = if is_trusted(&shared, peer) {
                        None
                    } else {
                        match budget.admit(peer.ip(), std::time::Instant::now()) {
                            Ok(slot) => Some(slot),
                            Err(why) => {
                                shared.metrics.connection_refused(why.as_str());
                                debug!(%peer, reason = why.as_str(), "connection refused at accept");
                                continue;
                            }
                        }
                    };
                    let Ok(pre) = Arc::clone(&prelogin).try_acquire_owned() else {
                        shared.metrics.connection_refused("prelogin_pool");
                        debug!(%peer, "pre-login pool full; closing new connection");
                        continue;
                    };
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        shared.metrics.connection_refused("max_connections");
                        warn!(%peer, max_conns, "connection limit reached; closing new connection");
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    let shared = Arc::clone(&shared);
                    let stop = shutdown.subscribe();
                    sessions.spawn(async move {
                        connection(tcp, peer, acceptor, shared, stop, pre).await;
                        drop(permit);
                        drop(slot);
                    });
                }
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }

        info!(open = sessions.len(), "shutting down: no longer accepting");
        accepters.abort_all();
        shutdown.trigger();
        let grace = shared.config.timeouts.shutdown_grace();
        let drained = tokio::time::timeout(grace, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                left = sessions.len(),
                "shutdown grace elapsed; aborting remaining sessions"
            );
            sessions.abort_all();
            while sessions.join_next().await.is_some() {}
        }
        watcher.abort();
        refresher.abort();
        info!("shut down");
        Ok(())
    }
}

async fn accept_loop(listener: TcpListener, tx: mpsc::Sender<(TcpStream, SocketAddr)>) {
    loop {
        match listener.accept().await {
            Ok(conn) => {
                if tx.send(conn).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // EMFILE and friends: back off a little instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn is_trusted(shared: &Shared, peer: SocketAddr) -> bool {
    shared
        .config
        .proxy
        .trusted
        .iter()
        .any(|n| n.contains(&registry_core::registrar::normalise_ip(peer.ip())))
}

/// One connection: PROXY header (from trusted proxies only), TLS handshake, then the session.
/// `prelogin` is its place in the pre-login pool, given back at login.
async fn connection(
    mut tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    prelogin: tokio::sync::OwnedSemaphorePermit,
) {
    let _ = tcp.set_nodelay(true);
    let handshake = shared.config.timeouts.handshake();
    let trusted = is_trusted(&shared, peer);
    let result = tokio::time::timeout(handshake, async {
        let mut source = peer;
        if trusted {
            match proxy::read_header(&mut tcp).await {
                Ok(ProxiedSource::Address(a)) => source = a,
                Ok(ProxiedSource::Unknown) => {}
                Err(e) => return Err(format!("PROXY header from trusted proxy refused: {e}")),
            }
        }
        let tls = acceptor
            .accept(tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        Ok((source, tls))
    })
    .await;
    let (source, tls) = match result {
        Ok(Ok(ok)) => ok,
        Ok(Err(reason)) => {
            warn!(%peer, %reason, "connection refused");
            return;
        }
        Err(_) => {
            warn!(%peer, reason = "handshake timeout", "connection refused");
            return;
        }
    };
    let Some(leaf) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) else {
        // The verifier requires a certificate; this cannot happen, but never trust that.
        warn!(%peer, reason = "no client certificate", "connection refused");
        return;
    };
    let fingerprint = tls::fingerprint(leaf);
    let not_after = crate::cert_info::not_after(leaf.as_ref());
    let (tls_protocol, cipher_suite) = tls::negotiated(tls.get_ref().1);
    let source_ip = registry_core::registrar::normalise_ip(source.ip());
    debug!(%peer, %source_ip, %fingerprint, "TLS session established");
    session::run(
        tls,
        Peer {
            source_ip,
            fingerprint,
            not_after,
            tls_protocol,
            cipher_suite,
        },
        shared,
        stop,
        prelogin,
    )
    .await;
}

/// Ends the sessions of suspended registrars: polls the database every
/// `suspension_poll_ms`, and on PostgreSQL also wakes on `NOTIFY registrar_suspended`.
async fn suspension_watcher(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(shared.config.timeouts.suspension_poll());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listener = match shared.db.listen_suspensions().await {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "cannot LISTEN for suspensions; polling only");
            None
        }
    };
    loop {
        tokio::select! {
            _ = triggered(&mut stop) => return,
            _ = tick.tick() => {
                if shared.live.clients().is_empty() {
                    continue;
                }
                match shared.db.suspended_registrars().await {
                    Ok(ids) => {
                        for id in ids {
                            kill(&shared, &id);
                        }
                    }
                    Err(e) => error!(error = %e, "cannot read suspended registrars"),
                }
            }
            note = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await,
                    None => std::future::pending().await,
                }
            } => match note {
                Ok(cl_id) => kill(&shared, &cl_id),
                Err(e) => {
                    warn!(error = %e, "suspension LISTEN failed; polling only");
                    listener = None;
                }
            }
        }
    }
}

/// Brings the rate limits of the registrars with live sessions here in line with their
/// records every `limits.rate_limit_refresh_ms` (`registry-admin registrar set-limits`; a new
/// login reads them at once): one query for every registrar that has limits of its own.
async fn rate_limit_refresher(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(shared.config.limits.rate_limit_refresh());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = triggered(&mut stop) => return,
            _ = tick.tick() => {}
        }
        let live = shared.rate_limiter.registrars();
        if live.is_empty() {
            continue;
        }
        match shared.db.registrar_rate_limits().await {
            Ok(own) => {
                let own: std::collections::HashMap<_, _> = own.into_iter().collect();
                for cl_id in live {
                    let o = own.get(&cl_id).copied().unwrap_or_default();
                    let rates = crate::ratelimit::Rates::new(&shared.config.limits, &o);
                    shared.rate_limiter.set_rates(&cl_id, rates);
                }
            }
            Err(e) => warn!(error = %e, "cannot re-read registrars' rate limits"),
        }
    }
}

fn kill(shared: &Shared, cl_id: &str) {
    let n = shared.live.kill(cl_id, KillReason::Suspended);
    if n > 0 {
        warn!(
            cl_id,
            sessions = n,
            "registrar suspended: ending its sessions"
        );
    }
}
