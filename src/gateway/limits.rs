//! Per-key limits on the gateway: requests per minute (a sliding window) and
//! requests at once, counted by this manager in memory.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use mlx_manager_sdk::KeyScope;

use super::GatewayError;

/// The window of `rpm`.
const MINUTE: Duration = Duration::from_secs(60);
/// Tracked keys beyond which idle ones are forgotten.
const SWEEP_AT: usize = 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
struct KeyUse {
    /// Admission times within the last minute, oldest first.
    recent: VecDeque<Instant>,
    in_flight: u32,
}

/// What each limited key has used.
#[derive(Default)]
pub(crate) struct KeyLimits {
    keys: Mutex<HashMap<String, KeyUse>>,
}

impl KeyLimits {
    /// Admit a request of the key `scope` at `now`, or 429 with the seconds
    /// after which it would be admitted. A key without limits costs nothing.
    pub fn admit(
        self: &Arc<Self>,
        scope: &KeyScope,
        now: Instant,
    ) -> Result<Option<KeyTurn>, GatewayError> {
        if scope.rpm.is_none() && scope.max_concurrent.is_none() {
            return Ok(None);
        }
        let mut keys = lock(&self.keys);
        if keys.len() >= SWEEP_AT {
            // Forget keys with nothing in flight and nothing in the last minute.
            keys.retain(|_, u| {
                u.in_flight > 0
                    || u.recent
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < MINUTE)
            });
        }
        let used = keys.entry(scope.prefix.clone()).or_default();
        while used
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            used.recent.pop_front();
        }
        if let Some(rpm) = scope.rpm
            && used.recent.len() >= rpm as usize
        {
            let oldest = used.recent.front().copied().unwrap_or(now);
            let wait = MINUTE.saturating_sub(now.duration_since(oldest));
            return Err(GatewayError::RateLimited {
                message: format!(
                    "The API key {} may send {rpm} requests a minute; retry later",
                    scope.prefix
                ),
                retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        if let Some(max) = scope.max_concurrent
            && used.in_flight >= max
        {
            return Err(GatewayError::RateLimited {
                message: format!(
                    "The API key {} may have {max} requests in flight at once; retry when one ends",
                    scope.prefix
                ),
                retry_after: 1,
            });
        }
        used.recent.push_back(now);
        used.in_flight += 1;
        Ok(Some(KeyTurn {
            limits: self.clone(),
            prefix: scope.prefix.clone(),
        }))
    }
}

/// A limited key's request in flight, until it drops.
pub(crate) struct KeyTurn {
    limits: Arc<KeyLimits>,
    prefix: String,
}

impl Drop for KeyTurn {
    fn drop(&mut self) {
        let mut keys = lock(&self.limits.keys);
        if let Some(used) = keys.get_mut(&self.prefix) {
            used.in_flight = used.in_flight.saturating_sub(1);
            let now = Instant::now();
            let idle = used.in_flight == 0
                && used
                    .recent
                    .back()
                    .is_none_or(|t| now.duration_since(*t) >= MINUTE);
            if idle {
                keys.remove(&self.prefix);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(rpm: Option<u32>, max_concurrent: Option<u32>) -> KeyScope {
        KeyScope {
            prefix: "mlxm_k".into(),
            actions: None,
            models: None,
            rpm,
            max_concurrent,
        }
    }

    #[test]
    fn rpm_counts_a_sliding_minute_and_says_when_to_retry() {
        let limits = Arc::new(KeyLimits::default());
        let t0 = Instant::now();
        let s = scope(Some(2), None);
        let a = limits.admit(&s, t0).expect("first");
        let b = limits
            .admit(&s, t0 + Duration::from_secs(10))
            .expect("second");
        drop((a, b));
        match limits.admit(&s, t0 + Duration::from_secs(20)) {
            Err(GatewayError::RateLimited { retry_after, .. }) => assert_eq!(retry_after, 40),
            _ => panic!("a third request within the minute is refused"),
        }
        assert!(limits.admit(&s, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn max_concurrent_counts_requests_until_their_guard_drops() {
        let limits = Arc::new(KeyLimits::default());
        let s = scope(None, Some(1));
        let now = Instant::now();
        let first = limits.admit(&s, now).expect("first");
        assert!(limits.admit(&s, now).is_err());
        drop(first);
        assert!(limits.admit(&s, now).is_ok());
        assert!(
            limits
                .admit(&scope(None, None), now)
                .expect("free")
                .is_none(),
            "a key without limits is not tracked"
        );
    }
}
