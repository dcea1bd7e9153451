//! `/api/servers`: start, stop, restart, health, status and logs of model servers.

use crate::api::codes;
use std::sync::Arc;

use futures_util::{StreamExt, stream::BoxStream};
use mlx_manager_sdk::{ApiError, Auth, StreamAuth, Target};
use poem::web::Data;
use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Path, Query},
    payload::{EventStream, Json},
};

use super::{ApiTags, profile_target, publish};
use crate::{
    actions,
    servers::{RunState, ServerSummary, Started, health::Probe, logs::LogItem},
    state::AppState,
};

/// Where a running server is in its life.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "ServerState", rename_all = "lowercase")]
pub enum RunPhase {
    /// Spawned, not yet healthy.
    Starting,
    /// Healthy at least once.
    Running,
    /// Asked to stop.
    Stopping,
}

/// The last known health of a running server (checked every 15 s).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "ServerHealth", rename_all = "lowercase")]
pub enum KnownHealth {
    /// Answered `GET /v1/models`.
    Healthy,
    /// Did not answer.
    Unhealthy,
    /// Not probed yet.
    Unknown,
}

/// A running server.
#[derive(Object, Debug, Clone)]
pub struct ServerInfo {
    /// Its profile.
    pub profile_id: String,
    /// The profile's name when it was started.
    pub profile_name: String,
    /// Process id (also its process group).
    pub pid: u32,
    /// Port.
    pub port: u16,
    /// Life cycle state.
    pub state: RunPhase,
    /// Last known health.
    pub health: KnownHealth,
    /// Seconds since it was started.
    pub uptime_seconds: u64,
    /// Resident memory of its process tree, in MiB.
    pub memory_mb: f64,
    /// CPU of its process tree, in percent of one core.
    pub cpu_percent: f64,
    /// Gateway requests for it now: being answered, starting it, or queued.
    pub gateway_requests: u64,
    /// Of those, waiting in its queue for a free slot (`max_concurrency`).
    pub gateway_queued: u64,
}

impl ServerInfo {
    /// With the gateway's current load on it: (requests, queued).
    fn with_load(mut self, (requests, queued): (usize, usize)) -> Self {
        self.gateway_requests = requests as u64;
        self.gateway_queued = queued as u64;
        self
    }
}

impl From<ServerSummary> for ServerInfo {
    fn from(s: ServerSummary) -> Self {
        Self {
            state: match s.state {
                RunState::Starting => RunPhase::Starting,
                RunState::Stopping | RunState::Exited(_) => RunPhase::Stopping,
                RunState::Running => RunPhase::Running,
            },
            health: match s.health {
                Some(true) => KnownHealth::Healthy,
                Some(false) => KnownHealth::Unhealthy,
                None => KnownHealth::Unknown,
            },
            profile_id: s.profile_id,
            profile_name: s.profile_name,
            pid: s.pid,
            port: s.port,
            uptime_seconds: s.uptime_seconds,
            memory_mb: s.memory_mb,
            cpu_percent: s.cpu_percent,
            gateway_requests: 0,
            gateway_queued: 0,
        }
    }
}

/// A started server.
#[derive(Object, Debug)]
pub struct ServerStarted {
    /// Process id.
    pub pid: u32,
    /// Port.
    pub port: u16,
    /// Profile settings the command could not carry (the same sentences as the
    /// profile's `warnings`); the server runs without them.
    pub warnings: Vec<String>,
}

impl From<Started> for ServerStarted {
    fn from(s: Started) -> Self {
        Self {
            pid: s.pid,
            port: s.port,
            warnings: s.warnings,
        }
    }
}

/// A stop's result.
#[derive(Object, Debug)]
pub struct ServerStopped {
    /// Always true.
    pub stopped: bool,
}

/// A health probe's verdict.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "HealthStatus", rename_all = "lowercase")]
pub enum ProbeVerdict {
    /// Answered `GET /v1/models` with 200.
    Healthy,
    /// Runs, but did not answer.
    Unhealthy,
    /// Does not run.
    Stopped,
}

/// A health probe of a server.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct HealthReport {
    /// The verdict.
    pub status: ProbeVerdict,
    /// Time to the answer.
    pub response_time_ms: Option<u64>,
    /// A model is loaded (`data` is not empty).
    pub model_loaded: Option<bool>,
    /// Why it is unhealthy.
    pub error: Option<String>,
}

