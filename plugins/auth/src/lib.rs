//! The authentication plugin: users, passwords, tokens, approval, the admin API,
//! and the `Authenticator` that protects every core operation.
//!
//! - `users`: the SCHEMAFULL user store (unique normalised email), stream
//!   tickets, and the transactional first-admin and last-admin rules.
//! - `sessions`: one row per login token (its `jti`); revoking a token deletes it.
//! - `keys`: API keys (`mlxm_<id>_<secret>`), stored as digests.
//! - `guard`: the users, sessions and keys credential checks read, kept in
//!   memory until any change to them (off for a shared store).
//! - `hashing`: Argon2id off the async workers, bounded by a semaphore.
//! - `tokens`: HS256 (configured or generated secret) or ES256 JWTs, algorithm
//!   pinned at validation.
//! - `service`: the domain (register, login, check, change, reset, tickets,
//!   keys, sessions).
//! - `api`: the `/api/auth` operations.
//! - `actions`: the plugin's actions and event names.
//! - `cli`: `mlx-manager user ...`, offline administration.

pub mod actions;
pub mod api;
pub mod cli;
pub mod config;
pub mod error;
pub mod guard;
pub mod hashing;
pub mod input;
pub mod keys;
pub mod service;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use mlx_manager_sdk::{ActionDecl, Migration, Plugin, PluginContext, PluginError, Role};

use crate::{
    config::{AuthConfig, BootstrapConfig},
    hashing::Hasher,
    input::{Email, Password},
    service::AuthService,
    tokens::Tokens,
    users::UserPatch,
};

/// The plugin; its value is in every request's data as `Arc<AuthPlugin>`.
pub struct AuthPlugin {
    service: Arc<AuthService>,
}

impl AuthPlugin {
    /// The plugin's domain service.
    pub fn service(&self) -> &Arc<AuthService> {
        &self.service
    }
}

impl Plugin for AuthPlugin {
    const NAME: &'static str = "auth";
    const MIGRATIONS: &'static [Migration] = users::MIGRATIONS;
    const ACTIONS: &'static [ActionDecl] = actions::DECLARED;
    type Config = AuthConfig;
    type Api = api::AuthApi;

    async fn init(config: AuthConfig, ctx: &mut PluginContext) -> Result<Self, PluginError> {
        check_lifetimes(&config)?;
        check_shared_key(&config, ctx.is_store_shared())?;
        let tokens = Tokens::from_config(&config, ctx.data_dir())?;
        let (argon, concurrency) = (config.argon2.clone(), config.max_concurrent_hashes);
        let hasher = tokio::task::spawn_blocking(move || Hasher::new(&argon, concurrency))
            .await
            .map_err(|e| PluginError::new(e.to_string()))?
            .map_err(|e| PluginError::new(e.to_string()))?;
        let bootstrap = config.bootstrap.clone();
        let service = Arc::new(
            AuthService::new(
                ctx.db().clone(),
                hasher,
                tokens,
                config,
                ctx.permissions().clone(),
                ctx.events().clone(),
                ctx.clock(),
                guard::Guard::new(!ctx.is_store_shared()),
            )
            .with_observers(ctx.observers().clone()),
        );
        bootstrap_admin(&service, &bootstrap).await?;
        ctx.install_authenticator(service.clone())?;
        // Weak: the observers must not keep the service (and its store) alive.
        ctx.observers()
            .add_gauges(Arc::new(Gauges(Arc::downgrade(&service))));
        Ok(Self { service })
    }

    async fn status(&self) -> Option<String> {
        match users::count(self.service.db()).await {
            Ok(0) => Some("no account exists yet: the first to register becomes the admin".into()),
            Ok(1) => Some("1 account".into()),
            Ok(n) => Some(format!("{n} accounts")),
            Err(e) => Some(format!("accounts unknown ({e})")),
        }
    }

    fn commands() -> Vec<clap::Command> {
        vec![cli::command()]
    }

    async fn run_command(&self, name: &str, matches: &clap::ArgMatches) -> Result<(), PluginError> {
        cli::run(&self.service, name, matches).await
    }
}

