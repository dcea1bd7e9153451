//! Model servers get a built environment, not the manager's: the real binary,
//! started with secrets in its environment, starts the fake model server, which
//! prints the names of the variables it was given.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FAKE_SERVER, free_port, serve_command, wait_ready};

#[tokio::test]
async fn a_model_server_never_sees_the_managers_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let secret = "a-jwt-secret-that-must-stay-in-the-manager!!";
    let fake = FAKE_SERVER.to_owned();
    let mut manager = serve_command(
        dir.path(),
        port,
        &[
            ("LANG", "C.UTF-8"),
            ("HF_TOKEN", "hf_secret_of_the_manager"),
            ("AWS_SECRET_ACCESS_KEY", "not-for-servers"),
            ("MLX_MANAGER_DATABASE__URL", "mem://"),
            ("MLX_MANAGER_PLUGINS__AUTH__JWT_SECRET", secret),
            ("MLX_MANAGER_SERVERS__PROGRAM", &fake),
            ("MLX_MANAGER_SERVERS__START_GRACE", "200ms"),
            ("MLX_MANAGER_SERVERS__ENV__HF_HUB_OFFLINE", "1"),
        ],
    )
    .spawn()
    .expect("the manager starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await;
    let token = crate::helpers::first_admin_token(
        &http,
        &base,
        "admin@example.com",
        "correct horse battery",
    )
    .await;
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
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let jwt_secret = "jwt-secret-for-the-log-scenario-0123456789";
    let hf_token = "hf_token_for_the_log_scenario";
    let password = "log-scenario-password-1";
    let mut manager = serve_command(
        dir.path(),
        port,
        &[
            ("RUST_LOG", "debug"),
            ("HF_TOKEN", hf_token),
            ("MLX_MANAGER_HUB__OFFLINE", "true"),
            ("MLX_MANAGER_DATABASE__URL", "mem://"),
            ("MLX_MANAGER_PLUGINS__AUTH__JWT_SECRET", jwt_secret),
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("the manager starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await;
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
        .json(&serde_json::json!({"path": "/api/audit/events/stream"}))
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
    // An API key: created, used as bearer and as X-API-Key, and a key with a
    // wrong secret tried.
    let key: Value = http
        .post(format!("{base}/api/auth/keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "log scenario"}))
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let key = key["key"].as_str().expect("key").to_owned();
    let (key_prefix, key_secret) = key.rsplit_once('_').expect("mlxm_<id>_<secret>");
    let wrong_secret = "Z".repeat(key_secret.len());
    for presented in [key.clone(), format!("{key_prefix}_{wrong_secret}")] {
        let _ = http
            .get(format!("{base}/api/auth/me"))
            .bearer_auth(&presented)
            .send()
            .await;
        let _ = http
            .get(format!("{base}/api/profiles"))
            .header("x-api-key", &presented)
            .send()
            .await;
    }
    let _ = http
        .put(format!("{base}/api/auth/me/password"))
        .bearer_auth(&token)
        .json(&json!({"current_password": "not-it-either", "new_password": "next-secret-pw-2"}))
        .send()
        .await;
    let log = crate::helpers::kill_and_read_log(&mut manager).await;
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
        key_secret,
        wrong_secret.as_str(),
    ] {
        assert!(
            !log.contains(secret),
            "the debug log holds a secret: {secret}"
        );
    }
}
