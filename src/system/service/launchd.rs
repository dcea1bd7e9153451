//! launchd agents: the property list of REFERENCE.md, and reading
//! `launchctl print` output.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};

use super::ServiceSpec;

/// `KeepAlive`: restart after a crash or an unsuccessful exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeepAlive {
    /// `false`: restart when it exits unsuccessfully.
    pub successful_exit: bool,
    /// `true`: restart when it crashes.
    pub crashed: bool,
}

/// A launchd agent definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Agent {
    /// The job's label.
    pub label: String,
    /// The command, one element per argument.
    pub program_arguments: Vec<String>,
    /// Start when loaded (at login).
    pub run_at_load: bool,
    /// Restart policy.
    pub keep_alive: KeepAlive,
    /// Working directory.
    pub working_directory: String,
    /// Where standard output goes.
    pub standard_out_path: String,
    /// Where standard error goes.
    pub standard_error_path: String,
    /// Environment (`PATH`, `HOME`, `PYTHONUNBUFFERED`, and the configured ones).
    pub environment_variables: BTreeMap<String, String>,
    /// Seconds between restarts.
    pub throttle_interval: u32,
}

impl Agent {
    /// The agent for `spec`.
    pub fn new(spec: &ServiceSpec) -> Self {
        let log = spec.log_path.display().to_string();
        Self {
            label: spec.label.clone(),
            program_arguments: spec.argv.clone(),
            run_at_load: spec.run_at_load,
            keep_alive: KeepAlive {
                successful_exit: false,
                crashed: true,
            },
            working_directory: spec.working_dir.display().to_string(),
            standard_out_path: log.clone(),
            standard_error_path: log,
            environment_variables: spec.env.clone(),
            throttle_interval: 30,
        }
    }

    /// The XML property list.
    pub fn to_xml(&self) -> Result<Vec<u8>, plist::Error> {
        let mut out = Vec::new();
        plist::to_writer_xml(&mut out, self)?;
        Ok(out)
    }

    /// Read a property list written by [`Agent::to_xml`].
    pub fn from_file(path: &Path) -> Result<Self, plist::Error> {
        plist::from_file(path)
    }
}

/// `state = running` and `pid = N` from `launchctl print gui/<uid>/<label>`.
pub fn parse_print(output: &str) -> (bool, Option<u32>) {
    let mut running = false;
    let mut pid = None;
    for line in output.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("state = ") {
            running = v.trim() == "running";
        } else if let Some(v) = line.strip_prefix("pid = ") {
            pid = v.trim().parse().ok();
        }
    }
    (running, pid.filter(|_| running))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launchctl_print_gives_state_and_pid() {
        let out = "gui/501/com.mlx-manager.qwen = {\n\tactive count = 1\n\tstate = running\n\n\tpid = 4242\n\tprogram = /usr/bin/x\n}";
        assert_eq!(parse_print(out), (true, Some(4242)));
        assert_eq!(
            parse_print("x = {\n\tstate = not running\n}"),
            (false, None)
        );
    }
}
