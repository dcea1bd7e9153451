//! Login throttling (API.md "Login throttling"): failed attempts counted in
//! sliding windows per account and address, per address, and per account, and
//! refused with 429 *before* any password work. An address that logged in to an
//! account in the last 30 days is exempt from that account's account-wide
//! limit, so an attacker can slow guessing down but cannot lock the owner out.
//!
//! On an embedded store the windows live in this manager's memory
//! ([`Counters`]; a restart forgets them). On a store several managers share
//! they live in the store (`login_failure`, `login_known`), so that every
//! manager counts every failure: an attacker gets one budget, not one per
//! manager.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{Db, store::bounded};
use serde::{Deserialize, Serialize};
use surrealdb::types::SurrealValue;

use crate::error::AuthError;

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

/// The counters in this manager's memory.
#[derive(Debug)]
pub struct Counters {
    config: ThrottleConfig,
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
    known: Mutex<HashMap<(String, IpAddr), Instant>>,
}

impl Counters {
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

/// The auth plugin's migration 5: the throttle's tables (used when the store
/// is shared).
pub const MIGRATION_SQL: &str = "
DEFINE TABLE login_failure SCHEMAFULL;
DEFINE FIELD key ON login_failure TYPE string;
DEFINE FIELD kind ON login_failure TYPE string ASSERT $value IN ['pair', 'address', 'account'];
DEFINE FIELD account ON login_failure TYPE option<string>;
DEFINE FIELD address ON login_failure TYPE option<string>;
DEFINE FIELD at ON login_failure TYPE datetime;
DEFINE INDEX login_failure_key ON login_failure FIELDS key, at;
DEFINE INDEX login_failure_at ON login_failure FIELDS at;
DEFINE TABLE login_known SCHEMAFULL;
DEFINE FIELD at ON login_known TYPE datetime;
";

impl Key {
    /// The key as stored, with its kind, account and address.
    fn parts(&self) -> (String, &'static str, Option<String>, Option<String>) {
        match self {
            Key::AccountAddress(a, ip) => (
                format!("pair {a} {ip}"),
                "pair",
                Some(a.clone()),
                Some(ip.to_string()),
            ),
            Key::Address(ip) => (
                format!("address {ip}"),
                "address",
                None,
                Some(ip.to_string()),
            ),
            Key::Account(a) => (format!("account {a}"), "account", Some(a.clone()), None),
        }
    }

    fn from_parts(kind: &str, account: Option<String>, address: Option<&str>) -> Option<Self> {
        let ip = address.and_then(|a| a.parse::<IpAddr>().ok());
        match (kind, account, ip) {
            ("pair", Some(a), Some(ip)) => Some(Key::AccountAddress(a, ip)),
            ("address", _, Some(ip)) => Some(Key::Address(ip)),
            ("account", Some(a), _) => Some(Key::Account(a)),
            _ => None,
        }
    }
}

/// One counted failure in the store.
#[derive(Debug, SurrealValue)]
struct Failure {
    key: String,
    kind: String,
    account: Option<String>,
    address: Option<String>,
    at: DateTime<Utc>,
}

/// A failure to count, before the store stamps it.
#[derive(Debug, SurrealValue)]
struct NewFailure {
    key: String,
    kind: String,
    account: Option<String>,
    address: Option<String>,
}

/// Login throttling: [`Counters`] in memory, or the store's when several
/// managers share it. A store that cannot answer fails the attempt (503),
/// never lets it through uncounted.
pub struct Throttle {
    config: ThrottleConfig,
    memory: Counters,
    store: Option<Db>,
}

impl Throttle {
    /// Counters with `config`'s limits, kept in `store` when it is given (a
    /// store other managers share), else in memory.
    pub fn new(config: ThrottleConfig, store: Option<Db>) -> Self {
        Self {
            memory: Counters::new(config.clone()),
            config,
            store,
        }
    }

