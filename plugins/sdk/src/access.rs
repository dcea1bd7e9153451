//! Who is calling (`Principal`), their `Role`, the `Action`s of the API, and the
//! `Permissions` table that maps each action to the least role allowed to take it.
//!
//! Actions are open values: the crate that owns an operation declares its action
//! (with a default least role) as an [`ActionDecl`]; the SDK knows the shape of an
//! action, never the list. The core builds one [`Permissions`] table from every
//! loaded component's declarations and its `[permissions]` config section.

use std::{collections::BTreeMap, sync::Arc};

use serde::{Deserialize, Serialize};
use surrealdb::types::SurrealValue;

use crate::ApiError;

/// A user's role, in order: each may do everything the ones before it may.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
    SurrealValue,
)]
#[serde(rename_all = "lowercase")]
#[oai(rename_all = "lowercase")]
#[surreal(untagged, rename_all = "lowercase")]
pub enum Role {
    /// Reads profiles, servers, models and host facts.
    Viewer,
    /// Also runs models, downloads, edits profiles (the Python version's user).
    User,
    /// Also reads metrics (operations staff).
    Operator,
    /// Everything, including user management.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::User, Role::Operator, Role::Admin];

    /// The role's name in config and JSON: `operator`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::User => "user",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// Parse a role's name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a protected operation does, named `<area>.<verb>` (lower-case letters
/// and dots only, so that `MLX_MANAGER_PERMISSIONS__SERVERS_CONTROL` can name
/// `servers.control`). Declared by the crate that owns the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Action(&'static str);

impl Action {
    /// An action named `name` (`servers.control`).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The action's name as written in API.md and config: `servers.control`.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Whether the name has the required shape: lower-case words joined by dots.
    pub fn is_well_formed(self) -> bool {
        let parts: Vec<&str> = self.0.split('.').collect();
        parts.len() >= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// An action with the least role allowed to take it unless config says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionDecl {
    /// The action.
    pub action: Action,
    /// Its default least role.
    pub default_role: Role,
    /// One line for the OpenAPI document and `config check`.
    pub summary: &'static str,
}

impl ActionDecl {
    /// Declare `action`, allowed by default to `default_role` and above.
    pub const fn new(action: Action, default_role: Role, summary: &'static str) -> Self {
        Self {
            action,
            default_role,
            summary,
        }
    }
}

/// Why a permissions table cannot be built; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionsError {
    /// Two components declare the same action.
    #[error("the action `{0}` is declared twice")]
    Duplicate(String),
    /// A declared action's name is not `<area>.<verb>` in lower-case letters.
    #[error("the action name `{0}` must be lower-case words joined by dots")]
    BadName(String),
    /// `[permissions]` names an action no loaded component declares.
    #[error("[permissions] names the unknown action `{key}`; declared actions: {known}")]
    UnknownAction {
        /// The key as written.
        key: String,
        /// The declared actions, comma-separated.
        known: String,
    },
    /// `[permissions]` gives an action something that is not a role.
    #[error("[permissions] `{key}` must be one of viewer, user, operator, admin (found {found})")]
    BadRole {
        /// The key as written.
        key: String,
        /// What was found.
        found: String,
    },
}

/// The least role allowed to take each declared action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    least: BTreeMap<Action, Role>,
    declared: Vec<ActionDecl>,
}

