//! `AuthService`: the plugin's domain. Registration, login, token checks,
//! password changes and resets, user administration and stream tickets. No HTTP
//! types here; `api.rs` maps results to responses.

use crate::error::codes;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{
    Actor, ActorVia, ApiError, Authenticator, Credential, CredentialId, CredentialKind, Db,
    ErrorCode, Event, EventAction, EventBus, KeyScope, Outcome, Permissions, Principal, Role,
    Target, clock::SharedClock, store::bounded,
};
use sha2::{Digest, Sha256};

use crate::{
    actions,
    config::{AuthConfig, Registration},
    error::AuthError,
    guard::{Guard, Held},
    hashing::Hasher,
    input::{Email, Password, is_valid_id},
    keys::{self, KeyRow, KeySpec},
    sessions::{self, Origin, SessionRow},
    tokens::{Claims, Tokens, now_secs},
    users::{self, NewAccount, TicketSpec, UserPatch, UserRow, UserStatus},
};

/// The longest lifetime a key may ask for, in days (a hundred years).
const MAX_KEY_DAYS: u32 = 36_500;

/// How stale `last_seen_at` / `last_used_at` may get: one store write a
/// minute per session or key, not one per request.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// When this manager last recorded a use of each session or key.
#[derive(Default)]
struct Touches(Mutex<HashMap<CredentialId, Instant>>);

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("row", &self.row)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Touches {
    /// Whether a use of `id` should be written now (and note that it is).
    fn due(&self, id: &CredentialId) -> bool {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if map.len() > 10_000 {
            map.retain(|_, at| now.duration_since(*at) < TOUCH_EVERY);
        }
        match map.get(id) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                map.insert(id.clone(), now);
                true
            }
        }
    }
}

/// A new API key as its owner asks for it (unchecked input).
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    /// 1 to 64 printable characters, unique per user.
    pub name: String,
    /// Whole days, at least 1, at most `max_key_lifetime`.
    pub expires_in_days: Option<u32>,
    /// Actions the key may take (`None`: its owner's role).
    pub actions: Option<Vec<String>>,
    /// Profile names it may use on the gateway (`None`: all).
    pub models: Option<Vec<String>>,
    /// Gateway requests a minute.
    pub rpm: Option<u32>,
    /// Gateway requests at once.
    pub max_concurrent: Option<u32>,
}

/// A key just created: its row and the secret, shown this once.
#[derive(Clone)]
pub struct CreatedKey {
    /// The stored key.
    pub row: KeyRow,
    /// `mlxm_<id>_<secret>`.
    pub key: String,
}

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// A freshly minted stream ticket.
#[derive(Debug, Clone)]
pub struct IssuedTicket {
    /// The single-use ticket.
    pub ticket: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// The changes an admin may make to a user (unchecked input).
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New email.
    pub email: Option<String>,
    /// New admin flag (true: admin; false on an admin: user).
    pub is_admin: Option<bool>,
    /// New role.
    pub role: Option<Role>,
    /// New status.
    pub status: Option<UserStatus>,
}

/// Everything the plugin does.
pub struct AuthService {
    db: Db,
    hasher: Hasher,
    tokens: Tokens,
    config: AuthConfig,
    permissions: Arc<Permissions>,
    events: EventBus,
    throttle: crate::throttle::Throttle,
    touches: Touches,
    clock: SharedClock,
    guard: Guard,
    observers: mlx_manager_sdk::Observers,
}

fn key_target(row: &KeyRow) -> Target {
    Target::new(
        "api_key",
        Some(keys::prefix(&row.key())),
        Some(row.name.clone()),
    )
}

fn user_target(user: &UserRow) -> Target {
    Target::new("user", Some(user.key()), Some(user.email.clone()))
}

