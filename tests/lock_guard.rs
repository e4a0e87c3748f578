//! Issue 12: a registry lock holds the domain's *published delegation* (NS, DS, glue), whatever
//! path a change takes.
//!
//! The model-based property test drives random sequences of every EPP command on every object
//! from two registrars, operator actions and scheduler steps with the clock moved through
//! expiry, redemption and purge, against a population where locked domains use internal and
//! external hosts of both registrars (including hosts under another registrar's unlocked
//! domain). After every step it asks the zone generator (crates/zonegen, `zone_contents`) what
//! the zone says about each registry-locked domain — once from the delegation journal the
//! publisher reads, once from the stored objects — and requires it to be what it was when the
//! lock was applied (a verified unlock, or the relock of a timed one, starts a new snapshot).
//! It also requires the journal's zone and the objects' zone to agree for every domain.
//!
//! Variants: over real TLS on SQLite and PostgreSQL (`LOCK_GUARD_CASES` × `LOCK_GUARD_OPS`,
//! default 8 × 260 commands each), and a long in-memory run through the same core
//! (`Registry<MemoryStore>`, `LOCK_GUARD_MEM_CASES` × `LOCK_GUARD_MEM_OPS`, default 24 × 500).
//! Each prints what it tried, what the guard refused and how many locked delegations changed
//! (always 0, or the test fails).
//!
//! The named regression tests below pin each path found by the property test or by review.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use epp_proto::contact::{ContactChg, ContactCommand, ContactStatus, ContactUpdate};
use epp_proto::domain::{
    AuthInfoChange, DomainChg, DomainCommand, DomainRenew, DomainStatus as DS, DomainTransfer,
    NameServers,
};
use epp_proto::ext::registry_lock::{RegistryLockCommand, UnlockDuration};
use epp_proto::ext::rgp::{RgpReport, RgpUpdate};
use epp_proto::ext::sec_dns::{DsData, DsOrKeyData, SecDnsRem, SecDnsUpdate};
use epp_proto::ext::CommandExtension as X;
use epp_proto::host::{HostCommand, HostStatus, HostUpdate};
use epp_proto::session::Poll;
use epp_proto::{Command, CommandFrame, StatusEntry, TransferOp};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use registry_core::clock::{Clock, ManualClock};
use registry_core::memory::MemoryStore;
use registry_core::model::{Domain, LockContact, ZoneChange};
use registry_core::{Actor, ObjectRef, Registry, Store, StoreTx};
use registry_store::SqlStore;
use support::core::*;
use support::Backend;
use zonegen::model::{ApexConfig, DomainDelegationState, HostAddrs};
use zonegen::name::DnsName;
use zonegen::zone::{zone_contents, Change, Node, Zone};

const REGS: [&str; 2] = ["rga", "rgb"];
const DOMAINS: [&str; 10] = [
    "d0.test", "d1.test", "d2.test", "d3.test", "d4.test", "d5.test", "d6.test", "d7.test",
    "d8.test", "d9.test",
];
const HOSTS: [&str; 12] = [
    "ns0.d0.test",
    "ns0.d1.test",
    "ns1.d1.test",
    "ns0.d6.test",
    "ns1.d6.test",
    "ns0.d7.test",
    "ns0.d3.test",
    "ns0.d8.test",
    "ns0.exta.example",
    "ns1.exta.example",
    "ns0.extb.example",
    "ns1.extb.example",
];
const CONTACTS: [&str; 4] = ["ca1", "ca2", "cb1", "cb2"];
const ADDRS: [&str; 6] = [
    "192.0.2.1",
    "192.0.2.2",
    "192.0.2.3",
    "192.0.2.4",
    "2001:db8::1",
    "2001:db8::2",
];
const CLIENT_STATUSES: [DS; 5] = [
    DS::ClientHold,
    DS::ClientUpdateProhibited,
    DS::ClientDeleteProhibited,
    DS::ClientTransferProhibited,
    DS::ClientRenewProhibited,
];
const SERVER_STATUSES: [&str; 4] = [
    "serverHold",
    "serverUpdateProhibited",
    "serverDeleteProhibited",
    "serverTransferProhibited",
];
const PWS: [&str; 2] = ["secret-pw", "other-pw"];
const TRANSFER_OPS: [TransferOp; 5] = [
    TransferOp::Request,
    TransferOp::Approve,
    TransferOp::Reject,
    TransferOp::Cancel,
    TransferOp::Query,
];
const OPERATOR: &str = "prop-operator";

// ---------------------------------------------------------------------------------------------
// The model: what can happen

#[derive(Debug, Clone)]
enum Op {
    DomainCreate {
        reg: usize,
        d: usize,
        ns: Vec<usize>,
    },
    DomainDelete {
        reg: usize,
        d: usize,
    },
    DomainRenew {
        reg: usize,
        d: usize,
    },
    DomainNs {
        reg: usize,
        d: usize,
        add: Vec<usize>,
        rem: Vec<usize>,
    },
    DomainStatus {
        reg: usize,
        d: usize,
        s: usize,
        add: bool,
    },
    DomainDs {
        reg: usize,
        d: usize,
        op: u8,
    },
    DomainRegistrant {
        reg: usize,
        d: usize,
        c: usize,
    },
    DomainAuth {
        reg: usize,
        d: usize,
        pw: usize,
    },
    DomainTransfer {
        reg: usize,
        d: usize,
        op: usize,
        pw: usize,
    },
    DomainRestore {
        reg: usize,
        d: usize,
        report: bool,
    },
    DomainInfo {
        reg: usize,
        d: usize,
    },
    DomainLockRequest {
        reg: usize,
        d: usize,
        unlock: bool,
    },
    HostCreate {
        reg: usize,
        h: usize,
        addrs: Vec<usize>,
    },
    HostDelete {
        reg: usize,
        h: usize,
    },
    HostAddrs {
        reg: usize,
        h: usize,
        add: Vec<usize>,
        rem: Vec<usize>,
    },
    HostStatus {
        reg: usize,
        h: usize,
        add: bool,
    },
    HostRename {
        reg: usize,
        h: usize,
        to: usize,
    },
    HostInfo {
        reg: usize,
        h: usize,
    },
    ContactCreate {
        reg: usize,
        c: usize,
    },
    ContactDelete {
        reg: usize,
        c: usize,
    },
    ContactUpdate {
        reg: usize,
        c: usize,
        pw: usize,
    },
    ContactTransfer {
        reg: usize,
        c: usize,
        op: usize,
        pw: usize,
    },
    Poll {
        reg: usize,
    },
    Advance {
        hours: u32,
    },
    OperatorStatus {
        d: usize,
        s: usize,
        add: bool,
    },
    OperatorHostStatus {
        h: usize,
        add: bool,
    },
    OperatorDelete {
        d: usize,
        purge: bool,
    },
    VerifiedLock {
        d: usize,
    },
    VerifiedUnlock {
        d: usize,
        timed: bool,
    },
}

/// An op, and whether it is sent as the target object's current sponsor (most are: otherwise
/// nearly every command would stop at 2201 before reaching anything interesting).
#[derive(Debug, Clone)]
struct Step {
    op: Op,
    as_sponsor: bool,
}

fn step_strategy() -> impl Strategy<Value = Step> {
    (op_strategy(), proptest::bool::weighted(0.75))
        .prop_map(|(op, as_sponsor)| Step { op, as_sponsor })
}

