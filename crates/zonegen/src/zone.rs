//! Zone contents: which delegations, DS and glue the zone holds, computed from the model.
//!
//! [`zone_contents`] is the pure, full computation. [`ZoneState`] keeps the same result and
//! updates it for a batch of [`Change`]s, recomputing only the owners a change can affect;
//! both use the same per-owner rule ([`ZoneState::compute_node`]) so they cannot disagree.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{ApexConfig, DomainDelegationState, Ds, HostAddrs};
use crate::name::DnsName;

/// The records the zone holds at one owner name below the apex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// Delegation NS RRset (sorted, no duplicates); empty when the owner is not delegated.
    pub ns: Vec<DnsName>,
    /// DS RRset (sorted, no duplicates); only at delegations.
    pub ds: Vec<Ds>,
    /// Glue (or apex name server) addresses.
    pub a: Vec<Ipv4Addr>,
    pub aaaa: Vec<Ipv6Addr>,
}

impl Node {
    pub fn is_empty(&self) -> bool {
        self.ns.is_empty() && self.ds.is_empty() && self.a.is_empty() && self.aaaa.is_empty()
    }
}

/// Something the generator left out, and why (logged; never silently dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneWarning {
    /// The domain is not below the zone apex.
    OutOfZone(DnsName),
    /// An in-bailiwick name server has no address: it is left out of the domain's NS set.
    MissingGlue { domain: DnsName, ns: DnsName },
    /// The same domain appeared twice in the input; the first one is kept.
    Duplicate(DnsName),
}

/// A complete zone: apex plus every owner below it. Deterministic: nodes are ordered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub apex: ApexConfig,
    pub nodes: BTreeMap<DnsName, Node>,
}

impl Zone {
    /// Number of delegations (owners with an NS RRset).
    pub fn delegation_count(&self) -> usize {
        self.nodes.values().filter(|n| !n.ns.is_empty()).count()
    }
}

/// One change of the registry's data that may affect the zone. Each carries the object's
/// whole current state, so applying a change twice gives the same zone (idempotent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Domain(DomainDelegationState),
    DomainDeleted(DnsName),
    /// A host's current addresses (empty = no addresses).
    Host {
        name: DnsName,
        addrs: Vec<IpAddr>,
    },
    HostDeleted(DnsName),
}

/// The zone's records at one owner before and after a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDiff {
    pub owner: DnsName,
    pub old: Option<Node>,
    pub new: Option<Node>,
}

impl NodeDiff {
    fn ns(node: &Option<Node>) -> &[DnsName] {
        node.as_ref().map(|n| n.ns.as_slice()).unwrap_or(&[])
    }

    /// The delegation disappears.
    pub fn removes_delegation(&self) -> bool {
        !Self::ns(&self.old).is_empty() && Self::ns(&self.new).is_empty()
    }

    /// The delegation stays but its NS set changes.
    pub fn repoints_delegation(&self) -> bool {
        let (old, new) = (Self::ns(&self.old), Self::ns(&self.new));
        !old.is_empty() && !new.is_empty() && old != new
    }
}

/// Effect counts of a batch, for the safety valve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffStats {
    pub removed: usize,
    pub repointed: usize,
    pub added: usize,
}

pub fn diff_stats(diff: &[NodeDiff]) -> DiffStats {
    let mut s = DiffStats::default();
    for d in diff {
        if d.removes_delegation() {
            s.removed += 1;
        } else if d.repoints_delegation() {
            s.repointed += 1;
        } else if NodeDiff::ns(&d.old).is_empty() && !NodeDiff::ns(&d.new).is_empty() {
            s.added += 1;
        }
    }
    s
}

