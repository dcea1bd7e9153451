//! API keys: the `mlxm_<id>_<secret>` format, its digest, and the `api_key`
//! table. The store keeps only the SHA-256 digest of the secret, found by the
//! key's public id; a presented secret is compared in constant time, against a
//! dummy digest when the id is unknown, so nothing tells a wrong secret from an
//! unknown key.

use crate::error::codes;
use chrono::{DateTime, Utc};
use mlx_manager_sdk::{
    Db,
    store::{Binds, StoreFailure, bind, classify, record_key, transaction},
};
use rand::{Rng, distributions::Alphanumeric, rngs::OsRng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use surrealdb::types::{RecordId, SurrealValue};

use crate::error::AuthError;

/// What every key starts with.
pub const KEY_PREFIX: &str = "mlxm_";
/// Characters of a key's public id (lower-case hex).
pub const ID_LEN: usize = 16;
/// Characters of a key's secret (ASCII letters and digits, about 238 bits).
pub const SECRET_LEN: usize = 40;
/// Keys one user may hold.
pub const MAX_KEYS_PER_USER: i64 = 100;

/// A new key: the whole secret string (shown once) and its parts.
pub struct NewKey {
    /// The public id.
    pub id: String,
    /// `mlxm_<id>_<secret>`.
    pub key: String,
    /// The digest to store.
    pub digest: String,
}

/// Make a key from the OS random number generator.
pub fn generate() -> NewKey {
    let id = hex::encode(OsRng.r#gen::<[u8; ID_LEN / 2]>());
    let secret: String = (&mut OsRng)
        .sample_iter(&Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    let digest = digest(&secret);
    NewKey {
        key: format!("{KEY_PREFIX}{id}_{secret}"),
        id,
        digest,
    }
}

/// The public prefix of the key with this id: `mlxm_<id>`.
pub fn prefix(id: &str) -> String {
    format!("{KEY_PREFIX}{id}")
}

/// Split a presented key into its id and secret; `None` when it does not have
/// the shape of a key (nothing is looked up for it).
pub fn parse(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let secret_ok = secret.len() == SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    (id_ok && secret_ok).then_some((id, secret))
}

/// Whether `presented` looks like a key at all (to choose between key and
/// token checks).
pub fn looks_like_key(presented: &str) -> bool {
    presented.starts_with(KEY_PREFIX)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` matches `stored` (a hex digest; `None` for an unknown id,
/// compared against a dummy so the work is the same), in constant time.
pub fn secret_matches(secret: &str, stored: Option<&str>) -> bool {
    const DUMMY: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    let presented = digest(secret);
    let equal: bool = presented
        .as_bytes()
        .ct_eq(stored.unwrap_or(DUMMY).as_bytes())
        .into();
    equal && stored.is_some()
}

/// A stored key.
#[derive(Debug, Clone, SurrealValue)]
pub struct KeyRow {
    /// `api_key:<id>`.
    pub id: RecordId,
    /// The owner.
    pub user_id: String,
    /// Unique per owner.
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub digest: String,
    /// Actions it may take (`None`: its owner's role).
    pub actions: Option<Vec<String>>,
    /// Profile names it may use on the gateway (`None`: all).
    pub models: Option<Vec<String>>,
    /// Gateway requests a minute.
    pub rpm: Option<u32>,
    /// Gateway requests at once.
    pub max_concurrent: Option<u32>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use, to within a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Address of the last use.
    pub last_used_address: Option<String>,
}

impl KeyRow {
    /// The public id.
    pub fn key(&self) -> String {
        record_key(&self.id)
    }

    /// Whether the key has expired at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Its name.
    pub name: String,
    /// Allowed actions.
    pub actions: Option<Vec<String>>,
    /// Allowed models.
    pub models: Option<Vec<String>>,
    /// Requests a minute.
    pub rpm: Option<u32>,
    /// Requests at once.
    pub max_concurrent: Option<u32>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry: `created_at` plus the lifetime.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the creation `THROW`s past the cap.
const TOO_MANY_KEYS: &str = "too_many_keys";

/// Store a key for `user_id`, refusing a duplicate name and a hundred-and-first key.
pub async fn create(
    db: &Db,
    user_id: &str,
    new: &NewKey,
    spec: &KeySpec,
) -> Result<KeyRow, AuthError> {
    // Every creation of one user writes the same guard record, so concurrent
    // ones conflict (and are retried) instead of both passing the count.
    let sql = "BEGIN TRANSACTION;
UPSERT type::record('key_guard', $user) SET touched = time::now();
IF array::len((SELECT VALUE id FROM api_key WHERE user_id = $user)) >= $max { THROW $too_many };
LET $created = CREATE ONLY type::record('api_key', $id) CONTENT {
    user_id: $user, name: $name, digest: $digest, actions: $actions, models: $models,
    rpm: $rpm, max_concurrent: $max_concurrent, created_at: $created_at, expires_at: $expires_at
};
RETURN $created;
COMMIT TRANSACTION;";
    let binds: Binds = vec![
        bind("id", new.id.clone()),
        bind("user", user_id.to_owned()),
        bind("max", MAX_KEYS_PER_USER),
        bind("too_many", TOO_MANY_KEYS),
        bind("name", spec.name.clone()),
        bind("digest", new.digest.clone()),
        bind("actions", spec.actions.clone()),
        bind("models", spec.models.clone()),
        bind("rpm", spec.rpm.map(i64::from)),
        bind("max_concurrent", spec.max_concurrent.map(i64::from)),
        bind("created_at", spec.created_at),
        bind("expires_at", spec.expires_at),
    ];
    let value = transaction(db, sql, &binds)
        .await
        .map_err(|e| match classify(&e) {
            StoreFailure::Unique { index } if index == "api_key_owner_name" => {
                AuthError::KeyRejected(
                    codes::DUPLICATE_KEY_NAME,
                    "You already have a key with this name".into(),
                )
            }
            StoreFailure::Thrown(code) if code == TOO_MANY_KEYS => AuthError::KeyRejected(
                codes::TOO_MANY_KEYS,
                format!("A user may hold at most {MAX_KEYS_PER_USER} keys; revoke one first"),
            ),
            _ => AuthError::Store(e),
        })?;
    Option::<KeyRow>::from_value(value)?
        .ok_or_else(|| AuthError::Internal("created key not returned".into()))
}

/// The key with this id.
#[tracing::instrument(name = "store", level = "debug", skip_all, fields(query = "api_key"))]
pub async fn find(db: &Db, id: &str) -> Result<Option<KeyRow>, AuthError> {
    Ok(db.select(("api_key", id)).await?)
}

/// A user's keys, newest first.
pub async fn list(db: &Db, user_id: &str) -> Result<Vec<KeyRow>, AuthError> {
    let mut r = db
        .query("SELECT * FROM api_key WHERE user_id = $user ORDER BY created_at DESC")
        .bind(("user", user_id.to_owned()))
        .await?;
    Ok(r.take(0)?)
}

/// Delete key `id` (of `owner`, when given) and the stream tickets it minted.
/// `false` when there is no such key.
pub async fn delete(db: &Db, id: &str, owner: Option<&str>) -> Result<bool, AuthError> {
    let sql = "BEGIN TRANSACTION;
LET $gone = DELETE api_key WHERE id = type::record('api_key', $id) AND ($owner = NONE OR user_id = $owner) RETURN BEFORE;
IF array::len($gone) > 0 { DELETE stream_ticket WHERE key_id = $id };
RETURN array::len($gone) > 0;
COMMIT TRANSACTION;";
    let binds: Binds = vec![
        bind("id", id.to_owned()),
        bind("owner", owner.map(str::to_owned)),
    ];
    let value = transaction(db, sql, &binds).await?;
    Ok(bool::from_value(value)?)
}

/// Record a use of key `id` (callers do this at most once a minute per key).
pub async fn touch(db: &Db, id: &str, address: Option<String>) -> Result<(), AuthError> {
    db.query("UPDATE type::record('api_key', $id) SET last_used_at = time::now(), last_used_address = $address ?? last_used_address")
        .bind(("id", id.to_owned()))
        .bind(("address", address))
        .await?
        .check()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_back_and_only_its_secret_matches() {
        let new = generate();
        assert!(new.key.starts_with("mlxm_"));
        assert_eq!(new.key.len(), KEY_PREFIX.len() + ID_LEN + 1 + SECRET_LEN);
        let (id, secret) = parse(&new.key).expect("parses");
        assert_eq!(id, new.id);
        assert!(secret_matches(secret, Some(&new.digest)));
        let other = generate();
        let (_, other_secret) = parse(&other.key).expect("parses");
        assert!(!secret_matches(other_secret, Some(&new.digest)));
        assert!(!secret_matches(secret, None), "an unknown id never matches");
        assert_ne!(generate().key, generate().key);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let good = generate().key;
        let long = format!("{good}{}", "a".repeat(8192));
        let cases = [
            "",
            "mlxm_",
            "mlxm__",
            "sk-abc",
            &good[..good.len() - 1],
            &long,
            "mlxm_0123456789ABCDEF_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "mlxm_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u{e9}",
            "mlxm_0123456789abcdef_aaaaaaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaaaaa",
        ];
        for case in cases {
            assert!(parse(case).is_none(), "{case:?}");
        }
    }
}
