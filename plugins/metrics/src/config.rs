//! `[plugins.metrics]`: whether metrics are kept, and an optional listener of
//! their own without authentication.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The whole `[plugins.metrics]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Keep and serve metrics (default true). Off, nothing is observed and
    /// `GET /metrics` is 404.
    pub enabled: bool,
    /// An address for a second listener that serves `GET /metrics` without
    /// authentication (`"127.0.0.1:9464"`); unset (the default), there is none.
    /// Keep it on loopback or a private network: anyone who reaches it reads
    /// the metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: None,
        }
    }
}
