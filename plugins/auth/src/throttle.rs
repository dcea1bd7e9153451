//! Login throttling (API.md "Login throttling"): failed attempts counted in
//! sliding windows per account and address, per address, and per account, and
//! refused with 429 *before* any password work. An address that logged in to an
//! account in the last 30 days is exempt from that account's account-wide
//! limit, so an attacker can slow guessing down but cannot lock the owner out.
//!
//! The windows live in this manager's memory: a restart forgets them, and
//! several managers count separately (the scale-out issue moves them to the store).

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// `[plugins.auth.throttle]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Off: nothing is counted (benchmarks and test suites that register many
    /// accounts).
    pub enabled: bool,
    /// The sliding window failures are counted in.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Failures of one account from one address.
    pub account_address_failures: usize,
    /// Failures from one address over all accounts (registrations count too).
    pub address_failures: usize,
    /// Failures of one account over all addresses.
    pub account_failures: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(15 * 60),
            account_address_failures: 5,
            address_failures: 20,
            account_failures: 100,
        }
    }
}

/// Counters kept before expired ones are dropped.
const MAX_COUNTERS: usize = 10_000;

/// How long a successful login keeps its address known to the account.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    AccountAddress(String, IpAddr),
    Address(IpAddr),
    Account(String),
}

/// A lock in force, for the admin's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The account, for account locks.
    pub account: Option<String>,
    /// The address, for address locks.
    pub address: Option<IpAddr>,
    /// Failures in the window.
    pub failures: usize,
    /// Seconds until the oldest failure leaves the window.
    pub locked_for: Duration,
}

/// The counters.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
    known: Mutex<HashMap<(String, IpAddr), Instant>>,
}

