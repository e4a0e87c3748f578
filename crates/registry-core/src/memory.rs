//! [`MemoryStore`]: the [`Store`] traits in memory, for the rule tests beside the core's code
//! (milliseconds, no database). It keeps what the SQL stores keep — rows with their links
//! (a domain's name servers are links to host rows, so a rename shows), unique keys, foreign
//! keys — and serializes write transactions like SQLite does. Not for production: nothing is
//! durable and every transaction copies the whole state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use epp_proto::Timestamp;
use tokio::sync::OwnedMutexGuard;

use crate::change::{Applied, Checked, LockRequestWrite, ObjectWrite};
use crate::model::*;
use crate::store::{Store, StoreError, StoreResult, StoreTx};

#[derive(Debug, Clone)]
struct DomainRow {
    doc: Domain,
    ns: Vec<i64>,
    next_due: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct ContactRow {
    doc: Contact,
    next_due: Option<Timestamp>,
}

#[derive(Debug, Clone, Default)]
struct State {
    next_id: i64,
    domains: BTreeMap<String, DomainRow>,
    hosts: BTreeMap<i64, Host>,
    contacts: BTreeMap<String, ContactRow>,
    polls: Vec<PollMessage>,
    history: Vec<HistoryEntry>,
    journal: Vec<JournalEntry>,
    lock_requests: BTreeMap<i64, LockRequest>,
    lock_contacts: BTreeMap<String, LockContact>,
    outbox: BTreeMap<i64, OutboxMail>,
}

impl State {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn host_named(&self, name: &str) -> Option<&Host> {
        self.hosts.values().find(|h| h.name == name)
    }

    fn domain_doc(&self, row: &DomainRow) -> Domain {
        let mut d = row.doc.clone();
        d.ns = row
            .ns
            .iter()
            .filter_map(|id| self.hosts.get(id).map(|h| h.name.clone()))
            .collect();
        d.ns.sort();
        d
    }

    fn link_ids(&self, d: &Domain) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(d.ns.len());
        for n in &d.ns {
            let id = self.host_named(n).ok_or(StoreError::ForeignKey)?.id;
            if ids.contains(&id) {
                return Err(StoreError::Duplicate);
            }
            ids.push(id);
        }
        let roles = d.registrant.iter().chain(d.contacts.iter().map(|c| &c.id));
        for c in roles {
            if !self.contacts.contains_key(c) {
                return Err(StoreError::ForeignKey);
            }
        }
        Ok(ids)
    }

    fn contact_linked(&self, handle: &str) -> bool {
        self.domains.values().any(|r| {
            r.doc.registrant.as_deref() == Some(handle)
                || r.doc.contacts.iter().any(|c| c.id == handle)
        })
    }

    fn history(
        &mut self,
        c: &Checked,
        t: &str,
        key: &str,
        roid: String,
        op: &str,
        (b, a): (Option<String>, Option<String>),
    ) {
        let w = &c.change().who;
        let id = self.id();
        self.history.push(HistoryEntry {
            id,
            object_type: t.to_owned(),
            object_key: key.to_owned(),
            roid,
            op: op.to_owned(),
            cl_id: w.cl_id.clone(),
            source_ip: w.source_ip.clone(),
            cert_fingerprint: w.cert.clone(),
            cl_trid: w.cl_trid.clone(),
            sv_trid: w.sv_trid.clone(),
            at: w.now,
            before: b,
            after: a,
        });
    }

