//! The publisher check: defence in depth behind the core's delegation guard (issue 12).
//!
//! The guard refuses every command that would move a registry-locked domain's published
//! delegation, so a journal entry that moves one can only come from a bug in the core or from
//! a write made straight into the database. Before it publishes a batch, the publisher compares
//! the delegation each locked domain would have after the batch (NS, DS and the glue of its
//! name servers, as this zone carries them) with the one recorded when the lock was applied
//! (the `lock:delegation` history note, see `registry_core::delegation`). A batch that changes
//! one is **held** — the safety valve's held batch, with reason `registry lock` — and alarmed:
//! an error in the log, the `zonegen_lock_holds_total` metric, and through the core a poll
//! message to the sponsor, a mail to its lock contact and a `lock:publishHeld` history note.
//! It is published only after an operator's approval (`zonegen held approve`). A batch the
//! safety valve holds (too many delegations removed or repointed) is told through the same
//! trait: the sponsor of every domain in it gets a poll message (`zone:batchHeld`).
//!
//! The lock state comes from the history, not from the domain row: an intruder who rewrites the
//! domain and its journal must also write a `lock:released` row, which the history chain shows
//! (it is chained late; `registry-admin history verify`).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use registry_core::delegation::{LockBaseline, Published};
use registry_core::model::DsRec;

use crate::name::DnsName;
use crate::zone::{Node, NodeDiff};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the publisher learns the lock state, and whom it tells.
pub trait LockCheck: Send + Sync + std::fmt::Debug {
    /// The domains registry-locked now, with the delegation each lock holds.
    fn baselines(&self) -> BoxFuture<'_, Result<Vec<LockBaseline>, String>>;
    /// Tells the sponsor and the history that a change to `domain` is held.
    fn alarm<'a>(&'a self, domain: &'a str, detail: &'a str) -> BoxFuture<'a, Result<(), String>>;
    /// Tells the sponsors of `domains` that their delegation changes wait in a batch the
    /// safety valve held; returns how many were told.
    fn batch_held<'a>(
        &'a self,
        domains: &'a [String],
        detail: &'a str,
    ) -> BoxFuture<'a, Result<usize, String>>;
}

/// The registry's own lock state and alarms, through the core on the registry database.
pub struct RegistryLockCheck {
    registry: registry_core::Registry<registry_store::SqlStore>,
}

impl std::fmt::Debug for RegistryLockCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RegistryLockCheck")
    }
}

impl RegistryLockCheck {
    pub fn from_db(db: &registry_store::Db) -> Arc<Self> {
        Arc::new(RegistryLockCheck {
            registry: registry_core::Registry::new(
                registry_store::SqlStore::new(db.clone()),
                Arc::new(registry_core::clock::SystemClock),
                registry_core::Config::default(),
            ),
        })
    }
}

