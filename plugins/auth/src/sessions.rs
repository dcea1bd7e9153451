//! Login sessions: every login token is a `session` row keyed by its `jti`, with
//! its user, times, address and user agent. A token whose session is gone is
//! revoked; logout, `logout-all`, a password change or reset, and disabling or
//! deleting the account delete sessions.

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{
    Db,
    store::{Binds, bind, record_key, transaction},
};
use surrealdb::types::{RecordId, SurrealValue};

use crate::{error::AuthError, users::UserRow};

/// The longest user agent kept.
pub const MAX_USER_AGENT: usize = 256;

/// A stored session.
#[derive(Debug, Clone, SurrealValue)]
pub struct SessionRow {
    /// `session:<jti>`.
    pub id: RecordId,
    /// The user.
    pub user_id: String,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// When its token expires.
    pub expires_at: DateTime<Utc>,
    /// Last request, to within a minute.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// The client's address at login (or last seen).
    pub address: Option<String>,
    /// The client's `User-Agent` at login.
    pub user_agent: Option<String>,
}

impl SessionRow {
    /// The session id (the token's `jti`).
    pub fn key(&self) -> String {
        record_key(&self.id)
    }
}

/// Where a login came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client's address.
    pub address: Option<String>,
    /// Its `User-Agent`, cut to [`MAX_USER_AGENT`] characters.
    pub user_agent: Option<String>,
}

/// Record the session `jti` of `user_id`, and forget expired sessions.
pub async fn create(
    db: &Db,
    jti: &str,
    user_id: &str,
    expires_at: DateTime<Utc>,
    origin: &Origin,
) -> Result<(), AuthError> {
    let agent = origin
        .user_agent
        .as_ref()
        .map(|a| a.chars().take(MAX_USER_AGENT).collect::<String>());
    db.query(
        "CREATE type::record('session', $jti) CONTENT { user_id: $user, created_at: time::now(),
             expires_at: $exp, address: $address, user_agent: $agent };
         DELETE session WHERE expires_at < time::now();",
    )
    .bind(("jti", jti.to_owned()))
    .bind(("user", user_id.to_owned()))
    .bind(("exp", expires_at))
    .bind(("address", origin.address.clone()))
    .bind(("agent", agent))
    .await?
    .check()?;
    Ok(())
}

/// The user `id` and the session `jti`: one round trip for every request
/// authenticated by a token.
#[tracing::instrument(
    name = "store",
    level = "debug",
    skip_all,
    fields(query = "session_with_user")
)]
pub async fn find_with_user(
    db: &Db,
    id: &str,
    jti: &str,
) -> Result<(Option<UserRow>, Option<SessionRow>), AuthError> {
    let mut r = db
        .query(
            "SELECT * FROM type::record('user', $id); SELECT * FROM type::record('session', $jti);",
        )
        .bind(("id", id.to_owned()))
        .bind(("jti", jti.to_owned()))
        .await?;
    let user = r.take::<Vec<UserRow>>(0)?.into_iter().next();
    let session = r.take::<Vec<SessionRow>>(1)?.into_iter().next();
    Ok((user, session))
}

/// A user's live sessions, newest first.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<SessionRow>, AuthError> {
    let mut r = db
        .query("SELECT * FROM session WHERE user_id = $user AND expires_at > time::now() ORDER BY created_at DESC")
        .bind(("user", user_id.to_owned()))
        .await?;
    Ok(r.take(0)?)
}

/// End session `jti` of `user_id` and the stream tickets its token minted.
/// `false` when the user has no such session.
pub async fn delete(db: &Db, user_id: &str, jti: &str) -> Result<bool, AuthError> {
    let sql = "BEGIN TRANSACTION;
LET $gone = DELETE session WHERE id = type::record('session', $jti) AND user_id = $user RETURN BEFORE;
IF array::len($gone) > 0 { DELETE stream_ticket WHERE jti = $jti };
RETURN array::len($gone) > 0;
COMMIT TRANSACTION;";
    let binds: Binds = vec![
        bind("jti", jti.to_owned()),
        bind("user", user_id.to_owned()),
    ];
    let value = transaction(db, sql, &binds).await?;
    Ok(bool::from_value(value)?)
}

/// End every session and every stream ticket of `user_id` (API keys stay).
pub async fn delete_all(db: &Db, user_id: &str) -> Result<(), AuthError> {
    db.query(
        "DELETE session WHERE user_id = $user;
         DELETE stream_ticket WHERE user_id = $user;",
    )
    .bind(("user", user_id.to_owned()))
    .await?
    .check()?;
    Ok(())
}

/// Record a request on session `jti` (callers do this at most once a minute).
pub async fn touch(db: &Db, jti: &str, address: Option<String>) -> Result<(), AuthError> {
    db.query("UPDATE type::record('session', $jti) SET last_seen_at = time::now(), address = $address ?? address")
        .bind(("jti", jti.to_owned()))
        .bind(("address", address))
        .await?
        .check()?;
    Ok(())
}