    fn apply(&mut self, c: &Checked) -> StoreResult<Applied> {
        let ch = c.change();
        let suffix = ch.roid_suffix.as_str();
        let mut applied = Applied::default();
        for w in &ch.objects {
            match w {
                ObjectWrite::Domain(w) => {
                    let (id, key) = match (&w.before, &w.after) {
                        (_, Some(a)) => {
                            let ns = self.link_ids(a)?;
                            let id = match &w.before {
                                None => {
                                    if self.domains.contains_key(&a.name) {
                                        return Err(StoreError::Duplicate);
                                    }
                                    let id = self.id();
                                    applied.inserted.push(id);
                                    id
                                }
                                Some(b) => b.id,
                            };
                            let mut doc = a.clone();
                            doc.id = id;
                            self.domains.insert(
                                a.name.clone(),
                                DomainRow {
                                    doc,
                                    ns,
                                    next_due: w.next_due,
                                },
                            );
                            (id, a.name.clone())
                        }
                        (Some(b), None) => {
                            if self
                                .hosts
                                .values()
                                .any(|h| h.superordinate.as_deref() == Some(&b.name))
                            {
                                return Err(StoreError::ForeignKey);
                            }
                            self.domains.remove(&b.name);
                            (b.id, b.name.clone())
                        }
                        (None, None) => continue,
                    };
                    let (b, a) = (
                        w.before.as_ref().map(redacted_json),
                        w.after.as_ref().map(redacted_json),
                    );
                    self.history(c, "domain", &key, roid('D', id, suffix), w.op, (b, a));
                }
                ObjectWrite::Host(w) => {
                    let (id, key) = match (&w.before, &w.after) {
                        (_, Some(a)) => {
                            if let Some(o) = self.host_named(&a.name) {
                                if w.before.as_ref().is_none_or(|b| b.id != o.id) {
                                    return Err(StoreError::Duplicate);
                                }
                            }
                            if let Some(s) = &a.superordinate {
                                if !self.domains.contains_key(s) {
                                    return Err(StoreError::ForeignKey);
                                }
                            }
                            let id = match &w.before {
                                None => {
                                    let id = self.id();
                                    applied.inserted.push(id);
                                    id
                                }
                                Some(b) => b.id,
                            };
                            let mut h = a.clone();
                            h.id = id;
                            self.hosts.insert(id, h);
                            (id, a.name.clone())
                        }
                        (Some(b), None) => {
                            self.hosts.remove(&b.id);
                            // Links cascade, as in the SQL schema.
                            for r in self.domains.values_mut() {
                                r.ns.retain(|x| *x != b.id);
                            }
                            (b.id, b.name.clone())
                        }
                        (None, None) => continue,
                    };
                    let (b, a) = (
                        w.before.as_ref().map(redacted_json),
                        w.after.as_ref().map(redacted_json),
                    );
                    self.history(c, "host", &key, roid('H', id, suffix), w.op, (b, a));
                }
                ObjectWrite::Contact(w) => {
                    let (id, key) = match (&w.before, &w.after) {
                        (_, Some(a)) => {
                            let id = match &w.before {
                                None => {
                                    if self.contacts.contains_key(&a.handle) {
                                        return Err(StoreError::Duplicate);
                                    }
                                    let id = self.id();
                                    applied.inserted.push(id);
                                    id
                                }
                                Some(b) => b.id,
                            };
                            let mut doc = a.clone();
                            doc.id = id;
                            self.contacts.insert(
                                a.handle.clone(),
                                ContactRow {
                                    doc,
                                    next_due: w.next_due,
                                },
                            );
                            (id, a.handle.clone())
                        }
                        (Some(b), None) => {
                            if self.contact_linked(&b.handle) {
                                return Err(StoreError::ForeignKey);
                            }
                            self.contacts.remove(&b.handle);
                            (b.id, b.handle.clone())
                        }
                        (None, None) => continue,
                    };
                    let (b, a) = (
                        w.before.as_ref().map(redacted_json),
                        w.after.as_ref().map(redacted_json),
                    );
                    self.history(c, "contact", &key, roid('C', id, suffix), w.op, (b, a));
                }
            }
        }
        match &ch.lock_request {
            Some(LockRequestWrite::Insert(r)) => {
                let id = self.id();
                let mut r = r.clone();
                r.id = id;
                self.lock_requests.insert(id, r);
                applied.lock_request_id = Some(id);
            }
            Some(LockRequestWrite::Update(r)) => {
                self.lock_requests.insert(r.id, r.clone());
            }
            None => {}
        }
        for n in &ch.notes {
            self.history(
                c,
                n.object_type,
                &n.object_key,
                n.roid.clone(),
                n.op,
                (None, n.detail.clone()),
            );
        }
        for p in &ch.polls {
            let id = self.id();
            self.polls.push(PollMessage { id, ..p.clone() });
        }
        if let Some(rid) = ch.cancel_code_mail {
            self.outbox.retain(|_, m| {
                !(m.lock_request_id == Some(rid) && m.kind == "lockCode" && m.sent.is_none())
            });
        }
        for m in &ch.mail {
            let id = self.id();
            self.outbox.insert(id, OutboxMail { id, ..m.clone() });
        }
        for z in c.journal() {
            self.journal.push(JournalEntry {
                position: self.journal.len() as i64 + 1,
                at: ch.who.now,
                change: z.clone(),
            });
        }
        Ok(applied)
    }
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// The registry in memory. Clones share the same data.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                writer: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.inner.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Sets (or replaces) a registrar's designated lock contact.
    pub fn set_lock_contact(&self, c: LockContact) {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .lock_contacts
            .insert(c.cl_id.clone(), c);
    }

