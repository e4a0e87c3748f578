//! The delegation guard: the one place that decides whether a change may alter what the zone
//! publishes for a registry-locked domain, and the one place that derives the delegation
//! journal from a change.
//!
//! Every write of the registry passes here: [`check`] is the only maker of
//! [`Checked`](crate::change::Checked), and the store applies nothing else. For a change it
//! works out every domain whose published delegation ([`crate::delegation::published`]) the
//! change could move:
//! * the domains it writes (their NS, DS and zone statuses are in the write);
//! * the domains that use a host it renames or deletes (their NS set changes);
//! * the registry-locked domains that use a host whose addresses or internal/external state it
//!   changes (their glue changes; unlocked users need no look, the journal's host entry covers
//!   them).
//!
//! A host write that leaves name, superordinate and addresses alone (statuses, sponsor) cannot
//! move a delegation and costs no query. For each of those domains that is registry-locked
//! before or after the change, the published delegation after the change must equal the one
//! before; otherwise the whole change is refused with [`CoreError::RegistryLocked`] (2304),
//! whatever made it: a registrar's command on its own or another registrar's object, a
//! scheduled step, an operator's action. The lock procedure itself changes statuses only, so it
//! needs no exception.
//!
//! Concurrency: the domains and hosts read here are read inside the change's transaction with
//! row locks (`domain_get(…, true)`), and applying a lock takes row locks on the domain's name
//! servers ([`crate::lock`]), so a host change and a lock being applied to a domain using that
//! host are serialized: whichever commits second sees the other.

use std::collections::{BTreeMap, BTreeSet};

use crate::change::{Change, Checked, ObjectWrite};
use crate::delegation::{published, HostGlue};
use crate::error::CoreError;
use crate::model::{Delegation, Domain, Host, ZoneChange};
use crate::store::StoreTx;

/// The reason sent when the change writes the locked domain itself.
pub const REASON_DOMAIN: &str = "domain is registry-locked";
/// The reason sent when the change reaches a locked delegation through a host it uses.
pub const REASON_LINKED: &str = "used by a registry-locked domain";

/// The zone-relevant projection of a host: what [`published`] reads of it.
fn zone_key(h: &Host) -> (&str, HostGlue) {
    (h.name.as_str(), HostGlue::of(h))
}

/// One domain the change may move, before and after.
struct Affected {
    before: Option<Domain>,
    after: Option<Domain>,
    /// The change writes this domain (rather than reaching it through a host).
    written: bool,
}

/// Checks `change` against every registry-locked delegation it could move, and derives its
/// journal entries. Reads through `tx` (the change's own transaction).
pub async fn check<T: StoreTx>(tx: &mut T, change: Change) -> Result<Checked, CoreError> {
    check_with(tx, change, true).await
}

/// [`check`] for a read-only look (would this change be refused?): the domains it reads are
/// not locked, so it runs in a read-only transaction.
pub async fn would_refuse<T: StoreTx>(tx: &mut T, change: Change) -> Result<bool, CoreError> {
    match check_with(tx, change, false).await {
        Ok(_) => Ok(false),
        Err(CoreError::RegistryLocked { .. }) => Ok(true),
        Err(e) => Err(e),
    }
}

