//! The user store: a SCHEMAFULL `user` table with a UNIQUE index on the normalised
//! email, plus revoked tokens and stream tickets. Rules that span rows (the first
//! account becomes the admin; no change may leave the system without an approved
//! admin) run inside transactions that all write one guard record, so concurrent
//! ones conflict and are retried instead of both passing the check.

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{
    Db, Migration, Role,
    store::{Binds, bind, is_unique_violation, thrown_message, transaction},
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
];

/// An account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
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

    fn parse(s: &str) -> Self {
        match s {
            "approved" => UserStatus::Approved,
            "disabled" => UserStatus::Disabled,
            _ => UserStatus::Pending,
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
    /// `viewer`, `user`, `operator` or `admin`.
    pub role: String,
    /// `pending`, `approved` or `disabled`.
    pub status: String,
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
        UserStatus::parse(&self.status)
    }

    /// The user's role (the schema admits only the four names).
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }

    /// An approved admin.
    pub fn is_active_admin(&self) -> bool {
        self.is_admin && self.status() == UserStatus::Approved
    }
}

fn row(value: Value) -> Result<Option<UserRow>, AuthError> {
    Ok(Option::<UserRow>::from_value(value)?)
}

fn map_write_error(err: surrealdb::Error) -> AuthError {
    if is_unique_violation(&err) {
        return AuthError::EmailTaken;
    }
    if err.message().contains("string::is_email") {
        return AuthError::InvalidEmail;
    }
    match thrown_message(&err) {
        Some(m) if m == AuthError::LastAdminDemotion.to_string() => AuthError::LastAdminDemotion,
        Some(m) if m == AuthError::LastAdminDisable.to_string() => AuthError::LastAdminDisable,
        Some(m) if m == AuthError::LastAdminDelete.to_string() => AuthError::LastAdminDelete,
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
pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<UserRow>, AuthError> {
    let mut r = db
        .query("SELECT * FROM user WHERE email = $email LIMIT 1")
        .bind(("email", email.as_str().to_owned()))
        .await?;
    Ok(r.take::<Vec<UserRow>>(0)?.into_iter().next())
}

/// The user with this id.
pub async fn find(db: &Db, id: &str) -> Result<Option<UserRow>, AuthError> {
    Ok(db.select(("user", id)).await?)
}

/// The user with this id, and whether the token `jti` was revoked: one round trip
/// for every authenticated request.
pub async fn find_for_token(
    db: &Db,
    id: &str,
    jti: &str,
) -> Result<(Option<UserRow>, bool), AuthError> {
    let mut r = db
        .query("SELECT * FROM type::record('user', $id); SELECT VALUE id FROM type::record('revoked_token', $jti);")
        .bind(("id", id.to_owned()))
        .bind(("jti", jti.to_owned()))
        .await?;
    let user = r.take::<Vec<UserRow>>(0)?.into_iter().next();
    let revoked = !r.take::<Vec<RecordId>>(1)?.is_empty();
    Ok((user, revoked))
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
/// approved records `approved_at` and `approved_by`. A change that would leave no
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
RETURN $updated;
COMMIT TRANSACTION;"
    );
    let binds: Binds = vec![
        bind("id", id.to_owned()),
        bind("actor", actor.to_owned()),
        bind("email", patch.email.as_ref().map(|e| e.as_str().to_owned())),
        bind("role", patch.role.map(|r| r.as_str().to_owned())),
        bind("status", patch.status.map(|s| s.as_str().to_owned())),
        bind("demotion", AuthError::LastAdminDemotion.to_string()),
        bind("disable", AuthError::LastAdminDisable.to_string()),
    ];
    let value = transaction(db, &sql, &binds)
        .await
        .map_err(map_write_error)?;
    row(value)
}

/// Delete user `id`; refused when it is the last approved admin. `Ok(false)`
/// when there is no such user.
pub async fn delete(db: &Db, id: &str) -> Result<bool, AuthError> {
    let sql = format!(
        "BEGIN TRANSACTION;
{GUARD}
LET $before = DELETE type::record('user', $id) RETURN BEFORE;
IF array::len($before) > 0 AND $before[0].is_admin AND $before[0].status = 'approved' AND {NO_ACTIVE_ADMIN} {{ THROW $guard }};
RETURN array::len($before) > 0;
COMMIT TRANSACTION;"
    );
    let binds: Binds = vec![
        bind("id", id.to_owned()),
        bind("guard", AuthError::LastAdminDelete.to_string()),
    ];
    let value = transaction(db, &sql, &binds)
        .await
        .map_err(map_write_error)?;
    Ok(bool::from_value(value)?)
}

/// Replace user `id`'s password hash and bump its token version, revoking every
/// earlier token. `None` when there is no such user.
pub async fn set_password(
    db: &Db,
    id: &str,
    password_hash: String,
) -> Result<Option<UserRow>, AuthError> {
    let mut r = db
        .query("UPDATE ONLY type::record('user', $id) SET password_hash = $hash, token_version += 1 RETURN AFTER")
        .bind(("id", id.to_owned()))
        .bind(("hash", password_hash))
        .await?;
    Ok(r.take::<Option<UserRow>>(0)?)
}

/// Revoke the token `jti` until it would have expired anyway, and forget
/// revocations of tokens that have expired.
pub async fn revoke_token(db: &Db, jti: &str, expires_at: DateTime<Utc>) -> Result<(), AuthError> {
    db.query(
        "UPSERT type::record('revoked_token', $jti) SET expires_at = $exp;
         DELETE revoked_token WHERE expires_at < time::now();",
    )
    .bind(("jti", jti.to_owned()))
    .bind(("exp", expires_at))
    .await?
    .check()?;
    Ok(())
}

/// Record a stream ticket (by its digest) for `user_id`, and forget expired ones.
pub async fn create_ticket(
    db: &Db,
    digest: &str,
    user_id: &str,
    token_version: i64,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), AuthError> {
    db.query(
        "CREATE type::record('stream_ticket', $digest) SET user_id = $user, token_version = $ver, jti = $jti, expires_at = $exp;
         DELETE stream_ticket WHERE expires_at < time::now();",
    )
    .bind(("digest", digest.to_owned()))
    .bind(("user", user_id.to_owned()))
    .bind(("ver", token_version))
    .bind(("jti", jti.to_owned()))
    .bind(("exp", expires_at))
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
    /// The id of the token that minted it (a logout of that token voids it).
    pub jti: Option<String>,
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
