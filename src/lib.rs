//! mlx-manager: a self-hosted server that manages local LLM model servers and
//! protects every endpoint with a pluggable authentication layer.
//!
//! Architecture map (the README has the same words):
//!
//! - [`cli`]: `serve` | `openapi` | `config check` | `service ...`, plus the
//!   commands plugins contribute (the auth plugin's `user ...`).
//! - [`actions`]: the core's actions (with default roles) and event names.
//! - [`config`]: one typed tree: defaults -> `config.toml` -> `MLX_MANAGER_*` env.
//! - [`startup`]: one bootstrap (data dir, store, every migration, permissions,
//!   plugins) shared by `serve` and the CLI; `Application::build(config)` then
//!   composes routes with the plugins' request hooks and binds.
//! - [`store`]: SurrealDB through the `any` engine, and numbered migrations.
//! - [`api`]: thin poem-openapi handlers, one file per resource.
//! - [`openapi`]: the document as served, printed and committed: poem-openapi's,
//!   with the wrapper around documented references simplified for generators.
//! - [`profiles`], [`servers`], [`system`]: domain and infrastructure (profiles
//!   in the store, the model-server supervisor, host facts and login services);
//!   no HTTP types inside.
//! - [`models`]: Hugging Face Hub search, resumable downloads into the hub cache,
//!   the local model library. Domain code, no HTTP types.
//! - [`plugins`]: the composition root: plugin sets of up to eight crates
//!   (`plugins/*`); the contract they implement is `mlx_manager_sdk`.
//! - [`http`]: body limit, JSON errors for the framework's own failures, request
//!   ids and the request span, security headers, the host allow-list.
//! - [`connections`]: the per-peer connection cap and the header-read and idle
//!   timeouts.

pub mod actions;
pub mod api;
pub mod cli;
pub mod config;
pub mod connections;
pub mod http;
pub mod migrations;
pub mod models;
pub mod openapi;
pub mod plugins;
pub mod profiles;
pub mod servers;
pub mod startup;
pub mod state;
pub mod store;
pub mod system;

pub use mlx_manager_sdk as sdk;
