//! One typed settings tree: built-in defaults, then `config.toml`, then
//! `MLX_MANAGER_<SECTION>__<KEY>` environment variables (`__` nests).
//!
//! Every struct refuses unknown keys, so a typo fails start-up with a message that
//! names the key and where it came from (the file or the variable).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "MLX_MANAGER_";

/// A configuration error: the key, the value's problem and its source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A key has a bad value or is unknown.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// `--config PATH` names a file that does not exist.
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        let all: Vec<String> = err.into_iter().map(|e| e.to_string()).collect();
        ConfigError::Invalid(all.join("; "))
    }
}

/// `[server]`: the manager's own HTTP server (address, TLS, limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0 picks a free one).
    pub port: u16,
    /// Largest accepted request body, in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// Origins allowed by CORS (none by default: same-origin only).
    pub cors_origins: Vec<String>,
    /// Log format: `text` or `json`. Verbosity comes from `RUST_LOG`.
    pub log_format: LogFormat,
    /// Proxies (CIDR, or single addresses) whose `X-Forwarded-For` is believed:
    /// behind one, the client is the first untrusted hop. Empty: the socket peer.
    pub trusted_proxies: Vec<String>,
    /// `[server.tls]`: serve HTTPS with this certificate and key (PEM).
    pub tls: Option<TlsSettings>,
    /// `Host` headers the server answers (a name or address, with or without a
    /// port; `*` allows any). Empty: the loopback names and addresses and
    /// `host` (for a wildcard `host`, the machine's host name and interface
    /// addresses), with and without the port. Others get 421: a DNS-rebinding
    /// page cannot reach the API through a name it controls.
    pub allowed_hosts: Vec<String>,
    /// Open connections one client address may hold; more are closed at once
    /// (0: no cap). Loopback and `trusted_proxies` are exempt.
    pub max_connections_per_peer: usize,
    /// A request must arrive whole (its header) within this time of its first
    /// byte, or of the connection's opening.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed (a
    /// request being handled, or a response being streamed, never is).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            body_limit_bytes: 1024 * 1024,
            cors_origins: Vec::new(),
            log_format: LogFormat::Text,
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            tls: None,
            max_connections_per_peer: 128,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// HTTPS: the certificate chain and its private key, PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The certificate (chain), PEM.
    pub cert_path: PathBuf,
    /// Its private key, PEM; must not be readable by group or others.
    pub key_path: PathBuf,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `mem://`, `surrealkv://PATH` or `ws(s)://HOST:PORT`; unset means
    /// `surrealkv://<data_dir>/db`.
    pub url: Option<String>,
    /// SurrealDB namespace.
    pub namespace: String,
    /// SurrealDB database.
    pub database: String,
    /// Root user for a remote server (`ws://`, `wss://`).
    pub username: Option<String>,
    /// Password of `username`.
    pub password: Option<String>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            namespace: "mlx_manager".into(),
            database: "main".into(),
            username: None,
            password: None,
        }
    }
}

impl DatabaseSettings {
    /// The store URL, defaulting to a SurrealKV store in the data directory.
    pub fn url_in(&self, data_dir: &Path) -> String {
        match &self.url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("surrealkv://{}", data_dir.join("db").display()),
        }
    }

    /// Whether the store is a SurrealDB server other managers may share
    /// (`ws://`, `wss://`, `http://`, `https://`), rather than embedded.
    pub fn is_shared(&self) -> bool {
        self.url.as_deref().is_some_and(|url| {
            ["ws://", "wss://", "http://", "https://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        })
    }
}

/// Where files live. `~` at the start of a path is the user's home.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathSettings {
    /// The manager's data directory (store, logs, secrets); created owner-only.
    pub data_dir: PathBuf,
    /// The Hugging Face hub cache that downloads go to and MLX tools read.
    pub hf_cache: PathBuf,
}

impl Default for PathSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("~/.mlx-manager"),
            hf_cache: PathBuf::from("~/.cache/huggingface/hub"),
        }
    }
}

impl PathSettings {
    /// The data directory with `~` expanded.
    pub fn data_dir(&self) -> PathBuf {
        expand_home(&self.data_dir)
    }

