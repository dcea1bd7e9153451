//! `/api/system`: memory figures and host information.

use std::{sync::Arc, time::Duration};

use mlx_manager_sdk::{ApiError, Auth};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Path, payload::Json};

use super::{ApiTags, profile_target, publish};
use crate::{
    actions,
    state::AppState,
    system::{
        host,
        service::{self, ServiceError},
    },
};

/// Memory of the host, in GiB.
#[derive(Object, Debug, Clone)]
pub struct MemoryStatus {
    /// Physical memory.
    pub total_gb: f64,
    /// Memory available to new processes.
    pub available_gb: f64,
    /// `total_gb - available_gb`.
    pub used_gb: f64,
    /// Used memory in percent of total.
    pub percent_used: f64,
    /// The memory budget recommended for MLX models (`[system] max_memory_percent`
    /// of total memory).
    pub mlx_recommended_gb: f64,
}

/// Facts about the host and the installed software.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct SystemInfo {
    /// Operating system name and version.
    pub os_version: String,
    /// CPU or Apple chip.
    pub chip: String,
    /// Physical memory in GiB.
    pub memory_gb: f64,
    /// This manager's version.
    pub manager_version: String,
    /// MLX's version, when found (macOS).
    pub mlx_version: Option<String>,
    /// `mlx-openai-server X.Y.Z`, or the first line of another program's
    /// `--version`, when the program is found.
    pub server_version: Option<String>,
}

/// An installed login service.
#[derive(Object, Debug)]
pub struct ServiceInstalled {
    /// The plist or unit file written.
    pub path: String,
    /// The service's label (`com.mlx-manager.<slug of the profile name>`).
    pub label: String,
}

/// A login service's state.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ServiceStatus {
    /// Its file exists.
    pub installed: bool,
    /// launchd / systemd reports it running.
    pub running: bool,
    /// Its main process.
    pub pid: Option<u32>,
    /// Its label.
    pub label: String,
}

/// 204.
#[derive(ApiResponse)]
pub enum ServiceRemoved {
    /// Removed; no content.
    #[oai(status = 204)]
    NoContent,
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let detail = err.to_string();
        match err {
            ServiceError::Unsupported => ApiError::not_implemented("service_unsupported", detail),
            ServiceError::Unavailable(_) => {
                ApiError::unavailable("service_manager_unavailable", detail)
            }
            // The command line and its stderr go to the log, not to the client.
            ServiceError::Failed { .. } => {
                tracing::warn!(error = %detail, "the service manager refused");
                ApiError::unavailable(
                    "service_manager_failed",
                    "The service manager (launchctl or systemctl) refused the change; the server log has its answer",
                )
            }
            ServiceError::ProgramNotFound(_) => ApiError::unavailable("program_not_found", detail),
            ServiceError::NotInstalled => ApiError::not_found("service_not_installed", detail),
            ServiceError::LabelTaken(_) => ApiError::conflict("service_label_taken", detail),
            ServiceError::Io(e) => ApiError::internal(e),
        }
    }
}

const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

/// Host facts.
#[derive(Default)]
pub struct SystemApi;

