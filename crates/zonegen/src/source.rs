//! The publisher's input: a consistent snapshot and the changes after a journal position.

use std::collections::BTreeMap;
use std::future::Future;
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
}

#[derive(Debug, Default)]
struct MemoryInner {
    position: Position,
    domains: BTreeMap<DnsName, DomainDelegationState>,
    hosts: HostAddrs,
    journal: Vec<JournalEntry>,
}

/// An in-memory registry with a journal.
#[derive(Debug, Default)]
pub struct MemorySource {
    inner: Mutex<MemoryInner>,
}

impl MemorySource {
    pub fn new(domains: Vec<DomainDelegationState>, hosts: HostAddrs) -> Self {
        let inner = MemoryInner {
            position: 0,
            domains: domains.into_iter().map(|d| (d.name.clone(), d)).collect(),
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
        match &change {
            Change::Domain(d) => {
                inner.domains.insert(d.name.clone(), d.clone());
            }
            Change::DomainDeleted(n) => {
                inner.domains.remove(n);
            }
            Change::Host { name, addrs } => {
                inner.hosts.insert(name.clone(), addrs.clone());
            }
            Change::HostDeleted(n) => {
                inner.hosts.remove(n);
            }
        }
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
}
