//! The user store: a SCHEMAFULL `user` table with a UNIQUE index on the normalised
//! email, plus stream tickets (sessions and keys have their own modules). Rules that span rows (the first
//! account becomes the admin; no change may leave the system without an approved
//! admin) run inside transactions that all write one guard record, so concurrent
//! ones conflict and are retried instead of both passing the check.

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{
    Db, Migration, Role,
    store::{Binds, StoreFailure, bind, classify, transaction},
};
use surrealdb::types::{RecordId, SurrealValue, Value};

use crate::{error::AuthError, input::Email};

/// The plugin's migrations.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
    version: 1,
    name: "users, revoked tokens and stream tickets",
    sql: "
DEFINE TABLE user SCHEMAFULL;
DEFINE FIELD email ON user TYPE string ASSERT string::is_email($value) AND $value == string::lowercase(string::trim($value));
DEFINE FIELD password_hash ON user TYPE string;
DEFINE FIELD is_admin ON user TYPE bool;
DEFINE FIELD status ON user TYPE string ASSERT $value IN ['pending', 'approved', 'disabled'];
DEFINE FIELD created_at ON user TYPE datetime;
DEFINE FIELD approved_at ON user TYPE option<datetime>;
DEFINE FIELD approved_by ON user TYPE option<string>;
DEFINE FIELD token_version ON user TYPE int;
DEFINE INDEX user_email_unique ON user FIELDS email UNIQUE;
DEFINE TABLE auth_guard SCHEMAFULL;
DEFINE FIELD touched ON auth_guard TYPE datetime;
DEFINE TABLE revoked_token SCHEMAFULL;
DEFINE FIELD expires_at ON revoked_token TYPE datetime;
DEFINE TABLE stream_ticket SCHEMAFULL;
DEFINE FIELD user_id ON stream_ticket TYPE string;
DEFINE FIELD token_version ON stream_ticket TYPE int;
DEFINE FIELD expires_at ON stream_ticket TYPE datetime;
",
    },
    Migration {
        version: 2,
        name: "stream tickets remember the token that minted them",
        sql: "DEFINE FIELD jti ON stream_ticket TYPE option<string>;",
    },
    Migration {
        version: 3,
        name: "roles: viewer, user, operator, admin",
        sql: "
DEFINE FIELD role ON user TYPE string
    ASSERT $value IN ['viewer', 'user', 'operator', 'admin'] DEFAULT 'user';
UPDATE user SET role = IF is_admin { 'admin' } ELSE { 'user' };
",
    },
    Migration {
        version: 4,
        name: "sessions (every login token), API keys, stream tickets scoped to a path",
        sql: "
DEFINE TABLE session SCHEMAFULL;
DEFINE FIELD user_id ON session TYPE string;
DEFINE FIELD created_at ON session TYPE datetime;
DEFINE FIELD expires_at ON session TYPE datetime;
DEFINE FIELD last_seen_at ON session TYPE option<datetime>;
DEFINE FIELD address ON session TYPE option<string>;
DEFINE FIELD user_agent ON session TYPE option<string>;
DEFINE INDEX session_user ON session FIELDS user_id;
DEFINE INDEX session_expiry ON session FIELDS expires_at;
DEFINE TABLE api_key SCHEMAFULL;
DEFINE FIELD user_id ON api_key TYPE string;
DEFINE FIELD name ON api_key TYPE string;
DEFINE FIELD digest ON api_key TYPE string;
DEFINE FIELD actions ON api_key TYPE option<array<string>>;
DEFINE FIELD models ON api_key TYPE option<array<string>>;
DEFINE FIELD rpm ON api_key TYPE option<int>;
DEFINE FIELD max_concurrent ON api_key TYPE option<int>;
DEFINE FIELD created_at ON api_key TYPE datetime;
DEFINE FIELD expires_at ON api_key TYPE option<datetime>;
DEFINE FIELD last_used_at ON api_key TYPE option<datetime>;
DEFINE FIELD last_used_address ON api_key TYPE option<string>;
DEFINE INDEX api_key_owner_name ON api_key FIELDS user_id, name UNIQUE;
DEFINE TABLE key_guard SCHEMAFULL;
DEFINE FIELD touched ON key_guard TYPE datetime;
DEFINE FIELD path ON stream_ticket TYPE option<string>;
DEFINE FIELD key_id ON stream_ticket TYPE option<string>;
DELETE stream_ticket;
REMOVE TABLE IF EXISTS revoked_token;
",
    },
    Migration {
        version: 5,
        name: "login throttling in the store, for managers sharing it",
        sql: crate::throttle::MIGRATION_SQL,
    },
];