    fn enabled_store(&self) -> Option<&Db> {
        self.store.as_ref().filter(|_| self.config.enabled)
    }

    /// `Err(Throttled(wait))` when an attempt for `account` (if known) from
    /// `address` must be refused now; checked before any password work.
    pub async fn check(&self, account: Option<&str>, address: IpAddr) -> Result<(), AuthError> {
        let Some(db) = self.enabled_store() else {
            return self
                .memory
                .check(account, address)
                .map_err(AuthError::Throttled);
        };
        let keys = Counters::keys(account, address);
        let (failures, known, now) = read_window(db, &self.config, &keys, account, address).await?;
        let mut wait = None::<Duration>;
        for key in keys {
            if matches!(key, Key::Account(_)) && known {
                continue;
            }
            if let Some(w) = self.locked(&key, &failures, now) {
                wait = Some(wait.map_or(w, |old| old.max(w)));
            }
        }
        wait.map_or(Ok(()), |w| Err(AuthError::Throttled(w)))
    }

    /// How long `key` stays locked by `failures` (oldest first), if it is.
    fn locked(&self, key: &Key, failures: &[Failure], now: DateTime<Utc>) -> Option<Duration> {
        let name = key.parts().0;
        let oldest = of(&name, failures).next()?.at;
        let limit = self.memory.limit(key);
        (of(&name, failures).count() >= limit && limit > 0).then(|| {
            let age = (now - oldest).to_std().unwrap_or_default();
            self.config.window.saturating_sub(age)
        })
    }

    /// Count a failed attempt; `true` when it started a lock.
    pub async fn failed(&self, account: Option<&str>, address: IpAddr) -> Result<bool, AuthError> {
        let Some(db) = self.enabled_store() else {
            return Ok(self.memory.failed(account, address));
        };
        let keys = Counters::keys(account, address);
        let rows: Vec<NewFailure> = keys
            .iter()
            .map(|k| {
                let (key, kind, account, address) = k.parts();
                NewFailure {
                    key,
                    kind: kind.to_owned(),
                    account,
                    address,
                }
            })
            .collect();
        bounded(
            db.query(
                "DELETE login_failure WHERE at < time::now() - duration::from_secs($window);
                 FOR $row IN $rows {
                     CREATE login_failure CONTENT {
                         key: $row.key, kind: $row.kind, account: $row.account,
                         address: $row.address, at: time::now()
                     };
                 };",
            )
            .bind(("window", window_secs(&self.config)))
            .bind(("rows", rows))
            .into_future(),
        )
        .await?
        .check()?;
        let (failures, _, _) = read_window(db, &self.config, &keys, account, address).await?;
        // A lock started when this failure reached a limit exactly.
        Ok(keys.iter().any(|key| {
            let limit = self.memory.limit(key);
            limit > 0 && of(&key.parts().0, &failures).count() == limit
        }))
    }

    /// Count an attempt that only the address budget covers (a registration).
    pub async fn counted(&self, address: IpAddr) -> Result<(), AuthError> {
        self.check(None, address).await?;
        self.failed(None, address).await?;
        Ok(())
    }

    /// A successful login: the address becomes known to the account, and that
    /// pair's failures are forgotten.
    pub async fn succeeded(&self, account: &str, address: IpAddr) -> Result<(), AuthError> {
        let Some(db) = self.enabled_store() else {
            self.memory.succeeded(account, address);
            return Ok(());
        };
        let pair = Key::AccountAddress(account.to_owned(), address).parts().0;
        bounded(
            db.query(
                "UPSERT type::record('login_known', [$account, $address]) SET at = time::now();
                 DELETE login_failure WHERE key = $pair;",
            )
            .bind(("account", account.to_owned()))
            .bind(("address", address.to_string()))
            .bind(("pair", pair))
            .into_future(),
        )
        .await?
        .check()?;
        Ok(())
    }

