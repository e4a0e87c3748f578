//! Statistics: one latency histogram (hdrhistogram, microseconds) and outcome counters per
//! operation, recorded per session without locks and merged at the end; the live progress
//! counters; and the report (text or JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Largest latency the histograms hold (longer ones are clamped to it): one hour.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An EPP response with this result code (1xxx success, 2xxx failure).
    Code(u16),
    /// A greeting (the answer to `<hello/>`), an echoed frame, or a committed insert.
    Ok,
    /// No usable answer: the session or connection is lost; the kind names why.
    Failed(&'static str),
}

impl Outcome {
    pub fn is_error(self) -> bool {
        match self {
            Outcome::Code(c) => c >= 2000,
            Outcome::Ok => false,
            Outcome::Failed(_) => true,
        }
    }

    /// The key under which the outcome is counted.
    fn key(self) -> String {
        match self {
            Outcome::Code(c) => c.to_string(),
            Outcome::Ok => "ok".to_owned(),
            Outcome::Failed(kind) => kind.to_owned(),
        }
    }
}

/// Histogram and counters of one operation.
#[derive(Debug, Clone)]
pub struct OpStats {
    hist: Histogram<u64>,
    /// Answers by EPP result code (`"1000"`) or `"ok"`.
    codes: BTreeMap<String, u64>,
    /// Requests without an answer, by kind (`"timeout"`, `"io"`, …).
    failures: BTreeMap<String, u64>,
}

impl Default for OpStats {
    fn default() -> Self {
        Self::new()
    }
}

