//! Compile-time composition of plugins: a tuple of up to eight [`Plugin`]s is a
//! [`PluginSet`], whose APIs join the core's, whose values go into every request's
//! data, whose hooks see every request, and whose commands join the CLI.
//!
//! This is the composition root: the only core file that names plugin crates.

use std::{future::Future, sync::Arc};

use mlx_manager_sdk::{ActionDecl, Migration, Plugin, PluginContext, PluginError, RequestRecord};
use poem::{EndpointExt, endpoint::BoxEndpoint};

use crate::config::{Config, ConfigError};

/// The plugins this build serves: the audit log, metrics and authentication.
/// Audit comes first so that it has subscribed to the event bus before any
/// other plugin starts (and shuts down last, after the others' last events);
/// metrics next, so that it counts the authentication plugin's events too.
pub type DefaultPlugins = (
    mlx_manager_audit::AuditPlugin,
    mlx_manager_metrics::MetricsPlugin,
    mlx_manager_auth::AuthPlugin,
);

/// A plugin failed to start.
#[derive(Debug, thiserror::Error)]
pub enum PluginSetError {
    /// Its config section is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Its `init` failed.
    #[error("plugin `{0}` failed to start: {1}")]
    Init(&'static str, PluginError),
}

/// A set of plugins known at compile time: `()` or a tuple of up to eight.
pub trait PluginSet: Send + Sync + 'static {
    /// The plugins' operations, joined to the core's.
    type Api: poem_openapi::OpenApi + Default + Send + Sync + 'static;
    /// The initialised plugins.
    type Running: Send + Sync + 'static;

    /// The plugins' names (their config sections).
    fn names() -> Vec<&'static str>;
    /// Each plugin's migrations, by name.
    fn migrations() -> Vec<(&'static str, &'static [Migration])>;
    /// Every plugin's declared actions.
    fn actions() -> Vec<ActionDecl>;
    /// Every plugin's CLI sub-commands, with the plugin's name.
    fn commands() -> Vec<(&'static str, clap::Command)>;
    /// Each plugin's effective config section, typed then re-serialised.
    fn effective_config(config: &Config) -> Result<Vec<(&'static str, toml::Value)>, ConfigError>;
    /// Initialise every plugin, in order.
    fn init(
        config: &Config,
        ctx: &mut PluginContext,
    ) -> impl Future<Output = Result<Self::Running, PluginSetError>> + Send;
    /// Put each plugin into the request data of `ep`.
    fn attach(running: &Self::Running, ep: BoxEndpoint<'static>) -> BoxEndpoint<'static>;
    /// Run every plugin's request hook.
    fn on_request(
        running: &Self::Running,
        record: &RequestRecord<'_>,
    ) -> impl Future<Output = ()> + Send;
    /// Run the plugin command `name`; `None` when no plugin has it.
    fn run_command(
        running: &Self::Running,
        name: &str,
        matches: &clap::ArgMatches,
    ) -> impl Future<Output = Option<Result<(), PluginError>>> + Send;
    /// Run every plugin's shutdown hook, last plugin first.
    fn shutdown(running: &Self::Running) -> impl Future<Output = ()> + Send;
    /// Every plugin's start-up status words.
    fn status(running: &Self::Running) -> impl Future<Output = Vec<String>> + Send;
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

fn owns_command<P: Plugin>(name: &str) -> bool {
    P::commands().iter().any(|c| c.get_name() == name)
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
    fn actions() -> Vec<ActionDecl> {
        Vec::new()
    }
    fn commands() -> Vec<(&'static str, clap::Command)> {
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
    async fn on_request(_: &(), _: &RequestRecord<'_>) {}
    async fn run_command(_: &(), _: &str, _: &clap::ArgMatches) -> Option<Result<(), PluginError>> {
        None
    }
    async fn shutdown(_: &()) {}
    async fn status(_: &()) -> Vec<String> {
        Vec::new()
    }
}

/// `PluginSet` for a tuple of plugins. The API is `((), A::Api, ...)` because
/// poem-openapi implements `OpenApi` for tuples of two or more.
macro_rules! plugin_set {
    ($($p:ident . $i:tt),+ ; $($rev:tt),+) => {
        impl<$($p: Plugin),+> PluginSet for ($($p,)+) {
            type Api = ((), $($p::Api),+);
            type Running = ($(Arc<$p>,)+);

            fn names() -> Vec<&'static str> {
                vec![$($p::NAME),+]
            }
            fn migrations() -> Vec<(&'static str, &'static [Migration])> {
                vec![$(($p::NAME, $p::MIGRATIONS)),+]
            }
            fn actions() -> Vec<ActionDecl> {
                let mut all = Vec::new();
                $(all.extend_from_slice($p::ACTIONS);)+
                all
            }
            fn commands() -> Vec<(&'static str, clap::Command)> {
                let mut all = Vec::new();
                $(all.extend($p::commands().into_iter().map(|c| ($p::NAME, c)));)+
                all
            }
            fn effective_config(
                config: &Config,
            ) -> Result<Vec<(&'static str, toml::Value)>, ConfigError> {
                Ok(vec![$(effective::<$p>(config)?),+])
            }
            async fn init(
                config: &Config,
                ctx: &mut PluginContext,
            ) -> Result<Self::Running, PluginSetError> {
                Ok(($(init_one::<$p>(config, ctx).await?,)+))
            }
            fn attach(running: &Self::Running, ep: BoxEndpoint<'static>) -> BoxEndpoint<'static> {
                $(let ep = ep.data(running.$i.clone()).boxed();)+
                ep
            }
            async fn on_request(running: &Self::Running, record: &RequestRecord<'_>) {
                $(running.$i.on_request(record).await;)+
            }
            async fn run_command(
                running: &Self::Running,
                name: &str,
                matches: &clap::ArgMatches,
            ) -> Option<Result<(), PluginError>> {
                $(
                    if owns_command::<$p>(name) {
                        return Some(running.$i.run_command(name, matches).await);
                    }
                )+
                None
            }
            async fn shutdown(running: &Self::Running) {
                $(running.$rev.shutdown().await;)+
            }
            async fn status(running: &Self::Running) -> Vec<String> {
                let mut all = Vec::new();
                $(all.extend(running.$i.status().await);)+
                all
            }
        }
    };
}

plugin_set!(A.0; 0);
plugin_set!(A.0, B.1; 1, 0);
plugin_set!(A.0, B.1, C.2; 2, 1, 0);
plugin_set!(A.0, B.1, C.2, D.3; 3, 2, 1, 0);
plugin_set!(A.0, B.1, C.2, D.3, E.4; 4, 3, 2, 1, 0);
plugin_set!(A.0, B.1, C.2, D.3, E.4, F.5; 5, 4, 3, 2, 1, 0);
plugin_set!(A.0, B.1, C.2, D.3, E.4, F.5, G.6; 6, 5, 4, 3, 2, 1, 0);
plugin_set!(A.0, B.1, C.2, D.3, E.4, F.5, G.6, H.7; 7, 6, 5, 4, 3, 2, 1, 0);
