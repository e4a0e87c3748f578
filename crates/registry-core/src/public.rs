//! What the public read-only services (RDAP, `crates/rdapd`) may see of the registry.
//!
//! [`PublicStore`] is their read port: exact lookups and two bounded searches, implemented
//! by `registry-store` (`registry_store::public`). [`Registry`] turns what it returns into
//! views: each object as it is *now* (time-driven steps applied in memory, as for an EPP
//! `<info>`, so a domain whose purge is due is not found even if the scheduler is late),
//! its statuses as EPP would show them (stored ones plus `inactive`, `linked`, `ok`), its
//! ROID. The view types have no field for an authInfo: whatever renders them cannot leak it.

use std::future::Future;
use std::net::IpAddr;

use epp_proto::contact::ContactStatus;
use epp_proto::domain::DomainStatus;
use epp_proto::ext::rgp::RgpStatus;
use epp_proto::host::HostStatus;
use epp_proto::Timestamp;

use crate::error::CoreError;
use crate::model::{
    Contact, DiscloseRec, Domain, DsRec, Host, LockRec, PhoneRec, PostalRec, StatusRec,
};
use crate::registry::Registry;
use crate::store::{Store, StoreResult};

/// A registrar as the public may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarRecord {
    pub cl_id: String,
    pub name: String,
    /// Not suspended.
    pub active: bool,
}

/// A domain with everything its public view shows, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRecord {
    pub domain: Domain,
    /// The host objects of its name servers (each once).
    pub hosts: Vec<Host>,
    /// The contacts it names as registrant or in any role (each once).
    pub contacts: Vec<Contact>,
    pub sponsor: Option<RegistrarRecord>,
    /// When its history last recorded a change, by anyone (registry lock included).
    pub last_changed: Option<Timestamp>,
}

/// A domain as a search result shows it: no hosts, contacts or registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    pub domain: Domain,
    pub last_changed: Option<Timestamp>,
}

/// A host with what its public view shows, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRecord {
    pub host: Host,
    /// Some domain uses it as a name server.
    pub linked: bool,
    pub sponsor: Option<RegistrarRecord>,
    pub last_changed: Option<Timestamp>,
}

/// A contact with what its public view shows, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub contact: Contact,
    /// Some domain refers to it.
    pub linked: bool,
    pub sponsor: Option<RegistrarRecord>,
    pub last_changed: Option<Timestamp>,
}