    /// The hub cache with `~` expanded.
    pub fn hf_cache(&self) -> PathBuf {
        expand_home(&self.hf_cache)
    }
}

/// `[servers]`: how model servers are launched and supervised (the command
/// template, its environment, ports and timeouts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelServerSettings {
    /// The server program: a name looked up on `PATH`, or a path.
    pub program: String,
    /// Its arguments. `{field}` is replaced by the profile's value; an argument that
    /// is only a placeholder and comes out empty is dropped with the flag before it;
    /// `{field?TEXT}` gives TEXT when the field is set (true or non-empty). When
    /// the program is mlx-openai-server, a field whose option its version lacks
    /// comes out empty (see `servers::command`).
    pub args: Vec<String>,
    /// Extra environment variables for the server.
    pub env: BTreeMap<String, String>,
    /// Working directory of the server (unset: the data directory).
    pub working_dir: Option<PathBuf>,
    /// The first port `next-port` suggests.
    pub port_start: u16,
    /// Let a profile's server listen on an address other than loopback. Off:
    /// such a profile is refused (422) and a stored one does not start (409),
    /// because the gateway (`/v1`) is the authenticated way in.
    pub allow_public_bind: bool,
    /// A server that exits within this time after spawn has failed to start.
    #[serde(with = "humantime_serde")]
    pub start_grace: Duration,
    /// A server that is not healthy within this time has failed to start.
    #[serde(with = "humantime_serde")]
    pub start_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when stopping.
    #[serde(with = "humantime_serde")]
    pub stop_timeout: Duration,
    /// Timeout of one health probe (`GET /v1/models`).
    #[serde(with = "humantime_serde")]
    pub health_timeout: Duration,
}

impl Default for ModelServerSettings {
    fn default() -> Self {
        let args = [
            "launch",
            "--model-path",
            "{model_path}",
            "--model-type",
            "{model_type}",
            "--served-model-name",
            "{served_model_name}",
            "--port",
            "{port}",
            "--host",
            "{host}",
            "--context-length",
            "{context_length}",
            "--max-concurrency",
            "{max_concurrency}",
            "--decode-concurrency",
            "{decode_concurrency}",
            "--prompt-concurrency",
            "{prompt_concurrency}",
            "--queue-timeout",
            "{queue_timeout}",
            "--queue-size",
            "{queue_size}",
            "--tool-call-parser",
            "{tool_call_parser}",
            "--reasoning-parser",
            "{reasoning_parser}",
            "--message-converter",
            "{message_converter}",
            "{enable_auto_tool_choice?--enable-auto-tool-choice}",
            "{trust_remote_code?--trust-remote-code}",
            "--chat-template-file",
            "{chat_template_file}",
            "--log-level",
            "{log_level}",
            "--log-file",
            "{log_file}",
            "{no_log_file?--no-log-file}",
        ];
        Self {
            program: "mlx-openai-server".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            working_dir: None,
            port_start: 10240,
            allow_public_bind: false,
            start_grace: Duration::from_secs(2),
            start_timeout: Duration::from_secs(300),
            stop_timeout: Duration::from_secs(10),
            health_timeout: Duration::from_secs(5),
        }
    }
}

/// The Hugging Face Hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HubSettings {
    /// Hub endpoint (`HF_ENDPOINT` when set).
    pub endpoint: String,
    /// Token for gated and private repositories (`HF_TOKEN` when set).
    pub token: Option<String>,
    /// Never call the Hub.
    pub offline: bool,
    /// Limit search to this author or organisation.
    pub organization: Option<String>,
    /// Timeout of one Hub request (a file download may take longer; this bounds
    /// connecting and each read).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries after a 5xx or a connection error, with exponential backoff.
    pub retries: u32,
    /// The first backoff delay; each retry doubles it (capped at 30 s).
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Files of one model downloaded at the same time.
    pub concurrent_files: usize,
    /// Models downloaded at the same time; later ones wait as `pending`.
    pub concurrent_downloads: usize,
    /// Finished, failed and cancelled download records older than this are
    /// deleted (the files stay).
    #[serde(with = "humantime_serde")]
    pub keep_finished: Duration,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            endpoint: "https://huggingface.co".into(),
            token: None,
            offline: false,
            organization: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            retry_backoff: Duration::from_millis(500),
            concurrent_files: 4,
            concurrent_downloads: 2,
            keep_finished: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Host information and login services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemSettings {
    /// Share of total memory recommended for MLX models, in percent.
    pub max_memory_percent: u8,
    /// Where login-service files go (unset: `~/Library/LaunchAgents` on macOS,
    /// `~/.config/systemd/user` on Linux).
    pub service_dir: Option<PathBuf>,
    /// The `launchctl` program.
    pub launchctl: String,
    /// The `systemctl` program.
    pub systemctl: String,
}