async fn check_with<T: StoreTx>(
    tx: &mut T,
    change: Change,
    lock_rows: bool,
) -> Result<Checked, CoreError> {
    // Hosts the change writes, by row id (a rename keeps the id), before and after.
    let mut host_before: BTreeMap<i64, Host> = BTreeMap::new();
    let mut host_after: BTreeMap<i64, Option<Host>> = BTreeMap::new();
    let mut host_inserts: Vec<&Host> = Vec::new();
    for w in &change.objects {
        if let ObjectWrite::Host(w) = w {
            match (&w.before, &w.after) {
                (Some(b), a) => {
                    host_before.entry(b.id).or_insert_with(|| b.clone());
                    host_after.insert(b.id, a.clone());
                }
                (None, Some(a)) => host_inserts.push(a),
                (None, None) => {}
            }
        }
    }
    // Which written hosts move delegations, and how.
    let mut renamed_or_gone: Vec<i64> = Vec::new();
    let mut glue_moved: Vec<i64> = Vec::new();
    for (id, b) in &host_before {
        match host_after.get(id).and_then(Option::as_ref) {
            None => renamed_or_gone.push(*id),
            Some(a) if a.name != b.name => renamed_or_gone.push(*id),
            Some(a) if zone_key(a) != zone_key(b) => glue_moved.push(*id),
            Some(_) => {}
        }
    }

    // The domains to look at.
    let mut affected: BTreeMap<String, Affected> = BTreeMap::new();
    for w in &change.objects {
        if let ObjectWrite::Domain(w) = w {
            let Some(name) = w.current().map(|d| d.name.clone()) else {
                continue;
            };
            let e = affected.entry(name).or_insert_with(|| Affected {
                before: w.before.clone(),
                after: None,
                written: true,
            });
            e.after = w.after.clone();
        }
    }
    let mut users: BTreeSet<String> = BTreeSet::new();
    if !renamed_or_gone.is_empty() {
        users.extend(tx.domains_using_hosts(&renamed_or_gone, false).await?);
    }
    if !glue_moved.is_empty() {
        users.extend(tx.domains_using_hosts(&glue_moved, true).await?);
    }
    let renames: BTreeMap<&str, Option<&str>> = renamed_or_gone
        .iter()
        .filter_map(|id| {
            let b = host_before.get(id)?;
            let a = host_after.get(id).and_then(Option::as_ref);
            Some((b.name.as_str(), a.map(|a| a.name.as_str())))
        })
        .collect();
    for name in users {
        if affected.contains_key(&name) {
            continue;
        }
        // Locked: the journal entry must agree with the row another writer may be changing.
        let Some(d) = tx.domain_get(&name, lock_rows).await? else {
            continue;
        };
        let mut after = d.clone();
        after.ns =
            d.ns.iter()
                .filter_map(|n| match renames.get(n.as_str()) {
                    Some(new) => new.map(str::to_owned),
                    None => Some(n.clone()),
                })
                .collect();
        affected.insert(
            name,
            Affected {
                before: Some(d),
                after: Some(after),
                written: false,
            },
        );
    }

    // The guard proper: locked delegations must not move.
    for (name, a) in &affected {
        let locked = a.before.as_ref().is_some_and(Domain::registry_locked)
            || a.after.as_ref().is_some_and(Domain::registry_locked);
        if !locked {
            continue;
        }
        let before = match &a.before {
            Some(d) => stored_published(tx, d).await?,
            None => None,
        };
        let after = match &a.after {
            Some(d) => {
                let wanted: Vec<String> = d
                    .ns
                    .iter()
                    .filter(|n| after_host(&host_before, &host_after, &host_inserts, n).is_none())
                    .cloned()
                    .collect();
                let stored = hosts_by_name(tx, &wanted).await?;
                published(d, |n| {
                    match after_host(&host_before, &host_after, &host_inserts, n) {
                        Some(h) => h,
                        None => stored.get(n).cloned(),
                    }
                })
            }
            None => None,
        };
        if before != after {
            let reason = if a.written {
                REASON_DOMAIN
            } else {
                REASON_LINKED
            };
            tracing::warn!(
                domain = %name,
                op = change.first_op(),
                by = %change.who.cl_id,
                sv_trid = %change.who.sv_trid,
                "change refused: it would alter a registry-locked delegation"
            );
            return Err(CoreError::RegistryLocked {
                reason,
                domain: name.clone(),
            });
        }
    }

    // The journal, ordered so that every prefix of it is a zone the registry could publish:
    // hosts' new glue first, then delegations (which may name those hosts), then the glue of
    // names no longer in use.
    let mut glue_added = Vec::new();
    let mut glue_removed = Vec::new();
    for w in &change.objects {
        let ObjectWrite::Host(w) = w else { continue };
        let b = w.before.as_ref().filter(|h| h.superordinate.is_some());
        let a = w.after.as_ref().filter(|h| h.superordinate.is_some());
        if let Some(b) = b {
            if a.is_none_or(|a| a.name != b.name) {
                glue_removed.push(ZoneChange::Host {
                    name: b.name.clone(),
                    addrs: Vec::new(),
                });
            }
        }
        if let Some(a) = a {
            if b.is_none_or(|b| b.name != a.name || b.addrs != a.addrs) {
                glue_added.push(ZoneChange::Host {
                    name: a.name.clone(),
                    addrs: a.addrs.clone(),
                });
            }
        }
    }
    let mut journal = glue_added;
    for (name, a) in &affected {
        let b = a
            .before
            .as_ref()
            .map_or_else(Delegation::absent, Domain::delegation);
        let n = a
            .after
            .as_ref()
            .map_or_else(Delegation::absent, Domain::delegation);
        if b != n {
            journal.push(ZoneChange::Domain {
                name: name.clone(),
                delegation: n,
            });
        }
    }
    journal.extend(glue_removed);
    Ok(Checked::new(change, journal))
}

/// The zone view of the host a change leaves under `name`: `Some(Some(_))` when the change
/// writes a host of that name, `Some(None)` when the change renames or deletes the host that had
/// it (and none takes it), `None` when the change does not touch that name.
fn after_host(
    before: &BTreeMap<i64, Host>,
    after: &BTreeMap<i64, Option<Host>>,
    inserts: &[&Host],
    name: &str,
) -> Option<Option<HostGlue>> {
    if let Some(h) = after
        .values()
        .flatten()
        .chain(inserts.iter().copied())
        .find(|h| h.name == name)
    {
        return Some(Some(HostGlue::of(h)));
    }
    before.values().any(|h| h.name == name).then_some(None)
}

async fn hosts_by_name<T: StoreTx>(
    tx: &mut T,
    names: &[String],
) -> Result<BTreeMap<String, HostGlue>, CoreError> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(tx
        .hosts_named(names)
        .await?
        .into_iter()
        .map(|h| (h.name.clone(), HostGlue::of(&h)))
        .collect())
}

/// The published delegation of a domain as stored now.
pub(crate) async fn stored_published<T: StoreTx>(
    tx: &mut T,
    d: &Domain,
) -> Result<Option<crate::delegation::Published>, CoreError> {
    let hosts = hosts_by_name(tx, &d.ns).await?;
    Ok(published(d, |n| hosts.get(n).cloned()))
}
