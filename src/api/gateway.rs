//! `/v1`: the OpenAI-compatible gateway's operations. They are in the document
//! like every other operation, but their answers are the model servers' own,
//! passed through as they arrive, and their errors are OpenAI's shape: so the
//! caller, the body and the answer are this module's own extractor, payloads
//! and response rather than the shared ones. Authorise, read the body, call
//! the gateway, map.

use std::{sync::Arc, time::Instant};

use mlx_manager_sdk::{
    ApiError, ApiKeyHeader, BearerToken, OAuth2Password, Principal, authenticate_plain,
    guard_stream,
};
use poem::{
    Body, IntoResponse, Request, Response,
    http::{StatusCode, header},
    web::Data,
};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, OpenApi,
    registry::{
        MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef,
        Registry,
    },
};
use serde_json::json;

use super::ApiTags;
use crate::{
    actions,
    gateway::{Forward, GatewayError},
    state::AppState,
};

/// The gateway's operations, at `/v1`.
#[derive(Default)]
pub struct GatewayApi;

#[OpenApi(tag = "ApiTags::Gateway")]
impl GatewayApi {
    /// List models
    ///
    /// Action: `inference.use`. OpenAI's model list: the profiles the caller
    /// may use (an API key's `models` narrow it), running or not; each `id`
    /// is a profile's name. Errors are OpenAI-shaped: 401 `invalid_api_key`
    /// (with `WWW-Authenticate: Bearer`), 403 `forbidden`.
    #[oai(path = "/v1/models", method = "get", operation_id = "listModels")]
    async fn models(&self, caller: Caller, state: Data<&Arc<AppState>>) -> ModelsAnswer {
        let listed = state
            .gateway
            .models(|name| caller.0.allows_model(name))
            .await;
        match listed {
            Ok(models) => {
                let data: Vec<_> = models
                    .into_iter()
                    .map(|m| {
                        json!({"id": m.id, "object": "model", "created": m.created, "owned_by": "mlx-manager"})
                    })
                    .collect();
                ModelsAnswer(
                    poem::web::Json(json!({"object": "list", "data": data})).into_response(),
                )
            }
            Err(e) => ModelsAnswer(failure(e)),
        }
    }

    /// Create a chat completion
    ///
    /// Action: `inference.use`. Forwarded, unchanged, to the server of the
    /// profile the body's `model` names (a profile's name, or the model path
    /// of exactly one profile the caller may use); `lm` and `multimodal`
    /// profiles. The answer is the server's, passed through as it arrives:
    /// with `"stream": true` a `text/event-stream` forwarded event by event. A
    /// stopped `on_demand` profile is started first; at most `max_concurrency`
    /// requests per profile are forwarded at once, `queue_size` more wait in
    /// arrival order for up to `queue_timeout` seconds. Errors (OpenAI-shaped):
    /// 400 `invalid_request`, 401 `invalid_api_key`, 403 `forbidden` or
    /// `model_not_allowed`, 404 `model_not_found`, 413 `request_too_large`, 429
    /// `rate_limited` with `Retry-After` (a full queue, or an API key's `rpm`
    /// or `max_concurrent`), 503 `model_unavailable`, 504 `upstream_timeout`.
    #[oai(
        path = "/v1/chat/completions",
        method = "post",
        operation_id = "createChatCompletion"
    )]
    async fn chat_completions(
        &self,
        req: &Request,
        caller: Caller,
        body: JsonRequest,
        state: Data<&Arc<AppState>>,
    ) -> Answer {
        forward(req, caller, body.0, Forward::ChatCompletions, &state).await
    }

    /// Create a completion
    ///
    /// Action: `inference.use`. As `POST /v1/chat/completions`, for the legacy
    /// completions route; `lm` and `multimodal` profiles.
    #[oai(
        path = "/v1/completions",
        method = "post",
        operation_id = "createCompletion"
    )]
    async fn completions(
        &self,
        req: &Request,
        caller: Caller,
        body: JsonRequest,
        state: Data<&Arc<AppState>>,
    ) -> Answer {
        forward(req, caller, body.0, Forward::Completions, &state).await
    }

    /// Create embeddings
    ///
    /// Action: `inference.use`. As `POST /v1/chat/completions`, for
    /// `embeddings` (and `lm`, `multimodal`) profiles.
    #[oai(
        path = "/v1/embeddings",
        method = "post",
        operation_id = "createEmbeddings"
    )]
    async fn embeddings(
        &self,
        req: &Request,
        caller: Caller,
        body: JsonRequest,
        state: Data<&Arc<AppState>>,
    ) -> Answer {
        forward(req, caller, body.0, Forward::Embeddings, &state).await
    }

    /// Transcribe audio
    ///
    /// Action: `inference.use`. A `multipart/form-data` upload (`file`,
    /// `model`, and OpenAI's other fields), read up to `[gateway]
    /// max_upload_bytes`, forwarded unchanged to a `whisper` profile's server.
    /// Errors as `POST /v1/chat/completions`.
    #[oai(
        path = "/v1/audio/transcriptions",
        method = "post",
        operation_id = "createTranscription"
    )]
    async fn audio_transcriptions(
        &self,
        req: &Request,
        caller: Caller,
        body: MultipartRequest,
        state: Data<&Arc<AppState>>,
    ) -> Answer {
        forward(req, caller, body.0, Forward::AudioTranscriptions, &state).await
    }

    /// Generate images
    ///
    /// Action: `inference.use`. As `POST /v1/chat/completions`, for
    /// `image-generation` profiles.
    #[oai(
        path = "/v1/images/generations",
        method = "post",
        operation_id = "createImage"
    )]
    async fn image_generations(
        &self,
        req: &Request,
        caller: Caller,
        body: JsonRequest,
        state: Data<&Arc<AppState>>,
    ) -> Answer {
        forward(req, caller, body.0, Forward::ImageGenerations, &state).await
    }

    /// Edit an image
    ///
    /// Action: `inference.use`. A `multipart/form-data` upload (`image`,
    /// `prompt`, `model`, ...) forwarded unchanged to an `image-edit`
    /// profile's server. Errors as `POST /v1/audio/transcriptions`.
    #[oai(
        path = "/v1/images/edits",
        method = "post",
        operation_id = "createImageEdit"
    )]
    async fn image_edits(
        &self,
        req: &Request,
        caller: Caller,
        body: MultipartRequest,
        state: Data<&Arc<AppState>>,
    ) -> Answer {
        forward(req, caller, body.0, Forward::ImageEdits, &state).await
    }
}

