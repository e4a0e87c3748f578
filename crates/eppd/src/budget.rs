//! Per-source connection budget, applied at accept time, before the TLS handshake costs CPU:
//! at most `limits.max_connections_per_source` open connections and
//! `limits.handshakes_per_second_per_source` new ones per second (a token bucket holding one
//! second's worth) per source. A source is an IPv4 address, or an IPv6 address's
//! `limits.ipv6_source_prefix` network (one host usually has a whole /64). Connections from
//! trusted PROXY peers are not budgeted here: the peer is a load balancer speaking for many.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::LimitConfig;

/// Entries beyond this many are swept (idle sources with a full bucket) on the next admit.
const SWEEP_AT: usize = 16_384;

/// Why a connection was refused at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The source has `max_connections_per_source` open.
    SourceConnections,
    /// The source opened too many connections in the last second.
    SourceRate,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::SourceConnections => "source_connections",
            Refusal::SourceRate => "source_rate",
        }
    }
}

#[derive(Debug)]
struct Source {
    open: usize,
    tokens: f64,
    last: Instant,
}

/// The budget of every source.
#[derive(Debug)]
pub struct SourceBudget {
    max_open: usize,
    rate: f64,
    v6_prefix: u8,
    sources: Mutex<HashMap<IpAddr, Source>>,
}

/// One admitted connection; gives its slot back when dropped.
#[derive(Debug)]
pub struct SourceSlot {
    budget: Arc<SourceBudget>,
    key: IpAddr,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut sources = self.budget.lock();
        if let Some(s) = sources.get_mut(&self.key) {
            s.open = s.open.saturating_sub(1);
        }
    }
}

/// The source a budget is kept for: the address itself, or its IPv6 network.
pub fn source_key(ip: IpAddr, v6_prefix: u8) -> IpAddr {
    match registry_core::registrar::normalise_ip(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let keep = u32::from(v6_prefix.min(128));
            let mask = if keep == 0 {
                0
            } else {
                u128::MAX << (128 - keep)
            };
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
        v4 => v4,
    }
}

impl SourceBudget {
    pub fn new(limits: &LimitConfig) -> Arc<Self> {
        Arc::new(Self {
            max_open: limits.max_connections_per_source,
            rate: f64::from(limits.handshakes_per_second_per_source.max(1)),
            v6_prefix: limits.ipv6_source_prefix,
            sources: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Source>> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits one new connection from `ip` at `now`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Result<SourceSlot, Refusal> {
        let key = source_key(ip, self.v6_prefix);
        let mut sources = self.lock();
        if sources.len() >= SWEEP_AT {
            let rate = self.rate;
            sources.retain(|_, s| {
                s.open > 0 || s.tokens + now.duration_since(s.last).as_secs_f64() * rate < rate
            });
        }
        let s = sources.entry(key).or_insert(Source {
            open: 0,
            tokens: self.rate,
            last: now,
        });
        s.tokens = (s.tokens + now.duration_since(s.last).as_secs_f64() * self.rate).min(self.rate);
        s.last = now;
        if s.open >= self.max_open {
            return Err(Refusal::SourceConnections);
        }
        if s.tokens < 1.0 {
            return Err(Refusal::SourceRate);
        }
        s.tokens -= 1.0;
        s.open += 1;
        drop(sources);
        Ok(SourceSlot {
            budget: Arc::clone(self),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn budget(max_open: usize, rate: u32) -> Arc<SourceBudget> {
        SourceBudget::new(&LimitConfig {
            max_connections_per_source: max_open,
            handshakes_per_second_per_source: rate,
            ipv6_source_prefix: 64,
            ..LimitConfig::default()
        })
    }

    #[test]
    fn ipv6_sources_are_networks() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(source_key(a, 64), source_key(b, 64));
        assert_ne!(source_key(a, 64), source_key(c, 64));
        assert_eq!(source_key(a, 48), source_key(c, 48));
        assert_ne!(source_key(a, 128), source_key(b, 128));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(
            source_key(mapped, 64),
            "192.0.2.7".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn concurrent_connections_per_source() {
        let b = budget(2, 100);
        let now = Instant::now();
        let x: IpAddr = "192.0.2.1".parse().expect("ip");
        let y: IpAddr = "192.0.2.2".parse().expect("ip");
        let one = b.admit(x, now).expect("one");
        let _two = b.admit(x, now).expect("two");
        assert_eq!(b.admit(x, now).err(), Some(Refusal::SourceConnections));
        assert!(b.admit(y, now).is_ok(), "other sources are not affected");
        drop(one);
        assert!(
            b.admit(x, now).is_ok(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn new_connections_per_second_per_source() {
        let b = budget(100, 3);
        let t0 = Instant::now();
        let x: IpAddr = "192.0.2.1".parse().expect("ip");
        let slots: Vec<_> = (0..3).map(|_| b.admit(x, t0).expect("burst")).collect();
        assert_eq!(b.admit(x, t0).err(), Some(Refusal::SourceRate));
        drop(slots);
        // Closing does not give the rate back; time does, at `rate` per second.
        assert_eq!(b.admit(x, t0).err(), Some(Refusal::SourceRate));
        assert!(b.admit(x, t0 + Duration::from_millis(340)).is_ok());
        assert_eq!(
            b.admit(x, t0 + Duration::from_millis(340)).err(),
            Some(Refusal::SourceRate)
        );
    }
}
