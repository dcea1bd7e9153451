//! Who is calling (`Principal`), their `Role`, the `Action`s of the API, and the
//! `Permissions` table that maps each action to the least role allowed to take it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ApiError;

/// A user's role. `Admin` may do everything a `User` may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, poem_openapi::Enum,
)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
pub enum Role {
    /// An approved user.
    User,
    /// An approved administrator.
    Admin,
}

/// Every protected operation belongs to exactly one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read server profiles.
    ProfilesRead,
    /// Create, change and delete server profiles.
    ProfilesWrite,
    /// Read the state, health and logs of model servers.
    ServersRead,
    /// Start, stop and restart model servers.
    ServersControl,
    /// Search the Hub and read the local model library.
    ModelsRead,
    /// Download models.
    ModelsDownload,
    /// Delete local models.
    ModelsDelete,
    /// Read memory and host information.
    SystemRead,
    /// Install and remove login services.
    SystemService,
    /// Manage user accounts.
    UsersManage,
}

impl Action {
    /// Every action, in the order of API.md.
    pub const ALL: [Action; 10] = [
        Action::ProfilesRead,
        Action::ProfilesWrite,
        Action::ServersRead,
        Action::ServersControl,
        Action::ModelsRead,
        Action::ModelsDownload,
        Action::ModelsDelete,
        Action::SystemRead,
        Action::SystemService,
        Action::UsersManage,
    ];

    /// The action's name as written in API.md and config: `servers.control`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ProfilesRead => "profiles.read",
            Action::ProfilesWrite => "profiles.write",
            Action::ServersRead => "servers.read",
            Action::ServersControl => "servers.control",
            Action::ModelsRead => "models.read",
            Action::ModelsDownload => "models.download",
            Action::ModelsDelete => "models.delete",
            Action::SystemRead => "system.read",
            Action::SystemService => "system.service",
            Action::UsersManage => "users.manage",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! permission_group {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $default:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: Role,)+
        }
        impl Default for $name {
            fn default() -> Self {
                Self { $($field: Role::$default,)+ }
            }
        }
    };
}

permission_group!(
    /// `profiles.*` actions.
    ProfilePermissions { /// `profiles.read`
    read: User, /// `profiles.write`
    write: User }
);
permission_group!(
    /// `servers.*` actions.
    ServerPermissions { /// `servers.read`
    read: User, /// `servers.control`
    control: User }
);
permission_group!(
    /// `models.*` actions.
    ModelPermissions { /// `models.read`
    read: User, /// `models.download`
    download: User, /// `models.delete`
    delete: User }
);
permission_group!(
    /// `system.*` actions.
    SystemPermissions { /// `system.read`
    read: User, /// `system.service`
    service: User }
);
permission_group!(
    /// `users.*` actions.
    UserPermissions { /// `users.manage`
    manage: Admin }
);

/// The least role allowed to take each action. In TOML the dotted action names
/// nest naturally: `servers.control = "admin"` under `[plugins.auth.permissions]`.
/// Defaults: `users.manage = "admin"`, every other action `"user"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Permissions {
    /// `profiles.read`, `profiles.write`.
    pub profiles: ProfilePermissions,
    /// `servers.read`, `servers.control`.
    pub servers: ServerPermissions,
    /// `models.read`, `models.download`, `models.delete`.
    pub models: ModelPermissions,
    /// `system.read`, `system.service`.
    pub system: SystemPermissions,
    /// `users.manage`.
    pub users: UserPermissions,
}

impl Permissions {
    /// The least role allowed to take `action`.
    pub fn least_role(&self, action: Action) -> Role {
        match action {
            Action::ProfilesRead => self.profiles.read,
            Action::ProfilesWrite => self.profiles.write,
            Action::ServersRead => self.servers.read,
            Action::ServersControl => self.servers.control,
            Action::ModelsRead => self.models.read,
            Action::ModelsDownload => self.models.download,
            Action::ModelsDelete => self.models.delete,
            Action::SystemRead => self.system.read,
            Action::SystemService => self.system.service,
            Action::UsersManage => self.users.manage,
        }
    }
}

/// An authenticated, approved caller. Only an [`crate::Authenticator`] makes one, so
/// holding a `Principal` means the request is authenticated.
#[derive(Debug, Clone)]
pub struct Principal {
    user_id: String,
    email: String,
    role: Role,
    permissions: Arc<Permissions>,
}

impl Principal {
    /// A principal for an approved user, judged against `permissions`.
    pub fn new(user_id: String, email: String, role: Role, permissions: Arc<Permissions>) -> Self {
        Self {
            user_id,
            email,
            role,
            permissions,
        }
    }

    /// The user's id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The user's (normalised) email.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The user's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether this principal may take `action`.
    pub fn can(&self, action: Action) -> bool {
        self.role >= self.permissions.least_role(action)
    }

    /// `Ok` when this principal may take `action`, else 403 `forbidden`.
    pub fn require(&self, action: Action) -> Result<&Self, ApiError> {
        if self.can(action) {
            Ok(self)
        } else {
            tracing::info!(user = %self.user_id, %action, "action refused");
            Err(ApiError::forbidden("forbidden", "Admin access required"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, permissions: Permissions) -> Principal {
        Principal::new("u1".into(), "a@x.com".into(), role, Arc::new(permissions))
    }

    #[test]
    fn by_default_users_may_do_everything_but_manage_users() {
        let user = principal(Role::User, Permissions::default());
        for action in Action::ALL {
            assert_eq!(user.can(action), action != Action::UsersManage, "{action}");
        }
        let admin = principal(Role::Admin, Permissions::default());
        assert!(Action::ALL.iter().all(|a| admin.can(*a)));
    }

    #[test]
    fn an_admin_only_action_refuses_users_with_403_forbidden() {
        let mut permissions = Permissions::default();
        permissions.servers.control = Role::Admin;
        let err = principal(Role::User, permissions)
            .require(Action::ServersControl)
            .err();
        let err = err.map(|e| e.body().clone());
        assert_eq!(
            err,
            Some(crate::ErrorBody {
                detail: "Admin access required".into(),
                code: "forbidden".into()
            })
        );
    }

    #[test]
    fn dotted_action_names_nest_in_toml() {
        let p: Permissions =
            toml_like(r#"{"servers": {"control": "admin"}}"#).expect("valid permissions");
        assert_eq!(p.least_role(Action::ServersControl), Role::Admin);
        assert_eq!(p.least_role(Action::ServersRead), Role::User);
        assert!(toml_like(r#"{"servers": {"contrl": "admin"}}"#).is_err());
        assert!(toml_like(r#"{"servers": {"control": "root"}}"#).is_err());
    }

    fn toml_like(json: &str) -> Result<Permissions, serde_json::Error> {
        serde_json::from_str(json)
    }
}
