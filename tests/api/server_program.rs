//! The model-server command follows the installed program: the fake model
//! server, told to call itself a given mlx-openai-server release, runs with the
//! default template, and the tests read the argument list it received.
//! (`real_servers.rs` checks the same commands against the real releases.)

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{FAKE_SERVER, TestApp, free_port, json};

/// An app whose model-server program is the fake server posing as
/// mlx-openai-server `version`, with the default argument template.
async fn app_posing_as(version: &str) -> TestApp {
    let version = version.to_owned();
    TestApp::spawn_with(move |f| {
        f.merge(("servers.program", FAKE_SERVER))
            .merge(("servers.env.FAKE_MODEL_SERVER_VERSION", version))
            .merge(("servers.start_grace", "200ms"))
            .merge(("servers.start_timeout", "20s"))
            .merge(("servers.stop_timeout", "2s"))
            .merge(("servers.health_timeout", "1s"))
    })
    .await
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app
        .send_as(token, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    json(resp).await
}

/// The argument list the started server printed in its log.
async fn argv_of(app: &TestApp, id: &str) -> Vec<String> {
    let path = app
        .data_dir
        .path()
        .join(format!("data/logs/server-{id}.log"));
    let mut argv = None;
    crate::helpers::eventually(Duration::from_secs(10), "the server's ARGV line", || {
        argv = std::fs::read_to_string(&path).ok().and_then(|log| {
            log.lines()
                .find_map(|l| l.strip_prefix("ARGV "))
                .and_then(|a| serde_json::from_str(a).ok())
        });
        argv.is_some()
    })
    .await;
    argv.unwrap_or_default()
}

fn value_after<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    let i = argv.iter().position(|a| a == flag)?;
    argv.get(i + 1).map(String::as_str)
}