/// An account's state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Deserialize, SurrealValue,
)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
#[surreal(untagged, rename_all = "lowercase")]
pub enum UserStatus {
    /// Registered, waiting for an admin's approval.
    Pending,
    /// May log in.
    Approved,
    /// Refused by an admin; cannot log in.
    Disabled,
}

impl UserStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Pending => "pending",
            UserStatus::Approved => "approved",
            UserStatus::Disabled => "disabled",
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, SurrealValue)]
pub struct UserRow {
    /// Record id (`user:<key>`).
    pub id: RecordId,
    /// Normalised email.
    pub email: String,
    /// Argon2id PHC string. Never leaves the server.
    pub password_hash: String,
    /// Administrator flag: exactly `role == "admin"`, kept for the guard queries.
    pub is_admin: bool,
    /// The user's role (a stored name outside the four fails the read).
    pub role: Role,
    /// The account's state (likewise).
    pub status: UserStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// First approval time.
    pub approved_at: Option<DateTime<Utc>>,
    /// Id of the admin who approved.
    pub approved_by: Option<String>,
    /// Bumped to revoke every earlier token.
    pub token_version: i64,
}

impl UserRow {
    /// The id as clients see it (the record key).
    pub fn key(&self) -> String {
        mlx_manager_sdk::store::record_key(&self.id)
    }

    /// The account's state.
    pub fn status(&self) -> UserStatus {
        self.status
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.role
    }
}

fn row(value: Value) -> Result<Option<UserRow>, AuthError> {
    Ok(Option::<UserRow>::from_value(value)?)
}

/// What the guard queries `THROW`: codes of ours, mapped back in
/// [`map_write_error`].
mod thrown {
    pub const DEMOTION: &str = "last_admin_demotion";
    pub const DISABLE: &str = "last_admin_disable";
    pub const DELETE: &str = "last_admin_delete";
}

fn map_write_error(err: surrealdb::Error) -> AuthError {
    match classify(&err) {
        StoreFailure::Unique { index } if index == "user_email_unique" => AuthError::EmailTaken,
        StoreFailure::Assert { field } if field == "email" => AuthError::InvalidEmail,
        StoreFailure::Thrown(code) => match code.as_str() {
            thrown::DEMOTION => AuthError::LastAdminDemotion,
            thrown::DISABLE => AuthError::LastAdminDisable,
            thrown::DELETE => AuthError::LastAdminDelete,
            _ => AuthError::Store(err),
        },
        _ => AuthError::Store(err),
    }
}

const GUARD: &str = "UPSERT auth_guard:admins SET touched = time::now();";
const NO_ACTIVE_ADMIN: &str = "array::len((SELECT VALUE id FROM user WHERE is_admin = true AND status = 'approved' LIMIT 1)) == 0";

/// How a new account starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewAccount {
    /// Through registration: the first account ever becomes an approved admin;
    /// later ones are approved only when `approve` (open registration).
    Registered {
        /// Approve at once (open registration).
        approve: bool,
    },
    /// By an operator (bootstrap or CLI): approved, admin or not.
    Seeded {
        /// Make the account an admin.
        admin: bool,
    },
}

