//! Black-box tests: each spawns the real app on port 0 with a `mem://` store
//! through `TestApp`, and talks to it over HTTP on loopback.
#![allow(
    clippy::disallowed_methods,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: it spawns the manager, reads the clock, and indexes and panics to fail"
)]
// Helpers outside `#[test]` functions panic on purpose: a failed setup is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod audit;
mod auth;
mod bench_credentials;
mod bench_gateway;
mod bench_plugins;
mod cli;
mod crash;
mod fake_hub;
mod foundation;
mod gateway;
mod guard;
mod helpers;
mod keys;
mod metrics;
mod models;
mod probe_plugin;
mod profiles;
mod real_servers;
mod request_ids;
mod roles;
mod scale_out;
mod server_env;
mod server_program;
mod servers;
mod system;
mod throttle;
mod users;
