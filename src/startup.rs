//! `Application::build(config)`: one bootstrap (data directory, store, every
//! migration, the permissions table, the plugins) shared with the offline CLI,
//! then the core's services, the routes with the plugins' request hooks, and the
//! bound listener.

use std::{
    collections::HashMap,
    future::Future,
    io,
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use mlx_manager_sdk::{
    AuthenticatorHandle, Db, EventBus, Permissions, PluginContext, PrincipalSlot, RequestRecord,
    clock::{SharedClock, SystemClock},
};
use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server,
    endpoint::make_sync,
    listener::{AcceptorExt, TcpAcceptor},
    middleware::{CatchPanic, Cors},
};
use poem_openapi::{LicenseObject, OpenApiService, OperationId};

use crate::{
    api::CoreApi,
    config::{Config, ConfigError, HttpSettings, Settings},
    http::{
        AllowTable, BodyLimit, HostAllowList, check_host, error_to_json, log_request,
        machine_names, security_headers,
    },
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
    /// The OpenAPI document the routes are built from is not JSON (a defect
    /// of this build, not of the configuration).
    #[error("the OpenAPI document is not JSON: {0}")]
    Document(serde_json::Error),
    /// A file or the listener failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: io::Error,
    },
}

impl From<crate::state::CoreError> for StartupError {
    fn from(err: crate::state::CoreError) -> Self {
        match err {
            crate::state::CoreError::Config(e) => Self::Config(e),
            crate::state::CoreError::Store(e) => Self::Store(e),
            crate::state::CoreError::Client(e) => Self::Io {
                context: "cannot build the health probes' HTTP client".into(),
                source: io::Error::other(e),
            },
        }
    }
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
    openapi_document::<DefaultPlugins>()
}

/// The document of the core with plugins `P`: poem-openapi's, with every
/// protected operation's action as `x-action` and its default least role added
/// to its description, and 415 listed only where a body is taken. An operation's action is the one its description names
/// ("Action: `servers.control`"); the role-matrix test checks that the handler
/// enforces that same action.
#[allow(
    clippy::expect_used,
    reason = "poem-openapi writes the document with serde_json: it is JSON, and JSON values serialise"
)]
pub fn openapi_document<P: PluginSet>() -> String {
    let spec = crate::openapi::document(&api_service::<P>());
    let mut doc =
        serde_json::from_str::<serde_json::Value>(&spec).expect("poem-openapi's document is JSON");
    let defaults: HashMap<&str, &str> = declared_actions::<P>()
        .iter()
        .map(|d| (d.action.as_str(), d.default_role.as_str()))
        .collect();
    annotate_actions(&mut doc, &defaults);
    serde_json::to_string_pretty(&doc).expect("a JSON value serialises")
}

fn annotate_actions(doc: &mut serde_json::Value, defaults: &HashMap<&str, &str>) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for operation in paths.values_mut().filter_map(|p| p.as_object_mut()) {
        for op in operation.values_mut().filter_map(|o| o.as_object_mut()) {
            // 415 (the shared error table has it) only where a body is taken.
            if !op.contains_key("requestBody")
                && let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut())
            {
                responses.remove("415");
            }
            let description = op.get("description").and_then(|d| d.as_str()).unwrap_or("");
            let Some(action) = description
                .split("Action: `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
            else {
                continue;
            };
            let role = defaults.get(action.as_str()).copied().unwrap_or("admin");
            let text = format!("{description}\n\nLeast role by default: `{role}`.");
            op.insert("description".into(), text.into());
            op.insert("x-action".into(), action.into());
        }
    }
}

/// Every action of the core and of the plugins `P`.
pub fn declared_actions<P: PluginSet>() -> Vec<mlx_manager_sdk::ActionDecl> {
    let mut declared = crate::actions::DECLARED.to_vec();
    declared.extend(P::actions());
    declared
}

/// The permissions table: the declared actions' defaults, then `[permissions]`.
pub fn permissions<P: PluginSet>(settings: &Settings) -> Result<Permissions, ConfigError> {
    Permissions::build(&declared_actions::<P>(), &settings.permissions.flatten())
        .map_err(|e| ConfigError::Invalid(e.to_string()))
}