#[OpenApi(tag = "ApiTags::System")]
impl SystemApi {
    /// Memory figures
    ///
    /// Action: `system.read`. Total, available and used memory, and the budget
    /// recommended for MLX models.
    #[oai(
        path = "/api/system/memory",
        method = "get",
        operation_id = "getSystemMemory"
    )]
    async fn memory(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<MemoryStatus>, ApiError> {
        auth.require(actions::SYSTEM_READ)?;
        let m = tokio::task::spawn_blocking(host::memory)
            .await
            .map_err(ApiError::internal)?;
        let percent = f64::from(state.settings.system.max_memory_percent);
        Ok(Json(MemoryStatus {
            total_gb: host::gib(m.total),
            available_gb: host::gib(m.available),
            used_gb: host::gib(m.used()),
            percent_used: (m.percent_used() * 10.0).round() / 10.0,
            mlx_recommended_gb: (host::gib(m.total) * percent).round() / 100.0,
        }))
    }

    /// Host information
    ///
    /// Action: `system.read`. OS, chip, memory, and the versions of this manager,
    /// MLX (the probe times out after 5 s) and the configured model-server
    /// program: `mlx-openai-server X.Y.Z` when that is what `--version` says,
    /// else that output's first line. The program's version is learned once per
    /// program file (path and modification time) and shapes its command.
    #[oai(
        path = "/api/system/info",
        method = "get",
        operation_id = "getSystemInfo"
    )]
    async fn info(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<SystemInfo>, ApiError> {
        auth.require(actions::SYSTEM_READ)?;
        let facts =
            tokio::task::spawn_blocking(|| (host::os_version(), host::chip(), host::memory()));
        let (os_version, chip, memory) = facts.await.map_err(ApiError::internal)?;
        let (program, mlx_version) = tokio::join!(
            state.supervisor.program(),
            host::mlx_version(VERSION_TIMEOUT)
        );
        let server_version = program.describe();
        Ok(Json(SystemInfo {
            os_version,
            chip,
            memory_gb: host::gib(memory.total),
            manager_version: env!("CARGO_PKG_VERSION").to_owned(),
            mlx_version,
            server_version,
        }))
    }

    /// Install a profile as a login service
    ///
    /// Action: `system.service`. Writes and loads a launchd agent (macOS,
    /// `~/Library/LaunchAgents/<label>.plist`, loaded with `launchctl bootstrap`) or
    /// a systemd user unit (Linux, `~/.config/systemd/user/<label>.service`, enabled
    /// with `systemctl --user enable --now` when `auto_start` is set). It runs the
    /// same command the supervisor would, logs to the same file, starts at login when
    /// `auto_start` is set, and is restarted after a crash. Errors: 404
    /// `profile_not_found`; 409 `service_label_taken` when the label (which follows
    /// the profile's name) belongs to another service or to the manager's own; 501 `service_unsupported` on other systems; 503
    /// `service_manager_unavailable` / `service_manager_failed` when `launchctl` or
    /// `systemctl` is missing or refuses, `program_not_found` when the server program
    /// is not on `PATH`.
    #[oai(
        path = "/api/system/service/:profile_id",
        method = "post",
        operation_id = "installService"
    )]
    async fn install_service(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
    ) -> Result<Json<ServiceInstalled>, ApiError> {
        auth.require(actions::SYSTEM_SERVICE)?;
        let profile = state.profiles.get(&profile_id.0).await?;
        let label = service::label(&profile.values.name);
        // A label follows the name, so two names can meet: never take over another
        // profile's service, nor the manager's own.
        let foreign = !profile.service_installed && state.services.path(&label).exists();
        if label == service::MANAGER_LABEL || foreign {
            return Err(ServiceError::LabelTaken(label).into());
        }
        let sup = &state.supervisor;
        let spec = state.services.profile_spec(
            &profile,
            &sup.command(&profile).await,
            sup.working_dir(),
            sup.log_path(&profile.id),
        )?;
        let path = state.services.install(&spec).await?;
        state
            .profiles
            .set_service_installed(&profile.id, true)
            .await?;
        let target = profile_target("service", &profile.id, &spec.label);
        publish(&state, auth.principal(), actions::SERVICE_INSTALL, target).await;
        Ok(Json(ServiceInstalled {
            path: path.display().to_string(),
            label: spec.label,
        }))
    }

    /// Remove a profile's login service
    ///
    /// Action: `system.service`. Unloads it (`launchctl bootout` / `systemctl --user
    /// disable --now`) and deletes its file. Errors: 404 `profile_not_found`,
    /// `service_not_installed`; 501; 503 as for install.
    #[oai(
        path = "/api/system/service/:profile_id",
        method = "delete",
        operation_id = "uninstallService"
    )]
    async fn uninstall_service(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
    ) -> Result<ServiceRemoved, ApiError> {
        auth.require(actions::SYSTEM_SERVICE)?;
        let profile = state.profiles.get(&profile_id.0).await?;
        if !profile.service_installed {
            // Whatever file has this label belongs to someone else.
            return Err(ServiceError::NotInstalled.into());
        }
        let result = state
            .services
            .uninstall(&service::label(&profile.values.name))
            .await;
        if matches!(result, Ok(()) | Err(ServiceError::NotInstalled)) {
            state
                .profiles
                .set_service_installed(&profile.id, false)
                .await?;
        }
        result?;
        let label = service::label(&profile.values.name);
        let target = profile_target("service", &profile.id, &label);
        publish(&state, auth.principal(), actions::SERVICE_REMOVE, target).await;
        Ok(ServiceRemoved::NoContent)
    }

    /// A profile's login service
    ///
    /// Action: `system.read`. Whether its file is installed, whether launchd /
    /// systemd reports it running, and its pid. Errors: 404 `profile_not_found`;
    /// 501; 503 as for install.
    #[oai(
        path = "/api/system/service/:profile_id",
        method = "get",
        operation_id = "getServiceStatus"
    )]
    async fn service_status(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile.
        profile_id: Path<String>,
    ) -> Result<Json<ServiceStatus>, ApiError> {
        auth.require(actions::SYSTEM_READ)?;
        let profile = state.profiles.get(&profile_id.0).await?;
        let s = state
            .services
            .status(&service::label(&profile.values.name))
            .await?;
        Ok(Json(ServiceStatus {
            installed: s.installed,
            running: s.running,
            pid: s.pid,
            label: s.label,
        }))
    }
}
