//! What the TLD zone publishes for one domain, computed the way the zone generator does
//! (crates/zonegen, `zone_contents`): the NS set, the DS set, and the addresses of its name
//! servers that the zone carries as glue.
//!
//! The delegation guard compares this value before and after a change. It reads exactly these
//! inputs: the domain's zone statuses, NS names and DS records, and, of each name server, its
//! name, whether it is internal (under a served TLD: the zone carries glue for it) and its
//! addresses. So a change that leaves all of those alone cannot move a delegation, and one
//! that touches any of them is looked at. Glue is counted for every internal name server, also
//! one under another served TLD than the domain's own: that is more than one zone's file holds,
//! never less, so the guard is never blind to what a zone publishes.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::model::{Domain, DsRec, HistoryEntry, Host};

/// The history note that records a domain's published delegation when a registry lock is
/// applied (or a timed unlock relocks): its detail is the [`Published`] value as JSON (`null`
/// when nothing is published). The zone generator checks every change it publishes for a
/// locked domain against it (the publisher check, defence in depth behind the guard); the
/// history chain makes the note itself tamper-evident.
pub const OP_LOCK_DELEGATION: &str = "lock:delegation";
/// The history note of a domain whose delegation change waits in a batch the zone publisher's
/// safety valve held for an operator's approval (`zonegen held approve`).
pub const OP_ZONE_BATCH_HELD: &str = "zone:batchHeld";
/// The history op of a verified unlock: after it, the domain's delegation may change again.
pub const OP_LOCK_RELEASED: &str = "lock:released";

/// The zone-relevant part of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostGlue {
    /// Internal: subordinate to a domain of a served TLD, so the zone carries its addresses.
    pub internal: bool,
    pub addrs: Vec<IpAddr>,
}

impl HostGlue {
    pub fn of(h: &Host) -> Self {
        let mut addrs = h.addrs.clone();
        addrs.sort();
        addrs.dedup();
        HostGlue {
            internal: h.superordinate.is_some(),
            addrs,
        }
    }
}

/// A delegation as published: NS (sorted), DS (sorted) and glue per internal name server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub ns: Vec<String>,
    pub ds: Vec<DsRec>,
    pub glue: Vec<(String, Vec<IpAddr>)>,
}

/// What the zone publishes for `d`; `None` when it publishes nothing (on hold, deleted, or no
/// usable name server). `host` gives each name server's zone-relevant state (`None`: no such
/// host, which a stored domain cannot have; it is treated as an external name).
pub fn published(d: &Domain, host: impl Fn(&str) -> Option<HostGlue>) -> Option<Published> {
    if !d.delegation().in_zone {
        return None;
    }
    let mut ns: Vec<String> = d.ns.clone();
    ns.sort();
    ns.dedup();
    let mut glue = Vec::new();
    ns.retain(|n| match host(n) {
        // An internal name server without an address cannot be published (the generator
        // leaves it out of the NS set, with a warning).
        Some(h) if h.internal && h.addrs.is_empty() => false,
        Some(h) if h.internal => {
            glue.push((n.clone(), h.addrs));
            true
        }
        _ => true,
    });
    if ns.is_empty() {
        return None;
    }
    let mut ds = d.ds.clone();
    ds.sort();
    ds.dedup();
    Some(Published { ns, ds, glue })
}

/// A registry-locked domain and the delegation its lock holds (from the history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockBaseline {
    pub domain: String,
    /// When the lock (or the relock) was applied.
    pub since: epp_proto::Timestamp,
    /// What the zone published then (`None`: nothing).
    pub delegation: Option<Published>,
}

/// Folds `lock:delegation` / `lock:released` history rows (oldest first) into the domains
/// locked now: the last row of each domain decides. A note whose detail does not parse is an
/// error, not "unlocked": the check must fail closed.
pub fn lock_baselines(rows: &[HistoryEntry]) -> Result<Vec<LockBaseline>, String> {
    let mut last: std::collections::BTreeMap<&str, &HistoryEntry> = Default::default();
    for r in rows {
        last.insert(r.object_key.as_str(), r);
    }
    let mut out = Vec::new();
    for (domain, r) in last {
        if r.op != OP_LOCK_DELEGATION {
            continue;
        }
        let detail = r.after.as_deref().unwrap_or("null");
        let delegation: Option<Published> = serde_json::from_str(detail)
            .map_err(|e| format!("history row {} ({domain}): {e}", r.id))?;
        out.push(LockBaseline {
            domain: domain.to_owned(),
            since: r.at,
            delegation,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatusRec;

    fn domain(ns: &[&str]) -> Domain {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        Domain {
            id: 1,
            name: "a.test".into(),
            cl_id: "r1".into(),
            cr_id: "r1".into(),
            cr_date: t,
            up_id: None,
            up_date: None,
            ex_date: t,
            tr_date: None,
            registrant: None,
            contacts: Vec::new(),
            ns: ns.iter().map(|s| (*s).to_owned()).collect(),
            statuses: Vec::new(),
            auth_pw: None,
            auth_set: None,
            ds: Vec::new(),
            max_sig_life: None,
            grace: Vec::new(),
            rgp: None,
            transfer: None,
            restore_report: None,
            registry_lock: None,
        }
    }

    fn glue(internal: bool, addrs: &[&str]) -> Option<HostGlue> {
        Some(HostGlue {
            internal,
            addrs: addrs.iter().filter_map(|a| a.parse().ok()).collect(),
        })
    }

    #[test]
    fn glue_only_for_internal_servers() {
        let d = domain(&["ns.b.test", "ns.example.net"]);
        let p = published(&d, |n| match n {
            "ns.b.test" => glue(true, &["192.0.2.1"]),
            _ => glue(false, &[]),
        });
        let p = p.unwrap_or_else(|| panic!("published"));
        assert_eq!(p.ns, ["ns.b.test", "ns.example.net"]);
        assert_eq!(p.glue.len(), 1);
    }

    #[test]
    fn hold_and_glueless_servers_publish_nothing() {
        let mut d = domain(&["ns.b.test"]);
        assert!(published(&d, |_| glue(true, &[])).is_none());
        d.statuses.push(StatusRec::new("clientHold"));
        assert!(published(&d, |_| glue(true, &["192.0.2.1"])).is_none());
        assert!(published(&domain(&[]), |_| None).is_none());
    }
}
