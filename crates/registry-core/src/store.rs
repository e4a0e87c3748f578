//! What the core needs from persistence, as traits; `registry-store` implements them over
//! sqlx, [`crate::memory`] in memory. The core never sees SQL: it loads objects inside one
//! [`StoreTx`] per EPP command, decides, and hands the store one checked
//! [`Change`](crate::change::Change) to apply.
//!
//! Contract for implementations:
//! * a write transaction ([`Store::begin`] with `write = true`) excludes every other writer of
//!   the rows it locks (`lock = true` loads) until it commits or is dropped (drop = rollback);
//! * a unique violation is [`StoreError::Duplicate`]; a lost race the caller should retry
//!   (serialization failure, deadlock, busy database) is [`StoreError::Conflict`];
//! * journal positions (the ids [`Store::journal_since`] returns) are final once handed out,
//!   never appear below a position already read, and follow commit order for each object.

use std::future::Future;

use epp_proto::Timestamp;

use crate::change::{Applied, Checked};
use crate::model::{
    Contact, Domain, HistoryEntry, Host, JournalEntry, LockContact, LockRequest, OutboxMail,
    PollMessage,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated")]
    Duplicate,
    #[error("foreign key constraint violated")]
    ForeignKey,
    #[error("transaction conflict, retry: {0}")]
    Conflict(String),
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A database: hands out transactions and answers the scheduler's and operators' queries.
pub trait Store: Send + Sync + 'static {
    type Tx: StoreTx;

    /// Starts a transaction; `write` ones are serialized against other writers as the backend
    /// needs (SQLite: `BEGIN IMMEDIATE`).
    fn begin(&self, write: bool) -> impl Future<Output = StoreResult<Self::Tx>> + Send;

    /// Which of `names` are existing domains (exact names; duplicates and order not kept).
    /// For `<check>`: one query outside any transaction, no object loaded.
    fn domains_taken(
        &self,
        names: &[&str],
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Which of `names` are existing hosts, as [`Store::domains_taken`].
    fn hosts_taken(&self, names: &[&str]) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Which of `handles` are existing contacts, as [`Store::domains_taken`].
    fn contacts_taken(
        &self,
        handles: &[&str],
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Names of domains with a time-driven step due at or before `now`.
    fn due_domains(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// Ids of contacts with a time-driven step due at or before `now`.
    fn due_contacts(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    /// The history of one object, oldest first.
    fn history(
        &self,
        object_type: &str,
        object_key: &str,
    ) -> impl Future<Output = StoreResult<Vec<HistoryEntry>>> + Send;

    /// The domains' `lock:delegation` and `lock:released` history rows, oldest first (what
    /// [`crate::delegation::lock_baselines`] folds).
    fn lock_history(&self) -> impl Future<Output = StoreResult<Vec<HistoryEntry>>> + Send;

    /// Journal entries with a position above `after`, in position order (committed entries
    /// are given their positions here, see the contract above).
    fn journal_since(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<JournalEntry>>> + Send;

    /// Ids of open lock requests (code not sent or pending verification) whose code expired
    /// at or before `now`.
    fn due_lock_requests(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<i64>>> + Send;

    /// Lock requests, newest first: only open ones, or all.
    fn lock_requests(
        &self,
        open_only: bool,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<LockRequest>>> + Send;

    /// Unsent mail due at or before `now`, oldest first.
    fn outbox_due(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<OutboxMail>>> + Send;

    /// The mail of one lock request, oldest first.
    fn outbox_for_request(
        &self,
        request_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<OutboxMail>>> + Send;
}

/// One transaction. Dropping it without [`StoreTx::commit`] rolls it back.
///
/// Reads are methods of their own; registry data is written only by [`StoreTx::apply`], which
/// takes a [`Checked`] change: one that passed the delegation guard ([`crate::guard`]). The
/// queues (poll acknowledgements, the mail worker's bookkeeping) have their own writes: they
/// are not registry data and no delegation depends on them.
pub trait StoreTx: Send {
    fn commit(self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Commits only if the database gets to the COMMIT within `within` from now; otherwise
    /// the transaction is rolled back (a stalled database must not apply, when it resumes, a
    /// command whose client has been answered 2400). A store that cannot stall behind the
    /// caller's back just commits.
    fn commit_within(
        self,
        within: std::time::Duration,
    ) -> impl Future<Output = StoreResult<()>> + Send
    where
        Self: Sized,
    {
        let _ = within;
        self.commit()
    }

    /// Writes a checked change: every object write (rows, links, `next_due`), a history row
    /// per object write (the object's JSON before and after, secrets redacted) and per note,
    /// the journal entries, poll messages, mail and the lock request. Inserted objects get
    /// their ids here, in write order.
    fn apply(&mut self, change: &Checked) -> impl Future<Output = StoreResult<Applied>> + Send;

    // Domains. `lock` takes a row lock until the end of the transaction.
    fn domain_get(
        &mut self,
        name: &str,
        lock: bool,
    ) -> impl Future<Output = StoreResult<Option<Domain>>> + Send;
    /// Names of domains that list host `host_id` as a name server.
    fn domains_using_host(
        &mut self,
        host_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Names of domains that list any of `host_ids` as a name server; with `locked_only`,
    /// only those with a registry lock in force (an indexed query: the delegation guard asks it
    /// for every host whose glue a change moves).
    fn domains_using_hosts(
        &mut self,
        host_ids: &[i64],
        locked_only: bool,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;

    // Hosts.
    fn host_get(
        &mut self,
        name: &str,
        lock: bool,
    ) -> impl Future<Output = StoreResult<Option<Host>>> + Send;
    /// The hosts of these names that exist (no row lock).
    fn hosts_named(
        &mut self,
        names: &[String],
    ) -> impl Future<Output = StoreResult<Vec<Host>>> + Send;
    /// Hosts subordinate to a domain, by name order.
    fn hosts_under(&mut self, domain: &str) -> impl Future<Output = StoreResult<Vec<Host>>> + Send;

    // Contacts.
    fn contact_get(
        &mut self,
        handle: &str,
        lock: bool,
    ) -> impl Future<Output = StoreResult<Option<Contact>>> + Send;
    /// Whether any domain refers to the contact (registrant or any role).
    fn contact_linked(&mut self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;

    // Poll queue.
    /// The oldest message of `cl_id` and the queue's length.
    fn poll_head(
        &mut self,
        cl_id: &str,
    ) -> impl Future<Output = StoreResult<Option<(PollMessage, u64)>>> + Send;
    /// Removes message `id` if it is `cl_id`'s; returns whether it was; and the count left.
    fn poll_ack(
        &mut self,
        cl_id: &str,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<u64>>> + Send;

    // Registry lock.
    fn lock_contact(
        &mut self,
        cl_id: &str,
    ) -> impl Future<Output = StoreResult<Option<LockContact>>> + Send;
    fn lock_request_get(
        &mut self,
        id: i64,
        lock: bool,
    ) -> impl Future<Output = StoreResult<Option<LockRequest>>> + Send;
    /// The open request of a domain, if any.
    fn lock_request_open(
        &mut self,
        domain: &str,
    ) -> impl Future<Output = StoreResult<Option<LockRequest>>> + Send;

    // Mail outbox (the mail worker's bookkeeping).
    /// Takes mail `id` for sending if it is still unsent and due at `expected_next`, moving
    /// its next attempt to `lease_until` (so a second worker leaves it alone).
    fn outbox_claim(
        &mut self,
        id: i64,
        expected_next: Timestamp,
        lease_until: Timestamp,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records the outcome of one attempt: sent (the body is emptied), or failed with the
    /// next attempt time.
    fn outbox_result(&mut self, m: &OutboxMail) -> impl Future<Output = StoreResult<()>> + Send;
}
