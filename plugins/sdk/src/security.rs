//! The `Authenticator` seam and the security-scheme parameters protected handlers take.
//!
//! A handler that takes [`Auth`] (or [`StreamAuth`] for event streams) only runs for a
//! request whose credential (a login token or an API key, or for streams a
//! ticket) the installed [`Authenticator`] accepted. The checkers fail closed: no
//! authenticator in the request's data means 401.

use std::sync::{Arc, Mutex};

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions, OAuthScopes, SecurityScheme,
    auth::{ApiKey, Bearer},
    registry::Registry,
};

use crate::{Action, ApiError, Principal};

/// The token URL of the OAuth2 password flow (Swagger UI's "Authorize" posts here).
pub const TOKEN_URL: &str = "/api/auth/login";

/// A credential presented by a request (its `Debug` shows the kind only).
#[derive(Clone, Copy)]
pub enum Credential<'a> {
    /// `Authorization: Bearer <value>`: a login token, or an API key
    /// (`mlxm_...`, what OpenAI SDKs send).
    Bearer(&'a str),
    /// An `X-API-Key: <key>` header.
    ApiKey(&'a str),
    /// A single-use stream ticket from `?ticket=`, for `EventSource` clients,
    /// presented on `path` (a ticket is valid on the path it was minted for).
    StreamTicket {
        /// The ticket.
        ticket: &'a str,
        /// The request's path.
        path: &'a str,
    },
}

impl std::fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credential::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            Credential::StreamTicket { path, .. } => {
                write!(f, "StreamTicket {{ ticket: <redacted>, path: {path:?} }}")
            }
        }
    }
}

/// Turns a credential into a [`Principal`] for an approved user, or an error
/// (401 for who-are-you failures). Provided by the authentication plugin.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticate `credential`, presented from the client address `from`. A
    /// stream ticket is consumed by this call.
    async fn authenticate(
        &self,
        credential: Credential<'_>,
        from: Option<std::net::IpAddr>,
    ) -> Result<Principal, ApiError>;

    /// The caller `principal` as the store sees it now, or `None` once its
    /// credential or account was revoked, disabled, deleted or has expired.
    /// Open event streams ask this every few seconds.
    async fn revalidate(&self, principal: &Principal) -> Option<Principal>;
}

/// Where the security checker leaves the authenticated caller for the request
/// hook, so that the hook sees the principal without authenticating twice. The
/// core puts a fresh one in every request's data.
#[derive(Clone, Default, Debug)]
pub struct PrincipalSlot(Arc<Mutex<Option<Principal>>>);

impl PrincipalSlot {
    /// Record the authenticated caller.
    pub fn set(&self, principal: &Principal) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(principal.clone());
    }

    /// The caller, once a checker accepted a credential.
    pub fn get(&self) -> Option<Principal> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The client's address as the core determined it: the socket peer, or, when
/// the peer is a trusted proxy (`server.trusted_proxies`), the first untrusted
/// hop of `X-Forwarded-For`. In every request's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The authenticator installed in the app, put in every request's data by the core.
/// `None` when no plugin installed one: then every protected call is 401.
#[derive(Clone, Default)]
pub struct AuthenticatorHandle(pub Option<Arc<dyn Authenticator>>);

/// The OAuth2 scopes. None is required or enforced: a token grants what its user's
/// role allows (see the `Permissions` table). The one scope exists because an OAuth2
/// flow object must declare a scope map.
#[derive(OAuthScopes)]
pub enum Scopes {
    /// Everything the user's role allows.
    #[oai(rename = "api")]
    Api,
}

/// OAuth2 password flow: Swagger UI's "Authorize" posts the email (as `username`) and
/// password to `/api/auth/login` and sends the returned token as a bearer token.
#[derive(SecurityScheme)]
#[oai(
    rename = "OAuth2PasswordBearer",
    ty = "oauth2",
    flows(password(token_url = "/api/auth/login", scopes = "Scopes")),
    checker = "check_bearer"
)]
pub struct OAuth2Password(pub Principal);