impl From<Option<Probe>> for HealthReport {
    /// The report of a probe, or `stopped` when the server does not run.
    fn from(probe: Option<Probe>) -> Self {
        match probe {
            None => HealthReport {
                status: ProbeVerdict::Stopped,
                response_time_ms: None,
                model_loaded: None,
                error: None,
            },
            Some(p) => HealthReport {
                status: if p.healthy {
                    ProbeVerdict::Healthy
                } else {
                    ProbeVerdict::Unhealthy
                },
                response_time_ms: p.response_time_ms,
                model_loaded: p.model_loaded,
                error: p.error,
            },
        }
    }
}

/// The status of a profile's server (of its last run, once it has ended).
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct StatusReport {
    /// The profile.
    pub profile_id: String,
    /// It runs.
    pub running: bool,
    /// Process id, while it runs.
    pub pid: Option<u32>,
    /// Exit code of its last run.
    pub exit_code: Option<i32>,
    /// Its last run ended without being asked to, or failed to start.
    pub failed: bool,
    /// What went wrong.
    pub error_message: Option<String>,
}

/// What a log stream event carries.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum LogEventKind {
    /// One line of output.
    Log,
    /// The server has stopped; the stream ends.
    Stopped,
}

/// One event of a log stream (the `data` of each server-sent event, as JSON).
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct LogEvent {
    /// `log` or `stopped`.
    pub event: LogEventKind,
    /// The line, for `log`.
    pub line: Option<String>,
    /// Exit code, for `stopped` (when known).
    pub exit_code: Option<i32>,
    /// Whether the run failed, for `stopped`.
    pub failed: Option<bool>,
}

impl From<LogItem> for LogEvent {
    fn from(item: LogItem) -> Self {
        match item {
            LogItem::Line(line) => Self {
                event: LogEventKind::Log,
                line: Some(line),
                exit_code: None,
                failed: None,
            },
            LogItem::Stopped { exit_code, failed } => Self {
                event: LogEventKind::Stopped,
                line: None,
                exit_code,
                failed,
            },
        }
    }
}

/// Model-server processes.
#[derive(Default)]
pub struct ServersApi;

