//! The wall clock as a seam: the core and the plugins read the time through
//! [`Clock`] where it decides something (a ticket's or a key's expiry), so a
//! test can move it instead of sleeping.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Where the time comes from.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// A clock, shared.
pub type SharedClock = Arc<dyn Clock>;

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods, reason = "the seam itself")]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told (feature `test-support`).
#[cfg(feature = "test-support")]
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

#[cfg(feature = "test-support")]
impl ManualClock {
    /// A clock at the system's time now.
    #[allow(clippy::disallowed_methods, reason = "the seam itself")]
    pub fn new() -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(Utc::now())))
    }

    /// Move it forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }
}

#[cfg(feature = "test-support")]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
