//! The contract between mlx-manager's core and its plugins.
//!
//! - [`Plugin`]: a crate composed into the server at compile time, with its own
//!   `[plugins.<name>]` config section, migrations, an `init` that runs before the
//!   server binds, an OpenAPI API and a shutdown hook.
//! - [`Principal`], [`Role`], [`Action`], [`ActionDecl`], [`Permissions`]: who is
//!   calling and what they may do. Actions are open values declared by the crate
//!   that owns the operation. Holding a `Principal` *is* the authentication;
//!   `principal.require(SERVERS_CONTROL)?` is the authorisation.
//! - [`EventBus`] and [`Event`]: typed domain events with actor and time, from
//!   the core and the plugins to every subscriber, never dropped.
//! - [`RequestRecord`]: what a plugin's request hook sees after every request.
//! - [`Observers`]: measurements (store calls, gateway requests, downloaded
//!   bytes) and gauges (servers by state, users by status) for an observer
//!   such as the metrics plugin, reported by whoever has them.
//! - [`Authenticator`]: the seam through which an authentication plugin turns a
//!   credential into a `Principal`. With none installed every protected call is 401.
//! - [`Auth`] and [`StreamAuth`]: the security-scheme parameters that protected
//!   handlers take. They document an OAuth2 password flow (token URL
//!   `/api/auth/login`), a plain bearer scheme, an `X-API-Key` scheme and (for
//!   streams) a `?ticket=` scheme in the OpenAPI document.
//! - [`ApiError`]: the one error response, `{"detail", "code"}`.

mod access;
pub mod clock;
mod error;
pub mod events;
pub mod observe;
mod payload;
mod plugin;
mod security;
pub mod store;

pub use access::{
    Action, ActionDecl, CredentialId, CredentialKind, KeyScope, Permissions, PermissionsError,
    Principal, Role,
};
pub use error::{ApiError, ErrorBody, ErrorCode, codes};
pub use events::{Actor, ActorVia, Event, EventAction, EventBus, Outcome, Target};
pub use observe::{
    GatewayRequest, GaugeFamily, GaugeSample, GaugeSource, Measurement, Observer, Observers,
};
pub use payload::{Done, JsonBody};
pub use plugin::{Migration, Plugin, PluginContext, PluginError, RequestId, RequestRecord};
pub use security::{
    ApiKeyHeader, Auth, Authenticator, AuthenticatorHandle, BearerToken, ClientAddress, Credential,
    OAuth2Password, PrincipalSlot, REVALIDATE_EVERY, Scopes, StreamAuth, StreamTicket, TOKEN_URL,
    authenticate_plain, guard_stream,
};
pub use store::Db;