impl Throttle {
    /// Counters with `config`'s limits.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            failures: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
        }
    }

    fn limit(&self, key: &Key) -> usize {
        match key {
            Key::AccountAddress(..) => self.config.account_address_failures,
            Key::Address(_) => self.config.address_failures,
            Key::Account(_) => self.config.account_failures,
        }
    }

    fn is_known(&self, account: &str, address: IpAddr, now: Instant) -> bool {
        let known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .get(&(account.to_owned(), address))
            .is_some_and(|at| now.duration_since(*at) < KNOWN_FOR)
    }

    /// How long `key` stays locked, if it is.
    fn locked(&self, key: &Key, now: Instant) -> Option<Duration> {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = failures.get_mut(key)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.config.window)
        {
            times.pop_front();
        }
        let limit = self.limit(key);
        (times.len() >= limit && limit > 0).then(|| {
            let oldest = times.front().copied().unwrap_or(now);
            self.config
                .window
                .saturating_sub(now.duration_since(oldest))
        })
    }

    fn keys(account: Option<&str>, address: IpAddr) -> Vec<Key> {
        let mut keys = vec![Key::Address(address)];
        if let Some(account) = account {
            keys.push(Key::AccountAddress(account.to_owned(), address));
            keys.push(Key::Account(account.to_owned()));
        }
        keys
    }

    /// `Err(wait)` when an attempt for `account` (if known) from `address` must
    /// be refused now; checked before any password work.
    pub fn check(&self, account: Option<&str>, address: IpAddr) -> Result<(), Duration> {
        if !self.config.enabled {
            return Ok(());
        }
        let now = Instant::now();
        let mut wait = None::<Duration>;
        for key in Self::keys(account, address) {
            if let Key::Account(a) = &key
                && self.is_known(a, address, now)
            {
                continue;
            }
            if let Some(w) = self.locked(&key, now) {
                wait = Some(wait.map_or(w, |old| old.max(w)));
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Count a failed attempt; `true` when it started a lock.
    pub fn failed(&self, account: Option<&str>, address: IpAddr) -> bool {
        if !self.config.enabled {
            return false;
        }
        let now = Instant::now();
        self.forget_expired(now);
        let mut started = false;
        for key in Self::keys(account, address) {
            let before = self.locked(&key, now).is_some();
            self.failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(key.clone())
                .or_default()
                .push_back(now);
            started |= !before && self.locked(&key, now).is_some();
        }
        started
    }

    /// Drop counters whose failures have all left the window, once there are
    /// many: attempts with ever new usernames must not grow memory for good.
    fn forget_expired(&self, now: Instant) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if failures.len() < MAX_COUNTERS {
            return;
        }
        let window = self.config.window;
        failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) < window)
        });
    }

    /// Count an attempt that only the address budget covers (a registration).
    pub fn counted(&self, address: IpAddr) -> Result<(), Duration> {
        self.check(None, address)?;
        self.failed(None, address);
        Ok(())
    }

    /// A successful login: the address becomes known to the account, and that
    /// pair's failures are forgotten.
    pub fn succeeded(&self, account: &str, address: IpAddr) {
        if !self.config.enabled {
            return;
        }
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((account.to_owned(), address), Instant::now());
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&Key::AccountAddress(account.to_owned(), address));
    }

    /// Every lock in force.
    pub fn locks(&self) -> Vec<Lock> {
        let now = Instant::now();
        let keys: Vec<Key> = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        let mut out = Vec::new();
        for key in keys {
            let Some(wait) = self.locked(&key, now) else {
                continue;
            };
            let failures = self
                .failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&key)
                .map_or(0, VecDeque::len);
            let (account, address) = match key {
                Key::AccountAddress(a, ip) => (Some(a), Some(ip)),
                Key::Address(ip) => (None, Some(ip)),
                Key::Account(a) => (Some(a), None),
            };
            out.push(Lock {
                account,
                address,
                failures,
                locked_for: wait,
            });
        }
        out
    }

    /// Forget the counters of `account` and/or `address` (both: only their pair
    /// and each alone; neither: nothing).
    pub fn clear(&self, account: Option<&str>, address: Option<IpAddr>) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.retain(|key, _| match key {
            Key::AccountAddress(a, ip) => {
                !(account.is_none_or(|x| x == a)
                    && address.is_none_or(|x| x == *ip)
                    && (account.is_some() || address.is_some()))
            }
            Key::Address(ip) => address != Some(*ip),
            Key::Account(a) => account != Some(a.as_str()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_pair_limit_locks_one_account_from_one_address_only() {
        let t = Throttle::new(ThrottleConfig::default());
        for _ in 0..5 {
            assert!(t.check(Some("a@x.com"), ip("1.1.1.1")).is_ok());
            t.failed(Some("a@x.com"), ip("1.1.1.1"));
        }
        let wait = t.check(Some("a@x.com"), ip("1.1.1.1")).expect_err("locked");
        assert!(wait > Duration::from_secs(14 * 60) && wait <= Duration::from_secs(15 * 60));
        assert!(t.check(Some("a@x.com"), ip("2.2.2.2")).is_ok());
        assert!(t.check(Some("b@x.com"), ip("1.1.1.1")).is_ok());
        t.clear(Some("a@x.com"), Some(ip("1.1.1.1")));
        assert!(t.check(Some("a@x.com"), ip("1.1.1.1")).is_ok());
    }

    #[test]
    fn a_known_address_is_exempt_from_the_account_wide_limit() {
        let config = ThrottleConfig {
            account_failures: 3,
            ..ThrottleConfig::default()
        };
        let t = Throttle::new(config);
        t.succeeded("a@x.com", ip("9.9.9.9"));
        for n in 0..3 {
            t.failed(Some("a@x.com"), ip(&format!("1.1.1.{n}")));
        }
        assert!(t.check(Some("a@x.com"), ip("5.5.5.5")).is_err());
        assert!(t.check(Some("a@x.com"), ip("9.9.9.9")).is_ok());
    }

    #[test]
    fn switched_off_nothing_is_counted() {
        let t = Throttle::new(ThrottleConfig {
            enabled: false,
            ..ThrottleConfig::default()
        });
        for _ in 0..50 {
            t.failed(Some("a@x.com"), ip("1.1.1.1"));
        }
        assert!(t.check(Some("a@x.com"), ip("1.1.1.1")).is_ok());
        assert!(t.locks().is_empty());
    }

    #[test]
    fn counters_of_expired_failures_do_not_pile_up() {
        let t = Throttle::new(ThrottleConfig {
            window: Duration::ZERO,
            ..ThrottleConfig::default()
        });
        for n in 0..(MAX_COUNTERS + 10) {
            t.failed(Some(&format!("u{n}@x.com")), ip("1.1.1.1"));
        }
        let kept = t.failures.lock().map(|f| f.len()).unwrap_or(usize::MAX);
        assert!(kept < MAX_COUNTERS, "{kept} counters kept");
    }
}
