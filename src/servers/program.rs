//! What the model-server program is: mlx-openai-server of a known version (whose
//! options the command must fit), or any other program. Learned by running
//! `<program> --version`, once per program path and modification time.

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use regex::Regex;
use tokio::sync::Mutex;

/// How long `<program> --version` may take. mlx-openai-server imports its whole
/// runtime (MLX, FastAPI) before it answers, which takes seconds on a cold disk.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// A version `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The oldest mlx-openai-server release whose options are known.
pub const OLDEST_SUPPORTED: Version = Version(1, 5, 0);
/// The newest mlx-openai-server release whose options are known; a newer one
/// gets the command of this one.
pub const NEWEST_KNOWN: Version = Version(1, 8, 1);

/// The model-server program, as far as the manager can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerProgram {
    /// mlx-openai-server, whose `launch` options depend on its version.
    MlxOpenAiServer(Version),
    /// Another program (or one that does not say what it is): the template is
    /// used as written. `version` is the first line of its `--version`, if any.
    Other {
        /// The first non-empty line `--version` printed.
        version: Option<String>,
    },
}

impl ServerProgram {
    /// What `GET /api/system/info` shows as `server_version`.
    pub fn describe(&self) -> Option<String> {
        match self {
            ServerProgram::MlxOpenAiServer(v) => Some(format!("mlx-openai-server {v}")),
            ServerProgram::Other { version } => version.clone(),
        }
    }

    /// The mlx-openai-server version, when that is the program.
    pub fn mlx_openai_server(&self) -> Option<Version> {
        match self {
            ServerProgram::MlxOpenAiServer(v) => Some(*v),
            ServerProgram::Other { .. } => None,
        }
    }
}

#[allow(clippy::expect_used)] // a constant pattern, checked by the tests below
fn version_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)version:?\s*v?(\d+)\.(\d+)(?:\.(\d+))?")
            .expect("the version pattern is a valid regex")
    })
}

/// Read what `--version` printed. mlx-openai-server prints a banner naming
/// itself with `Version: X.Y.Z` (Click's `version_option` with its own message);
/// anything else is another program.
pub fn parse_version_output(text: &str) -> ServerProgram {
    let lower = text.to_ascii_lowercase();
    let named = lower.contains("mlx-openai-server") || lower.contains("mlx_openai_server");
    if named && let Some(c) = version_regex().captures(text) {
        let n = |i: usize| {
            c.get(i)
                .and_then(|m| m.as_str().parse::<u32>().ok())
                .unwrap_or(0)
        };
        return ServerProgram::MlxOpenAiServer(Version(n(1), n(2), n(3)));
    }
    let version = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.chars().take(200).collect());
    ServerProgram::Other { version }
}

/// Where `program` is: itself when it names a path, else the first executable
/// of that name on `path_var` (the `PATH` the server gets).
pub fn resolve(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Learns and remembers what the program is, keyed by its resolved path and
/// modification time: upgrading the program (a new file) is seen at the next
/// start, and an unchanged one is never run twice.
#[derive(Debug, Default)]
pub struct ProgramProbe {
    cache: Mutex<HashMap<PathBuf, (SystemTime, ServerProgram)>>,
}

impl ProgramProbe {
    /// A probe with nothing learned yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `program` is. `env` is the whole environment the server gets (its
    /// `PATH` finds the program; `--version` runs with exactly this environment). A program that
    /// cannot be found or run, or that takes longer than `timeout`, counts as
    /// [`ServerProgram::Other`] without a version and is tried again next time.
    pub async fn detect(
        &self,
        program: &str,
        env: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> ServerProgram {
        let unknown = ServerProgram::Other { version: None };
        let path_var = env
            .get("PATH")
            .cloned()
            .or_else(|| std::env::var("PATH").ok());
        let Some(path) = resolve(program, path_var.as_deref()) else {
            return unknown;
        };
        let Some(modified) = modified(&path) else {
            return unknown;
        };
        let mut cache = self.cache.lock().await;
        if let Some((seen, known)) = cache.get(&path)
            && *seen == modified
        {
            return known.clone();
        }
        let Some(output) = run_version(&path, env, timeout).await else {
            return unknown;
        };
        let found = parse_version_output(&output);
        tracing::info!(program = %path.display(), detected = ?found, "model-server program detected");
        cache.insert(path, (modified, found.clone()));
        found
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[allow(
    clippy::disallowed_methods,
    reason = "the program probe is a seam: it runs `<program> --version`"
)]
async fn run_version(
    path: &Path,
    env: &BTreeMap<String, String>,
    timeout: Duration,
) -> Option<String> {
    let child = tokio::process::Command::new(path)
        .arg("--version")
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(timeout, child).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            tracing::warn!(program = %path.display(), error = %e, "cannot run the model-server program");
            return None;
        }
        Err(_) => {
            tracing::warn!(program = %path.display(), "`--version` of the model-server program timed out");
            return None;
        }
    };
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text)
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests spawn and read the clock directly"
)]
mod tests {
    use super::*;

