//! The one seam through which service-manager commands (`launchctl`,
//! `systemctl`) run, so tests can point it at a recording program.

use std::time::Duration;

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit status was 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A service-manager command could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program is not installed.
    #[error("`{0}` was not found on this host")]
    Missing(String),
    /// It did not finish in time.
    #[error("`{0}` did not finish within 30 s")]
    TimedOut(String),
    /// It could not be started.
    #[error("cannot run `{0}`: {1}")]
    Io(String, std::io::Error),
}

/// Runs service-manager commands.
#[async_trait::async_trait]
pub trait Runner: Send + Sync {
    /// Run `program` with `args`.
    async fn run(&self, program: &str, args: &[String]) -> Result<Output, RunError>;
}

/// Runs real programs (no shell), with a 30 s timeout.
pub struct ProcessRunner;

#[async_trait::async_trait]
impl Runner for ProcessRunner {
    #[allow(
        clippy::disallowed_methods,
        reason = "the service runner is the seam for launchctl and systemctl"
    )]
    async fn run(&self, program: &str, args: &[String]) -> Result<Output, RunError> {
        let mut attempt = 0;
        let out = loop {
            let child = tokio::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output();
            match tokio::time::timeout(Duration::from_secs(30), child).await {
                // "Text file busy": the program was just written (an update, or a
                // test's stand-in) and another fork still holds it open; try again.
                Ok(Err(e)) if e.raw_os_error() == Some(26) && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => break other,
            }
        };
        let out = match out {
            Err(_) => return Err(RunError::TimedOut(program.to_owned())),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RunError::Missing(program.to_owned()));
            }
            Ok(Err(e)) => return Err(RunError::Io(program.to_owned(), e)),
            Ok(Ok(out)) => out,
        };
        Ok(Output {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}