/// What the one bootstrap path makes, for the server and the offline CLI alike.
pub struct Bootstrap<P: PluginSet> {
    /// The effective settings.
    pub settings: Arc<Settings>,
    /// The data directory (created, owner-only).
    pub data_dir: PathBuf,
    /// The opened, migrated store.
    pub db: Db,
    /// The event bus the plugins subscribed to.
    pub events: EventBus,
    /// The authenticator a plugin installed (or none).
    pub authenticator: AuthenticatorHandle,
    /// Cancelled when shutdown begins (the core's and the plugins' streams end).
    pub stopping: tokio_util::sync::CancellationToken,
    /// The initialised plugins.
    pub plugins: P::Running,
    /// The clock the plugins and the core decide by.
    pub clock: SharedClock,
    /// Where the core and the plugins report measurements and gauges.
    pub observers: mlx_manager_sdk::Observers,
}

/// Check the config, create the data directory, open the store, apply the
/// core's and every plugin's migrations, build the permissions table and
/// initialise the plugins (`offline` for the command line).
pub async fn bootstrap<P: PluginSet>(
    config: &Config,
    offline: bool,
    clock: SharedClock,
) -> Result<Bootstrap<P>, StartupError> {
    config.check_plugin_names(&P::names())?;
    P::effective_config(config)?;
    let permissions = Arc::new(permissions::<P>(&config.settings)?);
    let mut settings = config.settings.clone();
    let data_dir = ensure_private_dir(&settings.paths.data_dir())?;
    let node = crate::node::resolve(settings.node.name.as_deref(), &data_dir)
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    settings.node.name = Some(node);
    let settings = Arc::new(settings);
    let db = store::open(&settings.database, &data_dir).await?;
    let mut sets = vec![("core", crate::migrations::CORE)];
    sets.extend(P::migrations());
    store::migrate(&db, settings.node.name(), &sets).await?;
    let events = EventBus::new();
    let observers = mlx_manager_sdk::Observers::new();
    let stopping = tokio_util::sync::CancellationToken::new();
    let mut ctx = PluginContext::new(
        db.clone(),
        data_dir.clone(),
        permissions,
        events.clone(),
        offline,
        stopping.clone(),
    )
    .with_clock(clock.clone())
    .with_shared_store(settings.database.is_shared())
    .with_observers(observers.clone());
    let plugins = P::init(config, &mut ctx).await?;
    Ok(Bootstrap {
        settings,
        data_dir,
        db,
        events,
        authenticator: ctx.authenticator(),
        stopping,
        plugins,
        clock,
        observers,
    })
}

/// Operation id to route template, from the document.
fn route_templates(doc: &serde_json::Value) -> HashMap<String, String> {
    let mut routes = HashMap::new();
    let paths = doc.get("paths").and_then(|p| p.as_object());
    for (path, item) in paths.into_iter().flatten() {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(id) = op.get("operationId").and_then(|i| i.as_str()) {
                routes.insert(id.to_owned(), path.clone());
            }
        }
    }
    routes
}

/// Run every plugin's request hook after the request: with the route template,
/// the status and the caller the security checker accepted (from its slot, so
/// nothing is authenticated twice).
async fn observe<P: PluginSet, E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    plugins: Arc<P::Running>,
    routes: Arc<HashMap<String, String>>,
) -> poem::Result<Response> {
    let slot = PrincipalSlot::default();
    req.set_data(slot.clone());
    let method = req.method().clone();
    let request_id = req.data::<mlx_manager_sdk::RequestId>().cloned();
    let address = req
        .data::<mlx_manager_sdk::ClientAddress>()
        .map(|a| a.0.to_string())
        .or_else(|| {
            req.remote_addr()
                .as_socket_addr()
                .map(|a| a.ip().to_string())
        });
    let start = Instant::now();
    // Boxed: each middleware keeps the inner future on the heap, so the poll
    // depth of a request stays small in debug builds too.
    let resp = Box::pin(ep.call(req))
        .await
        .map(IntoResponse::into_response)?;
    let operation_id = resp.data::<OperationId>().map(|o| o.0);
    let principal = slot.get();
    let record = RequestRecord {
        request_id: request_id.as_ref().map(|r| r.0.as_str()),
        method: &method,
        route: operation_id
            .and_then(|id| routes.get(id))
            .map(String::as_str),
        operation_id,
        status: resp.status().as_u16(),
        principal: principal.as_ref(),
        address: address.as_deref(),
        elapsed: start.elapsed(),
    };
    P::on_request(&plugins, &record).await;
    Ok(resp)
}

