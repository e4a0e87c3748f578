//! The answer cache: `/domain` and `/nameserver` answers kept in memory and served again
//! while nothing was committed to the database since they were made.
//!
//! Why it is safe to serve from memory: an answer is reused only if a reading of the
//! database's change stamp ([`Registry::public_change_stamp`]) *taken after the request
//! arrived* equals the one taken before the answer was made. A change committed before a
//! request arrives is therefore always seen (read-after-write holds as without the cache).
//! Readings are shared: requests that arrive while one is in flight wait for the next one,
//! so under load one small query serves many lookups instead of each running the full one.
//! Answers that would change with no write (a pending transfer's auto-approval, a grace
//! period's end: [`DomainView::changes_at`]) are not served past that instant. A stamp that
//! cannot be read turns the cache off for that request.
//!
//! [`DomainView::changes_at`]: registry_core::public::DomainView::changes_at

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use epp_proto::Timestamp;
use registry_core::Registry;
use registry_store::SqlStore;

/// A cached answer: the serialized body of a 200 lookup.
#[derive(Debug, Clone)]
struct Entry {
    generation: u64,
    valid_until: Option<Timestamp>,
    body: Bytes,
}

#[derive(Debug, Clone)]
struct ByBytes;

impl quick_cache::Weighter<Arc<str>, Entry> for ByBytes {
    fn weight(&self, key: &Arc<str>, val: &Entry) -> u64 {
        (key.len() + val.body.len() + 64) as u64
    }
}

/// The stamp readings, shared by all requests. One request at a time makes a reading (the
/// leader); the others wait for its completion, all woken at once by the watch channel.
#[derive(Debug)]
struct Freshness {
    /// The last stamp read (`None` after a failure); only the leader touches it.
    last: std::sync::Mutex<Option<String>>,
    leader: std::sync::atomic::AtomicBool,
    /// Readings started, numbered from 1.
    started: AtomicU64,
    /// The number of the last completed reading, and the generation it left (`None`: it
    /// failed).
    completed: tokio::sync::watch::Sender<(u64, Option<u64>)>,
    /// Moves whenever a reading differs from the one before (or failed).
    generation: AtomicU64,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            last: std::sync::Mutex::new(None),
            leader: std::sync::atomic::AtomicBool::new(false),
            started: AtomicU64::new(0),
            completed: tokio::sync::watch::Sender::new((0, None)),
            generation: AtomicU64::new(0),
        }
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct AnswerCache {
    entries: Option<quick_cache::sync::Cache<Arc<str>, Entry, ByBytes>>,
    fresh: Freshness,
    hits: AtomicU64,
    readings: AtomicU64,
}

/// What a request learned about the cache before its lookup: the generation its answer
/// may be stored under, if the cache is on and the stamp could be read.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

impl AnswerCache {
    /// A cache of at most `max_bytes` of answers; 0 turns it off.
    pub fn new(max_bytes: u64) -> Self {
        let entries = (max_bytes > 0).then(|| {
            // Lookups are a few KiB each; the estimate only sizes the shards.
            let items = usize::try_from(max_bytes / 4096)
                .unwrap_or(usize::MAX)
                .max(16);
            quick_cache::sync::Cache::with_weighter(items, max_bytes, ByBytes)
        });
        Self {
            entries,
            fresh: Freshness::default(),
            hits: AtomicU64::new(0),
            readings: AtomicU64::new(0),
        }
    }

