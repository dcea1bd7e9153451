//! The `mlx-manager` binary: parse the command line and run it.

/// jemalloc, with a background thread that gives freed memory back to the
/// system within a quarter of a second (`.cargo/config.toml` sets its options at build
/// time, so no variable is needed at run time). With glibc's allocator the
/// 19 MiB working memory of a password hash, once freed, stayed in the heap
/// arenas, and an idle server kept what a login flood had taken.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mlx_manager::cli::run().await
}
