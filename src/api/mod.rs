//! Thin poem-openapi handlers, one file per resource. A handler authorises,
//! converts input, calls one domain function and maps the result.

pub mod codes;
pub(crate) mod gateway;
pub(crate) mod health;
pub(crate) mod models;
pub(crate) mod profiles;
pub(crate) mod servers;
pub(crate) mod system;
pub(crate) mod usage;

use mlx_manager_sdk::{Actor, Event, EventAction, Principal, Target};
use poem_openapi::Tags;

use crate::state::AppState;

/// Publish that `principal` did `action` to `target` (after it succeeded).
pub(crate) async fn publish(
    state: &AppState,
    principal: &Principal,
    action: EventAction,
    target: Target,
) {
    let event = Event::new(Actor::of(principal), action, target);
    state.events.publish(event).await;
}

/// An event target for a profile (or its server, or its login service).
pub(crate) fn profile_target(kind: &'static str, id: &str, name: &str) -> Target {
    Target::new(kind, Some(id.to_owned()), Some(name.to_owned()))
}

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
    /// The OpenAI-compatible gateway: one authenticated door to every model
    /// server, with OpenAI's request, answer and error shapes.
    Gateway,
    /// What the gateway served, summed by user, key or profile.
    Usage,
}

/// The core's operations.
pub type CoreApi = (
    health::HealthApi,
    profiles::ProfilesApi,
    servers::ServersApi,
    system::SystemApi,
    models::ModelsApi,
    gateway::GatewayApi,
    usage::UsageApi,
);
