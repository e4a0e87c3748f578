//! The open-loop scheduler.
//!
//! A run has a total target rate `R` shared by `S` sessions. Request number `n` (global, counted
//! from 0) is *scheduled* at `start + n / R` and belongs to session `n mod S`, so session `i`
//! sends requests `i, i + S, i + 2S, …`, each at a fixed time that does not depend on how fast
//! the server answered the previous one. Latency is measured from the scheduled time: if a
//! session is still waiting for an earlier answer, the queueing counts (no coordinated
//! omission, as in wrk2).
//!
//! Timers are coarse (tokio's have millisecond granularity), so a session wakes up to
//! [`SLACK`] *before* a slot and sends at once; a request sent early is measured from its actual
//! send time ([`latency`]), one sent late from its scheduled time. Either way the clock starts
//! no later than the request could have been sent.
//!
//! With [`Rate::Max`] there is no schedule: each session sends its next request as soon as the
//! previous answer arrived (closed loop), and latency is measured from the actual send.

use std::time::Duration;

use tokio::time::Instant;

/// How early a session may wake before a slot (tokio's timer granularity).
pub const SLACK: Duration = Duration::from_millis(1);

/// The target rate of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Total requests per second over all sessions (open loop).
    PerSecond(f64),
    /// As fast as each session can go (closed loop).
    Max,
}

impl Rate {
    /// Largest rate we accept (10 million per second).
    pub const MAX_PER_SECOND: f64 = 10_000_000.0;

    /// Parses `max` or a positive number of requests per second.
    pub fn parse(s: &str) -> Result<Rate, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Rate::Max);
        }
        let r: f64 = s
            .parse()
            .map_err(|_| format!("rate must be a number or \"max\", got {s:?}"))?;
        if !(r.is_finite() && r > 0.0 && r <= Self::MAX_PER_SECOND) {
            return Err(format!(
                "rate must be in (0, {}], got {s}",
                Self::MAX_PER_SECOND
            ));
        }
        Ok(Rate::PerSecond(r))
    }

    pub fn per_second(self) -> Option<f64> {
        match self {
            Rate::PerSecond(r) => Some(r),
            Rate::Max => None,
        }
    }
}

/// When a run starts, measures and stops, shared by every session.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub start: Instant,
    pub warmup: Duration,
    pub duration: Duration,
    pub rate: Rate,
    pub sessions: u32,
    /// At most this many requests in all (warm-up included).
    pub count: Option<u64>,
}

impl Plan {
    /// Start of the measured window.
    pub fn measure_start(&self) -> Instant {
        self.start + self.warmup
    }

    /// No request is sent at or after this instant.
    pub fn end(&self) -> Instant {
        self.start + self.warmup + self.duration
    }

    /// The schedule of one session.
    pub fn session(&self, index: u32) -> Schedule {
        Schedule { plan: *self, index }
    }
}

/// One slot of a session's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Global request number: unique over all sessions of a run (used for unique names).
    pub n: u64,
    /// Scheduled send time; `None` in closed-loop mode.
    pub at: Option<Instant>,
}

/// The slots of one session.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    plan: Plan,
    index: u32,
}

impl Schedule {
    /// The session's `k`-th slot, or `None` once past the count limit or (open loop) the end.
    pub fn slot(&self, k: u64) -> Option<Slot> {
        let sessions = u64::from(self.plan.sessions.max(1));
        let n = k
            .checked_mul(sessions)?
            .checked_add(u64::from(self.index))?;
        if self.plan.count.is_some_and(|c| n >= c) {
            return None;
        }
        match self.plan.rate {
            Rate::Max => Some(Slot { n, at: None }),
            Rate::PerSecond(r) => {
                let offset = Duration::try_from_secs_f64(n as f64 / r).ok()?;
                let at = self.plan.start.checked_add(offset)?;
                (at < self.plan.end()).then_some(Slot { n, at: Some(at) })
            }
        }
    }

    /// How many slots of this session fall before the end, from the `k`-th on (open loop);
    /// these are the requests left unsent when a run stops behind schedule.
    pub fn remaining_from(&self, k: u64) -> u64 {
        let Rate::PerSecond(r) = self.plan.rate else {
            return 0;
        };
        let sessions = u64::from(self.plan.sessions.max(1));
        // Slots with n < total, where total is the number of global slots before the end.
        let mut total = (self.plan.end() - self.plan.start).as_secs_f64() * r;
        total = total.ceil();
        let mut total = if total >= u64::MAX as f64 {
            u64::MAX
        } else {
            total as u64
        };
        if let Some(c) = self.plan.count {
            total = total.min(c);
        }
        let index = u64::from(self.index);
        let mine = if total > index {
            (total - index).div_ceil(sessions)
        } else {
            0
        };
        mine.saturating_sub(k)
    }

    /// When to wake up for a slot: [`SLACK`] before it (never before the run's start).
    pub fn wake_at(&self, slot: &Slot) -> Option<Instant> {
        slot.at
            .map(|at| at.checked_sub(SLACK).unwrap_or(at).max(self.plan.start))
    }

    /// Whether a request belongs to the measured window (not the warm-up). In closed-loop mode
    /// the actual send time decides.
    pub fn measured(&self, slot: &Slot, sent: Instant) -> bool {
        slot.at.unwrap_or(sent) >= self.plan.measure_start()
    }
}

