//! The core's actions and domain events: what its operations do, with the least
//! role allowed by default (API.md "Roles and permissions"), and the names of the
//! events it publishes (API.md "Audit").

use mlx_manager_sdk::{Action, ActionDecl, EventAction, Role};

/// Read server profiles.
pub const PROFILES_READ: Action = Action::new("profiles.read");
/// Create, change and delete server profiles.
pub const PROFILES_WRITE: Action = Action::new("profiles.write");
/// Read the state, health and logs of model servers.
pub const SERVERS_READ: Action = Action::new("servers.read");
/// Start, stop and restart model servers.
pub const SERVERS_CONTROL: Action = Action::new("servers.control");
/// Search the Hub and read the local model library.
pub const MODELS_READ: Action = Action::new("models.read");
/// Download models.
pub const MODELS_DOWNLOAD: Action = Action::new("models.download");
/// Delete local models.
pub const MODELS_DELETE: Action = Action::new("models.delete");
/// Read memory and host information.
pub const SYSTEM_READ: Action = Action::new("system.read");
/// Install and remove login services.
pub const SYSTEM_SERVICE: Action = Action::new("system.service");

/// Use models through the OpenAI-compatible gateway (`/v1`).
pub const INFERENCE_USE: Action = Action::new("inference.use");
/// Read gateway usage: one's own; an admin's covers everyone.
pub const USAGE_READ: Action = Action::new("usage.read");

/// The core's actions with their default least roles.
pub const DECLARED: &[ActionDecl] = &[
    ActionDecl::new(PROFILES_READ, Role::Viewer, "read server profiles"),
    ActionDecl::new(
        PROFILES_WRITE,
        Role::User,
        "create, change and delete profiles",
    ),
    ActionDecl::new(
        SERVERS_READ,
        Role::Viewer,
        "read model servers' state, health and logs",
    ),
    ActionDecl::new(
        SERVERS_CONTROL,
        Role::User,
        "start, stop and restart model servers",
    ),
    ActionDecl::new(
        MODELS_READ,
        Role::Viewer,
        "search the Hub, read the local library",
    ),
    ActionDecl::new(MODELS_DOWNLOAD, Role::User, "download models"),
    ActionDecl::new(MODELS_DELETE, Role::User, "delete local models"),
    ActionDecl::new(
        SYSTEM_READ,
        Role::Viewer,
        "read memory and host information",
    ),
    ActionDecl::new(
        SYSTEM_SERVICE,
        Role::User,
        "install and remove login services",
    ),
    ActionDecl::new(
        INFERENCE_USE,
        Role::User,
        "use models through the OpenAI-compatible gateway (/v1)",
    ),
    ActionDecl::new(
        USAGE_READ,
        Role::User,
        "read gateway usage (one's own; everyone's for admins)",
    ),
];

/// A profile was created.
pub const PROFILE_CREATE: EventAction = EventAction("profile.create");
/// A profile was changed.
pub const PROFILE_UPDATE: EventAction = EventAction("profile.update");
/// A profile was deleted.
pub const PROFILE_DELETE: EventAction = EventAction("profile.delete");
/// A model server was started.
pub const SERVER_START: EventAction = EventAction("server.start");
/// A model server was stopped.
pub const SERVER_STOP: EventAction = EventAction("server.stop");
/// A model server was restarted.
pub const SERVER_RESTART: EventAction = EventAction("server.restart");
/// A model server ended without being asked to.
pub const SERVER_CRASH: EventAction = EventAction("server.crash");
/// A download was started.
pub const DOWNLOAD_START: EventAction = EventAction("download.start");
/// A download finished.
pub const DOWNLOAD_FINISH: EventAction = EventAction("download.finish");
/// A download failed.
pub const DOWNLOAD_FAIL: EventAction = EventAction("download.fail");
/// A download was cancelled.
pub const DOWNLOAD_CANCEL: EventAction = EventAction("download.cancel");
/// A local model was deleted.
pub const MODEL_DELETE: EventAction = EventAction("model.delete");
/// A login service was installed.
pub const SERVICE_INSTALL: EventAction = EventAction("service.install");
/// A login service was removed.
pub const SERVICE_REMOVE: EventAction = EventAction("service.remove");
