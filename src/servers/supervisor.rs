//! The supervisor: starts model servers in their own process groups with output to
//! a log file, detects failed starts, stops them (SIGTERM, grace period, SIGKILL),
//! probes their health, watches for exits, records running instances in the store,
//! adopts the ones still running after a restart, and stops everything at shutdown.

use mlx_manager_sdk::{Actor, Event, EventBus, Outcome, Target};

use crate::actions::SERVER_CRASH;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::Utc;
use mlx_manager_sdk::Db;
use nix::sys::signal::Signal;
use tokio::{
    sync::{mpsc, watch},
    task::JoinError,
};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::{
    command::{ServerCommand, Template},
    health::{self, Probe},
    instances::{self, Instance},
    logs,
    logs::LogItem,
    process::{self, Sampler},
    program::{ProgramProbe, ServerProgram, VERSION_TIMEOUT},
};
use crate::{config::ModelServerSettings, profiles::Profile};

/// How often a running server's health is checked in the background.
const HEALTH_INTERVAL: Duration = Duration::from_secs(15);
/// How often a starting server is probed.
const START_POLL: Duration = Duration::from_millis(200);
/// How often an adopted process (not our child) is checked for life.
const ADOPTED_POLL: Duration = Duration::from_millis(500);
/// Characters of log shown with a failed start.
const TAIL_CHARS: usize = 2000;
/// Words in a log tail that reveal an error even when the exit code is 0.
const ERROR_WORDS: &[&str] = &[
    "ERROR",
    "Error",
    "failed",
    "Failed",
    "exception",
    "Exception",
];

/// Why a server operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The profile's server runs already.
    #[error("Server already running")]
    AlreadyRunning,
    /// The profile's server does not run.
    #[error("Server not running")]
    NotRunning,
    /// The server exited or never became healthy; `tail` is the end of its log.
    #[error("Server failed to start: {message}")]
    StartFailed {
        /// What happened.
        message: String,
        /// The last 2000 characters of its log.
        tail: String,
    },
    /// The log file could not be prepared.
    #[error("cannot prepare the server log: {0}")]
    Log(std::io::Error),
}

/// How a server ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// The exit code, when it exited by itself and was our child.
    pub code: Option<i32>,
    /// It ended without being asked to, or with an error.
    pub failed: bool,
    /// What happened, when it failed.
    pub message: Option<String>,
}

/// Where a server is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Spawned, not yet healthy.
    Starting,
    /// Healthy at least once.
    Running,
    /// Asked to stop.
    Stopping,
    /// Ended.
    Exited(Exit),
}

struct Managed {
    profile_name: String,
    pid: u32,
    port: u16,
    host: String,
    model_path: String,
    started: Instant,
    log_path: PathBuf,
    state: watch::Sender<RunState>,
    stop_requested: AtomicBool,
    healthy: Mutex<Option<bool>>,
}

impl Managed {
    fn is_active(&self) -> bool {
        !matches!(*self.state.borrow(), RunState::Exited(_))
    }

    fn set_healthy(&self, healthy: bool) {
        *lock(&self.healthy) = Some(healthy);
    }
}

/// A started server.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// Its process id.
    pub pid: u32,
    /// Its port.
    pub port: u16,
    /// Profile settings the command could not carry (see [`Template::warnings`]).
    pub warnings: Vec<String>,
}

/// A running server, as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSummary {
    /// The profile.
    pub profile_id: String,
    /// The profile's name when started.
    pub profile_name: String,
    /// Process id.
    pub pid: u32,
    /// Port.
    pub port: u16,
    /// Starting, running or stopping (a listing has no exited servers).
    pub state: RunState,
    /// The last probe's verdict; `None` until the first probe.
    pub health: Option<bool>,
    /// Seconds since start (or adoption).
    pub uptime_seconds: u64,
    /// Resident memory of the process tree, in MiB.
    pub memory_mb: f64,
    /// CPU of the process tree, in percent of one core.
    pub cpu_percent: f64,
}