/// The latency of a request: from the earlier of its scheduled and actual send times to the
/// arrival of its answer. Sending late (the session was busy) counts; sending early does not
/// make the latency look smaller than it was.
pub fn latency(scheduled: Option<Instant>, sent: Instant, received: Instant) -> Duration {
    let origin = scheduled.map_or(sent, |s| s.min(sent));
    received.saturating_duration_since(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: Rate, sessions: u32, secs: u64, count: Option<u64>) -> Plan {
        Plan {
            start: Instant::now(),
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(secs),
            rate,
            sessions,
            count,
        }
    }

    fn all_slots(p: &Plan) -> Vec<Slot> {
        let mut v = Vec::new();
        for i in 0..p.sessions {
            let s = p.session(i);
            let mut k = 0;
            while let Some(slot) = s.slot(k) {
                v.push(slot);
                k += 1;
                assert!(k < 10_000_000, "unbounded schedule");
            }
        }
        v
    }

    #[test]
    fn slots_are_evenly_spaced_and_interleaved() {
        let p = plan(Rate::PerSecond(1000.0), 4, 1, None);
        let s1 = p.session(1);
        let a = s1.slot(0).unwrap();
        let b = s1.slot(1).unwrap();
        assert_eq!(a.n, 1);
        assert_eq!(b.n, 5);
        // 1 ms apart globally, so 4 ms apart within a session.
        assert_eq!(a.at.unwrap() - p.start, Duration::from_millis(1));
        assert_eq!(b.at.unwrap() - a.at.unwrap(), Duration::from_millis(4));
    }

    #[test]
    fn every_request_number_is_used_once_and_the_total_matches_the_rate() {
        let p = plan(Rate::PerSecond(1000.0), 7, 2, None); // 1 s warm-up + 2 s = 3000 slots
        let mut ns: Vec<u64> = all_slots(&p).iter().map(|s| s.n).collect();
        ns.sort_unstable();
        assert_eq!(ns.len(), 3000);
        assert!(ns.iter().enumerate().all(|(i, n)| *n == i as u64));
        for i in 0..7 {
            let s = p.session(i);
            let mine = all_slots(&p)
                .iter()
                .filter(|x| x.n % 7 == u64::from(i))
                .count() as u64;
            assert_eq!(s.remaining_from(0), mine, "session {i}");
            assert_eq!(s.remaining_from(mine), 0);
            assert_eq!(s.remaining_from(mine + 5), 0);
        }
    }

    #[test]
    fn no_slot_at_or_after_the_end() {
        let p = plan(Rate::PerSecond(333.0), 3, 1, None);
        for s in all_slots(&p) {
            assert!(s.at.unwrap() < p.end());
        }
    }

    #[test]
    fn count_limits_the_total_in_both_modes() {
        for rate in [Rate::PerSecond(1_000_000.0), Rate::Max] {
            let p = plan(rate, 3, 10, Some(10));
            let slots = all_slots(&p);
            assert_eq!(slots.len(), 10, "{rate:?}");
            assert_eq!(p.session(0).slot(3).map(|s| s.n), Some(9));
            assert_eq!(p.session(1).slot(3), None);
        }
        let p = plan(Rate::PerSecond(1_000_000.0), 3, 10, Some(10));
        assert_eq!(p.session(0).remaining_from(0), 4);
        assert_eq!(p.session(2).remaining_from(0), 3);
    }

    #[test]
    fn warmup_slots_are_not_measured() {
        let p = plan(Rate::PerSecond(10.0), 1, 1, None); // slots at 0.0 .. 1.9 s
        let s = p.session(0);
        let measured: Vec<bool> = (0..20)
            .map(|k| s.measured(&s.slot(k).unwrap(), p.start))
            .collect();
        assert_eq!(measured.iter().filter(|m| **m).count(), 10);
        assert!(!measured[9] && measured[10]);
        assert_eq!(s.slot(20), None);
    }

    #[test]
    fn closed_loop_measures_by_send_time() {
        let p = plan(Rate::Max, 1, 1, None);
        let s = p.session(0);
        let slot = s.slot(0).unwrap();
        assert_eq!(slot.at, None);
        assert!(!s.measured(&slot, p.start));
        assert!(s.measured(&slot, p.start + Duration::from_secs(1)));
        assert_eq!(s.wake_at(&slot), None);
        assert_eq!(s.remaining_from(0), 0);
    }

    #[test]
    fn queueing_behind_a_busy_session_counts_as_latency() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Scheduled at 10 ms, the session was busy until 50 ms, the answer came at 52 ms.
        assert_eq!(latency(Some(t0 + ms(10)), t0 + ms(50), t0 + ms(52)), ms(42));
        // Sent 1 ms early (timer slack): measured from the actual send.
        assert_eq!(latency(Some(t0 + ms(10)), t0 + ms(9), t0 + ms(12)), ms(3));
        // Closed loop.
        assert_eq!(latency(None, t0 + ms(9), t0 + ms(12)), ms(3));
        // A clock that went backwards gives zero, not a panic.
        assert_eq!(latency(None, t0 + ms(9), t0 + ms(8)), Duration::ZERO);
    }

    #[test]
    fn wake_up_is_slack_early_but_not_before_start() {
        let p = plan(Rate::PerSecond(100.0), 1, 1, None);
        let s = p.session(0);
        let first = s.slot(0).unwrap();
        assert_eq!(s.wake_at(&first), Some(p.start));
        let second = s.slot(1).unwrap();
        assert_eq!(s.wake_at(&second), Some(p.start + Duration::from_millis(9)));
    }

    #[test]
    fn rate_parsing() {
        assert_eq!(Rate::parse("max"), Ok(Rate::Max));
        assert_eq!(Rate::parse("2500"), Ok(Rate::PerSecond(2500.0)));
        for bad in ["0", "-1", "nan", "inf", "1e9", "fast"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }
}
