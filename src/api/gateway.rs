//! `/v1`: the OpenAI-compatible gateway's routes. Plain poem handlers, because
//! the answers are the model servers' own, passed through as they arrive, and
//! the errors are OpenAI's shape: authorise, read `model`, call the gateway,
//! map.

use std::sync::Arc;

use bytes::Bytes;
use mlx_manager_sdk::{ApiError, Principal, authenticate_plain, guard_stream};
use poem::{
    Body, EndpointExt, IntoResponse, Request, Response, Route, get, handler,
    http::{StatusCode, header},
    middleware::AddData,
    post,
    web::Data,
};
use serde_json::json;

use crate::{
    actions,
    gateway::{FORWARDED, GatewayError},
    state::AppState,
};

/// The gateway's routes, to nest at `/v1`.
pub(crate) fn routes() -> Route {
    let mut route = Route::new().at("/models", get(list_models));
    for &path in FORWARDED {
        if let Some(tail) = path.strip_prefix("/v1") {
            route = route.at(tail, post(forward).with(AddData::new(Upstream(path))));
        }
    }
    route
}

/// The upstream path of a forwarded route (one of [`FORWARDED`]).
#[derive(Clone, Copy)]
struct Upstream(&'static str);

/// The caller, allowed to use the gateway.
async fn caller(req: &Request) -> Result<Principal, GatewayError> {
    let principal = authenticate_plain(req).await.map_err(|e| reshape(&e))?;
    principal
        .require(actions::INFERENCE_USE)
        .map_err(|e| GatewayError::Forbidden(e.body().detail.clone()))?;
    Ok(principal)
}

/// An authentication failure in OpenAI's terms.
fn reshape(err: &ApiError) -> GatewayError {
    let detail = err.body().detail.clone();
    match err {
        ApiError::Unauthorized(..) => GatewayError::Unauthenticated(detail),
        ApiError::Forbidden(_) => GatewayError::Forbidden(detail),
        _ => GatewayError::Internal,
    }
}

/// The error as OpenAI's SDKs expect it (401s with `WWW-Authenticate`).
fn failure(err: GatewayError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::builder()
        .status(status)
        .content_type("application/json")
        .body(err.body().to_string());
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    resp
}

/// `GET /v1/models`: the profiles the caller may use, running or not.
#[handler]
async fn list_models(req: &Request, state: Data<&Arc<AppState>>) -> Response {
    let listed = async {
        let principal = caller(req).await?;
        state
            .gateway
            .models(|name| principal.allows_model(name))
            .await
    };
    match listed.await {
        Ok(models) => {
            let data: Vec<_> = models
                .into_iter()
                .map(|m| {
                    json!({"id": m.id, "object": "model", "created": m.created, "owned_by": "mlx-manager"})
                })
                .collect();
            poem::web::Json(json!({"object": "list", "data": data})).into_response()
        }
        Err(e) => failure(e),
    }
}

/// The `model` of a JSON body.
fn model_of(body: &[u8]) -> Result<String, GatewayError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::InvalidRequest(format!("The body is not JSON: {e}")))?;
    match value.get("model") {
        Some(serde_json::Value::String(m)) if !m.trim().is_empty() => Ok(m.trim().to_owned()),
        _ => Err(GatewayError::InvalidRequest(
            "The body must name a `model` (a profile's name or model path)".into(),
        )),
    }
}

/// `POST /v1/chat/completions`, `/v1/completions`, `/v1/embeddings`: the body,
/// unchanged, to the server of the profile its `model` names; the answer as
/// it arrives.
#[handler]
async fn forward(
    req: &Request,
    body: Body,
    upstream: Data<&Upstream>,
    state: Data<&Arc<AppState>>,
) -> Response {
    let forwarded = async {
        // Authenticated before the body is read.
        let principal = caller(req).await?;
        let body: Bytes = body
            .into_bytes()
            .await
            .map_err(|e| GatewayError::InvalidRequest(format!("The body cannot be read: {e}")))?;
        let model = model_of(&body)?;
        let profile = state
            .gateway
            .resolve(&model, |name| principal.allows_model(name))
            .await?;
        let answer = state.gateway.forward(&profile, upstream.0.0, body).await?;
        Ok((principal, answer))
    };
    match forwarded.await {
        Ok((principal, answer)) => {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
            // The answer ends when the caller's credential stops holding.
            let body = guard_stream(principal, actions::INFERENCE_USE, answer.body);
            let mut resp = Response::builder()
                .status(status)
                .body(Body::from_bytes_stream(body));
            if let Some(value) = answer
                .content_type
                .and_then(|t| header::HeaderValue::from_str(&t).ok())
            {
                resp.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            if status == StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer"),
                );
            }
            resp
        }
        Err(e) => failure(e),
    }
}
