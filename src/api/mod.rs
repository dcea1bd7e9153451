//! Thin poem-openapi handlers, one file per resource. A handler authorises,
//! converts input, calls one domain function and maps the result.

pub mod health;
pub mod models;
pub mod profiles;
pub mod servers;
pub mod system;

use poem_openapi::Tags;

/// The tags that group operations in the document.
#[derive(Tags)]
pub enum ApiTags {
    /// Liveness and readiness probes (public).
    Health,
    /// Server profiles: how to run one model server.
    Profiles,
    /// Model-server processes: start, stop, health, status, logs.
    Servers,
    /// Memory, host information and login services.
    System,
    /// Hugging Face Hub search, model downloads and the local model library.
    Models,
}

/// The core's operations.
pub type CoreApi = (
    health::HealthApi,
    profiles::ProfilesApi,
    servers::ServersApi,
    system::SystemApi,
    models::ModelsApi,
);
