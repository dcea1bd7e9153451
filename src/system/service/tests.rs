//! Service files and service-manager commands, driven through a recording runner
//! under a temporary home.

use std::sync::Mutex;

use super::*;
use crate::profiles::{NewProfile, ProfileValues};

/// Records every command and answers from a script.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    missing: bool,
}

#[async_trait::async_trait]
impl Runner for Recorder {
    async fn run(&self, program: &str, args: &[String]) -> Result<Output, RunError> {
        if self.missing {
            return Err(RunError::Missing(program.to_owned()));
        }
        let line = format!("{program} {}", args.join(" "));
        self.calls.lock().expect("lock").push(line.clone());
        let stdout = if line.contains(" print ") {
            "x = {\n\tstate = running\n\tpid = 777\n}".to_owned()
        } else if line.contains("is-active") {
            "active\n".to_owned()
        } else if line.contains("MainPID") {
            "888\n".to_owned()
        } else {
            String::new()
        };
        Ok(Output {
            success: true,
            stdout,
            stderr: String::new(),
        })
    }
}

fn profile(auto_start: bool) -> Profile {
    let new = NewProfile {
        name: "Qwen 3_8B (fast)!".into(),
        model_path: "mlx-community/Qwen3 8B".into(),
        auto_start: Some(auto_start),
        ..NewProfile::default()
    };
    Profile {
        id: "p1".into(),
        values: ProfileValues::from_new(new).expect("valid"),
        service_installed: false,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    }
}

fn command() -> ServerCommand {
    ServerCommand {
        program: "sh".into(),
        args: vec!["-c".into(), "echo \"$HOME\" 100% `x`".into()],
        env: BTreeMap::from([("EXTRA".to_owned(), "a b".to_owned())]),
        working_dir: None,
    }
}

fn manager(kind: Kind, home: &Path, runner: Arc<Recorder>) -> ServiceManager {
    let dir = default_dir(Some(kind), home);
    ServiceManager::new(
        Some(kind),
        dir,
        home.to_path_buf(),
        "launchctl".into(),
        "systemctl".into(),
        runner,
    )
}

#[test]
fn labels_follow_the_profile_name() {
    assert_eq!(label("Qwen 3_8B (fast)!"), "com.mlx-manager.qwen-3-8b-fast");
    assert_eq!(label("!!!"), "com.mlx-manager.profile");
}

#[tokio::test]
async fn a_launchd_agent_is_the_plist_of_the_reference_and_comes_and_goes() {
    let home = tempfile::tempdir().expect("home");
    let runner = Arc::new(Recorder::default());
    let m = manager(Kind::Launchd, home.path(), runner.clone());
    let spec = m
        .profile_spec(
            &profile(true),
            &command(),
            home.path().join("work"),
            home.path().join("logs/s.log"),
        )
        .expect("spec");
    let path = m.install(&spec).await.expect("install");
    assert_eq!(
        path,
        home.path()
            .join("Library/LaunchAgents/com.mlx-manager.qwen-3-8b-fast.plist")
    );

    let agent = launchd::Agent::from_file(&path).expect("a property list");
    assert_eq!(agent.label, "com.mlx-manager.qwen-3-8b-fast");
    assert!(
        agent.program_arguments[0].ends_with("/sh"),
        "an absolute program: {:?}",
        agent.program_arguments
    );
    assert_eq!(
        agent.program_arguments[1..],
        ["-c", "echo \"$HOME\" 100% `x`"]
    );
    assert!(agent.run_at_load, "RunAtLoad follows auto_start");
    assert_eq!(
        agent.keep_alive,
        launchd::KeepAlive {
            successful_exit: false,
            crashed: true
        }
    );
    assert_eq!(
        agent.standard_out_path,
        home.path().join("logs/s.log").display().to_string()
    );
    assert_eq!(agent.standard_error_path, agent.standard_out_path);
    assert_eq!(agent.throttle_interval, 30);
    let env = &agent.environment_variables;
    assert_eq!(
        env.get("HOME").map(String::as_str),
        Some(home.path().to_str().expect("utf8"))
    );
    assert_eq!(env.get("PYTHONUNBUFFERED").map(String::as_str), Some("1"));
    assert!(env.contains_key("PATH"));
    assert_eq!(env.get("EXTRA").map(String::as_str), Some("a b"));
    let raw = std::fs::read_to_string(&path).expect("xml");
    for key in [
        "ProgramArguments",
        "RunAtLoad",
        "KeepAlive",
        "SuccessfulExit",
        "Crashed",
        "StandardOutPath",
        "StandardErrorPath",
        "EnvironmentVariables",
        "ThrottleInterval",
    ] {
        assert!(raw.contains(&format!("<key>{key}</key>")), "{key}");
    }

    let uid = nix::unistd::getuid().as_raw();
    let state = m.status(&spec.label).await.expect("status");
    assert_eq!(
        state,
        ServiceState {
            installed: true,
            running: true,
            pid: Some(777),
            label: spec.label.clone()
        }
    );
    m.uninstall(&spec.label).await.expect("uninstall");
    assert!(!path.exists());
    let calls = runner.calls.lock().expect("lock").clone();
    assert_eq!(
        calls,
        [
            format!("launchctl bootout gui/{uid}/{}", spec.label),
            format!("launchctl bootstrap gui/{uid} {}", path.display()),
            format!("launchctl print gui/{uid}/{}", spec.label),
            format!("launchctl bootout gui/{uid}/{}", spec.label),
        ]
    );
    assert!(!m.status(&spec.label).await.expect("status").installed);
    assert!(matches!(
        m.uninstall(&spec.label).await,
        Err(ServiceError::NotInstalled)
    ));
}