/// Read the body (after authentication, up to `[gateway] max_upload_bytes`),
/// hand the request to the gateway, and pass its answer on.
async fn forward(
    req: &Request,
    caller: Caller,
    body: Body,
    route: Forward,
    state: &AppState,
) -> Answer {
    let Caller(principal, arrived) = caller;
    // A key over its limits is refused before its body is read.
    let key = match state.gateway.admit_key(&principal) {
        Ok(key) => key,
        Err(e) => return Answer(failure(e)),
    };
    let limit = state.settings.gateway.max_upload_bytes;
    let body = match body.into_bytes_limit(limit).await {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return Answer(failure(GatewayError::TooLarge(format!(
                "The body is larger than the limit of {limit} bytes"
            ))));
        }
        Err(e) => {
            return Answer(failure(GatewayError::InvalidRequest(format!(
                "The body cannot be read: {e}"
            ))));
        }
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request = crate::gateway::Request {
        principal: &principal,
        key,
        route,
        content_type,
        body,
        arrived,
    };
    match state.gateway.handle(request).await {
        Ok(answer) => {
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
            Answer(resp)
        }
        Err(e) => Answer(failure(e)),
    }
}

/// The caller, authenticated (a login token or an API key, as a bearer or
/// in `X-API-Key`) and allowed `inference.use`; refused in OpenAI's shape.
pub struct Caller(Principal, Instant);

impl<'a> ApiExtractor<'a> for Caller {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <OAuth2Password as ApiExtractor>::register(registry);
        <BearerToken as ApiExtractor>::register(registry);
        <ApiKeyHeader as ApiExtractor>::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        let mut names = <OAuth2Password as ApiExtractor>::security_schemes();
        names.extend(<BearerToken as ApiExtractor>::security_schemes());
        names.extend(<ApiKeyHeader as ApiExtractor>::security_schemes());
        names
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let arrived = Instant::now();
        let principal = authenticate_plain(req)
            .await
            .map_err(|e| poem::Error::from_response(failure(reshape(&e))))?;
        principal.require(actions::INFERENCE_USE).map_err(|e| {
            poem::Error::from_response(failure(GatewayError::Forbidden(e.body().detail.clone())))
        })?;
        Ok(Self(principal, arrived))
    }
}

/// An authentication failure in OpenAI's terms.
fn reshape(err: &ApiError) -> GatewayError {
    let detail = err.body().detail.clone();
    match err {
        ApiError::Unauthorized(..) => GatewayError::Unauthenticated(detail),
        ApiError::Forbidden(_) => GatewayError::Forbidden(detail),
        ApiError::Unavailable(_) => GatewayError::ModelUnavailable(detail),
        _ => GatewayError::Internal,
    }
}

