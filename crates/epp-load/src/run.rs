//! The session driver shared by every scenario and baseline: each session follows its
//! [`Schedule`], sends one request per slot, waits for the answer within the request timeout,
//! and records the latency from the scheduled time. Every loop is bounded by the plan's end,
//! its count and the hard maximum duration.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::schedule::{latency, Plan, Schedule, Slot};
use crate::stats::{Outcome, Progress, Recorder, Report};

/// One session's request loop body.
pub trait Worker: Send + 'static {
    /// Chooses the request for slot `n` and prepares its bytes; returns the operation name
    /// it is counted under.
    fn prepare(&mut self, n: u64) -> &'static str;

    /// Sends the prepared request and waits for its answer.
    fn call(&mut self) -> impl Future<Output = Outcome> + Send;

    /// False once the session cannot go on (connection lost).
    fn alive(&self) -> bool;

    /// Ends the session politely (logout); bounded by the driver.
    fn finish(self) -> impl Future<Output = ()> + Send;
}

/// How a run is driven.
#[derive(Debug, Clone)]
pub struct Driver {
    pub plan: Plan,
    /// Longest wait for one answer; a session whose answer is late is closed.
    pub request_timeout: Duration,
    /// Hard limit from the plan's start: nothing is sent after it and the run returns.
    pub max_time: Duration,
    pub progress: Arc<Progress>,
}

/// What one session did.
#[derive(Debug, Default)]
pub struct SessionResult {
    pub rec: Recorder,
    /// Slots before the end that were never sent (behind schedule, or session lost).
    pub unsent: u64,
    pub lost: bool,
    pub hit_max_time: bool,
    /// Arrival of the last answer.
    pub last_answer: Option<Instant>,
}

/// The merged result of all sessions.
#[derive(Debug, Default)]
pub struct RunResult {
    pub rec: Recorder,
    pub unsent: u64,
    pub sessions_lost: u64,
    pub hit_max_time: bool,
    pub last_answer: Option<Instant>,
}

impl RunResult {
    pub fn add(&mut self, s: SessionResult) {
        self.rec.merge(&s.rec);
        self.unsent += s.unsent;
        self.sessions_lost += u64::from(s.lost);
        self.hit_max_time |= s.hit_max_time;
        self.last_answer = self.last_answer.max(s.last_answer);
    }

    /// The measured window: the planned duration, or (count-limited runs that finished early)
    /// up to the last answer.
    pub fn measured(&self, plan: &Plan) -> Duration {
        match (plan.count, self.last_answer) {
            (Some(_), Some(last)) => last
                .saturating_duration_since(plan.measure_start())
                .min(plan.duration)
                .max(Duration::from_millis(1)),
            _ => plan.duration,
        }
    }

    pub fn into_report(self, scenario: &str, plan: &Plan) -> Report {
        let mut r = Report::new(scenario, plan, self.measured(plan), &self.rec);
        r.unsent = self.unsent;
        r.sessions_lost = self.sessions_lost;
        r.hit_max_time = self.hit_max_time;
        r
    }
}

impl Driver {
    /// Instant after which nothing more happens.
    pub fn hard_deadline(&self) -> Instant {
        self.plan.start + self.max_time
    }

    /// Runs one session to the end of its schedule.
    pub async fn drive<W: Worker>(&self, mut w: W, schedule: Schedule) -> SessionResult {
        let mut res = SessionResult::default();
        let hard = self.hard_deadline();
        let end = self.plan.end();
        let mut k: u64 = 0;
        // Closed loop has no slot times: everyone starts together at the plan's start.
        tokio::time::sleep_until(self.plan.start.min(hard)).await;
        while let Some(slot) = schedule.slot(k) {
            let now = Instant::now();
            if now >= hard {
                res.hit_max_time = true;
                res.unsent = schedule.remaining_from(k);
                break;
            }
            if now >= end {
                // Open loop: these slots were due before the end but the session was behind.
                res.unsent = schedule.remaining_from(k);
                break;
            }
            if let Some(wake) = schedule.wake_at(&slot) {
                if wake > now {
                    tokio::time::sleep_until(wake.min(hard)).await;
                    if Instant::now() >= hard {
                        continue; // reported at the top of the loop
                    }
                }
            }
            self.one(&mut w, &schedule, slot, &mut res).await;
            k += 1;
            if res.lost || !w.alive() {
                res.lost = true;
                res.unsent = schedule.remaining_from(k);
                break;
            }
        }
        if !res.lost && w.alive() {
            let _ = tokio::time::timeout(Duration::from_secs(2), w.finish()).await;
        }
        res
    }

    async fn one<W: Worker>(
        &self,
        w: &mut W,
        schedule: &Schedule,
        slot: Slot,
        res: &mut SessionResult,
    ) {
        let op = w.prepare(slot.n);
        let sent = Instant::now();
        let budget = self
            .request_timeout
            .min(self.hard_deadline().saturating_duration_since(sent));
        let outcome = match tokio::time::timeout(budget, w.call()).await {
            Ok(o) => o,
            Err(_) => {
                res.hit_max_time |= Instant::now() >= self.hard_deadline();
                Outcome::Failed("timeout")
            }
        };
        let received = Instant::now();
        if matches!(outcome, Outcome::Failed("timeout")) {
            res.lost = true; // the answer may still come: the session is out of step
        }
        if schedule.measured(&slot, sent) {
            res.rec
                .record(op, outcome, latency(slot.at, sent, received));
            res.last_answer = Some(received);
        }
        let lag = slot
            .at
            .map_or(Duration::ZERO, |at| sent.saturating_duration_since(at));
        self.progress.note(outcome, lag);
    }

