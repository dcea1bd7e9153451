//! The command line: `serve` (default), `openapi`, `config check`, `service`,
//! `store export|import`,
//! and the commands plugins contribute (the auth plugin's `user ...`). A
//! plugin command runs after the same bootstrap as the server (store, every
//! migration, every plugin), then the plugins shut down (the audit log flushes).

use std::{path::PathBuf, process::ExitCode};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use mlx_manager_sdk::PluginError;

use crate::{
    config::{self, Config, ConfigError, LogFormat},
    plugins::{DefaultPlugins, PluginSet},
    startup::{self, Application, StartupError},
    system::service::ServiceError,
};

/// mlx-manager: manage local LLM model servers behind an authenticated API.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Config file (default: ./config.toml when present).
    #[arg(long, global = true, env = "MLX_MANAGER_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Print the OpenAPI document.
    Openapi {
        /// Write it to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Inspect the configuration.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Run the manager itself as a login service (launchd agent or systemd user
    /// unit) running `mlx-manager serve --config <absolute path>`.
    Service {
        /// What to do.
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// Export the store to a file, or import one (see the README, "Several
    /// machines").
    Store {
        /// What to do.
        #[command(subcommand)]
        command: StoreCommand,
    },
}

/// `store` sub-commands: move the store from one SurrealDB deployment to
/// another (an embedded store to a SurrealDB server that several managers
/// share).
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Write the configured embedded store (`surrealkv://`, `mem://`), every
    /// migration applied, as one SurrealQL file.
    Export {
        /// The file to write.
        file: PathBuf,
    },
    /// Load a file written by `store export` into the configured store (a new,
    /// empty database on a SurrealDB server); then start the managers on it.
    Import {
        /// The file to read.
        file: PathBuf,
    },
}

/// `service` sub-commands.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write and load the service (it starts now and at every login).
    Install,
    /// Unload and remove it.
    Uninstall,
    /// Show whether it is installed and running.
    Status,
}

/// `config` sub-commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective values, secrets redacted.
    Check,
}

/// The command line of this build: the core's commands and every plugin's.
pub fn command<P: PluginSet>() -> clap::Command {
    P::commands()
        .into_iter()
        .fold(Cli::command(), |cmd, (_, sub)| cmd.subcommand(sub))
}

/// Parse the command line and run it.
pub async fn run() -> ExitCode {
    let matches = command::<DefaultPlugins>().get_matches();
    let result = match matches.subcommand() {
        Some((name, sub)) if is_plugin_command::<DefaultPlugins>(name) => {
            let config = matches.get_one::<PathBuf>("config").cloned();
            run_plugin_command::<DefaultPlugins>(config, name, sub).await
        }
        _ => match Cli::from_arg_matches(&matches) {
            Ok(cli) => execute(cli).await,
            Err(e) => e.exit(),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command failed; printed as `error: <sentence>` with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration cannot be loaded or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store, a plugin or the listener failed at start-up.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// Serving stopped with an error.
    #[error("serving failed: {0}")]
    Serve(std::io::Error),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A plugin's command failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// No plugin has this command.
    #[error("no plugin has the command `{0}`")]
    UnknownCommand(String),
    /// The login service could not be changed or read.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The manager's own service needs a config file that exists.
    #[error(
        "the service needs a config file; {} cannot be used ({source}); pass --config PATH",
        path.display()
    )]
    NoConfigFile {
        /// The path given (or the default).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// This program's own path is unknown.
    #[error("cannot find this program: {0}")]
    NoExecutable(std::io::Error),
    /// The store could not be exported or imported.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The effective configuration cannot be shown as TOML.
    #[error("cannot show the configuration as TOML: {0}")]
    Toml(String),
}

async fn execute(cli: Cli) -> Result<(), CliError> {
    let load = || Config::load(cli.config.as_deref());
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = load()?;
            init_tracing(config.settings.server.log_format);
            raise_open_file_limit();
            let app = Application::build(config).await?;
            app.run_until_stopped().await.map_err(CliError::Serve)
        }
        Command::Openapi { output } => {
            let spec = startup::openapi_json() + "\n";
            match output {
                Some(path) => {
                    std::fs::write(&path, spec).map_err(|source| CliError::Write { path, source })
                }
                None => {
                    print!("{spec}");
                    Ok(())
                }
            }
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            let config = load()?;
            print!("{}", effective_config(&config)?);
            Ok(())
        }
        Command::Service { command } => {
            let config = load()?;
            let path = cli
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from("config.toml"));
            manager_service(&config, &path, command).await
        }
        Command::Store { command } => move_store(&load()?, command).await,
    }
}