/// The registrar field of an op, if it has one.
fn reg_of(op: &mut Op) -> Option<&mut usize> {
    match op {
        Op::DomainCreate { reg, .. }
        | Op::DomainDelete { reg, .. }
        | Op::DomainRenew { reg, .. }
        | Op::DomainNs { reg, .. }
        | Op::DomainStatus { reg, .. }
        | Op::DomainDs { reg, .. }
        | Op::DomainRegistrant { reg, .. }
        | Op::DomainAuth { reg, .. }
        | Op::DomainTransfer { reg, .. }
        | Op::DomainRestore { reg, .. }
        | Op::DomainInfo { reg, .. }
        | Op::DomainLockRequest { reg, .. }
        | Op::HostCreate { reg, .. }
        | Op::HostDelete { reg, .. }
        | Op::HostAddrs { reg, .. }
        | Op::HostStatus { reg, .. }
        | Op::HostRename { reg, .. }
        | Op::HostInfo { reg, .. }
        | Op::ContactCreate { reg, .. }
        | Op::ContactDelete { reg, .. }
        | Op::ContactUpdate { reg, .. }
        | Op::ContactTransfer { reg, .. }
        | Op::Poll { reg } => Some(reg),
        _ => None,
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let reg = 0..REGS.len();
    let d = 0..DOMAINS.len();
    let h = 0..HOSTS.len();
    let c = 0..CONTACTS.len();
    let hs = proptest::collection::vec(0..HOSTS.len(), 0..3);
    let addrs = proptest::collection::vec(0..ADDRS.len(), 0..3);
    prop_oneof![
        3 => (reg.clone(), d.clone(), hs.clone()).prop_map(|(reg, d, ns)| Op::DomainCreate { reg, d, ns }),
        2 => (reg.clone(), d.clone()).prop_map(|(reg, d)| Op::DomainDelete { reg, d }),
        1 => (reg.clone(), d.clone()).prop_map(|(reg, d)| Op::DomainRenew { reg, d }),
        8 => (reg.clone(), d.clone(), hs.clone(), hs.clone())
            .prop_map(|(reg, d, add, rem)| Op::DomainNs { reg, d, add, rem }),
        3 => (reg.clone(), d.clone(), 0..CLIENT_STATUSES.len(), any::<bool>())
            .prop_map(|(reg, d, s, add)| Op::DomainStatus { reg, d, s, add }),
        3 => (reg.clone(), d.clone(), 0u8..3).prop_map(|(reg, d, op)| Op::DomainDs { reg, d, op }),
        1 => (reg.clone(), d.clone(), c.clone()).prop_map(|(reg, d, c)| Op::DomainRegistrant { reg, d, c }),
        1 => (reg.clone(), d.clone(), 0..PWS.len()).prop_map(|(reg, d, pw)| Op::DomainAuth { reg, d, pw }),
        4 => (reg.clone(), d.clone(), 0..TRANSFER_OPS.len(), 0..PWS.len())
            .prop_map(|(reg, d, op, pw)| Op::DomainTransfer { reg, d, op, pw }),
        2 => (reg.clone(), d.clone(), any::<bool>())
            .prop_map(|(reg, d, report)| Op::DomainRestore { reg, d, report }),
        1 => (reg.clone(), d.clone()).prop_map(|(reg, d)| Op::DomainInfo { reg, d }),
        1 => (reg.clone(), d.clone(), any::<bool>())
            .prop_map(|(reg, d, unlock)| Op::DomainLockRequest { reg, d, unlock }),
        4 => (reg.clone(), h.clone(), addrs.clone()).prop_map(|(reg, h, addrs)| Op::HostCreate { reg, h, addrs }),
        3 => (reg.clone(), h.clone()).prop_map(|(reg, h)| Op::HostDelete { reg, h }),
        8 => (reg.clone(), h.clone(), addrs.clone(), addrs)
            .prop_map(|(reg, h, add, rem)| Op::HostAddrs { reg, h, add, rem }),
        2 => (reg.clone(), h.clone(), any::<bool>()).prop_map(|(reg, h, add)| Op::HostStatus { reg, h, add }),
        8 => (reg.clone(), h.clone(), 0..HOSTS.len()).prop_map(|(reg, h, to)| Op::HostRename { reg, h, to }),
        1 => (reg.clone(), h.clone()).prop_map(|(reg, h)| Op::HostInfo { reg, h }),
        1 => (reg.clone(), c.clone()).prop_map(|(reg, c)| Op::ContactCreate { reg, c }),
        1 => (reg.clone(), c.clone()).prop_map(|(reg, c)| Op::ContactDelete { reg, c }),
        1 => (reg.clone(), c.clone(), 0..PWS.len()).prop_map(|(reg, c, pw)| Op::ContactUpdate { reg, c, pw }),
        1 => (reg.clone(), c, 0..TRANSFER_OPS.len(), 0..PWS.len())
            .prop_map(|(reg, c, op, pw)| Op::ContactTransfer { reg, c, op, pw }),
        1 => reg.prop_map(|reg| Op::Poll { reg }),
        5 => prop_oneof![Just(1u32), Just(24), Just(24 * 5), Just(24 * 30), Just(24 * 200), Just(24 * 400)]
            .prop_map(|hours| Op::Advance { hours }),
        2 => (d.clone(), 0..SERVER_STATUSES.len(), any::<bool>())
            .prop_map(|(d, s, add)| Op::OperatorStatus { d, s, add }),
        1 => (h, any::<bool>()).prop_map(|(h, add)| Op::OperatorHostStatus { h, add }),
        1 => (d.clone(), any::<bool>()).prop_map(|(d, purge)| Op::OperatorDelete { d, purge }),
        2 => d.clone().prop_map(|d| Op::VerifiedLock { d }),
        1 => (d, any::<bool>()).prop_map(|(d, timed)| Op::VerifiedUnlock { d, timed }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Turning the model into commands

fn hn(s: &str) -> epp_proto::HostName {
    host_name(s)
}

fn dom(d: usize) -> &'static str {
    DOMAINS[d]
}

fn ds_record(tag: u16) -> DsData {
    DsData {
        key_tag: tag,
        alg: 13,
        digest_type: 2,
        digest: "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766".into(),
        key_data: None,
    }
}

fn update(d: usize) -> epp_proto::domain::DomainUpdate {
    domain_update(dom(d))
}

fn ns_list(v: &[usize]) -> Option<NameServers> {
    let mut names: Vec<_> = v.iter().map(|i| hn(HOSTS[*i])).collect();
    names.sort();
    names.dedup();
    (!names.is_empty()).then_some(NameServers::HostObj(names))
}

fn addr_list(v: &[usize]) -> Vec<IpAddr> {
    let mut a: Vec<IpAddr> = v.iter().map(|i| ip(ADDRS[*i])).collect();
    a.sort();
    a.dedup();
    a
}

/// The EPP command of an op (and its extensions), or `None` for the non-EPP ops.
fn command(op: &Op, now: epp_proto::Timestamp) -> Option<(usize, Command, Vec<X>)> {
    let c = |reg: usize, cmd: Command| Some((reg, cmd, Vec::new()));
    match op {
        Op::DomainCreate { reg, d, ns } => {
            let mut names: Vec<&str> = ns.iter().map(|i| HOSTS[*i]).collect();
            names.sort();
            names.dedup();
            c(
                *reg,
                domain_create(dom(*d), CONTACTS[reg * 2], &names, PWS[0]),
            )
        }
        Op::DomainDelete { reg, d } => c(*reg, Command::Domain(DomainCommand::Delete(hn(dom(*d))))),
        Op::DomainRenew { reg, d } => c(
            *reg,
            // The expiry date is not tracked by the model: most renews are refused (2306),
            // which is fine; the guard does not care about the expiry date.
            Command::Domain(DomainCommand::Renew(DomainRenew {
                name: hn(dom(*d)),
                cur_exp_date: (now + chrono::Duration::days(365)).date_naive(),
                period: None,
            })),
        ),
        Op::DomainNs { reg, d, add, rem } => {
            let mut u = update(*d);
            u.add.ns = ns_list(add);
            u.rem.ns = ns_list(rem);
            c(*reg, Command::Domain(DomainCommand::Update(u)))
        }
        Op::DomainStatus { reg, d, s, add } => {
            let mut u = update(*d);
            let e = StatusEntry::new(CLIENT_STATUSES[*s]);
            if *add {
                u.add.statuses.push(e);
            } else {
                u.rem.statuses.push(e);
            }
            c(*reg, Command::Domain(DomainCommand::Update(u)))
        }
        Op::DomainDs { reg, d, op } => {
            let sec = match op {
                0 => SecDnsUpdate {
                    add: Some(DsOrKeyData::Ds(vec![ds_record(100 + *d as u16)])),
                    ..SecDnsUpdate::default()
                },
                1 => SecDnsUpdate {
                    rem: Some(SecDnsRem::All),
                    ..SecDnsUpdate::default()
                },
                _ => SecDnsUpdate {
                    rem: Some(SecDnsRem::Data(DsOrKeyData::Ds(vec![ds_record(
                        100 + *d as u16,
                    )]))),
                    ..SecDnsUpdate::default()
                },
            };
            Some((
                *reg,
                Command::Domain(DomainCommand::Update(update(*d))),
                vec![X::SecDnsUpdate(sec)],
            ))
        }
        Op::DomainRegistrant { reg, d, c: k } => {
            let mut u = update(*d);
            u.chg = Some(DomainChg {
                registrant: Some(Some(contact_id(CONTACTS[*k]))),
                auth_info: None,
            });
            c(*reg, Command::Domain(DomainCommand::Update(u)))
        }
        Op::DomainAuth { reg, d, pw } => {
            let mut u = update(*d);
            u.chg = Some(DomainChg {
                registrant: None,
                auth_info: Some(AuthInfoChange::Set(auth(PWS[*pw]))),
            });
            c(*reg, Command::Domain(DomainCommand::Update(u)))
        }
        Op::DomainTransfer { reg, d, op, pw } => c(
            *reg,
            Command::Domain(DomainCommand::Transfer(DomainTransfer {
                op: TRANSFER_OPS[*op],
                name: hn(dom(*d)),
                period: None,
                auth_info: (TRANSFER_OPS[*op] == TransferOp::Request).then(|| auth(PWS[*pw])),
            })),
        ),
        Op::DomainRestore { reg, d, report } => {
            let rgp = if *report {
                RgpUpdate::Report(Box::new(RgpReport {
                    pre_data: "pre".into(),
                    post_data: "post".into(),
                    del_time: now - chrono::Duration::days(1),
                    res_time: now,
                    res_reason: "registrant error".into(),
                    statements: ["statement one".into(), "statement two".into()],
                    other: None,
                }))
            } else {
                RgpUpdate::Request
            };
            Some((
                *reg,
                Command::Domain(DomainCommand::Update(update(*d))),
                vec![X::RgpUpdate(rgp)],
            ))
        }
        Op::DomainInfo { reg, d } => c(*reg, domain_info(dom(*d), Some(PWS[0]))),
        Op::DomainLockRequest { reg, d, unlock } => {
            let l = if *unlock {
                RegistryLockCommand::Unlock { duration: None }
            } else {
                RegistryLockCommand::Lock
            };
            Some((
                *reg,
                Command::Domain(DomainCommand::Update(update(*d))),
                vec![X::RegistryLock(l)],
            ))
        }
        Op::HostCreate { reg, h, addrs } => {
            let a: Vec<String> = addr_list(addrs).iter().map(|a| a.to_string()).collect();
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            c(*reg, host_create(HOSTS[*h], &a))
        }
        Op::HostDelete { reg, h } => c(*reg, host_delete(HOSTS[*h])),
        Op::HostAddrs { reg, h, add, rem } => {
            let mut u = host_update(HOSTS[*h]);
            u.add.addrs = addr_list(add);
            u.rem.addrs = addr_list(rem);
            c(*reg, Command::Host(HostCommand::Update(u)))
        }
        Op::HostStatus { reg, h, add } => {
            let mut u = host_update(HOSTS[*h]);
            let e = StatusEntry::new(HostStatus::ClientUpdateProhibited);
            if *add {
                u.add.statuses.push(e);
            } else {
                u.rem.statuses.push(e);
            }
            c(*reg, Command::Host(HostCommand::Update(u)))
        }
        Op::HostRename { reg, h, to } => {
            let mut u = host_update(HOSTS[*h]);
            u.new_name = Some(hn(HOSTS[*to]));
            c(*reg, Command::Host(HostCommand::Update(u)))
        }
        Op::HostInfo { reg, h } => c(*reg, host_info(HOSTS[*h])),
        Op::ContactCreate { reg, c: k } => c(*reg, contact_create(CONTACTS[*k], PWS[0])),
        Op::ContactDelete { reg, c: k } => c(
            *reg,
            Command::Contact(ContactCommand::Delete(contact_id(CONTACTS[*k]))),
        ),
        Op::ContactUpdate { reg, c: k, pw } => c(
            *reg,
            Command::Contact(ContactCommand::Update(ContactUpdate {
                id: contact_id(CONTACTS[*k]),
                add: vec![StatusEntry::new(ContactStatus::ClientDeleteProhibited)],
                rem: Vec::new(),
                chg: Some(ContactChg {
                    postal_info: Vec::new(),
                    voice: None,
                    fax: None,
                    email: None,
                    auth_info: Some(auth(PWS[*pw])),
                    disclose: None,
                }),
            })),
        ),
        Op::ContactTransfer { reg, c: k, op, pw } => c(
            *reg,
            Command::Contact(ContactCommand::Transfer {
                op: TRANSFER_OPS[*op],
                id: contact_id(CONTACTS[*k]),
                auth_info: Some(auth(PWS[*pw])),
            }),
        ),
        Op::Poll { reg } => c(*reg, Command::Poll(Poll::Request)),
        Op::Advance { .. }
        | Op::OperatorStatus { .. }
        | Op::OperatorHostStatus { .. }
        | Op::OperatorDelete { .. }
        | Op::VerifiedLock { .. }
        | Op::VerifiedUnlock { .. } => None,
    }
}

fn host_update(name: &str) -> HostUpdate {
    HostUpdate {
        name: hn(name),
        add: Default::default(),
        rem: Default::default(),
        new_name: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The two ways in: EPP over TLS, or the core's `execute` (in-memory long runs)

/// Sends one EPP command as registrar `reg`; the result code and message.
trait Epp {
    fn send(
        &mut self,
        reg: usize,
        cmd: Command,
        ext: Vec<X>,
    ) -> impl Future<Output = (u16, String)> + Send;
}

struct TlsEpp {
    sessions: Vec<Session>,
}

impl Epp for TlsEpp {
    async fn send(&mut self, reg: usize, cmd: Command, ext: Vec<X>) -> (u16, String) {
        let r = self.sessions[reg].cmd_ext(cmd, ext).await;
        let msg = r
            .response
            .results
            .first()
            .map(|x| x.msg.clone())
            .unwrap_or_default();
        (r.code, msg)
    }
}

struct CoreEpp<S: Store> {
    registry: Arc<Registry<S>>,
    seq: u64,
}

impl<S: Store> Epp for CoreEpp<S> {
    async fn send(&mut self, reg: usize, cmd: Command, ext: Vec<X>) -> (u16, String) {
        self.seq += 1;
        let actor = Actor {
            cl_id: epp_proto::ClientId::new(REGS[reg]).unwrap(),
            source_ip: ip("127.0.0.1"),
            cert_fingerprint: None,
            cl_trid: None,
            sv_trid: epp_proto::SvTrid::new(&format!("MEM-{}", self.seq)).unwrap(),
        };
        let frame = CommandFrame {
            command: cmd,
            extensions: ext,
            cl_trid: None,
        };
        match self.registry.execute(&actor, &frame).await {
            Ok(o) => (o.code.code(), String::new()),
            Err(e) if e.result_code() == epp_proto::ResultCode::CommandFailed => {
                (2400, format!("internal error: {e}"))
            }
            Err(e) => (
                e.result_code().code(),
                format!("{}: {}", e.result_code().text(), e.reason()),
            ),
        }
    }
}

/// What the property test needs of a store beyond [`Store`].
trait TestStore: Store {
    fn set_contact(
        &self,
        c: LockContact,
        now: epp_proto::Timestamp,
    ) -> impl Future<Output = ()> + Send;
}

impl TestStore for SqlStore {
    async fn set_contact(&self, c: LockContact, now: epp_proto::Timestamp) {
        self.set_lock_contact(&c, now).await.unwrap();
    }
}

impl TestStore for MemoryStore {
    async fn set_contact(&self, c: LockContact, _now: epp_proto::Timestamp) {
        self.set_lock_contact(c);
    }
}

// ---------------------------------------------------------------------------------------------
// What the zone says

fn apex() -> ApexConfig {
    ApexConfig {
        origin: DnsName::new("test").unwrap(),
        mname: DnsName::new("ns.nic.test").unwrap(),
        rname: DnsName::new("hostmaster.nic.test").unwrap(),
        refresh: 1800,
        retry: 900,
        expire: 604_800,
        minimum: 3600,
        ttl: 3600,
        apex_ns: vec![DnsName::new("ns.nic.test").unwrap()],
        apex_glue: BTreeMap::from([(DnsName::new("ns.nic.test").unwrap(), vec![ip("192.0.2.53")])]),
    }
}

/// A delegation as the zone generator emits it: the delegation's node and the glue nodes of
/// its in-zone name servers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    node: Node,
    glue: Vec<(DnsName, Option<Node>)>,
}

fn view(zone: &Zone, name: &str) -> Option<View> {
    let owner = DnsName::new(name).unwrap();
    let node = zone.nodes.get(&owner).filter(|n| !n.ns.is_empty())?.clone();
    let glue = node
        .ns
        .iter()
        .filter(|n| n.is_below(&zone.apex.origin))
        .map(|n| (n.clone(), zone.nodes.get(n).cloned()))
        .collect();
    Some(View { node, glue })
}

/// The journal folded the way the publisher's snapshot folds it: the latest entry per name.
#[derive(Default)]
struct Fold {
    position: i64,
    domains: BTreeMap<DnsName, DomainDelegationState>,
    hosts: HostAddrs,
}

impl Fold {
    async fn catch_up<S: Store>(&mut self, store: &S) {
        loop {
            let page = store.journal_since(self.position, 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            self.position = last.position;
            for e in &page {
                match zonegen::source_db::from_core(e.position, &e.change).unwrap() {
                    Change::Domain(d) => {
                        self.domains.insert(d.name.clone(), d);
                    }
                    Change::DomainDeleted(n) => {
                        self.domains.remove(&n);
                    }
                    Change::Host { name, addrs } => {
                        self.hosts.insert(name, addrs);
                    }
                    Change::HostDeleted(n) => {
                        self.hosts.remove(&n);
                    }
                }
            }
        }
    }

    fn zone(&self) -> Zone {
        let domains: Vec<_> = self.domains.values().cloned().collect();
        zone_contents(&apex(), &domains, &self.hosts).0
    }
}

/// The zone computed from the stored objects of the pool's domains (not from the journal).
async fn objects_zone<S: Store>(store: &S) -> (Zone, BTreeMap<String, Domain>) {
    let mut tx = store.begin(false).await.unwrap();
    let mut domains = BTreeMap::new();
    for d in DOMAINS {
        if let Some(x) = tx.domain_get(d, false).await.unwrap() {
            domains.insert(d.to_owned(), x);
        }
    }
    let names: Vec<String> = HOSTS.iter().map(|h| (*h).to_owned()).collect();
    let hosts = tx.hosts_named(&names).await.unwrap();
    drop(tx);
    let mut addrs = HostAddrs::new();
    for h in hosts.iter().filter(|h| h.superordinate.is_some()) {
        addrs.insert(DnsName::new(&h.name).unwrap(), h.addrs.clone());
    }
    let states: Vec<DomainDelegationState> = domains
        .values()
        .map(|d| {
            let z = zonegen::source_db::from_core(
                0,
                &ZoneChange::Domain {
                    name: d.name.clone(),
                    delegation: d.delegation(),
                },
            )
            .unwrap();
            let Change::Domain(s) = z else { unreachable!() };
            s
        })
        .collect();
    (zone_contents(&apex(), &states, &addrs).0, domains)
}

// ---------------------------------------------------------------------------------------------
// The harness

#[derive(Debug, Default, Clone)]
struct Stats {
    epp: usize,
    scheduler: usize,
    operator: usize,
    lock_procedure: usize,
    refused_by_guard: usize,
    refused_by_reason: BTreeMap<String, usize>,
    codes: BTreeMap<u16, usize>,
    locks_applied: usize,
    locked_steps: usize,
    delegation_changes: usize,
    /// RFC 9154 paths the sequences reached: authInfo set by the sponsor, transfer requests
    /// accepted with it, and refused with a wrong, expired or cleared one (2202).
    auth_set: usize,
    transfers_requested: usize,
    transfers_refused_auth: usize,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.epp += o.epp;
        self.scheduler += o.scheduler;
        self.operator += o.operator;
        self.lock_procedure += o.lock_procedure;
        self.refused_by_guard += o.refused_by_guard;
        for (k, v) in &o.refused_by_reason {
            *self.refused_by_reason.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.codes {
            *self.codes.entry(*k).or_default() += v;
        }
        self.locks_applied += o.locks_applied;
        self.locked_steps += o.locked_steps;
        self.delegation_changes += o.delegation_changes;
        self.auth_set += o.auth_set;
        self.transfers_requested += o.transfers_requested;
        self.transfers_refused_auth += o.transfers_refused_auth;
    }

    fn report(&self, what: &str) {
        println!(
            "lock-guard property test [{what}]: {} commands tried ({} EPP, {} scheduler steps, {} operator actions, {} lock-procedure steps); {} refused by the delegation guard {:?}; {} locks applied; {} locked-domain checks; {} locked delegation changes; authInfo set {}, transfers requested {}, refused for authInfo {}; result codes {:?}",
            self.epp + self.scheduler + self.operator + self.lock_procedure,
            self.epp,
            self.scheduler,
            self.operator,
            self.lock_procedure,
            self.refused_by_guard,
            self.refused_by_reason,
            self.locks_applied,
            self.locked_steps,
            self.delegation_changes,
            self.auth_set,
            self.transfers_requested,
            self.transfers_refused_auth,
            self.codes,
        );
    }
}

struct Harness<S: TestStore, E: Epp> {
    registry: Arc<Registry<S>>,
    clock: ManualClock,
    epp: E,
    fold: Fold,
    /// Locked domain → what the zone said about it when the lock was applied.
    snapshots: BTreeMap<String, Option<View>>,
    stats: Stats,
    log: Vec<String>,
}

impl<S: TestStore, E: Epp> Harness<S, E> {
    async fn epp(&mut self, reg: usize, cmd: Command, ext: Vec<X>) -> (u16, String) {
        let (code, msg) = self.epp.send(reg, cmd, ext).await;
        self.stats.epp += 1;
        *self.stats.codes.entry(code).or_default() += 1;
        if code == 2400 {
            panic!(
                "2400 for {}: {msg}\nsteps:\n{}",
                self.log.last().cloned().unwrap_or_default(),
                self.log.join("\n")
            );
        }
        if code == 2304
            && (msg.ends_with(registry_core::guard::REASON_DOMAIN)
                || msg.ends_with(registry_core::guard::REASON_LINKED))
        {
            self.stats.refused_by_guard += 1;
            let reason = msg.rsplit(": ").next().unwrap_or_default().to_owned();
            *self.stats.refused_by_reason.entry(reason).or_default() += 1;
        }
        (code, msg)
    }

    /// The lock procedure as registry-admin runs it: request, code by mail, verification.
    async fn verified(&mut self, d: &str, cmd: RegistryLockCommand) -> bool {
        self.stats.lock_procedure += 1;
        let Ok(req) = self.registry.request_lock(OPERATOR, d, &cmd).await else {
            return false;
        };
        let (_, mail) = self.registry.lock_request(req.id).await.unwrap();
        let code = mail
            .iter()
            .find(|m| m.kind == "lockCode")
            .and_then(|m| {
                m.body
                    .lines()
                    .map(str::trim)
                    .find(|l| l.len() == 11 && l.as_bytes()[5] == b'-')
                    .map(str::to_owned)
            })
            .expect("code in the lock mail");
        let mailer = registry_mail::Mailer::Log {
            from: "lock@registry.test".into(),
        };
        self.registry.send_mail(&mailer).await.unwrap();
        let out = self.registry.lock_verify(OPERATOR, req.id, &code).await;
        matches!(
            out,
            Ok(registry_core::VerifyOutcome::Applied
                | registry_core::VerifyOutcome::Released { .. })
        )
    }

    /// The registrar that makes the op interesting: the target's sponsor (or, for a transfer
    /// request or cancel, the other registrar; for a host create, the superordinate's sponsor).
    async fn sponsor_for(&self, op: &Op) -> Option<usize> {
        let mut tx = self.registry.store().begin(false).await.ok()?;
        let idx = |cl: &str| REGS.iter().position(|r| *r == cl);
        let domain = |d: usize| DOMAINS[d];
        let sponsor = match op {
            Op::DomainTransfer { d, op, .. } => {
                let s = idx(&tx.domain_get(domain(*d), false).await.ok()??.cl_id)?;
                match TRANSFER_OPS[*op] {
                    TransferOp::Request | TransferOp::Cancel => 1 - s,
                    _ => s,
                }
            }
            Op::ContactTransfer { c, op, .. } => {
                let s = idx(&tx.contact_get(CONTACTS[*c], false).await.ok()??.cl_id)?;
                match TRANSFER_OPS[*op] {
                    TransferOp::Request | TransferOp::Cancel => 1 - s,
                    _ => s,
                }
            }
            Op::DomainDelete { d, .. }
            | Op::DomainRenew { d, .. }
            | Op::DomainNs { d, .. }
            | Op::DomainStatus { d, .. }
            | Op::DomainDs { d, .. }
            | Op::DomainRegistrant { d, .. }
            | Op::DomainAuth { d, .. }
            | Op::DomainRestore { d, .. }
            | Op::DomainInfo { d, .. }
            | Op::DomainLockRequest { d, .. } => {
                idx(&tx.domain_get(domain(*d), false).await.ok()??.cl_id)?
            }
            Op::HostDelete { h, .. }
            | Op::HostAddrs { h, .. }
            | Op::HostStatus { h, .. }
            | Op::HostRename { h, .. }
            | Op::HostInfo { h, .. } => idx(&tx.host_get(HOSTS[*h], false).await.ok()??.cl_id)?,
            Op::HostCreate { h, .. } => {
                let sup = HOSTS[*h].split_once('.')?.1;
                idx(&tx.domain_get(sup, false).await.ok()??.cl_id)?
            }
            Op::ContactDelete { c, .. } | Op::ContactUpdate { c, .. } => {
                idx(&tx.contact_get(CONTACTS[*c], false).await.ok()??.cl_id)?
            }
            _ => return None,
        };
        Some(sponsor)
    }

    async fn step(&mut self, step: &Step) {
        let mut op = step.op.clone();
        if step.as_sponsor {
            if let Some(s) = self.sponsor_for(&op).await {
                if let Some(reg) = reg_of(&mut op) {
                    *reg = s;
                }
            }
        }
        let op = &op;
        self.log.push(format!("{op:?}"));
        let now = self.clock.now();
        if let Some((reg, cmd, ext)) = command(op, now) {
            let (code, msg) = self.epp(reg, cmd, ext).await;
            match (op, code) {
                (Op::DomainAuth { .. }, 1000) => self.stats.auth_set += 1,
                (Op::DomainTransfer { op: t, .. }, 1001)
                    if TRANSFER_OPS[*t] == TransferOp::Request =>
                {
                    self.stats.transfers_requested += 1
                }
                (Op::DomainTransfer { op: t, .. }, 2202)
                    if TRANSFER_OPS[*t] == TransferOp::Request =>
                {
                    self.stats.transfers_refused_auth += 1
                }
                _ => {}
            }
            if let Some(last) = self.log.last_mut() {
                last.push_str(&format!(" -> {code} {msg}"));
            }
            return;
        }
        match op {
            Op::Advance { hours } => {
                self.stats.scheduler += 1;
                self.clock
                    .advance(chrono::Duration::hours(i64::from(*hours)));
                self.registry.run_due(self.clock.now()).await.unwrap();
            }
            Op::OperatorStatus { d, s, add } => {
                self.stats.operator += 1;
                let (a, r): (&[&str], &[&str]) = if *add {
                    (&SERVER_STATUSES[*s..=*s], &[])
                } else {
                    (&[], &SERVER_STATUSES[*s..=*s])
                };
                let res = self
                    .registry
                    .set_server_statuses(&ObjectRef::Domain(dom(*d).into()), a, r)
                    .await;
                self.note_admin(res);
            }
            Op::OperatorHostStatus { h, add } => {
                self.stats.operator += 1;
                let s: &[&str] = &["serverUpdateProhibited"];
                let (a, r): (&[&str], &[&str]) = if *add { (s, &[]) } else { (&[], s) };
                let res = self
                    .registry
                    .set_server_statuses(&ObjectRef::Host(HOSTS[*h].into()), a, r)
                    .await;
                self.note_admin(res);
            }
            Op::OperatorDelete { d, purge } => {
                self.stats.operator += 1;
                let res = self
                    .registry
                    .registry_delete_domain(OPERATOR, dom(*d), "property test", *purge)
                    .await;
                self.note_admin(res);
            }
            Op::VerifiedLock { d } => {
                self.verified(dom(*d), RegistryLockCommand::Lock).await;
            }
            Op::VerifiedUnlock { d, timed } => {
                let duration = timed.then(|| UnlockDuration::from_secs(3600 * 24).unwrap());
                self.verified(dom(*d), RegistryLockCommand::Unlock { duration })
                    .await;
            }
            _ => unreachable!("EPP ops are sent above"),
        }
    }

    fn note_admin(&mut self, res: Result<(), registry_core::CoreError>) {
        if let Err(registry_core::CoreError::RegistryLocked { reason, .. }) = &res {
            self.stats.refused_by_guard += 1;
            *self
                .stats
                .refused_by_reason
                .entry((*reason).to_owned())
                .or_default() += 1;
        }
        if let Some(last) = self.log.last_mut() {
            last.push_str(&format!(" -> {res:?}"));
        }
    }

    /// The invariant, after every step.
    async fn check(&mut self) {
        self.fold.catch_up(self.registry.store()).await;
        let journal_zone = self.fold.zone();
        let (objects_zone, domains) = objects_zone(self.registry.store()).await;
        for d in DOMAINS {
            let from_journal = view(&journal_zone, d);
            let from_objects = view(&objects_zone, d);
            assert_eq!(
                from_journal,
                from_objects,
                "{d}: the journal's zone and the objects' zone disagree\nsteps:\n{}",
                self.log.join("\n")
            );
            let locked = domains.get(d).is_some_and(Domain::registry_locked);
            if !locked {
                self.snapshots.remove(d);
                continue;
            }
            match self.snapshots.get(d) {
                None => {
                    self.stats.locks_applied += 1;
                    self.snapshots.insert(d.to_owned(), from_journal);
                }
                Some(snap) => {
                    self.stats.locked_steps += 1;
                    if *snap != from_journal {
                        self.stats.delegation_changes += 1;
                        panic!(
                            "{d} is registry-locked but its published delegation changed:\nwas {snap:?}\nnow {from_journal:?}\nsteps:\n{}",
                            self.log.join("\n")
                        );
                    }
                }
            }
        }
    }

    /// The population: locked domains whose delegations run through both registrars'
    /// internal and external hosts (one under another registrar's unlocked domain).
    async fn populate(&mut self) {
        let now = self.clock.now();
        for (i, r) in REGS.iter().enumerate() {
            self.registry
                .store()
                .set_contact(
                    LockContact {
                        cl_id: (*r).into(),
                        name: format!("Lock contact {i}"),
                        phone: "+1.5555550100".into(),
                        email: format!("lock-{r}@example.net"),
                    },
                    now,
                )
                .await;
        }
        let setup = [
            (0, contact_create("ca1", PWS[0])),
            (1, contact_create("cb1", PWS[0])),
        ];
        for (reg, cmd) in setup {
            assert_eq!(self.epp.send(reg, cmd, Vec::new()).await.0, 1000);
        }
        for (i, d) in DOMAINS.iter().enumerate() {
            let reg = usize::from(i >= 5);
            let (code, msg) = self
                .epp
                .send(
                    reg,
                    domain_create(d, CONTACTS[reg * 2], &[], PWS[0]),
                    Vec::new(),
                )
                .await;
            assert_eq!(code, 1000, "{d}: {msg}");
        }
        let hosts: [(usize, &str, &[&str]); 5] = [
            (0, "ns0.d0.test", &["192.0.2.1"]),
            (0, "ns0.d1.test", &["192.0.2.2", "2001:db8::1"]),
            (0, "ns0.exta.example", &[]),
            (1, "ns0.d6.test", &["192.0.2.3"]),
            (1, "ns0.extb.example", &[]),
        ];
        for (reg, h, a) in hosts {
            let (code, msg) = self.epp.send(reg, host_create(h, a), Vec::new()).await;
            assert_eq!(code, 1000, "{h}: {msg}");
        }
        let delegations: [(usize, usize, &[usize]); 4] = [
            (0, 0, &[0, 1, 3, 10]),
            (0, 2, &[1, 3]),
            (1, 5, &[1, 3, 8]),
            (1, 7, &[3, 10]),
        ];
        for (reg, d, ns) in delegations {
            let mut u = update(d);
            u.add.ns = ns_list(ns);
            let (code, msg) = self
                .epp
                .send(reg, Command::Domain(DomainCommand::Update(u)), Vec::new())
                .await;
            assert_eq!(code, 1000, "{}: {msg}", dom(d));
        }
        let ds = SecDnsUpdate {
            add: Some(DsOrKeyData::Ds(vec![ds_record(7)])),
            ..SecDnsUpdate::default()
        };
        let (code, _) = self
            .epp
            .send(
                0,
                Command::Domain(DomainCommand::Update(update(0))),
                vec![X::SecDnsUpdate(ds)],
            )
            .await;
        assert_eq!(code, 1000);
        assert!(self.verified("d0.test", RegistryLockCommand::Lock).await);
        assert!(self.verified("d5.test", RegistryLockCommand::Lock).await);
        self.stats = Stats::default();
        self.check().await;
        assert_eq!(self.snapshots.len(), 2, "both locks applied");
        assert!(self.snapshots.values().all(Option::is_some));
    }

    async fn run(&mut self, ops: &[Step]) {
        self.populate().await;
        for op in ops {
            self.step(op).await;
            self.check().await;
        }
    }
}

fn core_config(auto_renew: bool) -> registry_core::Config {
    registry_core::Config {
        tlds: vec!["test".into()],
        auto_renew,
        // The model drives transfers of domains it just created: no transfer locks.
        secure_auth: registry_core::secure_auth::SecureAuthConfig {
            transfer_lock_after_create_days: 0,
            transfer_lock_after_transfer_days: 0,
            ..Default::default()
        },
        ..registry_core::Config::default()
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn start_time() -> epp_proto::Timestamp {
    chrono::DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
        .unwrap()
        .to_utc()
}

// ---------------------------------------------------------------------------------------------
// The property tests

/// Over real TLS: `cases` runs of `ops` random steps each, one fresh database and server per
/// run; auto-renew off in every other run (expiry then deletes, so redemption and purge happen).
fn tls_property(backend: Backend) {
    let cases = env_usize("LOCK_GUARD_CASES", 8);
    let ops = env_usize("LOCK_GUARD_OPS", 260);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let total = Arc::new(std::sync::Mutex::new(Stats::default()));
    let case_no = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut runner = TestRunner::new(PtConfig {
        cases: cases as u32,
        max_shrink_iters: 16,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let strategy = proptest::collection::vec(step_strategy(), ops..=ops);
    let result = runner.run(&strategy, |sequence| {
        let backend = backend.clone();
        let total = Arc::clone(&total);
        let auto_renew = case_no
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .is_multiple_of(2);
        rt.block_on(async move {
            run_core(
                backend,
                move |_cfg, core| *core = core_config(auto_renew),
                move |env| async move {
                    let a = env.registrar(REGS[0]).await;
                    let b = env.registrar(REGS[1]).await;
                    let sessions = vec![login_all(&env, &a).await, login_all(&env, &b).await];
                    let mut h = Harness {
                        registry: env.registry.clone(),
                        clock: env.clock.clone(),
                        epp: TlsEpp { sessions },
                        fold: Fold::default(),
                        snapshots: BTreeMap::new(),
                        stats: Stats::default(),
                        log: Vec::new(),
                    };
                    h.run(&sequence).await;
                    total.lock().unwrap().add(&h.stats);
                    assert_locked_users_exact(&env.db).await;
                },
            )
            .await;
        });
        Ok(())
    });
    let stats = total.lock().unwrap().clone();
    stats.report(&format!("{backend:?} over TLS"));
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(stats.delegation_changes, 0);
    assert!(
        stats.refused_by_guard > 0,
        "the guard was never reached: the test does not test it"
    );
    assert!(stats.locked_steps > 0);
}

/// The store answers the guard's "which locked domains use this host" from
/// `host.locked_users` when it is 0 (migration 0022): after every sequence it must equal the
/// count of registry-locked domains linking the host. Too low would let a glue change past the
/// guard.
async fn assert_locked_users_exact(db: &registry_store::Db) {
    const WRONG: &str = "SELECT h.name, h.locked_users, (SELECT COUNT(*) FROM domain_ns n \
        JOIN domain d ON d.id = n.domain_id WHERE n.host_id = h.id AND d.registry_locked) AS real \
        FROM host h";
    let rows: Vec<(String, i64, i64)> = match db {
        registry_store::Db::Sqlite(p) => sqlx::query_as(WRONG).fetch_all(p).await.unwrap(),
        registry_store::Db::Postgres(p) => sqlx::query_as(WRONG).fetch_all(p).await.unwrap(),
    };
    let wrong: Vec<_> = rows.iter().filter(|(_, n, real)| n != real).collect();
    assert!(wrong.is_empty(), "host.locked_users out of step: {wrong:?}");
    assert!(!rows.is_empty());
}

#[test]
fn locked_delegations_hold_over_tls_sqlite() {
    tls_property(Backend::Sqlite);
}

#[test]
fn locked_delegations_hold_over_tls_postgres() {
    if let Some(b) = Backend::postgres() {
        tls_property(b);
    }
}

/// The same model through the core with the in-memory store: many more commands per run.
#[test]
fn locked_delegations_hold_in_memory() {
    let cases = env_usize("LOCK_GUARD_MEM_CASES", 24);
    let ops = env_usize("LOCK_GUARD_MEM_OPS", 500);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let total = std::cell::RefCell::new(Stats::default());
    let case_no = std::cell::Cell::new(0usize);
    let mut runner = TestRunner::new(PtConfig {
        cases: cases as u32,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let strategy = proptest::collection::vec(step_strategy(), ops..=ops);
    let result = runner.run(&strategy, |sequence| {
        let auto_renew = case_no.get().is_multiple_of(2);
        case_no.set(case_no.get() + 1);
        rt.block_on(async {
            let clock = ManualClock::new(start_time());
            let registry = Arc::new(Registry::new(
                MemoryStore::new(),
                Arc::new(clock.clone()),
                core_config(auto_renew),
            ));
            let mut h = Harness {
                registry: registry.clone(),
                clock,
                epp: CoreEpp { registry, seq: 0 },
                fold: Fold::default(),
                snapshots: BTreeMap::new(),
                stats: Stats::default(),
                log: Vec::new(),
            };
            h.run(&sequence).await;
            total.borrow_mut().add(&h.stats);
        });
        Ok(())
    });
    let stats = total.borrow().clone();
    stats.report("in memory");
    if let Err(e) = result {
        panic!("{e}");
    }
    assert_eq!(stats.delegation_changes, 0);
    assert!(stats.refused_by_guard > 0);
    // The sequences reach RFC 9154's transfer path (authInfo set, used, refused when wrong,
    // expired or cleared by an earlier transfer), not only its refusals.
    assert!(
        stats.auth_set > 0 && stats.transfers_requested > 0 && stats.transfers_refused_auth > 0,
        "authInfo paths not reached: {stats:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Named regressions: one per path to a locked delegation that does not touch the domain itself

/// Sets up a locked `d0.test` (registrar A) whose delegation uses B's internal host
/// `ns0.d6.test` (under B's unlocked `d6.test`), B's external host `ns0.extb.example` and A's
/// own `ns0.d0.test`; runs `body` over TLS.
async fn with_locked_d0<F, Fut>(backend: Backend, auto_renew: bool, body: F)
where
    F: FnOnce(CoreEnv, Vec<Session>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_core(
        backend,
        move |_cfg, core| *core = core_config(auto_renew),
        move |env| async move {
            let a = env.registrar(REGS[0]).await;
            let b = env.registrar(REGS[1]).await;
            let sessions = vec![login_all(&env, &a).await, login_all(&env, &b).await];
            let mut h = Harness {
                registry: env.registry.clone(),
                clock: env.clock.clone(),
                epp: TlsEpp { sessions },
                fold: Fold::default(),
                snapshots: BTreeMap::new(),
                stats: Stats::default(),
                log: Vec::new(),
            };
            h.populate().await;
            let sessions = std::mem::take(&mut h.epp.sessions);
            let before = objects_zone(env.registry.store()).await.0;
            let registry = env.registry.clone();
            body(env, sessions).await;
            let after = objects_zone(registry.store()).await.0;
            assert_eq!(
                view(&before, "d0.test"),
                view(&after, "d0.test"),
                "d0's delegation moved"
            );
            assert!(view(&after, "d0.test").is_some());
        },
    )
    .await;
}

/// A session with secDNS, rgp and registryLock selected.
async fn login_all(env: &CoreEnv, reg: &Reg) -> Session {
    env.login_with(
        reg,
        &[
            support::SEC_DNS_NS,
            support::RGP_NS,
            epp_proto::ext::registry_lock::NS,
        ],
    )
    .await
}

async fn expect_locked(s: &mut Session, cmd: Command, reason: &str) {
    let r = s.cmd(cmd).await;
    assert_eq!(r.code, 2304, "{}", r.xml);
    assert!(r.xml.contains(reason), "reason {reason:?} in:\n{}", r.xml);
}

fn rename(from: &str, to: &str) -> Command {
    let mut u = host_update(from);
    u.new_name = Some(hn(to));
    Command::Host(HostCommand::Update(u))
}

fn readdress(h: &str, add: &[&str], rem: &[&str]) -> Command {
    let mut u = host_update(h);
    u.add.addrs = add.iter().map(|a| ip(a)).collect();
    u.rem.addrs = rem.iter().map(|a| ip(a)).collect();
    Command::Host(HostCommand::Update(u))
}

/// The hijack the issue describes: another registrar renames the external host a locked
/// domain lists, to a name it controls, without touching the domain.
async fn bug12_other_registrar_renames_external_ns(backend: Backend) {
    with_locked_d0(backend, true, |env, mut s| async move {
        expect_locked(
            &mut s[1],
            rename("ns0.extb.example", "ns9.attacker.example"),
            "used by a registry-locked domain",
        )
        .await;
        let ops = env.history_ops(ObjectRef::Domain("d0.test".into())).await;
        assert!(ops.iter().any(|o| o == "lock:changeRefused"), "{ops:?}");
        // The same answer for the sponsor of the locked domain.
        let r = s[0]
            .cmd(rename("ns0.extb.example", "ns9.attacker.example"))
            .await;
        assert_eq!(r.code, 2201, "not A's host: {}", r.xml);
    })
    .await;
}

/// Glue through a sibling: B moves the addresses of its internal host under its own unlocked
/// domain, which the locked domain uses.
async fn bug12_sibling_glue_readdressed(backend: Backend) {
    with_locked_d0(backend, true, |_env, mut s| async move {
        expect_locked(
            &mut s[1],
            readdress("ns0.d6.test", &["198.51.100.66"], &["192.0.2.3"]),
            "used by a registry-locked domain",
        )
        .await;
        expect_locked(
            &mut s[1],
            readdress("ns0.d6.test", &["198.51.100.66"], &[]),
            "used by a registry-locked domain",
        )
        .await;
        // Renaming it out of the TLD drops its glue: refused too.
        expect_locked(
            &mut s[1],
            rename("ns0.d6.test", "ns0.out.example"),
            "used by a registry-locked domain",
        )
        .await;
        // A status change moves no delegation: allowed.
        let mut u = host_update("ns0.d6.test");
        u.add
            .statuses
            .push(StatusEntry::new(HostStatus::ClientDeleteProhibited));
        s[1].cmd(Command::Host(HostCommand::Update(u))).await.ok();
    })
    .await;
}

/// The superordinate domain of a host the locked domain uses changes hands; the new sponsor
/// then tries to move the host's glue.
async fn bug12_superordinate_transferred_then_host_changed(backend: Backend) {
    with_locked_d0(backend, true, |_env, mut s| async move {
        let t = |op| {
            Command::Domain(DomainCommand::Transfer(DomainTransfer {
                op,
                name: hn("d6.test"),
                period: None,
                auth_info: Some(auth(PWS[0])),
            }))
        };
        s[0].cmd(t(TransferOp::Request)).await.expect(1001);
        s[1].cmd(t(TransferOp::Approve)).await.ok();
        // ns0.d6.test moved to A with its domain; A is d0's sponsor, and still may not.
        expect_locked(
            &mut s[0],
            readdress("ns0.d6.test", &["198.51.100.7"], &["192.0.2.3"]),
            "used by a registry-locked domain",
        )
        .await;
    })
    .await;
}

/// The clock: the superordinate domain of a host a locked domain uses expires (auto-renew off),
/// goes through redemption and would be purged with its host. The purge is held; the name
/// stays registered (pendingDelete), both sponsors are told.
async fn bug12_purge_of_superordinate_is_held(backend: Backend) {
    with_locked_d0(backend, false, |env, mut s| async move {
        // 1 year to expiry, 30 days redemption, 5 days pendingDelete.
        for _ in 0..5 {
            env.advance_days(90).await;
        }
        let r = s[1].cmd(domain_info("d6.test", None)).await.ok();
        assert!(
            r.domain_info()
                .statuses
                .iter()
                .any(|x| x.status == DS::PendingDelete),
            "{}",
            r.xml
        );
        let ops = env.history_ops(ObjectRef::Domain("d6.test".into())).await;
        assert!(ops.iter().any(|o| o == "rgp:purgeHeld"), "{ops:?}");
        assert!(!ops.iter().any(|o| o == "rgp:purge"), "{ops:?}");
        // Nobody can register the name meanwhile.
        let r = s[0].cmd(domain_create("d6.test", "ca1", &[], PWS[0])).await;
        assert_eq!(r.code, 2302, "{}", r.xml);
        let r = s[1].cmd(Command::Poll(Poll::Request)).await;
        assert_eq!(r.code, 1301);
        // And the locked domain itself was renewed, not deleted, at its expiry.
        let d0 = s[0].cmd(domain_info("d0.test", None)).await.ok();
        assert!(
            !d0.domain_info()
                .statuses
                .iter()
                .any(|x| x.status == DS::PendingDelete),
            "{}",
            d0.xml
        );
    })
    .await;
}

/// An operator's registry-admin action is no way around the lock either.
async fn bug12_operator_actions_refused(backend: Backend) {
    with_locked_d0(backend, true, |env, _s| async move {
        let r = env
            .registry
            .set_server_statuses(&ObjectRef::Domain("d0.test".into()), &["serverHold"], &[])
            .await;
        assert!(
            matches!(r, Err(registry_core::CoreError::RegistryLocked { .. })),
            "{r:?}"
        );
        // Removing the lock's statuses by hand does not release the lock's hold.
        env.registry
            .set_server_statuses(
                &ObjectRef::Domain("d0.test".into()),
                &[],
                &["serverUpdateProhibited"],
            )
            .await
            .unwrap();
        env.registry
            .set_server_statuses(
                &ObjectRef::Host("ns0.d0.test".into()),
                &[],
                &["serverUpdateProhibited"],
            )
            .await
            .unwrap();
        let r = env
            .registry
            .registry_delete_domain(OPERATOR, "d6.test", "court order", true)
            .await;
        assert!(
            matches!(r, Err(registry_core::CoreError::RegistryLocked { .. })),
            "purging a superordinate of a locked delegation's host: {r:?}"
        );
    })
    .await;
}

/// The sponsor itself, with the lock's statuses removed by hand: the guard still holds.
async fn bug12_statuses_removed_guard_still_holds(backend: Backend) {
    with_locked_d0(backend, true, |env, mut s| async move {
        for o in [
            ObjectRef::Domain("d0.test".into()),
            ObjectRef::Host("ns0.d0.test".into()),
        ] {
            env.registry
                .set_server_statuses(&o, &[], &["serverUpdateProhibited"])
                .await
                .unwrap();
        }
        let mut u = update(0);
        u.rem.ns = ns_list(&[10]);
        expect_locked(
            &mut s[0],
            Command::Domain(DomainCommand::Update(u)),
            "domain is registry-locked",
        )
        .await;
        expect_locked(
            &mut s[0],
            readdress("ns0.d0.test", &["198.51.100.1"], &[]),
            "used by a registry-locked domain",
        )
        .await;
        let mut u = update(0);
        u.add.statuses.push(StatusEntry::new(DS::ClientHold));
        expect_locked(
            &mut s[0],
            Command::Domain(DomainCommand::Update(u)),
            "domain is registry-locked",
        )
        .await;
        // What moves no delegation still works: a contact change.
        let mut u = update(0);
        u.chg = Some(DomainChg {
            registrant: None,
            auth_info: Some(AuthInfoChange::Set(auth("new-secret"))),
        });
        s[0].cmd(Command::Domain(DomainCommand::Update(u)))
            .await
            .ok();
    })
    .await;
}

/// A verified unlock releases the hold; the relock of a timed unlock holds the new delegation.
async fn bug12_unlock_and_timed_relock(backend: Backend) {
    run_core(
        backend,
        |_cfg, core| *core = core_config(true),
        |env| async move {
            let a = env.registrar(REGS[0]).await;
            let b = env.registrar(REGS[1]).await;
            let sessions = vec![login_all(&env, &a).await, login_all(&env, &b).await];
            let mut h = Harness {
                registry: env.registry.clone(),
                clock: env.clock.clone(),
                epp: TlsEpp { sessions },
                fold: Fold::default(),
                snapshots: BTreeMap::new(),
                stats: Stats::default(),
                log: Vec::new(),
            };
            h.populate().await;
            let unlock = RegistryLockCommand::Unlock {
                duration: Some(UnlockDuration::from_secs(3600).unwrap()),
            };
            assert!(h.verified("d0.test", unlock).await);
            h.check().await;
            assert!(!h.snapshots.contains_key("d0.test"), "unlocked");
            let (code, msg) = h
                .epp
                .send(
                    1,
                    rename("ns0.extb.example", "ns1.extb.example"),
                    Vec::new(),
                )
                .await;
            assert_eq!(code, 1000, "unlocked: the change goes through: {msg}");
            env.advance_days(1).await;
            h.check().await;
            assert!(h.snapshots.contains_key("d0.test"), "relocked");
            let (code, msg) = h
                .epp
                .send(
                    1,
                    rename("ns1.extb.example", "ns0.extb.example"),
                    Vec::new(),
                )
                .await;
            assert_eq!(code, 2304, "{msg}");
            h.check().await;
        },
    )
    .await;
}

both_backends!(
    bug12_other_registrar_renames_external_ns,
    bug12_sibling_glue_readdressed,
    bug12_superordinate_transferred_then_host_changed,
    bug12_purge_of_superordinate_is_held,
    bug12_operator_actions_refused,
    bug12_statuses_removed_guard_still_holds,
    bug12_unlock_and_timed_relock,
);
