//! Command rate limits: token buckets per registrar (shared by all its sessions on this
//! frontend) and per session, with separate budgets for checks and for transforms.
//!
//! A command that asks about objects (`check`, `info`, transfer `query`) spends a check token;
//! one that changes them (`create`, `delete`, `renew`, `transfer` requests and answers,
//! `update`) a transform token; hello, login, logout and poll spend none. Info counts as a
//! check because it answers 2303 for an unregistered name just as check answers "available":
//! a check-only budget would be bypassed by switching to info. A command spends one token of
//! its session's bucket and one of its registrar's; it runs only if both have one, and a
//! refused command spends neither.
//!
//! An exhausted budget is answered 2308 "Data management policy violation" and the session
//! stays open. RFC 5730 section 3 has no code for rate limiting; of its codes, 2308 is the
//! one for "a command that can not be completed due to a server data management policy" (its
//! example is a limit on what a client may create), which a per-registrar command budget is.
//! The others say something false: 2400 says the server failed (clients retry at once), 2201
//! that the client may never do this, 2306 that a value is wrong, and 2502 is for `<login>`
//! beyond the session limit and closes the connection — closing would turn a throttle into a
//! penalty (a new TLS handshake and an argon2 login per refusal, on the server's CPU). The
//! `<msg>` says which budget and when the next token is due.
//!
//! No global lock is taken on the hot path: the registry of buckets is locked at login only;
//! a command locks its own registrar's bucket (a few arithmetic steps), which only that
//! registrar's sessions contend for, and its session's, which nobody else touches. Time is
//! the injected [`registry_core::clock::Clock`], so tests refill a bucket by moving the clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use epp_proto::contact::ContactCommand;
use epp_proto::domain::DomainCommand;
use epp_proto::host::HostCommand;
use epp_proto::{Command, Timestamp, TransferOp};
use registry_core::registrar::RateLimitOverrides;

use crate::config::LimitConfig;

/// Which budget a command spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// check, info, transfer query.
    Check,
    /// create, delete, renew, transfer (request, approve, reject, cancel), update.
    Transform,
}

impl Budget {
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::Check => "check",
            Budget::Transform => "transform",
        }
    }

    /// The budget `cmd` spends, if any.
    pub fn of(cmd: &Command) -> Option<Budget> {
        use Budget::{Check, Transform};
        Some(match cmd {
            Command::Login(_) | Command::Logout | Command::Poll(_) => return None,
            Command::Domain(d) => match d {
                DomainCommand::Check(_) | DomainCommand::Info(_) => Check,
                DomainCommand::Transfer(t) if t.op == TransferOp::Query => Check,
                DomainCommand::Create(_)
                | DomainCommand::Delete(_)
                | DomainCommand::Renew(_)
                | DomainCommand::Transfer(_)
                | DomainCommand::Update(_) => Transform,
            },
            Command::Host(h) => match h {
                HostCommand::Check(_) | HostCommand::Info(_) => Check,
                HostCommand::Create(_) | HostCommand::Delete(_) | HostCommand::Update(_) => {
                    Transform
                }
            },
            Command::Contact(c) => match c {
                ContactCommand::Check(_) | ContactCommand::Info { .. } => Check,
                ContactCommand::Transfer { op, .. } if *op == TransferOp::Query => Check,
                ContactCommand::Create(_)
                | ContactCommand::Delete(_)
                | ContactCommand::Transfer { .. }
                | ContactCommand::Update(_) => Transform,
            },
        })
    }
}

/// Whose bucket refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Registrar,
    Session,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Registrar => "registrar",
            Scope::Session => "session",
        }
    }
}

/// A refused command: which bucket, and how long until it has a token again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub budget: Budget,
    pub scope: Scope,
    pub retry_after_ms: u64,
}

/// A bucket's size and refill rate. `per_second` 0: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

/// The four rates that apply to one registrar's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub registrar_check: Rate,
    pub registrar_transform: Rate,
    pub session_check: Rate,
    pub session_transform: Rate,
}

