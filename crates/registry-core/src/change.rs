//! The one value every mutation of the registry becomes: a [`Change`].
//!
//! A command (or a time-driven step, or an operator's action) loads what it needs, decides, and
//! describes its whole effect as a `Change`: the objects it writes with their state before and
//! after, the history notes, poll messages, mail and lock-request rows that go with it. Nothing
//! is written while deciding. The change then passes the delegation guard
//! ([`crate::guard`]), which refuses it if it would alter a registry-locked delegation and
//! derives the journal entries the zone generator needs; only the guard can turn a `Change`
//! into a [`Checked`] one, and [`crate::store::StoreTx::apply`] takes nothing else. So a new
//! command is held to the lock by construction: it has no other way to write.

use epp_proto::Timestamp;

use crate::model::{Contact, Domain, Host, LockRequest, OutboxMail, PollMessage, ZoneChange};

/// Who a change is recorded against: a registrar's command, an operator, or the registry itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// The registrar's clID, `operator:NAME`, or the registry's own clID.
    pub cl_id: String,
    pub source_ip: Option<String>,
    pub cert: Option<String>,
    pub cl_trid: Option<String>,
    pub sv_trid: String,
    pub now: Timestamp,
}

/// One object's state before and after. `before: None` is an insert, `after: None` a delete
/// (a purge, for domains: its links and subordinate hosts must be deleted by their own writes
/// in the same change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write<T> {
    /// The history op: `domain:update`, `transfer:serverApproved`, `rgp:purge`, …
    pub op: &'static str,
    pub before: Option<T>,
    pub after: Option<T>,
    /// When the object's next time-driven step is due (domains and contacts).
    pub next_due: Option<Timestamp>,
}

impl<T> Write<T> {
    /// The object as it is after the change, or as it was if deleted.
    pub fn current(&self) -> Option<&T> {
        self.after.as_ref().or(self.before.as_ref())
    }
}

/// A write of one registry object.
// A change holds a handful of these; boxing the domain would cost an allocation per write.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectWrite {
    Domain(Write<Domain>),
    Host(Write<Host>),
    Contact(Write<Contact>),
}

/// A history row that is not an object's before/after: a lock request's steps, a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryNote {
    /// `domain`, `host` or `contact`.
    pub object_type: &'static str,
    pub object_key: String,
    pub roid: String,
    pub op: &'static str,
    /// JSON.
    pub detail: Option<String>,
}

/// A lock request row to insert or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockRequestWrite {
    Insert(LockRequest),
    Update(LockRequest),
}

/// The whole effect of one command or step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub who: Who,
    /// The ROID suffix of the registry (the store names inserted objects' history rows with it).
    pub roid_suffix: String,
    pub objects: Vec<ObjectWrite>,
    pub notes: Vec<HistoryNote>,
    pub polls: Vec<PollMessage>,
    pub mail: Vec<OutboxMail>,
    pub lock_request: Option<LockRequestWrite>,
    /// Drops the unsent code mail of this lock request (it ended).
    pub cancel_code_mail: Option<i64>,
    /// Why, in a few words (an operator's reason): the change poll message's `<reason>`.
    pub reason: Option<String>,
}

impl Change {
    pub fn new(who: &Who, roid_suffix: &str) -> Self {
        Change {
            who: who.clone(),
            roid_suffix: roid_suffix.to_owned(),
            objects: Vec::new(),
            notes: Vec::new(),
            polls: Vec::new(),
            mail: Vec::new(),
            lock_request: None,
            cancel_code_mail: None,
            reason: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.notes.is_empty()
            && self.polls.is_empty()
            && self.mail.is_empty()
            && self.lock_request.is_none()
            && self.cancel_code_mail.is_none()
    }

    pub fn domain(&mut self, op: &'static str, before: Option<Domain>, after: Option<Domain>) {
        self.objects.push(ObjectWrite::Domain(Write {
            op,
            before,
            after,
            next_due: None,
        }));
    }

    pub fn host(&mut self, op: &'static str, before: Option<Host>, after: Option<Host>) {
        self.objects.push(ObjectWrite::Host(Write {
            op,
            before,
            after,
            next_due: None,
        }));
    }

    pub fn contact(&mut self, op: &'static str, before: Option<Contact>, after: Option<Contact>) {
        self.objects.push(ObjectWrite::Contact(Write {
            op,
            before,
            after,
            next_due: None,
        }));
    }

    pub fn poll(&mut self, m: PollMessage) {
        self.polls.push(m);
    }

    pub fn note(&mut self, n: HistoryNote) {
        self.notes.push(n);
    }

    /// Every domain write's final state, by name (the last write of a name wins).
    pub fn domain_after(&self, name: &str) -> Option<Option<&Domain>> {
        self.objects.iter().rev().find_map(|w| match w {
            ObjectWrite::Domain(w) if w.current().is_some_and(|d| d.name == name) => {
                Some(w.after.as_ref())
            }
            _ => None,
        })
    }

    /// The history op of the first object write (for logs and refusal notes).
    pub fn first_op(&self) -> &'static str {
        self.objects
            .iter()
            .map(|w| match w {
                ObjectWrite::Domain(w) => w.op,
                ObjectWrite::Host(w) => w.op,
                ObjectWrite::Contact(w) => w.op,
            })
            .chain(self.notes.iter().map(|n| n.op))
            .next()
            .unwrap_or("change")
    }
}

/// A change the delegation guard let through, with the journal entries it derived. Only
/// [`crate::guard`] can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    change: Change,
    journal: Vec<ZoneChange>,
}

impl Checked {
    pub(crate) fn new(change: Change, journal: Vec<ZoneChange>) -> Self {
        Checked { change, journal }
    }

    pub fn change(&self) -> &Change {
        &self.change
    }

    /// What the zone must now say, one entry per name that changed, in the change's order.
    pub fn journal(&self) -> &[ZoneChange] {
        &self.journal
    }
}

/// What [`crate::store::StoreTx::apply`] reports back: the row ids it gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// One per inserted object, in the order of the change's writes.
    pub inserted: Vec<i64>,
    /// The id of an inserted lock request.
    pub lock_request_id: Option<i64>,
}