/// Compares two node maps (merge join; both are sorted).
pub fn diff_nodes(old: &BTreeMap<DnsName, Node>, new: &BTreeMap<DnsName, Node>) -> Vec<NodeDiff> {
    let mut out = Vec::new();
    let mut a = old.iter().peekable();
    let mut b = new.iter().peekable();
    loop {
        match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some((ka, va)), Some((kb, vb))) => match ka.cmp(kb) {
                std::cmp::Ordering::Equal => {
                    if va != vb {
                        out.push(NodeDiff {
                            owner: (*ka).clone(),
                            old: Some((*va).clone()),
                            new: Some((*vb).clone()),
                        });
                    }
                    a.next();
                    b.next();
                }
                std::cmp::Ordering::Less => {
                    out.push(NodeDiff {
                        owner: (*ka).clone(),
                        old: Some((*va).clone()),
                        new: None,
                    });
                    a.next();
                }
                std::cmp::Ordering::Greater => {
                    out.push(NodeDiff {
                        owner: (*kb).clone(),
                        old: None,
                        new: Some((*vb).clone()),
                    });
                    b.next();
                }
            },
            (Some((ka, va)), None) => {
                out.push(NodeDiff {
                    owner: (*ka).clone(),
                    old: Some((*va).clone()),
                    new: None,
                });
                a.next();
            }
            (None, Some((kb, vb))) => {
                out.push(NodeDiff {
                    owner: (*kb).clone(),
                    old: None,
                    new: Some((*vb).clone()),
                });
                b.next();
            }
        }
    }
    out
}

/// A name's first eight octets as a number: ordering by it and then by the whole name is
/// the names' order, and most comparisons of a large sort never touch the names' memory.
fn prefix_key(name: &DnsName) -> u64 {
    let bytes = name.as_str().as_bytes();
    let mut key = [0u8; 8];
    let len = bytes.len().min(8);
    key[..len].copy_from_slice(&bytes[..len]);
    // Padding with zero orders a shorter name first, as `str` does (names hold no NUL).
    u64::from_be_bytes(key)
}

/// Sorts warnings by their text, so the list is deterministic (one rendering per warning).
fn sort_warnings(warnings: &mut [ZoneWarning]) {
    warnings.sort_by_cached_key(|w| format!("{w:?}"));
}