impl Default for SystemSettings {
    fn default() -> Self {
        Self {
            max_memory_percent: 80,
            service_dir: None,
            launchctl: "launchctl".into(),
            systemctl: "systemctl".into(),
        }
    }
}

/// The OpenAI-compatible gateway at `/v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// The largest request body a `/v1` route reads (JSON or an upload), in
    /// bytes; larger is 413. `[server] body_limit_bytes` does not apply to `/v1`.
    pub max_upload_bytes: usize,
    /// How long usage records are kept (`0s`: forever).
    #[serde(with = "humantime_serde")]
    pub usage_retention: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 25 * 1024 * 1024,
            usage_retention: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// `[node]`: the name that scopes this manager's profiles, server instances and
/// download tasks in a store that several managers share (see
/// [`crate::node`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSettings {
    /// 1 to 64 letters, digits, `.`, `_` or `-`. Unset: an id generated once
    /// and kept in `<data_dir>/node_id`, so that a changed host name moves
    /// nothing. After start-up it always holds the effective name.
    pub name: Option<String>,
}

impl NodeSettings {
    /// The effective node name (empty only before start-up resolved it).
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

/// The whole settings tree of the core. Plugin sections stay raw here and are
/// read, typed, by each plugin (see [`Config::plugin`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `[server]`: the manager's HTTP server.
    pub server: HttpSettings,
    /// `[database]`: the store.
    pub database: DatabaseSettings,
    /// `[paths]`: data directory and hub cache.
    pub paths: PathSettings,
    /// `[servers]`: how model servers are launched.
    pub servers: ModelServerSettings,
    /// `[hub]`: the Hugging Face Hub.
    pub hub: HubSettings,
    /// `[system]`: host information.
    pub system: SystemSettings,
    /// `[gateway]`: the OpenAI-compatible gateway.
    pub gateway: GatewaySettings,
    /// `[node]`: this manager's name among the managers sharing one store.
    pub node: NodeSettings,
    /// `[permissions]`: the least role allowed per action (declared by the core
    /// and the plugins); actions left out keep their defaults.
    pub permissions: PermissionTable,
    /// `[plugins.<name>]`: one section per plugin.
    pub plugins: BTreeMap<String, figment::value::Value>,
}

/// `[permissions]`: action name to role name. Written `"servers.control" =
/// "operator"`, or nested (`servers.control = "operator"` without quotes makes a
/// `servers` table), or from the environment as
/// `MLX_MANAGER_PERMISSIONS__SERVERS_CONTROL=operator`. Which actions and roles
/// exist is checked when the table is built (`mlx_manager_sdk::Permissions`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PermissionTable(pub BTreeMap<String, PermissionEntry>);

/// A `[permissions]` value: a role, or a table of further name parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PermissionEntry {
    /// A role's name.
    Role(String),
    /// More parts of a dotted action name.
    Nested(BTreeMap<String, PermissionEntry>),
}

impl PermissionTable {
    /// Every entry as `action name -> role name`, nested tables joined with dots.
    pub fn flatten(&self) -> BTreeMap<String, String> {
        fn walk(
            prefix: &str,
            map: &BTreeMap<String, PermissionEntry>,
            out: &mut BTreeMap<String, String>,
        ) {
            for (key, entry) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                match entry {
                    PermissionEntry::Role(role) => {
                        out.insert(name, role.clone());
                    }
                    PermissionEntry::Nested(inner) => walk(&name, inner, out),
                }
            }
        }
        let mut out = BTreeMap::new();
        walk("", &self.0, &mut out);
        out
    }
}