impl Rates {
    /// The `[limits]` defaults with a registrar's overrides applied.
    pub fn new(limits: &LimitConfig, o: &RateLimitOverrides) -> Self {
        let rate = |per_second: Option<u32>, d_rate: u32, burst: Option<u32>, d_burst: u32| Rate {
            per_second: per_second.unwrap_or(d_rate),
            burst: burst.unwrap_or(d_burst).max(1),
        };
        Self {
            registrar_check: rate(
                o.registrar_check_per_second,
                limits.registrar_check_per_second,
                o.registrar_check_burst,
                limits.registrar_check_burst,
            ),
            registrar_transform: rate(
                o.registrar_transform_per_second,
                limits.registrar_transform_per_second,
                o.registrar_transform_burst,
                limits.registrar_transform_burst,
            ),
            session_check: rate(
                o.session_check_per_second,
                limits.session_check_per_second,
                o.session_check_burst,
                limits.session_check_burst,
            ),
            session_transform: rate(
                o.session_transform_per_second,
                limits.session_transform_per_second,
                o.session_transform_burst,
                limits.session_transform_burst,
            ),
        }
    }
}

/// Millionths of a token: refilling at `per_second` tokens per second adds exactly
/// `per_second` of them per microsecond, so the arithmetic is exact.
const MICRO: u64 = 1_000_000;

/// One token bucket.
#[derive(Debug, Clone)]
struct Bucket {
    rate: Rate,
    /// In millionths of a token.
    tokens: u64,
    last: Timestamp,
}

impl Bucket {
    fn new(rate: Rate, now: Timestamp) -> Self {
        Self {
            rate,
            tokens: Self::full(rate),
            last: now,
        }
    }

    fn full(rate: Rate) -> u64 {
        u64::from(rate.burst.max(1)) * MICRO
    }

    fn refill(&mut self, now: Timestamp) {
        // A clock that went back (the wall clock corrected) credits nothing and restarts
        // from the new time, rather than refusing until it catches up.
        let elapsed = (now - self.last).num_microseconds().unwrap_or(i64::MAX);
        if let Ok(us) = u64::try_from(elapsed) {
            let add = us.saturating_mul(u64::from(self.rate.per_second));
            self.tokens = self.tokens.saturating_add(add).min(Self::full(self.rate));
        }
        self.last = now;
    }

    /// Milliseconds until a token is due: 0 when one is there (refill first).
    fn wait_ms(&self) -> u64 {
        if self.rate.per_second == 0 || self.tokens >= MICRO {
            return 0;
        }
        let us = (MICRO - self.tokens).div_ceil(u64::from(self.rate.per_second));
        us.div_ceil(1000).max(1)
    }

    fn take(&mut self) {
        if self.rate.per_second != 0 {
            self.tokens = self.tokens.saturating_sub(MICRO);
        }
    }

    /// A new rate; the tokens kept are capped by the new burst.
    fn set_rate(&mut self, rate: Rate) {
        if rate != self.rate {
            self.rate = rate;
            self.tokens = self.tokens.min(Self::full(rate));
        }
    }
}

/// The check and transform buckets of one registrar on this frontend, and the limits its
/// sessions' own buckets follow.
#[derive(Debug)]
struct RegistrarBuckets {
    inner: Mutex<Shared>,
    /// Bumped whenever `Shared::rates` changes; sessions compare it without the lock.
    generation: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    check: Bucket,
    transform: Bucket,
    rates: Rates,
}

impl RegistrarBuckets {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_rates(&self, rates: Rates) {
        let mut s = self.lock();
        if s.rates != rates {
            s.check.set_rate(rates.registrar_check);
            s.transform.set_rate(rates.registrar_transform);
            s.rates = rates;
            self.generation.fetch_add(1, Ordering::Release);
        }
    }
}