/// The read port of the public services. Every method is one bounded query: exact keys, or
/// a search that returns at most `limit` rows in name order after the cursor `after`.
pub trait PublicStore: Send + Sync + 'static {
    /// A reading that differs from an earlier one whenever anything was committed to the
    /// database in between (it may also differ when nothing the public sees changed). The
    /// public services' answer caches are keyed on it.
    fn public_change_stamp(&self) -> impl Future<Output = StoreResult<String>> + Send;

    /// A domain by its (lowercase A-label) name.
    fn public_domain(
        &self,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<DomainRecord>>> + Send;

    /// A host by its (lowercase A-label) name.
    fn public_host(
        &self,
        name: &str,
    ) -> impl Future<Output = StoreResult<Option<HostRecord>>> + Send;

    /// A contact by its row id (the number in its ROID).
    fn public_contact(
        &self,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<ContactRecord>>> + Send;

    /// A registrar by its clID.
    fn public_registrar(
        &self,
        cl_id: &str,
    ) -> impl Future<Output = StoreResult<Option<RegistrarRecord>>> + Send;

    /// Domains whose name starts with `prefix` and, if given, ends with `suffix`, with names
    /// above `after`, in name order, at most `limit`.
    fn public_domains_by_prefix(
        &self,
        prefix: &str,
        suffix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<DomainRow>>> + Send;

    /// Hosts with address `addr`, with names above `after`, in name order, at most `limit`.
    fn public_hosts_by_addr(
        &self,
        addr: IpAddr,
        after: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<HostRecord>>> + Send;
}

/// How a contact is linked to a domain (RFC 5731 `domain:contactAttrType` and registrant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactRole {
    Registrant,
    Admin,
    Tech,
    Billing,
}

impl ContactRole {
    fn from_link(kind: &str) -> Option<Self> {
        match kind {
            "admin" => Some(ContactRole::Admin),
            "tech" => Some(ContactRole::Tech),
            "billing" => Some(ContactRole::Billing),
            _ => None,
        }
    }
}

/// A registry lock as the public sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockView {
    /// When the lock was (last) applied.
    pub since: Timestamp,
    /// `false` during a timed unlock.
    pub in_force: bool,
    /// During a timed unlock: when the registry locks the domain again.
    pub relock_at: Option<Timestamp>,
}

impl From<&LockRec> for LockView {
    fn from(l: &LockRec) -> Self {
        Self {
            since: l.since,
            in_force: l.in_force(),
            relock_at: l.relock_at,
        }
    }
}

/// A domain now, for the public. Summaries (search results) have no name servers, contacts
/// or sponsor record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainView {
    pub roid: String,
    /// Lowercase A-label.
    pub name: String,
    pub cl_id: String,
    pub sponsor: Option<RegistrarRecord>,
    pub cr_date: Timestamp,
    pub up_date: Option<Timestamp>,
    pub ex_date: Timestamp,
    pub tr_date: Option<Timestamp>,
    pub last_changed: Option<Timestamp>,
    /// As `<domain:info>` shows them.
    pub statuses: Vec<DomainStatus>,
    /// As the rgp extension shows them (RFC 3915).
    pub rgp: Vec<RgpStatus>,
    pub ds: Vec<DsRec>,
    pub max_sig_life: Option<u32>,
    /// By name order.
    pub nameservers: Vec<HostView>,
    /// Registrant first, then admin, tech, billing; a contact in two roles appears twice.
    pub contacts: Vec<(ContactRole, ContactView)>,
    pub lock: Option<LockView>,
    /// The next instant at which this view changes with no write to the database (a
    /// lifecycle step falls due, a grace period ends, a linked contact's transfer is
    /// auto-approved); `None` if none is known. A cache must not serve the view from then on.
    pub changes_at: Option<Timestamp>,
}

/// A host now, for the public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostView {
    pub roid: String,
    pub name: String,
    pub cl_id: String,
    pub sponsor: Option<RegistrarRecord>,
    pub cr_date: Timestamp,
    pub up_date: Option<Timestamp>,
    pub tr_date: Option<Timestamp>,
    pub last_changed: Option<Timestamp>,
    /// As `<host:info>` shows them.
    pub statuses: Vec<HostStatus>,
    pub addrs: Vec<IpAddr>,
}

/// A contact now, for the public, before any redaction (which is the renderer's policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    pub roid: String,
    /// The registrar-chosen `contact:id`.
    pub id: String,
    pub cl_id: String,
    pub sponsor: Option<RegistrarRecord>,
    pub cr_date: Timestamp,
    pub up_date: Option<Timestamp>,
    pub tr_date: Option<Timestamp>,
    pub last_changed: Option<Timestamp>,
    /// As `<contact:info>` shows them.
    pub statuses: Vec<ContactStatus>,
    pub postal: Vec<PostalRec>,
    pub voice: Option<PhoneRec>,
    pub fax: Option<PhoneRec>,
    pub email: String,
    /// What the contact asked to be disclosed or withheld (RFC 5733 `contact:disclose`).
    pub disclose: Option<DiscloseRec>,
}