impl AuthService {
    /// A service over `db` with `config`'s keys and parameters, judging callers
    /// against `permissions` and publishing its events on `events`; `guard`
    /// holds what credential checks read between requests.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Db,
        hasher: Hasher,
        tokens: Tokens,
        config: AuthConfig,
        permissions: Arc<Permissions>,
        events: EventBus,
        clock: SharedClock,
        guard: Guard,
    ) -> Self {
        // On a store other managers share, the throttle counts in the store too
        // (the guard keeps nothing in memory there, for the same reason).
        let shared = (!guard.enabled()).then(|| db.clone());
        let throttle = crate::throttle::Throttle::new(config.throttle.clone(), shared);
        Self {
            db,
            hasher,
            tokens,
            config,
            permissions,
            events,
            throttle,
            touches: Touches::default(),
            clock,
            guard,
            observers: mlx_manager_sdk::Observers::new(),
        }
    }

    /// The same service timing its credential checks' store calls for
    /// `observers`.
    pub fn with_observers(mut self, observers: mlx_manager_sdk::Observers) -> Self {
        self.observers = observers;
        self
    }

    async fn publish(&self, actor: Actor, action: EventAction, target: Target) {
        self.events.publish(Event::new(actor, action, target)).await;
    }

    /// Password hashes running on the hashing threads now.
    pub fn hashes_in_flight(&self) -> usize {
        self.hasher.in_flight()
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }

    /// Every throttle lock in force.
    pub async fn throttle_locks(&self) -> Result<Vec<crate::throttle::Lock>, AuthError> {
        self.throttle.locks().await
    }

    /// Forget the throttle's failures of `account` and/or `address`.
    pub async fn clear_throttle(
        &self,
        account: Option<&str>,
        address: Option<std::net::IpAddr>,
    ) -> Result<(), AuthError> {
        self.throttle.clear(account, address).await
    }

    /// Count a failure; publish `auth.throttle_lock` when it started a lock.
    async fn failed_attempt(&self, email: Option<&str>, address: Option<std::net::IpAddr>) {
        let Some(ip) = address else {
            return;
        };
        let started = match self.throttle.failed(email, ip).await {
            Ok(started) => started,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count a failed attempt");
                false
            }
        };
        if started {
            let actor = Actor::anonymous(email.map(str::to_owned), ActorVia::Password);
            let target = Target::new("user", None, email.map(str::to_owned));
            let event = Event::new(actor, actions::THROTTLE_LOCK, target)
                .outcome(Outcome::Denied)
                .address(Some(ip.to_string()));
            self.events.publish(event).await;
        }
    }

    /// The store.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// What credential checks keep between requests.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The session `jti` of user `sub` and that user, from the guard's memory
    /// or the store (and then kept). `None` when either is missing.
    async fn load_session(
        &self,
        sub: &str,
        jti: &str,
    ) -> Result<Option<Held<SessionRow>>, AuthError> {
        if let Some(held) = self.guard.session(jti) {
            return Ok(Some(held));
        }
        let seen = self.guard.generation();
        let read = bounded(sessions::find_with_user(&self.db, sub, jti));
        let found = match self.observers.store("auth.session", read).await? {
            (Some(user), Some(session)) => (Arc::new(user), Arc::new(session)),
            _ => return Ok(None),
        };
        self.guard.keep_session(seen, &found);
        Ok(Some(found))
    }

    /// The key `id` and its owner, from the guard's memory or the store (and
    /// then kept). `None` when either is missing.
    async fn load_key(&self, id: &str) -> Result<Option<Held<KeyRow>>, AuthError> {
        if let Some(held) = self.guard.key(id) {
            return Ok(Some(held));
        }
        let seen = self.guard.generation();
        let read = bounded(keys::find(&self.db, id));
        let Some(row) = self.observers.store("auth.key", read).await? else {
            return Ok(None);
        };
        let read = bounded(users::find(&self.db, &row.user_id));
        let Some(user) = self.observers.store("auth.user", read).await? else {
            return Ok(None);
        };
        let found = (Arc::new(user), Arc::new(row));
        self.guard.keep_key(seen, &found);
        Ok(Some(found))
    }

    /// Register an account: the first one ever is an approved admin; later ones
    /// wait for approval (or are approved at once under open registration).
    pub async fn register(
        &self,
        email: &str,
        password: String,
        address: Option<std::net::IpAddr>,
    ) -> Result<UserRow, AuthError> {
        // Each registration spends the address's budget (API.md), before any work.
        if let Some(ip) = address {
            self.throttle.counted(ip).await?;
        }
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        if self.config.registration == Registration::Closed {
            return Err(AuthError::RegistrationClosed);
        }
        let hash = self.hasher.hash(&password).await?;
        let approve = self.config.registration == Registration::Open;
        let how = NewAccount::Registered { approve };
        let user = users::create(&self.db, &email, hash, how, self.config.default_role).await?;
        let actor = Actor::user(user.key(), user.email.clone(), ActorVia::Password);
        let event = Event::new(actor, actions::REGISTER, user_target(&user))
            .address(address.map(|a| a.to_string()));
        self.events.publish(event).await;
        Ok(user)
    }

    /// Create an approved account on an operator's behalf (bootstrap, CLI).
    pub async fn seed(
        &self,
        email: &Email,
        password: &Password,
        admin: bool,
    ) -> Result<UserRow, AuthError> {
        let hash = self.hasher.hash(password).await?;
        let how = NewAccount::Seeded { admin };
        users::create(&self.db, email, hash, how, self.config.default_role).await
    }

    /// Exchange email and password for a token. Unknown emails and wrong passwords
    /// get the same error after the same work (a dummy hash is verified); only with
    /// the right password does a pending or disabled account learn its status.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        grant_type: Option<&str>,
        address: Option<std::net::IpAddr>,
        user_agent: Option<String>,
    ) -> Result<IssuedToken, AuthError> {
        if grant_type.is_some_and(|g| !g.is_empty() && g != "password") {
            return Err(AuthError::UnsupportedGrantType);
        }
        // Only a well-formed email is ever recorded: a password typed into the
        // username field must not reach the audit log.
        let email = Email::parse(username).ok();
        // Refused before any password work, whether the password is right or not.
        if let Some(ip) = address {
            let account = email.as_ref().map(Email::as_str);
            self.throttle.check(account, ip).await?;
        }
        let user = match &email {
            Some(email) => bounded(users::find_by_email(&self.db, email)).await?,
            None => None,
        };
        let matches = self
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let result = match &user {
            Some(user) if matches => match user.status() {
                UserStatus::Pending => Err(AuthError::AccountPending),
                UserStatus::Disabled => Err(AuthError::AccountDisabled),
                UserStatus::Approved => {
                    let origin = Origin {
                        address: address.map(|a| a.to_string()),
                        user_agent,
                    };
                    self.issue(user, &origin).await
                }
            },
            _ => Err(AuthError::InvalidCredentials),
        };
        let email = email.map(|e| e.as_str().to_owned());
        match (&result, address) {
            (Ok(_), Some(ip)) => {
                let account = email.as_deref().unwrap_or_default();
                if let Err(e) = self.throttle.succeeded(account, ip).await {
                    tracing::warn!(error = %e, "cannot record a successful login's address");
                }
            }
            (Err(AuthError::InvalidCredentials), _) => {
                self.failed_attempt(email.as_deref(), address).await
            }
            _ => {}
        }
        let (actor, target) = match &user {
            Some(user) => (
                Actor::user(user.key(), user.email.clone(), ActorVia::Password),
                user_target(user),
            ),
            None => (
                Actor::anonymous(email.clone(), ActorVia::Password),
                Target::new("user", None, email),
            ),
        };
        let event = match &result {
            Ok(_) => Event::new(actor, actions::LOGIN, target),
            Err(e) => Event::new(actor, actions::LOGIN_FAILED, target)
                .outcome(Outcome::Denied)
                .detail(e.to_string()),
        };
        self.events
            .publish(event.address(address.map(|a| a.to_string())))
            .await;
        result
    }

    /// A token for `user`, and its session.
    async fn issue(&self, user: &UserRow, origin: &Origin) -> Result<IssuedToken, AuthError> {
        let (access_token, claims) =
            self.tokens
                .issue(&user.key(), user.token_version, now_secs())?;
        let expires_at =
            DateTime::from_timestamp(claims.exp as i64, 0).unwrap_or_else(|| self.clock.now());
        sessions::create(&self.db, &claims.jti, &user.key(), expires_at, origin).await?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.tokens.ttl().as_secs(),
        })
    }

    /// The approved user a token belongs to, its claims and its session. Fails
    /// for bad, expired or revoked tokens (no session) and for users that are
    /// gone or no longer approved.
    pub async fn check_token(&self, token: &str) -> Result<(Arc<UserRow>, Claims), AuthError> {
        let claims = self.tokens.verify(token)?;
        if !is_valid_id(&claims.sub) || !is_valid_id(&claims.jti) {
            return Err(AuthError::InvalidToken);
        }
        let Some((user, session)) = self.load_session(&claims.sub, &claims.jti).await? else {
            // The user or the session is gone: which one decides the answer.
            return match users::find(&self.db, &claims.sub).await? {
                Some(user) if user.status() != UserStatus::Approved => {
                    Err(AuthError::AccountInactive)
                }
                Some(_) => Err(AuthError::TokenRevoked),
                None => Err(AuthError::InvalidToken),
            };
        };
        if user.key() != claims.sub {
            return Err(AuthError::InvalidToken);
        }
        if user.status() != UserStatus::Approved {
            return Err(AuthError::AccountInactive);
        }
        if session.user_id != claims.sub || session.expires_at <= self.clock.now() {
            return Err(AuthError::TokenRevoked);
        }
        if user.token_version != claims.ver {
            return Err(AuthError::TokenRevoked);
        }
        Ok((user, claims))
    }

    /// The owner and row of a presented API key. A malformed key, an unknown id
    /// and a wrong secret get the same answer; the secret is compared in
    /// constant time (against a dummy digest for an unknown id).
    async fn check_key(&self, presented: &str) -> Result<Held<KeyRow>, AuthError> {
        let (id, secret) = keys::parse(presented).ok_or(AuthError::InvalidApiKey)?;
        let held = self.load_key(id).await?;
        let digest = held.as_ref().map(|(_, row)| row.digest.as_str());
        if !keys::secret_matches(secret, digest) {
            tracing::debug!(key = %keys::prefix(id), "API key refused");
            return Err(AuthError::InvalidApiKey);
        }
        let (user, row) = held.ok_or(AuthError::InvalidApiKey)?;
        if row.expired(self.clock.now()) {
            return Err(AuthError::ApiKeyExpired);
        }
        if user.key() != row.user_id {
            return Err(AuthError::InvalidApiKey);
        }
        if user.status() != UserStatus::Approved {
            return Err(AuthError::AccountInactive);
        }
        Ok((user, row))
    }

    /// The approved user and credential of a single-use ticket presented on
    /// `path`; it dies with the session or key that minted it.
    async fn check_ticket(&self, ticket: &str, path: &str) -> Result<Principal, AuthError> {
        let found = users::take_ticket(&self.db, &digest(ticket)).await?;
        let ticket = found
            .filter(|t| t.expires_at > self.clock.now() && t.path.as_deref() == Some(path))
            .ok_or(AuthError::InvalidTicket)?;
        match (&ticket.jti, &ticket.key_id) {
            (Some(jti), _) => {
                let (user, session) = self
                    .load_session(&ticket.user_id, jti)
                    .await?
                    .ok_or(AuthError::TokenRevoked)?;
                let live = user.key() == ticket.user_id
                    && session.user_id == ticket.user_id
                    && session.expires_at > self.clock.now();
                if !live || user.token_version != ticket.token_version {
                    return Err(AuthError::TokenRevoked);
                }
                if user.status() != UserStatus::Approved {
                    return Err(AuthError::AccountInactive);
                }
                let id = CredentialId::Session(jti.clone());
                Ok(self
                    .principal(&user, CredentialKind::Ticket)
                    .with_credential(id))
            }
            (None, Some(key_id)) => {
                let (user, row) = self
                    .load_key(key_id)
                    .await?
                    .filter(|(_, k)| k.user_id == ticket.user_id && !k.expired(self.clock.now()))
                    .ok_or(AuthError::InvalidTicket)?;
                if user.status() != UserStatus::Approved {
                    return Err(AuthError::AccountInactive);
                }
                Ok(self.key_principal(&user, &row, CredentialKind::Ticket))
            }
            (None, None) => Err(AuthError::InvalidTicket),
        }
    }

    fn principal(&self, user: &UserRow, via: CredentialKind) -> Principal {
        Principal::new(
            user.key(),
            user.email.clone(),
            user.role(),
            via,
            self.permissions.clone(),
        )
    }

    fn key_principal(&self, user: &UserRow, row: &KeyRow, via: CredentialKind) -> Principal {
        let scope = KeyScope {
            prefix: keys::prefix(&row.key()),
            actions: row.actions.clone(),
            models: row.models.clone(),
            rpm: row.rpm,
            max_concurrent: row.max_concurrent,
        };
        self.principal(user, via)
            .with_credential(CredentialId::Key(row.key()))
            .with_key_scope(scope)
    }

    /// Record a use of `id` from `from`, at most once a minute (off the request).
    fn touch(&self, id: &CredentialId, from: Option<std::net::IpAddr>) {
        if !self.touches.due(id) {
            return;
        }
        let db = self.db.clone();
        let id = id.clone();
        let address = from.map(|a| a.to_string());
        tokio::spawn(async move {
            let written = match &id {
                CredentialId::Session(jti) => sessions::touch(&db, jti, address).await,
                CredentialId::Key(key) => keys::touch(&db, key, address).await,
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "cannot record a credential's last use");
            }
        });
    }

    /// End the session of the login token used for this call.
    pub async fn logout(&self, principal: &Principal) -> Result<(), AuthError> {
        if let Some(CredentialId::Session(jti)) = principal.credential() {
            let _change = self.guard.change();
            sessions::delete(&self.db, principal.user_id(), jti).await?;
        }
        Ok(())
    }

    /// End every session (and their stream tickets) of the caller; keys stay.
    pub async fn logout_all(&self, principal: &Principal) -> Result<(), AuthError> {
        let change = self.guard.change();
        sessions::delete_all(&self.db, principal.user_id()).await?;
        drop(change);
        let target = Target::new(
            "user",
            Some(principal.user_id().to_owned()),
            Some(principal.email().to_owned()),
        );
        let event = Event::new(Actor::of(principal), actions::SESSION_REVOKE, target)
            .detail("every session");
        self.events.publish(event).await;
        Ok(())
    }

    /// The caller's live sessions, newest first.
    pub async fn list_sessions(&self, principal: &Principal) -> Result<Vec<SessionRow>, AuthError> {
        sessions::list(&self.db, principal.user_id()).await
    }

    /// End one of the caller's sessions.
    pub async fn revoke_session(&self, principal: &Principal, id: &str) -> Result<(), AuthError> {
        let change = self.guard.change();
        if !is_valid_id(id) || !sessions::delete(&self.db, principal.user_id(), id).await? {
            return Err(AuthError::SessionNotFound);
        }
        drop(change);
        let target = Target::new(
            "session",
            Some(id.to_owned()),
            Some(principal.email().to_owned()),
        );
        self.publish(Actor::of(principal), actions::SESSION_REVOKE, target)
            .await;
        Ok(())
    }

    /// Create an API key for the caller: every rule of API.md "API keys and
    /// sessions" is checked here.
    pub async fn create_key(
        &self,
        principal: &Principal,
        request: KeyRequest,
    ) -> Result<CreatedKey, AuthError> {
        let spec = self.key_spec(principal, request)?;
        let new = keys::generate();
        let row = keys::create(&self.db, principal.user_id(), &new, &spec).await?;
        self.publish(Actor::of(principal), actions::KEY_CREATE, key_target(&row))
            .await;
        Ok(CreatedKey { row, key: new.key })
    }

    fn key_spec(&self, principal: &Principal, request: KeyRequest) -> Result<KeySpec, AuthError> {
        let reject = |code: ErrorCode, detail: String| AuthError::KeyRejected(code, detail);
        let name = request.name.trim().to_owned();
        let length = name.chars().count();
        if !(1..=64).contains(&length) || name.chars().any(unprintable) {
            return Err(reject(
                codes::INVALID_KEY_NAME,
                "name must be 1 to 64 printable characters".into(),
            ));
        }
        let max = self.config.max_key_lifetime;
        let day = 24 * 3600;
        let lifetime = match request.expires_in_days {
            Some(days) if !(1..=MAX_KEY_DAYS).contains(&days) => {
                return Err(reject(
                    codes::INVALID_KEY_LIFETIME,
                    format!("expires_in_days must be a whole number from 1 to {MAX_KEY_DAYS}"),
                ));
            }
            Some(days) => {
                let asked = Duration::from_secs(u64::from(days) * day);
                if !max.is_zero() && asked > max {
                    let detail = match max.as_secs() / day {
                        0 => "this server's plugins.auth.max_key_lifetime is under a day: leave expires_in_days out".to_owned(),
                        most => format!("expires_in_days must be at most {most} (plugins.auth.max_key_lifetime)"),
                    };
                    return Err(reject(codes::INVALID_KEY_LIFETIME, detail));
                }
                Some(asked)
            }
            None => (!max.is_zero()).then_some(max),
        };
        let created_at = self.clock.now();
        let expires_at = match lifetime {
            None => None,
            Some(l) => Some(
                chrono::Duration::from_std(l)
                    .ok()
                    .and_then(|l| created_at.checked_add_signed(l))
                    .ok_or_else(|| {
                        reject(
                            codes::INVALID_KEY_LIFETIME,
                            "the lifetime is too long".into(),
                        )
                    })?,
            ),
        };
        let actions = match request.actions {
            None => None,
            Some(list) => Some(self.key_actions(principal, list)?),
        };
        let models = match request.models {
            None => None,
            Some(list) => {
                if list.len() > 100 {
                    return Err(reject(
                        codes::INVALID_KEY_MODELS,
                        "models may list at most 100 profiles".into(),
                    ));
                }
                let mut models: Vec<String> = Vec::new();
                for m in list {
                    let m = m.trim().to_owned();
                    if m.is_empty() || m.chars().count() > 128 || m.chars().any(unprintable) {
                        return Err(reject(
                            codes::INVALID_KEY_MODELS,
                            "each entry of models must be a profile name of 1 to 128 printable characters".into(),
                        ));
                    }
                    if !models.contains(&m) {
                        models.push(m);
                    }
                }
                Some(models)
            }
        };
        let bounded = |v: Option<u32>, max: u32| v.is_none_or(|v| (1..=max).contains(&v));
        if !bounded(request.rpm, 1_000_000) || !bounded(request.max_concurrent, 10_000) {
            return Err(reject(
                codes::INVALID_KEY_LIMITS,
                "rpm must be 1 to 1000000 and max_concurrent 1 to 10000".into(),
            ));
        }
        Ok(KeySpec {
            name,
            actions,
            models,
            rpm: request.rpm,
            max_concurrent: request.max_concurrent,
            created_at,
            expires_at,
        })
    }

    /// The actions a new key asks for: each declared, within the owner's role,
    /// and not one that needs a login token.
    fn key_actions(
        &self,
        principal: &Principal,
        list: Vec<String>,
    ) -> Result<Vec<String>, AuthError> {
        let reject = |detail: String| AuthError::KeyRejected(codes::INVALID_KEY_ACTIONS, detail);
        if list.is_empty() {
            return Err(reject("actions must list at least one action (leave it out for all the owner's role allows)".into()));
        }
        let mut out: Vec<String> = Vec::new();
        for name in list {
            let Some(decl) = self
                .permissions
                .declared()
                .iter()
                .find(|d| d.action.as_str() == name)
            else {
                return Err(reject(format!("unknown action {name:?}")));
            };
            if actions::LOGIN_ONLY.contains(&decl.action) {
                return Err(reject(format!(
                    "{name} needs a login token and cannot be given to a key"
                )));
            }
            if principal.role() < self.permissions.least_role(decl.action) {
                return Err(reject(format!(
                    "your role ({}) does not allow {name}",
                    principal.role()
                )));
            }
            if !out.contains(&name) {
                out.push(name);
            }
        }
        Ok(out)
    }

    /// The keys of `user_id`, newest first.
    pub async fn list_keys(&self, user_id: &str) -> Result<Vec<KeyRow>, AuthError> {
        keys::list(&self.db, user_id).await
    }

    /// The keys of user `id` (for an admin): 404 when there is no such user.
    pub async fn list_user_keys(&self, id: &str) -> Result<Vec<KeyRow>, AuthError> {
        let user = match is_valid_id(id) {
            true => users::find(&self.db, id).await?,
            false => None,
        };
        let user = user.ok_or(AuthError::UserNotFound)?;
        keys::list(&self.db, &user.key()).await
    }

    /// Revoke key `id`: the caller's own, or anyone's with `keys.manage`; another
    /// user's key is 404 without it (its existence is not revealed).
    pub async fn revoke_key(&self, principal: &Principal, id: &str) -> Result<(), AuthError> {
        let any = principal.can(actions::KEYS_MANAGE);
        let row = match is_valid_id(id) {
            true => keys::find(&self.db, id).await?,
            false => None,
        };
        let row = row
            .filter(|r| any || r.user_id == principal.user_id())
            .ok_or(AuthError::KeyNotFound)?;
        let owner = (!any).then_some(principal.user_id());
        let change = self.guard.change();
        if !keys::delete(&self.db, id, owner).await? {
            return Err(AuthError::KeyNotFound);
        }
        drop(change);
        self.publish(Actor::of(principal), actions::KEY_REVOKE, key_target(&row))
            .await;
        Ok(())
    }

    /// The user behind a principal.
    pub async fn me(&self, principal: &Principal) -> Result<Arc<UserRow>, AuthError> {
        if let Some(user) = self.guard.user(principal.user_id()) {
            return Ok(user);
        }
        users::find(&self.db, principal.user_id())
            .await?
            .map(Arc::new)
            .ok_or(AuthError::InvalidToken)
    }

    /// Change the caller's password. Every earlier token of theirs stops working;
    /// the returned token is the one to use from now on.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: String,
        address: Option<std::net::IpAddr>,
        user_agent: Option<String>,
    ) -> Result<IssuedToken, AuthError> {
        // A stolen token must not guess the current password: the login budget.
        if let Some(ip) = address {
            self.throttle.check(Some(principal.email()), ip).await?;
        }
        let new = Password::parse(new)?;
        let user = self.me(principal).await?;
        let target = user_target(&user);
        if !self
            .hasher
            .verify(current, Some(&user.password_hash))
            .await?
        {
            let event = Event::new(Actor::of(principal), actions::PASSWORD_CHANGE, target)
                .outcome(Outcome::Denied)
                .detail(AuthError::WrongCurrentPassword.to_string());
            self.events.publish(event).await;
            self.failed_attempt(Some(principal.email()), address).await;
            return Err(AuthError::WrongCurrentPassword);
        }
        let hash = self.hasher.hash(&new).await?;
        let change = self.guard.change();
        let user = users::set_password(&self.db, &user.key(), hash)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        drop(change);
        self.publish(Actor::of(principal), actions::PASSWORD_CHANGE, target)
            .await;
        let origin = Origin {
            address: address.map(|a| a.to_string()),
            user_agent,
        };
        self.issue(&user, &origin).await
    }

    /// Users, newest first.
    pub async fn list_users(&self, status: Option<UserStatus>) -> Result<Vec<UserRow>, AuthError> {
        users::list(&self.db, status).await
    }

    /// Accounts waiting for approval.
    pub async fn pending_count(&self) -> Result<i64, AuthError> {
        users::count_pending(&self.db).await
    }

    /// Change a user's email, role or status, keeping an approved admin.
    /// `is_admin` true means admin; false demotes an admin to user and changes
    /// nobody else; with a `role` that disagrees it is refused.
    pub async fn update_user(
        &self,
        actor: &Principal,
        id: &str,
        update: UserUpdate,
    ) -> Result<UserRow, AuthError> {
        if !is_valid_id(id) {
            return Err(AuthError::UserNotFound);
        }
        let before = users::find(&self.db, id)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        let role = match (update.role, update.is_admin) {
            (Some(role), Some(admin)) if (role == Role::Admin) != admin => {
                return Err(AuthError::RoleConflict);
            }
            (Some(role), _) => Some(role),
            (None, Some(true)) => Some(Role::Admin),
            (None, Some(false)) if before.role() == Role::Admin => Some(Role::User),
            (None, _) => None,
        };
        let patch = UserPatch {
            email: update.email.as_deref().map(Email::parse).transpose()?,
            role,
            status: update.status,
        };
        let change = self.guard.change();
        let after = users::update(&self.db, id, &patch, actor.user_id())
            .await?
            .ok_or(AuthError::UserNotFound)?;
        drop(change);
        let by = Actor::of(actor);
        let target = user_target(&after);
        if after.role() != before.role() {
            let detail = format!("{} -> {}", before.role(), after.role());
            let event = Event::new(by.clone(), actions::ROLE_CHANGE, target.clone()).detail(detail);
            self.events.publish(event).await;
        }
        if after.status() != before.status() {
            match after.status() {
                UserStatus::Approved if before.approved_at.is_none() => {
                    self.publish(by, actions::APPROVE, target).await
                }
                UserStatus::Disabled => self.publish(by, actions::DISABLE, target).await,
                _ => {}
            }
        }
        Ok(after)
    }

    /// Delete a user, keeping an approved admin.
    pub async fn delete_user(&self, by: Actor, id: &str) -> Result<(), AuthError> {
        let user = match is_valid_id(id) {
            true => users::find(&self.db, id).await?,
            false => None,
        };
        let user = user.ok_or(AuthError::UserNotFound)?;
        let change = self.guard.change();
        if !users::delete(&self.db, id).await? {
            return Err(AuthError::UserNotFound);
        }
        drop(change);
        self.publish(by, actions::DELETE, user_target(&user)).await;
        Ok(())
    }

    /// Set a user's password; their earlier tokens stop working.
    pub async fn reset_password(
        &self,
        by: Actor,
        id: &str,
        password: String,
    ) -> Result<(), AuthError> {
        let password = Password::parse(password)?;
        let user = match is_valid_id(id) {
            true => users::find(&self.db, id).await?,
            false => None,
        };
        let user = user.ok_or(AuthError::UserNotFound)?;
        let hash = self.hasher.hash(&password).await?;
        let change = self.guard.change();
        users::set_password(&self.db, id, hash)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        drop(change);
        self.publish(by, actions::PASSWORD_RESET, user_target(&user))
            .await;
        Ok(())
    }

    /// Set the password of the user with this email (offline administration).
    pub async fn reset_password_by_email(
        &self,
        by: Actor,
        email: &str,
        password: String,
    ) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        let user = users::find_by_email(&self.db, &email)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        self.reset_password(by, &user.key(), password).await
    }

    /// Record that `by` created `user` (offline administration).
    pub async fn record_created(&self, by: Actor, user: &UserRow) {
        self.publish(by, actions::REGISTER, user_target(user)).await;
    }

    /// Mint a single-use stream ticket for `path`, resting on the caller's
    /// session or key: it dies with it.
    pub async fn mint_ticket(
        &self,
        principal: &Principal,
        path: &str,
    ) -> Result<IssuedTicket, AuthError> {
        let path_ok = path.starts_with('/')
            && path.len() <= 1024
            && !path.contains(['?', '#'])
            && !path.chars().any(|c| c.is_control() || c.is_whitespace());
        if !path_ok {
            return Err(AuthError::InvalidTicketPath);
        }
        let (jti, key_id) = match principal.credential() {
            Some(CredentialId::Session(jti)) => (Some(jti.clone()), None),
            Some(CredentialId::Key(id)) => (None, Some(id.clone())),
            None => return Err(AuthError::InvalidToken),
        };
        let user = self.me(principal).await?;
        let ticket = hex::encode(rand::random::<[u8; 32]>());
        let ttl = self.config.stream_ticket_ttl;
        let spec = TicketSpec {
            user_id: user.key(),
            token_version: user.token_version,
            jti,
            key_id,
            path: path.to_owned(),
            expires_at: self.clock.now() + ttl,
        };
        users::create_ticket(&self.db, &digest(&ticket), &spec).await?;
        Ok(IssuedTicket {
            ticket,
            expires_in: ttl.as_secs(),
        })
    }
}