/// Every registrar's buckets on this frontend, by clID. Entries live as long as a session of
/// the registrar holds them; only authenticated registrars get one, so the map is bounded by
/// the number of registrars.
#[derive(Debug, Default)]
pub struct RateLimiter {
    by_registrar: Mutex<HashMap<String, Weak<RegistrarBuckets>>>,
}

impl RateLimiter {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<RegistrarBuckets>>> {
        self.by_registrar.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The limiter of a new session of `cl_id` (at login): the registrar's shared buckets,
    /// set to `rates` (the registrar's current limits, which thereby reach its other
    /// sessions too), and fresh buckets of the session's own.
    pub fn session(&self, cl_id: &str, rates: Rates, now: Timestamp) -> SessionLimiter {
        let registrar = {
            let mut map = self.map();
            match map.get(cl_id).and_then(Weak::upgrade) {
                Some(r) => r,
                None => {
                    let r = Arc::new(RegistrarBuckets {
                        inner: Mutex::new(Shared {
                            check: Bucket::new(rates.registrar_check, now),
                            transform: Bucket::new(rates.registrar_transform, now),
                            rates,
                        }),
                        generation: AtomicU64::new(0),
                    });
                    map.retain(|_, w| w.strong_count() > 0);
                    map.insert(cl_id.to_owned(), Arc::downgrade(&r));
                    r
                }
            }
        };
        registrar.set_rates(rates);
        let generation = registrar.generation.load(Ordering::Acquire);
        SessionLimiter {
            registrar,
            generation,
            check: Bucket::new(rates.session_check, now),
            transform: Bucket::new(rates.session_transform, now),
        }
    }

