//! `AuthService`: the plugin's domain. Registration, login, token checks,
//! password changes and resets, user administration and stream tickets. No HTTP
//! types here; `api.rs` maps results to responses.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{ApiError, Authenticator, Credential, Db, Permissions, Principal, Role};
use sha2::{Digest, Sha256};

use crate::{
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
    /// New admin flag.
    pub is_admin: Option<bool>,
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
}

impl AuthService {
    /// A service over `db` with `config`'s keys and parameters.
    pub fn new(db: Db, hasher: Hasher, tokens: Tokens, config: AuthConfig) -> Self {
        let permissions = Arc::new(config.permissions.clone());
        Self {
            db,
            hasher,
            tokens,
            config,
            permissions,
        }
    }

    /// The store.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Register an account: the first one ever is an approved admin; later ones
    /// wait for approval (or are approved at once under open registration).
    pub async fn register(&self, email: &str, password: String) -> Result<UserRow, AuthError> {
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        if self.config.registration == Registration::Closed {
            return Err(AuthError::RegistrationClosed);
        }
        let hash = self.hasher.hash(&password).await?;
        let approve = self.config.registration == Registration::Open;
        users::create(&self.db, &email, hash, NewAccount::Registered { approve }).await
    }

    /// Create an approved account on an operator's behalf (bootstrap, CLI).
    pub async fn seed(
        &self,
        email: &Email,
        password: &Password,
        admin: bool,
    ) -> Result<UserRow, AuthError> {
        let hash = self.hasher.hash(password).await?;
        users::create(&self.db, email, hash, NewAccount::Seeded { admin }).await
    }

    /// Exchange email and password for a token. Unknown emails and wrong passwords
    /// get the same error after the same work (a dummy hash is verified); only with
    /// the right password does a pending or disabled account learn its status.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        grant_type: Option<&str>,
    ) -> Result<IssuedToken, AuthError> {
        if grant_type.is_some_and(|g| !g.is_empty() && g != "password") {
            return Err(AuthError::UnsupportedGrantType);
        }
        let user = match Email::parse(username) {
            Ok(email) => users::find_by_email(&self.db, &email).await?,
            Err(_) => None,
        };
        let matches = self
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await?;
        let user = match user {
            Some(user) if matches => user,
            _ => return Err(AuthError::InvalidCredentials),
        };
        match user.status() {
            UserStatus::Pending => Err(AuthError::AccountPending),
            UserStatus::Disabled => Err(AuthError::AccountDisabled),
            UserStatus::Approved => self.issue(&user),
        }
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

    fn principal(&self, user: &UserRow) -> Principal {
        let role = if user.is_admin {
            Role::Admin
        } else {
            Role::User
        };
        Principal::new(
            user.key(),
            user.email.clone(),
            role,
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
    ) -> Result<IssuedToken, AuthError> {
        let new = Password::parse(new)?;
        let user = self.me(principal).await?;
        if !self
            .hasher
            .verify(current, Some(&user.password_hash))
            .await?
        {
            return Err(AuthError::WrongCurrentPassword);
        }
        let hash = self.hasher.hash(&new).await?;
        let user = users::set_password(&self.db, &user.key(), hash)
            .await?
            .ok_or(AuthError::InvalidToken)?;
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

    /// Change a user's email, admin flag or status, keeping an approved admin.
    pub async fn update_user(
        &self,
        actor: &Principal,
        id: &str,
        update: UserUpdate,
    ) -> Result<UserRow, AuthError> {
        if !is_valid_id(id) {
            return Err(AuthError::UserNotFound);
        }
        let patch = UserPatch {
            email: update.email.as_deref().map(Email::parse).transpose()?,
            is_admin: update.is_admin,
            status: update.status,
        };
        users::update(&self.db, id, &patch, actor.user_id())
            .await?
            .ok_or(AuthError::UserNotFound)
    }

    /// Delete a user, keeping an approved admin.
    pub async fn delete_user(&self, id: &str) -> Result<(), AuthError> {
        if is_valid_id(id) && users::delete(&self.db, id).await? {
            Ok(())
        } else {
            Err(AuthError::UserNotFound)
        }
    }

    /// Set a user's password; their earlier tokens stop working.
    pub async fn reset_password(&self, id: &str, password: String) -> Result<(), AuthError> {
        let password = Password::parse(password)?;
        if !is_valid_id(id) || users::find(&self.db, id).await?.is_none() {
            return Err(AuthError::UserNotFound);
        }
        let hash = self.hasher.hash(&password).await?;
        users::set_password(&self.db, id, hash)
            .await?
            .map(|_| ())
            .ok_or(AuthError::UserNotFound)
    }

    /// Set the password of the user with this email (offline administration).
    pub async fn reset_password_by_email(
        &self,
        email: &str,
        password: String,
    ) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        let user = users::find_by_email(&self.db, &email)
            .await?
            .ok_or(AuthError::UserNotFound)?;
        self.reset_password(&user.key(), password).await
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
        let user = match credential {
            Credential::Bearer(token) => self.check_token(token).await.map(|(u, _)| u),
            Credential::StreamTicket(ticket) => self.check_ticket(ticket).await,
        };
        match user {
            Ok(user) => Ok(self.principal(&user)),
            Err(err) => {
                tracing::debug!(reason = %err, "credential refused");
                Err(err.into())
            }
        }
    }
}
