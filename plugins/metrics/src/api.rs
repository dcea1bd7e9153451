//! `GET /metrics` (action `metrics.read`, token or key) and the optional
//! listener of its own without authentication (`[plugins.metrics] listen`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use mlx_manager_sdk::{ApiError, Auth, PluginError};
use poem::{EndpointExt, web::Data};
use poem_openapi::{ApiResponse, OpenApi, Tags, payload::PlainText};
use tokio_util::sync::CancellationToken;

use crate::{Exposer, METRICS_READ, MetricsPlugin, codes};

/// The plugin's tag.
#[derive(Tags)]
pub enum MetricsTags {
    /// Prometheus metrics (operators by default, action `metrics.read`).
    Metrics,
}

/// The series, in the OpenMetrics text format.
#[derive(ApiResponse)]
pub enum Exposition {
    /// Every series, in the OpenMetrics text format (which Prometheus asks
    /// for and reads).
    #[oai(
        status = 200,
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    )]
    Text(PlainText<String>),
}

/// The metrics.
#[derive(Default)]
pub struct MetricsApi;

#[OpenApi(tag = "MetricsTags::Metrics")]
impl MetricsApi {
    /// Read the metrics
    ///
    /// Action: `metrics.read` (operators by default), with a login token or an
    /// API key. Every series in the OpenMetrics text format: HTTP requests and
    /// latency by route template, method and status; logins by outcome; users
    /// by status; active keys; throttle locks; servers by state, memory,
    /// starts, restarts and crashes by profile; gateway requests, time to
    /// first byte, tokens, queue depth and requests in flight by profile;
    /// downloaded bytes; store call latency. Errors: 404 `metrics_off` when
    /// `[plugins.metrics] enabled = false`.
    #[oai(path = "/metrics", method = "get", operation_id = "getMetrics")]
    async fn metrics(
        &self,
        auth: Auth,
        plugin: Data<&Arc<MetricsPlugin>>,
    ) -> Result<Exposition, ApiError> {
        auth.require(METRICS_READ)?;
        if !plugin.is_enabled() {
            return Err(ApiError::not_found(
                codes::METRICS_OFF,
                "Metrics are turned off on this server ([plugins.metrics] enabled = false)",
            ));
        }
        Ok(Exposition::Text(PlainText(plugin.exposition().await)))
    }
}

/// Serve `GET /metrics` without authentication on `address` until the server
/// stops. Binding happens now, so an address in use stops start-up.
pub(crate) async fn listen(
    address: SocketAddr,
    exposer: Arc<Exposer>,
    stopping: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, PluginError> {
    let cannot = |e: std::io::Error| {
        PluginError::new(format!(
            "[plugins.metrics] listen: cannot listen on {address}: {e}"
        ))
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(cannot)?;
    let bound = listener.local_addr().map_err(cannot)?;
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).map_err(cannot)?;
    let app = poem::Route::new()
        .at(
            "/metrics",
            poem::get(poem::endpoint::make(move |_| {
                let exposer = exposer.clone();
                async move {
                    poem::Response::builder()
                        .content_type(crate::series::CONTENT_TYPE)
                        .body(exposer.text().await)
                }
            })),
        )
        .with(poem::middleware::SetHeader::new().overriding("cache-control", "no-store"));
    tracing::info!(address = %bound, "metrics listener (no authentication) on /metrics");
    Ok(tokio::spawn(async move {
        let server = poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
            app,
            stopping.cancelled_owned(),
            Some(Duration::from_secs(1)),
        );
        if let Err(e) = server.await {
            tracing::warn!(error = %e, "the metrics listener ended");
        }
    }))
}