/// Create an account whose role (unless it becomes the admin) is `role`.
/// Exactly one of any number of concurrent first registrations becomes the admin.
pub async fn create(
    db: &Db,
    email: &Email,
    password_hash: String,
    how: NewAccount,
    role: Role,
) -> Result<UserRow, AuthError> {
    let (seeded, admin, approve) = match how {
        NewAccount::Registered { approve } => (false, false, approve),
        NewAccount::Seeded { admin } => (true, admin, true),
    };
    let sql = format!(
        "BEGIN TRANSACTION;
{GUARD}
LET $first = !$seeded AND array::len((SELECT VALUE id FROM user LIMIT 1)) == 0;
LET $approved = $first OR $approve;
LET $created = CREATE ONLY user CONTENT {{
    email: $email,
    password_hash: $hash,
    is_admin: $first OR $admin,
    role: IF $first OR $admin {{ 'admin' }} ELSE {{ $role }},
    status: IF $approved {{ 'approved' }} ELSE {{ 'pending' }},
    created_at: time::now(),
    approved_at: IF $approved {{ time::now() }} ELSE {{ NONE }},
    token_version: 0
}};
RETURN $created;
COMMIT TRANSACTION;"
    );
    let binds: Binds = vec![
        bind("email", email.as_str().to_owned()),
        bind("hash", password_hash),
        bind("seeded", seeded),
        bind("admin", admin),
        bind("approve", approve),
        bind("role", role.as_str().to_owned()),
    ];
    let value = transaction(db, &sql, &binds)
        .await
        .map_err(map_write_error)?;
    row(value)?.ok_or_else(|| AuthError::Internal("created user not returned".into()))
}

/// The user with this (normalised) email.
#[tracing::instrument(
    name = "store",
    level = "debug",
    skip_all,
    fields(query = "user_by_email")
)]
pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<UserRow>, AuthError> {
    let mut r = db
        .query("SELECT * FROM user WHERE email = $email LIMIT 1")
        .bind(("email", email.as_str().to_owned()))
        .await?;
    Ok(r.take::<Vec<UserRow>>(0)?.into_iter().next())
}

/// The user with this id.
#[tracing::instrument(name = "store", level = "debug", skip_all, fields(query = "user"))]
pub async fn find(db: &Db, id: &str) -> Result<Option<UserRow>, AuthError> {
    Ok(db.select(("user", id)).await?)
}

/// Users, newest first, optionally of one status.
pub async fn list(db: &Db, status: Option<UserStatus>) -> Result<Vec<UserRow>, AuthError> {
    let mut r = db
        .query(
            "SELECT * FROM user WHERE $status = NONE OR status = $status ORDER BY created_at DESC",
        )
        .bind(("status", status.map(|s| s.as_str().to_owned())))
        .await?;
    Ok(r.take(0)?)
}

/// How many accounts exist.
pub async fn count(db: &Db) -> Result<i64, AuthError> {
    let mut r = db
        .query("RETURN array::len((SELECT VALUE id FROM user))")
        .await?;
    Ok(r.take::<Option<i64>>(0)?.unwrap_or(0))
}

/// How many accounts wait for approval.
pub async fn count_pending(db: &Db) -> Result<i64, AuthError> {
    let mut r = db
        .query("RETURN array::len((SELECT VALUE id FROM user WHERE status = 'pending'))")
        .await?;
    Ok(r.take::<Option<i64>>(0)?.unwrap_or(0))
}

/// Accounts by status (pending, approved, disabled) and keys not expired at
/// `now`, in one statement.
pub async fn counts(db: &Db, now: DateTime<Utc>) -> Result<[i64; 4], AuthError> {
    let mut r = db
        .query(
            "RETURN [
                array::len((SELECT VALUE id FROM user WHERE status = 'pending')),
                array::len((SELECT VALUE id FROM user WHERE status = 'approved')),
                array::len((SELECT VALUE id FROM user WHERE status = 'disabled')),
                array::len((SELECT VALUE id FROM api_key WHERE expires_at = NONE OR expires_at > $now))
            ]",
        )
        .bind(("now", now))
        .await?;
    let counts: Vec<i64> = r.take(0)?;
    let at = |i: usize| counts.get(i).copied().unwrap_or(0);
    Ok([at(0), at(1), at(2), at(3)])
}

