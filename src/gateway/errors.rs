//! The gateway's failures, in the shape OpenAI's SDKs parse:
//! `{"error": {"message", "type", "param", "code"}}` with the HTTP status.

use bytes::Bytes;
use serde_json::json;

/// Why a `/v1` request failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No credentials, or ones that are not valid (401 `invalid_api_key`).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller's role or key does not allow the gateway (403 `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// The caller's key does not list this model (403 `model_not_allowed`).
    #[error("{0}")]
    ModelNotAllowed(String),
    /// No profile is, or several are, this model (404 `model_not_found`).
    #[error("{0}")]
    ModelNotFound(String),
    /// The body is not JSON with a `model` (400 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// The body is larger than `[gateway] max_upload_bytes` (413 `request_too_large`).
    #[error("{0}")]
    TooLarge(String),
    /// A queue is full, a queued request waited too long, or a key is over its
    /// limits (429 `rate_limited`, with `Retry-After`).
    #[error("{message}")]
    RateLimited {
        /// What was over its limit.
        message: String,
        /// Seconds after which a retry may succeed.
        retry_after: u64,
    },
    /// The model's server does not run or does not answer (503 `model_unavailable`).
    #[error("{0}")]
    ModelUnavailable(String),
    /// The model's server did not answer in time (504 `upstream_timeout`).
    #[error("{0}")]
    UpstreamTimeout(String),
    /// The framework refused the request before a route ran: no such route
    /// (404) or method (405); code `invalid_request`.
    #[error("{message}")]
    Route {
        /// The status.
        status: u16,
        /// What was wrong.
        message: String,
    },
    /// The store failed (500; the cause is logged, not sent).
    #[error("Internal server error")]
    Internal,
}

impl GatewayError {
    /// A store failure, logged here.
    pub fn store(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "the gateway cannot read the profiles");
        Self::Internal
    }

    /// A failure to reach `model`'s server.
    pub fn upstream(model: &str, err: &reqwest::Error) -> Self {
        tracing::warn!(model, error = %err, "the model server did not answer");
        if err.is_timeout() {
            Self::UpstreamTimeout(format!("The model `{model}` did not answer in time"))
        } else {
            Self::ModelUnavailable(format!("The model `{model}` is not answering"))
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) | Self::ModelNotAllowed(_) => 403,
            Self::ModelNotFound(_) => 404,
            Self::InvalidRequest(_) => 400,
            Self::TooLarge(_) => 413,
            Self::RateLimited { .. } => 429,
            Self::ModelUnavailable(_) => 503,
            Self::UpstreamTimeout(_) => 504,
            Self::Route { status, .. } => *status,
            Self::Internal => 500,
        }
    }

    /// OpenAI's `code` and `type`.
    fn code_and_type(&self) -> (&'static str, &'static str) {
        match self {
            Self::Unauthenticated(_) => ("invalid_api_key", "invalid_request_error"),
            Self::Forbidden(_) => ("forbidden", "permission_error"),
            Self::ModelNotAllowed(_) => ("model_not_allowed", "permission_error"),
            Self::ModelNotFound(_) => ("model_not_found", "invalid_request_error"),
            Self::InvalidRequest(_) | Self::Route { .. } => {
                ("invalid_request", "invalid_request_error")
            }
            Self::TooLarge(_) => ("request_too_large", "invalid_request_error"),
            Self::RateLimited { .. } => ("rate_limited", "rate_limit_error"),
            Self::ModelUnavailable(_) => ("model_unavailable", "server_error"),
            Self::UpstreamTimeout(_) => ("upstream_timeout", "server_error"),
            Self::Internal => ("internal_error", "server_error"),
        }
    }

    /// Seconds a client should wait before retrying (`Retry-After`), for 429s.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let (code, kind) = self.code_and_type();
        let param =
            matches!(self, Self::ModelNotFound(_) | Self::ModelNotAllowed(_)).then_some("model");
        json!({"error": {"message": self.to_string(), "type": kind, "param": param, "code": code}})
    }
}

/// The event that ends a stream `model`'s server broke off.
pub fn stream_error_event(model: &str) -> Bytes {
    let error = GatewayError::ModelUnavailable(format!(
        "The model `{model}` ended its answer early (its server stopped or failed)"
    ));
    Bytes::from(format!("data: {}\n\n", error.body()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_openai_shaped_with_the_contracts_codes() {
        let cases = [
            (
                GatewayError::Unauthenticated("x".into()),
                401,
                "invalid_api_key",
            ),
            (
                GatewayError::ModelNotAllowed("x".into()),
                403,
                "model_not_allowed",
            ),
            (
                GatewayError::ModelNotFound("x".into()),
                404,
                "model_not_found",
            ),
            (
                GatewayError::ModelUnavailable("x".into()),
                503,
                "model_unavailable",
            ),
            (
                GatewayError::UpstreamTimeout("x".into()),
                504,
                "upstream_timeout",
            ),
            (
                GatewayError::RateLimited {
                    message: "x".into(),
                    retry_after: 3,
                },
                429,
                "rate_limited",
            ),
            (GatewayError::TooLarge("x".into()), 413, "request_too_large"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status);
            let body = err.body();
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["message"], "x");
            assert!(body["error"]["type"].is_string());
        }
        let event = String::from_utf8(stream_error_event("m").to_vec()).expect("utf-8");
        assert!(
            event.starts_with("data: {") && event.ends_with("}\n\n"),
            "{event}"
        );
    }
}