    /// Every lock in force.
    pub async fn locks(&self) -> Result<Vec<Lock>, AuthError> {
        let Some(db) = self.enabled_store() else {
            return Ok(self.memory.locks());
        };
        let mut response = bounded(
            db.query(
                "SELECT * FROM login_failure WHERE at > time::now() - duration::from_secs($window)
                 ORDER BY at;
                 RETURN time::now();",
            )
            .bind(("window", window_secs(&self.config)))
            .into_future(),
        )
        .await?;
        let failures: Vec<Failure> = response.take(0)?;
        let now: Option<DateTime<Utc>> = response.take(1)?;
        let now = now.unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for f in &failures {
            if !seen.insert(f.key.clone()) {
                continue;
            }
            let Some(key) = Key::from_parts(&f.kind, f.account.clone(), f.address.as_deref())
            else {
                continue;
            };
            if let Some(wait) = self.locked(&key, &failures, now) {
                out.push(Lock {
                    account: f.account.clone(),
                    address: f.address.as_deref().and_then(|a| a.parse().ok()),
                    failures: of(&f.key, &failures).count(),
                    locked_for: wait,
                });
            }
        }
        Ok(out)
    }

    /// Forget the counters of `account` and/or `address` (both: only their pair
    /// and each alone; neither: nothing).
    pub async fn clear(
        &self,
        account: Option<&str>,
        address: Option<IpAddr>,
    ) -> Result<(), AuthError> {
        let Some(db) = self.enabled_store() else {
            self.memory.clear(account, address);
            return Ok(());
        };
        if account.is_none() && address.is_none() {
            return Ok(());
        }
        bounded(
            db.query(
                "DELETE login_failure WHERE
                    (kind = 'pair' AND ($account = NONE OR account = $account)
                        AND ($address = NONE OR address = $address))
                    OR (kind = 'address' AND $address != NONE AND address = $address)
                    OR (kind = 'account' AND $account != NONE AND account = $account);",
            )
            .bind(("account", account.map(str::to_owned)))
            .bind(("address", address.map(|a| a.to_string())))
            .into_future(),
        )
        .await?
        .check()?;
        Ok(())
    }
}

/// The failures counted under the stored key `name`, oldest first.
fn of<'a>(name: &'a str, failures: &'a [Failure]) -> impl Iterator<Item = &'a Failure> {
    failures.iter().filter(move |f| f.key == name)
}

fn window_secs(config: &ThrottleConfig) -> i64 {
    i64::try_from(config.window.as_secs()).unwrap_or(i64::MAX)
}

/// The failures of `keys` in the window (oldest first), whether `address` is
/// known to `account`, and the store's now.
async fn read_window(
    db: &Db,
    config: &ThrottleConfig,
    keys: &[Key],
    account: Option<&str>,
    address: IpAddr,
) -> Result<(Vec<Failure>, bool, DateTime<Utc>), AuthError> {
    let names: Vec<String> = keys.iter().map(|k| k.parts().0).collect();
    let mut response = bounded(
        db.query(
            "SELECT * FROM login_failure WHERE key IN $keys
                AND at > time::now() - duration::from_secs($window) ORDER BY at;
             RETURN $account != NONE AND (SELECT VALUE at FROM ONLY
                type::record('login_known', [$account, $address])) > time::now() - 30d;
             RETURN time::now();",
        )
        .bind(("keys", names))
        .bind(("window", window_secs(config)))
        .bind(("account", account.map(str::to_owned)))
        .bind(("address", address.to_string()))
        .into_future(),
    )
    .await?;
    let failures: Vec<Failure> = response.take(0)?;
    let known: Option<bool> = response.take(1)?;
    let now: Option<DateTime<Utc>> = response.take(2)?;
    Ok((failures, known.unwrap_or(false), now.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_pair_limit_locks_one_account_from_one_address_only() {
        let t = Counters::new(ThrottleConfig::default());
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
        let t = Counters::new(config);
        t.succeeded("a@x.com", ip("9.9.9.9"));
        for n in 0..3 {
            t.failed(Some("a@x.com"), ip(&format!("1.1.1.{n}")));
        }
        assert!(t.check(Some("a@x.com"), ip("5.5.5.5")).is_err());
        assert!(t.check(Some("a@x.com"), ip("9.9.9.9")).is_ok());
    }

    #[test]
    fn switched_off_nothing_is_counted() {
        let t = Counters::new(ThrottleConfig {
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
        let t = Counters::new(ThrottleConfig {
            window: Duration::ZERO,
            ..ThrottleConfig::default()
        });
        for n in 0..(MAX_COUNTERS + 10) {
            t.failed(Some(&format!("u{n}@x.com")), ip("1.1.1.1"));
        }
        let kept = t.failures.lock().map(|f| f.len()).unwrap_or(usize::MAX);
        assert!(kept < MAX_COUNTERS, "{kept} counters kept");
    }

    /// The store-backed throttle (a shared store), on the real embedded
    /// SurrealDB: the same rules as the counters in memory.
    async fn in_store(config: ThrottleConfig) -> Throttle {
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        db.query(MIGRATION_SQL)
            .await
            .and_then(|r| r.check())
            .expect("schema");
        Throttle::new(config, Some(db))
    }

    fn throttled(result: Result<(), AuthError>) -> bool {
        matches!(result, Err(AuthError::Throttled(_)))
    }

    #[tokio::test]
    async fn in_the_store_the_pair_limit_locks_one_account_from_one_address_only() {
        let t = in_store(ThrottleConfig::default()).await;
        let (a, one) = (Some("a@x.com"), ip("1.1.1.1"));
        let mut started = Vec::new();
        for _ in 0..5 {
            assert!(t.check(a, one).await.is_ok());
            started.push(t.failed(a, one).await.expect("counted"));
        }
        assert_eq!(
            started,
            [false, false, false, false, true],
            "the fifth locks"
        );
        let Err(AuthError::Throttled(wait)) = t.check(a, one).await else {
            panic!("locked");
        };
        assert!(wait > Duration::from_secs(14 * 60) && wait <= Duration::from_secs(15 * 60));
        assert!(t.check(a, ip("2.2.2.2")).await.is_ok());
        assert!(t.check(Some("b@x.com"), one).await.is_ok());
        let locks = t.locks().await.expect("locks");
        assert_eq!(locks.len(), 1, "{locks:?}");
        assert_eq!(locks[0].failures, 5);
        assert_eq!(locks[0].account.as_deref(), a);
        t.clear(a, Some(one)).await.expect("cleared");
        assert!(t.check(a, one).await.is_ok());
        assert!(t.locks().await.expect("locks").is_empty());
    }

    #[tokio::test]
    async fn in_the_store_a_known_address_is_exempt_from_the_account_wide_limit() {
        let t = in_store(ThrottleConfig {
            account_failures: 3,
            ..ThrottleConfig::default()
        })
        .await;
        t.succeeded("a@x.com", ip("9.9.9.9")).await.expect("known");
        for n in 0..3 {
            t.failed(Some("a@x.com"), ip(&format!("1.1.1.{n}")))
                .await
                .expect("counted");
        }
        assert!(throttled(t.check(Some("a@x.com"), ip("5.5.5.5")).await));
        assert!(t.check(Some("a@x.com"), ip("9.9.9.9")).await.is_ok());
        // A registration spends the address budget only.
        let reg = in_store(ThrottleConfig {
            address_failures: 2,
            ..ThrottleConfig::default()
        })
        .await;
        assert!(reg.counted(ip("7.7.7.7")).await.is_ok());
        assert!(reg.counted(ip("7.7.7.7")).await.is_ok());
        assert!(throttled(reg.counted(ip("7.7.7.7")).await));
        assert!(reg.check(Some("c@x.com"), ip("8.8.8.8")).await.is_ok());
    }
}
