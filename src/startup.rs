//! `Application::build(config)`: creates the data directory, opens and migrates the
//! store, initialises the plugins, composes the routes and binds the listener.

use std::{
    future::Future,
    io,
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use mlx_manager_sdk::PluginContext;
use poem::{
    EndpointExt, Route, Server,
    endpoint::make_sync,
    listener::TcpAcceptor,
    middleware::{CatchPanic, Cors},
};
use poem_openapi::{LicenseObject, OpenApiService};

use crate::{
    api::CoreApi,
    config::Config,
    http::{BodyLimit, error_to_json, log_request},
    plugins::{DefaultPlugins, PluginSet, PluginSetError},
    state::AppState,
    store::{self, StoreError},
};

/// The document's title.
pub const API_TITLE: &str = "MLX Manager";

const API_DESCRIPTION: &str = include_str!("api/description.md");

/// How long open connections get to finish once shutdown begins.
const GRACEFUL_TIMEOUT: Duration = Duration::from_secs(5);

/// Start-up failed; the message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The store cannot be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A plugin failed to start.
    #[error(transparent)]
    Plugin(#[from] PluginSetError),
    /// A file or the listener failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
}

/// The core's and the plugins' operations, as one OpenAPI service.
pub fn api_service<P: PluginSet>() -> OpenApiService<(CoreApi, P::Api), ()> {
    OpenApiService::new(
        (CoreApi::default(), P::Api::default()),
        API_TITLE,
        env!("CARGO_PKG_VERSION"),
    )
    .description(API_DESCRIPTION)
    .license(LicenseObject::new(env!("CARGO_PKG_LICENSE")))
}

/// The OpenAPI document (JSON) of this build, as committed in `openapi/openapi.json`
/// and served at `/openapi.json` (poem-openapi's, tidied by [`crate::openapi`]).
pub fn openapi_json() -> String {
    crate::openapi::document(&api_service::<DefaultPlugins>())
}

/// A built application: the store is open, plugins are initialised, and the
/// listener is bound (so `port()` is known) but not yet serving.
pub struct Application<P: PluginSet = DefaultPlugins> {
    listener: tokio::net::TcpListener,
    port: u16,
    app: poem::endpoint::BoxEndpoint<'static>,
    state: Arc<AppState>,
    plugins: P::Running,
}

impl Application<DefaultPlugins> {
    /// Build the application with this build's plugins.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with(config).await
    }
}

impl<P: PluginSet> Application<P> {
    /// Build the application with the plugin set `P` (tests use `()` for a server
    /// without an authenticator).
    pub async fn build_with(config: Config) -> Result<Self, StartupError> {
        config.check_plugin_names(&P::names())?;
        P::effective_config(&config)?;
        let settings = Arc::new(config.settings.clone());
        let data_dir = ensure_private_dir(&settings.paths.data_dir())?;
        let db = store::open(&settings.database, &data_dir).await?;
        let mut sets = vec![("core", crate::migrations::CORE)];
        sets.extend(P::migrations());
        store::migrate(&db, &sets).await?;

        let mut ctx = PluginContext::new(db.clone(), data_dir.clone());
        let plugins = P::init(&config, &mut ctx).await?;
        let state = AppState::start(settings.clone(), db, data_dir).await?;

        let api = api_service::<P>();
        let spec = crate::openapi::document(&api);
        let docs = crate::openapi::swagger_ui(&api, &spec);
        let routes = Route::new()
            .at(
                "/openapi.json",
                make_sync(move |_| {
                    poem::Response::builder()
                        .content_type("application/json")
                        .body(spec.clone())
                }),
            )
            .nest("/docs", docs)
            .nest("/", api)
            .data(state.clone())
            .data(ctx.authenticator())
            .boxed();
        let cors =
            Cors::new().allow_origins(settings.server.cors_origins.iter().map(String::as_str));
        let app = P::attach(&plugins, routes)
            .with(BodyLimit(settings.server.body_limit_bytes))
            .with(CatchPanic::new())
            .with_if(!settings.server.cors_origins.is_empty(), cors)
            .catch_all_error(error_to_json)
            .around(log_request)
            .boxed();

        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| StartupError::Io {
                context: format!("cannot listen on {addr}"),
                source,
            })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        Ok(Self {
            listener,
            port,
            app,
            state,
            plugins,
        })
    }

    /// The port the listener is bound to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serve until SIGINT or SIGTERM, then shut down gracefully.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `signal` completes, then stop accepting, end streams, let open
    /// requests finish (up to 5 s), stop what the manager started, and run the
    /// plugins' shutdown hooks.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send) -> io::Result<()> {
        let acceptor = TcpAcceptor::from_tokio(self.listener)?;
        let token = self.state.shutdown.clone();
        let stop = async move {
            signal.await;
            tracing::info!("shutting down");
            token.cancel();
        };
        tracing::info!(port = self.port, "listening");
        let served = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(self.app, stop, Some(GRACEFUL_TIMEOUT))
            .await;
        self.state.stop().await;
        P::shutdown(&self.plugins).await;
        tracing::info!("stopped");
        served
    }
}

/// Create `dir` (and parents) with owner-only permissions, or make an existing one
/// owner-only.
pub fn ensure_private_dir(dir: &Path) -> Result<PathBuf, StartupError> {
    let io_err = |source| StartupError::Io {
        context: format!("cannot create the data directory {}", dir.display()),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err)?;
    }
    // An existing directory (the Python version's, say) may be open to others: it
    // holds the store with the password hashes, so it is made owner-only.
    let mode = std::fs::metadata(dir).map_err(io_err)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), mode = format!("{:o}", mode & 0o777), "making the data directory owner-only");
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_err)?;
    }
    Ok(dir.to_path_buf())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {},
                _ = term.recv() => {},
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
