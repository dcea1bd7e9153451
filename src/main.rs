//! The `mlx-manager` binary: parse the command line and run it.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mlx_manager::cli::run().await
}
