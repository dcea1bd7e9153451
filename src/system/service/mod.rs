//! Login services: a profile's server (or the manager itself) as a launchd agent
//! on macOS or a systemd user unit on Linux. Every service-manager command goes
//! through one [`Runner`], so tests can record them.

pub mod launchd;
pub(crate) mod runner;
pub mod systemd;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

pub use runner::{Output, ProcessRunner, RunError, Runner};

use crate::{profiles::Profile, servers::command::ServerCommand};

/// Which service manager a host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// macOS: per-user launchd agents.
    Launchd,
    /// Linux: systemd user units.
    Systemd,
}

impl Kind {
    /// The service manager of this host, if we support it.
    pub fn of_this_host() -> Option<Self> {
        if cfg!(target_os = "macos") {
            Some(Kind::Launchd)
        } else if cfg!(target_os = "linux") {
            Some(Kind::Systemd)
        } else {
            None
        }
    }
}

/// What a login service runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// `com.mlx-manager.<slug>`.
    pub label: String,
    /// A human description.
    pub description: String,
    /// Absolute program, then its arguments.
    pub argv: Vec<String>,
    /// Environment.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub working_dir: PathBuf,
    /// Where output goes.
    pub log_path: PathBuf,
    /// Start at login (and now).
    pub run_at_load: bool,
}

/// Why a service operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// This platform has neither launchd nor systemd.
    #[error("login services are only supported with launchd (macOS) or systemd (Linux)")]
    Unsupported,
    /// `launchctl` / `systemctl` is missing or hung.
    #[error("the service manager is not available: {0}")]
    Unavailable(RunError),
    /// Another profile's service, or the manager's own, already uses the label.
    #[error("the login service label {0} is already used by another service; rename the profile")]
    LabelTaken(String),
    /// A service-manager command failed.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// What it printed on standard error.
        stderr: String,
    },
    /// The server program is not on `PATH`.
    #[error("the server program `{0}` was not found on PATH")]
    ProgramNotFound(String),
    /// No service is installed for it.
    #[error("Service not installed")]
    NotInstalled,
    /// Writing or removing the file failed.
    #[error("cannot write the service file: {0}")]
    Io(#[from] std::io::Error),
}

/// A service's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// Its file exists.
    pub installed: bool,
    /// The service manager reports it running.
    pub running: bool,
    /// Its main process.
    pub pid: Option<u32>,
    /// Its label.
    pub label: String,
}

/// The label of the manager's own login service; no profile may take it.
pub const MANAGER_LABEL: &str = "com.mlx-manager.manager";

/// `com.mlx-manager.<name lower-cased, spaces and underscores to dashes, other
/// non-alphanumerics dropped>`.
pub fn label(name: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' | '_' | '-' => Some('-'),
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect();
    let slug = if slug.trim_matches('-').is_empty() {
        "profile".to_owned()
    } else {
        slug
    };
    format!("com.mlx-manager.{slug}")
}

/// The absolute path of `program` (as given when it has a `/`, else found on `PATH`).
pub fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then(|| std::fs::canonicalize(&p).unwrap_or(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Write a service file readable only by its owner: it may carry secrets from
/// `[servers.env]` (such as `HF_TOKEN`).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
}

fn base_env(home: &Path) -> BTreeMap<String, String> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    BTreeMap::from([
        ("PATH".to_owned(), path),
        ("HOME".to_owned(), home.display().to_string()),
        ("PYTHONUNBUFFERED".to_owned(), "1".to_owned()),
    ])
}

/// Creates, removes and queries login services.
pub struct ServiceManager {
    kind: Option<Kind>,
    dir: PathBuf,
    home: PathBuf,
    launchctl: String,
    systemctl: String,
    uid: u32,
    runner: Arc<dyn Runner>,
}

/// Where a host's service manager reads user services, under `home`.
pub fn default_dir(kind: Option<Kind>, home: &Path) -> PathBuf {
    match kind {
        Some(Kind::Launchd) => home.join("Library/LaunchAgents"),
        _ => home.join(".config/systemd/user"),
    }
}

impl ServiceManager {
    /// A manager for `kind` writing into `dir`, running commands through `runner`.
    pub fn new(
        kind: Option<Kind>,
        dir: PathBuf,
        home: PathBuf,
        launchctl: String,
        systemctl: String,
        runner: Arc<dyn Runner>,
    ) -> Self {
        Self {
            kind,
            dir,
            home,
            launchctl,
            systemctl,
            uid: nix::unistd::getuid().as_raw(),
            runner,
        }
    }

    /// The spec of a profile's server: the same command the supervisor runs.
    pub fn profile_spec(
        &self,
        profile: &Profile,
        cmd: &ServerCommand,
        working_dir: PathBuf,
        log_path: PathBuf,
    ) -> Result<ServiceSpec, ServiceError> {
        let program = resolve_program(&cmd.program)
            .ok_or_else(|| ServiceError::ProgramNotFound(cmd.program.clone()))?;
        let mut env = base_env(&self.home);
        env.extend(cmd.env.clone());
        Ok(ServiceSpec {
            label: label(&profile.values.name),
            description: format!("MLX Manager model server: {}", profile.values.name),
            argv: std::iter::once(program.display().to_string())
                .chain(cmd.args.iter().cloned())
                .collect(),
            env,
            working_dir,
            log_path,
            run_at_load: profile.values.auto_start,
        })
    }

