//! Reconciliation of the zone with the history (issue 13): every delegation the zone publishes
//! must be explained by the history — the last change of each domain's NS, DS and glue has its
//! row. A write made around the registry (straight into the object tables or the delegation
//! journal) has no row behind it, and shows here.
//!
//! [`HistoryReplay`] rebuilds, from the history rows alone, each live domain and host as the
//! registry last wrote it. Name servers are followed by identity (ROID), so a host renamed
//! after the domain's last write is counted under its new name, as the zone carries it. While
//! replaying it also checks continuity: each row's *before* state must be the previous row's
//! *after* for the zone-relevant fields; a gap means the object was changed in between without
//! a row. [`reconcile`] then compares the replay with what the journal says the zone holds.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::{Delegation, Domain, HistoryEntry, Host, JournalEntry, ZoneChange};

/// A domain as the history last wrote it, its name servers by host ROID where known.
#[derive(Debug, Clone)]
struct ReplayedDomain {
    domain: Domain,
    ns: Vec<NsRef>,
    /// The history row that wrote it last.
    row: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NsRef {
    Host(String),
    /// A name no host row of the history ever had.
    Name(String),
}

#[derive(Debug, Clone)]
struct ReplayedHost {
    host: Host,
    row: i64,
}

/// Something the history does not explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unexplained {
    /// The object's state before row `row` is not its state after the previous row `prev`:
    /// it was changed in between, without a history row.
    Gap { object: String, prev: i64, row: i64 },
    /// The zone's delegation of `domain` is not the one the history explains.
    Delegation {
        domain: String,
        zone: Option<Delegation>,
        history: Option<Delegation>,
    },
    /// The zone's glue for `host` is not what the history explains.
    Glue {
        host: String,
        zone: Vec<IpAddr>,
        history: Vec<IpAddr>,
    },
}

impl std::fmt::Display for Unexplained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn d(x: &Option<Delegation>) -> String {
            match x {
                None => "nothing".into(),
                Some(d) => format!(
                    "NS {} DS {}",
                    d.ns.join(","),
                    d.ds.iter()
                        .map(|r| format!("{} {} {} {}", r.key_tag, r.alg, r.digest_type, r.digest))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            }
        }
        match self {
            Unexplained::Gap { object, prev, row } => write!(
                f,
                "{object} changed between history rows {prev} and {row} with no row of its own"
            ),
            Unexplained::Delegation {
                domain,
                zone,
                history,
            } => write!(
                f,
                "domain {domain}: the zone has {} but the history explains {}",
                d(zone),
                d(history)
            ),
            Unexplained::Glue {
                host,
                zone,
                history,
            } => write!(
                f,
                "host {host}: the zone's glue is {zone:?} but the history explains {history:?}"
            ),
        }
    }
}

/// The registry's objects as the history rows leave them.
#[derive(Debug, Default)]
pub struct HistoryReplay {
    domains: BTreeMap<String, ReplayedDomain>,
    hosts: BTreeMap<String, ReplayedHost>,
    /// Every name a host ever had, to its ROID (a name is reused only after its host is gone).
    host_names: BTreeMap<String, String>,
    gaps: Vec<Unexplained>,
    rows: u64,
}

fn sorted_addrs(h: &Host) -> Vec<IpAddr> {
    let mut a = h.addrs.clone();
    a.sort();
    a.dedup();
    a
}

impl HistoryReplay {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Takes the next history row (in id order). Rows that are notes rather than object
    /// writes (lock steps, refusals) carry no object state and are skipped.
    pub fn push(&mut self, e: &HistoryEntry) {
        self.rows += 1;
        match e.object_type.as_str() {
            "domain" => self.push_domain(e),
            "host" => self.push_host(e),
            _ => {}
        }
    }

    fn push_domain(&mut self, e: &HistoryEntry) {
        let parse = |s: &Option<String>| -> Option<Domain> {
            s.as_deref().and_then(|s| serde_json::from_str(s).ok())
        };
        let (before, after) = (parse(&e.before), parse(&e.after));
        if before.is_none() && after.is_none() {
            return; // a note
        }
        if let (Some(b), Some(prev)) = (&before, self.domains.get(&e.object_key)) {
            if b.delegation() != self.delegation_of(prev) {
                self.gaps.push(Unexplained::Gap {
                    object: format!("domain {}", e.object_key),
                    prev: prev.row,
                    row: e.id,
                });
            }
        }
        match after {
            Some(d) => {
                let ns =
                    d.ns.iter()
                        .map(|n| match self.host_names.get(n) {
                            Some(roid) => NsRef::Host(roid.clone()),
                            None => NsRef::Name(n.clone()),
                        })
                        .collect();
                self.domains.insert(
                    e.object_key.clone(),
                    ReplayedDomain {
                        domain: d,
                        ns,
                        row: e.id,
                    },
                );
            }
            None => {
                self.domains.remove(&e.object_key);
            }
        }
    }

