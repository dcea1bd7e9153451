//! The auth plugin's actions (with their default least roles) and the names of
//! the events it publishes.

use mlx_manager_sdk::{Action, ActionDecl, EventAction, Role};

/// The caller's own account: `/me`, logout, own password, stream tickets.
pub const AUTH_SELF: Action = Action::new("auth.self");
/// Manage user accounts.
pub const USERS_MANAGE: Action = Action::new("users.manage");
/// The caller's own API keys and sessions.
pub const KEYS_OWN: Action = Action::new("keys.own");
/// Everyone's API keys.
pub const KEYS_MANAGE: Action = Action::new("keys.manage");

/// Actions an API key can never hold: they need a login token.
pub const LOGIN_ONLY: &[Action] = &[USERS_MANAGE, KEYS_OWN, KEYS_MANAGE];

/// The plugin's actions.
pub const DECLARED: &[ActionDecl] = &[
    ActionDecl::new(AUTH_SELF, Role::Viewer, "the caller's own account"),
    ActionDecl::new(USERS_MANAGE, Role::Admin, "manage user accounts"),
    ActionDecl::new(
        KEYS_OWN,
        Role::User,
        "the caller's own API keys and sessions",
    ),
    ActionDecl::new(KEYS_MANAGE, Role::Admin, "everyone's API keys"),
];

/// A successful login.
pub const LOGIN: EventAction = EventAction("auth.login");
/// A refused login.
pub const LOGIN_FAILED: EventAction = EventAction("auth.login_failed");
/// A registration (or an account created at the command line).
pub const REGISTER: EventAction = EventAction("auth.register");
/// An account's first approval.
pub const APPROVE: EventAction = EventAction("auth.approve");
/// A role change.
pub const ROLE_CHANGE: EventAction = EventAction("auth.role_change");
/// An account disabled.
pub const DISABLE: EventAction = EventAction("auth.disable");
/// An account deleted.
pub const DELETE: EventAction = EventAction("auth.delete");
/// A user changed their own password.
pub const PASSWORD_CHANGE: EventAction = EventAction("auth.password_change");
/// Failed attempts locked an account or an address.
pub const THROTTLE_LOCK: EventAction = EventAction("auth.throttle_lock");
/// An API key created.
pub const KEY_CREATE: EventAction = EventAction("auth.key_create");
/// An API key revoked.
pub const KEY_REVOKE: EventAction = EventAction("auth.key_revoke");
/// A session revoked (one, or every one with `logout-all`).
pub const SESSION_REVOKE: EventAction = EventAction("auth.session_revoke");
/// A password set by an admin or at the command line.
pub const PASSWORD_RESET: EventAction = EventAction("auth.password_reset");