/// Framework errors on `/v1` (no such route or method) in OpenAI's shape too;
/// everything else passes through.
pub(crate) async fn openai_errors<E: poem::Endpoint>(
    ep: E,
    req: Request,
) -> poem::Result<Response> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    match ep.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(e) if path.starts_with(crate::gateway::PREFIX) && !e.is_from_response() => {
            let status = e.status();
            let message = match status {
                StatusCode::NOT_FOUND => format!("There is no route {method} {path}"),
                StatusCode::METHOD_NOT_ALLOWED => format!("{path} does not take {method}"),
                _ => e.to_string(),
            };
            let mut resp = failure(GatewayError::Route {
                status: status.as_u16(),
                message,
            });
            if status.is_server_error() {
                tracing::error!(error = %e, "gateway request failed");
                resp = failure(GatewayError::Internal);
            }
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

/// The error as OpenAI's SDKs expect it (401s with `WWW-Authenticate`, 429s
/// with `Retry-After`).
pub(crate) fn failure(err: GatewayError) -> Response {
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
    if let Some(secs) = err.retry_after() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    resp
}

/// A JSON request body, taken unread (it is read after authentication and
/// forwarded as it is).
pub struct JsonRequest(Body);

/// A `multipart/form-data` request body, taken unread.
pub struct MultipartRequest(Body);

/// The documented shape of a JSON request: a `model` and whatever else the
/// OpenAI route takes, passed on unchanged.
fn json_request_schema() -> MetaSchema {
    let mut schema = MetaSchema::new("object");
    schema.description = Some(
        "An OpenAI request body: `model` (a profile's name or model path) and the route's \
         other fields, forwarded unchanged; `stream: true` asks for a server-sent event stream.",
    );
    schema.required = vec!["model"];
    schema.properties = vec![
        (
            "model",
            string_schema("A profile's name, or the model path of one profile."),
        ),
        ("stream", {
            let mut s = MetaSchema::new("boolean");
            s.description = Some("Answer as a `text/event-stream`, event by event.");
            MetaSchemaRef::Inline(Box::new(s))
        }),
    ];
    schema.additional_properties = Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::ANY))));
    schema
}

fn multipart_request_schema() -> MetaSchema {
    let mut schema = MetaSchema::new("object");
    schema.description = Some(
        "An OpenAI upload: `model` and the route's file (`file` for audio, `image` for edits) \
         with its other fields, forwarded unchanged.",
    );
    schema.required = vec!["model"];
    let binary = MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")));
    schema.properties = vec![
        (
            "model",
            string_schema("A profile's name, or the model path of one profile."),
        ),
        ("file", binary.clone()),
        ("image", binary),
    ];
    schema.additional_properties = Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::ANY))));
    schema
}

fn string_schema(description: &'static str) -> MetaSchemaRef {
    let mut s = MetaSchema::new("string");
    s.description = Some(description);
    MetaSchemaRef::Inline(Box::new(s))
}

const JSON_REQUEST: &str = "GatewayRequest";
const MULTIPART_REQUEST: &str = "GatewayUpload";
const ERROR: &str = "GatewayError";
const MODEL_LIST: &str = "GatewayModelList";

macro_rules! unread_body {
    ($ty:ty, $content_type:literal, $name:expr, $schema:expr) => {
        impl<'a> ApiExtractor<'a> for $ty {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
            type ParamType = ();
            type ParamRawType = ();

            fn register(registry: &mut Registry) {
                registry.create_schema::<Self, _>($name.to_owned(), |_| $schema);
            }

            fn request_meta() -> Option<MetaRequest> {
                Some(MetaRequest {
                    description: None,
                    content: vec![MetaMediaType {
                        content_type: $content_type,
                        schema: MetaSchemaRef::Reference($name.to_owned()),
                    }],
                    required: true,
                })
            }

            async fn from_request(
                _req: &'a Request,
                body: &mut poem::RequestBody,
                _param_opts: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                Ok(Self(body.take()?))
            }
        }
    };
}

unread_body!(
    JsonRequest,
    "application/json",
    JSON_REQUEST,
    json_request_schema()
);
unread_body!(
    MultipartRequest,
    "multipart/form-data",
    MULTIPART_REQUEST,
    multipart_request_schema()
);

/// OpenAI's error object, for the document.
fn error_schema() -> MetaSchema {
    let mut detail = MetaSchema::new("object");
    detail.required = vec!["message", "type", "code"];
    let mut param = MetaSchema::new("string");
    param.nullable = true;
    param.description = Some("The request field at fault (`model`), or null.");
    detail.properties = vec![
        (
            "message",
            string_schema("A sentence saying what went wrong."),
        ),
        (
            "type",
            string_schema(
                "OpenAI's error type (`invalid_request_error`, `rate_limit_error`, ...).",
            ),
        ),
        ("param", MetaSchemaRef::Inline(Box::new(param))),
        (
            "code",
            string_schema(
                "`invalid_api_key`, `forbidden`, `model_not_allowed`, `model_not_found`, `invalid_request`, `request_too_large`, `rate_limited`, `model_unavailable`, `upstream_timeout` or `internal_error`.",
            ),
        ),
    ];
    let mut schema = MetaSchema::new("object");
    schema.description = Some("An error, in the shape OpenAI's SDKs parse.");
    schema.required = vec!["error"];
    schema.properties = vec![("error", MetaSchemaRef::Inline(Box::new(detail)))];
    schema
}