async fn move_store(config: &Config, command: StoreCommand) -> Result<(), CliError> {
    match command {
        StoreCommand::Export { file } => {
            let clock = std::sync::Arc::new(mlx_manager_sdk::clock::SystemClock);
            let boot = startup::bootstrap::<DefaultPlugins>(config, true, clock).await?;
            let exported = crate::store::export(&boot.db, &file).await;
            DefaultPlugins::shutdown(&boot.plugins).await;
            exported?;
            println!("exported the store to {}", file.display());
        }
        StoreCommand::Import { file } => {
            let settings = &config.settings;
            let data_dir = startup::ensure_private_dir(&settings.paths.data_dir())?;
            let db = crate::store::open(&settings.database, &data_dir).await?;
            crate::store::import(&db, &file).await?;
            println!(
                "imported {} into {}",
                file.display(),
                settings.database.url_in(&data_dir)
            );
        }
    }
    Ok(())
}

fn is_plugin_command<P: PluginSet>(name: &str) -> bool {
    P::commands().iter().any(|(_, c)| c.get_name() == name)
}

/// Bootstrap offline (store, migrations, every plugin), run the plugin's command,
/// then shut the plugins down.
pub async fn run_plugin_command<P: PluginSet>(
    config: Option<PathBuf>,
    name: &str,
    matches: &clap::ArgMatches,
) -> Result<(), CliError> {
    let config = Config::load(config.as_deref())?;
    let clock = std::sync::Arc::new(mlx_manager_sdk::clock::SystemClock);
    let boot = startup::bootstrap::<P>(&config, true, clock).await?;
    let result = P::run_command(&boot.plugins, name, matches).await;
    P::shutdown(&boot.plugins).await;
    match result {
        Some(result) => Ok(result?),
        None => Err(CliError::UnknownCommand(name.to_owned())),
    }
}

async fn manager_service(
    config: &Config,
    config_path: &std::path::Path,
    command: ServiceCommand,
) -> Result<(), CliError> {
    let data_dir = startup::ensure_private_dir(&config.settings.paths.data_dir())?;
    let services = crate::state::service_manager(&config.settings, &data_dir);
    let label = crate::system::service::MANAGER_LABEL;
    match command {
        ServiceCommand::Install => {
            let config_path =
                std::fs::canonicalize(config_path).map_err(|source| CliError::NoConfigFile {
                    path: config_path.to_path_buf(),
                    source,
                })?;
            let exe = std::env::current_exe().map_err(CliError::NoExecutable)?;
            let spec = services.manager_spec(&exe, &config_path, &data_dir);
            let path = services.install(&spec).await?;
            println!("installed {} ({})", spec.label, path.display());
        }
        ServiceCommand::Uninstall => {
            services.uninstall(label).await?;
            println!("removed {label}");
        }
        ServiceCommand::Status => {
            let s = services.status(label).await?;
            let pid = s.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
            println!(
                "{label}: {}, {}{pid}",
                if s.installed {
                    "installed"
                } else {
                    "not installed"
                },
                if s.running { "running" } else { "not running" }
            );
        }
    }
    Ok(())
}

/// The effective configuration as TOML, plugins and the whole permissions
/// table included, secrets redacted.
pub fn effective_config(config: &Config) -> Result<String, CliError> {
    config.check_plugin_names(&DefaultPlugins::names())?;
    let toml_error = |e: toml::ser::Error| CliError::Toml(e.to_string());
    let mut value = toml::Value::try_from(&config.settings).map_err(toml_error)?;
    let plugins = DefaultPlugins::effective_config(config)?;
    let permissions = startup::permissions::<DefaultPlugins>(&config.settings)?;
    if let toml::Value::Table(root) = &mut value {
        let table = plugins
            .into_iter()
            .map(|(name, v)| (name.to_owned(), v))
            .collect();
        root.insert("plugins".into(), toml::Value::Table(table));
        let roles = permissions
            .effective()
            .into_iter()
            .map(|(action, role)| (action.to_owned(), toml::Value::String(role.to_string())))
            .collect();
        root.insert("permissions".into(), toml::Value::Table(roles));
    }
    config::redact(&mut value);
    toml::to_string_pretty(&value).map_err(toml_error)
}

/// Raise the soft limit of open files to the hard one: every connection, log
/// file and store file is a descriptor, and macOS starts processes with 256, so
/// a few hundred idle connections would otherwise lock everyone out.
fn raise_open_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => tracing::debug!(from = soft, to = hard, "open-file limit raised"),
            Err(e) => tracing::warn!(error = %e, soft, hard, "cannot raise the open-file limit"),
        },
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the open-file limit"),
    }
}

fn init_tracing(format: LogFormat) {
    // SurrealDB and SurrealKV announce themselves at length at INFO; by default
    // only their warnings show (RUST_LOG overrides it all).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,surrealdb=warn,surrealdb_core=warn,surrealkv=warn,surrealdb_server=warn",
        )
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