    /// Runs every worker as its own task (worker `i` follows session `i`'s schedule) and merges
    /// their results.
    pub async fn run_all<W: Worker>(self: &Arc<Self>, workers: Vec<W>) -> RunResult {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, w) in workers.into_iter().enumerate() {
            let d = Arc::clone(self);
            let schedule = self.plan.session(u32::try_from(i).unwrap_or(u32::MAX));
            tasks.spawn(async move { d.drive(w, schedule).await });
        }
        let mut all = RunResult::default();
        // Every session returns by the hard deadline (its waits are bounded by it); the
        // outer timeout is a second fence.
        let fence = self.hard_deadline() + Duration::from_secs(5);
        while let Ok(Some(joined)) = tokio::time::timeout_at(fence, tasks.join_next()).await {
            if let Ok(r) = joined {
                all.add(r);
            } else {
                all.sessions_lost += 1;
            }
        }
        if !tasks.is_empty() {
            all.hit_max_time = true;
            all.sessions_lost += tasks.len() as u64;
            tasks.abort_all();
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Rate;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Answers after a fixed delay; fails (and dies) at request `fail_at`.
    struct Fake {
        delay: Duration,
        fail_at: Option<u64>,
        n: u64,
        alive: bool,
        calls: Arc<AtomicU64>,
    }

    impl Worker for Fake {
        fn prepare(&mut self, n: u64) -> &'static str {
            self.n = n;
            "fake"
        }
        async fn call(&mut self) -> Outcome {
            self.calls.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.delay).await;
            if Some(self.n) == self.fail_at {
                self.alive = false;
                return Outcome::Failed("io");
            }
            Outcome::Code(1000)
        }
        fn alive(&self) -> bool {
            self.alive
        }
        async fn finish(self) {}
    }

    fn driver(rate: Rate, sessions: u32, count: Option<u64>, duration_ms: u64) -> Arc<Driver> {
        Arc::new(Driver {
            plan: Plan {
                start: Instant::now(),
                warmup: Duration::ZERO,
                duration: Duration::from_millis(duration_ms),
                rate,
                sessions,
                count,
            },
            request_timeout: Duration::from_secs(5),
            max_time: Duration::from_secs(10),
            progress: Arc::new(Progress::default()),
        })
    }

    fn fakes(n: u32, delay: Duration, fail_at: Option<u64>, calls: &Arc<AtomicU64>) -> Vec<Fake> {
        (0..n)
            .map(|_| Fake {
                delay,
                fail_at,
                n: 0,
                alive: true,
                calls: Arc::clone(calls),
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn count_limited_run_sends_exactly_count() {
        let calls = Arc::new(AtomicU64::new(0));
        let d = driver(Rate::PerSecond(1000.0), 4, Some(40), 60_000);
        let r = d
            .run_all(fakes(4, Duration::from_micros(100), None, &calls))
            .await;
        assert_eq!(calls.load(Ordering::Relaxed), 40);
        assert_eq!(r.rec.total().answered(), 40);
        assert_eq!(r.unsent, 0);
        assert_eq!(r.sessions_lost, 0);
        assert_eq!(d.progress.done.load(Ordering::Relaxed), 40);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_server_makes_latency_grow_and_leaves_requests_unsent() {
        // One session, 100/s planned, but each answer takes 50 ms: the session can do 20/s.
        let calls = Arc::new(AtomicU64::new(0));
        let d = driver(Rate::PerSecond(100.0), 1, None, 1000);
        let r = d
            .run_all(fakes(1, Duration::from_millis(50), None, &calls))
            .await;
        let sent = calls.load(Ordering::Relaxed);
        assert!((19..=21).contains(&sent), "{sent}");
        assert_eq!(r.unsent + sent, 100);
        // The 20th request was scheduled at 190 ms and answered near 1000 ms.
        let max = r.rec.total().latency().max_ms;
        assert!(max > 700.0, "queueing must count: {max}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_session_stops_and_counts_its_remaining_slots() {
        let calls = Arc::new(AtomicU64::new(0));
        let d = driver(Rate::PerSecond(100.0), 2, None, 1000);
        let r = d
            .run_all(fakes(2, Duration::from_millis(1), Some(4), &calls))
            .await;
        assert_eq!(r.sessions_lost, 1);
        assert_eq!(r.rec.total().errors(), 1);
        // Session 0 sent slots 0, 2, 4 and died; its 47 other slots are unsent.
        assert_eq!(r.unsent, 47);
        assert_eq!(calls.load(Ordering::Relaxed), 53);
    }

    #[tokio::test(start_paused = true)]
    async fn closed_loop_is_bounded_by_time() {
        let calls = Arc::new(AtomicU64::new(0));
        let d = driver(Rate::Max, 2, None, 100);
        let r = d
            .run_all(fakes(2, Duration::from_millis(10), None, &calls))
            .await;
        let n = calls.load(Ordering::Relaxed);
        assert!((18..=22).contains(&n), "{n}");
        assert_eq!(r.rec.total().answered(), n);
    }

    #[tokio::test(start_paused = true)]
    async fn the_hard_maximum_stops_a_hung_server() {
        let calls = Arc::new(AtomicU64::new(0));
        let mut d = driver(Rate::PerSecond(10.0), 1, None, 60_000);
        Arc::get_mut(&mut d).unwrap().max_time = Duration::from_secs(2);
        Arc::get_mut(&mut d).unwrap().request_timeout = Duration::from_secs(30);
        let began = Instant::now();
        let r = d
            .run_all(fakes(1, Duration::from_secs(3600), None, &calls))
            .await;
        assert!(began.elapsed() <= Duration::from_secs(3));
        assert!(r.hit_max_time);
        assert_eq!(r.rec.total().failures_total(), 1);
    }
}
