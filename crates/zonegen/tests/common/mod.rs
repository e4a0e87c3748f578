#![allow(dead_code)]
//! Shared test data.

use std::net::IpAddr;

use zonegen::{ApexConfig, DnsName, DomainDelegationState, Ds, HostAddrs};

pub fn n(s: &str) -> DnsName {
    DnsName::new(s).expect("valid name")
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("valid address")
}

pub fn apex() -> ApexConfig {
    ApexConfig {
        origin: n("tld"),
        mname: n("ns1.nic.tld"),
        rname: n("hostmaster.nic.tld"),
        refresh: 1800,
        retry: 900,
        expire: 604_800,
        minimum: 3600,
        ttl: 3600,
        apex_ns: vec![n("ns1.nic.tld"), n("ns2.nic.tld")],
        apex_glue: [
            (n("ns1.nic.tld"), vec![ip("192.0.2.53")]),
            (n("ns2.nic.tld"), vec![ip("192.0.2.54"), ip("2001:db8::54")]),
        ]
        .into_iter()
        .collect(),
    }
}

pub fn dom(name: &str, ns: &[&str]) -> DomainDelegationState {
    DomainDelegationState {
        name: n(name),
        ns: ns.iter().map(|s| n(s)).collect(),
        ds: vec![],
        on_hold: false,
        in_redemption_or_pending_delete: false,
    }
}

pub fn ds(tag: u16) -> Ds {
    Ds::from_hex(
        tag,
        13,
        2,
        "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766",
    )
    .expect("valid DS")
}

/// A small registry exercising every rule.
pub fn sample() -> (Vec<DomainDelegationState>, HostAddrs) {
    let mut signed = dom("signed.tld", &["ns1.signed.tld", "ns.provider.example"]);
    signed.ds = vec![ds(2371), ds(1234)];
    let mut held = dom("held.tld", &["ns.provider.example"]);
    held.on_hold = true;
    let mut deleting = dom("deleting.tld", &["ns.provider.example"]);
    deleting.in_redemption_or_pending_delete = true;
    let domains = vec![
        dom("example.tld", &["ns1.example.tld", "ns2.example.tld"]),
        dom("Bücher.tld", &["ns.provider.example", "ns1.example.tld"]),
        signed,
        held,
        deleting,
        dom("inactive.tld", &[]),
        dom("out.tld", &["a.ns.example.net", "b.ns.example.net"]),
    ];
    let hosts: HostAddrs = [
        (
            n("ns1.example.tld"),
            vec![ip("192.0.2.1"), ip("2001:db8::1")],
        ),
        (n("ns2.example.tld"), vec![ip("192.0.2.2")]),
        (n("ns1.signed.tld"), vec![ip("198.51.100.7")]),
        // Orphan: no delegated domain uses it, so no glue.
        (n("ns9.unused.tld"), vec![ip("198.51.100.9")]),
    ]
    .into_iter()
    .collect();
    (domains, hosts)
}
