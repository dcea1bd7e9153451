//! The `mlx-manager` binary: parse the command line and run it.

/// mimalloc, not the system allocator: it gives freed memory back to the
/// system. With glibc's, the 19 MiB working memory of each password hash,
/// once freed, stayed in the heap arenas (a login flood left the idle server
/// at 460 MB); macOS's allocator returns such large blocks by itself, and
/// mimalloc behaves the same on both.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mlx_manager::cli::run().await
}
