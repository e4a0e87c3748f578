//! Counters and gauges of the publisher, readable by the server's metrics endpoint.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Shared (behind an `Arc`) between the publisher and whoever exports metrics.
#[derive(Debug, Default)]
pub struct PublisherMetrics {
    last_serial: AtomicU64,
    last_position: AtomicI64,
    last_publish_unix_ms: AtomicU64,
    last_lag_ms: AtomicU64,
    max_lag_ms: AtomicU64,
    batches_published: AtomicU64,
    updates_sent: AtomicU64,
    kicks: AtomicU64,
    full_reloads: AtomicU64,
    drift_alarms: AtomicU64,
    held_batches: AtomicU64,
    lock_holds: AtomicU64,
    is_leader: AtomicBool,
}

/// A plain copy of the metrics at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// SOA serial last published (0: none yet).
    pub last_serial: u64,
    /// Journal position last applied.
    pub last_position: i64,
    pub last_publish_unix_ms: u64,
    /// From the oldest change of the last batch being committed to the UPDATE being acked.
    pub last_lag_ms: u64,
    pub max_lag_ms: u64,
    pub batches_published: u64,
    pub updates_sent: u64,
    /// Times the primary's zone events were kicked (`kick_command`) for a slow UPDATE.
    pub kicks: u64,
    pub full_reloads: u64,
    /// Reconciliations that found the served zone different from the generated one.
    pub drift_alarms: u64,
    /// Batches waiting for an operator's approval (0 or 1).
    pub held_batches: u64,
    /// Batches held because a registry-locked delegation would have changed.
    pub lock_holds: u64,
    pub is_leader: bool,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl PublisherMetrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            last_serial: self.last_serial.load(Ordering::Relaxed),
            last_position: self.last_position.load(Ordering::Relaxed),
            last_publish_unix_ms: self.last_publish_unix_ms.load(Ordering::Relaxed),
            last_lag_ms: self.last_lag_ms.load(Ordering::Relaxed),
            max_lag_ms: self.max_lag_ms.load(Ordering::Relaxed),
            batches_published: self.batches_published.load(Ordering::Relaxed),
            updates_sent: self.updates_sent.load(Ordering::Relaxed),
            kicks: self.kicks.load(Ordering::Relaxed),
            full_reloads: self.full_reloads.load(Ordering::Relaxed),
            drift_alarms: self.drift_alarms.load(Ordering::Relaxed),
            held_batches: self.held_batches.load(Ordering::Relaxed),
            lock_holds: self.lock_holds.load(Ordering::Relaxed),
            is_leader: self.is_leader.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn published(&self, serial: u32, position: i64, lag_ms: Option<u64>) {
        self.last_serial.store(u64::from(serial), Ordering::Relaxed);
        self.last_position.store(position, Ordering::Relaxed);
        self.last_publish_unix_ms.store(now_ms(), Ordering::Relaxed);
        self.batches_published.fetch_add(1, Ordering::Relaxed);
        if let Some(lag) = lag_ms {
            self.last_lag_ms.store(lag, Ordering::Relaxed);
            self.max_lag_ms.fetch_max(lag, Ordering::Relaxed);
        }
    }

    pub(crate) fn position(&self, position: i64) {
        self.last_position.store(position, Ordering::Relaxed);
    }

    pub(crate) fn serial(&self, serial: u32) {
        self.last_serial.store(u64::from(serial), Ordering::Relaxed);
    }

    pub(crate) fn update_sent(&self) {
        self.updates_sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn kick(&self) {
        self.kicks.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn full_reload(&self) {
        self.full_reloads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn drift(&self) {
        self.drift_alarms.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn held(&self, held: bool) {
        self.held_batches.store(u64::from(held), Ordering::Relaxed);
    }

    pub(crate) fn lock_hold(&self) {
        self.lock_holds.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn leader(&self, leader: bool) {
        self.is_leader.store(leader, Ordering::Relaxed);
    }
}

impl MetricsSnapshot {
    /// The Prometheus text exposition format (version 0.0.4), labelled with the zone.
    pub fn to_prometheus(&self, zone: &str) -> String {
        use std::fmt::Write as _;
        let zone: String = zone
            .chars()
            .filter(|c| !matches!(c, '"' | '\\' | '\n'))
            .collect();
        let rows: [(&str, &str, &str, u64); 13] = [
            (
                "zonegen_serial",
                "gauge",
                "SOA serial last published",
                self.last_serial,
            ),
            (
                "zonegen_journal_position",
                "gauge",
                "journal position last applied",
                self.last_position.max(0) as u64,
            ),
            (
                "zonegen_last_publish_timestamp_ms",
                "gauge",
                "unix time of the last publication, ms",
                self.last_publish_unix_ms,
            ),
            (
                "zonegen_lag_ms",
                "gauge",
                "oldest change of the last batch committed -> UPDATE acknowledged, ms",
                self.last_lag_ms,
            ),
            (
                "zonegen_lag_max_ms",
                "gauge",
                "largest lag seen, ms",
                self.max_lag_ms,
            ),
            (
                "zonegen_batches_total",
                "counter",
                "batches published",
                self.batches_published,
            ),
            (
                "zonegen_updates_total",
                "counter",
                "UPDATE messages acknowledged",
                self.updates_sent,
            ),
            (
                "zonegen_primary_kicks_total",
                "counter",
                "slow UPDATEs for which the kick command ran",
                self.kicks,
            ),
            (
                "zonegen_full_reloads_total",
                "counter",
                "full reloads",
                self.full_reloads,
            ),
            (
                "zonegen_drift_alarms_total",
                "counter",
                "reconciliations that found drift",
                self.drift_alarms,
            ),
            (
                "zonegen_held_batches",
                "gauge",
                "batches waiting for operator approval",
                self.held_batches,
            ),
            (
                "zonegen_lock_holds_total",
                "counter",
                "batches held because a registry-locked delegation would change",
                self.lock_holds,
            ),
            (
                "zonegen_leader",
                "gauge",
                "1 if this process publishes",
                u64::from(self.is_leader),
            ),
        ];
        let mut out = String::with_capacity(2048);
        for (name, kind, help, value) in rows {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name}{{zone=\"{zone}\"}} {value}");
        }
        out
    }
}

/// Serves `GET /metrics` (Prometheus text) on `listener` until `shutdown` turns true. Each
/// connection gets one answer; a request head is read with a 5 s timeout and at most 8 KiB.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<PublisherMetrics>,
    zone: String,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let metrics = metrics.clone();
        let zone = zone.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                answer(stream, &metrics, &zone),
            )
            .await;
        });
    }
}