#[tokio::test]
async fn a_systemd_unit_runs_the_same_command_and_comes_and_goes() {
    let home = tempfile::tempdir().expect("home");
    let runner = Arc::new(Recorder::default());
    let m = manager(Kind::Systemd, home.path(), runner.clone());
    let spec = m
        .profile_spec(
            &profile(true),
            &command(),
            home.path().join("work"),
            home.path().join("logs/s.log"),
        )
        .expect("spec");
    let path = m.install(&spec).await.expect("install");
    assert_eq!(
        path,
        home.path()
            .join(".config/systemd/user/com.mlx-manager.qwen-3-8b-fast.service")
    );
    let unit = std::fs::read_to_string(&path).expect("unit");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    assert_eq!(
        systemd::split(exec),
        spec.argv,
        "the arguments survive systemd's quoting"
    );
    assert!(unit.contains("[Install]\nWantedBy=default.target"));
    assert!(unit.contains(&format!(
        "StandardOutput=append:{}",
        home.path().join("logs/s.log").display()
    )));
    let env: Vec<String> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .flat_map(systemd::split)
        .collect();
    assert!(
        env.contains(&"EXTRA=a b".to_owned()) && env.contains(&"PYTHONUNBUFFERED=1".to_owned()),
        "{env:?}"
    );

    let state = m.status(&spec.label).await.expect("status");
    assert_eq!((state.running, state.pid), (true, Some(888)));
    m.uninstall(&spec.label).await.expect("uninstall");
    assert!(!path.exists());
    let unit_name = format!("{}.service", spec.label);
    let calls = runner.calls.lock().expect("lock").clone();
    assert_eq!(
        calls,
        [
            "systemctl --user daemon-reload".to_owned(),
            format!("systemctl --user enable --now {unit_name}"),
            format!("systemctl --user is-active {unit_name}"),
            format!("systemctl --user show -p MainPID --value {unit_name}"),
            format!("systemctl --user disable --now {unit_name}"),
            "systemctl --user daemon-reload".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_profile_without_auto_start_is_installed_but_not_enabled() {
    let home = tempfile::tempdir().expect("home");
    let runner = Arc::new(Recorder::default());
    let m = manager(Kind::Systemd, home.path(), runner.clone());
    let spec = m
        .profile_spec(
            &profile(false),
            &command(),
            home.path().into(),
            home.path().join("l.log"),
        )
        .expect("spec");
    m.install(&spec).await.expect("install");
    assert_eq!(
        runner.calls.lock().expect("lock").clone(),
        ["systemctl --user daemon-reload"]
    );
}

#[tokio::test]
async fn a_missing_service_manager_is_reported_not_hidden() {
    let home = tempfile::tempdir().expect("home");
    let runner = Arc::new(Recorder {
        missing: true,
        ..Recorder::default()
    });
    let m = manager(Kind::Systemd, home.path(), runner);
    let spec = m
        .profile_spec(
            &profile(true),
            &command(),
            home.path().into(),
            home.path().join("l.log"),
        )
        .expect("spec");
    let err = m.install(&spec).await.err();
    assert!(
        matches!(err, Some(ServiceError::Unavailable(RunError::Missing(_)))),
        "{err:?}"
    );
    assert!(!m.path(&spec.label).exists(), "nothing is left behind");
    let unsupported = ServiceManager::new(
        None,
        home.path().into(),
        home.path().into(),
        "l".into(),
        "s".into(),
        Arc::new(Recorder::default()),
    );
    assert!(matches!(
        unsupported.status("x").await,
        Err(ServiceError::Unsupported)
    ));
}

#[test]
fn the_manager_runs_itself_with_an_absolute_config() {
    let home = tempfile::tempdir().expect("home");
    let m = manager(Kind::Systemd, home.path(), Arc::new(Recorder::default()));
    let spec = m.manager_spec(
        Path::new("/opt/mlx-manager"),
        Path::new("/etc/mlx/config.toml"),
        Path::new("/data"),
    );
    assert_eq!(
        spec.argv,
        [
            "/opt/mlx-manager",
            "serve",
            "--config",
            "/etc/mlx/config.toml"
        ]
    );
    assert_eq!(spec.label, "com.mlx-manager.manager");
    assert!(spec.run_at_load);
}

#[test]
fn a_program_is_resolved_on_path_or_refused() {
    assert!(resolve_program("sh").is_some_and(|p| p.is_absolute()));
    assert!(resolve_program("definitely-not-a-program-xyz").is_none());
}