/// Whether an approved admin exists.
pub async fn has_active_admin(db: &Db) -> Result<bool, AuthError> {
    let mut r = db.query(format!("RETURN !({NO_ACTIVE_ADMIN})")).await?;
    Ok(r.take::<Option<bool>>(0)?.unwrap_or(false))
}

/// The changes of an admin's update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New email.
    pub email: Option<Email>,
    /// New role.
    pub role: Option<Role>,
    /// New status.
    pub status: Option<UserStatus>,
}

/// Apply `patch` to user `id` on behalf of `actor`. The first transition to
/// approved records `approved_at` and `approved_by`. Leaving `approved` ends
/// the user's sessions and stream tickets for good (re-approval does not
/// revive them; API keys stay, unusable until then). A change that would leave no
/// approved admin changes nothing and fails with the rule it breaks. `None` when
/// there is no such user.
pub async fn update(
    db: &Db,
    id: &str,
    patch: &UserPatch,
    actor: &str,
) -> Result<Option<UserRow>, AuthError> {
    let sql = format!(
        "BEGIN TRANSACTION;
{GUARD}
LET $before = (SELECT * FROM type::record('user', $id))[0];
LET $new_role = $role ?? $before.role;
LET $updated = UPDATE ONLY type::record('user', $id) SET
    approved_by = IF $status = 'approved' AND approved_at = NONE {{ $actor }} ELSE {{ approved_by }},
    approved_at = IF $status = 'approved' AND approved_at = NONE {{ time::now() }} ELSE {{ approved_at }},
    email = $email ?? email,
    role = $new_role,
    is_admin = $new_role = 'admin',
    status = $status ?? status
RETURN AFTER;
IF $before.is_admin = true AND $before.status = 'approved' AND {NO_ACTIVE_ADMIN} {{
    THROW IF $new_role != 'admin' {{ $demotion }} ELSE {{ $disable }}
}};
IF $before.status = 'approved' AND $updated.status != 'approved' {{
    UPDATE ONLY type::record('user', $id) SET token_version += 1;
    DELETE session WHERE user_id = $id;
    DELETE stream_ticket WHERE user_id = $id;
}};
RETURN (SELECT * FROM type::record('user', $id))[0];
COMMIT TRANSACTION;"
    );
    let binds: Binds = vec![
        bind("id", id.to_owned()),
        bind("actor", actor.to_owned()),
        bind("email", patch.email.as_ref().map(|e| e.as_str().to_owned())),
        bind("role", patch.role.map(|r| r.as_str().to_owned())),
        bind("status", patch.status.map(|s| s.as_str().to_owned())),
        bind("demotion", thrown::DEMOTION),
        bind("disable", thrown::DISABLE),
    ];
    let value = transaction(db, &sql, &binds)
        .await
        .map_err(map_write_error)?;
    row(value)
}

/// Delete user `id` with their sessions, keys and tickets; refused when it is
/// the last approved admin. `Ok(false)`
/// when there is no such user.
pub async fn delete(db: &Db, id: &str) -> Result<bool, AuthError> {
    let sql = format!(
        "BEGIN TRANSACTION;
{GUARD}
LET $before = DELETE type::record('user', $id) RETURN BEFORE;
IF array::len($before) > 0 AND $before[0].is_admin AND $before[0].status = 'approved' AND {NO_ACTIVE_ADMIN} {{ THROW $guard }};
DELETE session WHERE user_id = $id;
DELETE api_key WHERE user_id = $id;
DELETE key_guard WHERE id = type::record('key_guard', $id);
DELETE stream_ticket WHERE user_id = $id;
RETURN array::len($before) > 0;
COMMIT TRANSACTION;"
    );
    let binds: Binds = vec![bind("id", id.to_owned()), bind("guard", thrown::DELETE)];
    let value = transaction(db, &sql, &binds)
        .await
        .map_err(map_write_error)?;
    Ok(bool::from_value(value)?)
}