    /// Waits for a stamp reading that started after this call, and returns the generation
    /// it belongs to.
    pub async fn ticket(&self, registry: &Registry<SqlStore>) -> Ticket {
        if self.entries.is_none() {
            return Ticket(None);
        }
        let f = &self.fresh;
        let mut rx = f.completed.subscribe();
        let arrived = f.started.load(Ordering::SeqCst);
        loop {
            let (done, generation) = *rx.borrow_and_update();
            // A reading numbered above `arrived` started after this request arrived.
            if done > arrived {
                return Ticket(generation);
            }
            if f.leader
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return self.lead(registry).await;
            }
            if rx.changed().await.is_err() {
                return Ticket(None);
            }
        }
    }

    /// Makes one reading and wakes everyone waiting for it.
    async fn lead(&self, registry: &Registry<SqlStore>) -> Ticket {
        let f = &self.fresh;
        // A request dropped mid-reading (its client went away) must not leave the others
        // waiting for a leader that is gone.
        struct Abdicate<'a>(&'a Freshness);
        impl Drop for Abdicate<'_> {
            fn drop(&mut self) {
                self.0.leader.store(false, Ordering::SeqCst);
                self.0.completed.send_modify(|_| {});
            }
        }
        let abdicate = Abdicate(f);
        let n = f.started.fetch_add(1, Ordering::SeqCst) + 1;
        let reading = registry.public_change_stamp().await;
        self.readings.fetch_add(1, Ordering::Relaxed);
        let generation = {
            let mut last = f.last.lock().unwrap_or_else(|p| p.into_inner());
            match reading {
                Ok(stamp) => {
                    if last.as_deref() != Some(stamp.as_str()) {
                        f.generation.fetch_add(1, Ordering::SeqCst);
                        *last = Some(stamp);
                    }
                    Some(f.generation.load(Ordering::SeqCst))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "RDAP: change stamp unreadable, answering uncached");
                    f.generation.fetch_add(1, Ordering::SeqCst);
                    *last = None;
                    None
                }
            }
        };
        // Leadership is given up before the others wake, so that one of those who arrived
        // during this reading can start the next at once.
        std::mem::forget(abdicate);
        f.leader.store(false, Ordering::SeqCst);
        f.completed.send_replace((n, generation));
        Ticket(generation)
    }

    /// The answer stored for `url` under the ticket's generation, if still valid at `now`.
    pub fn get(&self, ticket: Ticket, url: &str, now: Timestamp) -> Option<Bytes> {
        let (entries, generation) = (self.entries.as_ref()?, ticket.0?);
        let e = entries.get(url)?;
        let fresh = e.generation == generation && e.valid_until.is_none_or(|t| now < t);
        if fresh {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        fresh.then_some(e.body)
    }

    /// Answers served from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Change-stamp readings made so far (each serves every request that waited for it).
    pub fn readings(&self) -> u64 {
        self.readings.load(Ordering::Relaxed)
    }

    /// Stores an answer made after `ticket` was taken.
    pub fn put(&self, ticket: Ticket, url: Arc<str>, valid_until: Option<Timestamp>, body: Bytes) {
        let (Some(entries), Some(generation)) = (self.entries.as_ref(), ticket.0) else {
            return;
        };
        entries.insert(
            url,
            Entry {
                generation,
                valid_until,
                body,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn entries_are_served_only_under_their_generation_and_before_they_change() {
        let c = AnswerCache::new(1 << 20);
        let url: Arc<str> = Arc::from("https://rdap.example/domain/a.test");
        let now = t("2026-01-01T00:00:00Z");
        c.put(
            Ticket(Some(3)),
            url.clone(),
            Some(t("2026-01-02T00:00:00Z")),
            Bytes::from_static(b"{}"),
        );
        assert_eq!(
            c.get(Ticket(Some(3)), &url, now).as_deref(),
            Some(&b"{}"[..])
        );
        assert!(
            c.get(Ticket(Some(4)), &url, now).is_none(),
            "another generation"
        );
        assert!(c.get(Ticket(None), &url, now).is_none(), "stamp unreadable");
        assert!(
            c.get(Ticket(Some(3)), &url, t("2026-01-02T00:00:00Z"))
                .is_none(),
            "changed by time"
        );
        assert_eq!(c.hits(), 1);
    }

    #[test]
    fn zero_bytes_turns_it_off() {
        let c = AnswerCache::new(0);
        let url: Arc<str> = Arc::from("u");
        c.put(
            Ticket(Some(1)),
            url.clone(),
            None,
            Bytes::from_static(b"{}"),
        );
        assert!(c
            .get(Ticket(Some(1)), &url, t("2026-01-01T00:00:00Z"))
            .is_none());
    }
}
