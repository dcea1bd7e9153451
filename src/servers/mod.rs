//! Model-server processes: the command built from a profile, the supervisor that
//! starts, stops, watches and adopts them, their logs and their health.

pub mod command;
pub mod health;
pub mod instances;
pub mod logs;
pub mod process;
pub mod program;
mod supervisor;

pub use supervisor::{RunState, ServerError, ServerStatus, ServerSummary, Started, Supervisor};
