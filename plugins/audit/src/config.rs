//! `[plugins.audit]`: how long events are kept and how often old ones are pruned.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The whole `[plugins.audit]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Events older than this are deleted (at least 1 second).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How often old events are looked for (at least 1 second).
    #[serde(with = "humantime_serde")]
    pub prune_interval: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(90 * 24 * 3600),
            prune_interval: Duration::from_secs(3600),
        }
    }
}

impl AuditConfig {
    /// Refuse values that cannot work, naming the key.
    pub fn check(&self) -> Result<(), String> {
        let ten_years = Duration::from_secs(10 * 366 * 24 * 3600);
        if self.retention < Duration::from_secs(1) || self.retention > ten_years {
            return Err("[plugins.audit] retention must be between 1 second and 10 years".into());
        }
        if self.prune_interval < Duration::from_secs(1) || self.prune_interval > ten_years {
            return Err(
                "[plugins.audit] prune_interval must be between 1 second and 10 years".into(),
            );
        }
        Ok(())
    }
}