impl Permissions {
    /// The table of `declared` actions with their defaults, then `overrides` (an
    /// action's name, or the same with `_` for `.` as environment variables
    /// write it, to a role's name). An override naming no declared action, or no
    /// role, is an error naming it.
    pub fn build(
        declared: &[ActionDecl],
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, PermissionsError> {
        let mut least = BTreeMap::new();
        for d in declared {
            if !d.action.is_well_formed() {
                return Err(PermissionsError::BadName(d.action.to_string()));
            }
            if least.insert(d.action, d.default_role).is_some() {
                return Err(PermissionsError::Duplicate(d.action.to_string()));
            }
        }
        for (key, role) in overrides {
            let action = declared
                .iter()
                .map(|d| d.action)
                .find(|a| a.as_str() == key || a.as_str().replace('.', "_") == *key)
                .ok_or_else(|| PermissionsError::UnknownAction {
                    key: key.clone(),
                    known: declared
                        .iter()
                        .map(|d| d.action.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            let role = Role::parse(role).ok_or_else(|| PermissionsError::BadRole {
                key: key.clone(),
                found: role.clone(),
            })?;
            least.insert(action, role);
        }
        Ok(Self {
            least,
            declared: declared.to_vec(),
        })
    }

    /// Every declared action, with its default.
    pub fn declared(&self) -> &[ActionDecl] {
        &self.declared
    }

    /// The least role allowed to take `action`. An action nobody declared is
    /// admin-only (fail closed).
    pub fn least_role(&self, action: Action) -> Role {
        self.least.get(&action).copied().unwrap_or(Role::Admin)
    }

    /// The effective table, for `config check`.
    pub fn effective(&self) -> BTreeMap<&'static str, Role> {
        self.least.iter().map(|(a, r)| (a.as_str(), *r)).collect()
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A login token (from `POST /api/auth/login`).
    Token,
    /// A single-use stream ticket.
    Ticket,
    /// An API key.
    ApiKey,
    /// The offline command line.
    Cli,
    /// The manager itself (background work).
    System,
}

impl CredentialKind {
    /// The name used in audit events: `token`, `api_key`...
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Token => "token",
            CredentialKind::Ticket => "ticket",
            CredentialKind::ApiKey => "api_key",
            CredentialKind::Cli => "cli",
            CredentialKind::System => "system",
        }
    }
}

/// Which stored credential a request rests on: a login session (the token's
/// `jti`) or an API key (its public id). A stream ticket rests on the one that
/// minted it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialId {
    /// A login token's session.
    Session(String),
    /// An API key.
    Key(String),
}

/// What an API key narrows its owner's rights to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyScope {
    /// The key's public prefix, `mlxm_<id>` (what logs show).
    pub prefix: String,
    /// The actions it may take (`None`: whatever its owner's role allows).
    pub actions: Option<Vec<String>>,
    /// The gateway models (profile names) it may use (`None`: all).
    pub models: Option<Vec<String>>,
    /// Requests a minute on the gateway.
    pub rpm: Option<u32>,
    /// Requests at once on the gateway.
    pub max_concurrent: Option<u32>,
}

