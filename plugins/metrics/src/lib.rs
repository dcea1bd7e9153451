//! The metrics plugin: Prometheus series built only from the plugin contract.
//! Requests come from the request hook (route templates, never raw paths),
//! logins, locks, servers and downloads from the event bus, store timings,
//! gateway requests and downloaded bytes from the observers, and gauges
//! (servers by state, users by status...) from the gauge sources, read at
//! each scrape. Nothing here names the core.
//!
//! - `series`: the families and the OpenMetrics text.
//! - `api`: `GET /metrics`, action `metrics.read`.
//! - `config`: `[plugins.metrics] enabled`, `listen`.

pub mod api;
pub mod config;
pub mod series;

use std::sync::{Arc, Mutex, PoisonError};

use mlx_manager_sdk::{
    Action, ActionDecl, Observers, Plugin, PluginContext, PluginError, RequestRecord, Role,
};
use tokio_util::sync::CancellationToken;

use crate::{config::MetricsConfig, series::Series};

/// Read the metrics.
pub const METRICS_READ: Action = Action::new("metrics.read");

/// The series and the gauge sources: what `/metrics` and the listener of
/// its own both serve.
pub struct Exposer {
    series: Arc<Series>,
    observers: Observers,
}

impl Exposer {
    /// The exposition now: every series, with the gauges read from their
    /// sources.
    pub async fn text(&self) -> String {
        let gauges = self.observers.gauges().await;
        self.series.encode(gauges)
    }
}

/// The plugin; its value is in every request's data as `Arc<MetricsPlugin>`.
pub struct MetricsPlugin {
    enabled: bool,
    exposer: Arc<Exposer>,
    stopping: CancellationToken,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl MetricsPlugin {
    /// Whether metrics are kept (`[plugins.metrics] enabled`).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The exposition now (see [`Exposer::text`]).
    pub async fn exposition(&self) -> String {
        self.exposer.text().await
    }
}

/// Count every event until the bus closes.
async fn count_events(
    series: Arc<Series>,
    mut rx: tokio::sync::mpsc::Receiver<Arc<mlx_manager_sdk::Event>>,
) {
    while let Some(event) = rx.recv().await {
        series.event(&event);
    }
}

impl Plugin for MetricsPlugin {
    const NAME: &'static str = "metrics";
    const ACTIONS: &'static [ActionDecl] = &[ActionDecl::new(
        METRICS_READ,
        Role::Operator,
        "read the Prometheus metrics",
    )];
    type Config = MetricsConfig;
    type Api = api::MetricsApi;

    async fn init(config: MetricsConfig, ctx: &mut PluginContext) -> Result<Self, PluginError> {
        let series = Arc::new(Series::default());
        // Its own token, cancelled by the server's: the plugin's shutdown
        // stops its listener without cancelling anything of the core's.
        let stopping = ctx.stopping().child_token();
        let observers = ctx.observers().clone();
        let mut tasks = Vec::new();
        let serving = config.enabled && !ctx.is_offline();
        if serving {
            observers.watch(series.clone());
            let rx = ctx.events().subscribe();
            tasks.push(tokio::spawn(count_events(series.clone(), rx)));
        }
        let exposer = Arc::new(Exposer { series, observers });
        if serving && let Some(address) = config.listen {
            tasks.push(api::listen(address, exposer.clone(), stopping.clone()).await?);
        }
        Ok(Self {
            enabled: config.enabled,
            exposer,
            stopping,
            tasks: Mutex::new(tasks),
        })
    }

    async fn on_request(&self, request: &RequestRecord<'_>) {
        if self.enabled {
            self.exposer.series.request(request);
        }
    }

    async fn status(&self) -> Option<String> {
        (!self.enabled).then(|| "metrics are off ([plugins.metrics] enabled = false)".to_owned())
    }

    async fn shutdown(&self) {
        self.stopping.cancel();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            task.abort();
        }
    }
}

/// The metrics plugin's error codes, in one table.
pub mod codes {
    mlx_manager_sdk::error_codes! {
            /// 404: `[plugins.metrics] enabled = false`.
            METRICS_OFF = "metrics_off";
    }
}
