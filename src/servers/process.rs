//! Operating-system process helpers: signals to a process group, liveness,
//! start times (to recognise a recorded pid after a restart), and memory and CPU
//! summed over a process tree.

use std::collections::HashMap;

use nix::{
    sys::signal::{Signal, kill, killpg},
    unistd::Pid,
};
use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

/// Send `signal` to every process of the group `pgid`. `false` when the group is
/// gone.
pub fn signal_group(pgid: u32, signal: Signal) -> bool {
    // Never signal "every process" (0), init's group (1) or anything odd.
    let Ok(pgid) = i32::try_from(pgid) else {
        return false;
    };
    if pgid <= 1 {
        return false;
    }
    killpg(Pid::from_raw(pgid), signal).is_ok()
}

/// Whether `pid` is a live process (a zombie is not).
pub fn is_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if kill(Pid::from_raw(raw), None).is_err() {
        return false;
    }
    // On Linux a zombie still answers signal 0; its state in /proc says "Z".
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

/// Resource use of a process tree.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TreeUsage {
    /// Resident memory in bytes.
    pub memory_bytes: u64,
    /// CPU use in percent of one core, summed.
    pub cpu_percent: f32,
}

/// Samples process trees. CPU figures need two samples; the first reads 0.
pub struct Sampler {
    sys: System,
}

impl Default for Sampler {
    fn default() -> Self {
        Self { sys: System::new() }
    }
}

impl Sampler {
    /// Refresh every process (one pass for all trees of a listing).
    pub fn refresh(&mut self) {
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
    }

    /// The start time (seconds since the epoch) of `pid`, when it is alive.
    pub fn start_time(&mut self, pid: u32) -> Option<u64> {
        let pid = sysinfo::Pid::from_u32(pid);
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing(),
        );
        self.sys
            .process(pid)
            .filter(|p| p.status() != ProcessStatus::Zombie)
            .map(|p| p.start_time())
    }

    /// Memory and CPU of `pid` and all its descendants (as of the last refresh).
    pub fn tree(&self, pid: u32) -> Option<TreeUsage> {
        let root = sysinfo::Pid::from_u32(pid);
        self.sys.process(root)?;
        let mut children: HashMap<sysinfo::Pid, Vec<sysinfo::Pid>> = HashMap::new();
        for (child, p) in self.sys.processes() {
            if let Some(parent) = p.parent() {
                children.entry(parent).or_default().push(*child);
            }
        }
        let mut usage = TreeUsage::default();
        let mut stack = vec![root];
        while let Some(pid) = stack.pop() {
            if let Some(p) = self.sys.process(pid) {
                usage.memory_bytes += p.memory();
                usage.cpu_percent += p.cpu_usage();
            }
            stack.extend(children.get(&pid).into_iter().flatten());
        }
        Some(usage)
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests spawn and read the clock directly"
)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_has_a_tree() {
        let me = std::process::id();
        assert!(is_alive(me));
        let mut s = Sampler::default();
        s.refresh();
        assert!(s.tree(me).is_some_and(|u| u.memory_bytes > 0));
        assert!(s.start_time(me).is_some());
    }

    #[test]
    fn a_reaped_child_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("wait");
        assert!(!is_alive(pid));
    }
}