/// A plain `Authorization: Bearer <value>` header: the token from `login`, or an
/// API key (`mlxm_...`), as OpenAI SDKs send it.
#[derive(SecurityScheme)]
#[oai(
    rename = "BearerJWT",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_bearer"
)]
pub struct BearerToken(pub Principal);

/// An API key (`mlxm_<id>_<secret>`, from `POST /api/auth/keys`) in the
/// `X-API-Key` header. It may also be sent as `Authorization: Bearer <key>`.
#[derive(SecurityScheme)]
#[oai(
    rename = "ApiKey",
    ty = "api_key",
    key_in = "header",
    key_name = "X-API-Key",
    checker = "check_api_key"
)]
pub struct ApiKeyHeader(pub Principal);

/// A single-use stream ticket in `?ticket=`, minted by `POST /api/auth/stream-ticket`
/// for one stream path, for clients (such as a browser's `EventSource`) that
/// cannot send headers.
#[derive(SecurityScheme)]
#[oai(
    rename = "StreamTicket",
    ty = "api_key",
    key_in = "query",
    key_name = "ticket",
    checker = "check_ticket"
)]
pub struct StreamTicket(pub Principal);

/// The security parameter of every protected operation: a login token (OAuth2
/// password flow, or a plain bearer header) or an API key (bearer or
/// `X-API-Key`). When both headers are sent, `Authorization` is the one used.
pub struct Auth(Principal);

/// The security parameter of event streams: what [`Auth`] takes, or a stream
/// ticket minted for the stream's path.
pub struct StreamAuth(Principal);

/// How often an open event stream checks that its caller still holds.
pub const REVALIDATE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

impl Auth {
    /// The authenticated caller.
    pub fn principal(&self) -> &Principal {
        &self.0
    }

    /// The caller, when allowed to take `action`; else 403.
    pub fn require(&self, action: Action) -> Result<&Principal, ApiError> {
        self.0.require(action)
    }

    /// The caller, when allowed to take `action` with a login token; else 403
    /// (`login_token_required` for API keys).
    pub fn require_login(&self, action: Action) -> Result<&Principal, ApiError> {
        self.0.require_login(action)
    }
}

impl StreamAuth {
    /// The authenticated caller.
    pub fn principal(&self) -> &Principal {
        &self.0
    }

    /// The caller, when allowed to take `action`; else 403.
    pub fn require(&self, action: Action) -> Result<&Principal, ApiError> {
        self.0.require(action)
    }

    /// `stream`, ended once the caller may no longer take `action`: their
    /// session, key or account revoked, disabled, deleted, expired or demoted
    /// (checked every [`REVALIDATE_EVERY`]).
    pub fn guard<S>(
        &self,
        action: Action,
        stream: S,
    ) -> futures_util::stream::BoxStream<'static, S::Item>
    where
        S: futures_util::Stream + Send + 'static,
    {
        guard_stream(self.0.clone(), action, stream)
    }
}

/// `stream`, ended once `principal` may no longer take `action`: their
/// session, key or account revoked, disabled, deleted, expired or demoted
/// (checked every [`REVALIDATE_EVERY`]). For streams outside the extractors
/// (the gateway's answers).
pub fn guard_stream<S>(
    principal: Principal,
    action: Action,
    stream: S,
) -> futures_util::stream::BoxStream<'static, S::Item>
where
    S: futures_util::Stream + Send + 'static,
{
    use futures_util::StreamExt;
    let revoked = async move {
        let mut tick = tokio::time::interval(REVALIDATE_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            match principal.refreshed().await {
                Some(now) if now.can(action) => {}
                _ => {
                    tracing::info!(user = %principal.user_id(), %action, "ending a stream: its caller's credential no longer holds");
                    return;
                }
            }
        }
    };
    stream.take_until(revoked).boxed()
}

/// Register the schemes an operation accepts, for the document.
fn register_schemes(registry: &mut Registry, ticket: bool) {
    <OAuth2Password as ApiExtractor>::register(registry);
    <BearerToken as ApiExtractor>::register(registry);
    <ApiKeyHeader as ApiExtractor>::register(registry);
    if ticket {
        <StreamTicket as ApiExtractor>::register(registry);
    }
}

