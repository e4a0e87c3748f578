//! Listeners and connections: HTTPS (rustls, HTTP/1.1 and HTTP/2 by ALPN) and plain HTTP
//! (loopback, or trusted proxies only), one task per connection, a cap on open connections,
//! handshake and header/idle timeouts, and a shutdown that lets requests in flight finish.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use registry_core::clock::Clock;
use registry_core::Registry;
use registry_store::SqlStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::app::{router, AppState, RdapService};
use crate::config::{Config, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{path}: {reason}")]
    Tls { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("database: {0}")]
    Database(#[from] registry_store::public::ReadOnlyError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Loads the certificate chain and key and makes the TLS acceptor (ALPN h2, http/1.1).
pub fn tls_acceptor(cert_chain: &Path, key: &Path) -> Result<TlsAcceptor, ServerError> {
    let bad = |p: &Path, e: &dyn std::fmt::Display| ServerError::Tls {
        path: p.display().to_string(),
        reason: e.to_string(),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_chain)
        .map_err(|e| bad(cert_chain, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert_chain, &e))?;
    if chain.is_empty() {
        return Err(bad(cert_chain, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// A running service.
#[derive(Debug)]
pub struct Running {
    /// Bound HTTPS addresses, in the order of `server.listen`.
    pub https: Vec<SocketAddr>,
    /// Bound plain-HTTP addresses, in the order of `server.plain_listen`.
    pub plain: Vec<SocketAddr>,
    pub state: Arc<AppState>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to `grace`), and returns.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
    }

    /// The base URL clients of the first HTTPS (else plain) listener would use when the
    /// configured one names port 0 (tests and the demo).
    pub fn local_url(&self) -> Option<String> {
        if let Some(a) = self.https.first() {
            return Some(format!("https://{}/", client_addr(*a)));
        }
        self.plain
            .first()
            .map(|a| format!("http://{}/", client_addr(*a)))
    }
}

fn client_addr(a: SocketAddr) -> SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match a.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, a.port())
}

/// Opens the database read-only, binds every listener and starts serving. `clock`: the
/// registry's clock (tests move it).
pub async fn start(cfg: Config, clock: Arc<dyn Clock>) -> Result<Running, ServerError> {
    let db = registry_store::public::open_read_only(
        &cfg.database.url,
        cfg.database.max_connections,
        cfg.database.query_timeout_ms,
    )
    .await?;
    let registry = Registry::new(SqlStore::new(db), clock, cfg.registry.clone());
    start_with(cfg, registry).await
}

/// As [`start`], on a registry already made.
pub async fn start_with(cfg: Config, registry: Registry<SqlStore>) -> Result<Running, ServerError> {
    let mut https_listeners = Vec::new();
    for addr in &cfg.server.listen {
        https_listeners.push(bind(*addr).await?);
    }
    let mut plain_listeners = Vec::new();
    for addr in &cfg.server.plain_listen {
        plain_listeners.push(bind(*addr).await?);
    }
    serve(cfg, registry, https_listeners, plain_listeners)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// The RDAP service of `eppd demo`: HTTPS on `listen` (port 0: a free one) with the demo's
/// server certificate, on its database; the base URL names the bound address.
pub async fn start_demo(
    listen: SocketAddr,
    database_url: &str,
    cert_chain: &Path,
    key: &Path,
    clock: Arc<dyn Clock>,
) -> Result<Running, ServerError> {
    let l = bind(listen).await?;
    let bound = l.local_addr().map_err(|source| ServerError::Bind {
        addr: listen,
        source,
    })?;
    let base = format!("https://{}/", client_addr(bound));
    let cfg = Config::demo(bound, &base, database_url, cert_chain, key)?;
    let db = registry_store::public::open_read_only(
        &cfg.database.url,
        cfg.database.max_connections,
        cfg.database.query_timeout_ms,
    )
    .await?;
    let registry = Registry::new(SqlStore::new(db), clock, cfg.registry.clone());
    serve(cfg, registry, vec![l], Vec::new())
}

fn serve(
    cfg: Config,
    registry: Registry<SqlStore>,
    https_listeners: Vec<TcpListener>,
    plain_listeners: Vec<TcpListener>,
) -> Result<Running, ServerError> {
    let acceptor = match &cfg.tls {
        Some(t) if !https_listeners.is_empty() => Some(tls_acceptor(&t.cert_chain, &t.key)?),
        _ => None,
    };
    let state = Arc::new(AppState::new(cfg, registry));
    let router = router(state.clone());
    let (stop, stop_rx) = watch::channel(false);
    let conns = Arc::new(Semaphore::new(state.cfg.limits.max_connections));
    let mut tasks = JoinSet::new();
    let https = https_listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ServerError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
    let plain = plain_listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| ServerError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
    for l in https_listeners {
        let acc = Listener {
            tls: acceptor.clone(),
            state: state.clone(),
            router: router.clone(),
            conns: conns.clone(),
            stop: stop_rx.clone(),
        };
        tasks.spawn(acc.run(l));
    }
    for l in plain_listeners {
        let loopback = l.local_addr().is_ok_and(|a| a.ip().is_loopback());
        let acc = Listener {
            tls: None,
            state: state.clone(),
            router: router.clone(),
            conns: conns.clone(),
            stop: stop_rx.clone(),
        };
        tasks.spawn(acc.run_plain(l, loopback));
    }
    {
        let state = state.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => state.limiter.housekeeping(),
                    _ = stop.changed() => break,
                }
            }
        });
    }
    for a in &https {
        tracing::info!(addr = %a, base_url = %state.cfg.server.base_url, "RDAP over HTTPS");
    }
    for a in &plain {
        tracing::info!(addr = %a, "RDAP over plain HTTP");
    }
    Ok(Running {
        https,
        plain,
        state,
        stop,
        tasks,
    })
}

