//! A SurrealDB server for the scale-out tests: the `surreal` command of
//! crates.io's `surrealdb-server`, built with in-memory storage only. The
//! tests start it as `mlx-manager-test-surrealdb start --bind 127.0.0.1:PORT
//! --user root --pass root memory`.

use std::process::ExitCode;

fn main() -> ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
