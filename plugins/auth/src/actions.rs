//! The auth plugin's actions (with their default least roles) and the names of
//! the events it publishes.

use mlx_manager_sdk::{Action, ActionDecl, EventAction, Role};

/// The caller's own account: `/me`, logout, own password, stream tickets.
pub const AUTH_SELF: Action = Action::new("auth.self");
/// Manage user accounts.
pub const USERS_MANAGE: Action = Action::new("users.manage");

/// The plugin's actions.
pub const DECLARED: &[ActionDecl] = &[
    ActionDecl::new(AUTH_SELF, Role::Viewer, "the caller's own account"),
    ActionDecl::new(USERS_MANAGE, Role::Admin, "manage user accounts"),
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
/// A password set by an admin or at the command line.
pub const PASSWORD_RESET: EventAction = EventAction("auth.password_reset");
