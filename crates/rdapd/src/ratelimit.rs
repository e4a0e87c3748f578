//! Per-client rate limiting (GCRA, the `governor` crate): each client address (an IPv6
//! client per prefix, so one host cannot rotate through its /64) gets `requests_per_second`
//! with bursts of `burst`. The state per client is a few bytes, forgotten once idle (the
//! housekeeping task runs every second); if a flood of new addresses still fills the table
//! past `max_clients`, it starts afresh rather than grow.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::{IpNet, Ipv6Net};

use crate::config::RateLimitConfig;

#[derive(Debug)]
pub struct Limiter {
    quota: Option<Quota>,
    limiter: RwLock<Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>>,
    clock: DefaultClock,
    ipv6_prefix_len: u8,
    exempt: Vec<IpNet>,
    max_clients: usize,
}

impl Limiter {
    pub fn new(cfg: &RateLimitConfig) -> Self {
        let quota = NonZeroU32::new(cfg.requests_per_second).map(|rate| {
            let burst = NonZeroU32::new(cfg.burst).unwrap_or(rate);
            Quota::per_second(rate).allow_burst(burst)
        });
        Self {
            quota,
            limiter: RwLock::new(quota.map(|q| Arc::new(RateLimiter::keyed(q)))),
            clock: DefaultClock::default(),
            ipv6_prefix_len: cfg.ipv6_prefix_len,
            exempt: cfg.exempt.clone(),
            max_clients: cfg.max_clients.max(1),
        }
    }

    fn key(&self, ip: IpAddr) -> IpAddr {
        match registry_core::registrar::normalise_ip(ip) {
            IpAddr::V6(v6) => Ipv6Net::new(v6, self.ipv6_prefix_len)
                .map(|n| IpAddr::V6(n.network()))
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        }
    }

    /// `Ok` if `client` may send a query now, else the seconds until it may.
    pub fn check(&self, client: IpAddr) -> Result<(), u64> {
        let Some(l) = self.current() else {
            return Ok(());
        };
        let client = registry_core::registrar::normalise_ip(client);
        if self.exempt.iter().any(|n| n.contains(&client)) {
            return Ok(());
        }
        l.check_key(&self.key(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    fn current(&self) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
        self.limiter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets idle clients; starts afresh if the table is still over `max_clients`.
    pub fn housekeeping(&self) {
        let Some(l) = self.current() else {
            return;
        };
        l.retain_recent();
        l.shrink_to_fit();
        if l.len() >= self.max_clients {
            tracing::warn!(
                clients = l.len(),
                "rate limiter full: forgetting every client"
            );
            if let Some(q) = self.quota {
                *self.limiter.write().unwrap_or_else(|p| p.into_inner()) =
                    Some(Arc::new(RateLimiter::keyed(q)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let l = Limiter::new(&RateLimitConfig {
            requests_per_second: 1,
            burst: 3,
            exempt: vec!["127.0.0.2/32".parse().expect("net")],
            ..RateLimitConfig::default()
        });
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(l.check(a), Ok(()));
        }
        assert_eq!(l.check(a), Err(1));
        assert_eq!(l.check("192.0.2.2".parse().expect("ip")), Ok(()));
        // One IPv6 /64 is one client.
        let p: Vec<IpAddr> = ["2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"]
            .iter()
            .map(|s| s.parse().expect("ip"))
            .collect();
        assert!(p[..3].iter().all(|ip| l.check(*ip).is_ok()));
        assert!(l.check(p[3]).is_err());
        let exempt: IpAddr = "127.0.0.2".parse().expect("ip");
        assert!((0..10).all(|_| l.check(exempt).is_ok()));
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let l = Limiter::new(&RateLimitConfig {
            requests_per_second: 0,
            ..RateLimitConfig::default()
        });
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        assert!((0..1000).all(|_| l.check(a).is_ok()));
    }
}
