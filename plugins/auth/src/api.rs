//! `/api/auth`: register, login (OAuth2 password flow), logout, me, password
//! change, stream tickets, API keys and sessions, and the admin's user
//! management.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{Actor, ApiError, Auth, ClientAddress, CredentialId, Done, JsonBody, Role};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Path, Query},
    payload::{Form, Json},
};
use serde::Deserialize;

use crate::{
    AuthPlugin,
    actions::{AUTH_SELF, KEYS_MANAGE, KEYS_OWN, USERS_MANAGE},
    keys::{self, KeyRow},
    service::{CreatedKey, IssuedToken, KeyRequest, UserUpdate},
    sessions::SessionRow,
    users::{UserRow, UserStatus},
};

/// The plugin's tags.
#[derive(Tags)]
pub enum AuthTags {
    /// Registration, login, tokens and the caller's own account.
    Auth,
    /// User administration (admins only, action `users.manage`, with a login
    /// token: 403 `login_token_required` for an API key).
    Users,
    /// API keys and login sessions (action `keys.own`; `keys.manage` for
    /// everyone's keys). These need a login token: a key cannot manage keys or
    /// sessions.
    Keys,
}

/// A user. The password hash never leaves the server.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct User {
    /// Opaque, URL-safe id.
    pub id: String,
    /// Normalised (trimmed, lower-case) email.
    pub email: String,
    /// The user's role: `viewer` < `user` < `operator` < `admin`.
    pub role: Role,
    /// Administrator: exactly `role == "admin"` (kept for older clients).
    pub is_admin: bool,
    /// Account state.
    pub status: UserStatus,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// First approval time.
    pub approved_at: Option<DateTime<Utc>>,
    /// Id of the admin who approved the account.
    pub approved_by: Option<String>,
}

impl From<&UserRow> for User {
    fn from(row: &UserRow) -> Self {
        Self {
            id: row.key(),
            status: row.status(),
            role: row.role(),
            email: row.email.clone(),
            is_admin: row.is_admin,
            created_at: row.created_at,
            approved_at: row.approved_at,
            approved_by: row.approved_by.clone(),
        }
    }
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self::from(&row)
    }
}

/// A registration.
#[derive(Object, Debug, Deserialize)]
pub struct RegisterRequest {
    /// Email address (trimmed and lower-cased).
    pub email: String,
    /// 8 to 128 characters.
    #[oai(write_only)]
    pub password: String,
}

/// The OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's "Authorize" sends it.
#[derive(Object, Debug, Deserialize)]
pub struct LoginForm {
    /// The account's email.
    pub username: String,
    /// The account's password.
    #[oai(write_only)]
    pub password: String,
    /// `password` when sent.
    pub grant_type: Option<String>,
    /// Ignored: a token grants what the user's role allows.
    pub scope: Option<String>,
    /// Ignored.
    pub client_id: Option<String>,
    /// Ignored.
    #[oai(write_only)]
    pub client_secret: Option<String>,
}

