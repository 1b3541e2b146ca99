//! Failed logins by source address: an address that failed as often as
//! the limit within a minute is refused, before any SSH is spoken, until
//! its oldest failure is a minute old. What it remembers is bounded, so a
//! flood of addresses cannot grow it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The most addresses remembered at once.
const MAX_ADDRESSES: usize = 10_000;

/// Failed logins of the last minute, by address.
#[derive(Debug)]
pub struct Limiter {
    limit: usize,
    failures: HashMap<IpAddr, VecDeque<Instant>>,
}

impl Limiter {
    /// Refuses an address after `limit` failures within a minute.
    pub fn new(limit: u32) -> Limiter {
        Limiter {
            limit: (limit as usize).max(1),
            failures: HashMap::new(),
        }
    }

    /// Whether `addr` may try to log in at `now`.
    pub fn allows(&mut self, addr: IpAddr, now: Instant) -> bool {
        let Some(failures) = self.failures.get_mut(&addr) else {
            return true;
        };
        forget_before(failures, now);
        if failures.is_empty() {
            self.failures.remove(&addr);
            return true;
        }
        failures.len() < self.limit
    }

    /// Counts a failed login of `addr` at `now`.
    pub fn failed(&mut self, addr: IpAddr, now: Instant) {
        if !self.failures.contains_key(&addr) && self.failures.len() >= MAX_ADDRESSES {
            self.failures.retain(|_, failures| {
                forget_before(failures, now);
                !failures.is_empty()
            });
            if self.failures.len() >= MAX_ADDRESSES {
                // Still full: the address failing least recently goes.
                let stalest = self
                    .failures
                    .iter()
                    .min_by_key(|(_, f)| f.back().copied())
                    .map(|(addr, _)| *addr);
                if let Some(stalest) = stalest {
                    self.failures.remove(&stalest);
                }
            }
        }
        let failures = self.failures.entry(addr).or_default();
        forget_before(failures, now);
        failures.push_back(now);
        while failures.len() > self.limit {
            failures.pop_front();
        }
    }
}

/// Drops the failures older than [`WINDOW`].
fn forget_before(failures: &mut VecDeque<Instant>, now: Instant) {
    while failures
        .front()
        .is_some_and(|at| now.saturating_duration_since(*at) >= WINDOW)
    {
        failures.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_the_limit_until_a_minute_passed() {
        let mut limiter = Limiter::new(3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let start = Instant::now();
        for s in 0..3 {
            assert!(limiter.allows(a, start + Duration::from_secs(s)));
            limiter.failed(a, start + Duration::from_secs(s));
        }
        assert!(!limiter.allows(a, start + Duration::from_secs(10)));
        assert!(
            limiter.allows(b, start + Duration::from_secs(10)),
            "others may"
        );
        // The first failure a minute old: one more try.
        assert!(limiter.allows(a, start + Duration::from_secs(60)));
        assert!(limiter.allows(a, start + Duration::from_secs(200)));
        assert!(limiter.failures.is_empty(), "forgotten");
    }

    #[test]
    fn a_flood_of_addresses_stays_bounded() {
        let mut limiter = Limiter::new(5);
        let now = Instant::now();
        for n in 0..(MAX_ADDRESSES as u32 + 500) {
            limiter.failed(IpAddr::from(n.to_be_bytes()), now);
        }
        assert!(limiter.failures.len() <= MAX_ADDRESSES);
    }
}
