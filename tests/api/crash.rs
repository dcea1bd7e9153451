//! Crash safety: the real binary on a SurrealKV store is killed with SIGKILL in
//! the middle of a stream of writes; after a restart every write whose response
//! had arrived is there.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{free_port, serve_command, wait_ready};

const PASSWORD: &str = "correct horse battery";

fn manager(dir: &std::path::Path, port: u16) -> tokio::process::Child {
    serve_command(
        dir,
        port,
        &[
            ("MLX_MANAGER_PLUGINS__AUTH__REGISTRATION", "open"),
            ("MLX_MANAGER_PLUGINS__AUTH__THROTTLE__ENABLED", "false"),
        ],
    )
    .spawn()
    .expect("the manager starts")
}

async fn token(http: &reqwest::Client, base: &str, email: &str) -> String {
    let body: Value = http
        .post(format!("{base}/api/auth/login"))
        .form(&[("username", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn every_acknowledged_write_survives_a_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut child = manager(dir.path(), port);
    wait_ready(&http, &base).await;
    let admin = json!({"email": "admin@example.com", "password": PASSWORD});
    let resp = http
        .post(format!("{base}/api/auth/register"))
        .json(&admin)
        .send()
        .await;
    assert_eq!(resp.expect("register").status(), StatusCode::CREATED);
    let token = token(&http, &base, "admin@example.com").await;

    // Writers: registrations and profile changes, each acknowledged write noted.
    let acked_users = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_profiles = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let (users, profiles) = (acked_users.clone(), acked_profiles.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let email = format!("u{w}-{n}@example.com");
                let r = http
                    .post(format!("{base}/api/auth/register"))
                    .json(&json!({"email": email, "password": PASSWORD}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        users.lock().expect("lock").push(email)
                    }
                    _ => return,
                }
                let name = format!("p{w}-{n}");
                let r = http
                    .post(format!("{base}/api/profiles"))
                    .bearer_auth(&token)
                    .json(&json!({"name": name, "model_path": "m/x"}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        profiles.lock().expect("lock").push(name)
                    }
                    _ => return,
                }
            }
        }));
    }
    // Let some writes land, then kill the manager mid-stream.
    crate::helpers::eventually(Duration::from_secs(30), "40 acknowledged writes", || {
        acked_profiles.lock().expect("lock").len() >= 40
    })
    .await;
    let pid = child.id().expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL");
    let _ = child.wait().await;
    for w in writers {
        let _ = w.await;
    }
    let users = acked_users.lock().expect("lock").clone();
    let profiles = acked_profiles.lock().expect("lock").clone();

    let mut child = manager(dir.path(), port);
    wait_ready(&http, &base).await;
    let token = self::token(&http, &base, "admin@example.com").await;
    let listed: Value = http
        .get(format!("{base}/api/auth/users"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("json");
    let emails: Vec<&str> = listed
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    let lost: Vec<&String> = users
        .iter()
        .filter(|e| !emails.contains(&e.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged registrations lost: {lost:?}");
    let listed: Value = http
        .get(format!("{base}/api/profiles"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("profiles")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = listed
        .as_array()
        .expect("profiles")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let lost: Vec<&String> = profiles
        .iter()
        .filter(|n| !names.contains(&n.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged profiles lost: {lost:?}");
    assert!(users.len() >= 40 && profiles.len() >= 40);
    let _ = child.start_kill();
    let _ = child.wait().await;
}