/// Whether a profile's server runs here, and how its last run ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LastRun {
    /// It runs (starting, running or stopping).
    pub running: bool,
    /// Process id, while it runs.
    pub pid: Option<u32>,
    /// Exit code of its last run.
    pub exit_code: Option<i32>,
    /// Its last run failed.
    pub failed: bool,
    /// What went wrong.
    pub error_message: Option<String>,
}

enum Waiter {
    Child(tokio::process::Child),
    Adopted(u32),
}

impl Waiter {
    async fn wait(&mut self) -> Option<ExitStatus> {
        match self {
            Waiter::Child(child) => child.wait().await.ok(),
            Waiter::Adopted(pid) => {
                while process::is_alive(*pid) {
                    tokio::time::sleep(ADOPTED_POLL).await;
                }
                None
            }
        }
    }
}

/// Starts, stops and watches model servers.
pub struct Supervisor {
    template: Template,
    probe: ProgramProbe,
    settings: ModelServerSettings,
    data_dir: PathBuf,
    db: Db,
    /// This manager's node: the instances it records and reconciles.
    node: String,
    http: reqwest::Client,
    servers: Mutex<HashMap<String, Arc<Managed>>>,
    sampler: Mutex<Sampler>,
    events: EventBus,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Supervisor {
    /// A supervisor launching `template`, keeping logs under `data_dir`.
    pub fn new(
        template: Template,
        settings: ModelServerSettings,
        data_dir: PathBuf,
        db: Db,
        node: &str,
        events: EventBus,
    ) -> Result<Arc<Self>, reqwest::Error> {
        Ok(Arc::new(Self {
            template,
            probe: ProgramProbe::new(),
            settings,
            data_dir,
            db,
            node: node.to_owned(),
            // Servers are local: health probes never go through HTTP(S)_PROXY.
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            servers: Mutex::new(HashMap::new()),
            sampler: Mutex::new(Sampler::default()),
            events,
        }))
    }

    /// What the configured model-server program is (learned once per program
    /// file; see [`ProgramProbe`]).
    pub async fn program(&self) -> ServerProgram {
        self.probe
            .detect(
                self.template.program(),
                self.template.server_env(),
                VERSION_TIMEOUT,
            )
            .await
    }

    /// The settings of `profile` that the command for `program` cannot carry.
    pub fn warnings(&self, profile: &Profile, program: &ServerProgram) -> Vec<String> {
        self.template.warnings(profile, program)
    }

    /// The command a profile's server runs (also used for login services).
    pub async fn command(&self, profile: &Profile) -> ServerCommand {
        self.template.render(profile, &self.program().await)
    }

    /// The working directory servers run in.
    pub fn working_dir(&self) -> PathBuf {
        self.settings
            .working_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.clone())
    }

    /// The log file of a profile's server.
    pub fn log_path(&self, profile_id: &str) -> PathBuf {
        logs::path(&self.data_dir, profile_id)
    }

    fn active(&self, profile_id: &str) -> Option<Arc<Managed>> {
        lock(&self.servers)
            .get(profile_id)
            .filter(|m| m.is_active())
            .cloned()
    }

