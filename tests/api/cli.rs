//! The command line: offline user administration on the store of a stopped
//! server, `config check`, `openapi`, and the manager as a login service.

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use reqwest::StatusCode;

use crate::helpers::{TestApp, json};

const BIN: &str = env!("CARGO_BIN_EXE_mlx-manager");

/// Run `mlx-manager args` in `dir` (no config.toml there), with `stdin`.
fn run(dir: &Path, envs: &[(&str, String)], args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        // Nothing of the developer's environment (MLX_MANAGER_*, HF_*, proxies).
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("MLX_MANAGER_PATHS__DATA_DIR", dir.join("data"))
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__MEMORY_KIB", "1024")
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__ITERATIONS", "1")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mlx-manager");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn offline_user_administration_works_on_the_store_of_a_stopped_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let env = [("MLX_MANAGER_DATABASE__URL", url.clone())];

    let out = run(
        dir.path(),
        &env,
        &["user", "create", "--email", "Root@Example.com", "--admin"],
        "first password\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("created root@example.com"),
        "{}",
        text(&out.stdout)
    );
    let out = run(
        dir.path(),
        &env,
        &["user", "reset-password", "--email", "root@example.com"],
        "second password\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        dir.path(),
        &env,
        &["user", "create", "--email", "bad", "--admin"],
        "whatever password\n",
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Invalid email address"));
    let out = run(dir.path(), &env, &["user", "list"], "");
    let listing = text(&out.stdout);
    assert!(
        listing.contains("root@example.com")
            && listing.contains("approved")
            && listing.contains("admin"),
        "{listing}"
    );

    let app = TestApp::spawn_with(|f| f.merge(("database.url", url.clone()))).await;
    assert_eq!(
        app.login("root@example.com", "first password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let token = app.token("root@example.com", "second password").await;
    let me = json(app.get_as(&token, "/api/auth/me").await).await;
    assert_eq!(me["is_admin"], true);
    // The offline changes are in the audit log, made `via: "cli"`.
    let log = json(
        app.get_as(&token, "/api/audit/events?action=auth.register")
            .await,
    )
    .await;
    let cli: Vec<&serde_json::Value> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["actor"]["via"] == "cli")
        .collect();
    let actions: Vec<&str> = cli.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(
        actions.contains(&"auth.register"),
        "the CLI's creation is recorded: {log}"
    );
    let all = json(
        app.get_as(&token, "/api/audit/events?action=auth.password_reset")
            .await,
    )
    .await;
    let reset = &all["events"][0];
    assert_eq!(reset["actor"]["via"], "cli");
    assert_eq!(reset["target"]["name"], "root@example.com");

    // While the server runs, the CLI says why it cannot open the store.
    let out = run(dir.path(), &env, &["user", "list"], "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is another mlx-manager using this store?"),
        "{}",
        text(&out.stderr)
    );
    app.shutdown().await;
}

#[test]
fn config_check_prints_effective_values_and_names_bad_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "a-long-enough-secret-for-hs256-signing!!";
    let env = [("MLX_MANAGER_PLUGINS__AUTH__JWT_SECRET", secret.to_owned())];
    let out = run(dir.path(), &env, &["config", "check"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains("port = 8080") && printed.contains("<redacted>"),
        "{printed}"
    );
    assert!(!printed.contains(secret));

    let out = run(
        dir.path(),
        &[("MLX_MANAGER_SERVER__PROT", "1".into())],
        &["config", "check"],
        "",
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("prot") && err.contains("MLX_MANAGER_"),
        "{err}"
    );

    let out = run(
        dir.path(),
        &[],
        &["--config", "missing.toml", "config", "check"],
        "",
    );
    assert!(text(&out.stderr).contains("missing.toml does not exist"));
}

#[test]
fn openapi_prints_the_committed_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &[], &["openapi"], "");
    let committed = std::fs::read_to_string("openapi/openapi.json").expect("committed");
    assert_eq!(text(&out.stdout).trim_end(), committed.trim_end());
}

