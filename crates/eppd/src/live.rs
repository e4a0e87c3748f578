//! The sessions of this frontend, by registrar: counts them against the registrar's limit and
//! ends them on suspension.
//!
//! Suspension reaches every frontend sharing the database: each one polls the suspended
//! registrars every `timeouts.suspension_poll_ms` (≤ 500 ms) and, on PostgreSQL, also
//! listens for `NOTIFY registrar_suspended`; a session told to end finishes the command it is
//! running, answers 2500 and closes. The session limit counts the sessions of one frontend.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

/// Why a live session is told to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillReason {
    Suspended,
}

/// The kill switches of one registrar's sessions, by session number.
type Switches = Vec<(u64, watch::Sender<Option<KillReason>>)>;

#[derive(Debug, Default)]
pub struct LiveSessions {
    by_client: Mutex<HashMap<String, Switches>>,
    next_id: AtomicU64,
}

/// A registered session; dropping it unregisters.
#[derive(Debug)]
pub struct LiveSession {
    registry: Arc<LiveSessions>,
    cl_id: String,
    id: u64,
    pub kill: watch::Receiver<Option<KillReason>>,
}

impl LiveSessions {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Switches>> {
        self.by_client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a session of `cl_id` unless it already has `max` sessions here.
    pub fn try_register(self: &Arc<Self>, cl_id: &str, max: u32) -> Option<LiveSession> {
        let mut map = self.map();
        let list = map.entry(cl_id.to_owned()).or_default();
        if list.len() >= max as usize {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        list.push((id, tx));
        Some(LiveSession {
            registry: Arc::clone(self),
            cl_id: cl_id.to_owned(),
            id,
            kill: rx,
        })
    }

    /// Tells every session of `cl_id` to end; returns how many there were.
    pub fn kill(&self, cl_id: &str, reason: KillReason) -> usize {
        let map = self.map();
        let Some(list) = map.get(cl_id) else { return 0 };
        for (_, tx) in list {
            tx.send_replace(Some(reason));
        }
        list.len()
    }

    /// Sessions of `cl_id` on this frontend.
    pub fn count(&self, cl_id: &str) -> usize {
        self.map().get(cl_id).map_or(0, Vec::len)
    }

    /// The registrars with at least one live session.
    pub fn clients(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        let mut map = self.registry.map();
        if let Some(list) = map.get_mut(&self.cl_id) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                map.remove(&self.cl_id);
            }
        }
    }
}

/// Makes server transaction ids unique across frontends: `PREFIX-INSTANCE-COUNTER`, where the
/// instance number is allocated from the shared database at start-up.
#[derive(Debug)]
pub struct SvTridSource {
    prefix: String,
    instance: i64,
    counter: AtomicU64,
}

impl SvTridSource {
    pub fn new(prefix: &str, instance: i64) -> Self {
        Self {
            prefix: prefix.to_owned(),
            instance,
            counter: AtomicU64::new(1),
        }
    }

    pub fn next(&self) -> epp_proto::SvTrid {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let s = format!("{}-{}-{}", self.prefix, self.instance, n);
        // At most 16 + 1 + 20 + 1 + 20 = 58 characters of [A-Za-z0-9-]: always a valid svTRID.
        #[allow(clippy::expect_used)]
        epp_proto::SvTrid::new(&s).expect("PREFIX-INSTANCE-COUNTER is 3-64 characters")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_and_unregister() {
        let live = Arc::new(LiveSessions::default());
        let a = live.try_register("reg-a", 2).expect("first");
        let b = live.try_register("reg-a", 2).expect("second");
        assert!(live.try_register("reg-a", 2).is_none());
        drop(a);
        let c = live.try_register("reg-a", 2).expect("after drop");
        assert_eq!(live.kill("reg-a", KillReason::Suspended), 2);
        assert_eq!(*b.kill.borrow(), Some(KillReason::Suspended));
        assert_eq!(*c.kill.borrow(), Some(KillReason::Suspended));
        drop((b, c));
        assert_eq!(live.count("reg-a"), 0);
        assert!(live.clients().is_empty());
    }

    #[test]
    fn sv_trids_are_distinct() {
        let s = SvTridSource::new("EPPD", 7);
        assert_eq!(s.next().as_str(), "EPPD-7-1");
        assert_eq!(s.next().as_str(), "EPPD-7-2");
    }
}
