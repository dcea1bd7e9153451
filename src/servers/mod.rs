//! Model-server processes: the command built from a profile, the supervisor that
//! starts, stops, watches and adopts them, their logs and their health.
//!
//! The words for a server's state, each for one question:
//! - [`RunState`]: where a run is in its life (starting, running, stopping,
//!   exited); the API shows it as `RunPhase` (schema `ServerState`).
//! - [`LastRun`]: whether it runs now and how its last run ended (the API's
//!   `StatusReport`).
//! - `health::Probe`: one probe's answer (the API's `HealthReport`, verdict
//!   `ProbeVerdict`, schema `HealthStatus`); the last known verdict of the
//!   periodic probe is `KnownHealth` (schema `ServerHealth`).

pub mod command;
pub(crate) mod health;
pub mod instances;
pub(crate) mod logs;
pub mod process;
pub mod program;
mod supervisor;

pub use supervisor::{LastRun, RunState, ServerError, ServerSummary, Started, Supervisor};
