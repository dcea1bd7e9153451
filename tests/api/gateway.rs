//! The OpenAI-compatible gateway (API.md "The OpenAI-compatible gateway"):
//! routing by `model`, OpenAI-shaped errors, keys' model lists, streams passed
//! through event by event, a hang-up reaching the model server, a server that
//! dies mid-stream. Real fake model servers on loopback.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Sse, TestApp, json, with_fake_servers};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

fn log_of(app: &TestApp, profile_id: &str) -> String {
    app.server_log(profile_id)
}

/// `POST /v1/<path>` with `body`, authenticated by `credential` (as a bearer).
async fn post(app: &TestApp, credential: &str, path: &str, body: Value) -> reqwest::Response {
    app.send_as(credential, Method::POST, &format!("/v1/{path}"), Some(body))
        .await
}

/// Assert an OpenAI-shaped error with `status` and `code`; returns the body.
async fn assert_openai_error(resp: reqwest::Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(resp.status(), status);
    let body = json(resp).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["type"].is_string(), "{body}");
    body
}

/// An app with a running fake server for profile `qwen` (model path
/// `org/qwen`); returns (app, admin token, profile).
async fn with_running_model() -> (TestApp, String, Value) {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    let profile = app.create_profile(&admin, "qwen", "org/qwen").await;
    let resp = app.server_action(&admin, &id(&profile), "start").await;
    assert_eq!(resp.status(), StatusCode::OK);
    (app, admin, profile)
}

