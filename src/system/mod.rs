//! Host facts: memory figures and host information (sysinfo, with the macOS
//! specifics of REFERENCE.md), and login services for profiles (launchd, systemd).

pub(crate) mod host;
pub mod service;