fn scheme_names(ticket: bool) -> Vec<&'static str> {
    let mut names = Vec::new();
    names.extend(<OAuth2Password as ApiExtractor>::security_schemes());
    names.extend(<BearerToken as ApiExtractor>::security_schemes());
    names.extend(<ApiKeyHeader as ApiExtractor>::security_schemes());
    if ticket {
        names.extend(<StreamTicket as ApiExtractor>::security_schemes());
    }
    names
}

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry, false);
    }

    fn security_schemes() -> Vec<&'static str> {
        scheme_names(false)
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        authenticate_request(req, false).await.map(Auth)
    }
}

impl<'a> ApiExtractor<'a> for StreamAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_schemes(registry, true);
    }

    fn security_schemes() -> Vec<&'static str> {
        scheme_names(true)
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        authenticate_request(req, true).await.map(StreamAuth)
    }
}

fn not_authenticated() -> ApiError {
    ApiError::unauthorized(crate::codes::NOT_AUTHENTICATED, "Not authenticated")
}

/// Authenticate a request outside poem-openapi's extractors (the gateway's
/// routes): its `Authorization: Bearer` or `X-API-Key` credential, as [`Auth`]
/// does, with the error as an [`ApiError`] for the caller to reshape.
pub async fn authenticate_plain(req: &Request) -> Result<Principal, ApiError> {
    find_and_authenticate(req, false).await
}

/// Find the request's one credential and authenticate it, for an extractor.
async fn authenticate_request(req: &Request, ticket: bool) -> poem::Result<Principal> {
    Ok(find_and_authenticate(req, ticket).await?)
}

/// Find the request's one credential (Authorization, then X-API-Key, then, for
/// streams, `?ticket=`) and authenticate it.
async fn find_and_authenticate(req: &Request, ticket: bool) -> Result<Principal, ApiError> {
    let headers = req.headers();
    if let Some(value) = headers.get(poem::http::header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| not_authenticated())?;
        let (scheme, token) = value.split_once(' ').ok_or_else(not_authenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(not_authenticated());
        }
        return authenticate(req, Credential::Bearer(token.trim())).await;
    }
    if let Some(value) = headers.get("x-api-key") {
        let value = value.to_str().map_err(|_| not_authenticated())?;
        return authenticate(req, Credential::ApiKey(value.trim())).await;
    }
    if ticket {
        #[derive(serde::Deserialize)]
        struct TicketQuery {
            ticket: Option<String>,
        }
        let found = req.params::<TicketQuery>().ok().and_then(|q| q.ticket);
        if let Some(value) = found {
            let path = req.uri().path();
            return authenticate(
                req,
                Credential::StreamTicket {
                    ticket: &value,
                    path,
                },
            )
            .await;
        }
    }
    Err(not_authenticated())
}

async fn authenticate(req: &Request, credential: Credential<'_>) -> Result<Principal, ApiError> {
    let Some(AuthenticatorHandle(Some(authenticator))) = req.data::<AuthenticatorHandle>() else {
        return Err(ApiError::unauthorized(
            crate::codes::NOT_AUTHENTICATED,
            "No authentication method is installed on this server",
        ));
    };
    let from = req.data::<ClientAddress>().map(|c| c.0);
    // The span names the kind of credential only (its Debug is redacted).
    let span = tracing::debug_span!("auth", ?credential, user = tracing::field::Empty);
    let principal =
        tracing::Instrument::instrument(authenticator.authenticate(credential, from), span.clone())
            .await?
            .with_authority(authenticator.clone());
    span.record("user", principal.user_id());
    if let Some(slot) = req.data::<PrincipalSlot>() {
        slot.set(&principal);
    }
    Ok(principal)
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    Ok(authenticate(req, Credential::Bearer(&bearer.token)).await?)
}

async fn check_api_key(req: &Request, key: ApiKey) -> poem::Result<Principal> {
    Ok(authenticate(req, Credential::ApiKey(&key.key)).await?)
}

async fn check_ticket(req: &Request, key: ApiKey) -> poem::Result<Principal> {
    let path = req.uri().path();
    Ok(authenticate(
        req,
        Credential::StreamTicket {
            ticket: &key.key,
            path,
        },
    )
    .await?)
}