fn texts(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_1_8_server_gets_its_batching_options_and_its_name_but_not_max_concurrency() {
    let app = app_posing_as("1.8.1").await;
    let token = app.admin_token().await;
    let body = json!({"name": "embedder", "model_path": "m/e5", "port": free_port(),
        "model_type": "embeddings", "max_concurrency": 3, "decode_concurrency": 16,
        "prompt_concurrency": 4});
    let p = create(&app, &token, body).await;
    let id = p["id"].as_str().expect("id");
    let warnings = texts(&p["warnings"]);
    assert!(
        warnings.contains(
            "max_concurrency is set but not passed to the server: mlx-openai-server 1.8.1 has no --max-concurrency (removed in 1.7)"
        ),
        "{warnings}"
    );
    let started = app.server_action(&token, id, "start").await;
    assert_eq!(started.status(), StatusCode::OK);
    let started = json(started).await;
    assert_eq!(texts(&started["warnings"]), warnings);
    let argv = argv_of(&app, id).await;
    assert_eq!(argv.first().map(String::as_str), Some("launch"));
    assert_eq!(value_after(&argv, "--served-model-name"), Some("embedder"));
    assert_eq!(value_after(&argv, "--model-type"), Some("embeddings"));
    assert_eq!(value_after(&argv, "--decode-concurrency"), Some("16"));
    assert_eq!(value_after(&argv, "--prompt-concurrency"), Some("4"));
    assert!(!argv.iter().any(|a| a == "--max-concurrency"), "{argv:?}");
    assert!(!argv.iter().any(|a| a == "--message-converter"), "{argv:?}");
    let info = json(app.get_as(&token, "/api/system/info").await).await;
    assert_eq!(info["server_version"], "mlx-openai-server 1.8.1");
    app.shutdown().await;
}

#[tokio::test]
async fn a_1_6_server_gets_max_concurrency_and_the_profile_says_what_it_cannot_take() {
    let app = app_posing_as("1.6.3").await;
    let token = app.admin_token().await;
    let body = json!({"name": "chat", "model_path": "m/qwen", "port": free_port(),
        "max_concurrency": 2, "decode_concurrency": 16, "message_converter": "qwen3_coder"});
    let p = create(&app, &token, body).await;
    let id = p["id"].as_str().expect("id");
    let shown = json(app.get_as(&token, &format!("/api/profiles/{id}")).await).await;
    let warnings = texts(&shown["warnings"]);
    assert!(
        warnings.contains(
            "decode_concurrency is set but not passed to the server: mlx-openai-server 1.6.3 has no --decode-concurrency (added in 1.8)"
        ),
        "{warnings}"
    );
    assert!(
        warnings.contains("reports its model as \"m/qwen\""),
        "{warnings}"
    );
    let listed = json(app.get_as(&token, "/api/profiles").await).await;
    assert_eq!(texts(&listed[0]["warnings"]), warnings);
    assert_eq!(
        app.server_action(&token, id, "start").await.status(),
        StatusCode::OK
    );
    let argv = argv_of(&app, id).await;
    assert_eq!(value_after(&argv, "--max-concurrency"), Some("2"));
    assert_eq!(
        value_after(&argv, "--message-converter"),
        Some("qwen3_coder")
    );
    assert!(!argv.iter().any(|a| a == "--served-model-name"), "{argv:?}");
    assert!(
        !argv.iter().any(|a| a == "--decode-concurrency"),
        "{argv:?}"
    );
    let info = json(app.get_as(&token, "/api/system/info").await).await;
    assert_eq!(info["server_version"], "mlx-openai-server 1.6.3");
    app.shutdown().await;
}

#[tokio::test]
async fn a_profile_whose_settings_all_reach_the_server_has_no_warnings() {
    let app = app_posing_as("1.8.1").await;
    let token = app.admin_token().await;
    let body = json!({"name": "plain", "model_path": "m/x", "port": free_port(),
        "model_type": "whisper", "trust_remote_code": true, "log_level": "DEBUG"});
    let p = create(&app, &token, body).await;
    assert_eq!(p["warnings"], json!([]));
    assert_eq!(p["model_type"], "whisper");
    app.shutdown().await;
}

#[tokio::test]
async fn profiles_take_every_model_type_of_the_server_and_refuse_others() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    for (i, ty) in [
        "lm",
        "multimodal",
        "embeddings",
        "whisper",
        "image-generation",
        "image-edit",
    ]
    .iter()
    .enumerate()
    {
        let body = json!({"name": format!("t{i}"), "model_path": "m/x", "model_type": ty});
        let p = create(&app, &token, body).await;
        assert_eq!(p["model_type"], *ty);
        let id = p["id"].as_str().expect("id");
        let again = json(app.get_as(&token, &format!("/api/profiles/{id}")).await).await;
        assert_eq!(again["model_type"], *ty);
    }
    let resp = app
        .send_as(
            &token,
            Method::POST,
            "/api/profiles",
            Some(json!({"name": "bad", "model_path": "m/x", "model_type": "diffusion"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(resp).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("model_type"),
        "{body}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn batching_options_are_bounded_and_can_be_cleared() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    for (field, value) in [("decode_concurrency", 0), ("prompt_concurrency", 1025)] {
        let body = json!({"name": "b", "model_path": "m/x", field: value});
        let resp = app
            .send_as(&token, Method::POST, "/api/profiles", Some(body))
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = json(resp).await;
        assert_eq!(
            body["detail"],
            format!("{field} must be between 1 and 1024"),
            "{body}"
        );
    }
    let p = create(
        &app,
        &token,
        json!({"name": "b", "model_path": "m/x", "decode_concurrency": 8, "prompt_concurrency": 2}),
    )
    .await;
    assert_eq!(
        (
            p["decode_concurrency"].as_i64(),
            p["prompt_concurrency"].as_i64()
        ),
        (Some(8), Some(2))
    );
    let id = p["id"].as_str().expect("id");
    let resp = app
        .send_as(
            &token,
            Method::PUT,
            &format!("/api/profiles/{id}"),
            Some(json!({"decode_concurrency": null})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let p = json(resp).await;
    assert!(
        p.get("decode_concurrency").is_none_or(Value::is_null),
        "{p}"
    );
    assert_eq!(p["prompt_concurrency"], 2);
    app.shutdown().await;
}