    #[test]
    fn the_mlx_openai_server_banner_gives_its_version() {
        let banner = "\n✨ mlx-openai-server - OpenAI Compatible API Server for MLX models ✨\n\
                      ━━━━━━━━━━\n🚀 Version: 1.8.1\n";
        assert_eq!(
            parse_version_output(banner),
            ServerProgram::MlxOpenAiServer(Version(1, 8, 1))
        );
        assert_eq!(
            parse_version_output("mlx-openai-server, version 1.6"),
            ServerProgram::MlxOpenAiServer(Version(1, 6, 0))
        );
    }

    #[test]
    fn other_programs_keep_their_first_line() {
        assert_eq!(
            parse_version_output("\n  llama-server 4200\nbuilt with gcc\n"),
            ServerProgram::Other {
                version: Some("llama-server 4200".into())
            }
        );
        assert_eq!(
            parse_version_output(""),
            ServerProgram::Other { version: None }
        );
    }

    #[test]
    fn versions_order_numerically() {
        assert!(Version(1, 10, 0) > Version(1, 9, 3));
        assert!(Version(1, 7, 0) > Version(1, 6, 3));
        assert_eq!(Version(1, 8, 1).to_string(), "1.8.1");
    }

    #[tokio::test]
    async fn a_missing_program_is_unknown() {
        let probe = ProgramProbe::new();
        let found = probe
            .detect(
                "/nonexistent/program",
                &BTreeMap::new(),
                Duration::from_secs(1),
            )
            .await;
        assert_eq!(found, ServerProgram::Other { version: None });
    }

    #[tokio::test]
    async fn another_program_is_found_on_path_with_its_first_line() {
        let env = BTreeMap::from([("PATH".to_owned(), std::env::var("PATH").unwrap_or_default())]);
        let found = ProgramProbe::new()
            .detect("cargo", &env, Duration::from_secs(10))
            .await;
        let ServerProgram::Other { version: Some(v) } = found else {
            panic!("cargo not detected: {found:?}");
        };
        assert!(v.starts_with("cargo "), "{v}");
    }

    #[tokio::test]
    async fn the_program_runs_once_per_file_and_again_when_it_changes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let runs = dir.path().join("runs");
        let program = dir.path().join("mlx-openai-server");
        let write = |version: &str| {
            let script = format!(
                "#!/bin/sh\necho run >> '{}'\nprintf '\\nmlx-openai-server\\nVersion: {version}\\n'\n",
                runs.display()
            );
            std::fs::write(&program, script).expect("write");
            std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        };
        write("1.6.3");
        let probe = ProgramProbe::new();
        let path = program.to_string_lossy().into_owned();
        let env = BTreeMap::new();
        let timeout = Duration::from_secs(10);
        for _ in 0..3 {
            let found = probe.detect(&path, &env, timeout).await;
            assert_eq!(found, ServerProgram::MlxOpenAiServer(Version(1, 6, 3)));
        }
        let count = || {
            std::fs::read_to_string(&runs)
                .map(|s| s.lines().count())
                .unwrap_or(0)
        };
        assert_eq!(count(), 1);
        // An upgrade is a new file with a new modification time.
        write("1.8.1");
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&program)
            .and_then(|f| f.set_modified(later))
            .expect("set mtime");
        let found = probe.detect(&path, &env, timeout).await;
        assert_eq!(found, ServerProgram::MlxOpenAiServer(Version(1, 8, 1)));
        assert_eq!(count(), 2);
    }
}
