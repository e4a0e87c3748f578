//! The publisher's input: a consistent snapshot and the changes after a journal position.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::model::{DomainDelegationState, HostAddrs};
use crate::name::DnsName;
use crate::zone::Change;

/// A position in the delegation change journal; changes have strictly growing positions.
pub type Position = i64;

/// Reading the source failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("journal: {0}")]
    Store(#[from] registry_core::store::StoreError),
    #[error("invalid data in the source: {0}")]
    Invalid(String),
}

/// All delegation data as of `position` (every change up to it included, none after).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub position: Position,
    pub domains: Vec<DomainDelegationState>,
    pub hosts: HostAddrs,
}

/// One journal entry: the object's whole state after the change.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub position: Position,
    pub change: Change,
    /// When the change was committed (for the lag metric).
    pub recorded_at: Option<SystemTime>,
}

/// Where delegation data comes from. The DB-journal adapter implements it; so does
/// [`MemorySource`] for tests and benchmarks.
pub trait DelegationSource: Send + Sync {
    /// A consistent snapshot and the journal position it corresponds to.
    fn snapshot(&self) -> impl Future<Output = Result<Snapshot, SourceError>> + Send;
    /// Up to `limit` entries with a position greater than `position`, in order.
    fn changes_since(
        &self,
        position: Position,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<JournalEntry>, SourceError>> + Send;
    /// The data as it was at `position` (every change up to it, none after), for a publisher
    /// that resumes from its stored position without re-diffing the served zone. `None`
    /// when the source cannot tell (no history kept, or `position` is beyond its head, as
    /// after a database restore): the publisher then does the full start-up reconcile, so
    /// the default is always safe.
    fn snapshot_at(
        &self,
        position: Position,
    ) -> impl Future<Output = Result<Option<Snapshot>, SourceError>> + Send {
        let _ = position;
        async { Ok(None) }
    }
}

impl<T: DelegationSource> DelegationSource for Arc<T> {
    fn snapshot(&self) -> impl Future<Output = Result<Snapshot, SourceError>> + Send {
        (**self).snapshot()
    }
    fn changes_since(
        &self,
        position: Position,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<JournalEntry>, SourceError>> + Send {
        (**self).changes_since(position, limit)
    }
    fn snapshot_at(
        &self,
        position: Position,
    ) -> impl Future<Output = Result<Option<Snapshot>, SourceError>> + Send {
        (**self).snapshot_at(position)
    }
}

#[derive(Debug, Default)]
struct MemoryInner {
    position: Position,
    domains: BTreeMap<DnsName, DomainDelegationState>,
    hosts: HostAddrs,
    journal: Vec<JournalEntry>,
    /// The data at position 0, replayed by `snapshot_at` (a journal keeps its history).
    base_domains: BTreeMap<DnsName, DomainDelegationState>,
    base_hosts: HostAddrs,
}

fn apply(
    domains: &mut BTreeMap<DnsName, DomainDelegationState>,
    hosts: &mut HostAddrs,
    change: &Change,
) {
    match change {
        Change::Domain(d) => {
            domains.insert(d.name.clone(), d.clone());
        }
        Change::DomainDeleted(n) => {
            domains.remove(n);
        }
        Change::Host { name, addrs } => {
            hosts.insert(name.clone(), addrs.clone());
        }
        Change::HostDeleted(n) => {
            hosts.remove(n);
        }
    }
}

/// An in-memory registry with a journal.
#[derive(Debug, Default)]
pub struct MemorySource {
    inner: Mutex<MemoryInner>,
}

impl MemorySource {
    pub fn new(domains: Vec<DomainDelegationState>, hosts: HostAddrs) -> Self {
        let domains: BTreeMap<_, _> = domains.into_iter().map(|d| (d.name.clone(), d)).collect();
        let inner = MemoryInner {
            position: 0,
            base_domains: domains.clone(),
            base_hosts: hosts.clone(),
            domains,
            hosts,
            journal: Vec::new(),
        };
        MemorySource {
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a change; returns its position.
    pub fn push(&self, change: Change) -> Position {
        let mut inner = self.lock();
        let MemoryInner { domains, hosts, .. } = &mut *inner;
        apply(domains, hosts, &change);
        inner.position += 1;
        let position = inner.position;
        inner.journal.push(JournalEntry {
            position,
            change,
            recorded_at: Some(SystemTime::now()),
        });
        position
    }

    pub fn position(&self) -> Position {
        self.lock().position
    }

    /// The current data (what a fresh full generation starts from).
    pub fn current(&self) -> (Vec<DomainDelegationState>, HostAddrs) {
        let inner = self.lock();
        (
            inner.domains.values().cloned().collect(),
            inner.hosts.clone(),
        )
    }
}

impl DelegationSource for MemorySource {
    async fn snapshot(&self) -> Result<Snapshot, SourceError> {
        let inner = self.lock();
        Ok(Snapshot {
            position: inner.position,
            domains: inner.domains.values().cloned().collect(),
            hosts: inner.hosts.clone(),
        })
    }

    async fn changes_since(
        &self,
        position: Position,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, SourceError> {
        let inner = self.lock();
        let start = inner.journal.partition_point(|e| e.position <= position);
        Ok(inner.journal[start..].iter().take(limit).cloned().collect())
    }

    async fn snapshot_at(&self, position: Position) -> Result<Option<Snapshot>, SourceError> {
        let inner = self.lock();
        if position < 0 || position > inner.position {
            return Ok(None);
        }
        // The head's data with every object changed after `position` put back to its state
        // there (the latest entry at or below it, else the initial data): one copy of the
        // data, as `snapshot` makes, instead of a replay of the whole journal.
        let start = inner.journal.partition_point(|e| e.position <= position);
        let mut later_domains: HashSet<&DnsName> = HashSet::new();
        let mut later_hosts: HashSet<&DnsName> = HashSet::new();
        for e in &inner.journal[start..] {
            match &e.change {
                Change::Domain(d) => later_domains.insert(&d.name),
                Change::DomainDeleted(n) => later_domains.insert(n),
                Change::Host { name, .. } | Change::HostDeleted(name) => later_hosts.insert(name),
            };
        }
        let mut domains_then: HashMap<&DnsName, Option<&DomainDelegationState>> = later_domains
            .iter()
            .map(|n| (*n, inner.base_domains.get(*n)))
            .collect();
        let mut hosts_then: HashMap<&DnsName, Option<&Vec<IpAddr>>> = later_hosts
            .iter()
            .map(|n| (*n, inner.base_hosts.get(*n)))
            .collect();
        for e in &inner.journal[..start] {
            match &e.change {
                Change::Domain(d) => {
                    if let Some(v) = domains_then.get_mut(&d.name) {
                        *v = Some(d);
                    }
                }
                Change::DomainDeleted(n) => {
                    if let Some(v) = domains_then.get_mut(n) {
                        *v = None;
                    }
                }
                Change::Host { name, addrs } => {
                    if let Some(v) = hosts_then.get_mut(name) {
                        *v = Some(addrs);
                    }
                }
                Change::HostDeleted(n) => {
                    if let Some(v) = hosts_then.get_mut(n) {
                        *v = None;
                    }
                }
            }
        }
        // In no particular order: the zone computation sorts by itself.
        let domains: Vec<DomainDelegationState> = inner
            .domains
            .iter()
            .filter(|(n, _)| !later_domains.contains(n))
            .map(|(_, d)| d.clone())
            .chain(domains_then.values().filter_map(|d| d.cloned()))
            .collect();
        let mut hosts: HostAddrs = inner
            .hosts
            .iter()
            .filter(|(n, _)| !later_hosts.contains(n))
            .map(|(n, a)| (n.clone(), a.clone()))
            .collect();
        hosts.extend(
            hosts_then
                .into_iter()
                .filter_map(|(n, a)| a.map(|a| (n.clone(), a.clone()))),
        );
        Ok(Some(Snapshot {
            position,
            domains,
            hosts,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> DnsName {
        DnsName::new(s).expect("valid name")
    }

    fn dom(name: &str, ns: &str) -> DomainDelegationState {
        DomainDelegationState {
            name: n(name),
            ns: vec![n(ns)],
            ds: vec![],
            on_hold: false,
            in_redemption_or_pending_delete: false,
        }
    }

    #[tokio::test]
    async fn memory_source_goes_back_in_time() {
        let src = MemorySource::new(vec![dom("a.tld", "ns.one.example")], HostAddrs::new());
        src.push(Change::Domain(dom("a.tld", "ns.two.example")));
        src.push(Change::Domain(dom("b.tld", "ns.two.example")));
        src.push(Change::DomainDeleted(n("a.tld")));
        let names = |s: &Snapshot| {
            let mut v: Vec<(String, String)> = s
                .domains
                .iter()
                .map(|d| (d.name.to_string(), d.ns[0].to_string()))
                .collect();
            v.sort();
            v
        };
        let at0 = src.snapshot_at(0).await.expect("at").expect("known");
        assert_eq!(names(&at0), [("a.tld.".into(), "ns.one.example.".into())]);
        let at2 = src.snapshot_at(2).await.expect("at").expect("known");
        assert_eq!(at2.position, 2);
        assert_eq!(at2.domains.len(), 2);
        let at3 = src.snapshot_at(3).await.expect("at").expect("known");
        let head = src.snapshot().await.expect("snapshot");
        assert_eq!(names(&at3), names(&head));
        assert!(src.snapshot_at(4).await.expect("at").is_none());
        assert!(src.snapshot_at(-1).await.expect("at").is_none());
    }
}