impl LockCheck for RegistryLockCheck {
    fn baselines(&self) -> BoxFuture<'_, Result<Vec<LockBaseline>, String>> {
        Box::pin(async move {
            self.registry
                .lock_baselines()
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn alarm<'a>(&'a self, domain: &'a str, detail: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.registry
                .alarm_locked_delegation(domain, detail)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn batch_held<'a>(
        &'a self,
        domains: &'a [String],
        detail: &'a str,
    ) -> BoxFuture<'a, Result<usize, String>> {
        Box::pin(async move {
            self.registry
                .notify_held_batch(domains, detail)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// A locked domain whose delegation the batch would move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub domain: String,
    /// What the lock holds, as this zone carries it.
    pub held: Option<Published>,
    /// What the batch would publish.
    pub batch: Option<Published>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |p: &Option<Published>| match p {
            None => "nothing".to_owned(),
            Some(p) => format!("NS {}", p.ns.join(" ")),
        };
        write!(
            f,
            "{}: locked delegation {} would become {}",
            self.domain,
            show(&self.held),
            show(&self.batch)
        )
    }
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The lock's delegation restricted to what a zone with apex `origin` carries: glue only for
/// name servers in the zone (the core counts glue for every internal name server).
fn in_zone(origin: &DnsName, p: &Option<Published>) -> Option<Published> {
    let p = p.as_ref()?;
    let mut glue: Vec<(String, Vec<IpAddr>)> = p
        .glue
        .iter()
        .filter(|(n, _)| DnsName::new(n).is_ok_and(|n| n.is_below(origin)))
        .map(|(n, a)| {
            let mut a = a.clone();
            a.sort();
            a.dedup();
            (norm(n), a)
        })
        .collect();
    glue.sort();
    let mut ns: Vec<String> = p.ns.iter().map(|n| norm(n)).collect();
    ns.sort();
    ns.dedup();
    let mut ds = p.ds.clone();
    for d in &mut ds {
        d.digest = d.digest.to_ascii_uppercase();
    }
    ds.sort();
    ds.dedup();
    Some(Published { ns, ds, glue })
}

/// What the zone carries for the delegation at `domain`, given a view of the nodes.
fn from_zone<'a>(
    origin: &DnsName,
    domain: &DnsName,
    node: impl Fn(&DnsName) -> Option<&'a Node>,
) -> Option<Published> {
    let n = node(domain)?;
    if n.ns.is_empty() {
        return None;
    }
    let mut ns: Vec<String> = n.ns.iter().map(|n| norm(n.as_str())).collect();
    ns.sort();
    ns.dedup();
    let mut ds: Vec<DsRec> =
        n.ds.iter()
            .map(|d| DsRec {
                key_tag: d.key_tag,
                alg: d.algorithm,
                digest_type: d.digest_type,
                digest: hex::encode_upper(d.digest()),
            })
            .collect();
    ds.sort();
    ds.dedup();
    let mut glue = Vec::new();
    for s in n.ns.iter().filter(|s| s.is_below(origin)) {
        if let Some(g) = node(s) {
            let mut a: Vec<IpAddr> =
                g.a.iter()
                    .map(|a| IpAddr::V4(*a))
                    .chain(g.aaaa.iter().map(|a| IpAddr::V6(*a)))
                    .collect();
            a.sort();
            a.dedup();
            if !a.is_empty() {
                glue.push((norm(s.as_str()), a));
            }
        }
    }
    glue.sort();
    Some(Published { ns, ds, glue })
}

/// The locked delegations of zone `origin` that `diff` (over the published `nodes`) would
/// change. Only domains whose owner or name servers the diff touches are looked at, so a
/// delegation published differently before (an approved held batch) does not hold every later
/// batch.
pub fn violations(
    origin: &DnsName,
    diff: &[NodeDiff],
    nodes: &BTreeMap<DnsName, Node>,
    baselines: &[LockBaseline],
) -> Vec<Violation> {
    if diff.is_empty() || baselines.is_empty() {
        return Vec::new();
    }
    let changed: HashMap<&DnsName, &NodeDiff> = diff.iter().map(|d| (&d.owner, d)).collect();
    let after = |o: &DnsName| match changed.get(o) {
        Some(d) => d.new.as_ref(),
        None => nodes.get(o),
    };
    let mut out = Vec::new();
    for b in baselines {
        let Ok(domain) = DnsName::new(&b.domain) else {
            continue;
        };
        if !domain.is_below(origin) {
            continue;
        }
        let held = in_zone(origin, &b.delegation);
        let touched = changed.contains_key(&domain)
            || nodes
                .get(&domain)
                .is_some_and(|n| n.ns.iter().any(|s| changed.contains_key(s)))
            || held.as_ref().is_some_and(|h| {
                h.ns.iter()
                    .any(|s| DnsName::new(s).is_ok_and(|s| changed.contains_key(&s)))
            });
        if !touched {
            continue;
        }
        let batch = from_zone(origin, &domain, after);
        if batch != held {
            out.push(Violation {
                domain: b.domain.clone(),
                held,
                batch,
            });
        }
    }
    out
}

/// A [`LockCheck`] with fixed baselines that records alarms (tests, benchmarks).
#[derive(Debug, Default)]
pub struct MemoryLockCheck {
    pub baselines: std::sync::Mutex<Vec<LockBaseline>>,
    pub alarms: std::sync::Mutex<Vec<(String, String)>>,
    /// The domains of each batch the safety valve held, with its detail.
    pub held: std::sync::Mutex<Vec<(Vec<String>, String)>>,
}

impl LockCheck for MemoryLockCheck {
    fn baselines(&self) -> BoxFuture<'_, Result<Vec<LockBaseline>, String>> {
        let b = self
            .baselines
            .lock()
            .map(|b| b.clone())
            .map_err(|e| e.to_string());
        Box::pin(async move { b })
    }

    fn alarm<'a>(&'a self, domain: &'a str, detail: &'a str) -> BoxFuture<'a, Result<(), String>> {
        if let Ok(mut a) = self.alarms.lock() {
            a.push((domain.to_owned(), detail.to_owned()));
        }
        Box::pin(async { Ok(()) })
    }

    fn batch_held<'a>(
        &'a self,
        domains: &'a [String],
        detail: &'a str,
    ) -> BoxFuture<'a, Result<usize, String>> {
        if let Ok(mut h) = self.held.lock() {
            h.push((domains.to_vec(), detail.to_owned()));
        }
        let n = domains.len();
        Box::pin(async move { Ok(n) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn n(s: &str) -> DnsName {
        DnsName::new(s).expect("name")
    }

    fn baseline(domain: &str, ns: &[&str], glue: &[(&str, &str)]) -> LockBaseline {
        LockBaseline {
            domain: domain.into(),
            since: chrono::Utc::now(),
            delegation: Some(Published {
                ns: ns.iter().map(|s| (*s).to_owned()).collect(),
                ds: vec![],
                glue: glue
                    .iter()
                    .map(|(h, a)| ((*h).to_owned(), vec![a.parse().expect("ip")]))
                    .collect(),
            }),
        }
    }

    fn deleg(ns: &[&str]) -> Node {
        Node {
            ns: ns.iter().map(|s| n(s)).collect(),
            ..Node::default()
        }
    }

    fn glue(a: [u8; 4]) -> Node {
        Node {
            a: vec![Ipv4Addr::from(a)],
            ..Node::default()
        }
    }

    fn zone() -> BTreeMap<DnsName, Node> {
        let mut z = BTreeMap::new();
        z.insert(
            n("locked.test"),
            deleg(&["ns1.other.test", "ns.ext.example"]),
        );
        z.insert(n("other.test"), deleg(&["ns1.other.test"]));
        z.insert(n("ns1.other.test"), glue([192, 0, 2, 1]));
        z.insert(n("free.test"), deleg(&["ns.ext.example"]));
        z
    }

    fn locked() -> Vec<LockBaseline> {
        vec![baseline(
            "locked.test",
            &["ns.ext.example", "ns1.other.test"],
            &[
                ("ns1.other.test", "192.0.2.1"),
                ("ns1.b.other-tld", "192.0.2.9"),
            ],
        )]
    }

    #[test]
    fn untouched_or_unchanged_passes() {
        let z = zone();
        let d = vec![NodeDiff {
            owner: n("free.test"),
            old: z.get(&n("free.test")).cloned(),
            new: Some(deleg(&["ns.hijack.example"])),
        }];
        assert!(violations(&n("test"), &d, &z, &locked()).is_empty());
    }

    #[test]
    fn glue_of_a_locked_domains_name_server_is_held() {
        let z = zone();
        let d = vec![NodeDiff {
            owner: n("ns1.other.test"),
            old: z.get(&n("ns1.other.test")).cloned(),
            new: Some(glue([198, 51, 100, 66])),
        }];
        let v = violations(&n("test"), &d, &z, &locked());
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].domain, "locked.test");
    }

    #[test]
    fn ns_change_and_removal_are_held() {
        let z = zone();
        for new in [Some(deleg(&["ns.hijack.example"])), None] {
            let d = vec![NodeDiff {
                owner: n("locked.test"),
                old: z.get(&n("locked.test")).cloned(),
                new,
            }];
            assert_eq!(violations(&n("test"), &d, &z, &locked()).len(), 1);
        }
    }

    #[test]
    fn a_lock_of_another_zone_is_not_ours() {
        let z = zone();
        let d = vec![NodeDiff {
            owner: n("locked.test"),
            old: z.get(&n("locked.test")).cloned(),
            new: None,
        }];
        let b = vec![baseline("locked.example", &["ns.ext.example"], &[])];
        assert!(violations(&n("test"), &d, &z, &b).is_empty());
    }
}