#[tokio::test]
async fn a_chat_completion_reaches_the_named_model_without_the_callers_credentials() {
    let (app, admin, profile) = with_running_model().await;
    let resp = post(
        &app,
        &admin,
        "chat/completions",
        json!({"model": "qwen", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json(resp).await;
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["usage"]["total_tokens"], 12);
    assert_eq!(body["model"], "qwen", "the body went upstream unchanged");
    // By model path too (clients often send the repo id), and the other routes.
    let resp = post(
        &app,
        &admin,
        "completions",
        json!({"model": "org/qwen", "prompt": "x"}),
    )
    .await;
    assert_eq!(json(resp).await["object"], "text_completion");
    let resp = post(
        &app,
        &admin,
        "embeddings",
        json!({"model": "qwen", "input": "x"}),
    )
    .await;
    assert_eq!(json(resp).await["data"][0]["object"], "embedding");
    let log = log_of(&app, &id(&profile));
    assert!(log.contains("REQUEST /v1/chat/completions none"), "{log}");
    assert!(
        !log.contains("REQUEST /v1/chat/completions authorization"),
        "the caller's token never goes upstream: {log}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn models_lists_the_profiles_a_caller_may_use_and_errors_are_openai_shaped() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    app.create_profile(&admin, "a", "org/a").await;
    app.create_profile(&admin, "b", "org/b").await;
    let list = json(app.get_as(&admin, "/v1/models").await).await;
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["a", "b"], "running or not");
    assert_eq!(list["data"][0]["owned_by"], "mlx-manager");

    // A key limited to `a` sees `a` only, and is refused `b`.
    let resp = app
        .send_as(
            &admin,
            Method::POST,
            "/api/auth/keys",
            Some(json!({"name": "only-a", "models": ["a"]})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let key = json(resp).await["key"].as_str().expect("key").to_owned();
    let list = json(app.get_as(&key, "/v1/models").await).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["data"][0]["id"], "a");
    let refused = post(&app, &key, "chat/completions", json!({"model": "b"})).await;
    let body = assert_openai_error(refused, StatusCode::FORBIDDEN, "model_not_allowed").await;
    assert_eq!(body["error"]["param"], "model");

    // No credentials: 401 with WWW-Authenticate, in OpenAI's shape.
    let resp = app.get("/v1/models").await;
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_openai_error(resp, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let resp = post(
        &app,
        "mlxm_0000000000000000_wrong",
        "chat/completions",
        json!({"model": "a"}),
    )
    .await;
    assert_openai_error(resp, StatusCode::UNAUTHORIZED, "invalid_api_key").await;

    // Unknown, ambiguous and stopped models; a body without a model.
    let resp = post(&app, &admin, "chat/completions", json!({"model": "nope"})).await;
    assert_openai_error(resp, StatusCode::NOT_FOUND, "model_not_found").await;
    app.create_profile(&admin, "a2", "org/a").await;
    let resp = post(&app, &admin, "chat/completions", json!({"model": "org/a"})).await;
    let body = assert_openai_error(resp, StatusCode::NOT_FOUND, "model_not_found").await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("a, a2"),
        "the message names them: {message}"
    );
    let resp = post(&app, &admin, "chat/completions", json!({"model": "b"})).await;
    assert_openai_error(resp, StatusCode::SERVICE_UNAVAILABLE, "model_unavailable").await;
    let resp = post(&app, &admin, "chat/completions", json!({"messages": []})).await;
    assert_openai_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_viewer_may_not_use_the_gateway() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    let (viewer_id, _) = app.approved_user(&admin, "viewer@example.com").await;
    let resp = app
        .send_as(
            &admin,
            Method::PUT,
            &format!("/api/auth/users/{viewer_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let viewer = app
        .token("viewer@example.com", crate::helpers::PASSWORD)
        .await;
    let resp = app.get_as(&viewer, "/v1/models").await;
    assert_openai_error(resp, StatusCode::FORBIDDEN, "forbidden").await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_stream_arrives_event_by_event_and_a_hang_up_reaches_the_model_server() {
    let (app, admin, profile) = with_running_model().await;
    let resp = post(
        &app,
        &admin,
        "chat/completions",
        json!({"model": "qwen", "stream": true, "fake": {"chunks": 3}}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"))
    );
    let text = resp.text().await.expect("body");
    assert_eq!(text.matches("chat.completion.chunk").count(), 4, "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");

    // A long answer (1000 chunks, 50 ms apart): its first event comes at once,
    // so nothing is buffered; hanging up reaches the server.
    let resp = post(
        &app,
        &admin,
        "chat/completions",
        json!({"model": "qwen", "stream": true, "fake": {"chunks": 1000, "delay_ms": 50}}),
    )
    .await;
    let mut sse = Sse::from_response(resp);
    let first = sse
        .next(Duration::from_secs(10))
        .await
        .expect("a first event");
    assert_eq!(first["choices"][0]["delta"]["content"], "tok0 ");
    drop(sse);
    let profile_id = id(&profile);
    crate::helpers::eventually(Duration::from_secs(10), "the hang-up upstream", || {
        log_of(&app, &profile_id).contains("DISCONNECT /v1/chat/completions")
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_that_dies_mid_stream_ends_the_stream_with_an_error_event() {
    let (app, admin, _) = with_running_model().await;
    let resp = post(
        &app,
        &admin,
        "chat/completions",
        json!({"model": "qwen", "stream": true, "fake": {"chunks": 10, "die_after": 2}}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = tokio::time::timeout(Duration::from_secs(20), resp.text())
        .await
        .expect("the stream ends, it does not hang")
        .expect("body");
    assert_eq!(text.matches("chat.completion.chunk").count(), 2, "{text}");
    let last = text
        .trim_end()
        .rsplit("\n\n")
        .next()
        .and_then(|e| e.strip_prefix("data: "))
        .expect("a last event");
    let error: Value = serde_json::from_str(last).expect("JSON");
    assert_eq!(error["error"]["code"], "model_unavailable", "{text}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_profile_must_listen_on_loopback_unless_public_binds_are_allowed() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    let body = json!({"name": "open", "model_path": "org/m", "host": "0.0.0.0"});
    let resp = app
        .send_as(&admin, Method::POST, "/api/profiles", Some(body.clone()))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = json(resp).await;
    assert_eq!(refused["code"], "invalid_profile");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("allow_public_bind")),
        "{refused}"
    );
    let p = app.create_profile(&admin, "local", "org/m").await;
    let resp = app
        .send_as(
            &admin,
            Method::PUT,
            &format!("/api/profiles/{}", id(&p)),
            Some(json!({"host": "192.168.1.2"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.shutdown().await;

    let open =
        TestApp::spawn_with(|f| with_fake_servers(f).merge(("servers.allow_public_bind", true)))
            .await;
    let admin = open.admin_token().await;
    let resp = open
        .send_as(&admin, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    open.shutdown().await;
}

#[tokio::test]
async fn a_stream_ends_when_its_key_is_revoked() {
    let (app, admin, profile) = with_running_model().await;
    let resp = app
        .send_as(
            &admin,
            Method::POST,
            "/api/auth/keys",
            Some(json!({"name": "streamer"})),
        )
        .await;
    let created = json(resp).await;
    let key = created["key"].as_str().expect("key").to_owned();
    let resp = post(
        &app,
        &key,
        "chat/completions",
        json!({"model": "qwen", "stream": true, "fake": {"chunks": 1000, "delay_ms": 50}}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut sse = Sse::from_response(resp);
    assert!(
        sse.next(Duration::from_secs(10)).await.is_some(),
        "it streams"
    );
    let resp = app
        .send_as(
            &admin,
            Method::DELETE,
            &format!("/api/auth/keys/{}", id(&created)),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // Within a few revalidation periods the answer stops (1000 chunks would
    // take 50 s), and the hang-up reaches the model server.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match sse.next_or_end(deadline).await {
            Some(true) => break,
            Some(false) => {}
            None => panic!("the stream outlived the revoked key"),
        }
    }
    let profile_id = id(&profile);
    crate::helpers::eventually(Duration::from_secs(10), "the hang-up upstream", || {
        log_of(&app, &profile_id).contains("DISCONNECT /v1/chat/completions")
    })
    .await;
    app.shutdown().await;
}