fn tokens<T>(
    list: &[StatusRec],
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Vec<T>, CoreError> {
    list.iter()
        .map(|s| parse(&s.s).ok_or_else(|| CoreError::Corrupt(format!("{what} status {:?}", s.s))))
        .collect()
}

impl<S: Store + PublicStore> Registry<S> {
    /// A domain as it is now; `None` if it does not exist or its purge is due.
    pub async fn public_domain(&self, name: &str) -> Result<Option<DomainView>, CoreError> {
        let Some(rec) = self.store.public_domain(name).await? else {
            return Ok(None);
        };
        let now = self.now();
        let Some(d) = self.settle_view(rec.domain, now).await? else {
            return Ok(None);
        };
        let mut nameservers = rec
            .hosts
            .into_iter()
            .map(|h| {
                // Embedded name servers: sponsor and last change are the host lookup's.
                self.host_view(HostRecord {
                    host: h,
                    linked: true,
                    sponsor: None,
                    last_changed: None,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        nameservers.sort_by(|a, b| a.name.cmp(&b.name));
        let find = |handle: &str| rec.contacts.iter().find(|c| c.handle == handle);
        let mut contacts = Vec::new();
        let mut contact_due: Option<Timestamp> = None;
        let links = d
            .registrant
            .iter()
            .map(|r| (ContactRole::Registrant, r.as_str()))
            .chain(
                d.contacts
                    .iter()
                    .filter_map(|l| ContactRole::from_link(&l.kind).map(|k| (k, l.id.as_str()))),
            );
        for (role, handle) in links {
            if let Some(c) = find(handle) {
                contact_due = [contact_due, self.next_due_contact(c).filter(|t| *t > now)]
                    .into_iter()
                    .flatten()
                    .min();
                let view = self.contact_view(
                    ContactRecord {
                        contact: c.clone(),
                        linked: true,
                        sponsor: None,
                        last_changed: None,
                    },
                    now,
                )?;
                contacts.push((role, view));
            }
        }
        contacts.sort_by_key(|(r, _)| *r);
        // A transfer the view just approved changed the sponsor: the stored one is stale.
        let sponsor = rec.sponsor.filter(|s| s.cl_id == d.cl_id);
        let mut view = self.domain_view(d, sponsor, rec.last_changed, now)?;
        view.nameservers = nameservers;
        view.contacts = contacts;
        view.changes_at = [view.changes_at, contact_due].into_iter().flatten().min();
        Ok(Some(view))
    }

    /// See [`PublicStore::public_change_stamp`].
    pub async fn public_change_stamp(&self) -> Result<String, CoreError> {
        Ok(self.store.public_change_stamp().await?)
    }

    /// A host as it is now.
    pub async fn public_host(&self, name: &str) -> Result<Option<HostView>, CoreError> {
        match self.store.public_host(name).await? {
            Some(rec) => Ok(Some(self.host_view(rec)?)),
            None => Ok(None),
        }
    }

    /// A contact by its ROID (`C<n>-<roid_suffix>`), as it is now.
    pub async fn public_contact(&self, roid: &str) -> Result<Option<ContactView>, CoreError> {
        let Some(id) = self.roid_number('C', roid) else {
            return Ok(None);
        };
        match self.store.public_contact(id).await? {
            Some(rec) => Ok(Some(self.contact_view(rec, self.now())?)),
            None => Ok(None),
        }
    }

    /// A registrar by clID.
    pub async fn public_registrar(
        &self,
        cl_id: &str,
    ) -> Result<Option<RegistrarRecord>, CoreError> {
        Ok(self.store.public_registrar(cl_id).await?)
    }

    /// Domain summaries for a name search (see [`PublicStore::public_domains_by_prefix`]);
    /// domains whose purge is due are left out, so a page may hold fewer than `limit`.
    /// Also returns, when the store had `limit` rows (so there may be more), the last name
    /// read: where the next page starts.
    pub async fn public_domain_search(
        &self,
        prefix: &str,
        suffix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<DomainView>, Option<String>), CoreError> {
        let rows = self
            .store
            .public_domains_by_prefix(prefix, suffix, after, limit)
            .await?;
        let next = rows
            .last()
            .filter(|_| rows.len() >= limit as usize)
            .map(|r| r.domain.name.clone());
        let now = self.now();
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(d) = self.settle_view(r.domain, now).await? {
                out.push(self.domain_view(d, None, r.last_changed, now)?);
            }
        }
        Ok((out, next))
    }

    /// Hosts with an address, for a name server search.
    pub async fn public_host_search(
        &self,
        addr: IpAddr,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HostView>, CoreError> {
        self.store
            .public_hosts_by_addr(addr, after, limit)
            .await?
            .into_iter()
            .map(|r| self.host_view(r))
            .collect()
    }

    /// The number of a ROID of this registry with `prefix` (`D`, `H`, `C`).
    fn roid_number(&self, prefix: char, roid: &str) -> Option<i64> {
        let rest = roid.strip_prefix(prefix)?;
        let (num, suffix) = rest.split_once('-')?;
        if !suffix.eq_ignore_ascii_case(&self.cfg.roid_suffix)
            || num.is_empty()
            || num.len() > 18
            || !num.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        num.parse().ok()
    }

    fn domain_view(
        &self,
        d: Domain,
        sponsor: Option<RegistrarRecord>,
        last_changed: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<DomainView, CoreError> {
        // The list `<domain:info>` shows (domain_cmd): stored statuses, `inactive` without
        // name servers, `ok` when nothing else applies.
        let mut statuses = tokens(&d.statuses, DomainStatus::from_token, "domain")?;
        if d.ns.is_empty() {
            statuses.push(DomainStatus::Inactive);
        }
        if statuses.is_empty() {
            statuses.push(DomainStatus::Ok);
        }
        let grace_ends = d.grace.iter().map(|g| g.until).filter(|t| *t > now).min();
        let changes_at = [self.next_due_domain(&d), grace_ends]
            .into_iter()
            .flatten()
            .min();
        Ok(DomainView {
            changes_at,
            roid: self.roid('D', d.id),
            rgp: crate::domain::rgp_statuses(&d, now),
            lock: d.registry_lock.as_ref().map(LockView::from),
            name: d.name,
            cl_id: d.cl_id,
            sponsor,
            cr_date: d.cr_date,
            up_date: d.up_date,
            ex_date: d.ex_date,
            tr_date: d.tr_date,
            last_changed,
            statuses,
            ds: d.ds,
            max_sig_life: d.max_sig_life,
            nameservers: Vec::new(),
            contacts: Vec::new(),
        })
    }

    fn host_view(&self, r: HostRecord) -> Result<HostView, CoreError> {
        let h = r.host;
        let mut statuses = tokens(&h.statuses, HostStatus::from_token, "host")?;
        if r.linked {
            statuses.push(HostStatus::Linked);
        }
        if statuses.is_empty() {
            statuses.push(HostStatus::Ok);
        }
        Ok(HostView {
            roid: self.roid('H', h.id),
            name: h.name,
            cl_id: h.cl_id,
            sponsor: r.sponsor,
            cr_date: h.cr_date,
            up_date: h.up_date,
            tr_date: h.tr_date,
            last_changed: r.last_changed,
            statuses,
            addrs: h.addrs,
        })
    }

    fn contact_view(&self, r: ContactRecord, now: Timestamp) -> Result<ContactView, CoreError> {
        let c = self.settle_contact_view(r.contact, now);
        let mut statuses = tokens(&c.statuses, ContactStatus::from_token, "contact")?;
        if r.linked {
            statuses.push(ContactStatus::Linked);
        }
        if statuses.is_empty() {
            statuses.push(ContactStatus::Ok);
        }
        Ok(ContactView {
            roid: self.roid('C', c.id),
            id: c.handle,
            cl_id: c.cl_id,
            sponsor: r.sponsor,
            cr_date: c.cr_date,
            up_date: c.up_date,
            tr_date: c.tr_date,
            last_changed: r.last_changed,
            statuses,
            postal: c.postal,
            voice: c.voice,
            fax: c.fax,
            email: c.email,
            disclose: c.disclose,
        })
    }
}
