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
    full_reloads: AtomicU64,
    drift_alarms: AtomicU64,
    held_batches: AtomicU64,
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
    pub full_reloads: u64,
    /// Reconciliations that found the served zone different from the generated one.
    pub drift_alarms: u64,
    /// Batches waiting for an operator's approval (0 or 1).
    pub held_batches: u64,
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
            full_reloads: self.full_reloads.load(Ordering::Relaxed),
            drift_alarms: self.drift_alarms.load(Ordering::Relaxed),
            held_batches: self.held_batches.load(Ordering::Relaxed),
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

    pub(crate) fn full_reload(&self) {
        self.full_reloads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn drift(&self) {
        self.drift_alarms.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn held(&self, held: bool) {
        self.held_batches.store(u64::from(held), Ordering::Relaxed);
    }

    pub(crate) fn leader(&self, leader: bool) {
        self.is_leader.store(leader, Ordering::Relaxed);
    }
}
