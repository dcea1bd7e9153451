//! Model servers get a built environment, not the manager's: the real binary,
//! started with secrets in its environment, starts the fake model server, which
//! prints the names of the variables it was given.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FAKE_SERVER, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_mlx-manager");

#[tokio::test]
async fn a_model_server_never_sees_the_managers_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let secret = "a-jwt-secret-that-must-stay-in-the-manager!!";
    let mut manager = tokio::process::Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("LANG", "C.UTF-8")
        .env("HF_TOKEN", "hf_secret_of_the_manager")
        .env("AWS_SECRET_ACCESS_KEY", "not-for-servers")
        .env("MLX_MANAGER_SERVER__PORT", port.to_string())
        .env("MLX_MANAGER_DATABASE__URL", "mem://")
        .env("MLX_MANAGER_PATHS__DATA_DIR", dir.path().join("data"))
        .env("MLX_MANAGER_PLUGINS__AUTH__JWT_SECRET", secret)
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__MEMORY_KIB", "1024")
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__ITERATIONS", "1")
        .env("MLX_MANAGER_SERVERS__PROGRAM", FAKE_SERVER)
        .env("MLX_MANAGER_SERVERS__START_GRACE", "200ms")
        .env("MLX_MANAGER_SERVERS__ENV__HF_HUB_OFFLINE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the manager starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = http.get(format!("{base}/ready")).send().await;
        if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the manager never got ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let creds = json!({"email": "admin@example.com", "password": "correct horse battery"});
    let resp = http
        .post(format!("{base}/api/auth/register"))
        .json(&creds)
        .send()
        .await
        .expect("register");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let token: Value = http
        .post(format!("{base}/api/auth/login"))
        .form(&[
            ("username", "admin@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let profile: Value = http
        .post(format!("{base}/api/profiles"))
        .bearer_auth(&token)
        .json(&json!({"name": "env", "model_path": "m/x", "port": free_port()}))
        .send()
        .await
        .expect("profile")
        .json()
        .await
        .expect("json");
    let id = profile["id"].as_str().expect("id");
    let started = http
        .post(format!("{base}/api/servers/{id}/start"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("start");
    assert_eq!(started.status(), StatusCode::OK);
    let log = std::fs::read_to_string(dir.path().join(format!("data/logs/server-{id}.log")))
        .expect("the server's log");
    let names: Vec<String> = log
        .lines()
        .find_map(|l| l.strip_prefix("ENV "))
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("the server printed its environment");
    let leaked: Vec<&String> = names
        .iter()
        .filter(|n| {
            n.starts_with("MLX_MANAGER_") || *n == "HF_TOKEN" || *n == "AWS_SECRET_ACCESS_KEY"
        })
        .collect();
    assert!(leaked.is_empty(), "the server got {leaked:?}");
    for expected in ["PATH", "HOME", "LANG", "PYTHONUNBUFFERED", "HF_HUB_OFFLINE"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    let _ = manager.start_kill();
    let _ = manager.wait().await;
}

#[tokio::test]
async fn no_secret_reaches_the_log_even_at_debug_level() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let jwt_secret = "jwt-secret-for-the-log-scenario-0123456789";
    let hf_token = "hf_token_for_the_log_scenario";
    let password = "log-scenario-password-1";
    let mut manager = tokio::process::Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("RUST_LOG", "debug")
        .env("HF_TOKEN", hf_token)
        .env("MLX_MANAGER_HUB__OFFLINE", "true")
        .env("MLX_MANAGER_SERVER__PORT", port.to_string())
        .env("MLX_MANAGER_DATABASE__URL", "mem://")
        .env("MLX_MANAGER_PATHS__DATA_DIR", dir.path().join("data"))
        .env("MLX_MANAGER_PLUGINS__AUTH__JWT_SECRET", jwt_secret)
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__MEMORY_KIB", "1024")
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__ITERATIONS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the manager starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let creds = json!({"email": "admin@example.com", "password": password});
    let _ = http
        .post(format!("{base}/api/auth/register"))
        .json(&creds)
        .send()
        .await;
    let _ = http
        .post(format!("{base}/api/auth/login"))
        .form(&[
            ("username", "admin@example.com"),
            ("password", "wrong-password-in-log"),
        ])
        .send()
        .await;
    let token: Value = http
        .post(format!("{base}/api/auth/login"))
        .form(&[("username", "admin@example.com"), ("password", password)])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let ticket: Value = http
        .post(format!("{base}/api/auth/stream-ticket"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("ticket")
        .json()
        .await
        .expect("json");
    let ticket = ticket["ticket"].as_str().expect("ticket").to_owned();
    let _ = http
        .get(format!("{base}/api/audit/events/stream?ticket={ticket}"))
        .send()
        .await;
    let _ = http
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(&token)
        .send()
        .await;
    let _ = http
        .put(format!("{base}/api/auth/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": "not-it-either", "new_password": "next-secret-pw-2"}))
        .send()
        .await;
    let _ = manager.start_kill();
    let _ = manager.wait().await;
    let mut log = String::new();
    if let Some(mut out) = manager.stdout.take() {
        let _ = out.read_to_string(&mut log).await;
    }
    if let Some(mut err) = manager.stderr.take() {
        let _ = err.read_to_string(&mut log).await;
    }
    assert!(
        log.contains("request"),
        "the log was captured: {} bytes",
        log.len()
    );
    for secret in [
        jwt_secret,
        hf_token,
        password,
        "wrong-password-in-log",
        "not-it-either",
        "next-secret-pw-2",
        token.as_str(),
        ticket.as_str(),
    ] {
        assert!(
            !log.contains(secret),
            "the debug log holds a secret: {secret}"
        );
    }
}