async fn answer(
    mut stream: tokio::net::TcpStream,
    metrics: &PublisherMetrics,
    zone: &str,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        if len == buf.len() {
            break;
        }
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let first = head.lines().next().unwrap_or("");
    let (status, body) = if first.starts_with("GET /metrics ") || first == "GET /metrics" {
        ("200 OK", metrics.snapshot().to_prometheus(zone))
    } else {
        ("404 Not Found", "not found\n".to_owned())
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_prometheus_text() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let metrics = std::sync::Arc::new(PublisherMetrics::default());
        metrics.published(2_000_000_000, 42, Some(120));
        metrics.leader(true);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(serve(listener, metrics, "tld.".into(), rx));
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .expect("write");
            let mut out = String::new();
            s.read_to_string(&mut out).await.expect("read");
            out
        };
        let page = get("/metrics").await;
        assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
        assert!(
            page.contains("zonegen_serial{zone=\"tld.\"} 2000000000"),
            "{page}"
        );
        assert!(
            page.contains("zonegen_journal_position{zone=\"tld.\"} 42"),
            "{page}"
        );
        assert!(page.contains("zonegen_lag_ms{zone=\"tld.\"} 120"), "{page}");
        assert!(page.contains("zonegen_leader{zone=\"tld.\"} 1"), "{page}");
        assert!(get("/other").await.starts_with("HTTP/1.1 404"));
        tx.send(true).expect("shutdown");
        server.await.expect("server ends");
    }
}