fn credential_kind(credential: &Credential<'_>) -> &'static str {
    match credential {
        Credential::Bearer(b) if keys::looks_like_key(b) => "api_key",
        Credential::Bearer(_) => "token",
        Credential::ApiKey(_) => "api_key",
        Credential::StreamTicket { .. } => "ticket",
    }
}

/// Control, format (invisible, direction-changing) and line or paragraph
/// separator characters: not "printable" in a key's name.
fn unprintable(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        G::Control | G::Format | G::LineSeparator | G::ParagraphSeparator
    )
}

/// Tickets are stored by digest, so the store never holds a usable ticket.
fn digest(ticket: &str) -> String {
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

impl AuthService {
    /// A span with the credential's kind only: never the credential.
    #[tracing::instrument(name = "authenticate", level = "debug", skip_all, fields(kind = credential_kind(&credential)))]
    async fn authenticate_credential(
        &self,
        credential: Credential<'_>,
        from: Option<std::net::IpAddr>,
    ) -> Result<Principal, AuthError> {
        let principal = match credential {
            Credential::Bearer(key) | Credential::ApiKey(key) if keys::looks_like_key(key) => {
                let (user, row) = self.check_key(key).await?;
                self.key_principal(&user, &row, CredentialKind::ApiKey)
            }
            Credential::ApiKey(_) => return Err(AuthError::InvalidApiKey),
            Credential::Bearer(token) => {
                let (user, claims) = self.check_token(token).await?;
                self.principal(&user, CredentialKind::Token)
                    .with_credential(CredentialId::Session(claims.jti))
            }
            Credential::StreamTicket { ticket, path } => self.check_ticket(ticket, path).await?,
        };
        if let Some(id) = principal.credential() {
            self.touch(id, from);
        }
        Ok(principal)
    }
}

#[async_trait::async_trait]
impl Authenticator for AuthService {
    async fn authenticate(
        &self,
        credential: Credential<'_>,
        from: Option<std::net::IpAddr>,
    ) -> Result<Principal, ApiError> {
        self.authenticate_credential(credential, from)
            .await
            .map_err(|err| {
                tracing::debug!(reason = %err, "credential refused");
                err.into()
            })
    }

    async fn revalidate(&self, principal: &Principal) -> Option<Principal> {
        let via = principal.via();
        let now = self.clock.now();
        match principal.credential()? {
            CredentialId::Session(jti) => {
                let (user, session) = self.load_session(principal.user_id(), jti).await.ok()??;
                let live = user.key() == principal.user_id()
                    && session.user_id == principal.user_id()
                    && session.expires_at > now;
                (live && user.status() == UserStatus::Approved).then(|| {
                    self.principal(&user, via)
                        .with_credential(CredentialId::Session(jti.clone()))
                })
            }
            CredentialId::Key(id) => {
                let (user, row) = self.load_key(id).await.ok()??;
                let live = !row.expired(now) && row.user_id == principal.user_id();
                (live && user.status() == UserStatus::Approved)
                    .then(|| self.key_principal(&user, &row, via))
            }
        }
    }
}
