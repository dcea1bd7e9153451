//! Compile-time composition of plugins: a tuple of [`Plugin`]s is a [`PluginSet`],
//! whose APIs join the core's and whose values go into every request's data.

use std::{future::Future, sync::Arc};

use mlx_manager_sdk::{Migration, Plugin, PluginContext};
use poem::{EndpointExt, endpoint::BoxEndpoint};

use crate::config::{Config, ConfigError};

/// The plugins this build serves: the authentication plugin.
pub type DefaultPlugins = (mlx_manager_auth::AuthPlugin,);

/// A plugin failed to start.
#[derive(Debug, thiserror::Error)]
pub enum PluginSetError {
    /// Its config section is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Its `init` failed.
    #[error("plugin `{0}` failed to start: {1}")]
    Init(&'static str, mlx_manager_sdk::PluginError),
}

/// A set of plugins known at compile time: `()`, `(A,)` or `(A, B)`.
pub trait PluginSet: Send + Sync + 'static {
    /// The plugins' operations, joined to the core's.
    type Api: poem_openapi::OpenApi + Default + Send + Sync + 'static;
    /// The initialised plugins.
    type Running: Send + Sync + 'static;

    /// The plugins' names (their config sections).
    fn names() -> Vec<&'static str>;
    /// Each plugin's migrations, by name.
    fn migrations() -> Vec<(&'static str, &'static [Migration])>;
    /// Each plugin's effective config section, typed then re-serialised.
    fn effective_config(config: &Config) -> Result<Vec<(&'static str, toml::Value)>, ConfigError>;
    /// Initialise every plugin, in order.
    fn init(
        config: &Config,
        ctx: &mut PluginContext,
    ) -> impl Future<Output = Result<Self::Running, PluginSetError>> + Send;
    /// Put each plugin into the request data of `ep`.
    fn attach(running: &Self::Running, ep: BoxEndpoint<'static>) -> BoxEndpoint<'static>;
    /// Run every plugin's shutdown hook.
    fn shutdown(running: &Self::Running) -> impl Future<Output = ()> + Send;
}

fn typed<P: Plugin>(config: &Config) -> Result<P::Config, ConfigError> {
    config.plugin::<P::Config>(P::NAME)
}

fn effective<P: Plugin>(config: &Config) -> Result<(&'static str, toml::Value), ConfigError> {
    let typed = typed::<P>(config)?;
    let value = toml::Value::try_from(&typed).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    Ok((P::NAME, value))
}

async fn init_one<P: Plugin>(
    config: &Config,
    ctx: &mut PluginContext,
) -> Result<Arc<P>, PluginSetError> {
    let typed = typed::<P>(config)?;
    let plugin = P::init(typed, ctx)
        .await
        .map_err(|e| PluginSetError::Init(P::NAME, e))?;
    Ok(Arc::new(plugin))
}

impl PluginSet for () {
    type Api = ();
    type Running = ();

    fn names() -> Vec<&'static str> {
        Vec::new()
    }
    fn migrations() -> Vec<(&'static str, &'static [Migration])> {
        Vec::new()
    }
    fn effective_config(_: &Config) -> Result<Vec<(&'static str, toml::Value)>, ConfigError> {
        Ok(Vec::new())
    }
    async fn init(_: &Config, _: &mut PluginContext) -> Result<(), PluginSetError> {
        Ok(())
    }
    fn attach(_: &(), ep: BoxEndpoint<'static>) -> BoxEndpoint<'static> {
        ep
    }
    async fn shutdown(_: &()) {}
}

impl<A: Plugin> PluginSet for (A,) {
    type Api = A::Api;
    type Running = Arc<A>;

    fn names() -> Vec<&'static str> {
        vec![A::NAME]
    }
    fn migrations() -> Vec<(&'static str, &'static [Migration])> {
        vec![(A::NAME, A::MIGRATIONS)]
    }
    fn effective_config(config: &Config) -> Result<Vec<(&'static str, toml::Value)>, ConfigError> {
        Ok(vec![effective::<A>(config)?])
    }
    async fn init(config: &Config, ctx: &mut PluginContext) -> Result<Arc<A>, PluginSetError> {
        init_one::<A>(config, ctx).await
    }
    fn attach(running: &Arc<A>, ep: BoxEndpoint<'static>) -> BoxEndpoint<'static> {
        ep.data(running.clone()).boxed()
    }
    async fn shutdown(running: &Arc<A>) {
        running.shutdown().await
    }
}

impl<A: Plugin, B: Plugin> PluginSet for (A, B) {
    type Api = (A::Api, B::Api);
    type Running = (Arc<A>, Arc<B>);

    fn names() -> Vec<&'static str> {
        vec![A::NAME, B::NAME]
    }
    fn migrations() -> Vec<(&'static str, &'static [Migration])> {
        vec![(A::NAME, A::MIGRATIONS), (B::NAME, B::MIGRATIONS)]
    }
    fn effective_config(config: &Config) -> Result<Vec<(&'static str, toml::Value)>, ConfigError> {
        Ok(vec![effective::<A>(config)?, effective::<B>(config)?])
    }
    async fn init(
        config: &Config,
        ctx: &mut PluginContext,
    ) -> Result<Self::Running, PluginSetError> {
        let a = init_one::<A>(config, ctx).await?;
        let b = init_one::<B>(config, ctx).await?;
        Ok((a, b))
    }
    fn attach(running: &Self::Running, ep: BoxEndpoint<'static>) -> BoxEndpoint<'static> {
        ep.data(running.0.clone()).data(running.1.clone()).boxed()
    }
    async fn shutdown(running: &Self::Running) {
        running.1.shutdown().await;
        running.0.shutdown().await;
    }
}
