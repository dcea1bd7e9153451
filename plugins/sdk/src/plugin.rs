//! The `Plugin` trait: how a crate joins the server at compile time.

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use serde::{Serialize, de::DeserializeOwned};

use crate::{ActionDecl, Authenticator, AuthenticatorHandle, Db, EventBus, Permissions, Principal};

/// A numbered schema migration. The core applies each one once, in order, and
/// records it in the store; a failing one stops start-up.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Position in the plugin's (or the core's) sequence, starting at 1.
    pub version: u32,
    /// A short name for logs and errors.
    pub name: &'static str,
    /// SurrealQL statements.
    pub sql: &'static str,
}

/// A start-up failure of a plugin, with a sentence for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PluginError(pub String);

impl PluginError {
    /// A plugin error with a message for the operator.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// What the core gives a plugin during `init`.
pub struct PluginContext {
    db: Db,
    data_dir: PathBuf,
    authenticator: Option<Arc<dyn Authenticator>>,
    permissions: Arc<Permissions>,
    events: EventBus,
    offline: bool,
    stopping: tokio_util::sync::CancellationToken,
    clock: crate::clock::SharedClock,
    shared_store: bool,
    observers: crate::Observers,
}

impl PluginContext {
    /// The same context reading the time from `clock` (tests move it).
    pub fn with_clock(mut self, clock: crate::clock::SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock plugins read the time from where it decides something.
    pub fn clock(&self) -> crate::clock::SharedClock {
        self.clock.clone()
    }

    /// A context over the opened store and the (created) data directory, with
    /// the permissions table of every loaded component and the event bus.
    /// `offline` is true for the command line (no server will run).
    pub fn new(
        db: Db,
        data_dir: PathBuf,
        permissions: Arc<Permissions>,
        events: EventBus,
        offline: bool,
        stopping: tokio_util::sync::CancellationToken,
    ) -> Self {
        Self {
            db,
            data_dir,
            authenticator: None,
            permissions,
            events,
            offline,
            stopping,
            clock: Arc::new(crate::clock::SystemClock),
            shared_store: false,
            observers: crate::Observers::new(),
        }
    }

    /// The same context over a store that other managers may share (a
    /// SurrealDB server, not an embedded store).
    pub fn with_shared_store(mut self, shared: bool) -> Self {
        self.shared_store = shared;
        self
    }

    /// The same context reporting to `observers` (the core's, shared with
    /// its own services).
    pub fn with_observers(mut self, observers: crate::Observers) -> Self {
        self.observers = observers;
        self
    }

    /// Where measurements are reported and gauge sources registered; an
    /// observer plugin watches it.
    pub fn observers(&self) -> &crate::Observers {
        &self.observers
    }

    /// Whether other managers may change the store behind this one's back: a
    /// plugin then keeps nothing from it in memory that it cannot see change.
    pub fn is_store_shared(&self) -> bool {
        self.shared_store
    }

    /// Cancelled when the server begins to shut down: long-lived streams end on it.
    pub fn stopping(&self) -> &tokio_util::sync::CancellationToken {
        &self.stopping
    }

    /// The least role of every declared action (the core's `[permissions]`).
    pub fn permissions(&self) -> &Arc<Permissions> {
        &self.permissions
    }

    /// The bus on which the core and the plugins publish domain events.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Whether this is the offline command line rather than a server.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The store, with the plugin's migrations already applied.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The manager's data directory (owner-only permissions).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Install the authenticator that protects every protected operation.
    /// Only one plugin may install one.
    pub fn install_authenticator(
        &mut self,
        authenticator: Arc<dyn Authenticator>,
    ) -> Result<(), PluginError> {
        if self.authenticator.is_some() {
            return Err(PluginError::new(
                "two plugins tried to install an authenticator; enable only one",
            ));
        }
        self.authenticator = Some(authenticator);
        Ok(())
    }

    /// The installed authenticator (or none), for the core to put in request data.
    pub fn authenticator(&self) -> AuthenticatorHandle {
        AuthenticatorHandle(self.authenticator.clone())
    }
}

/// One answered request, as the request hook sees it after the call.
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord<'a> {
    /// The request's id (what its `X-Request-Id` answer header says).
    pub request_id: Option<&'a str>,
    /// The HTTP method.
    pub method: &'a poem::http::Method,
    /// The route template of the operation (`/api/profiles/{id}`), never the raw
    /// path; `None` for requests that matched no operation.
    pub route: Option<&'a str>,
    /// The operation's id (`getProfile`), when one matched.
    pub operation_id: Option<&'static str>,
    /// The response status.
    pub status: u16,
    /// The authenticated caller, when the request carried an accepted credential.
    pub principal: Option<&'a Principal>,
    /// The client's address.
    pub address: Option<&'a str>,
    /// Time spent answering.
    pub elapsed: Duration,
}

/// The request's id, in every request's data and in its answer's
/// `X-Request-Id`: the client's `X-Request-Id` when it is 1 to 64 characters
/// of `[A-Za-z0-9._-]`, else a new one. Every log line of the request carries
/// it (the core's `request` span).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The longest id taken from a client.
    pub const MAX_LEN: usize = 64;