impl OpStats {
    pub fn new() -> Self {
        // 3 significant figures from 1 µs to an hour: about 200 KiB per histogram.
        let hist =
            Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant bounds are valid");
        Self {
            hist,
            codes: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    /// Records an answered request with its latency, or a failure (no latency: it never got
    /// an answer; the failure count says so).
    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        match outcome {
            Outcome::Failed(kind) => *self.failures.entry(kind.to_owned()).or_default() += 1,
            _ => {
                let us = u64::try_from(latency.as_micros())
                    .unwrap_or(u64::MAX)
                    .clamp(1, MAX_LATENCY_US);
                self.hist.saturating_record(us);
                *self.codes.entry(outcome.key()).or_default() += 1;
            }
        }
    }

    pub fn merge(&mut self, other: &OpStats) {
        // Same bounds on both sides, so `add` cannot fail; fall back to value-by-value.
        if self.hist.add(&other.hist).is_err() {
            for v in other.hist.iter_recorded() {
                self.hist
                    .saturating_record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
        for (k, v) in &other.codes {
            *self.codes.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.failures {
            *self.failures.entry(k.clone()).or_default() += v;
        }
    }

    /// Requests without an answer.
    pub fn failures_total(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Answered requests.
    pub fn answered(&self) -> u64 {
        self.hist.len()
    }

    /// Answers with a 2xxx code plus requests without an answer.
    pub fn errors(&self) -> u64 {
        let coded: u64 = self
            .codes
            .iter()
            .filter(|(k, _)| k.as_str() >= "2000" && k.len() == 4)
            .map(|(_, v)| v)
            .sum();
        coded + self.failures.values().sum::<u64>()
    }

    pub fn latency(&self) -> Latency {
        if self.hist.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            min_ms: ms(self.hist.min()),
            mean_ms: self.hist.mean() / 1000.0,
            p50_ms: ms(self.hist.value_at_quantile(0.50)),
            p90_ms: ms(self.hist.value_at_quantile(0.90)),
            p99_ms: ms(self.hist.value_at_quantile(0.99)),
            p999_ms: ms(self.hist.value_at_quantile(0.999)),
            max_ms: ms(self.hist.max()),
        }
    }

    fn report(&self, seconds: f64) -> OpReport {
        let answered = self.answered();
        OpReport {
            requests: answered + self.failures.values().sum::<u64>(),
            answered,
            throughput: if seconds > 0.0 {
                answered as f64 / seconds
            } else {
                0.0
            },
            errors: self.errors(),
            latency: self.latency(),
            codes: self.codes.clone(),
            failures: self.failures.clone(),
        }
    }
}

/// The statistics of one session (or of a whole run, once merged), by operation name.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    ops: BTreeMap<&'static str, OpStats>,
}

impl Recorder {
    pub fn record(&mut self, op: &'static str, outcome: Outcome, latency: Duration) {
        self.ops.entry(op).or_default().record(outcome, latency);
    }

    pub fn merge(&mut self, other: &Recorder) {
        for (op, s) in &other.ops {
            self.ops.entry(op).or_default().merge(s);
        }
    }

    pub fn op(&self, name: &str) -> Option<&OpStats> {
        self.ops.get(name)
    }

    /// Every operation merged into one.
    pub fn total(&self) -> OpStats {
        let mut t = OpStats::new();
        for s in self.ops.values() {
            t.merge(s);
        }
        t
    }
}

/// Latency percentiles in milliseconds (3 significant figures).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    pub min_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The figures of one operation.
#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    /// Measured requests (answered + failed).
    pub requests: u64,
    pub answered: u64,
    /// Answered requests per second of the measured window.
    pub throughput: f64,
    /// 2xxx answers + failures.
    pub errors: u64,
    pub latency: Latency,
    /// Answers by EPP result code (`"1000"`, `"2302"`) or `"ok"` (greeting, echo, insert).
    pub codes: BTreeMap<String, u64>,
    /// Requests without an answer, by kind.
    pub failures: BTreeMap<String, u64>,
}

/// The report of a run; `--json` prints it as is.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    pub scenario: String,
    /// `open-loop` (fixed schedule, latency from the scheduled time) or `closed-loop`.
    pub mode: &'static str,
    pub sessions: u32,
    /// Target total rate (requests per second); `null` in closed-loop mode.
    pub target_rate: Option<f64>,
    pub warmup_s: f64,
    pub duration_s: f64,
    /// Length of the measured window the throughputs are divided by.
    pub measured_s: f64,
    /// All operations together.
    pub total: OpReport,
    /// Per operation (`hello`, `domain:check`, `login`, `echo`, `insert`, …).
    pub ops: BTreeMap<String, OpReport>,
    /// Requests scheduled before the end but not sent because the run stopped behind schedule
    /// (the server could not keep up with the target rate).
    pub unsent: u64,
    /// Sessions that connected and were lost before the end.
    pub sessions_lost: u64,
    /// Whether the hard maximum duration cut the run short.
    pub hit_max_time: bool,
    /// Scenario-specific facts (frame sizes, database kind, RSS hints, …).
    pub info: BTreeMap<String, serde_json::Value>,
}

impl Report {
    pub fn new(
        scenario: &str,
        plan: &crate::schedule::Plan,
        measured: Duration,
        rec: &Recorder,
    ) -> Report {
        let seconds = measured.as_secs_f64();
        Report {
            tool: "epp-load",
            version: env!("CARGO_PKG_VERSION"),
            scenario: scenario.to_owned(),
            mode: match plan.rate {
                crate::schedule::Rate::PerSecond(_) => "open-loop",
                crate::schedule::Rate::Max => "closed-loop",
            },
            sessions: plan.sessions,
            target_rate: plan.rate.per_second(),
            warmup_s: plan.warmup.as_secs_f64(),
            duration_s: plan.duration.as_secs_f64(),
            measured_s: seconds,
            total: rec.total().report(seconds),
            ops: rec
                .ops
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.report(seconds)))
                .collect(),
            unsent: 0,
            sessions_lost: 0,
            hit_max_time: false,
            info: BTreeMap::new(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise report: {e}\"}}"))
    }

    /// The human-readable form.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let rate = self
            .target_rate
            .map_or("max (closed loop)".to_owned(), |r| {
                format!("{r:.0}/s (open loop)")
            });
        let _ = writeln!(
            s,
            "scenario {}: {} sessions, target {rate}, warm-up {:.1} s, measured {:.2} s",
            self.scenario, self.sessions, self.warmup_s, self.measured_s
        );
        let _ = writeln!(
            s,
            "{:<16} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "operation", "answered", "throughput", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
        );
        let mut line = |name: &str, r: &OpReport| {
            let _ = writeln!(
                s,
                "{:<16} {:>10} {:>10.0}/s {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>8}",
                name,
                r.answered,
                r.throughput,
                r.latency.p50_ms,
                r.latency.p90_ms,
                r.latency.p99_ms,
                r.latency.max_ms,
                r.errors
            );
        };
        for (name, r) in &self.ops {
            line(name, r);
        }
        if self.ops.len() > 1 {
            line("all", &self.total);
        }
        let codes: Vec<String> = self
            .total
            .codes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(
            s,
            "answers: {}",
            if codes.is_empty() {
                "none".to_owned()
            } else {
                codes.join(", ")
            }
        );
        if !self.total.failures.is_empty() {
            let f: Vec<String> = self
                .total
                .failures
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(s, "failures: {}", f.join(", "));
        }
        if self.unsent > 0 {
            let _ = writeln!(s, "unsent (behind schedule at the end): {}", self.unsent);
        }
        if self.sessions_lost > 0 {
            let _ = writeln!(s, "sessions lost: {}", self.sessions_lost);
        }
        if self.hit_max_time {
            let _ = writeln!(s, "stopped by the hard maximum duration");
        }
        for (k, v) in &self.info {
            let _ = writeln!(s, "{k}: {v}");
        }
        s
    }
}

/// Live counters for the progress line, shared by every session.
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub errors: AtomicU64,
    /// Largest lag behind schedule (µs) since the last progress line.
    pub max_lag_us: AtomicU64,
    pub stop: AtomicBool,
}