    /// Start the profile's server and wait until it is healthy. Fails when it
    /// exits within the grace period or is not healthy within the start timeout.
    pub async fn start(self: &Arc<Self>, profile: &Profile) -> Result<Started, ServerError> {
        let program = self.program().await;
        let warnings = self.template.warnings(profile, &program);
        for warning in &warnings {
            tracing::warn!(profile = %profile.id, "{warning}");
        }
        let managed = self.spawn(profile, &program)?;
        // The wait runs in its own task: a caller that gives up (a client that hangs
        // up while a model loads) does not leave the server "starting" forever or a
        // never-healthy one running.
        let this = self.clone();
        let watched = managed.clone();
        let outcome = tokio::spawn(async move {
            let result = this.await_healthy(&watched).await;
            if let Err(ServerError::StartFailed { .. }) = &result {
                // A server that never became healthy is stopped, not left behind.
                if watched.is_active() {
                    this.terminate(&watched, true).await;
                }
            }
            result
        });
        let result = match outcome.await {
            Ok(result) => result,
            Err(e) => Err(ServerError::StartFailed {
                message: format!("the start was interrupted: {e}"),
                tail: String::new(),
            }),
        };
        result.map(|()| Started {
            pid: managed.pid,
            port: managed.port,
            warnings,
        })
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "a server's start time, recorded for adoption"
    )]
    #[allow(
        clippy::disallowed_methods,
        reason = "the supervisor is the seam that spawns model servers"
    )]
    fn spawn(
        self: &Arc<Self>,
        profile: &Profile,
        program: &ServerProgram,
    ) -> Result<Arc<Managed>, ServerError> {
        let mut servers = lock(&self.servers);
        if servers.get(&profile.id).is_some_and(|m| m.is_active()) {
            return Err(ServerError::AlreadyRunning);
        }
        let cmd = self.template.render(profile, program);
        let log_path = self.log_path(&profile.id);
        let (stdout, stderr) = logs::prepare(&log_path).map_err(ServerError::Log)?;
        let child = tokio::process::Command::new(&cmd.program)
            .args(&cmd.args)
            .env_clear()
            .envs(self.template.server_env())
            .current_dir(self.working_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(false)
            .spawn();
        let child = child.map_err(|e| ServerError::StartFailed {
            message: format!("cannot run `{}`: {e}", cmd.program),
            tail: String::new(),
        })?;
        let pid = child.id().unwrap_or_default();
        tracing::info!(profile = %profile.id, pid, argv = ?cmd.argv(), "server spawned");
        let managed = Arc::new(Managed {
            profile_name: profile.values.name.clone(),
            pid,
            port: profile.values.port,
            host: profile.values.host.clone(),
            model_path: profile.values.model_path.clone(),
            started: Instant::now(),
            log_path,
            state: watch::Sender::new(RunState::Starting),
            stop_requested: AtomicBool::new(false),
            healthy: Mutex::new(None),
        });
        servers.insert(profile.id.clone(), managed.clone());
        drop(servers);
        let process_start = lock(&self.sampler)
            .start_time(pid)
            .and_then(|t| i64::try_from(t).ok());
        let instance = Instance {
            pid: i64::from(pid),
            port: i64::from(managed.port),
            host: managed.host.clone(),
            profile_name: managed.profile_name.clone(),
            model_path: managed.model_path.clone(),
            process_start,
            started_at: Utc::now(),
        };
        self.watch(
            profile.id.clone(),
            managed.clone(),
            Waiter::Child(child),
            Some(instance),
        );
        Ok(managed)
    }

    async fn await_healthy(&self, m: &Managed) -> Result<(), ServerError> {
        let mut state = m.state.subscribe();
        let deadline = m.started + self.settings.start_timeout.max(self.settings.start_grace);
        loop {
            if let RunState::Exited(exit) = &*state.borrow_and_update() {
                let message = exit.message.clone().unwrap_or_else(|| "it exited".into());
                return Err(self.start_failed(m, message));
            }
            let grace_over = m.started.elapsed() >= self.settings.start_grace;
            if grace_over && self.probe(m).await.healthy {
                m.state.send_if_modified(|s| {
                    let starting = *s == RunState::Starting;
                    if starting {
                        *s = RunState::Running;
                    }
                    starting
                });
                return Ok(());
            }
            if Instant::now() >= deadline {
                let secs = self.settings.start_timeout.as_secs_f64();
                return Err(self.start_failed(m, format!("not healthy within {secs} s")));
            }
            tokio::select! {
                _ = tokio::time::sleep(START_POLL) => {}
                _ = state.changed() => {}
            }
        }
    }

    fn start_failed(&self, m: &Managed, message: String) -> ServerError {
        ServerError::StartFailed {
            message,
            tail: logs::tail_chars(&m.log_path, TAIL_CHARS),
        }
    }

    async fn probe(&self, m: &Managed) -> Probe {
        let p = health::probe(&self.http, &m.host, m.port, self.settings.health_timeout).await;
        m.set_healthy(p.healthy);
        p
    }

    /// Record the instance, then wait for the process to end and record how.
    fn watch(
        self: &Arc<Self>,
        profile_id: String,
        m: Arc<Managed>,
        mut waiter: Waiter,
        record: Option<Instance>,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Some(instance) = record
                && let Err(e) = instances::record(&this.db, &this.node, &profile_id, instance).await
            {
                tracing::warn!(profile = %profile_id, error = %e, "cannot record the server instance");
            }
            let mut ticks = tokio::time::interval(HEALTH_INTERVAL);
            ticks.tick().await;
            let status = loop {
                tokio::select! {
                    status = waiter.wait() => break status,
                    _ = ticks.tick() => {
                        if *m.state.borrow() == RunState::Running {
                            this.probe(&m).await;
                        }
                    }
                }
            };
            let exit = classify(status, m.stop_requested.load(Ordering::SeqCst), &m.log_path);
            if exit.failed {
                tracing::warn!(profile = %profile_id, pid = m.pid, message = ?exit.message, "server ended unexpectedly");
                let target = Target::new(
                    "server",
                    Some(profile_id.clone()),
                    Some(m.profile_name.clone()),
                );
                let mut event =
                    Event::new(Actor::system(), SERVER_CRASH, target).outcome(Outcome::Failed);
                if let Some(message) = &exit.message {
                    event = event.detail(message.clone());
                }
                this.events.publish(event).await;
            } else {
                tracing::info!(profile = %profile_id, pid = m.pid, "server stopped");
            }
            // Forget the record first (only if it is still this process's), so that
            // a restart woken by `Exited` cannot have its new record erased.
            if let Err(e) = instances::clear(&this.db, &profile_id, m.pid).await {
                tracing::warn!(profile = %profile_id, error = %e, "cannot clear the server instance");
            }
            m.state.send_replace(RunState::Exited(exit));
        });
    }

    /// Stop the profile's server: SIGTERM to its process group, then SIGKILL after
    /// the stop timeout (at once with `force`).
    pub async fn stop(&self, profile_id: &str, force: bool) -> Result<(), ServerError> {
        let m = self.active(profile_id).ok_or(ServerError::NotRunning)?;
        self.terminate(&m, force).await;
        Ok(())
    }

    async fn terminate(&self, m: &Managed, force: bool) {
        m.stop_requested.store(true, Ordering::SeqCst);
        m.state.send_if_modified(|s| {
            let active = !matches!(s, RunState::Exited(_));
            if active {
                *s = RunState::Stopping;
            }
            active
        });
        let mut state = m.state.subscribe();
        let exited = |s: &RunState| matches!(s, RunState::Exited(_));
        let grace = if force {
            Duration::ZERO
        } else {
            self.settings.stop_timeout
        };
        process::signal_group(
            m.pid,
            if force {
                Signal::SIGKILL
            } else {
                Signal::SIGTERM
            },
        );
        if tokio::time::timeout(grace, state.wait_for(exited))
            .await
            .is_err()
        {
            tracing::info!(pid = m.pid, "no exit after SIGTERM; sending SIGKILL");
            process::signal_group(m.pid, Signal::SIGKILL);
            let _ = tokio::time::timeout(Duration::from_secs(10), state.wait_for(exited)).await;
        }
        // Children that outlived the leader go too.
        process::signal_group(m.pid, Signal::SIGKILL);
    }

    /// Stop the server if it runs, then start it.
    pub async fn restart(self: &Arc<Self>, profile: &Profile) -> Result<Started, ServerError> {
        match self.stop(&profile.id, false).await {
            Ok(()) | Err(ServerError::NotRunning) => {}
            Err(e) => return Err(e),
        }
        self.start(profile).await
    }

    /// How long a start may take before it counts as failed.
    pub fn start_timeout(&self) -> Duration {
        self.settings.start_timeout.max(self.settings.start_grace)
    }

    /// Where the profile's server answers (host, port) while it is running
    /// (healthy once since its start, and not asked to stop).
    pub fn serving(&self, profile_id: &str) -> Option<(String, u16)> {
        self.active(profile_id)
            .filter(|m| matches!(*m.state.borrow(), RunState::Running))
            .map(|m| (m.host.clone(), m.port))
    }

    /// Probe the profile's server now; `None` when it does not run.
    pub async fn health(&self, profile_id: &str) -> Option<Probe> {
        let m = self.active(profile_id)?;
        Some(self.probe(&m).await)
    }

    /// Status of the profile's server (of its last run when it has ended).
    pub fn status(&self, profile_id: &str) -> LastRun {
        let Some(m) = lock(&self.servers).get(profile_id).cloned() else {
            return LastRun::default();
        };
        let state = m.state.borrow().clone();
        match state {
            RunState::Exited(exit) => LastRun {
                running: false,
                pid: None,
                exit_code: exit.code,
                failed: exit.failed,
                error_message: exit.message,
            },
            _ => LastRun {
                running: true,
                pid: Some(m.pid),
                ..LastRun::default()
            },
        }
    }

    /// A receiver of the server's state, to learn when it exits; `None` when the
    /// profile's server has never run in this manager.
    pub fn subscribe(&self, profile_id: &str) -> Option<watch::Receiver<RunState>> {
        lock(&self.servers)
            .get(profile_id)
            .map(|m| m.state.subscribe())
    }

    /// A server's log as a stream: the last `lines` lines, then new lines as
    /// they are written, then `LogItem::Stopped` once the server exits (at
    /// once when it does not run here) or `shutdown` is cancelled. Every
    /// stream gets every line; dropping it ends the task that feeds it.
    pub fn log_stream(
        &self,
        profile_id: &str,
        lines: usize,
        shutdown: CancellationToken,
    ) -> ReceiverStream<LogItem> {
        let (tx, rx) = mpsc::channel(256);
        let path = self.log_path(profile_id);
        let mut run = self.subscribe(profile_id);
        tokio::spawn(async move {
            let (past, offset) = logs::last_lines(&path, lines);
            for line in past {
                if tx.send(LogItem::Line(line)).await.is_err() {
                    return;
                }
            }
            let exited = |run: &mut Option<watch::Receiver<RunState>>| {
                run.as_mut()
                    .is_none_or(|r| matches!(*r.borrow(), RunState::Exited(_)))
            };
            let mut watch = run.clone();
            logs::follow(path, offset, tx.clone(), LogItem::Line, move || {
                shutdown.is_cancelled() || exited(&mut watch)
            })
            .await;
            let (exit_code, failed) = match run.as_mut().map(|r| r.borrow().clone()) {
                Some(RunState::Exited(exit)) => (exit.code, Some(exit.failed)),
                _ => (None, None),
            };
            // The receiver may have gone; then nobody waits for the end.
            let _ = tx.send(LogItem::Stopped { exit_code, failed }).await;
        });
        ReceiverStream::new(rx)
    }

    /// Every running server, with memory and CPU summed over its process
    /// tree, read off the async workers.
    pub async fn list_running(self: &Arc<Self>) -> Result<Vec<ServerSummary>, JoinError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.list()).await
    }

    /// Every running server, with memory and CPU summed over its process tree
    /// (blocking: it samples the process table).
    pub fn list(&self) -> Vec<ServerSummary> {
        let active: Vec<(String, Arc<Managed>)> = lock(&self.servers)
            .iter()
            .filter(|(_, m)| m.is_active())
            .map(|(id, m)| (id.clone(), m.clone()))
            .collect();
        let mut sampler = lock(&self.sampler);
        sampler.refresh();
        let mut out: Vec<ServerSummary> = active
            .into_iter()
            .map(|(id, m)| {
                let usage = sampler.tree(m.pid).unwrap_or_default();
                ServerSummary {
                    profile_id: id,
                    profile_name: m.profile_name.clone(),
                    pid: m.pid,
                    port: m.port,
                    state: m.state.borrow().clone(),
                    health: *lock(&m.healthy),
                    uptime_seconds: m.started.elapsed().as_secs(),
                    memory_mb: (usage.memory_bytes as f64 / 1_048_576.0 * 10.0).round() / 10.0,
                    cpu_percent: (f64::from(usage.cpu_percent) * 10.0).round() / 10.0,
                }
            })
            .collect();
        out.sort_by(|a, b| a.profile_name.cmp(&b.profile_name));
        out
    }

    /// Models served by running servers (their `model_path`s).
    pub fn models_in_use(&self) -> Vec<String> {
        lock(&self.servers)
            .values()
            .filter(|m| m.is_active())
            .map(|m| m.model_path.clone())
            .collect()
    }

    /// Reconcile the store with reality at start-up: a recorded process that is
    /// gone is forgotten; one that still runs (the same process: same start time,
    /// or answering health) is adopted, so it can be watched and stopped.
    #[allow(
        clippy::disallowed_methods,
        reason = "an adopted server's age, from its recorded start"
    )]
    pub async fn reconcile(self: &Arc<Self>) -> Result<(), surrealdb::Error> {
        for (profile_id, inst) in instances::all(&self.db, &self.node).await? {
            let pid = u32::try_from(inst.pid).unwrap_or_default();
            let port = u16::try_from(inst.port).unwrap_or_default();
            let same_start = process::is_alive(pid)
                && inst.process_start.is_some()
                && lock(&self.sampler)
                    .start_time(pid)
                    .and_then(|t| i64::try_from(t).ok())
                    == inst.process_start;
            // A recorded start time must match (the pid may have been reused); only
            // without one does an answer on the recorded port identify the server.
            let answers = inst.process_start.is_none()
                && process::is_alive(pid)
                && health::probe(&self.http, &inst.host, port, self.settings.health_timeout)
                    .await
                    .healthy;
            if pid <= 1 || !(same_start || answers) {
                tracing::info!(profile = %profile_id, pid, "recorded server is gone; forgetting it");
                instances::clear(&self.db, &profile_id, pid).await?;
                continue;
            }
            tracing::info!(profile = %profile_id, pid, "adopting a server that still runs");
            let age = (Utc::now() - inst.started_at).to_std().unwrap_or_default();
            let started = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
            let m = Arc::new(Managed {
                profile_name: inst.profile_name.clone(),
                pid,
                port,
                host: inst.host.clone(),
                model_path: inst.model_path.clone(),
                started,
                log_path: self.log_path(&profile_id),
                state: watch::Sender::new(RunState::Running),
                stop_requested: AtomicBool::new(false),
                healthy: Mutex::new(Some(answers)),
            });
            lock(&self.servers).insert(profile_id.clone(), m.clone());
            self.watch(profile_id, m, Waiter::Adopted(pid), None);
        }
        Ok(())
    }

    /// Stop every server (at shutdown), so that no child outlives the manager.
    pub async fn stop_all(&self) {
        let active: Vec<Arc<Managed>> = lock(&self.servers)
            .values()
            .filter(|m| m.is_active())
            .cloned()
            .collect();
        let stops = active.iter().map(|m| self.terminate(m, false));
        futures_util::future::join_all(stops).await;
    }
}

#[async_trait::async_trait]
impl crate::models::ModelUsage for Supervisor {
    async fn running_model_paths(&self) -> Vec<String> {
        self.models_in_use()
    }
}

fn classify(status: Option<ExitStatus>, stop_requested: bool, log: &Path) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    let code = status.and_then(|s| s.code());
    if stop_requested {
        return Exit {
            code,
            failed: false,
            message: None,
        };
    }
    let mut message = match (code, status.and_then(|s| s.signal())) {
        (Some(c), _) => format!("exited with code {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => "exited".to_owned(),
    };
    let tail = logs::tail_chars(log, TAIL_CHARS);
    if code == Some(0) && ERROR_WORDS.iter().any(|w| tail.contains(w)) {
        message.push_str("; its log reports an error");
    }
    Exit {
        code,
        failed: true,
        message: Some(message),
    }
}
