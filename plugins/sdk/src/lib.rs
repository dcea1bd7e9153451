//! The contract between mlx-manager's core and its plugins.
//!
//! - [`Plugin`]: a crate composed into the server at compile time, with its own
//!   `[plugins.<name>]` config section, migrations, an `init` that runs before the
//!   server binds, an OpenAPI API and a shutdown hook.
//! - [`Principal`], [`Role`], [`Action`], [`Permissions`]: who is calling and what
//!   they may do. Holding a `Principal` *is* the authentication;
//!   `principal.require(Action::ServersControl)?` is the authorisation.
//! - [`Authenticator`]: the seam through which an authentication plugin turns a
//!   credential into a `Principal`. With none installed every protected call is 401.
//! - [`Auth`] and [`StreamAuth`]: the security-scheme parameters that protected
//!   handlers take. They document an OAuth2 password flow (token URL
//!   `/api/auth/login`) and a plain bearer scheme in the OpenAPI document.
//! - [`ApiError`]: the one error response, `{"detail", "code"}`.

mod access;
mod error;
mod payload;
mod plugin;
mod security;
pub mod store;

pub use access::{Action, Permissions, Principal, Role};
pub use error::{ApiError, ErrorBody};
pub use payload::JsonBody;
pub use plugin::{Migration, Plugin, PluginContext, PluginError};
pub use security::{
    Auth, Authenticator, AuthenticatorHandle, BearerToken, Credential, OAuth2Password, Scopes,
    StreamAuth, StreamTicket, TOKEN_URL,
};
pub use store::Db;