/// Loaded configuration: the core's typed settings and the layered sources, from
/// which plugins read their sections.
#[derive(Debug, Clone)]
pub struct Config {
    /// The core's settings.
    pub settings: Settings,
    figment: Figment,
}

impl Config {
    /// Defaults, then the TOML file (`path`, else `./config.toml` when present),
    /// then the Hugging Face variables, then `MLX_MANAGER_*` variables.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Self::defaults();
        match path {
            Some(path) if !path.is_file() => return Err(ConfigError::MissingFile(path.into())),
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("config.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("config.toml"))
            }
            None => {}
        }
        let figment = figment.merge(hf_env()).merge(env()).merge(servers_env());
        Self::from_figment(figment)
    }

    /// The built-in defaults alone.
    pub fn defaults() -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
    }

    /// Extract the settings from any figment (tests layer their own values).
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract()?;
        Ok(Self { settings, figment })
    }

    /// The typed `[plugins.<name>]` section (its defaults when absent).
    pub fn plugin<T: DeserializeOwned>(&self, name: &str) -> Result<T, ConfigError> {
        Ok(self.figment.focus(&format!("plugins.{name}")).extract()?)
    }

    /// Refuse `[plugins.<name>]` sections of plugins this build does not have.
    pub fn check_plugin_names(&self, known: &[&str]) -> Result<(), ConfigError> {
        for name in self.settings.plugins.keys() {
            if !known.contains(&name.as_str()) {
                let source = self
                    .figment
                    .find_metadata(&format!("plugins.{name}"))
                    .map(|m| m.name.to_string())
                    .unwrap_or_else(|| "config".into());
                return Err(ConfigError::Invalid(format!(
                    "unknown plugin section `plugins.{name}` in {source}; known plugins: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }
}

fn env() -> Env {
    Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
        let key = key.as_str().to_ascii_lowercase();
        // MLX_MANAGER_CONFIG names the file (read by the command line), and the
        // server environment's names keep their case (see `servers_env`).
        key != "config" && !key.starts_with("servers.env.") && !key.starts_with("servers__env__")
    })
}

/// The prefix of variables that set `[servers.env]` entries.
const SERVERS_ENV_PREFIX: &str = "MLX_MANAGER_SERVERS__ENV__";

/// `MLX_MANAGER_SERVERS__ENV__<NAME>=<value>` as `[servers.env] NAME = "value"`:
/// the name keeps its case and the value stays a string (a generic variable
/// would be lower-cased and `1` read as a number).
fn servers_env() -> Serialized<serde_json::Value> {
    let vars: BTreeMap<String, String> = std::env::vars()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(SERVERS_ENV_PREFIX)?;
            (!name.is_empty()).then(|| (name.to_owned(), v))
        })
        .collect();
    if vars.is_empty() {
        return Serialized::defaults(serde_json::json!({}));
    }
    Serialized::defaults(serde_json::json!({ "servers": { "env": vars } }))
}

/// `HF_ENDPOINT` and `HF_TOKEN`, the Hub's own variables, as `hub.*` keys.
fn hf_env() -> Env {
    Env::raw().only(&["HF_ENDPOINT", "HF_TOKEN"]).map(|key| {
        if key.as_str().eq_ignore_ascii_case("HF_ENDPOINT") {
            "hub.endpoint".into()
        } else {
            "hub.token".into()
        }
    })
}

/// `~` or `~/x` becomes the home directory (or `x` in it).
pub fn expand_home(path: &Path) -> PathBuf {
    let Ok(rest) = path.strip_prefix("~") else {
        return path.to_path_buf();
    };
    match dirs::home_dir() {
        Some(home) => home.join(rest),
        None => path.to_path_buf(),
    }
}

/// Names of keys whose values are secrets, redacted by `config check` (any case:
/// `[servers.env]` keys such as `HF_TOKEN` or `OPENAI_API_KEY` count).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "token", "secret", "key"]
        .iter()
        .any(|word| key == *word || key.ends_with(&format!("_{word}")))
}