/// A store other managers share needs one signing key for all of them: a
/// secret each manager generated for itself would make every token valid on
/// one manager only.
fn check_shared_key(config: &AuthConfig, shared: bool) -> Result<(), PluginError> {
    if shared && config.jwt_algorithm == config::JwtAlgorithm::HS256 && config.jwt_secret.is_empty()
    {
        return Err(PluginError::new(
            "the store is a SurrealDB server other managers may share ([database] url ws:// or \
             wss://), so every manager must sign tokens with the same key: set [plugins.auth] \
             jwt_secret (or MLX_MANAGER_PLUGINS__AUTH__JWT_SECRET) to one secret of at least 32 \
             bytes on every manager, or jwt_algorithm = \"ES256\" with the same \
             jwt_private_key_path and jwt_public_key_path",
        ));
    }
    Ok(())
}

/// The plugin's gauges: accounts by status and keys not expired, counted in
/// the store when an observer asks.
struct Gauges(std::sync::Weak<AuthService>);

#[async_trait::async_trait]
impl mlx_manager_sdk::GaugeSource for Gauges {
    async fn gauges(&self) -> Vec<mlx_manager_sdk::GaugeFamily> {
        use mlx_manager_sdk::{GaugeFamily, GaugeSample};
        let Some(service) = self.0.upgrade() else {
            return Vec::new();
        };
        let [pending, approved, disabled, keys] =
            match users::counts(service.db(), service.now()).await {
                Ok(counts) => counts,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot count accounts and keys for the metrics");
                    return Vec::new();
                }
            };
        vec![
            GaugeFamily {
                name: "auth_users",
                help: "Accounts, by status (pending, approved, disabled)",
                samples: [
                    ("pending", pending),
                    ("approved", approved),
                    ("disabled", disabled),
                ]
                .into_iter()
                .map(|(status, n)| GaugeSample::labelled("status", status, n as f64))
                .collect(),
            },
            GaugeFamily {
                name: "auth_hashes_in_flight",
                help: "Password hashes running on the hashing threads (at most one per thread)",
                samples: vec![GaugeSample::plain(service.hashes_in_flight() as f64)],
            },
            GaugeFamily {
                name: "auth_api_keys_active",
                help: "API keys that have not expired (revoked keys are gone)",
                samples: vec![GaugeSample::plain(keys as f64)],
            },
        ]
    }
}

/// Token lifetimes must be positive and sane (a year; an hour for tickets).
fn check_lifetimes(config: &AuthConfig) -> Result<(), PluginError> {
    let day = 24 * 3600;
    let ttl = config.token_ttl.as_secs();
    if !(60..=365 * day).contains(&ttl) {
        return Err(PluginError::new(
            "[plugins.auth] token_ttl must be between 1 minute and 365 days",
        ));
    }
    let ticket = config.stream_ticket_ttl.as_secs();
    if !(1..=3600).contains(&ticket) {
        return Err(PluginError::new(
            "[plugins.auth] stream_ticket_ttl must be between 1 second and 1 hour",
        ));
    }
    Ok(())
}

/// Create (or promote) the configured bootstrap admin when no approved admin
/// exists. Nothing happens when none is configured or an admin exists.
async fn bootstrap_admin(
    service: &AuthService,
    config: &BootstrapConfig,
) -> Result<(), PluginError> {
    let Some(email) = &config.email else {
        return Ok(());
    };
    let fail = |e: error::AuthError| PluginError::new(format!("[plugins.auth.bootstrap]: {e}"));
    let email = Email::parse(email).map_err(fail)?;
    if users::has_active_admin(service.db()).await.map_err(fail)? {
        tracing::info!("an admin exists; the bootstrap admin is not needed");
        return Ok(());
    }
    let password = match (&config.password, &config.password_file) {
        (Some(p), _) => p.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| {
                PluginError::new(format!(
                    "cannot read bootstrap password_file {}: {e}",
                    path.display()
                ))
            })?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        (None, None) => {
            return Err(PluginError::new(
                "[plugins.auth.bootstrap] has an email but neither password nor password_file",
            ));
        }
    };
    let password = Password::parse(password).map_err(fail)?;
    match users::find_by_email(service.db(), &email)
        .await
        .map_err(fail)?
    {
        Some(user) => {
            let patch = UserPatch {
                email: None,
                role: Some(Role::Admin),
                status: Some(users::UserStatus::Approved),
            };
            let change = service.guard().change();
            users::update(service.db(), &user.key(), &patch, &user.key())
                .await
                .map_err(fail)?;
            drop(change);
            let by = mlx_manager_sdk::Actor::system();
            service
                .reset_password(by, &user.key(), password.expose().to_owned())
                .await
                .map_err(fail)?;
        }
        None => {
            service.seed(&email, &password, true).await.map_err(fail)?;
        }
    }
    tracing::info!(email = email.as_str(), "bootstrap admin is ready");
    Ok(())
}