impl Progress {
    pub fn note(&self, outcome: Outcome, lag: Duration) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if outcome.is_error() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let lag = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.max_lag_us.fetch_max(lag, Ordering::Relaxed);
    }

    /// Prints a line on stderr each second until `stop` is set (or `limit` passes).
    pub fn spawn_printer(
        self: &Arc<Self>,
        label: String,
        plan_start: Instant,
        warmup: Duration,
        limit: Duration,
    ) {
        let p = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            let mut last = 0;
            let began = Instant::now();
            while !p.stop.load(Ordering::Relaxed) && began.elapsed() < limit {
                tick.tick().await;
                if p.stop.load(Ordering::Relaxed) {
                    break;
                }
                let done = p.done.load(Ordering::Relaxed);
                let errors = p.errors.load(Ordering::Relaxed);
                let lag = p.max_lag_us.swap(0, Ordering::Relaxed);
                let t = Instant::now().saturating_duration_since(plan_start);
                let phase = if t < warmup { "warm-up" } else { "measure" };
                eprintln!(
                    "epp-load {label}: {:>6.1}s {phase:<7} {:>8}/s  total {done}  errors {errors}  max lag {:.1} ms",
                    t.as_secs_f64(),
                    done - last,
                    lag as f64 / 1000.0
                );
                last = done;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut s = OpStats::new();
        for ms in 1..=100u64 {
            s.record(Outcome::Code(1000), Duration::from_millis(ms));
        }
        let l = s.latency();
        // hdrhistogram keeps 3 significant figures.
        assert!((l.p50_ms - 50.0).abs() < 0.1, "{l:?}");
        assert!((l.p90_ms - 90.0).abs() < 0.1, "{l:?}");
        assert!((l.p99_ms - 99.0).abs() < 0.1, "{l:?}");
        assert!((l.max_ms - 100.0).abs() < 0.1, "{l:?}");
        assert!((l.min_ms - 1.0).abs() < 0.01, "{l:?}");
        assert_eq!(s.answered(), 100);
        assert_eq!(s.errors(), 0);
    }

    #[test]
    fn codes_failures_and_errors() {
        let mut s = OpStats::new();
        let d = Duration::from_micros(300);
        s.record(Outcome::Code(1000), d);
        s.record(Outcome::Code(2302), d);
        s.record(Outcome::Code(2302), d);
        s.record(Outcome::Ok, d);
        s.record(Outcome::Failed("timeout"), d);
        assert_eq!(s.answered(), 4);
        assert_eq!(s.errors(), 3);
        let r = s.report(2.0);
        assert_eq!(r.requests, 5);
        assert_eq!(r.codes.get("2302"), Some(&2));
        assert_eq!(r.codes.get("ok"), Some(&1));
        assert_eq!(r.failures.get("timeout"), Some(&1));
        assert!((r.throughput - 2.0).abs() < 1e-9);
    }

    #[test]
    fn merging_sessions_adds_up() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for i in 0..10u64 {
            a.record(
                "domain:check",
                Outcome::Code(1000),
                Duration::from_micros(100 + i),
            );
            b.record(
                "domain:check",
                Outcome::Code(1000),
                Duration::from_millis(20),
            );
            b.record(
                "domain:create",
                Outcome::Code(2400),
                Duration::from_millis(5),
            );
        }
        a.merge(&b);
        assert_eq!(a.op("domain:check").map(OpStats::answered), Some(20));
        assert_eq!(a.op("domain:create").map(OpStats::errors), Some(10));
        let t = a.total();
        assert_eq!(t.answered(), 30);
        assert!((t.latency().max_ms - 20.0).abs() < 0.05);
    }

    #[test]
    fn extreme_latencies_are_clamped_not_lost() {
        let mut s = OpStats::new();
        s.record(Outcome::Ok, Duration::ZERO);
        s.record(Outcome::Ok, Duration::from_secs(100_000));
        assert_eq!(s.answered(), 2);
        assert!(s.latency().max_ms >= 3_599_000.0);
    }

    #[test]
    fn report_serialises_with_every_section() {
        let mut rec = Recorder::default();
        rec.record("hello", Outcome::Ok, Duration::from_micros(250));
        let plan = crate::schedule::Plan {
            start: Instant::now(),
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            rate: crate::schedule::Rate::PerSecond(100.0),
            sessions: 2,
            count: None,
        };
        let r = Report::new("hello", &plan, Duration::from_secs(1), &rec);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        for key in [
            "scenario",
            "mode",
            "total",
            "ops",
            "unsent",
            "sessions_lost",
            "measured_s",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        assert_eq!(v["mode"], "open-loop");
        assert_eq!(v["ops"]["hello"]["answered"], 1);
        assert!(r.to_text().contains("hello"));
    }
}