/// Names in `[servers.env]` whose values `config check` shows: they are never
/// secrets (paths, locale, the Hub's endpoint and cache, Python's switches).
pub const SAFE_ENV_NAMES: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_*",
    "TMPDIR",
    "TZ",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_ENDPOINT",
    "HF_HUB_OFFLINE",
    "HF_HUB_ENABLE_HF_TRANSFER",
    "PYTHON*",
    "CUDA_VISIBLE_DEVICES",
    "MLX_*",
];

fn is_safe_env_name(name: &str) -> bool {
    SAFE_ENV_NAMES
        .iter()
        .any(|safe| match safe.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *safe,
        })
}

/// `scheme://user:password@host...` with the password replaced.
fn redact_url(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    let (userinfo, host) = rest.split_once('@')?;
    if userinfo.contains('/') {
        return None;
    }
    let user = userinfo.split(':').next().unwrap_or_default();
    Some(format!("{scheme}://{user}:<redacted>@{host}"))
}

/// Replace every non-empty secret value in `value` by `"<redacted>"`: values of
/// secret-looking keys, passwords inside URLs (`ws://user:pass@host`), and every
/// `[servers.env]` value whose name is not in [`SAFE_ENV_NAMES`].
pub fn redact(value: &mut toml::Value) {
    if let Some(env) = value
        .get_mut("servers")
        .and_then(|s| s.get_mut("env"))
        .and_then(|e| e.as_table_mut())
    {
        for (name, v) in env.iter_mut() {
            if !is_safe_env_name(name) {
                *v = toml::Value::String("<redacted>".into());
            }
        }
    }
    redact_tree(value);
}

