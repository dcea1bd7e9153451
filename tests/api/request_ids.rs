//! Request ids (API.md "Metrics"): every answer carries `X-Request-Id`, the
//! client's when well formed, else a new one, and the log lines of a request
//! carry it.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, free_port, serve_command, wait_ready};

fn id_of(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("X-Request-Id")
        .to_owned()
}

#[tokio::test]
async fn every_answer_carries_the_clients_id_or_a_new_one() {
    let app = TestApp::spawn().await;
    let send = |id: Option<&str>, path: &str| {
        let mut req = app.client.get(app.url(path));
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    // Echoed when it is 1 to 64 characters of [A-Za-z0-9._-], on success and on
    // errors alike.
    for path in ["/health", "/api/auth/me", "/api/nothing-here"] {
        let resp = send(Some("client.id_42-A"), path).await.expect("request");
        assert_eq!(id_of(&resp), "client.id_42-A", "{path}");
    }
    let longest = "x".repeat(64);
    assert_eq!(
        id_of(&send(Some(&longest), "/health").await.expect("r")),
        longest
    );
    // Otherwise replaced by a new one, different for every request.
    let mut seen = std::collections::HashSet::new();
    for bad in [
        None,
        Some(""),
        Some("has space"),
        Some("ünïcode"),
        Some(&"y".repeat(65)[..]),
    ] {
        let resp = send(bad, "/health").await.expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        let id = id_of(&resp);
        assert!(Some(id.as_str()) != bad, "{bad:?} was not replaced");
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(seen.insert(id), "ids are new each time");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_log_lines_of_a_request_carry_its_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut manager = serve_command(
        dir.path(),
        port,
        &[
            ("RUST_LOG", "info"),
            ("MLX_MANAGER_DATABASE__URL", "mem://"),
            ("MLX_MANAGER_SERVER__LOG_FORMAT", "json"),
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("the manager starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await;
    // A request refused by its key's scope logs a line inside the request
    // ("action refused by the key's scope") besides the request's own line.
    let token =
        crate::helpers::first_admin_token(&http, &base, "admin@example.com", "log-scenario-pw-1")
            .await;
    let key: serde_json::Value = http
        .post(format!("{base}/api/auth/keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "narrow", "actions": ["profiles.read"]}))
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let key = key["key"].as_str().expect("key").to_owned();
    let resp = http
        .get(format!("{base}/api/system/memory"))
        .bearer_auth(&key)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("refused request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let log = crate::helpers::kill_and_read_log(&mut manager).await;
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|l: &serde_json::Value| l["span"]["request_id"] == "trace-me-42")
        .collect();
    let messages: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"action refused by the key's scope") && messages.contains(&"request"),
        "the request's lines: {messages:?}\n{log}"
    );
    let request_line = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request")
        .expect("the request line");
    assert_eq!(request_line["span"]["path"], "/api/system/memory");
    assert_eq!(request_line["fields"]["status"], 403);
    assert!(!log.contains(&key), "the key never reaches the log");
}