#[OpenApi(tag = "ApiTags::Servers")]
impl ServersApi {
    /// List running servers
    ///
    /// Action: `servers.read`. Memory and CPU are summed over each server's process
    /// tree (CPU reads 0 on the first listing).
    #[oai(path = "/api/servers", method = "get", operation_id = "listServers")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<Vec<ServerInfo>>, ApiError> {
        auth.require(actions::SERVERS_READ)?;
        let servers = state
            .supervisor
            .list_running()
            .await
            .map_err(ApiError::internal)?;
        let info = servers.into_iter().map(|s| {
            let load = state.gateway.load(&s.profile_id);
            ServerInfo::from(s).with_load(load)
        });
        Ok(Json(info.collect()))
    }

    /// Start a server
    ///
    /// Action: `servers.control`. Spawns the profile's command (no shell) in its own
    /// process group, output to `<data_dir>/logs/server-<id>.log`, and answers once
    /// it is healthy (`GET /v1/models`), which may take as long as loading the
    /// model (`[servers] start_timeout`). Errors: 404 `profile_not_found`; 409
    /// `already_running`; 409 `start_failed` when it exits within `[servers]
    /// start_grace` or is not healthy in time, with the last 2000 characters of its
    /// log in `detail`.
    #[oai(
        path = "/api/servers/:profile_id/start",
        method = "post",
        operation_id = "startServer"
    )]
    async fn start(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
    ) -> Result<Json<ServerStarted>, ApiError> {
        let who = auth.require(actions::SERVERS_CONTROL)?;
        let (profile, started) = state.lifecycle.start(&profile_id.0).await?;
        let target = profile_target("server", &profile.id, &profile.values.name);
        publish(&state, who, actions::SERVER_START, target).await;
        Ok(Json(started.into()))
    }

    /// Stop a server
    ///
    /// Action: `servers.control`. SIGTERM to its process group, SIGKILL after
    /// `[servers] stop_timeout`; `force=true` sends SIGKILL at once. Errors: 404
    /// `server_not_running` "Server not running".
    #[oai(
        path = "/api/servers/:profile_id/stop",
        method = "post",
        operation_id = "stopServer"
    )]
    async fn stop(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
        /// Kill at once instead of asking politely.
        #[oai(default)]
        force: Query<bool>,
    ) -> Result<Json<ServerStopped>, ApiError> {
        let who = auth.require(actions::SERVERS_CONTROL)?;
        state.supervisor.stop(&profile_id.0, force.0).await?;
        let target = Target::new("server", Some(profile_id.0.clone()), None);
        publish(&state, who, actions::SERVER_STOP, target).await;
        Ok(Json(ServerStopped { stopped: true }))
    }

    /// Restart a server
    ///
    /// Action: `servers.control`. Stops it if it runs, then starts it as `start`
    /// does. Errors: as for `start`.
    #[oai(
        path = "/api/servers/:profile_id/restart",
        method = "post",
        operation_id = "restartServer"
    )]
    async fn restart(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
    ) -> Result<Json<ServerStarted>, ApiError> {
        let who = auth.require(actions::SERVERS_CONTROL)?;
        let (profile, started) = state.lifecycle.restart(&profile_id.0).await?;
        let target = profile_target("server", &profile.id, &profile.values.name);
        publish(&state, who, actions::SERVER_RESTART, target).await;
        Ok(Json(started.into()))
    }

    /// Probe a server's health
    ///
    /// Action: `servers.read`. Probes `GET /v1/models` now (timeout `[servers]
    /// health_timeout`); `stopped` when it does not run. Errors: 404
    /// `profile_not_found`.
    #[oai(
        path = "/api/servers/:profile_id/health",
        method = "get",
        operation_id = "getServerHealth"
    )]
    async fn health(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
    ) -> Result<Json<HealthReport>, ApiError> {
        auth.require(actions::SERVERS_READ)?;
        let profile = state.profiles.get(&profile_id.0).await?;
        let probe = state.supervisor.health(&profile.id).await;
        Ok(Json(probe.into()))
    }

    /// A server's status
    ///
    /// Action: `servers.read`. Whether it runs, and how its last run ended (exit
    /// code, failure). Errors: 404 `profile_not_found`.
    #[oai(
        path = "/api/servers/:profile_id/status",
        method = "get",
        operation_id = "getServerStatus"
    )]
    async fn status(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
    ) -> Result<Json<StatusReport>, ApiError> {
        auth.require(actions::SERVERS_READ)?;
        let profile = state.profiles.get(&profile_id.0).await?;
        let s = state.supervisor.status(&profile.id);
        Ok(Json(StatusReport {
            profile_id: profile.id,
            running: s.running,
            pid: s.pid,
            exit_code: s.exit_code,
            failed: s.failed,
            error_message: s.error_message,
        }))
    }

    /// Stream a server's log
    ///
    /// Action: `servers.read`. `text/event-stream`: the last `lines` lines (0 to
    /// 10000, default 100), then new lines as they are written; every viewer gets
    /// every line. Each event's data is a JSON `LogEvent`; the stream ends with a
    /// `stopped` event when the server exits (at once when it does not run).
    /// Accepts a bearer token or a single-use `?ticket=` from
    /// `POST /api/auth/stream-ticket`. Errors: 404 `profile_not_found`; 422 bad
    /// `lines`.
    #[oai(
        path = "/api/servers/:profile_id/logs",
        method = "get",
        operation_id = "streamServerLogs"
    )]
    async fn logs(
        &self,
        auth: StreamAuth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
        /// How many past lines to send first (0 to 10000).
        #[oai(default = "default_lines", validator(maximum(value = "10000")))]
        lines: Query<u32>,
    ) -> Result<EventStream<BoxStream<'static, LogEvent>>, ApiError> {
        auth.require(actions::SERVERS_READ)?;
        if lines.0 > 10_000 {
            return Err(ApiError::unprocessable(
                codes::INVALID_LINES,
                "lines must be between 0 and 10000",
            ));
        }
        let profile = state.profiles.get(&profile_id.0).await?;
        let stream = state
            .supervisor
            .log_stream(&profile.id, lines.0 as usize, state.shutdown.clone())
            .map(LogEvent::from);
        let events = auth.guard(actions::SERVERS_READ, stream);
        Ok(EventStream::new(events).keep_alive(std::time::Duration::from_secs(15)))
    }
}

fn default_lines() -> u32 {
    100
}
