//! Memory figures and host information. On macOS total memory and the chip come
//! from `sysctl`, because the general libraries over-report there.

use std::{path::Path, time::Duration};

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};
use tokio::task::JoinError;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Memory of the host, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Physical memory.
    pub total: u64,
    /// Memory available to new processes.
    pub available: u64,
}

impl Memory {
    /// `total - available`.
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available)
    }

    /// Used memory in percent of total.
    pub fn percent_used(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.used() as f64 * 100.0 / self.total as f64
        }
    }
}

/// Bytes to GiB, rounded to two decimals.
pub fn gib(bytes: u64) -> f64 {
    (bytes as f64 / GIB * 100.0).round() / 100.0
}

/// Read the host's memory now (blocking; call from a blocking task).
pub fn memory() -> Memory {
    let sys = System::new_with_specifics(
        RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()),
    );
    let total = macos_sysctl("hw.memsize")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| sys.total_memory());
    let available = sys.available_memory().min(total);
    Memory { total, available }
}

/// Memory figures in GiB, with the budget recommended for MLX models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryReport {
    /// Physical memory.
    pub total_gb: f64,
    /// Memory available to new processes.
    pub available_gb: f64,
    /// `total_gb - available_gb`.
    pub used_gb: f64,
    /// Used memory in percent of total, to one decimal.
    pub percent_used: f64,
    /// `max_memory_percent` of total memory.
    pub mlx_recommended_gb: f64,
}

/// The host's memory now, read off the async workers; `max_memory_percent` is
/// the share of memory recommended for MLX models.
pub async fn memory_report(max_memory_percent: u8) -> Result<MemoryReport, JoinError> {
    let m = tokio::task::spawn_blocking(memory).await?;
    Ok(MemoryReport {
        total_gb: gib(m.total),
        available_gb: gib(m.available),
        used_gb: gib(m.used()),
        percent_used: (m.percent_used() * 10.0).round() / 10.0,
        mlx_recommended_gb: (gib(m.total) * f64::from(max_memory_percent)).round() / 100.0,
    })
}

/// Facts about the host that do not change while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct HostFacts {
    /// Operating system name and version.
    pub os_version: String,
    /// CPU or Apple chip.
    pub chip: String,
    /// Physical memory in GiB.
    pub memory_gb: f64,
}

/// The host's facts, read off the async workers.
pub async fn facts() -> Result<HostFacts, JoinError> {
    tokio::task::spawn_blocking(|| HostFacts {
        os_version: os_version(),
        chip: chip(),
        memory_gb: gib(memory().total),
    })
    .await
}

/// The operating system's name and version.
pub fn os_version() -> String {
    System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_owned())
}

/// The CPU brand ("Apple M2 Ultra", "AMD EPYC ..."), blocking.
pub fn chip() -> String {
    if let Some(brand) = macos_sysctl("machdep.cpu.brand_string") {
        return brand;
    }
    let sys =
        System::new_with_specifics(RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing()));
    sys.cpus()
        .first()
        .map(|c| c.brand().trim().to_owned())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

#[allow(
    clippy::disallowed_methods,
    reason = "the host probes are a seam: sysctl and mlx"
)]
fn macos_sysctl(name: &str) -> Option<String> {
    if !cfg!(target_os = "macos") {
        return None;
    }
    let out = std::process::Command::new("sysctl")
        .args(["-n", name])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// MLX's version, from the `python3` on `PATH`, on macOS only.
pub async fn mlx_version(timeout: Duration) -> Option<String> {
    if !cfg!(target_os = "macos") {
        return None;
    }
    let script = "import mlx.core as m; print(m.__version__)";
    first_line(Path::new("python3"), &["-c", script], timeout).await
}

#[allow(
    clippy::disallowed_methods,
    reason = "the host probes are a seam: sysctl and mlx"
)]
async fn first_line(program: &Path, args: &[&str], timeout: Duration) -> Option<String> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(timeout, child).await.ok()?.ok()?;
    if !out.status.success() {
        return None;
    }
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    let line = String::from_utf8_lossy(&text)
        .lines()
        .next()?
        .trim()
        .to_owned();
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_figures_are_consistent() {
        let m = memory();
        assert!(m.total > 0);
        assert!(m.available <= m.total);
        assert_eq!(m.used() + m.available, m.total);
        assert!((0.0..=100.0).contains(&m.percent_used()));
    }

    #[test]
    fn gib_rounds_to_two_decimals() {
        assert_eq!(gib(1024 * 1024 * 1024), 1.0);
        assert_eq!(gib(1536 * 1024 * 1024), 1.5);
        assert_eq!(gib(0), 0.0);
    }
}