/// Replace user `id`'s password hash, bump its token version and end its
/// sessions and their stream tickets. `None` when there is no such user.
pub async fn set_password(
    db: &Db,
    id: &str,
    password_hash: String,
) -> Result<Option<UserRow>, AuthError> {
    let sql = "BEGIN TRANSACTION;
LET $user = UPDATE ONLY type::record('user', $id) SET password_hash = $hash, token_version += 1 RETURN AFTER;
IF $user != NONE {
    DELETE session WHERE user_id = $id;
    DELETE stream_ticket WHERE user_id = $id AND key_id = NONE;
};
RETURN $user;
COMMIT TRANSACTION;";
    let binds: Binds = vec![bind("id", id.to_owned()), bind("hash", password_hash)];
    let value = transaction(db, sql, &binds).await?;
    row(value)
}

/// What a stream ticket is for and rests on.
#[derive(Debug, Clone)]
pub struct TicketSpec {
    /// The user it is minted for.
    pub user_id: String,
    /// Their token version now.
    pub token_version: i64,
    /// The session of the token that minted it.
    pub jti: Option<String>,
    /// The API key that minted it.
    pub key_id: Option<String>,
    /// The one stream path it is valid on.
    pub path: String,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// Record a stream ticket (by its digest), and forget expired ones.
pub async fn create_ticket(db: &Db, digest: &str, spec: &TicketSpec) -> Result<(), AuthError> {
    db.query(
        "CREATE type::record('stream_ticket', $digest) SET user_id = $user, token_version = $ver,
             jti = $jti, key_id = $key, path = $path, expires_at = $exp;
         DELETE stream_ticket WHERE expires_at < time::now();",
    )
    .bind(("digest", digest.to_owned()))
    .bind(("user", spec.user_id.clone()))
    .bind(("ver", spec.token_version))
    .bind(("jti", spec.jti.clone()))
    .bind(("key", spec.key_id.clone()))
    .bind(("path", spec.path.clone()))
    .bind(("exp", spec.expires_at))
    .await?
    .check()?;
    Ok(())
}

/// A consumed stream ticket.
#[derive(Debug, Clone, SurrealValue)]
pub struct Ticket {
    /// The user it was minted for.
    pub user_id: String,
    /// Their token version then.
    pub token_version: i64,
    /// The session of the token that minted it.
    pub jti: Option<String>,
    /// The API key that minted it.
    pub key_id: Option<String>,
    /// The stream path it is valid on.
    pub path: Option<String>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// Take (delete and return) the ticket with this digest: each ticket works once.
pub async fn take_ticket(db: &Db, digest: &str) -> Result<Option<Ticket>, AuthError> {
    let sql = "BEGIN TRANSACTION;
LET $before = DELETE type::record('stream_ticket', $digest) RETURN BEFORE;
RETURN $before[0];
COMMIT TRANSACTION;";
    let value = transaction(db, sql, &vec![bind("digest", digest.to_owned())]).await?;
    Ok(Option::<Ticket>::from_value(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migration_3_gives_existing_accounts_the_role_their_admin_flag_said() {
        let db: Db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        for m in MIGRATIONS.iter().filter(|m| m.version < 3) {
            db.query(m.sql)
                .await
                .and_then(|r| r.check())
                .expect("old schema");
        }
        for (key, admin) in [("a", true), ("u", false)] {
            db.query(
                "CREATE type::record('user', $key) CONTENT { email: $email, password_hash: 'x',
                 is_admin: $admin, status: 'approved', created_at: time::now(), token_version: 0 }",
            )
            .bind(("key", key))
            .bind(("email", format!("{key}@example.com")))
            .bind(("admin", admin))
            .await
            .and_then(|r| r.check())
            .expect("an old row");
        }
        for m in MIGRATIONS.iter().filter(|m| m.version == 3) {
            db.query(m.sql)
                .await
                .and_then(|r| r.check())
                .expect("migration 3");
        }
        let a = find(&db, "a").await.expect("read").expect("a");
        let u = find(&db, "u").await.expect("read").expect("u");
        assert_eq!((a.role(), u.role()), (Role::Admin, Role::User));
        let bad = db
            .query("UPDATE user:u SET role = 'root'")
            .await
            .and_then(|r| r.check());
        assert!(bad.is_err(), "the schema admits only the four roles");
    }
}
