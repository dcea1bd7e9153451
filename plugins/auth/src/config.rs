//! `[plugins.auth]`: registration policy, the role of new accounts, token keys
//! and lifetime, Argon2 parameters and the bootstrap admin. (Which role may take
//! which action is the core's `[permissions]`.)

use std::{path::PathBuf, time::Duration};

use mlx_manager_sdk::Role;
use serde::{Deserialize, Serialize};

/// Who may register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone may register; new accounts wait for an admin's approval.
    Approval,
    /// Anyone may register and is approved at once.
    Open,
    /// Nobody may register; accounts come from the bootstrap config or the CLI.
    Closed,
}

/// How tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with `jwt_secret` (or a generated secret file).
    HS256,
    /// ECDSA P-256 with the PEM key files.
    ES256,
}

/// Argon2id parameters for new password hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Config {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// An admin created at start-up when the store has no approved admin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BootstrapConfig {
    /// The admin's email.
    pub email: Option<String>,
    /// The admin's password (prefer `password_file`).
    pub password: Option<String>,
    /// A file holding the admin's password (first line).
    pub password_file: Option<PathBuf>,
}

/// The whole `[plugins.auth]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `approval` (default), `open` or `closed`.
    pub registration: Registration,
    /// The role of new accounts (the first account is always an admin).
    pub default_role: Role,
    /// `HS256` (default) or `ES256`.
    pub jwt_algorithm: JwtAlgorithm,
    /// HS256 secret (at least 32 bytes). Empty: a random secret is generated on
    /// first start and kept in `<data_dir>/jwt_secret` (mode 0600).
    pub jwt_secret: String,
    /// ES256 private key (PKCS#8 PEM); must not be readable by others.
    pub jwt_private_key_path: Option<PathBuf>,
    /// ES256 public key (PEM).
    pub jwt_public_key_path: Option<PathBuf>,
    /// Lifetime of an access token.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// Lifetime of a stream ticket.
    #[serde(with = "humantime_serde")]
    pub stream_ticket_ttl: Duration,
    /// The longest an API key may live (0: no bound). A key created without
    /// `expires_in_days` lives this long (or forever when there is no bound).
    #[serde(with = "humantime_serde")]
    pub max_key_lifetime: Duration,
    /// Password hashes computed at the same time (0: one per CPU).
    pub max_concurrent_hashes: usize,
    /// Argon2id parameters.
    pub argon2: Argon2Config,
    /// Optional first admin.
    pub bootstrap: BootstrapConfig,
    /// Login throttling.
    pub throttle: crate::throttle::ThrottleConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            registration: Registration::Approval,
            default_role: Role::User,
            jwt_algorithm: JwtAlgorithm::HS256,
            jwt_secret: String::new(),
            jwt_private_key_path: None,
            jwt_public_key_path: None,
            token_ttl: Duration::from_secs(7 * 24 * 3600),
            stream_ticket_ttl: Duration::from_secs(60),
            max_key_lifetime: Duration::from_secs(365 * 24 * 3600),
            max_concurrent_hashes: 0,
            argon2: Argon2Config::default(),
            bootstrap: BootstrapConfig::default(),
            throttle: crate::throttle::ThrottleConfig::default(),
        }
    }
}
