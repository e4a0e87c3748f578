//! Unit-test support: a fresh PostgreSQL database through the project's `EPP_TEST_PG_URL`.
#![allow(clippy::expect_used)]

use sqlx::Connection;

/// A migrated PostgreSQL database of its own, dropped by [`PgTestDb::remove`].
#[derive(Debug)]
pub struct PgTestDb {
    pub db: registry_store::Db,
    admin_url: String,
    name: String,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl PgTestDb {
    /// `None` when `EPP_TEST_PG_URL` is unset (a failure when `CI=true`).
    pub async fn create() -> Option<PgTestDb> {
        let admin_url = match std::env::var("EPP_TEST_PG_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "CI=true but EPP_TEST_PG_URL is not set: the PostgreSQL test must run in CI"
                );
                eprintln!("SKIP: EPP_TEST_PG_URL not set");
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
        let name = format!("zonegen_t_{}_{nanos}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("EPP_TEST_PG_URL unreachable");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await.ok();
        let db = registry_store::Db::connect(&with_database(&admin_url, &name), 4)
            .await
            .expect("migrated PostgreSQL");
        Some(PgTestDb {
            db,
            admin_url,
            name,
        })
    }

    pub async fn remove(self) {
        self.db.close().await;
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("admin connection");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .expect("DROP DATABASE");
        admin.close().await.ok();
    }
}

/// xorshift64*: reproducible test data without a dependency.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn name(s: &str) -> crate::DnsName {
    crate::DnsName::new(s).expect("valid name")
}

/// A registry that hits every corner of the zone rules at random: duplicates, names out of
/// the zone, holds, in-zone name servers with and without addresses, unsorted and repeated
/// addresses (IPv4, IPv6, IPv4-mapped IPv6), glue at a delegation point, apex glue also
/// used by domains, an apex glue entry without addresses, DS sets with repeats.
pub fn mixed_registry(
    seed: u64,
    count: usize,
) -> (
    crate::ApexConfig,
    Vec<crate::DomainDelegationState>,
    crate::HostAddrs,
) {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let mut rng = Rng(seed | 1);
    let apex = crate::ApexConfig {
        origin: name("tld"),
        mname: name("ns1.nic.tld"),
        rname: name("hostmaster.nic.tld"),
        refresh: 1800,
        retry: 900,
        expire: 604_800,
        minimum: 3600,
        ttl: 3600,
        apex_ns: vec![
            name("ns2.nic.tld"),
            name("ns1.nic.tld"),
            name("ns.example.net"),
            name("ns1.nic.tld"),
        ],
        apex_glue: [
            (
                name("ns1.nic.tld"),
                vec![
                    IpAddr::from([192, 0, 2, 53]),
                    "2001:db8::53".parse().expect("ip"),
                ],
            ),
            (name("ns3.nic.tld"), vec![]),
        ]
        .into_iter()
        .collect(),
    };
    let addr = |rng: &mut Rng| -> IpAddr {
        match rng.below(4) {
            0 | 1 => IpAddr::V4(Ipv4Addr::from(rng.next() as u32)),
            2 => IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                rng.below(3) as u16,
                0,
                rng.below(0x1_0000) as u16,
            )),
            _ => IpAddr::V6(Ipv4Addr::from(rng.next() as u32).to_ipv6_mapped()),
        }
    };
    let mut hosts = crate::HostAddrs::new();
    // ns2.nic.tld: an apex name server known as a host object.
    hosts.insert(name("ns2.nic.tld"), vec![IpAddr::from([192, 0, 2, 54])]);
    for k in 0..count / 4 + 2 {
        let addrs = match rng.below(5) {
            0 => Vec::new(),
            1 => {
                let a = addr(&mut rng);
                vec![a, addr(&mut rng), a]
            }
            _ => (0..1 + rng.below(3)).map(|_| addr(&mut rng)).collect(),
        };
        hosts.insert(name(&format!("ns{}.h{k}.tld", rng.below(3))), addrs);
    }
    // Host objects named like domains: glue at a delegation point when both are used.
    for k in 0..count / 20 + 1 {
        let a = addr(&mut rng);
        hosts.insert(name(&format!("d{}.tld", k * 3)), vec![a]);
    }
    let host_names: Vec<crate::DnsName> = hosts.keys().cloned().collect();
    let mut domains = Vec::with_capacity(count);
    for i in 0..count {
        let label = rng.below(count as u64 * 3 / 4 + 1);
        let d = match rng.below(20) {
            0 => format!("d{label}.example"),
            1 => format!("h{label}.tld"),
            _ => format!("d{label}.tld"),
        };
        let mut ns = Vec::new();
        for _ in 0..rng.below(4) {
            ns.push(match rng.below(7) {
                0 | 1 => name(&format!(
                    "ns{}.provider{}.example",
                    rng.below(2),
                    rng.below(9)
                )),
                2 | 3 => host_names[rng.below(host_names.len() as u64) as usize].clone(),
                4 => name(&format!("ns.{d}")),
                5 => name("ns1.nic.tld"),
                _ => name(&format!("ns.missing{}.tld", rng.below(5))),
            });
        }
        if i % 11 == 0 {
            if let Some(first) = ns.first().cloned() {
                ns.push(first);
            }
        }
        if ns.iter().any(|n| n.as_str() == format!("ns.{d}")) && rng.below(2) == 0 {
            hosts.insert(name(&format!("ns.{d}")), vec![addr(&mut rng)]);
        }
        let mut ds = Vec::new();
        for _ in 0..rng.below(3) {
            let digest: Vec<u8> = (0..[20, 32, 48][rng.below(3) as usize])
                .map(|_| rng.next() as u8)
                .collect();
            let tag = rng.below(65_536) as u16;
            ds.push(crate::Ds::new(tag, 13, 2, digest.clone()).expect("ds"));
            if rng.below(4) == 0 {
                ds.push(crate::Ds::new(tag, 13, 2, digest).expect("ds"));
            }
        }
        domains.push(crate::DomainDelegationState {
            name: name(&d),
            ns,
            ds,
            on_hold: rng.below(15) == 0,
            in_redemption_or_pending_delete: rng.below(20) == 0,
        });
    }
    (apex, domains, hosts)
}