    /// The registrars with live sessions here.
    pub fn registrars(&self) -> Vec<String> {
        self.map()
            .iter()
            .filter(|(_, w)| w.strong_count() > 0)
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Applies new limits to `cl_id`'s buckets on this frontend: the registrar's at once, each
    /// session's at its next command.
    pub fn set_rates(&self, cl_id: &str, rates: Rates) {
        let shared = self.map().get(cl_id).and_then(Weak::upgrade);
        if let Some(r) = shared {
            r.set_rates(rates);
        }
    }
}

/// One session's buckets and its registrar's.
#[derive(Debug)]
pub struct SessionLimiter {
    registrar: Arc<RegistrarBuckets>,
    /// The registrar's `generation` this session's buckets follow.
    generation: u64,
    check: Bucket,
    transform: Bucket,
}

impl SessionLimiter {
    /// Spends a token of `budget` from the session's and the registrar's bucket, or neither.
    pub fn admit(&mut self, budget: Budget, now: Timestamp) -> Result<(), Refused> {
        let generation = self.registrar.generation.load(Ordering::Acquire);
        if generation != self.generation {
            let rates = self.registrar.lock().rates;
            self.check.set_rate(rates.session_check);
            self.transform.set_rate(rates.session_transform);
            self.generation = generation;
        }
        let own = match budget {
            Budget::Check => &mut self.check,
            Budget::Transform => &mut self.transform,
        };
        own.refill(now);
        let wait = own.wait_ms();
        if wait > 0 {
            return Err(Refused {
                budget,
                scope: Scope::Session,
                retry_after_ms: wait,
            });
        }
        {
            let mut s = self.registrar.lock();
            let shared = match budget {
                Budget::Check => &mut s.check,
                Budget::Transform => &mut s.transform,
            };
            shared.refill(now);
            let wait = shared.wait_ms();
            if wait > 0 {
                return Err(Refused {
                    budget,
                    scope: Scope::Registrar,
                    retry_after_ms: wait,
                });
            }
            shared.take();
        }
        own.take();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn rates(reg: (u32, u32), sess: (u32, u32)) -> Rates {
        let r = |(per_second, burst)| Rate { per_second, burst };
        Rates {
            registrar_check: r(reg),
            registrar_transform: r(reg),
            session_check: r(sess),
            session_transform: r(sess),
        }
    }

    fn t0() -> Timestamp {
        Timestamp::UNIX_EPOCH + Duration::days(20_000)
    }

    #[test]
    fn registrar_bucket_is_shared_and_refills() {
        let l = RateLimiter::default();
        let now = t0();
        let mut a = l.session("reg-a", rates((2, 3), (0, 1)), now);
        let mut b = l.session("reg-a", rates((2, 3), (0, 1)), now);
        let mut other = l.session("reg-b", rates((2, 3), (0, 1)), now);
        assert!(a.admit(Budget::Check, now).is_ok());
        assert!(b.admit(Budget::Check, now).is_ok());
        assert!(a.admit(Budget::Check, now).is_ok());
        let e = b
            .admit(Budget::Check, now)
            .expect_err("shared bucket empty");
        assert_eq!((e.scope, e.budget), (Scope::Registrar, Budget::Check));
        assert_eq!(e.retry_after_ms, 500);
        assert!(a.admit(Budget::Transform, now).is_ok(), "separate budgets");
        assert!(other.admit(Budget::Check, now).is_ok(), "other registrars");
        assert!(b
            .admit(Budget::Check, now + Duration::milliseconds(499))
            .is_err());
        assert!(b
            .admit(Budget::Check, now + Duration::milliseconds(500))
            .is_ok());
        // A clock that goes back credits nothing and refuses nothing more than before.
        assert!(b.admit(Budget::Check, now).is_err());
        assert!(b
            .admit(Budget::Check, now + Duration::milliseconds(250))
            .is_err());
        assert!(b
            .admit(Budget::Check, now + Duration::milliseconds(500))
            .is_ok());
    }

    #[test]
    fn session_bucket_refuses_without_spending_the_registrars() {
        let l = RateLimiter::default();
        let now = t0();
        let mut a = l.session("reg-a", rates((1, 2), (1, 1)), now);
        let mut b = l.session("reg-a", rates((1, 2), (1, 1)), now);
        assert!(a.admit(Budget::Check, now).is_ok());
        let e = a.admit(Budget::Check, now).expect_err("session bucket");
        assert_eq!(e.scope, Scope::Session);
        assert!(
            b.admit(Budget::Check, now).is_ok(),
            "one registrar token left"
        );
        drop((a, b));
        assert!(l.registrars().is_empty());
    }

    #[test]
    fn zero_is_no_limit_and_new_rates_apply_to_live_buckets() {
        let l = RateLimiter::default();
        let now = t0();
        let mut a = l.session("reg-a", rates((0, 1), (0, 1)), now);
        for _ in 0..10_000 {
            assert!(a.admit(Budget::Transform, now).is_ok());
        }
        l.set_rates("reg-a", rates((1, 1), (0, 1)));
        assert!(a.admit(Budget::Transform, now).is_ok());
        assert!(a.admit(Budget::Transform, now).is_err());
        l.set_rates("reg-a", rates((0, 1), (1, 1)));
        assert!(
            a.admit(Budget::Transform, now).is_ok(),
            "the session bucket kept its token"
        );
        let e = a
            .admit(Budget::Transform, now)
            .expect_err("session limit reached");
        assert_eq!(e.scope, Scope::Session);
        // A login with other limits changes the others' buckets too.
        let _b = l.session("reg-a", rates((0, 1), (0, 1)), now);
        for _ in 0..100 {
            assert!(a.admit(Budget::Transform, now).is_ok());
        }
    }

    #[test]
    fn commands_and_their_budgets() {
        use epp_proto::session::Poll;
        assert_eq!(Budget::of(&Command::Poll(Poll::Request)), None);
        assert_eq!(Budget::of(&Command::Logout), None);
        assert_eq!(
            Budget::of(&Command::Domain(DomainCommand::Check(Vec::new()))),
            Some(Budget::Check)
        );
        assert_eq!(
            Budget::of(&Command::Host(HostCommand::Check(Vec::new()))),
            Some(Budget::Check)
        );
    }
}