struct Listener {
    tls: Option<TlsAcceptor>,
    state: Arc<AppState>,
    router: axum::Router,
    conns: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
}

impl Listener {
    async fn run(self, l: TcpListener) {
        self.accept_loop(l, true).await
    }

    /// A plain listener on a non-loopback address serves only the trusted proxies.
    async fn run_plain(self, l: TcpListener, loopback: bool) {
        self.accept_loop(l, loopback).await
    }

    async fn accept_loop(mut self, l: TcpListener, any_peer: bool) {
        let mut conns = JoinSet::new();
        loop {
            let (tcp, peer) = tokio::select! {
                r = l.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = self.stop.changed() => break,
            };
            while conns.try_join_next().is_some() {}
            if !any_peer && !self.state.cfg.proxy.trusts(peer.ip()) {
                tracing::debug!(%peer, "plain HTTP from an untrusted peer refused");
                continue;
            }
            let Ok(permit) = self.conns.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "connection limit reached: connection closed");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let svc = RdapService {
                state: self.state.clone(),
                router: self.router.clone(),
                peer,
            };
            let tls = self.tls.clone();
            let limits = self.state.cfg.limits.clone();
            let stop = self.stop.clone();
            conns.spawn(async move {
                serve_connection(tcp, tls, svc, &limits, stop).await;
                drop(permit);
            });
        }
        // Requests in flight finish; `Running::shutdown` bounds the wait.
        while conns.join_next().await.is_some() {}
    }
}

async fn serve_connection(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    svc: RdapService,
    limits: &crate::config::LimitsConfig,
    stop: watch::Receiver<bool>,
) {
    let peer = svc.peer;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_timeout_ms))
        .max_buf_size(16 * 1024)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .keep_alive_interval(Some(Duration::from_millis(limits.header_timeout_ms)))
        .keep_alive_timeout(Duration::from_secs(10));
    // Runs a connection until it ends; on shutdown, lets it finish what is in flight.
    macro_rules! drive {
        ($conn:expr) => {{
            let mut stop = stop;
            let conn = $conn;
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        }};
    }
    match tls {
        Some(acc) => {
            let hs = Duration::from_millis(limits.handshake_timeout_ms);
            let stream = match tokio::time::timeout(hs, acc.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            drive!(builder.serve_connection(TokioIo::new(stream), svc));
        }
        None => drive!(builder.serve_connection(TokioIo::new(tcp), svc)),
    }
}
