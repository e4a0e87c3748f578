//! authInfo guessing: failed authInfo attempts (domain and contact info, transfer request and
//! query, with an authInfo that turned out wrong) are counted per acting registrar and per
//! object. Either reaching its bound within the window starts a back-off during which every
//! authInfo attempt of that registrar, or on that object, is answered 2202 *whatever the
//! value* — answering the right value differently would keep the server an oracle at full
//! speed. When an object reaches its bound, its sponsor is told by a poll message.
//!
//! [`crate::Registry::execute`] is the one place this is applied: it asks before a command that
//! carries an authInfo and records the command's 2202. The counts are kept in this process
//! (each frontend counts what it sees), bounded in size.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::TimeDelta;
use epp_proto::contact::ContactCommand;
use epp_proto::domain::DomainCommand;
use epp_proto::{Command, Timestamp, TransferOp};
use serde::Deserialize;

/// `[auth_info]` of the registry policy (eppd: `[registry.auth_info]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthInfoConfig {
    /// Failed authInfo attempts of one registrar (on any objects) within the window that
    /// start its back-off. Default 10.
    pub registrar_max_failures: u32,
    /// Failed authInfo attempts on one object (by any registrars) within the window that
    /// start its back-off and tell its sponsor. Default 5.
    pub object_max_failures: u32,
    /// The window, in seconds. Default 900 (15 min).
    pub window_secs: u32,
    /// How long authInfo attempts are refused after a bound was reached, in seconds.
    /// Default 900 (15 min).
    pub backoff_secs: u32,
}

impl Default for AuthInfoConfig {
    fn default() -> Self {
        Self {
            registrar_max_failures: 10,
            object_max_failures: 5,
            window_secs: 900,
            backoff_secs: 900,
        }
    }
}

/// The object an authInfo is presented for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthTarget {
    Domain(String),
    Contact(String),
}

impl AuthTarget {
    /// The object of `cmd` when the command presents an authInfo that will be judged.
    pub fn of(cmd: &Command) -> Option<AuthTarget> {
        match cmd {
            Command::Domain(DomainCommand::Info(i)) if i.auth_info.is_some() => {
                Some(AuthTarget::Domain(i.name.as_str().to_owned()))
            }
            Command::Domain(DomainCommand::Transfer(t))
                if t.auth_info.is_some()
                    && matches!(t.op, TransferOp::Request | TransferOp::Query) =>
            {
                Some(AuthTarget::Domain(t.name.as_str().to_owned()))
            }
            Command::Contact(ContactCommand::Info {
                id,
                auth_info: Some(_),
            }) => Some(AuthTarget::Contact(id.as_str().to_owned())),
            Command::Contact(ContactCommand::Transfer {
                op: TransferOp::Request | TransferOp::Query,
                id,
                auth_info: Some(_),
            }) => Some(AuthTarget::Contact(id.as_str().to_owned())),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            AuthTarget::Domain(n) => format!("domain {n}"),
            AuthTarget::Contact(id) => format!("contact {id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Registrar(String),
    Object(AuthTarget),
}

#[derive(Debug, Default)]
struct Entry {
    /// Failure times within the window, oldest first (at most the bound).
    failures: VecDeque<Timestamp>,
    until: Option<Timestamp>,
}

/// More keys than this and the stale ones are swept on the next failure.
const SWEEP_AT: usize = 4096;

/// What a failure led to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailureOutcome {
    /// The registrar's back-off started now.
    pub registrar_backoff: bool,
    /// The object's back-off started now: its sponsor is to be told.
    pub object_backoff: Option<Timestamp>,
    /// Failures on the object within the window, this one included.
    pub object_failures: usize,
}

/// The counts (see the module documentation).
#[derive(Debug, Default)]
pub struct AuthGuard {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl AuthGuard {
    /// Whether `cl_id` may present an authInfo for `target` at `now`: false during a back-off
    /// of either.
    pub fn allows(&self, cl_id: &str, target: &AuthTarget, now: Timestamp) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        [
            Key::Registrar(cl_id.to_owned()),
            Key::Object(target.clone()),
        ]
        .iter()
        .all(|k| {
            entries
                .get(k)
                .and_then(|e| e.until)
                .is_none_or(|until| until <= now)
        })
    }

    /// Records a wrong authInfo of `cl_id` for `target` at `now`.
    pub fn failed(
        &self,
        cfg: &AuthInfoConfig,
        cl_id: &str,
        target: &AuthTarget,
        now: Timestamp,
    ) -> FailureOutcome {
        let window = TimeDelta::seconds(i64::from(cfg.window_secs));
        let backoff = now + TimeDelta::seconds(i64::from(cfg.backoff_secs));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| {
                e.until.is_some_and(|u| u > now)
                    || e.failures.back().is_some_and(|t| *t > now - window)
            });
        }
        let mut count = |key: Key, max: u32| -> (bool, usize) {
            let e = entries.entry(key).or_default();
            while e.failures.front().is_some_and(|t| *t <= now - window) {
                e.failures.pop_front();
            }
            e.failures.push_back(now);
            let bound = usize::try_from(max.max(1)).unwrap_or(usize::MAX);
            while e.failures.len() > bound {
                e.failures.pop_front();
            }
            let n = e.failures.len();
            let active = e.until.is_some_and(|u| u > now);
            if n >= bound && !active {
                e.until = Some(backoff);
                e.failures.clear();
                (true, n)
            } else {
                (false, n)
            }
        };
        let (registrar_backoff, _) =
            count(Key::Registrar(cl_id.to_owned()), cfg.registrar_max_failures);
        let (object_started, object_failures) =
            count(Key::Object(target.clone()), cfg.object_max_failures);
        FailureOutcome {
            registrar_backoff,
            object_backoff: object_started.then_some(backoff),
            object_failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + TimeDelta::seconds(1_700_000_000 + secs)
    }

    #[test]
    fn bounds_per_registrar_and_per_object_then_back_off() {
        let cfg = AuthInfoConfig {
            registrar_max_failures: 3,
            object_max_failures: 2,
            window_secs: 60,
            backoff_secs: 100,
        };
        let g = AuthGuard::default();
        let d1 = AuthTarget::Domain("one.test".into());
        let d2 = AuthTarget::Domain("two.test".into());
        let d3 = AuthTarget::Domain("three.test".into());
        assert_eq!(g.failed(&cfg, "reg-b", &d1, t(0)).object_backoff, None);
        // The second failure on one.test: its back-off starts, for every registrar.
        let o = g.failed(&cfg, "reg-b", &d1, t(1));
        assert_eq!(o.object_backoff, Some(t(101)));
        assert!(!g.allows("reg-c", &d1, t(2)));
        assert!(g.allows("reg-c", &d2, t(2)));
        // reg-b's third failure anywhere: its own back-off.
        assert!(g.failed(&cfg, "reg-b", &d2, t(3)).registrar_backoff);
        assert!(!g.allows("reg-b", &d3, t(4)));
        assert!(g.allows("reg-c", &d3, t(4)));
        // Both end after the back-off.
        assert!(!g.allows("reg-b", &d1, t(100)));
        assert!(g.allows("reg-b", &d1, t(104)));
        // Failures older than the window do not add up.
        let g = AuthGuard::default();
        g.failed(&cfg, "reg-b", &d1, t(0));
        assert_eq!(g.failed(&cfg, "reg-b", &d1, t(61)).object_backoff, None);
    }
}