    /// The client's id when it is well formed, else a new random one.
    pub fn from_client(value: Option<&str>) -> Self {
        let ok = |v: &&str| {
            (1..=Self::MAX_LEN).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        match value.filter(ok) {
            Some(v) => Self(v.to_owned()),
            None => Self(uuid::Uuid::new_v4().simple().to_string()),
        }
    }
}

/// A plugin: a crate composed into the server at compile time.
///
/// Its API joins the core's as a tuple in `OpenApiService::new((core, plugins..))`,
/// because poem-openapi's `OpenApi` trait is not object safe. After `init`, the
/// plugin value is put in every request's data as `Arc<Self>`, so its handlers reach
/// their state with `Data<&Arc<Self>>`.
pub trait Plugin: Sized + Send + Sync + 'static {
    /// The plugin's name and its config section `[plugins.<NAME>]`.
    const NAME: &'static str;
    /// Migrations of the plugin's own tables, applied before `init`.
    const MIGRATIONS: &'static [Migration] = &[];
    /// The actions of the plugin's operations, each with its default least role.
    const ACTIONS: &'static [ActionDecl] = &[];
    /// The typed `[plugins.<NAME>]` section; unknown keys must be refused.
    type Config: Serialize + DeserializeOwned + Default + Send + Sync + 'static;
    /// The plugin's operations. `Default` so that the OpenAPI document can be
    /// generated without a store.
    type Api: poem_openapi::OpenApi + Default + Send + Sync + 'static;

    /// Prepare the plugin before the server binds: read config, seed rows, start
    /// background tasks, install an authenticator.
    fn init(
        config: Self::Config,
        ctx: &mut PluginContext,
    ) -> impl Future<Output = Result<Self, PluginError>> + Send;

    /// Runs once when the server (or a command) stops.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Sees every answered request (route template, status, caller). Runs on
    /// the request's task after its response is ready: keep it quick.
    fn on_request(&self, _request: &RequestRecord<'_>) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A few words for the one start-up line a person reads ("no account exists
    /// yet: ..."), or `None`.
    fn status(&self) -> impl Future<Output = Option<String>> + Send {
        async { None }
    }

    /// Sub-commands this plugin adds to `mlx-manager` (offline administration).
    fn commands() -> Vec<clap::Command> {
        Vec::new()
    }

    /// Run the sub-command `name` (one of [`Plugin::commands`]) with its
    /// arguments, on a plugin initialised for the offline command line.
    fn run_command(
        &self,
        name: &str,
        _matches: &clap::ArgMatches,
    ) -> impl Future<Output = Result<(), PluginError>> + Send {
        let message = format!("plugin `{}` has no command `{name}`", Self::NAME);
        async move { Err(PluginError::new(message)) }
    }
}