    fn push_host(&mut self, e: &HistoryEntry) {
        let parse = |s: &Option<String>| -> Option<Host> {
            s.as_deref().and_then(|s| serde_json::from_str(s).ok())
        };
        let (before, after) = (parse(&e.before), parse(&e.after));
        if before.is_none() && after.is_none() {
            return;
        }
        if let (Some(b), Some(prev)) = (&before, self.hosts.get(&e.roid)) {
            let p = &prev.host;
            if b.name != p.name
                || b.superordinate.is_some() != p.superordinate.is_some()
                || sorted_addrs(b) != sorted_addrs(p)
            {
                self.gaps.push(Unexplained::Gap {
                    object: format!("host {}", e.object_key),
                    prev: prev.row,
                    row: e.id,
                });
            }
        }
        match after {
            Some(h) => {
                self.host_names.insert(h.name.clone(), e.roid.clone());
                self.hosts
                    .insert(e.roid.clone(), ReplayedHost { host: h, row: e.id });
            }
            None => {
                self.hosts.remove(&e.roid);
            }
        }
    }

    /// The current name of a name server reference.
    fn ns_name(&self, r: &NsRef) -> String {
        match r {
            NsRef::Host(roid) => match self.hosts.get(roid) {
                Some(h) => h.host.name.clone(),
                // Gone: the name it had (the zone would show whatever holds it now).
                None => self
                    .host_names
                    .iter()
                    .find(|(_, v)| *v == roid)
                    .map(|(k, _)| k.clone())
                    .unwrap_or_default(),
            },
            NsRef::Name(n) => n.clone(),
        }
    }

    fn delegation_of(&self, d: &ReplayedDomain) -> Delegation {
        let mut dom = d.domain.clone();
        dom.ns = d.ns.iter().map(|r| self.ns_name(r)).collect();
        dom.delegation()
    }

    /// What the history says the zone holds: delegations of live domains (absent ones left
    /// out), and the glue addresses of internal hosts (empty ones left out).
    pub fn zone(&self) -> (BTreeMap<String, Delegation>, BTreeMap<String, Vec<IpAddr>>) {
        let delegations = self
            .domains
            .iter()
            .filter_map(|(name, d)| {
                let del = self.delegation_of(d);
                published(del).map(|del| (name.clone(), del))
            })
            .collect();
        let glue = self
            .hosts
            .values()
            .filter(|h| h.host.superordinate.is_some())
            .map(|h| (h.host.name.clone(), sorted_addrs(&h.host)))
            .filter(|(_, a)| !a.is_empty())
            .collect();
        (delegations, glue)
    }
}

/// A delegation as far as the zone is concerned: none when out of the zone or without NS.
fn published(d: Delegation) -> Option<Delegation> {
    (d.in_zone && !d.ns.is_empty()).then_some(d)
}

/// What the delegation journal says the zone holds, folded from its entries (in position
/// order): the latest entry of each name.
#[derive(Debug, Default)]
pub struct JournalFold {
    delegations: BTreeMap<String, Delegation>,
    glue: BTreeMap<String, Vec<IpAddr>>,
}

impl JournalFold {
    pub fn push(&mut self, e: &JournalEntry) {
        match &e.change {
            ZoneChange::Domain { name, delegation } => {
                self.delegations.insert(name.clone(), delegation.clone());
            }
            ZoneChange::Host { name, addrs } => {
                let mut a = addrs.clone();
                a.sort();
                a.dedup();
                self.glue.insert(name.clone(), a);
            }
        }
    }
}

/// The report: what the zone holds that the history does not explain, and gaps in the history.
#[derive(Debug, Default)]
pub struct Reconciliation {
    pub history_rows: u64,
    pub delegations: usize,
    pub unexplained: Vec<Unexplained>,
}

/// Compares the zone (as the journal has it) with the history.
pub fn reconcile(history: HistoryReplay, journal: JournalFold) -> Reconciliation {
    let (h_del, h_glue) = history.zone();
    let z_del: BTreeMap<String, Delegation> = journal
        .delegations
        .into_iter()
        .filter_map(|(n, d)| published(d).map(|d| (n, d)))
        .collect();
    let z_glue: BTreeMap<String, Vec<IpAddr>> = journal
        .glue
        .into_iter()
        .filter(|(_, a)| !a.is_empty())
        .collect();
    let mut out = Reconciliation {
        history_rows: history.rows,
        delegations: z_del.len(),
        unexplained: history.gaps,
    };
    let names: BTreeSet<&String> = h_del.keys().chain(z_del.keys()).collect();
    for n in names {
        let (z, h) = (z_del.get(n), h_del.get(n));
        if z != h {
            out.unexplained.push(Unexplained::Delegation {
                domain: n.clone(),
                zone: z.cloned(),
                history: h.cloned(),
            });
        }
    }
    // Glue matters where the zone uses it: names that a published delegation lists.
    let used: BTreeSet<&String> = z_del
        .values()
        .chain(h_del.values())
        .flat_map(|d| &d.ns)
        .collect();
    for n in used {
        let (z, h) = (z_glue.get(n), h_glue.get(n));
        if z != h {
            out.unexplained.push(Unexplained::Glue {
                host: n.clone(),
                zone: z.cloned().unwrap_or_default(),
                history: h.cloned().unwrap_or_default(),
            });
        }
    }
    out
}
