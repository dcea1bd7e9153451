//! `AuthService`: the plugin's domain. Registration, login, token checks,
//! password changes and resets, user administration and stream tickets. No HTTP
//! types here; `api.rs` maps results to responses.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{
    Actor, ActorVia, ApiError, Authenticator, Credential, CredentialKind, Db, Event, EventAction,
    EventBus, Outcome, Permissions, Principal, Role, Target,
};
use sha2::{Digest, Sha256};

use crate::{
    actions,
    config::{AuthConfig, Registration},
    error::AuthError,
    hashing::Hasher,
    input::{Email, Password, is_valid_id},
    tokens::{Claims, Tokens, now_secs},
    users::{self, NewAccount, UserPatch, UserRow, UserStatus},
};

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
}

fn user_target(user: &UserRow) -> Target {
    Target::new("user", Some(user.key()), Some(user.email.clone()))
}

impl AuthService {
    /// A service over `db` with `config`'s keys and parameters, judging callers
    /// against `permissions` and publishing its events on `events`.
    pub fn new(
        db: Db,
        hasher: Hasher,
        tokens: Tokens,
        config: AuthConfig,
        permissions: Arc<Permissions>,
        events: EventBus,
    ) -> Self {
        let throttle = crate::throttle::Throttle::new(config.throttle.clone());
        Self {
            db,
            hasher,
            tokens,
            config,
            permissions,
            events,
            throttle,
        }
    }

    async fn publish(&self, actor: Actor, action: EventAction, target: Target) {
        self.events.publish(Event::new(actor, action, target)).await;
    }

    /// The throttle's counters (for the admin's list and clear).
    pub fn throttle(&self) -> &crate::throttle::Throttle {
        &self.throttle
    }

    /// Count a failure; publish `auth.throttle_lock` when it started a lock.
    async fn failed_attempt(&self, email: Option<&str>, address: Option<std::net::IpAddr>) {
        let Some(ip) = address else {
            return;
        };
        if self.throttle.failed(email, ip) {
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
            self.throttle.counted(ip).map_err(AuthError::Throttled)?;
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
            if let Err(wait) = self.throttle.check(account, ip) {
                return Err(AuthError::Throttled(wait));
            }
        }
        let user = match &email {
            Some(email) => users::find_by_email(&self.db, email).await?,
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
                UserStatus::Approved => self.issue(user),
            },
            _ => Err(AuthError::InvalidCredentials),
        };
        let email = email.map(|e| e.as_str().to_owned());
        match (&result, address) {
            (Ok(_), Some(ip)) => self
                .throttle
                .succeeded(email.as_deref().unwrap_or_default(), ip),
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

    fn issue(&self, user: &UserRow) -> Result<IssuedToken, AuthError> {
        let (access_token, _) = self
            .tokens
            .issue(&user.key(), user.token_version, now_secs())?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.tokens.ttl().as_secs(),
        })
    }

    /// The approved user a token belongs to, and its claims. Fails for bad,
    /// expired or revoked tokens and for users that are gone or no longer approved.
    pub async fn check_token(&self, token: &str) -> Result<(UserRow, Claims), AuthError> {
        let claims = self.tokens.verify(token)?;
        if !is_valid_id(&claims.sub) {
            return Err(AuthError::InvalidToken);
        }
        let (user, revoked) = users::find_for_token(&self.db, &claims.sub, &claims.jti).await?;
        let user = user.ok_or(AuthError::InvalidToken)?;
        if revoked || user.token_version != claims.ver {
            return Err(AuthError::TokenRevoked);
        }
        if user.status() != UserStatus::Approved {
            return Err(AuthError::AccountInactive);
        }
        Ok((user, claims))
    }

    async fn check_ticket(&self, ticket: &str) -> Result<UserRow, AuthError> {
        let found = users::take_ticket(&self.db, &digest(ticket)).await?;
        let ticket = found
            .filter(|t| t.expires_at > Utc::now())
            .ok_or(AuthError::InvalidTicket)?;
        let jti = ticket.jti.as_deref().unwrap_or_default();
        let (user, revoked) = users::find_for_token(&self.db, &ticket.user_id, jti).await?;
        let user = user.ok_or(AuthError::InvalidTicket)?;
        if revoked || user.token_version != ticket.token_version {
            return Err(AuthError::TokenRevoked);
        }
        if user.status() != UserStatus::Approved {
            return Err(AuthError::AccountInactive);
        }
        Ok(user)
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

    /// Revoke the token presented by the caller.
    pub async fn logout(&self, token: &str) -> Result<(), AuthError> {
        let (_, claims) = self.check_token(token).await?;
        let expires_at = DateTime::from_timestamp(claims.exp as i64, 0).unwrap_or_else(Utc::now);
        users::revoke_token(&self.db, &claims.jti, expires_at).await
    }

    /// The user behind a principal.
    pub async fn me(&self, principal: &Principal) -> Result<UserRow, AuthError> {
        users::find(&self.db, principal.user_id())
            .await?
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
    ) -> Result<IssuedToken, AuthError> {
        // A stolen token must not guess the current password: the login budget.
        if let Some(ip) = address {
            self.throttle
                .check(Some(principal.email()), ip)
                .map_err(AuthError::Throttled)?;
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
        let user = users::set_password(&self.db, &user.key(), hash)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        self.publish(Actor::of(principal), actions::PASSWORD_CHANGE, target)
            .await;
        self.issue(&user)
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
        let after = users::update(&self.db, id, &patch, actor.user_id())
            .await?
            .ok_or(AuthError::UserNotFound)?;
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
        if !users::delete(&self.db, id).await? {
            return Err(AuthError::UserNotFound);
        }
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
        users::set_password(&self.db, id, hash)
            .await?
            .ok_or(AuthError::UserNotFound)?;
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

    /// Mint a single-use stream ticket for the holder of `token`; it is void once
    /// that token is revoked.
    pub async fn mint_ticket(&self, token: &str) -> Result<IssuedTicket, AuthError> {
        let (user, claims) = self.check_token(token).await?;
        let ticket = hex::encode(rand::random::<[u8; 32]>());
        let ttl = self.config.stream_ticket_ttl;
        let expires_at = Utc::now() + ttl;
        users::create_ticket(
            &self.db,
            &digest(&ticket),
            &user.key(),
            user.token_version,
            &claims.jti,
            expires_at,
        )
        .await?;
        Ok(IssuedTicket {
            ticket,
            expires_in: ttl.as_secs(),
        })
    }
}

/// Tickets are stored by digest, so the store never holds a usable ticket.
fn digest(ticket: &str) -> String {
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

#[async_trait::async_trait]
impl Authenticator for AuthService {
    async fn authenticate(&self, credential: Credential<'_>) -> Result<Principal, ApiError> {
        let (user, via) = match credential {
            Credential::Bearer(token) => (
                self.check_token(token).await.map(|(u, _)| u),
                CredentialKind::Token,
            ),
            Credential::StreamTicket(ticket) => {
                (self.check_ticket(ticket).await, CredentialKind::Ticket)
            }
        };
        match user {
            Ok(user) => Ok(self.principal(&user, via)),
            Err(err) => {
                tracing::debug!(reason = %err, "credential refused");
                Err(err.into())
            }
        }
    }
}