/// An access token.
#[derive(Object, Debug)]
pub struct Token {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl From<IssuedToken> for Token {
    fn from(t: IssuedToken) -> Self {
        Self {
            access_token: t.access_token,
            token_type: "bearer".into(),
            expires_in: t.expires_in,
        }
    }
}

/// A password change.
#[derive(Object, Debug, Deserialize)]
pub struct PasswordChange {
    /// The current password.
    #[oai(write_only)]
    pub current_password: String,
    /// The new password, 8 to 128 characters.
    #[oai(write_only)]
    pub new_password: String,
}

/// What a stream ticket is for.
#[derive(Object, Debug, Deserialize)]
pub struct StreamTicketRequest {
    /// The stream's path, e.g. `/api/servers/{id}/logs` (no query): the ticket
    /// is refused on any other path.
    pub path: String,
}

/// An API key. `prefix` (`mlxm_<id>`) is what lists and logs show; the secret
/// is shown once, when the key is created.
#[derive(Object, Debug, Clone)]
pub struct ApiKeyInfo {
    /// The key's public id.
    pub id: String,
    /// Its name, unique per user.
    pub name: String,
    /// `mlxm_<id>`.
    pub prefix: String,
    /// The actions it may take; `null`: whatever its owner's role allows.
    #[oai(nullable)]
    pub actions: Option<Vec<String>>,
    /// The gateway models (profile names) it may use; `null`: all.
    #[oai(nullable)]
    pub models: Option<Vec<String>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stops working; absent: never.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Its last use, to within a minute.
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The client address of its last use.
    #[oai(skip_serializing_if_is_none)]
    pub last_used_address: Option<String>,
    /// Gateway requests a minute (counted by each manager).
    #[oai(skip_serializing_if_is_none)]
    pub rpm: Option<u32>,
    /// Gateway requests at once (counted by each manager).
    #[oai(skip_serializing_if_is_none)]
    pub max_concurrent: Option<u32>,
}

impl From<KeyRow> for ApiKeyInfo {
    fn from(row: KeyRow) -> Self {
        let id = row.key();
        Self {
            prefix: keys::prefix(&id),
            id,
            name: row.name,
            actions: row.actions,
            models: row.models,
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            last_used_address: row.last_used_address,
            rpm: row.rpm,
            max_concurrent: row.max_concurrent,
        }
    }
}

/// A key just created, with its secret.
#[derive(Object)]
pub struct NewApiKey {
    /// The key.
    #[oai(flatten)]
    pub info: ApiKeyInfo,
    /// The whole key, `mlxm_<id>_<secret>`: shown this once, never again. Send
    /// it as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
    pub key: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("info", &self.info)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl From<CreatedKey> for NewApiKey {
    fn from(k: CreatedKey) -> Self {
        Self {
            info: k.row.into(),
            key: k.key,
        }
    }
}

/// A new key.
#[derive(Object, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// 1 to 64 printable characters, unique among the caller's keys.
    pub name: String,
    /// Whole days it lives, at least 1 and at most `[plugins.auth]
    /// max_key_lifetime` (365 days by default). Left out: that maximum, or
    /// forever when there is none.
    #[oai(validator(minimum(value = "1")))]
    pub expires_in_days: Option<u32>,
    /// Actions it may take, each one the caller's role allows (not `keys.*` or
    /// `users.manage`, which need a login token). Left out: whatever the
    /// owner's role allows, now and later.
    pub actions: Option<Vec<String>>,
    /// Gateway models (profile names) it may use. Left out: all.
    pub models: Option<Vec<String>>,
    /// Gateway requests a minute, counted by each manager.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub rpm: Option<u32>,
    /// Gateway requests at once, counted by each manager.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub max_concurrent: Option<u32>,
}

/// A live login session (one login token).
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct SessionInfo {
    /// The session id (the token's `jti`).
    pub id: String,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// When its token expires.
    pub expires_at: DateTime<Utc>,
    /// Its last request, to within a minute.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The client address at login, or of its last request.
    pub address: Option<String>,
    /// The client's `User-Agent` at login.
    pub user_agent: Option<String>,
    /// Whether this is the session of the token used for this call.
    pub current: bool,
}

/// 201 with a new key.
#[derive(ApiResponse)]
pub enum KeyCreated {
    /// The key was created; its secret is in `key`, shown this once.
    #[oai(status = 201)]
    Created(Json<NewApiKey>),
}

/// A single-use ticket for an event stream.
#[derive(Object, Debug)]
pub struct StreamTicketGrant {
    /// Pass as `?ticket=` to one `text/event-stream` operation.
    pub ticket: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// The number of accounts waiting for approval.
#[derive(Object, Debug)]
pub struct PendingCount {
    /// Pending accounts.
    pub count: i64,
}

/// An admin's change to a user; absent fields stay as they are.
#[derive(Object, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct UserUpdateRequest {
    /// New email (normalised).
    pub email: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// `true`: make admin; `false` on an admin: make user (no change for
    /// others). Must agree with `role` when both are sent.
    pub is_admin: Option<bool>,
    /// Approve, disable or set back to pending.
    pub status: Option<UserStatus>,
}

/// A new password set by an admin.
#[derive(Object, Debug, Deserialize)]
pub struct PasswordReset {
    /// 8 to 128 characters.
    #[oai(write_only)]
    pub password: String,
}

/// A confirmation.
#[derive(Object, Debug)]
pub struct Message {
    /// What happened.
    pub message: String,
}

/// 201 with the created user.
#[derive(ApiResponse)]
pub enum UserCreated {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<User>),
}