    /// The spec of the manager itself: `<exe> serve --config <config>`.
    pub fn manager_spec(&self, exe: &Path, config: &Path, data_dir: &Path) -> ServiceSpec {
        ServiceSpec {
            label: MANAGER_LABEL.into(),
            description: "MLX Manager".into(),
            argv: vec![
                exe.display().to_string(),
                "serve".into(),
                "--config".into(),
                config.display().to_string(),
            ],
            env: base_env(&self.home),
            working_dir: data_dir.to_path_buf(),
            log_path: data_dir.join("logs/manager.log"),
            run_at_load: true,
        }
    }

    fn kind(&self) -> Result<Kind, ServiceError> {
        self.kind.ok_or(ServiceError::Unsupported)
    }

    /// The file of the service `label`.
    pub fn path(&self, label: &str) -> PathBuf {
        match self.kind {
            Some(Kind::Launchd) => self.dir.join(format!("{label}.plist")),
            _ => self.dir.join(format!("{label}.service")),
        }
    }

    async fn run(&self, program: &str, args: &[String]) -> Result<Output, ServiceError> {
        self.runner
            .run(program, args)
            .await
            .map_err(ServiceError::Unavailable)
    }

    async fn must(&self, program: &str, args: Vec<String>) -> Result<Output, ServiceError> {
        let out = self.run(program, &args).await?;
        if out.success {
            Ok(out)
        } else {
            Err(ServiceError::Failed {
                command: format!("{program} {}", args.join(" ")),
                stderr: out.stderr.trim().to_owned(),
            })
        }
    }

    fn launchctl_args(&self, verb: &str, target: String) -> Vec<String> {
        vec![verb.to_owned(), target]
    }

    fn systemctl_args(&self, args: &[&str]) -> Vec<String> {
        std::iter::once("--user")
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect()
    }

    /// Write and load the service. An existing one of the same label is replaced.
    pub async fn install(&self, spec: &ServiceSpec) -> Result<PathBuf, ServiceError> {
        let kind = self.kind()?;
        std::fs::create_dir_all(&self.dir)?;
        if let Some(logs) = spec.log_path.parent() {
            std::fs::create_dir_all(logs)?;
        }
        let path = self.path(&spec.label);
        match kind {
            Kind::Launchd => {
                let xml = launchd::Agent::new(spec)
                    .to_xml()
                    .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?;
                write_private(&path, &xml)?;
                let target = format!("gui/{}/{}", self.uid, spec.label);
                let _ = self
                    .run(&self.launchctl, &self.launchctl_args("bootout", target))
                    .await;
                let domain = format!("gui/{}", self.uid);
                let loaded = self
                    .must(
                        &self.launchctl,
                        vec!["bootstrap".into(), domain, path.display().to_string()],
                    )
                    .await;
                if let Err(e) = loaded {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
            Kind::Systemd => {
                write_private(&path, systemd::unit(spec).as_bytes())?;
                let reload = self
                    .must(&self.systemctl, self.systemctl_args(&["daemon-reload"]))
                    .await;
                let enabled = match reload {
                    Ok(_) if spec.run_at_load => {
                        let unit = format!("{}.service", spec.label);
                        self.must(
                            &self.systemctl,
                            self.systemctl_args(&["enable", "--now", &unit]),
                        )
                        .await
                        .map(|_| ())
                    }
                    other => other.map(|_| ()),
                };
                if let Err(e) = enabled {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            }
        }
        Ok(path)
    }

    /// Unload and remove the service `label`.
    pub async fn uninstall(&self, label: &str) -> Result<(), ServiceError> {
        let kind = self.kind()?;
        let path = self.path(label);
        if !path.exists() {
            return Err(ServiceError::NotInstalled);
        }
        match kind {
            Kind::Launchd => {
                let target = format!("gui/{}/{label}", self.uid);
                // Not loaded is fine: the file goes either way.
                let _ = self
                    .run(&self.launchctl, &self.launchctl_args("bootout", target))
                    .await?;
                std::fs::remove_file(&path)?;
            }
            Kind::Systemd => {
                let unit = format!("{label}.service");
                let _ = self
                    .run(
                        &self.systemctl,
                        &self.systemctl_args(&["disable", "--now", &unit]),
                    )
                    .await?;
                std::fs::remove_file(&path)?;
                self.must(&self.systemctl, self.systemctl_args(&["daemon-reload"]))
                    .await?;
            }
        }
        Ok(())
    }

    /// Whether the service `label` is installed and running, and its pid.
    pub async fn status(&self, label: &str) -> Result<ServiceState, ServiceError> {
        let kind = self.kind()?;
        let installed = self.path(label).exists();
        let (running, pid) = if !installed {
            (false, None)
        } else {
            match kind {
                Kind::Launchd => {
                    let target = format!("gui/{}/{label}", self.uid);
                    let out = self
                        .run(&self.launchctl, &self.launchctl_args("print", target))
                        .await?;
                    if out.success {
                        launchd::parse_print(&out.stdout)
                    } else {
                        (false, None)
                    }
                }
                Kind::Systemd => {
                    let unit = format!("{label}.service");
                    let active = self
                        .run(&self.systemctl, &self.systemctl_args(&["is-active", &unit]))
                        .await?;
                    let running = active.stdout.trim() == "active";
                    let show = self
                        .run(
                            &self.systemctl,
                            &self.systemctl_args(&["show", "-p", "MainPID", "--value", &unit]),
                        )
                        .await?;
                    let pid = show
                        .stdout
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|p| *p > 0 && running);
                    (running, pid)
                }
            }
        };
        Ok(ServiceState {
            installed,
            running,
            pid,
            label: label.to_owned(),
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests spawn and read the clock directly"
)]
mod tests;
