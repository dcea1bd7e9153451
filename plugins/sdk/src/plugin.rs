//! The `Plugin` trait: how a crate joins the server at compile time.

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Serialize, de::DeserializeOwned};

use crate::{Authenticator, AuthenticatorHandle, Db};

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
}

impl PluginContext {
    /// A context over the opened store and the (created) data directory.
    pub fn new(db: Db, data_dir: PathBuf) -> Self {
        Self {
            db,
            data_dir,
            authenticator: None,
        }
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

    /// Runs once when the server stops.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}
