//! How failed logins slow down guessing (pure): per account (the name tried) and per client
//! address, a number of free failures, then exponential back-off — each further failure in a
//! row blocks the key for twice as long as the one before, from `base` up to `cap`. The counts
//! live in the database (`db::throttle`, table `login_failures`), so a restart keeps them.
//!
//! A wrong password counts against both its account and its address; an unknown API token
//! against its address. While a key is blocked every attempt is refused (429 with
//! `Retry-After`) without the password being checked and without counting, so a correct
//! password does not get in during the back-off and the wait is what the answer says.
//! Addresses are IPv4 addresses or IPv6 /64 networks (one subscriber's), so a client does not
//! escape by walking its own network.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A name that someone tried to log in as (whether or not it exists).
    Account,
    /// A client address.
    Address,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "account" => Some(Scope::Account),
            "address" => Some(Scope::Address),
            _ => None,
        }
    }
}

/// The throttling policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures in a row one account may have before it is blocked.
    pub account_free: u64,
    /// Failures in a row one address may have (over any accounts) before it is blocked; higher
    /// than an account's, since many people share a campus or office address.
    pub address_free: u64,
    /// The first block.
    pub base: Duration,
    /// The longest block.
    pub cap: Duration,
    /// A failure this long after the previous one starts the count again.
    pub window: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            account_free: 5,
            address_free: 30,
            base: Duration::seconds(1),
            cap: Duration::hours(1),
            window: Duration::days(1),
        }
    }
}

impl Policy {
    pub fn free(&self, scope: Scope) -> u64 {
        match scope {
            Scope::Account => self.account_free,
            Scope::Address => self.address_free,
        }
    }

    /// How long a key is blocked after its `failures`-th failure in a row: not at all up to
    /// the free ones, then `base`, `2 × base`, `4 × base` … at most `cap`.
    pub fn delay(&self, scope: Scope, failures: u64) -> Option<Duration> {
        let over = failures.checked_sub(self.free(scope)).filter(|&o| o > 0)?;
        let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(30);
        Some(self.base.checked_mul(1i32 << doublings).map_or(self.cap, |d| d.min(self.cap)))
    }

    /// The failures in a row after one more at `now`, given the count so far and when the last
    /// one was.
    pub fn count(&self, failures: u64, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> u64 {
        match last {
            Some(t) if now - t <= self.window => failures + 1,
            _ => 1,
        }
    }
}

/// Whole seconds until `until`, rounded up, at least 1 (what `Retry-After` says).
pub fn retry_after(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (until - now).num_milliseconds().max(1);
    u64::try_from(ms).unwrap_or(1).div_ceil(1000)
}

/// The key of a client address: an IPv4 address as it is, an IPv6 address as its /64 network
/// (an IPv4-mapped one as the IPv4 address).
pub fn address_key(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return v4.to_string();
            }
            let s = a.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_double_after_the_free_failures_up_to_the_cap() {
        let p = Policy::default();
        let delays: Vec<Option<i64>> = (1..=8).map(|n| p.delay(Scope::Account, n).map(|d| d.num_seconds())).collect();
        assert_eq!(delays, [None, None, None, None, None, Some(1), Some(2), Some(4)]);
        assert_eq!(p.delay(Scope::Account, 16), Some(Duration::seconds(1024)));
        // 2^14 s would be longer than the cap.
        assert_eq!(p.delay(Scope::Account, 20), Some(Duration::hours(1)));
        assert_eq!(p.delay(Scope::Account, 1000), Some(p.cap));
        assert_eq!(p.delay(Scope::Address, 30), None);
        assert_eq!(p.delay(Scope::Address, 31), Some(Duration::seconds(1)));
    }

    #[test]
    fn a_failure_after_the_window_starts_again() {
        let p = Policy::default();
        let t = crate::time::parse("2024-09-02T00:00:00Z").unwrap();
        assert_eq!(p.count(7, Some(t), t + Duration::hours(1)), 8);
        assert_eq!(p.count(7, Some(t), t + Duration::days(2)), 1);
        assert_eq!(p.count(0, None, t), 1);
    }

    #[test]
    fn retry_after_rounds_up() {
        let t = crate::time::parse("2024-09-02T00:00:00Z").unwrap();
        assert_eq!(retry_after(t + Duration::milliseconds(1500), t), 2);
        assert_eq!(retry_after(t, t), 1);
        assert_eq!(retry_after(t + Duration::seconds(8), t), 8);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert_eq!(address_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