/// An authenticated, approved caller. Only an [`crate::Authenticator`] makes one, so
/// holding a `Principal` means the request is authenticated.
#[derive(Clone)]
pub struct Principal {
    user_id: String,
    email: String,
    role: Role,
    via: CredentialKind,
    permissions: Arc<Permissions>,
    credential: Option<CredentialId>,
    key: Option<Arc<KeyScope>>,
    authority: Option<Arc<dyn crate::Authenticator>>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal")
            .field("user_id", &self.user_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("via", &self.via)
            .field("credential", &self.credential)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Principal {
    /// A principal for an approved user who authenticated `via` a credential,
    /// judged against `permissions`.
    pub fn new(
        user_id: String,
        email: String,
        role: Role,
        via: CredentialKind,
        permissions: Arc<Permissions>,
    ) -> Self {
        Self {
            user_id,
            email,
            role,
            via,
            permissions,
            credential: None,
            key: None,
            authority: None,
        }
    }

    /// The same caller, resting on the stored credential `id`.
    pub fn with_credential(mut self, id: CredentialId) -> Self {
        self.credential = Some(id);
        self
    }

    /// The same caller, narrowed by an API key's scope.
    pub fn with_key_scope(mut self, scope: KeyScope) -> Self {
        self.key = Some(Arc::new(scope));
        self
    }

    /// The same caller, able to ask `authority` whether it still holds
    /// (set by the SDK's security checkers).
    pub(crate) fn with_authority(mut self, authority: Arc<dyn crate::Authenticator>) -> Self {
        self.authority = Some(authority);
        self
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

    /// The kind of credential the caller presented.
    pub fn via(&self) -> CredentialKind {
        self.via
    }

    /// The stored credential the request rests on.
    pub fn credential(&self) -> Option<&CredentialId> {
        self.credential.as_ref()
    }

    /// The API key's scope, when the caller used a key (or a ticket a key minted).
    pub fn key_scope(&self) -> Option<&KeyScope> {
        self.key.as_deref()
    }

    /// Whether the caller may use the gateway model (profile) `name`.
    pub fn allows_model(&self, name: &str) -> bool {
        self.key_scope()
            .and_then(|k| k.models.as_ref())
            .is_none_or(|models| models.iter().any(|m| m == name))
    }

    /// Whether this principal may take `action`: its role allows it, and its
    /// API key (if any) lists it.
    pub fn can(&self, action: Action) -> bool {
        self.role >= self.permissions.least_role(action) && self.key_allows(action)
    }

    fn key_allows(&self, action: Action) -> bool {
        self.key_scope()
            .and_then(|k| k.actions.as_ref())
            .is_none_or(|actions| actions.iter().any(|a| a == action.as_str()))
    }

    /// `Ok` when this principal may take `action`, else 403 `forbidden` whose
    /// detail names the role and the action ("Admin access required" where the
    /// role is admin, the wording old clients match on), or the key that does
    /// not list it.
    pub fn require(&self, action: Action) -> Result<&Self, ApiError> {
        let least = self.permissions.least_role(action);
        if self.role < least {
            tracing::info!(user = %self.user_id, %action, role = %self.role, "action refused");
            let detail = if least == Role::Admin {
                "Admin access required".to_owned()
            } else {
                format!("Requires the {least} role ({action})")
            };
            return Err(ApiError::forbidden(crate::codes::FORBIDDEN, detail));
        }
        if !self.key_allows(action) {
            let prefix = self
                .key_scope()
                .map(|k| k.prefix.as_str())
                .unwrap_or_default();
            tracing::info!(user = %self.user_id, %action, key = prefix, "action refused by the key's scope");
            return Err(ApiError::forbidden(
                crate::codes::FORBIDDEN,
                format!("This API key does not allow {action}"),
            ));
        }
        Ok(self)
    }

    /// Like [`Principal::require`], and the caller must have used a login token:
    /// keys (and tickets) never manage keys, sessions, passwords or users
    /// (403 `login_token_required`).
    pub fn require_login(&self, action: Action) -> Result<&Self, ApiError> {
        // Whatever the key's owner or list: the credential is checked first.
        if self.via != CredentialKind::Token {
            return Err(ApiError::forbidden(
                crate::codes::LOGIN_TOKEN_REQUIRED,
                "This operation needs a login token: API keys cannot manage keys, sessions, passwords or users",
            ));
        }
        self.require(action)
    }

    /// The caller as the store sees it now (role, status, the credential
    /// itself), or `None` once the credential or account is revoked, disabled,
    /// deleted or expired. Without an authenticator to ask: `None`.
    pub async fn refreshed(&self) -> Option<Principal> {
        let authority = self.authority.clone()?;
        authority
            .revalidate(self)
            .await
            .map(|p| p.with_authority(authority))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Action = Action::new("things.read");
    const CONTROL: Action = Action::new("things.control");
    const MANAGE: Action = Action::new("users.manage");

    fn declared() -> Vec<ActionDecl> {
        vec![
            ActionDecl::new(READ, Role::Viewer, "read things"),
            ActionDecl::new(CONTROL, Role::User, "control things"),
            ActionDecl::new(MANAGE, Role::Admin, "manage users"),
        ]
    }

    fn table(overrides: &[(&str, &str)]) -> Result<Permissions, PermissionsError> {
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Permissions::build(&declared(), &overrides)
    }

    fn principal(role: Role, permissions: Permissions) -> Principal {
        Principal::new(
            "u1".into(),
            "a@x.com".into(),
            role,
            CredentialKind::Token,
            Arc::new(permissions),
        )
    }

    #[test]
    fn roles_are_ordered_and_each_may_do_what_the_lower_ones_may() {
        let p = table(&[]).expect("table");
        assert!(Role::Viewer < Role::User && Role::User < Role::Operator);
        assert!(Role::Operator < Role::Admin);
        for role in Role::ALL {
            let who = principal(role, p.clone());
            assert!(who.can(READ));
            assert_eq!(who.can(CONTROL), role >= Role::User);
            assert_eq!(who.can(MANAGE), role == Role::Admin);
        }
    }

    #[test]
    fn a_refusal_names_the_role_and_the_action_except_for_admin() {
        let p = table(&[("things.control", "operator")]).expect("table");
        let detail = |action| {
            principal(Role::User, p.clone())
                .require(action)
                .err()
                .map(|e| e.body().clone())
        };
        let control = detail(CONTROL).expect("refused");
        assert_eq!(control.code, "forbidden");
        assert_eq!(
            control.detail,
            "Requires the operator role (things.control)"
        );
        assert_eq!(
            detail(MANAGE).map(|b| b.detail).as_deref(),
            Some("Admin access required")
        );
    }

    #[test]
    fn overrides_take_dotted_or_underscored_names_and_refuse_unknown_ones() {
        let p = table(&[("things_control", "admin")]).expect("env-style key");
        assert_eq!(p.least_role(CONTROL), Role::Admin);
        let err = table(&[("things.contrl", "admin")])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "[permissions] names the unknown action `things.contrl`; declared actions: \
                 things.read, things.control, users.manage"
            )
        );
        let err = table(&[("things.read", "root")])
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("`things.read` must be one of")));
    }

