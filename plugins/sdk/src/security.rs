//! The `Authenticator` seam and the security-scheme parameters protected handlers take.
//!
//! A handler that takes [`Auth`] (or [`StreamAuth`] for event streams) only runs for a
//! request whose credential the installed [`Authenticator`] accepted. The checkers
//! fail closed: no authenticator in the request's data means 401.

use std::sync::{Arc, Mutex};

use poem::Request;
use poem_openapi::{
    OAuthScopes, SecurityScheme,
    auth::{ApiKey, Bearer},
};

use crate::{Action, ApiError, Principal};

/// The token URL of the OAuth2 password flow (Swagger UI's "Authorize" posts here).
pub const TOKEN_URL: &str = "/api/auth/login";

/// A credential presented by a request.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    /// An `Authorization: Bearer <token>` access token.
    Bearer(&'a str),
    /// A single-use stream ticket from `?ticket=`, for `EventSource` clients.
    StreamTicket(&'a str),
}

/// Turns a credential into a [`Principal`] for an approved user, or an error
/// (401 for who-are-you failures). Provided by the authentication plugin.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticate `credential`. A stream ticket is consumed by this call.
    async fn authenticate(&self, credential: Credential<'_>) -> Result<Principal, ApiError>;
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

/// A plain `Authorization: Bearer <access token>` header (the token from `login`).
#[derive(SecurityScheme)]
#[oai(
    rename = "BearerJWT",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_bearer"
)]
pub struct BearerToken(pub Principal);

/// A single-use stream ticket in `?ticket=`, minted by `POST /api/auth/stream-ticket`,
/// for clients (such as a browser's `EventSource`) that cannot send headers.
#[derive(SecurityScheme)]
#[oai(
    rename = "StreamTicket",
    ty = "api_key",
    key_in = "query",
    key_name = "ticket",
    checker = "check_ticket"
)]
pub struct StreamTicket(pub Principal);

/// The security parameter of every protected operation: an access token, from the
/// OAuth2 password flow or as a plain bearer header.
#[derive(SecurityScheme)]
pub enum Auth {
    /// Token obtained through the OAuth2 password flow.
    OAuth2(OAuth2Password),
    /// Token sent as a plain bearer header.
    Bearer(BearerToken),
}

/// The security parameter of event streams: a bearer token, or a stream ticket.
#[derive(SecurityScheme)]
pub enum StreamAuth {
    /// Token obtained through the OAuth2 password flow.
    OAuth2(OAuth2Password),
    /// Token sent as a plain bearer header.
    Bearer(BearerToken),
    /// A single-use stream ticket.
    Ticket(StreamTicket),
}

impl Auth {
    /// The authenticated caller.
    pub fn principal(&self) -> &Principal {
        match self {
            Auth::OAuth2(OAuth2Password(p)) | Auth::Bearer(BearerToken(p)) => p,
        }
    }

    /// The caller, when allowed to take `action`; else 403.
    pub fn require(&self, action: Action) -> Result<&Principal, ApiError> {
        self.principal().require(action)
    }
}

impl StreamAuth {
    /// The authenticated caller.
    pub fn principal(&self) -> &Principal {
        match self {
            StreamAuth::OAuth2(OAuth2Password(p))
            | StreamAuth::Bearer(BearerToken(p))
            | StreamAuth::Ticket(StreamTicket(p)) => p,
        }
    }

    /// The caller, when allowed to take `action`; else 403.
    pub fn require(&self, action: Action) -> Result<&Principal, ApiError> {
        self.principal().require(action)
    }
}

async fn authenticate(req: &Request, credential: Credential<'_>) -> poem::Result<Principal> {
    let Some(AuthenticatorHandle(Some(authenticator))) = req.data::<AuthenticatorHandle>() else {
        return Err(ApiError::unauthorized(
            "not_authenticated",
            "No authentication method is installed on this server",
        )
        .into());
    };
    let principal = authenticator.authenticate(credential).await?;
    if let Some(slot) = req.data::<PrincipalSlot>() {
        slot.set(&principal);
    }
    Ok(principal)
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    authenticate(req, Credential::Bearer(&bearer.token)).await
}

async fn check_ticket(req: &Request, key: ApiKey) -> poem::Result<Principal> {
    authenticate(req, Credential::StreamTicket(&key.key)).await
}