/// OpenAI's model list, for the document.
fn model_list_schema() -> MetaSchema {
    let mut model = MetaSchema::new("object");
    model.required = vec!["id", "object", "created", "owned_by"];
    model.properties = vec![
        ("id", string_schema("The profile's name.")),
        ("object", string_schema("`model`.")),
        (
            "created",
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("integer", "int64"))),
        ),
        ("owned_by", string_schema("`mlx-manager`.")),
    ];
    let mut data = MetaSchema::new("array");
    data.items = Some(Box::new(MetaSchemaRef::Inline(Box::new(model))));
    let mut schema = MetaSchema::new("object");
    schema.required = vec!["object", "data"];
    schema.properties = vec![
        ("object", string_schema("`list`.")),
        ("data", MetaSchemaRef::Inline(Box::new(data))),
    ];
    schema
}

/// A forwarded route's answer: the model server's own (status, content type
/// and body passed through), or an OpenAI-shaped error.
pub struct Answer(Response);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for Answer {
    fn meta() -> MetaResponses {
        let any = || MetaSchemaRef::Inline(Box::new(MetaSchema::ANY));
        let ok = MetaResponse {
            description: "The model server's answer: JSON, or with `stream: true` a `text/event-stream` of `data: <chunk>` events ending with `data: [DONE]`.",
            status: Some(200),
            status_range: None,
            content: vec![
                MetaMediaType {
                    content_type: "application/json",
                    schema: any(),
                },
                MetaMediaType {
                    content_type: "text/event-stream",
                    schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                },
            ],
            headers: vec![],
        };
        let mut responses = vec![ok];
        responses.extend(error_responses(FORWARD_ERRORS.iter()));
        responses.push(MetaResponse {
            description: "Any other status is the model server's own answer, passed through.",
            status: None,
            status_range: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: any(),
            }],
            headers: vec![],
        });
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<ErrorSchema, _>(ERROR.to_owned(), |_| error_schema());
    }
}

/// The answer of `GET /v1/models`: OpenAI's model list, or an error.
pub struct ModelsAnswer(Response);

impl IntoResponse for ModelsAnswer {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for ModelsAnswer {
    fn meta() -> MetaResponses {
        let mut responses = vec![MetaResponse {
            description: "The profiles the caller may use, as OpenAI's model list.",
            status: Some(200),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: MetaSchemaRef::Reference(MODEL_LIST.to_owned()),
            }],
            headers: vec![],
        }];
        let auth_only = FORWARD_ERRORS
            .iter()
            .filter(|(s, _)| matches!(s, 401 | 403));
        responses.extend(error_responses(auth_only));
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<ErrorSchema, _>(ERROR.to_owned(), |_| error_schema());
        registry
            .create_schema::<ModelListSchema, _>(MODEL_LIST.to_owned(), |_| model_list_schema());
    }
}

/// The gateway's own error statuses, documented with OpenAI's error object.
const FORWARD_ERRORS: &[(u16, &str)] = &[
    (
        400,
        "`invalid_request`: no `model`, a body that is not JSON or multipart, or a profile of another type.",
    ),
    (
        401,
        "`invalid_api_key`: no credential, or one that is not valid (with `WWW-Authenticate: Bearer`).",
    ),
    (
        403,
        "`forbidden` (the role lacks `inference.use`) or `model_not_allowed` (the API key's `models`).",
    ),
    (
        404,
        "`model_not_found`: no profile, or several, is this model.",
    ),
    (
        413,
        "`request_too_large`: larger than `[gateway] max_upload_bytes`.",
    ),
    (
        429,
        "`rate_limited`: the profile's queue is full or the wait exceeded `queue_timeout`, or the key is over `rpm` or `max_concurrent`; `Retry-After` says when to retry.",
    ),
    (
        503,
        "`model_unavailable`: the server does not run (and the profile is not `on_demand`), could not start, or does not answer.",
    ),
    (
        504,
        "`upstream_timeout`: the server sent no answer within 10 minutes.",
    ),
];

fn error_responses<'a>(
    table: impl IntoIterator<Item = &'a (u16, &'static str)>,
) -> Vec<MetaResponse> {
    table
        .into_iter()
        .map(|&(status, description)| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: MetaSchemaRef::Reference(ERROR.to_owned()),
            }],
            headers: vec![],
        })
        .collect()
}

/// Registry keys of the documented schemas.
struct ErrorSchema;
struct ModelListSchema;