    /// Every journal entry so far.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.read(|s| s.journal.clone())
    }

    /// Every domain with its name servers, by name.
    pub fn domains(&self) -> Vec<Domain> {
        self.read(|s| s.domains.values().map(|r| s.domain_doc(r)).collect())
    }

    /// Every host.
    pub fn hosts(&self) -> Vec<Host> {
        self.read(|s| s.hosts.values().cloned().collect())
    }

    /// Every history row.
    pub fn all_history(&self) -> Vec<HistoryEntry> {
        self.read(|s| s.history.clone())
    }
}

/// A transaction over a copy of the state; a write one holds the writer until it ends.
#[derive(Debug)]
pub struct MemoryTx {
    store: MemoryStore,
    state: State,
    writer: Option<OwnedMutexGuard<()>>,
}

impl Store for MemoryStore {
    type Tx = MemoryTx;

    async fn begin(&self, write: bool) -> StoreResult<MemoryTx> {
        let writer = if write {
            Some(Arc::clone(&self.inner.writer).lock_owned().await)
        } else {
            None
        };
        Ok(MemoryTx {
            store: self.clone(),
            state: self.read(State::clone),
            writer,
        })
    }

    async fn domains_taken(&self, names: &[&str]) -> StoreResult<Vec<String>> {
        Ok(self.read(|s| {
            names
                .iter()
                .filter(|n| s.domains.contains_key(**n))
                .map(|n| (*n).to_owned())
                .collect()
        }))
    }

    async fn hosts_taken(&self, names: &[&str]) -> StoreResult<Vec<String>> {
        Ok(self.read(|s| {
            names
                .iter()
                .filter(|n| s.host_named(n).is_some())
                .map(|n| (*n).to_owned())
                .collect()
        }))
    }

    async fn contacts_taken(&self, handles: &[&str]) -> StoreResult<Vec<String>> {
        Ok(self.read(|s| {
            handles
                .iter()
                .filter(|n| s.contacts.contains_key(**n))
                .map(|n| (*n).to_owned())
                .collect()
        }))
    }

    async fn due_domains(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
        Ok(self.read(|s| {
            let mut v: Vec<(Timestamp, String)> = s
                .domains
                .iter()
                .filter_map(|(n, r)| r.next_due.filter(|t| *t <= now).map(|t| (t, n.clone())))
                .collect();
            v.sort();
            v.into_iter().take(limit as usize).map(|(_, n)| n).collect()
        }))
    }

    async fn due_contacts(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
        Ok(self.read(|s| {
            s.contacts
                .iter()
                .filter(|(_, r)| r.next_due.is_some_and(|t| t <= now))
                .map(|(n, _)| n.clone())
                .take(limit as usize)
                .collect()
        }))
    }

    async fn history(&self, object_type: &str, object_key: &str) -> StoreResult<Vec<HistoryEntry>> {
        Ok(self.read(|s| {
            s.history
                .iter()
                .filter(|h| h.object_type == object_type && h.object_key == object_key)
                .cloned()
                .collect()
        }))
    }

    async fn lock_history(&self) -> StoreResult<Vec<HistoryEntry>> {
        use crate::delegation::{OP_LOCK_DELEGATION, OP_LOCK_RELEASED};
        Ok(self.read(|s| {
            s.history
                .iter()
                .filter(|h| {
                    h.object_type == "domain"
                        && (h.op == OP_LOCK_DELEGATION || h.op == OP_LOCK_RELEASED)
                })
                .cloned()
                .collect()
        }))
    }

    async fn journal_since(&self, after: i64, limit: u32) -> StoreResult<Vec<JournalEntry>> {
        Ok(self.read(|s| {
            s.journal
                .iter()
                .filter(|j| j.position > after)
                .take(limit as usize)
                .cloned()
                .collect()
        }))
    }

    async fn due_lock_requests(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<i64>> {
        Ok(self.read(|s| {
            s.lock_requests
                .values()
                .filter(|r| r.closed.is_none() && r.expires <= now)
                .map(|r| r.id)
                .take(limit as usize)
                .collect()
        }))
    }

    async fn lock_requests(&self, open_only: bool, limit: u32) -> StoreResult<Vec<LockRequest>> {
        Ok(self.read(|s| {
            s.lock_requests
                .values()
                .rev()
                .filter(|r| !open_only || r.closed.is_none())
                .take(limit as usize)
                .cloned()
                .collect()
        }))
    }

    async fn outbox_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>> {
        Ok(self.read(|s| {
            s.outbox
                .values()
                .filter(|m| m.sent.is_none() && m.next_attempt <= now)
                .take(limit as usize)
                .cloned()
                .collect()
        }))
    }

    async fn outbox_for_request(&self, request_id: i64) -> StoreResult<Vec<OutboxMail>> {
        Ok(self.read(|s| {
            s.outbox
                .values()
                .filter(|m| m.lock_request_id == Some(request_id))
                .cloned()
                .collect()
        }))
    }
}

impl StoreTx for MemoryTx {
    async fn commit(self) -> StoreResult<()> {
        if self.writer.is_some() {
            *self
                .store
                .inner
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = self.state;
        }
        Ok(())
    }