fn redact_tree(value: &mut toml::Value) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table.iter_mut() {
                let empty = matches!(v, toml::Value::String(s) if s.is_empty());
                if is_secret_key(key) && !v.is_table() && !empty {
                    *v = toml::Value::String("<redacted>".into());
                } else {
                    redact_tree(v);
                }
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(redact_tree),
        toml::Value::String(text) => {
            if let Some(redacted) = redact_url(text) {
                *text = redacted;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
// figment::Jail's closures return figment::Error, whose size is not ours to choose.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_those_of_the_contract() {
        let s = Settings::default();
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.server.body_limit_bytes, 1_048_576);
        assert!(s.server.cors_origins.is_empty());
        assert_eq!(s.servers.port_start, 10240);
        assert_eq!(s.system.max_memory_percent, 80);
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "config.toml",
                "[server]\nport = 9000\nhost = \"0.0.0.0\"\n[database]\nurl = \"mem://\"\n",
            )?;
            jail.set_env("MLX_MANAGER_SERVER__PORT", "9100");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.settings.server.port, 9100);
            assert_eq!(config.settings.server.host, "0.0.0.0");
            assert_eq!(config.settings.database.url.as_deref(), Some("mem://"));
            Ok(())
        });
    }

    #[test]
    fn an_explicit_config_path_must_exist() {
        Jail::expect_with(|_| {
            let err = Config::load(Some(Path::new("nope.toml"))).err();
            assert!(matches!(err, Some(ConfigError::MissingFile(_))));
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_key_and_the_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("MLX_MANAGER_SERVER__PORT", "notanumber");
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.to_lowercase().contains("server.port"), "{err}");
            assert!(err.contains("MLX_MANAGER_"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_in_the_file_names_the_key_and_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file("config.toml", "[server]\nprot = 9000\n")?;
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("prot"), "{err}");
            assert!(err.contains("config.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_variable_is_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("MLX_MANAGER_SERVER_PORT", "9000");
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("server_port"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_variable_that_names_the_config_file_is_not_a_config_key() {
        Jail::expect_with(|jail| {
            jail.create_file("mine.toml", "[server]\nport = 9123\n")?;
            jail.set_env("MLX_MANAGER_CONFIG", "mine.toml");
            let config = Config::load(Some(Path::new("mine.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.settings.server.port, 9123);
            Ok(())
        });
    }

    #[test]
    fn server_environment_variables_keep_their_case_and_string_type() {
        Jail::expect_with(|jail| {
            jail.set_env("MLX_MANAGER_SERVERS__ENV__HF_HUB_OFFLINE", "1");
            jail.set_env("MLX_MANAGER_SERVERS__ENV__Mixed_Case", "true");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            let env = &config.settings.servers.env;
            assert_eq!(env.get("HF_HUB_OFFLINE").map(String::as_str), Some("1"));
            assert_eq!(env.get("Mixed_Case").map(String::as_str), Some("true"));
            assert!(!env.contains_key("hf_hub_offline"));
            Ok(())
        });
    }

    #[test]
    fn redaction_covers_urls_with_credentials_and_unsafe_server_variables() {
        let mut value: toml::Value = toml::from_str(
            "[database]\nurl = \"ws://root:hunter2@db:8000\"\n\
             [servers.env]\nHF_HUB_OFFLINE = \"1\"\nPATH = \"/bin\"\n\
             OPENAI_BASE = \"x\"\nWANDB = \"secret-value\"\n",
        )
        .expect("toml");
        redact(&mut value);
        let text = value.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("secret-value"),
            "{text}"
        );
        assert!(text.contains("ws://root:<redacted>@db:8000"), "{text}");
        assert!(text.contains("HF_HUB_OFFLINE = \"1\"") && text.contains("PATH = \"/bin\""));
        assert!(text.contains("OPENAI_BASE = \"<redacted>\""), "{text}");
    }

    #[test]
    fn hugging_face_variables_set_the_hub_section() {
        Jail::expect_with(|jail| {
            jail.set_env("HF_ENDPOINT", "http://127.0.0.1:1");
            jail.set_env("HF_TOKEN", "hf_abc");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.settings.hub.endpoint, "http://127.0.0.1:1");
            assert_eq!(config.settings.hub.token.as_deref(), Some("hf_abc"));
            Ok(())
        });
    }

    #[test]
    fn plugin_sections_are_typed_by_the_plugin() {
        #[derive(Deserialize, Default, Debug)]
        #[serde(deny_unknown_fields, default)]
        struct P {
            flag: bool,
        }
        Jail::expect_with(|jail| {
            jail.set_env("MLX_MANAGER_PLUGINS__DEMO__FLAG", "true");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert!(config.plugin::<P>("demo").map_err(|e| e.to_string())?.flag);
            assert!(config.plugin::<P>("absent").is_ok_and(|p| !p.flag));
            assert!(config.check_plugin_names(&["demo"]).is_ok());
            let err = config
                .check_plugin_names(&["auth"])
                .err()
                .map(|e| e.to_string());
            assert!(err.unwrap_or_default().contains("plugins.demo"));
            jail.set_env("MLX_MANAGER_PLUGINS__DEMO__FLAGG", "true");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            let err = config.plugin::<P>("demo").err().map(|e| e.to_string());
            assert!(err.unwrap_or_default().contains("flagg"));
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted() {
        let mut v: toml::Value = toml::from_str(
            "[database]\npassword = \"pw\"\nurl = \"mem://\"\n[plugins.auth]\njwt_secret = \"s\"\ntoken_ttl = \"7d\"\n[hub]\ntoken = \"\"\n[servers.env]\nHF_TOKEN = \"hf_x\"\nOPENAI_API_KEY = \"sk\"\n",
        )
        .expect("toml");
        redact(&mut v);
        let text = v.to_string();
        assert!(
            !text.contains("\"pw\"") && !text.contains("\"s\""),
            "{text}"
        );
        assert!(!text.contains("hf_x") && !text.contains("\"sk\""), "{text}");
        assert!(text.contains("mem://") && text.contains("7d"), "{text}");
    }

    #[test]
    fn home_is_expanded() {
        let home = dirs::home_dir().expect("home");
        assert_eq!(expand_home(Path::new("~/.x")), home.join(".x"));
        assert_eq!(expand_home(Path::new("/abs")), PathBuf::from("/abs"));
    }
}