    #[test]
    fn declarations_must_be_unique_and_well_formed() {
        let twice = [
            ActionDecl::new(READ, Role::Viewer, ""),
            ActionDecl::new(READ, Role::User, ""),
        ];
        assert!(matches!(
            Permissions::build(&twice, &BTreeMap::new()),
            Err(PermissionsError::Duplicate(_))
        ));
        for bad in ["things", "Things.read", "things.re_ad", "things..read"] {
            let decl = [ActionDecl::new(Action::new(bad), Role::User, "")];
            assert!(
                Permissions::build(&decl, &BTreeMap::new()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_key_narrows_its_owners_role_and_never_passes_a_login_only_check() {
        let p = table(&[]).expect("table");
        let scope = KeyScope {
            prefix: "mlxm_0123456789abcdef".into(),
            actions: Some(vec!["things.read".into(), "users.manage".into()]),
            models: Some(vec!["qwen".into()]),
            ..KeyScope::default()
        };
        let key = Principal::new(
            "u1".into(),
            "a@x.com".into(),
            Role::User,
            CredentialKind::ApiKey,
            Arc::new(p.clone()),
        )
        .with_key_scope(scope);
        assert!(key.can(READ));
        let refused = key.require(CONTROL).err().map(|e| e.body().clone());
        assert_eq!(
            refused.map(|b| b.detail).as_deref(),
            Some("This API key does not allow things.control")
        );
        // Listing an action does not lift the owner's role.
        assert!(!key.can(MANAGE));
        assert!(key.allows_model("qwen") && !key.allows_model("llama"));
        let login = key.require_login(READ).err().map(|e| e.body().code.clone());
        assert_eq!(login.as_deref(), Some("login_token_required"));
        let token = principal(Role::User, p);
        assert!(token.require_login(READ).is_ok());
        assert!(token.allows_model("anything"), "no key: every model");
    }

    #[test]
    fn an_undeclared_action_is_admin_only() {
        let p = table(&[]).expect("table");
        assert_eq!(p.least_role(Action::new("nobody.declared")), Role::Admin);
    }
}
