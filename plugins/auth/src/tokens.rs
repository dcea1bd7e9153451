//! Access tokens: JWTs signed with HS256 (a configured or generated secret) or
//! ES256 (PEM key files). Validation pins the configured algorithm, so `alg: none`
//! and algorithm-confusion tokens are refused.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind,
};
use mlx_manager_sdk::PluginError;
use serde::{Deserialize, Serialize};

use crate::{
    config::{AuthConfig, JwtAlgorithm},
    error::AuthError,
};

const ISSUER: &str = "mlx-manager";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// This token's unique id (for logout).
    pub jti: String,
    /// The user's token version when issued; a reset or change of password bumps
    /// the user's version and so revokes every earlier token.
    pub ver: i64,
    /// Always `mlx-manager`.
    pub iss: String,
}

/// Signs and validates access tokens.
pub struct Tokens {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl Tokens {
    /// Keys from `config`: HS256 with `jwt_secret` or the secret file in `data_dir`
    /// (generated on first start), or ES256 with the PEM files.
    pub fn from_config(config: &AuthConfig, data_dir: &Path) -> Result<Self, PluginError> {
        let (algorithm, encoding, decoding) = match config.jwt_algorithm {
            JwtAlgorithm::HS256 => {
                let secret = if config.jwt_secret.is_empty() {
                    secret_file(&data_dir.join("jwt_secret"))?
                } else if config.jwt_secret.len() < 32 {
                    return Err(PluginError::new(
                        "[plugins.auth] jwt_secret must be at least 32 bytes long (or empty, to use a generated secret)",
                    ));
                } else {
                    config.jwt_secret.as_bytes().to_vec()
                };
                (
                    Algorithm::HS256,
                    EncodingKey::from_secret(&secret),
                    DecodingKey::from_secret(&secret),
                )
            }
            JwtAlgorithm::ES256 => {
                let private = pem_file(
                    config.jwt_private_key_path.as_ref(),
                    "jwt_private_key_path",
                    true,
                )?;
                let public = pem_file(
                    config.jwt_public_key_path.as_ref(),
                    "jwt_public_key_path",
                    false,
                )?;
                let encoding = EncodingKey::from_ec_pem(&private).map_err(|e| {
                    PluginError::new(format!(
                        "jwt_private_key_path is not a PKCS#8 EC private key in PEM ({e}); convert SEC1 keys with `openssl pkcs8 -topk8 -nocrypt`"
                    ))
                })?;
                let decoding = DecodingKey::from_ec_pem(&public).map_err(|e| {
                    PluginError::new(format!(
                        "jwt_public_key_path is not an EC public key in PEM ({e})"
                    ))
                })?;
                (Algorithm::ES256, encoding, decoding)
            }
        };
        let tokens = Self {
            algorithm,
            encoding,
            decoding,
            ttl: config.token_ttl,
        };
        // Refuse a key pair that does not belong together now, not at first login.
        let probe = tokens
            .issue("probe", 0, now_secs())
            .map_err(|e| PluginError::new(format!("cannot sign tokens: {e}")))?;
        tokens.verify(&probe.0).map_err(|_| {
            PluginError::new("the JWT public key does not verify tokens signed by the private key")
        })?;
        Ok(tokens)
    }

    /// Token lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user_id` at token version `ver`, issued at `now` (seconds).
    pub fn issue(&self, user_id: &str, ver: i64, now: u64) -> Result<(String, Claims), AuthError> {
        let claims = Claims {
            sub: user_id.to_owned(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            ver,
            iss: ISSUER.to_owned(),
        };
        let token = encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("cannot sign a token: {e}")))?;
        Ok((token, claims))
    }

    /// The claims of a valid, unexpired token signed with our key and algorithm.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = 5;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::TokenExpired,
                _ => AuthError::InvalidToken,
            })
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Read the generated secret, or create it (64 random hex characters, mode 0600).
fn secret_file(path: &Path) -> Result<Vec<u8>, PluginError> {
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(mut file) => {
            let secret = hex::encode(rand::random::<[u8; 32]>());
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| PluginError::new(format!("cannot write {}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "generated a new JWT secret");
            Ok(secret.into_bytes())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = fs::metadata(path)
                .map_err(|e| PluginError::new(format!("cannot read {}: {e}", path.display())))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(PluginError::new(format!(
                    "{} is readable by other users (mode {:o}); run `chmod 600` on it",
                    path.display(),
                    mode & 0o777
                )));
            }
            let secret = fs::read_to_string(path)
                .map_err(|e| PluginError::new(format!("cannot read {}: {e}", path.display())))?;
            let secret = secret.trim();
            if secret.len() < 32 {
                return Err(PluginError::new(format!(
                    "{} holds fewer than 32 characters; delete it to generate a new secret",
                    path.display()
                )));
            }
            Ok(secret.as_bytes().to_vec())
        }
        Err(e) => Err(PluginError::new(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

fn pem_file(path: Option<&PathBuf>, key: &str, private: bool) -> Result<Vec<u8>, PluginError> {
    let path = path.ok_or_else(|| {
        PluginError::new(format!(
            "jwt_algorithm = \"ES256\" needs [plugins.auth] {key}"
        ))
    })?;
    let meta = fs::metadata(path)
        .map_err(|e| PluginError::new(format!("[plugins.auth] {key} {}: {e}", path.display())))?;
    if private && meta.permissions().mode() & 0o004 != 0 {
        return Err(PluginError::new(format!(
            "{} ({key}) is readable by every user; run `chmod 600` on it",
            path.display()
        )));
    }
    fs::read(path).map_err(|e| PluginError::new(format!("cannot read {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(dir: &Path) -> Tokens {
        Tokens::from_config(&AuthConfig::default(), dir).expect("tokens")
    }

    #[test]
    fn a_secret_is_generated_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = tokens(dir.path());
        let path = dir.path().join("jwt_secret");
        let mode = fs::metadata(&path)
            .expect("secret file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (token, _) = a.issue("u1", 0, now_secs()).expect("issue");
        let b = tokens(dir.path());
        assert_eq!(b.verify(&token).ok().map(|c| c.sub), Some("u1".to_owned()));
    }

    #[test]
    fn a_secret_file_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwt_secret");
        fs::write(&path, "x".repeat(64)).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = Tokens::from_config(&AuthConfig::default(), dir.path()).err();
        assert!(err.is_some_and(|e| e.0.contains("chmod 600")));
    }

    #[test]
    fn a_short_configured_secret_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = AuthConfig {
            jwt_secret: "short".into(),
            ..AuthConfig::default()
        };
        assert!(Tokens::from_config(&config, dir.path()).is_err());
    }

    #[test]
    fn es256_without_key_files_is_refused_with_the_key_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = AuthConfig {
            jwt_algorithm: JwtAlgorithm::ES256,
            ..AuthConfig::default()
        };
        let err = Tokens::from_config(&config, dir.path()).err();
        assert!(err.is_some_and(|e| e.0.contains("jwt_private_key_path")));
    }

    #[test]
    fn tokens_expire() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = tokens(dir.path());
        let (token, _) = t.issue("u1", 0, now_secs() - 8 * 24 * 3600).expect("issue");
        assert!(matches!(t.verify(&token), Err(AuthError::TokenExpired)));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let (a, b) = (
            tempfile::tempdir().expect("a"),
            tempfile::tempdir().expect("b"),
        );
        let (token, _) = tokens(a.path()).issue("u1", 0, now_secs()).expect("issue");
        assert!(matches!(
            tokens(b.path()).verify(&token),
            Err(AuthError::InvalidToken)
        ));
    }
}