/// 201 with a stream ticket.
#[derive(ApiResponse)]
pub enum TicketCreated {
    /// The ticket was minted.
    #[oai(status = 201)]
    Created(Json<StreamTicketGrant>),
}

/// The client's address as the core determined it (`server.trusted_proxies`).
fn address(client: Option<&ClientAddress>) -> Option<std::net::IpAddr> {
    client.map(|c| c.0)
}

/// The request's `User-Agent`, for the session list.
fn user_agent(req: &Request) -> Option<String> {
    req.header("user-agent").map(str::to_owned)
}

/// A throttle lock in force.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ThrottleLock {
    /// The account, for account locks.
    pub account: Option<String>,
    /// The address, for address locks.
    pub address: Option<String>,
    /// Failed attempts in the window.
    pub failures: u64,
    /// When the lock ends (the oldest failure leaves the window).
    pub locked_until: DateTime<Utc>,
}

/// The authentication plugin's operations.
#[derive(Default)]
pub struct AuthApi;

#[OpenApi]
impl AuthApi {
    /// Register an account
    ///
    /// Public. The first account ever registered becomes an approved admin; later
    /// ones are `pending` until an admin approves them (under `registration =
    /// "open"` they are approved at once; under `"closed"` this is 403
    /// `registration_closed`). Errors: 409 `email_taken` "Email already
    /// registered"; 422 `invalid_email`, `invalid_password`; 429
    /// `too_many_attempts` (each registration spends the address's budget of
    /// failed logins).
    #[oai(
        path = "/api/auth/register",
        method = "post",
        operation_id = "register",
        tag = "AuthTags::Auth"
    )]
    async fn register(
        &self,
        plugin: Data<&Arc<AuthPlugin>>,
        client: Option<Data<&ClientAddress>>,
        body: JsonBody<RegisterRequest>,
    ) -> Result<UserCreated, ApiError> {
        let JsonBody(req) = body;
        let service = plugin.service();
        let from = address(client.map(|c| c.0));
        let user = service.register(&req.email, req.password, from).await?;
        Ok(UserCreated::Created(Json(user.into())))
    }

    /// Log in (OAuth2 password flow)
    ///
    /// Public. Every token is a session (see `listSessions`). Form fields
    /// `username` (the email) and `password`; `grant_type`
    /// must be `password` when sent; `scope`, `client_id`, `client_secret` and an
    /// `Authorization: Basic` header (what Swagger UI sends) are ignored. Errors:
    /// 401 `invalid_credentials` "Incorrect email or password" (the same answer
    /// for unknown emails and wrong passwords); 403 `account_pending` "Account
    /// pending approval", `account_disabled` "Account disabled"; 400
    /// `unsupported_grant_type`; 429 `too_many_attempts` with `Retry-After` once
    /// failed logins reach a limit of `[plugins.auth.throttle]` (checked before
    /// the password, so a right one does not pass either).
    #[oai(
        path = "/api/auth/login",
        method = "post",
        operation_id = "login",
        tag = "AuthTags::Auth"
    )]
    async fn login(
        &self,
        plugin: Data<&Arc<AuthPlugin>>,
        client: Option<Data<&ClientAddress>>,
        req: &Request,
        body: Form<LoginForm>,
    ) -> Result<Json<Token>, ApiError> {
        let Form(form) = body;
        let grant = form.grant_type.as_deref();
        let from = address(client.map(|c| c.0));
        let token = plugin
            .service()
            .login(&form.username, &form.password, grant, from, user_agent(req))
            .await?;
        Ok(Json(token.into()))
    }

    /// Log out
    ///
    /// Action: `auth.self`, with a login token (403 `login_token_required` for
    /// an API key: revoke keys with `revokeApiKey`). Ends the session of the
    /// token used for this call and its stream tickets; other sessions of the
    /// user keep working.
    #[oai(
        path = "/api/auth/logout",
        method = "post",
        operation_id = "logout",
        tag = "AuthTags::Auth"
    )]
    async fn logout(&self, auth: Auth, plugin: Data<&Arc<AuthPlugin>>) -> Result<Done, ApiError> {
        let who = auth.require_login(AUTH_SELF)?;
        plugin.service().logout(who).await?;
        Ok(Done::NoContent)
    }

    /// The caller's account
    ///
    /// Action: `auth.self`.
    #[oai(
        path = "/api/auth/me",
        method = "get",
        operation_id = "getMe",
        tag = "AuthTags::Auth"
    )]
    async fn me(&self, auth: Auth, plugin: Data<&Arc<AuthPlugin>>) -> Result<Json<User>, ApiError> {
        let user = plugin.service().me(auth.require(AUTH_SELF)?).await?;
        Ok(Json(User::from(user.as_ref())))
    }

    /// Change the caller's password
    ///
    /// Action: `auth.self`, with a login token (403 `login_token_required` for
    /// an API key). Every earlier session of the user ends, including the one
    /// used for this call: use the returned token from now on (API keys stay). Errors: 422
    /// `wrong_current_password`, `invalid_password`; 429 `too_many_attempts` (a
    /// wrong current password spends the login budget of the account and address).
    #[oai(
        path = "/api/auth/me/password",
        method = "put",
        operation_id = "changeMyPassword",
        tag = "AuthTags::Auth"
    )]
    async fn change_password(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        client: Option<Data<&ClientAddress>>,
        request: &Request,
        body: JsonBody<PasswordChange>,
    ) -> Result<Json<Token>, ApiError> {
        let who = auth.require_login(AUTH_SELF)?;
        let JsonBody(req) = body;
        let token = plugin
            .service()
            .change_password(
                who,
                &req.current_password,
                req.new_password,
                address(client.map(|c| c.0)),
                user_agent(request),
            )
            .await?;
        Ok(Json(token.into()))
    }

    /// Mint a stream ticket
    ///
    /// Action: `auth.self`. A short-lived (60 s by default), single-use ticket that
    /// authenticates one `text/event-stream` request to `path` as `?ticket=`, for
    /// clients such as a browser's `EventSource` that cannot send headers; on
    /// another path it is refused. It keeps long-lived credentials out of URLs.
    /// A login token or an API key may mint one; it dies with the session or key
    /// that minted it, and carries that key's restrictions. Errors: 422
    /// `invalid_path`.
    #[oai(
        path = "/api/auth/stream-ticket",
        method = "post",
        operation_id = "createStreamTicket",
        tag = "AuthTags::Auth"
    )]
    async fn stream_ticket(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        body: JsonBody<StreamTicketRequest>,
    ) -> Result<TicketCreated, ApiError> {
        let who = auth.require(AUTH_SELF)?;
        let t = plugin.service().mint_ticket(who, &body.0.path).await?;
        Ok(TicketCreated::Created(Json(StreamTicketGrant {
            ticket: t.ticket,
            expires_in: t.expires_in,
        })))
    }

    /// Create an API key
    ///
    /// Action: `keys.own`, with a login token (403 `login_token_required` for a
    /// key). The answer holds the key's secret in `key`, shown this once; the
    /// store keeps only its digest. A key acts for its owner with at most the
    /// owner's current role, narrowed by `actions` and (on the gateway) `models`,
    /// `rpm` and `max_concurrent`. Errors: 422 `invalid_key_name`,
    /// `duplicate_key_name`, `invalid_key_lifetime`, `invalid_key_actions` (an
    /// unknown action, one the caller's role lacks, or one that needs a login
    /// token), `invalid_key_models`, `invalid_key_limits`, `too_many_keys` (100 per user).
    #[oai(
        path = "/api/auth/keys",
        method = "post",
        operation_id = "createApiKey",
        tag = "AuthTags::Keys"
    )]
    async fn create_key(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        body: JsonBody<ApiKeyCreate>,
    ) -> Result<KeyCreated, ApiError> {
        let who = auth.require_login(KEYS_OWN)?;
        let JsonBody(req) = body;
        let request = KeyRequest {
            name: req.name,
            expires_in_days: req.expires_in_days,
            actions: req.actions,
            models: req.models,
            rpm: req.rpm,
            max_concurrent: req.max_concurrent,
        };
        let created = plugin.service().create_key(who, request).await?;
        Ok(KeyCreated::Created(Json(created.into())))
    }

    /// List the caller's API keys
    ///
    /// Action: `keys.own`, with a login token. Newest first; secrets are never
    /// shown again.
    #[oai(
        path = "/api/auth/keys",
        method = "get",
        operation_id = "listApiKeys",
        tag = "AuthTags::Keys"
    )]
    async fn list_keys(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
    ) -> Result<Json<Vec<ApiKeyInfo>>, ApiError> {
        let who = auth.require_login(KEYS_OWN)?;
        let rows = plugin.service().list_keys(who.user_id()).await?;
        Ok(Json(rows.into_iter().map(ApiKeyInfo::from).collect()))
    }

    /// Revoke an API key
    ///
    /// Action: `keys.own` for the caller's own keys; with `keys.manage`
    /// (admin), anyone's (either action lets the call in). With a login token. The key (and every stream ticket
    /// it minted) stops working at its next request. Errors: 404
    /// `key_not_found` (also for another user's key without `keys.manage`).
    #[oai(
        path = "/api/auth/keys/:id",
        method = "delete",
        operation_id = "revokeApiKey",
        tag = "AuthTags::Keys"
    )]
    async fn revoke_key(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// The key's id (the part after `mlxm_` in its prefix).
        id: Path<String>,
    ) -> Result<Done, ApiError> {
        // Either action lets the call in; a refusal names the base one.
        let who = match auth.require_login(KEYS_OWN) {
            Ok(who) => who,
            Err(refused) => auth.require_login(KEYS_MANAGE).map_err(|_| refused)?,
        };
        plugin.service().revoke_key(who, &id.0).await?;
        Ok(Done::NoContent)
    }

    /// List a user's API keys
    ///
    /// Action: `keys.manage`, with a login token. Newest first. Errors: 404
    /// `user_not_found`.
    #[oai(
        path = "/api/auth/users/:id/keys",
        method = "get",
        operation_id = "listUserApiKeys",
        tag = "AuthTags::Keys"
    )]
    async fn list_user_keys(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// The user's id.
        id: Path<String>,
    ) -> Result<Json<Vec<ApiKeyInfo>>, ApiError> {
        auth.require_login(KEYS_MANAGE)?;
        let rows = plugin.service().list_user_keys(&id.0).await?;
        Ok(Json(rows.into_iter().map(ApiKeyInfo::from).collect()))
    }

    /// List the caller's sessions
    ///
    /// Action: `keys.own`, with a login token. The caller's live login tokens,
    /// newest first; `current` marks the one used for this call.
    #[oai(
        path = "/api/auth/sessions",
        method = "get",
        operation_id = "listSessions",
        tag = "AuthTags::Keys"
    )]
    async fn list_sessions(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
    ) -> Result<Json<Vec<SessionInfo>>, ApiError> {
        let who = auth.require_login(KEYS_OWN)?;
        let current = match who.credential() {
            Some(CredentialId::Session(jti)) => Some(jti.clone()),
            _ => None,
        };
        let rows = plugin.service().list_sessions(who).await?;
        let info = |row: SessionRow| {
            let id = row.key();
            SessionInfo {
                current: current.as_deref() == Some(id.as_str()),
                id,
                created_at: row.created_at,
                expires_at: row.expires_at,
                last_seen_at: row.last_seen_at,
                address: row.address,
                user_agent: row.user_agent,
            }
        };
        Ok(Json(rows.into_iter().map(info).collect()))
    }

    /// Revoke a session
    ///
    /// Action: `keys.own`, with a login token. That token (and its stream
    /// tickets) stops working at its next request; open event streams it
    /// opened end within seconds. Errors: 404 `session_not_found`.
    #[oai(
        path = "/api/auth/sessions/:id",
        method = "delete",
        operation_id = "revokeSession",
        tag = "AuthTags::Keys"
    )]
    async fn revoke_session(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// The session id (from `listSessions`).
        id: Path<String>,
    ) -> Result<Done, ApiError> {
        let who = auth.require_login(KEYS_OWN)?;
        plugin.service().revoke_session(who, &id.0).await?;
        Ok(Done::NoContent)
    }

    /// Log out everywhere
    ///
    /// Action: `keys.own`, with a login token. Every session and stream ticket
    /// of the caller ends, this one included; API keys keep working (revoke
    /// them with `revokeApiKey`).
    #[oai(
        path = "/api/auth/logout-all",
        method = "post",
        operation_id = "logoutAll",
        tag = "AuthTags::Keys"
    )]
    async fn logout_all(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
    ) -> Result<Done, ApiError> {
        let who = auth.require_login(KEYS_OWN)?;
        plugin.service().logout_all(who).await?;
        Ok(Done::NoContent)
    }

    /// List users
    ///
    /// Action: `users.manage`. Newest first, optionally only those of one status.
    #[oai(
        path = "/api/auth/users",
        method = "get",
        operation_id = "listUsers",
        tag = "AuthTags::Users"
    )]
    async fn list_users(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// Only users with this status.
        status: Query<Option<UserStatus>>,
    ) -> Result<Json<Vec<User>>, ApiError> {
        auth.require_login(USERS_MANAGE)?;
        let users = plugin.service().list_users(status.0).await?;
        Ok(Json(users.into_iter().map(User::from).collect()))
    }

    /// Count pending users
    ///
    /// Action: `users.manage`.
    #[oai(
        path = "/api/auth/users/pending/count",
        method = "get",
        operation_id = "countPendingUsers",
        tag = "AuthTags::Users"
    )]
    async fn pending_count(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
    ) -> Result<Json<PendingCount>, ApiError> {
        auth.require_login(USERS_MANAGE)?;
        let count = plugin.service().pending_count().await?;
        Ok(Json(PendingCount { count }))
    }

    /// Update a user
    ///
    /// Action: `users.manage`. Change email, role (or the older `is_admin` flag)
    /// or status; 422 `role_conflict` when `role` and `is_admin` disagree. The first
    /// approval records `approved_at` and `approved_by`. No change may leave the
    /// system without an approved admin, whoever makes it: 400 `last_admin` "Cannot
    /// remove last admin" (demotion) or "Cannot disable last active admin". Errors:
    /// 404 `user_not_found`; 409 `email_taken`; 422 `invalid_email`.
    #[oai(
        path = "/api/auth/users/:id",
        method = "put",
        operation_id = "updateUser",
        tag = "AuthTags::Users"
    )]
    async fn update_user(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// The user's id.
        id: Path<String>,
        body: JsonBody<UserUpdateRequest>,
    ) -> Result<Json<User>, ApiError> {
        let actor = auth.require_login(USERS_MANAGE)?;
        let JsonBody(req) = body;
        let update = UserUpdate {
            email: req.email,
            is_admin: req.is_admin,
            role: req.role,
            status: req.status,
        };
        let user = plugin.service().update_user(actor, &id.0, update).await?;
        Ok(Json(user.into()))
    }

    /// Delete a user
    ///
    /// Action: `users.manage`. Errors: 404 `user_not_found`; 400 `last_admin`
    /// "Cannot delete last admin".
    #[oai(
        path = "/api/auth/users/:id",
        method = "delete",
        operation_id = "deleteUser",
        tag = "AuthTags::Users"
    )]
    async fn delete_user(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// The user's id.
        id: Path<String>,
    ) -> Result<Done, ApiError> {
        let by = Actor::of(auth.require_login(USERS_MANAGE)?);
        plugin.service().delete_user(by, &id.0).await?;
        Ok(Done::NoContent)
    }

    /// List throttle locks
    ///
    /// Action: `users.manage`. Accounts and addresses locked by failed logins
    /// (per account and address, per address, per account), with the time each
    /// lock ends. The counters live in this manager's memory.
    #[oai(
        path = "/api/auth/throttle",
        method = "get",
        operation_id = "listThrottleLocks",
        tag = "AuthTags::Users"
    )]
    async fn throttle_locks(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
    ) -> Result<Json<Vec<ThrottleLock>>, ApiError> {
        auth.require_login(USERS_MANAGE)?;
        let now = plugin.service().now();
        let locks = plugin
            .service()
            .throttle_locks()
            .await?
            .into_iter()
            .map(|l| ThrottleLock {
                account: l.account,
                address: l.address.map(|a| a.to_string()),
                failures: l.failures as u64,
                locked_until: now
                    + chrono::Duration::from_std(l.locked_for)
                        .unwrap_or_else(|_| chrono::Duration::zero()),
            });
        Ok(Json(locks.collect()))
    }

    /// Clear throttle locks
    ///
    /// Action: `users.manage`. Forget the failures of `account`, of `address`,
    /// or of both (their pair and each alone). Errors: 422 `invalid_parameter`
    /// when neither is given or the address is not an IP address.
    #[oai(
        path = "/api/auth/throttle",
        method = "delete",
        operation_id = "clearThrottleLocks",
        tag = "AuthTags::Users"
    )]
    async fn clear_throttle(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// The account's email.
        account: Query<Option<String>>,
        /// The IP address.
        address: Query<Option<String>>,
    ) -> Result<Done, ApiError> {
        auth.require_login(USERS_MANAGE)?;
        let bad = |d: &str| {
            ApiError::unprocessable(mlx_manager_sdk::codes::INVALID_PARAMETER, d.to_owned())
        };
        let ip = match address.0.as_deref() {
            Some(a) => Some(
                a.parse::<std::net::IpAddr>()
                    .map_err(|_| bad("address must be an IP address"))?,
            ),
            None => None,
        };
        let account = account.0.map(|a| a.trim().to_lowercase());
        if account.is_none() && ip.is_none() {
            return Err(bad("give account, address or both"));
        }
        plugin
            .service()
            .clear_throttle(account.as_deref(), ip)
            .await?;
        Ok(Done::NoContent)
    }

    /// Reset a user's password
    ///
    /// Action: `users.manage`. The user's earlier tokens stop working. Errors: 404
    /// `user_not_found`; 422 `invalid_password`.
    #[oai(
        path = "/api/auth/users/:id/reset-password",
        method = "post",
        operation_id = "resetUserPassword",
        tag = "AuthTags::Users"
    )]
    async fn reset_password(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuthPlugin>>,
        /// The user's id.
        id: Path<String>,
        body: JsonBody<PasswordReset>,
    ) -> Result<Json<Message>, ApiError> {
        let by = Actor::of(auth.require_login(USERS_MANAGE)?);
        plugin
            .service()
            .reset_password(by, &id.0, body.0.password)
            .await?;
        Ok(Json(Message {
            message: "Password reset successfully".into(),
        }))
    }
}
