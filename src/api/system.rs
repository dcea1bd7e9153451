//! `/api/system`: memory figures and host information.

use crate::api::codes;
use std::{sync::Arc, time::Duration};

use mlx_manager_sdk::{ApiError, Auth, Done};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};

use super::{ApiTags, profile_target, publish};
use crate::{
    actions,
    state::AppState,
    system::{host, service::ServiceError},
};

/// Memory of the host, in GiB.
#[derive(Object, Debug, Clone)]
#[oai(rename = "MemoryStatus")]
pub struct MemoryFigures {
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

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let detail = err.to_string();
        match err {
            ServiceError::Unsupported => {
                ApiError::not_implemented(codes::SERVICE_UNSUPPORTED, detail)
            }
            ServiceError::Unavailable(_) => {
                ApiError::unavailable(codes::SERVICE_MANAGER_UNAVAILABLE, detail)
            }
            // The command line and its stderr go to the log, not to the client.
            ServiceError::Failed { .. } => {
                tracing::warn!(error = %detail, "the service manager refused");
                ApiError::unavailable(
                    codes::SERVICE_MANAGER_FAILED,
                    "The service manager (launchctl or systemctl) refused the change; the server log has its answer",
                )
            }
            ServiceError::ProgramNotFound(_) => {
                ApiError::unavailable(codes::PROGRAM_NOT_FOUND, detail)
            }
            ServiceError::NotInstalled => ApiError::not_found(codes::SERVICE_NOT_INSTALLED, detail),
            ServiceError::LabelTaken(_) => ApiError::conflict(codes::SERVICE_LABEL_TAKEN, detail),
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
    ) -> Result<Json<MemoryFigures>, ApiError> {
        auth.require(actions::SYSTEM_READ)?;
        let m = host::memory_report(state.settings.system.max_memory_percent)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(MemoryFigures {
            total_gb: m.total_gb,
            available_gb: m.available_gb,
            used_gb: m.used_gb,
            percent_used: m.percent_used,
            mlx_recommended_gb: m.mlx_recommended_gb,
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
        let (facts, program, mlx_version) = tokio::join!(
            host::facts(),
            state.supervisor.program(),
            host::mlx_version(VERSION_TIMEOUT)
        );
        let facts = facts.map_err(ApiError::internal)?;
        Ok(Json(SystemInfo {
            os_version: facts.os_version,
            chip: facts.chip,
            memory_gb: facts.memory_gb,
            manager_version: env!("CARGO_PKG_VERSION").to_owned(),
            mlx_version,
            server_version: program.describe(),
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
        let installed = state.lifecycle.install_service(&profile_id.0).await?;
        let (profile, label) = (&installed.profile, installed.label.clone());
        let target = profile_target("service", &profile.id, &label);
        publish(&state, auth.principal(), actions::SERVICE_INSTALL, target).await;
        Ok(Json(ServiceInstalled {
            path: installed.path.display().to_string(),
            label,
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
    ) -> Result<Done, ApiError> {
        auth.require(actions::SYSTEM_SERVICE)?;
        let (profile, label) = state.lifecycle.uninstall_service(&profile_id.0).await?;
        let target = profile_target("service", &profile.id, &label);
        publish(&state, auth.principal(), actions::SERVICE_REMOVE, target).await;
        Ok(Done::NoContent)
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
        let s = state.lifecycle.service_status(&profile_id.0).await?;
        Ok(Json(ServiceStatus {
            installed: s.installed,
            running: s.running,
            pid: s.pid,
            label: s.label,
        }))
    }
}