    async fn apply(&mut self, change: &Checked) -> StoreResult<Applied> {
        if self.writer.is_none() {
            return Err(StoreError::Backend("write in a read transaction".into()));
        }
        // All or nothing, like a savepoint.
        let mut next = self.state.clone();
        let applied = next.apply(change)?;
        self.state = next;
        Ok(applied)
    }

    async fn domain_get(&mut self, name: &str, _lock: bool) -> StoreResult<Option<Domain>> {
        Ok(self
            .state
            .domains
            .get(name)
            .map(|r| self.state.domain_doc(r)))
    }

    async fn domains_using_host(&mut self, host_id: i64) -> StoreResult<Vec<String>> {
        self.domains_using_hosts(&[host_id], false).await
    }

    async fn domains_using_hosts(
        &mut self,
        host_ids: &[i64],
        locked_only: bool,
    ) -> StoreResult<Vec<String>> {
        Ok(self
            .state
            .domains
            .iter()
            .filter(|(_, r)| r.ns.iter().any(|id| host_ids.contains(id)))
            .filter(|(_, r)| !locked_only || r.doc.registry_locked())
            .map(|(n, _)| n.clone())
            .collect())
    }

    async fn host_get(&mut self, name: &str, _lock: bool) -> StoreResult<Option<Host>> {
        Ok(self.state.host_named(name).cloned())
    }

    async fn hosts_named(&mut self, names: &[String]) -> StoreResult<Vec<Host>> {
        Ok(names
            .iter()
            .filter_map(|n| self.state.host_named(n).cloned())
            .collect())
    }

    async fn hosts_under(&mut self, domain: &str) -> StoreResult<Vec<Host>> {
        let mut v: Vec<Host> = self
            .state
            .hosts
            .values()
            .filter(|h| h.superordinate.as_deref() == Some(domain))
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    async fn contact_get(&mut self, handle: &str, _lock: bool) -> StoreResult<Option<Contact>> {
        Ok(self.state.contacts.get(handle).map(|r| r.doc.clone()))
    }

    async fn contact_linked(&mut self, id: i64) -> StoreResult<bool> {
        Ok(self
            .state
            .contacts
            .values()
            .find(|r| r.doc.id == id)
            .is_some_and(|r| self.state.contact_linked(&r.doc.handle)))
    }

    async fn poll_head(&mut self, cl_id: &str) -> StoreResult<Option<(PollMessage, u64)>> {
        let mine: Vec<&PollMessage> = self
            .state
            .polls
            .iter()
            .filter(|m| m.cl_id == cl_id)
            .collect();
        Ok(mine.first().map(|m| ((*m).clone(), mine.len() as u64)))
    }

    async fn poll_ack(&mut self, cl_id: &str, id: i64) -> StoreResult<Option<u64>> {
        let before = self.state.polls.len();
        self.state
            .polls
            .retain(|m| !(m.id == id && m.cl_id == cl_id));
        if self.state.polls.len() == before {
            return Ok(None);
        }
        Ok(Some(
            self.state.polls.iter().filter(|m| m.cl_id == cl_id).count() as u64,
        ))
    }

    async fn lock_contact(&mut self, cl_id: &str) -> StoreResult<Option<LockContact>> {
        Ok(self.state.lock_contacts.get(cl_id).cloned())
    }

    async fn lock_request_get(&mut self, id: i64, _lock: bool) -> StoreResult<Option<LockRequest>> {
        Ok(self.state.lock_requests.get(&id).cloned())
    }

    async fn lock_request_open(&mut self, domain: &str) -> StoreResult<Option<LockRequest>> {
        Ok(self
            .state
            .lock_requests
            .values()
            .find(|r| r.domain == domain && r.closed.is_none())
            .cloned())
    }

    async fn outbox_claim(
        &mut self,
        id: i64,
        expected_next: Timestamp,
        lease_until: Timestamp,
    ) -> StoreResult<bool> {
        match self.state.outbox.get_mut(&id) {
            Some(m) if m.sent.is_none() && m.next_attempt == expected_next => {
                m.next_attempt = lease_until;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn outbox_result(&mut self, m: &OutboxMail) -> StoreResult<()> {
        self.state.outbox.insert(m.id, m.clone());
        Ok(())
    }
}