#[cfg(target_os = "linux")]
#[test]
fn the_manager_installs_itself_as_a_login_service() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let calls = dir.path().join("calls");
    let systemctl = dir.path().join("systemctl");
    std::fs::write(
        &systemctl,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", calls.display()),
    )
    .expect("script");
    std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(dir.path().join("mine.toml"), "[server]\nport = 9100\n").expect("config");
    let units = dir.path().join("units");
    let env = [
        (
            "MLX_MANAGER_SYSTEM__SYSTEMCTL",
            systemctl.display().to_string(),
        ),
        (
            "MLX_MANAGER_SYSTEM__SERVICE_DIR",
            units.display().to_string(),
        ),
    ];
    let out = run(
        dir.path(),
        &env,
        &["--config", "mine.toml", "service", "install"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let unit =
        std::fs::read_to_string(units.join("com.mlx-manager.manager.service")).expect("unit");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let config = std::fs::canonicalize(dir.path().join("mine.toml")).expect("abs");
    let exe = std::fs::canonicalize(BIN).expect("exe");
    assert_eq!(
        mlx_manager::system::service::systemd::split(exec),
        [
            exe.display().to_string(),
            "serve".into(),
            "--config".into(),
            config.display().to_string()
        ]
    );
    let out = run(
        dir.path(),
        &env,
        &["--config", "mine.toml", "service", "uninstall"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!units.join("com.mlx-manager.manager.service").exists());
    let recorded = std::fs::read_to_string(&calls).expect("calls");
    assert!(
        recorded.contains("--user enable --now com.mlx-manager.manager.service"),
        "{recorded}"
    );
    assert!(
        recorded.contains("--user disable --now com.mlx-manager.manager.service"),
        "{recorded}"
    );
}

#[tokio::test]
async fn start_up_is_quiet_and_ends_with_a_line_a_person_can_act_on() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let port = crate::helpers::free_port();
    let mut child = tokio::process::Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("MLX_MANAGER_PATHS__DATA_DIR", dir.path().join("data"))
        .env("MLX_MANAGER_SERVER__PORT", port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let done = line.contains("mlx-manager is ready");
            seen.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let _ = child.start_kill();
    assert!(ready, "no ready line in {seen:#?}");
    let last = seen.last().expect("a line");
    assert!(last.contains(&format!("http://127.0.0.1:{port}")), "{last}");
    assert!(last.contains("/docs"), "{last}");
    assert!(last.contains("no account exists yet"), "{last}");
    let chatter: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("surrealdb") || l.contains("surrealkv"))
        .collect();
    assert!(
        chatter.is_empty(),
        "the store's start-up lines show: {chatter:#?}"
    );
    // Only the manager's own lines (a first start also lists its migrations).
    let foreign: Vec<&String> = seen.iter().filter(|l| !l.contains("mlx_manager")).collect();
    assert!(foreign.is_empty(), "a quiet start: {foreign:#?}");
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_raises_the_open_file_limit_to_the_hard_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = crate::helpers::free_port();
    let script = format!("ulimit -S -n 256 && exec '{BIN}' serve");
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("MLX_MANAGER_DATABASE__URL", "mem://")
        .env("MLX_MANAGER_PATHS__DATA_DIR", dir.path().join("data"))
        .env("MLX_MANAGER_SERVER__PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("serve");
    let pid = child.id().expect("pid");
    let http = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{port}/health");
    crate::helpers::poll_until(std::time::Duration::from_secs(30), "/health", || async {
        let resp = http.get(&health).send().await;
        resp.is_ok_and(|r| r.status().is_success()).then_some(())
    })
    .await;
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("the open-files line");
    let numbers: Vec<&str> = line.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers.len(), 2, "{line}");
    assert_eq!(numbers[0], numbers[1], "soft raised to hard: {line}");
    assert_ne!(numbers[0], "256", "{line}");
    let _ = child.start_kill();
    let _ = child.wait().await;
}
