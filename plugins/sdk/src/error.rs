//! `ApiError`: the single error response of every operation, `{"detail", "code"}`.

use poem_openapi::{ApiResponse, Object, payload::Json};

/// A stable, machine-readable error code: the `code` of an error body. Codes
/// are declared once, in a crate's table ([`error_codes!`](crate::error_codes!)), so that no handler
/// writes one as a loose string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(&'static str);

impl ErrorCode {
    /// A code (use [`error_codes!`](crate::error_codes!) rather than calling this).
    pub const fn new(code: &'static str) -> Self {
        Self(code)
    }

    /// The code as sent.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Whether the code is snake_case ASCII: lower-case letters and digits
    /// between single underscores, starting with a letter.
    pub fn is_well_formed(self) -> bool {
        let s = self.0;
        s.starts_with(|c: char| c.is_ascii_lowercase())
            && !s.ends_with('_')
            && !s.contains("__")
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Declare a crate's table of error codes: `NAME = "name";` rows with docs,
/// each becoming an [`ErrorCode`] constant, and `ALL` listing them (its tests
/// check that they are well formed and distinct).
#[macro_export]
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal;)*) => {
        $($(#[doc = $doc])* pub const $name: $crate::ErrorCode = $crate::ErrorCode::new($code);)*
        /// Every code of this table.
        pub const ALL: &[$crate::ErrorCode] = &[$($name,)*];
    };
}

/// The codes the SDK itself answers with (and the framework's own failures).
pub mod codes {
    crate::error_codes! {
        /// 400: the request is malformed.
        BAD_REQUEST = "bad_request";
        /// 422: the body is not valid JSON of the operation's schema.
        INVALID_BODY = "invalid_body";
        /// 422: a query or path parameter breaks its rule.
        INVALID_PARAMETER = "invalid_parameter";
        /// 401: no credentials, or credentials that are not valid.
        NOT_AUTHENTICATED = "not_authenticated";
        /// 403: the caller may not do this.
        FORBIDDEN = "forbidden";
        /// 403: this needs a login token, not an API key.
        LOGIN_TOKEN_REQUIRED = "login_token_required";
        /// 404: no such route.
        NOT_FOUND = "not_found";
        /// 405: the route has no such method.
        METHOD_NOT_ALLOWED = "method_not_allowed";
        /// 413: the body is over the limit.
        PAYLOAD_TOO_LARGE = "payload_too_large";
        /// 415: the body is not of a media type the operation takes.
        UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type";
        /// 421: the Host is not one this server answers for.
        HOST_NOT_ALLOWED = "host_not_allowed";
        /// 500: an unexpected failure (the cause is in the log).
        INTERNAL_ERROR = "internal_error";
        /// 503: the store (a SurrealDB server) cannot be reached right now.
        STORE_UNAVAILABLE = "store_unavailable";
    }
}

/// The body of every error response.
///
/// `detail` is a human sentence (clients of the Python project match on some of
/// them); `code` is a stable snake_case identifier that new clients should match on.
#[derive(Object, Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[oai(rename = "ApiError")]
pub struct ErrorBody {
    /// A human-readable sentence saying what went wrong.
    pub detail: String,
    /// A stable, machine-readable snake_case code.
    pub code: String,
}

/// Every failure an operation can answer with. The status of each variant is the
/// status table of the whole API; handlers build them with the constructors below.
///
/// An operation documents all of these statuses; the text of each operation says
/// which ones it really gives.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request is malformed (bad JSON, a missing or mistyped field or parameter).
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No credentials, or bad, expired or revoked ones, or an account that is no
    /// longer approved.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        /// Always `Bearer`.
        #[oai(header = "WWW-Authenticate")]
        String,
    ),
    /// The caller is known but not allowed to do this.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The resource does not exist.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request conflicts with the current state (a duplicate, a running server).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The request body is larger than the configured limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The request body is not of the media type the operation takes (JSON, or
    /// the login form).
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Well-formed input that breaks a business rule.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many attempts (failed logins from this address or for this account):
    /// wait `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        String,
    ),
    /// An unexpected failure; the cause is in the server log, not here.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The server cannot do this on this platform.
    #[oai(status = 501)]
    NotImplemented(Json<ErrorBody>),
    /// An upstream service (such as the Hugging Face Hub) failed.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// A dependency (the store, a service manager) is not available right now.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn body(code: ErrorCode, detail: impl Into<String>) -> Json<ErrorBody> {
    Json(ErrorBody {
        detail: detail.into(),
        code: code.as_str().to_owned(),
    })
}

impl ApiError {
    /// 400 with `code` and a sentence.
    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::BadRequest(body(code, detail))
    }
    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Unauthorized(body(code, detail), "Bearer".to_owned())
    }
    /// 403 with `code` and a sentence.
    pub fn forbidden(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Forbidden(body(code, detail))
    }
    /// 404 with `code` and a sentence.
    pub fn not_found(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::NotFound(body(code, detail))
    }
    /// 409 with `code` and a sentence.
    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Conflict(body(code, detail))
    }
    /// 422 with `code` and a sentence.
    pub fn unprocessable(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Unprocessable(body(code, detail))
    }
    /// 429 with `code`, a sentence and `Retry-After` (whole seconds, at least 1).
    pub fn too_many_requests(
        code: ErrorCode,
        detail: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        Self::TooManyRequests(body(code, detail), retry_after_secs.max(1).to_string())
    }
    /// 501 with `code` and a sentence.
    pub fn not_implemented(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::NotImplemented(body(code, detail))
    }
    /// 502 with `code` and a sentence.
    pub fn bad_gateway(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::BadGateway(body(code, detail))
    }
    /// 503 with `code` and a sentence.
    pub fn unavailable(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Unavailable(body(code, detail))
    }
    /// A store failure: 503 `store_unavailable` with a sentence when the store
    /// cannot be reached (a SurrealDB server that is gone or stalled), else
    /// 500 (the cause logged, never sent).
    pub fn store(err: &surrealdb::Error) -> Self {
        if crate::store::classify(err) == crate::store::StoreFailure::Unreachable {
            tracing::warn!(error = %err, "the store cannot be reached");
            return Self::unavailable(
                codes::STORE_UNAVAILABLE,
                "The store cannot be reached right now; try again in a few seconds",
            );
        }
        Self::internal(err)
    }
    /// 500 "Internal server error". The cause is logged here and never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal(body(codes::INTERNAL_ERROR, "Internal server error"))
    }

    /// The error body, whatever the status.
    pub fn body(&self) -> &ErrorBody {
        match self {
            Self::BadRequest(b)
            | Self::Unauthorized(b, _)
            | Self::Forbidden(b)
            | Self::NotFound(b)
            | Self::Conflict(b)
            | Self::PayloadTooLarge(b)
            | Self::UnsupportedMediaType(b)
            | Self::Unprocessable(b)
            | Self::TooManyRequests(b, _)
            | Self::Internal(b)
            | Self::NotImplemented(b)
            | Self::BadGateway(b)
            | Self::Unavailable(b) => &b.0,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.body();
        write!(f, "{} ({})", b.detail, b.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::IntoResponse;

    #[test]
    fn unauthorized_errors_carry_the_bearer_challenge() {
        let resp = ApiError::unauthorized(codes::NOT_AUTHENTICATED, "nope").into_response();
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.headers().get("www-authenticate").map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
    }

    #[test]
    fn internal_errors_never_show_their_cause() {
        let err = ApiError::internal("secret database detail");
        assert_eq!(err.body().detail, "Internal server error");
        assert_eq!(err.body().code, "internal_error");
    }
}
