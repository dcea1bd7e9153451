//! `/api/system`: memory figures and host information.

use std::{path::Path, sync::Arc, time::Duration};

use mlx_manager_sdk::{Action, ApiError, Auth};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};

use super::ApiTags;
use crate::{state::AppState, system::host};

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
    /// First line of `<[servers] program> --version`, when the program is found.
    pub server_version: Option<String>,
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
        auth.require(Action::SystemRead)?;
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
    /// MLX and the configured model-server program (each probe times out after 5 s).
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
        auth.require(Action::SystemRead)?;
        let facts =
            tokio::task::spawn_blocking(|| (host::os_version(), host::chip(), host::memory()));
        let (os_version, chip, memory) = facts.await.map_err(ApiError::internal)?;
        let program = Path::new(&state.settings.servers.program);
        let (server_version, mlx_version) = tokio::join!(
            host::program_version(program, VERSION_TIMEOUT),
            host::mlx_version(VERSION_TIMEOUT)
        );
        Ok(Json(SystemInfo {
            os_version,
            chip,
            memory_gb: host::gib(memory.total),
            manager_version: env!("CARGO_PKG_VERSION").to_owned(),
            mlx_version,
            server_version,
        }))
    }
}
