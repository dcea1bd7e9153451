//! `GET /health` (liveness, no store work) and `GET /ready` (the store answers).

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::{state::AppState, store};

/// A probe's answer.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct ProbeStatus {
    /// `healthy`, `ready` or `unavailable`.
    pub status: String,
}

/// Answers of `GET /ready`.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The store answers.
    #[oai(status = 200)]
    Ready(Json<ProbeStatus>),
    /// The store does not answer.
    #[oai(status = 503)]
    Unavailable(Json<ProbeStatus>),
}

/// Public probes for load balancers and service managers.
#[derive(Default)]
pub struct HealthApi;

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness
    ///
    /// 200 while the process serves requests. Does no store work.
    #[oai(path = "/health", method = "get", operation_id = "getHealth")]
    async fn health(&self) -> Json<ProbeStatus> {
        Json(ProbeStatus {
            status: "healthy".into(),
        })
    }

    /// Readiness
    ///
    /// 200 when the store answers a query within two seconds, else 503.
    #[oai(path = "/ready", method = "get", operation_id = "getReady")]
    async fn ready(&self, state: Data<&Arc<AppState>>) -> ReadyResponse {
        let ping = tokio::time::timeout(std::time::Duration::from_secs(2), store::ping(&state.db));
        if matches!(ping.await, Ok(true)) {
            ReadyResponse::Ready(Json(ProbeStatus {
                status: "ready".into(),
            }))
        } else {
            ReadyResponse::Unavailable(Json(ProbeStatus {
                status: "unavailable".into(),
            }))
        }
    }
}