/// A built application: the store is open, plugins are initialised, and the
/// listener is bound (so `port()` is known) but not yet serving.
pub struct Application<P: PluginSet = DefaultPlugins> {
    listener: tokio::net::TcpListener,
    connections: Arc<crate::connections::Connections>,
    tls: Option<poem::listener::RustlsConfig>,
    https: bool,
    host: String,
    port: u16,
    app: poem::endpoint::BoxEndpoint<'static>,
    state: Arc<AppState>,
    plugins: Arc<P::Running>,
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
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Build the application with the plugin set `P`, reading the time from
    /// `clock` where it decides something (tests move it instead of sleeping).
    pub async fn build_with_clock(
        config: Config,
        clock: SharedClock,
    ) -> Result<Self, StartupError> {
        let boot = bootstrap::<P>(&config, false, clock).await?;
        let settings = boot.settings.clone();
        // Every setting is checked, and the port bound, before a server is
        // adopted or a download resumed: a bad setting or a port in use leaves
        // nothing running.
        let tls = settings.server.tls.as_ref().map(tls_config).transpose()?;
        let proxies = Arc::new(
            crate::http::TrustedProxies::parse(&settings.server.trusted_proxies)
                .map_err(ConfigError::Invalid)?,
        );
        let (listener, port) = bind(&settings.server).await?;
        let plugins = Arc::new(boot.plugins);
        let state = AppState::start(
            settings.clone(),
            boot.db,
            boot.data_dir,
            boot.events,
            boot.stopping,
            boot.clock,
            boot.observers,
        )
        .await?;
        let (routes, templates, allow) = routes::<P>(state.clone(), boot.authenticator)?;
        let https = tls.is_some();
        let cors = Cors::new()
            .allow_origins(settings.server.cors_origins.iter().map(String::as_str))
            .expose_header("x-request-id");
        let hooked = plugins.clone();
        let trusted = proxies.clone();
        let hosts = Arc::new(HostAllowList::new(
            &settings.server.allowed_hosts,
            &settings.server.host,
            port,
            &machine_names(),
        ));
        let connections =
            crate::connections::Connections::new(crate::connections::ConnectionLimits {
                per_peer: settings.server.max_connections_per_peer,
                header_read_timeout: settings.server.header_read_timeout,
                idle_timeout: settings.server.idle_timeout,
                trusted: (*proxies).clone(),
                exempt_loopback: true,
            });
        let tracked = connections.clone();
        // Innermost first: the plugins' hooks on the routes, then the core's
        // layers out to the connection tracker.
        let app = P::attach(&plugins, routes)
            .with(BodyLimit(settings.server.body_limit_bytes))
            .with(CatchPanic::new())
            .with_if(!settings.server.cors_origins.is_empty(), cors)
            .around(crate::api::gateway::openai_errors)
            .catch_all_error(error_to_json)
            .around(move |ep, req| observe::<P, _>(ep, req, hooked.clone(), templates.clone()))
            .around(move |ep, req| security_headers(ep, req, allow.clone(), https))
            .around(move |ep, req| crate::http::client_address(ep, req, trusted.clone()))
            .around(move |ep, req| check_host(ep, req, hosts.clone()))
            .around(log_request)
            .around(move |ep, req| crate::connections::track_requests(ep, req, tracked.clone()))
            .boxed();
        Ok(Self {
            listener,
            connections,
            tls,
            https,
            host: settings.server.host.clone(),
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

    /// The store the application serves from (tests reach behind its back).
    pub fn db(&self) -> &mlx_manager_sdk::Db {
        &self.state.db
    }

    /// Serve until SIGINT or SIGTERM, then shut down gracefully.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serve until `signal` completes, then stop accepting, end streams, let open
    /// requests finish (up to 5 s), stop what the manager started, and run the
    /// plugins' shutdown hooks.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send) -> io::Result<()> {
        let acceptor = crate::connections::LimitedAcceptor::new(
            TcpAcceptor::from_tokio(self.listener)?,
            self.connections,
        );
        let acceptor = match self.tls {
            Some(config) => acceptor
                .rustls(futures_util::stream::once(async move { config }).boxed())
                .boxed(),
            None => acceptor.boxed(),
        };
        let token = self.state.shutdown.clone();
        let stop = async move {
            signal.await;
            tracing::info!("shutting down");
            token.cancel();
        };
        let host = match self.host.as_str() {
            "0.0.0.0" | "::" | "[::]" => "127.0.0.1".to_owned(),
            h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
            h => h.to_owned(),
        };
        let scheme = if self.https { "https" } else { "http" };
        let url = format!("{scheme}://{host}:{}", self.port);
        let notes = P::status(&self.plugins).await;
        let mut line = format!("mlx-manager is ready at {url} (Swagger UI: {url}/docs)");
        for note in notes {
            line.push_str("; ");
            line.push_str(&note);
        }
        tracing::info!(port = self.port, "{line}");
        let served = Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(self.app, stop, Some(GRACEFUL_TIMEOUT))
            .await;
        self.state.stop().await;
        P::shutdown(&self.plugins).await;
        tracing::info!("stopped");
        served
    }
}

/// Bind `[server] host:port`; the port actually bound (0 asks for any).
async fn bind(server: &HttpSettings) -> Result<(tokio::net::TcpListener, u16), StartupError> {
    let addr = format!("{}:{}", server.host, server.port);
    let io_error = |context: String| move |source| StartupError::Io { context, source };
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(io_error(format!("cannot listen on {addr}")))?;
    let port = listener
        .local_addr()
        .map_err(io_error(format!(
            "cannot read the address bound for {addr}"
        )))?
        .port();
    Ok((listener, port))
}

/// The routes of the core and plugins `P` (the document, Swagger UI, every
/// operation) over `state`, with the route templates and the method table the
/// middleware needs.
#[allow(clippy::type_complexity)]
fn routes<P: PluginSet>(
    state: Arc<AppState>,
    authenticator: AuthenticatorHandle,
) -> Result<
    (
        poem::endpoint::BoxEndpoint<'static>,
        Arc<HashMap<String, String>>,
        Arc<AllowTable>,
    ),
    StartupError,
> {
    let api = api_service::<P>();
    let spec = openapi_document::<P>();
    let docs = crate::openapi::swagger_ui(&api, &spec);
    let parsed: serde_json::Value = serde_json::from_str(&spec).map_err(StartupError::Document)?;
    let templates = Arc::new(route_templates(&parsed));
    let allow = Arc::new(AllowTable::from_document(&parsed));
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
        .data(state)
        .data(authenticator)
        .boxed();
    Ok((routes, templates, allow))
}

/// The TLS configuration of `[server.tls]`: the files must be readable, and the
/// key readable by its owner only.
fn tls_config(
    tls: &crate::config::TlsSettings,
) -> Result<poem::listener::RustlsConfig, StartupError> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|source| StartupError::Io {
            context: format!("[server.tls] {what} {} cannot be read", path.display()),
            source,
        })
    };
    let cert = read(&tls.cert_path, "cert_path")?;
    let key = read(&tls.key_path, "key_path")?;
    let mode = std::fs::metadata(&tls.key_path)
        .map_err(|source| StartupError::Io {
            context: format!(
                "[server.tls] key_path {} cannot be checked",
                tls.key_path.display()
            ),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(crate::config::ConfigError::Invalid(format!(
            "[server.tls] key_path {} is readable by others (mode {:o}); chmod 600 it",
            tls.key_path.display(),
            mode & 0o777
        ))
        .into());
    }
    let certificate = poem::listener::RustlsCertificate::new().cert(cert).key(key);
    Ok(poem::listener::RustlsConfig::new().fallback(certificate))
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
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            if let Err(e) = ctrl_c.await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C either; stopping");
            }
        }
    }
}
