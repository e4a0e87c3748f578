//! Prometheus metrics (OpenMetrics text format) on a separate admin listener: sessions open,
//! commands by type and result code, command latency, login failures by reason, pinned client
//! certificates about to expire, and gauges other parts of the system set (the zone
//! publisher's journal lag and last published serial, or any gauge made with
//! [`Metrics::gauge`]).
//!
//! The listener speaks just enough HTTP/1.0 for a scraper: `GET /metrics` answers 200 with
//! the metrics, anything else 404; requests are read with a size cap and a timeout.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, warn};

/// Largest request head read from a scraper.
const MAX_REQUEST: usize = 8 * 1024;
/// Time a scraper has to send its request and read the answer.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Scrapes served at once; more wait in the accept queue.
const MAX_SCRAPES: usize = 8;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandName {
    command: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Scope {
    scope: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RateLabels {
    budget: String,
    scope: String,
}

type HistogramFamily = Family<CommandName, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Every metric of one server process. Cheap to share (`Arc`); all updates are atomic.
pub struct Metrics {
    registry: Mutex<Registry>,
    sessions_open: Gauge,
    commands: Family<CommandLabels, Counter>,
    latency: HistogramFamily,
    login_failures: Family<Reason, Counter>,
    lockouts: Family<Scope, Counter>,
    connections_refused: Family<Reason, Counter>,
    rate_limited: Family<RateLabels, Counter>,
    certs_expiring: Gauge,
    journal_lag: Gauge,
    last_published_serial: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let sessions_open = Gauge::default();
        registry.register(
            "eppd_sessions_open",
            "EPP sessions (TLS connections past the handshake) open on this frontend",
            sessions_open.clone(),
        );
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register(
            "eppd_commands",
            "EPP commands answered, by command and result code",
            commands.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "eppd_command_duration_seconds",
            "Time from a command's last byte to its answer, by command",
            latency.clone(),
        );
        let login_failures = Family::<Reason, Counter>::default();
        registry.register(
            "eppd_login_failures",
            "Failed or refused logins, by reason (one login can count under several reasons)",
            login_failures.clone(),
        );
        let lockouts = Family::<Scope, Counter>::default();
        registry.register(
            "eppd_login_lockouts",
            "Login lock-outs started, by what is locked (clid, source, certificate)",
            lockouts.clone(),
        );
        let connections_refused = Family::<Reason, Counter>::default();
        registry.register(
            "eppd_connections_refused",
            "Connections closed at accept, before TLS, by reason (connection limit, pre-login pool, source budget)",
            connections_refused.clone(),
        );
        let rate_limited = Family::<RateLabels, Counter>::default();
        registry.register(
            "eppd_commands_rate_limited",
            "Commands refused (2308) because a rate limit was exhausted, by budget (check, transform) and scope (registrar, session)",
            rate_limited.clone(),
        );
        let certs_expiring = Gauge::default();
        registry.register(
            "eppd_client_certs_expiring",
            "Pinned client certificates expiring within the warning window (or expired)",
            certs_expiring.clone(),
        );
        let journal_lag = Gauge::default();
        registry.register(
            "eppd_zone_journal_lag",
            "Delegation journal entries not yet published to the zone (set by the zone publisher)",
            journal_lag.clone(),
        );
        let last_published_serial = Gauge::default();
        registry.register(
            "eppd_zone_last_published_serial",
            "SOA serial of the last zone publication (set by the zone publisher)",
            last_published_serial.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            sessions_open,
            commands,
            latency,
            login_failures,
            lockouts,
            connections_refused,
            rate_limited,
            certs_expiring,
            journal_lag,
            last_published_serial,
        }
    }

    /// Registers one more gauge and returns it (a handle: set it from anywhere). The hook for
    /// code outside the frontend that runs in the same process.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        let g = Gauge::default();
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register(name, help, g.clone());
        g
    }

    /// The zone publisher's journal lag gauge.
    pub fn zone_journal_lag(&self) -> &Gauge {
        &self.journal_lag
    }

    /// The zone publisher's last published serial gauge.
    pub fn zone_last_published_serial(&self) -> &Gauge {
        &self.last_published_serial
    }

    pub(crate) fn session_opened(self: &Arc<Self>) -> SessionGuard {
        self.sessions_open.inc();
        SessionGuard(Arc::clone(self))
    }

    pub(crate) fn command(&self, command: &str, code: u16, took: Duration) {
        self.commands
            .get_or_create(&CommandLabels {
                command: command.to_owned(),
                code: code.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&CommandName {
                command: command.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn login_failure(&self, reason: &str) {
        self.login_failures
            .get_or_create(&Reason {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(crate) fn lockout(&self, scope: &str) {
        self.lockouts
            .get_or_create(&Scope {
                scope: scope.to_owned(),
            })
            .inc();
    }

    pub(crate) fn connection_refused(&self, reason: &str) {
        self.connections_refused
            .get_or_create(&Reason {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(crate) fn rate_limited(&self, budget: &str, scope: &str) {
        self.rate_limited
            .get_or_create(&RateLabels {
                budget: budget.to_owned(),
                scope: scope.to_owned(),
            })
            .inc();
    }

    pub(crate) fn set_certs_expiring(&self, n: usize) {
        self.certs_expiring
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            warn!(error = %e, "cannot encode metrics");
        }
        out
    }
}

/// Counts one open session until dropped.
#[derive(Debug)]
pub(crate) struct SessionGuard(Arc<Metrics>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.sessions_open.dec();
    }
}

/// Serves `GET /metrics` on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPES));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, peer)) => {
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    if let Err(e) =
                        tokio::time::timeout(SCRAPE_TIMEOUT, scrape(stream, &metrics)).await
                    {
                        debug!(%peer, error = %e, "metrics request timed out");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                warn!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Binds the metrics listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

async fn scrape(mut stream: TcpStream, metrics: &Metrics) {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n")
            || head.windows(2).any(|w| w == b"\n\n")
            || head.len() >= MAX_REQUEST
        {
            break;
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (method, path) = (words.next(), words.next());
    let (status, content_type, body) = match (method, path) {
        (Some("GET"), Some("/metrics")) => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        (Some("GET"), Some(_)) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "try /metrics\n".to_owned(),
        ),
        _ => (
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "bad request\n".to_owned(),
        ),
    };
    let answer = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_was_counted() {
        let m = Arc::new(Metrics::new());
        let guard = m.session_opened();
        m.command("domain:check", 1000, Duration::from_millis(3));
        m.login_failure("bad_password");
        m.zone_last_published_serial().set(2024010101);
        let extra = m.gauge("zonegen_test_gauge", "A test gauge");
        extra.set(7);
        let text = m.render();
        assert!(text.contains("eppd_sessions_open 1"), "{text}");
        assert!(
            text.contains(r#"eppd_commands_total{command="domain:check",code="1000"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"eppd_command_duration_seconds_count{command="domain:check"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"eppd_login_failures_total{reason="bad_password"} 1"#),
            "{text}"
        );
        assert!(text.contains("eppd_zone_last_published_serial 2024010101"));
        assert!(text.contains("zonegen_test_gauge 7"));
        drop(guard);
        assert!(m.render().contains("eppd_sessions_open 0"));
    }

    #[tokio::test]
    async fn http_endpoint() {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let m = Arc::new(Metrics::new());
        let task = tokio::spawn(serve(listener, Arc::clone(&m)));
        let get = |path: &'static str| async move {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .expect("write");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("read");
            out
        };
        let ok = get("/metrics").await;
        assert!(ok.starts_with("HTTP/1.0 200 OK\r\n"), "{ok}");
        assert!(ok.contains("eppd_sessions_open 0"));
        assert!(ok.trim_end().ends_with("# EOF"));
        let missing = get("/").await;
        assert!(missing.starts_with("HTTP/1.0 404"), "{missing}");
        task.abort();
    }
}