/// The pure function of issue #6: the zone for these domains and hosts.
///
/// Direct passes over name-sorted input (no incremental indexes), so a 1M-delegation zone
/// is built fast: the first pass decides which domains are delegated and which hosts are
/// glue, the second builds the nodes in their final order. It applies the same rules as
/// [`ZoneState::compute_node`]; the tests check that both give the same zone.
pub fn zone_contents(
    apex: &ApexConfig,
    domains: &[DomainDelegationState],
    hosts: &HostAddrs,
) -> (Zone, Vec<ZoneWarning>) {
    let origin = &apex.origin;
    let mut warnings = Vec::new();
    // Host objects in name order, found by hashing (a B-tree lookup costs a string
    // comparison per level); `used` marks the ones some delegation needs as glue.
    let host_list: Vec<(&DnsName, &Vec<IpAddr>)> = hosts.iter().collect();
    let host_index: HashMap<&DnsName, usize> = host_list
        .iter()
        .enumerate()
        .map(|(i, (h, _))| (*h, i))
        .collect();
    let mut used = vec![false; host_list.len()];
    let addrs_of = |h: &DnsName| -> Option<&Vec<IpAddr>> {
        host_index
            .get(h)
            .map(|&i| host_list[i].1)
            .filter(|a| !a.is_empty())
            .or_else(|| apex.apex_glue.get(h).filter(|a| !a.is_empty()))
    };
    // In-zone domains in name order; equal names in input order, so that the first one of
    // a duplicate is the one kept. Sorting (key, index) pairs moves 16 octets per element
    // instead of whole domains.
    let mut order: Vec<(u64, usize)> = Vec::with_capacity(domains.len());
    for (i, d) in domains.iter().enumerate() {
        if d.name.is_below(origin) {
            order.push((prefix_key(&d.name), i));
        } else {
            warnings.push(ZoneWarning::OutOfZone(d.name.clone()));
        }
    }
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| domains[a.1].name.cmp(&domains[b.1].name))
            .then(a.1.cmp(&b.1))
    });
    let mut delegated = vec![false; order.len()];
    let mut delegations = 0usize;
    let mut previous: Option<&DnsName> = None;
    for (&(_, i), is_delegated) in order.iter().zip(delegated.iter_mut()) {
        let d = &domains[i];
        if previous == Some(&d.name) {
            warnings.push(ZoneWarning::Duplicate(d.name.clone()));
            continue;
        }
        previous = Some(&d.name);
        let mut any_ns = false;
        for n in &d.ns {
            if n.is_below(origin) && addrs_of(n).is_none() {
                warnings.push(ZoneWarning::MissingGlue {
                    domain: d.name.clone(),
                    ns: n.clone(),
                });
            } else {
                any_ns = true;
            }
        }
        if d.on_hold || d.in_redemption_or_pending_delete || !any_ns {
            continue;
        }
        *is_delegated = true;
        delegations += 1;
        for n in d.ns.iter().filter(|n| n.is_below(origin)) {
            if let Some(&h) = host_index.get(n) {
                used[h] = true;
            }
        }
    }
    for n in &apex.apex_ns {
        if let Some(&h) = host_index.get(n) {
            used[h] = true;
        }
    }
    // Address owners in name order: used hosts with addresses merged with the apex glue.
    let mut glue: Vec<(DnsName, Node)> = Vec::new();
    let mut add_glue = |owner: &DnsName, lists: &[&Vec<IpAddr>]| {
        let mut node = Node::default();
        for &ip in lists.iter().flat_map(|l| l.iter()) {
            match ip {
                IpAddr::V4(v4) => node.a.push(v4),
                IpAddr::V6(v6) => node.aaaa.push(v6),
            }
        }
        node.a.sort_unstable();
        node.a.dedup();
        node.aaaa.sort_unstable();
        node.aaaa.dedup();
        glue.push((owner.clone(), node));
    };
    let mut host_glue = host_list
        .iter()
        .zip(&used)
        .filter(|(&(_, a), &u)| u && !a.is_empty())
        .map(|(&(h, a), _)| (h, a))
        .peekable();
    let mut apex_glue = apex.apex_glue.iter().peekable();
    loop {
        match (host_glue.peek(), apex_glue.peek()) {
            (None, None) => break,
            (Some(&(h, a)), Some(&(g, b))) => match h.cmp(g) {
                std::cmp::Ordering::Equal => {
                    add_glue(h, &[a, b]);
                    host_glue.next();
                    apex_glue.next();
                }
                std::cmp::Ordering::Less => {
                    add_glue(h, &[a]);
                    host_glue.next();
                }
                std::cmp::Ordering::Greater => {
                    add_glue(g, &[b]);
                    apex_glue.next();
                }
            },
            (Some(&(h, a)), None) => {
                add_glue(h, &[a]);
                host_glue.next();
            }
            (None, Some(&(g, b))) => {
                add_glue(g, &[b]);
                apex_glue.next();
            }
        }
    }
    // Delegations and glue in one sorted list (glue at a delegation point joins its node).
    let mut nodes: Vec<(DnsName, Node)> = Vec::with_capacity(delegations + glue.len());
    let mut glue = glue.into_iter().peekable();
    for (&(_, i), _) in order.iter().zip(&delegated).filter(|(_, &del)| del) {
        let d = &domains[i];
        let mut ns: Vec<DnsName> = Vec::with_capacity(d.ns.len());
        ns.extend(
            d.ns.iter()
                .filter(|n| !n.is_below(origin) || addrs_of(n).is_some())
                .cloned(),
        );
        ns.sort_unstable();
        ns.dedup();
        let mut ds = d.ds.clone();
        ds.sort_unstable();
        ds.dedup();
        let mut node = Node {
            ns,
            ds,
            ..Node::default()
        };
        while let Some((g, _)) = glue.peek() {
            match g.cmp(&d.name) {
                std::cmp::Ordering::Less => nodes.extend(glue.next()),
                std::cmp::Ordering::Equal => {
                    if let Some((_, addrs)) = glue.next() {
                        node.a = addrs.a;
                        node.aaaa = addrs.aaaa;
                    }
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        nodes.push((d.name.clone(), node));
    }
    nodes.extend(glue);
    sort_warnings(&mut warnings);
    (
        Zone {
            apex: apex.clone(),
            // Sorted input: the map is bulk-built.
            nodes: nodes.into_iter().collect(),
        },
        warnings,
    )
}

/// A batch applied to the data but not yet to the zone: its diff, and how to undo it.
#[derive(Debug)]
pub struct Staged {
    pub diff: Vec<NodeDiff>,
    undo: Vec<Change>,
}

/// The zone plus the data it was computed from, kept up to date change by change.
#[derive(Debug, Clone)]
pub struct ZoneState {
    apex: ApexConfig,
    domains: HashMap<DnsName, DomainDelegationState>,
    hosts: HashMap<DnsName, Vec<IpAddr>>,
    /// In-bailiwick host -> the domains that list it as a name server.
    users: HashMap<DnsName, HashSet<DnsName>>,
    nodes: BTreeMap<DnsName, Node>,
}

fn normalize_addrs(mut addrs: Vec<IpAddr>) -> Vec<IpAddr> {
    addrs.sort();
    addrs.dedup();
    addrs
}

fn normalize_domain(mut d: DomainDelegationState) -> DomainDelegationState {
    d.ns.sort();
    d.ns.dedup();
    d.ds.sort();
    d.ds.dedup();
    d
}

impl ZoneState {
    /// Builds the full zone.
    pub fn new(
        apex: ApexConfig,
        domains: impl IntoIterator<Item = DomainDelegationState>,
        hosts: HostAddrs,
    ) -> (Self, Vec<ZoneWarning>) {
        let domains: Vec<DomainDelegationState> = domains.into_iter().collect();
        // The nodes and warnings come from the full computation (sorted passes, several times
        // faster at 1M delegations than one `compute_node` per owner; the tests check that
        // both agree). The maps built here are what later batches are staged against.
        let (zone, mut warnings) = zone_contents(&apex, &domains, &hosts);
        let mut state = ZoneState {
            apex,
            domains: HashMap::with_capacity(domains.len()),
            hosts: HashMap::with_capacity(hosts.len()),
            users: HashMap::new(),
            nodes: zone.nodes,
        };
        for (name, addrs) in hosts {
            if !addrs.is_empty() {
                state.hosts.insert(name, normalize_addrs(addrs));
            }
        }
        for d in domains {
            // Out-of-zone names and later duplicates: left out, as `zone_contents` did (and
            // warned about).
            if !d.name.is_below(&state.apex.origin) || state.domains.contains_key(&d.name) {
                continue;
            }
            let d = normalize_domain(d);
            state.index_users(&d, true);
            state.domains.insert(d.name.clone(), d);
        }
        sort_warnings(&mut warnings);
        (state, warnings)
    }

    pub fn apex(&self) -> &ApexConfig {
        &self.apex
    }

    pub fn nodes(&self) -> &BTreeMap<DnsName, Node> {
        &self.nodes
    }

    pub fn into_zone(self) -> Zone {
        Zone {
            apex: self.apex,
            nodes: self.nodes,
        }
    }

    pub fn to_zone(&self) -> Zone {
        Zone {
            apex: self.apex.clone(),
            nodes: self.nodes.clone(),
        }
    }

    /// Number of delegations currently in the zone.
    pub fn delegation_count(&self) -> usize {
        self.nodes.values().filter(|n| !n.ns.is_empty()).count()
    }

    fn index_users(&mut self, d: &DomainDelegationState, add: bool) {
        for ns in &d.ns {
            if ns.is_below(&self.apex.origin) {
                if add {
                    self.users
                        .entry(ns.clone())
                        .or_default()
                        .insert(d.name.clone());
                } else if let Some(set) = self.users.get_mut(ns) {
                    set.remove(&d.name);
                    if set.is_empty() {
                        self.users.remove(ns);
                    }
                }
            }
        }
    }

    fn has_addrs(&self, host: &DnsName) -> bool {
        self.hosts.get(host).is_some_and(|a| !a.is_empty())
            || self.apex.apex_glue.get(host).is_some_and(|a| !a.is_empty())
    }

    /// The NS set the zone publishes for `d`: in-bailiwick name servers need an address.
    fn effective_ns(&self, d: &DomainDelegationState) -> Vec<DnsName> {
        d.ns.iter()
            .filter(|ns| !ns.is_below(&self.apex.origin) || self.has_addrs(ns))
            .cloned()
            .collect()
    }

    fn is_delegated(&self, d: &DomainDelegationState) -> bool {
        !d.on_hold && !d.in_redemption_or_pending_delete && !self.effective_ns(d).is_empty()
    }

    /// The records at `owner`, from the data alone. The one rule both the full and the
    /// incremental computation use.
    pub fn compute_node(&self, owner: &DnsName) -> Option<Node> {
        let mut node = Node::default();
        if let Some(d) = self.domains.get(owner) {
            if !d.on_hold && !d.in_redemption_or_pending_delete {
                let ns = self.effective_ns(d);
                if !ns.is_empty() {
                    node.ns = ns;
                    node.ds = d.ds.clone();
                }
            }
        }
        let mut addrs: Vec<IpAddr> = Vec::new();
        if owner.is_below(&self.apex.origin) {
            if let Some(host_addrs) = self.hosts.get(owner) {
                let is_apex_ns = self.apex.apex_ns.contains(owner);
                let used = is_apex_ns
                    || self.users.get(owner).is_some_and(|users| {
                        users
                            .iter()
                            .any(|u| self.domains.get(u).is_some_and(|d| self.is_delegated(d)))
                    });
                if used {
                    addrs.extend(host_addrs.iter().copied());
                }
            }
        }
        if let Some(glue) = self.apex.apex_glue.get(owner) {
            addrs.extend(glue.iter().copied());
        }
        let addrs = normalize_addrs(addrs);
        for a in addrs {
            match a {
                IpAddr::V4(v4) => node.a.push(v4),
                IpAddr::V6(v6) => node.aaaa.push(v6),
            }
        }
        (!node.is_empty()).then_some(node)
    }

    fn affected_by_domain(&self, name: &DnsName, affected: &mut BTreeSet<DnsName>) {
        affected.insert(name.clone());
        if let Some(d) = self.domains.get(name) {
            affected.extend(
                d.ns.iter()
                    .filter(|ns| ns.is_below(&self.apex.origin))
                    .cloned(),
            );
        }
    }

    /// Applies `changes` to the data and computes the zone diff, without changing the zone
    /// yet: follow with [`commit`](Self::commit) or [`rollback`](Self::rollback).
    pub fn stage(&mut self, changes: &[Change]) -> Staged {
        let mut affected = BTreeSet::new();
        let mut changed_hosts = BTreeSet::new();
        let mut undo = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                Change::Domain(_) | Change::DomainDeleted(_) => {
                    let name = match change {
                        Change::Domain(d) => &d.name,
                        Change::DomainDeleted(n) => n,
                        _ => continue,
                    };
                    self.affected_by_domain(name, &mut affected);
                    let old = self.domains.remove(name);
                    if let Some(old) = &old {
                        self.index_users(old, false);
                    }
                    undo.push(match old {
                        Some(old) => Change::Domain(old),
                        None => Change::DomainDeleted(name.clone()),
                    });
                    if let Change::Domain(d) = change {
                        if d.name.is_below(&self.apex.origin) {
                            let d = normalize_domain(d.clone());
                            self.index_users(&d, true);
                            self.domains.insert(d.name.clone(), d);
                        }
                    }
                    self.affected_by_domain(name, &mut affected);
                }
                Change::Host { name, .. } | Change::HostDeleted(name) => {
                    let old = self.hosts.remove(name);
                    undo.push(match old {
                        Some(addrs) => Change::Host {
                            name: name.clone(),
                            addrs,
                        },
                        None => Change::HostDeleted(name.clone()),
                    });
                    if let Change::Host { addrs, .. } = change {
                        if !addrs.is_empty() {
                            self.hosts
                                .insert(name.clone(), normalize_addrs(addrs.clone()));
                        }
                    }
                    changed_hosts.insert(name.clone());
                }
            }
        }
        for host in changed_hosts {
            affected.insert(host.clone());
            if let Some(users) = self.users.get(&host) {
                for u in users {
                    affected.insert(u.clone());
                    if let Some(d) = self.domains.get(u) {
                        affected.extend(
                            d.ns.iter()
                                .filter(|ns| ns.is_below(&self.apex.origin))
                                .cloned(),
                        );
                    }
                }
            }
        }
        let mut diff = Vec::new();
        for owner in affected {
            let new = self.compute_node(&owner);
            let old = self.nodes.get(&owner).cloned();
            if old != new {
                diff.push(NodeDiff { owner, old, new });
            }
        }
        undo.reverse();
        Staged { diff, undo }
    }

    /// Makes a staged batch part of the zone.
    pub fn commit(&mut self, staged: &Staged) {
        for d in &staged.diff {
            match &d.new {
                Some(node) => {
                    self.nodes.insert(d.owner.clone(), node.clone());
                }
                None => {
                    self.nodes.remove(&d.owner);
                }
            }
        }
    }

    /// Returns the data to what it was before [`stage`](Self::stage).
    pub fn rollback(&mut self, staged: Staged) {
        let _ = self.stage(&staged.undo);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn n(s: &str) -> DnsName {
        DnsName::new(s).expect("valid name")
    }

    pub(crate) fn apex() -> ApexConfig {
        ApexConfig {
            origin: n("tld"),
            mname: n("ns1.nic.tld"),
            rname: n("hostmaster.nic.tld"),
            refresh: 1800,
            retry: 900,
            expire: 604800,
            minimum: 3600,
            ttl: 3600,
            apex_ns: vec![n("ns1.nic.tld"), n("ns.example.net")],
            apex_glue: [(n("ns1.nic.tld"), vec!["192.0.2.53".parse().expect("ip")])]
                .into_iter()
                .collect(),
        }
    }

    fn dom(name: &str, ns: &[&str]) -> DomainDelegationState {
        DomainDelegationState {
            name: n(name),
            ns: ns.iter().map(|s| n(s)).collect(),
            ds: vec![],
            on_hold: false,
            in_redemption_or_pending_delete: false,
        }
    }

    fn hosts() -> HostAddrs {
        [
            (n("ns1.a.tld"), vec!["192.0.2.1".parse().expect("ip")]),
            (n("ns2.a.tld"), vec!["2001:db8::1".parse().expect("ip")]),
            (n("ns.orphan.tld"), vec!["192.0.2.9".parse().expect("ip")]),
        ]
        .into_iter()
        .collect()
    }

    /// `zone_contents` as it was before the sorted single pass (issue 20): the reference the
    /// new one must equal.
    ///
    /// A direct single pass (no incremental indexes), so a 1M-delegation zone is built fast.
    /// It applies the same rules as [`ZoneState::compute_node`]; the tests check that both give
    /// the same zone.
    pub(crate) fn reference_zone_contents(
        apex: &ApexConfig,
        domains: &[DomainDelegationState],
        hosts: &HostAddrs,
    ) -> (Zone, Vec<ZoneWarning>) {
        let origin = &apex.origin;
        let mut warnings = Vec::new();
        let addrs_of = |h: &DnsName| -> Option<&Vec<IpAddr>> {
            hosts
                .get(h)
                .filter(|a| !a.is_empty())
                .or_else(|| apex.apex_glue.get(h).filter(|a| !a.is_empty()))
        };
        let mut seen: HashSet<&DnsName> = HashSet::with_capacity(domains.len());
        let mut used_hosts: HashSet<&DnsName> = HashSet::new();
        let mut nodes: Vec<(DnsName, Node)> = Vec::with_capacity(domains.len() + 16);
        for d in domains {
            if !d.name.is_below(origin) {
                warnings.push(ZoneWarning::OutOfZone(d.name.clone()));
                continue;
            }
            if !seen.insert(&d.name) {
                warnings.push(ZoneWarning::Duplicate(d.name.clone()));
                continue;
            }
            let mut ns: Vec<DnsName> = Vec::with_capacity(d.ns.len());
            for n in &d.ns {
                if n.is_below(origin) && addrs_of(n).is_none() {
                    warnings.push(ZoneWarning::MissingGlue {
                        domain: d.name.clone(),
                        ns: n.clone(),
                    });
                } else {
                    ns.push(n.clone());
                }
            }
            if d.on_hold || d.in_redemption_or_pending_delete || ns.is_empty() {
                continue;
            }
            ns.sort_unstable();
            ns.dedup();
            for n in &d.ns {
                if n.is_below(origin) {
                    used_hosts.insert(n);
                }
            }
            let mut ds = d.ds.clone();
            ds.sort_unstable();
            ds.dedup();
            nodes.push((
                d.name.clone(),
                Node {
                    ns,
                    ds,
                    ..Node::default()
                },
            ));
        }
        used_hosts.extend(apex.apex_ns.iter().filter(|n| hosts.contains_key(*n)));
        let mut glue: Vec<(DnsName, Vec<IpAddr>)> = Vec::with_capacity(used_hosts.len());
        for h in used_hosts {
            if let Some(a) = hosts.get(h).filter(|a| !a.is_empty()) {
                glue.push((h.clone(), a.clone()));
            }
        }
        for (h, a) in &apex.apex_glue {
            glue.push((h.clone(), a.clone()));
        }
        for (owner, a) in glue {
            nodes.push((owner, Node::default()));
            if let Some((_, node)) = nodes.last_mut() {
                for ip in a {
                    match ip {
                        IpAddr::V4(v4) => node.a.push(v4),
                        IpAddr::V6(v6) => node.aaaa.push(v6),
                    }
                }
            }
        }
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        // Merge entries of the same owner (glue at a delegation point, apex glue also used).
        let mut merged: Vec<(DnsName, Node)> = Vec::with_capacity(nodes.len());
        for (owner, node) in nodes {
            match merged.last_mut() {
                Some((last, acc)) if *last == owner => {
                    if acc.ns.is_empty() {
                        acc.ns = node.ns;
                        acc.ds = node.ds;
                    }
                    acc.a.extend(node.a);
                    acc.aaaa.extend(node.aaaa);
                }
                _ => merged.push((owner, node)),
            }
        }
        for (_, node) in &mut merged {
            node.a.sort_unstable();
            node.a.dedup();
            node.aaaa.sort_unstable();
            node.aaaa.dedup();
        }
        warnings.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        (
            Zone {
                apex: apex.clone(),
                nodes: merged.into_iter().collect(),
            },
            warnings,
        )
    }

    #[test]
    fn matches_reference_on_mixed_data() {
        let (mut duplicates, mut out_of_zone, mut missing_glue, mut glue_at_delegation) =
            (0, 0, 0, 0);
        for seed in 1..=40u64 {
            let count = [0, 1, 5, 50, 400][(seed % 5) as usize];
            let (apex, domains, hosts) = crate::testing::mixed_registry(seed, count);
            let got = zone_contents(&apex, &domains, &hosts);
            let want = reference_zone_contents(&apex, &domains, &hosts);
            assert_eq!(got, want, "seed {seed}, {count} domains");
            for w in &got.1 {
                match w {
                    ZoneWarning::Duplicate(_) => duplicates += 1,
                    ZoneWarning::OutOfZone(_) => out_of_zone += 1,
                    ZoneWarning::MissingGlue { .. } => missing_glue += 1,
                }
            }
            glue_at_delegation += got
                .0
                .nodes
                .values()
                .filter(|n| !n.ns.is_empty() && (!n.a.is_empty() || !n.aaaa.is_empty()))
                .count();
        }
        // The data really reaches the corners the rewrite could get wrong.
        assert!(duplicates > 0 && out_of_zone > 0 && missing_glue > 0);
        assert!(glue_at_delegation > 0);
    }

    #[test]
    fn matches_reference_on_sample() {
        let mut held = dom("held.tld", &["ns.held.tld"]);
        held.on_hold = true;
        let domains = vec![
            dom("b.tld", &["ns1.a.tld", "ns2.a.tld", "ns.example.net"]),
            dom("a.tld", &["ns1.a.tld"]),
            dom("b.tld", &["ns.example.net"]),
            dom("ns1.a.tld", &["ns1.nic.tld"]),
            held,
            dom("x.example", &["ns.example.net"]),
        ];
        assert_eq!(
            zone_contents(&apex(), &domains, &hosts()),
            reference_zone_contents(&apex(), &domains, &hosts())
        );
    }

    #[test]
    fn delegation_rules() {
        let mut held = dom("held.tld", &["ns.example.net"]);
        held.on_hold = true;
        let mut redemption = dom("red.tld", &["ns.example.net"]);
        redemption.in_redemption_or_pending_delete = true;
        let domains = vec![
            dom("a.tld", &["NS1.A.TLD", "ns2.a.tld", "ns.example.net"]),
            dom("inactive.tld", &[]),
            held,
            redemption,
            dom("noglue.tld", &["ns.noglue.tld"]),
            dom("outside.example", &["ns.example.net"]),
        ];
        let (zone, warnings) = zone_contents(&apex(), &domains, &hosts());
        let owners: Vec<&str> = zone.nodes.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            owners,
            vec!["a.tld", "ns1.a.tld", "ns1.nic.tld", "ns2.a.tld"]
        );
        assert_eq!(zone.delegation_count(), 1);
        let a = &zone.nodes[&n("a.tld")];
        assert_eq!(
            a.ns,
            vec![n("ns.example.net"), n("ns1.a.tld"), n("ns2.a.tld")]
        );
        assert!(warnings.contains(&ZoneWarning::OutOfZone(n("outside.example"))));
        let (state, _) = ZoneState::new(apex(), domains.clone(), hosts());
        assert_eq!(
            state.nodes(),
            &zone.nodes,
            "full and incremental rules agree"
        );
        assert!(warnings.contains(&ZoneWarning::MissingGlue {
            domain: n("noglue.tld"),
            ns: n("ns.noglue.tld")
        }));
    }

    #[test]
    fn incremental_equals_full() {
        let domains = vec![
            dom("a.tld", &["ns1.a.tld", "ns2.a.tld"]),
            dom("b.tld", &["ns1.a.tld"]),
        ];
        let (mut state, _) = ZoneState::new(apex(), domains.clone(), hosts());
        let mut b_held = dom("b.tld", &["ns1.a.tld", "ns.orphan.tld"]);
        b_held.on_hold = false;
        let changes = vec![
            Change::DomainDeleted(n("a.tld")),
            Change::Domain(b_held.clone()),
            Change::Host {
                name: n("ns1.a.tld"),
                addrs: vec![],
            },
            Change::Domain(dom("c.tld", &["ns2.a.tld"])),
        ];
        let staged = state.stage(&changes);
        state.commit(&staged);
        let mut h = hosts();
        h.remove(&n("ns1.a.tld"));
        let (full, _) = zone_contents(&apex(), &[b_held, dom("c.tld", &["ns2.a.tld"])], &h);
        assert_eq!(state.nodes(), &full.nodes);
        assert!(state.nodes().contains_key(&n("ns.orphan.tld")));
        assert!(!state.nodes().contains_key(&n("ns1.a.tld")));
    }

    #[test]
    fn rollback_restores() {
        let domains = vec![dom("a.tld", &["ns1.a.tld"])];
        let (mut state, _) = ZoneState::new(apex(), domains, hosts());
        let before = state.nodes().clone();
        let staged = state.stage(&[Change::DomainDeleted(n("a.tld"))]);
        assert_eq!(diff_stats(&staged.diff).removed, 1);
        state.rollback(staged);
        let again = state.stage(&[]);
        assert!(again.diff.is_empty());
        assert_eq!(state.nodes(), &before);
        assert_eq!(state.delegation_count(), 1);
    }
}
