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
    // The framework's refusals on /v1 are OpenAI-shaped too.
    let resp = post(&app, &admin, "responses", json!({"model": "a"})).await;
    assert_openai_error(resp, StatusCode::NOT_FOUND, "invalid_request").await;
    let resp = app.get_as(&admin, "/v1/chat/completions").await;
    assert_eq!(
        resp.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    assert_openai_error(resp, StatusCode::METHOD_NOT_ALLOWED, "invalid_request").await;
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

/// `GET /api/servers`' entry for profile `profile_id`, if it runs.
async fn server_entry(app: &TestApp, token: &str, profile_id: &str) -> Option<Value> {
    let list = json(app.get_as(token, "/api/servers").await).await;
    list.as_array()?
        .iter()
        .find(|s| s["profile_id"] == profile_id)
        .cloned()
}

/// The audit log's `server.start` / `server.stop` events of profile `id`,
/// once `n` of them are there.
async fn server_events(app: &TestApp, token: &str, action: &str, id: &str, n: usize) -> Vec<Value> {
    crate::helpers::poll_until(Duration::from_secs(10), action, || async {
        let page = json(
            app.get_as(token, &format!("/api/audit/events?action={action}"))
                .await,
        )
        .await;
        let events: Vec<Value> = page["events"]
            .as_array()?
            .iter()
            .filter(|e| e["target"]["id"] == id)
            .cloned()
            .collect();
        (events.len() >= n).then_some(events)
    })
    .await
}

/// `n` concurrent chat requests for `model` as `token`; their statuses.
async fn concurrently(app: &TestApp, token: &str, model: &str, n: usize) -> Vec<StatusCode> {
    let mut requests = Vec::new();
    for i in 0..n {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/v1/chat/completions"),
            token.to_owned(),
        );
        let body =
            json!({"model": model, "messages": [{"role": "user", "content": format!("hi {i}")}]});
        requests.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request")
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for r in requests {
        statuses.push(r.await.expect("task"));
    }
    statuses
}

#[tokio::test]
async fn ten_concurrent_requests_share_one_on_demand_start_and_its_failure() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    // `slow-start`: the server takes a while to become healthy, so the
    // requests arrive while it starts.
    let profile = app
        .create_profile_with(&admin, "lazy", "org/slow-start", json!({"on_demand": true}))
        .await;
    let profile_id = id(&profile);
    assert!(server_entry(&app, &admin, &profile_id).await.is_none());
    let statuses = concurrently(&app, &admin, "lazy", 10).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let log = log_of(&app, &profile_id);
    assert_eq!(log.matches("REQUEST /v1/chat/completions").count(), 10);
    // One start, recorded as the caller's.
    let starts = server_events(&app, &admin, "server.start", &profile_id, 1).await;
    assert_eq!(starts.len(), 1, "{starts:?}");
    assert_eq!(starts[0]["actor"]["email"], crate::helpers::ADMIN);
    assert!(server_entry(&app, &admin, &profile_id).await.is_some());

    // A server that cannot start: every waiting request hears of the one
    // failed attempt instead of trying again.
    let broken = app
        .create_profile_with(
            &admin,
            "broken",
            "org/fail-at-start",
            json!({"on_demand": true}),
        )
        .await;
    let statuses = concurrently(&app, &admin, "broken", 5).await;
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    let failed = server_events(&app, &admin, "server.start", &id(&broken), 1).await;
    assert_eq!(failed.len(), 1, "one attempt: {failed:?}");
    assert_eq!(failed[0]["outcome"], "failed");
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_started_on_demand_stops_when_idle_but_never_while_a_stream_runs() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    let profile = app
        .create_profile_with(
            &admin,
            "lazy",
            "org/lazy",
            json!({"on_demand": true, "idle_timeout": 1}),
        )
        .await;
    let profile_id = id(&profile);
    // A stream of 6 s, six times the idle timeout.
    let resp = post(
        &app,
        &admin,
        "chat/completions",
        json!({"model": "lazy", "stream": true, "fake": {"chunks": 60, "delay_ms": 100}}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    let mut sse = Sse::from_response(resp);
    let mut events = 0;
    while events < 30 || started.elapsed() < Duration::from_secs(3) {
        assert!(
            sse.next(Duration::from_secs(10)).await.is_some(),
            "it streams"
        );
        events += 1;
    }
    // Three idle timeouts into the stream: the server still runs.
    assert!(
        server_entry(&app, &admin, &profile_id).await.is_some(),
        "stopped while a stream ran"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sse.next_or_end(deadline).await == Some(false) {}
    crate::helpers::poll_until(Duration::from_secs(15), "the idle stop", || async {
        server_entry(&app, &admin, &profile_id)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let stops = server_events(&app, &admin, "server.stop", &profile_id, 1).await;
    assert_eq!(stops[0]["actor"]["via"], "system", "{stops:?}");
    // The next request starts it again.
    let resp = post(
        &app,
        &admin,
        "embeddings",
        json!({"model": "lazy", "input": "x"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    server_events(&app, &admin, "server.start", &profile_id, 2).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_is_429_with_retry_after_and_the_queued_request_is_served_when_the_slot_frees()
{
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    let profile = app
        .create_profile_with(
            &admin,
            "one",
            "org/one",
            json!({"max_concurrency": 1, "queue_size": 1}),
        )
        .await;
    let profile_id = id(&profile);
    let resp = app.server_action(&admin, &profile_id, "start").await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The one slot is taken by a long stream.
    let resp = post(
        &app,
        &admin,
        "chat/completions",
        json!({"model": "one", "stream": true, "fake": {"chunks": 1000, "delay_ms": 20}}),
    )
    .await;
    let mut holder = Sse::from_response(resp);
    assert!(holder.next(Duration::from_secs(10)).await.is_some());
    // The second waits in the queue...
    let (client, url, token) = (
        app.client.clone(),
        app.url("/v1/completions"),
        admin.clone(),
    );
    let queued = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(token)
            .json(&json!({"model": "one", "prompt": "x"}))
            .send()
            .await
            .expect("request")
            .status()
    });
    crate::helpers::poll_until(
        Duration::from_secs(10),
        "the second request queued",
        || async {
            let entry = server_entry(&app, &admin, &profile_id).await?;
            (entry["gateway_queued"] == 1 && entry["gateway_requests"] == 2).then_some(())
        },
    )
    .await;
    // ...and the third finds the queue full.
    let resp = post(
        &app,
        &admin,
        "completions",
        json!({"model": "one", "prompt": "x"}),
    )
    .await;
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(retry.is_some_and(|s| s >= 1), "Retry-After in seconds");
    assert_openai_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // When the stream ends, the queued request is served.
    drop(holder);
    assert_eq!(queued.await.expect("task"), StatusCode::OK);
    app.shutdown().await;
}

#[tokio::test]
async fn a_keys_rpm_and_max_concurrent_are_enforced_with_429() {
    let (app, admin, _) = with_running_model().await;
    let body = json!({"model": "qwen", "prompt": "x"});
    let slow = app
        .create_key(&admin, json!({"name": "slow", "rpm": 2}))
        .await;
    for _ in 0..2 {
        let resp = post(&app, &slow, "completions", body.clone()).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let resp = post(&app, &slow, "completions", body.clone()).await;
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    let refused = assert_openai_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 requests a minute")),
        "{refused}"
    );
    // Another key of the same user is not affected.
    let single = app
        .create_key(&admin, json!({"name": "single", "max_concurrent": 1}))
        .await;
    let resp = post(
        &app,
        &single,
        "chat/completions",
        json!({"model": "qwen", "stream": true, "fake": {"chunks": 1000, "delay_ms": 20}}),
    )
    .await;
    let mut open = Sse::from_response(resp);
    assert!(open.next(Duration::from_secs(10)).await.is_some());
    let resp = post(&app, &single, "completions", body.clone()).await;
    assert_openai_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    drop(open);
    crate::helpers::poll_until(Duration::from_secs(10), "the slot freed", || async {
        let resp = post(&app, &single, "completions", body.clone()).await;
        (resp.status() == StatusCode::OK).then_some(())
    })
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn usage_is_recorded_per_request_and_summed_for_the_caller_or_an_admin() {
    let (app, admin, _) = with_running_model().await;
    let (_, user) = app.approved_user(&admin, "user@example.com").await;
    let key = app.create_key(&user, json!({"name": "script"})).await;
    let key_prefix = key.rsplit_once('_').expect("prefix").0.to_owned();
    post(&app, &admin, "chat/completions", json!({"model": "qwen"})).await;
    let streamed = post(
        &app,
        &key,
        "chat/completions",
        json!({"model": "qwen", "stream": true, "fake": {"chunks": 3}}),
    )
    .await;
    assert!(
        streamed
            .text()
            .await
            .expect("stream")
            .ends_with("[DONE]\n\n")
    );
    let resp = post(
        &app,
        &key,
        "embeddings",
        json!({"model": "qwen", "input": "x"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post(&app, &key, "chat/completions", json!({"model": "nope"})).await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "no profile: not recorded"
    );

    // Written about once a second.
    let by_user = crate::helpers::poll_until(Duration::from_secs(10), "usage written", || async {
        let rows = json(app.get_as(&admin, "/api/usage?group_by=user").await).await;
        let total: u64 = rows
            .as_array()?
            .iter()
            .filter_map(|r| r["requests"].as_u64())
            .sum();
        (total == 3).then_some(rows)
    })
    .await;
    // The 404 was not recorded: a second later the total is still 3.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = json(app.get_as(&admin, "/api/usage?group_by=user").await).await;
    let total: u64 = again
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["requests"].as_u64())
        .sum();
    assert_eq!(total, 3, "{again}");
    let mine = by_user
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["group"] == "user@example.com"))
        .expect("the user's row")
        .clone();
    assert_eq!(mine["requests"], 2);
    assert_eq!(mine["errors"], 0);
    assert_eq!(
        mine["prompt_tokens"], 10,
        "5 from the stream's last chunk, 5 from embeddings"
    );
    assert_eq!(mine["completion_tokens"], 7);

    // A user sees their own usage only, here by key and by profile.
    let rows = json(app.get_as(&user, "/api/usage?group_by=key").await).await;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["group"], key_prefix.as_str());
    assert_eq!(rows[0]["requests"], 2);
    let rows = json(app.get_as(&user, "/api/usage?group_by=profile").await).await;
    assert_eq!(rows[0]["group"], "qwen");
    let rows = json(app.get_as(&admin, "/api/usage?group_by=key").await).await;
    assert!(
        rows.as_array()
            .is_some_and(|r| r.iter().any(|g| g["group"] == "login token")),
        "{rows}"
    );

    // A window in the future is empty; a reversed one is refused.
    let resp = app
        .get_as(&admin, "/api/usage?since=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(json(resp).await, json!([]));
    let resp = app
        .get_as(
            &admin,
            "/api/usage?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        )
        .await;
    crate::helpers::assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_parameter",
        None,
    )
    .await;
    app.shutdown().await;
}

/// A `multipart/form-data` body with a `model` field and a `file` of `size` bytes.
fn upload(model: &str, size: usize) -> (String, Vec<u8>) {
    let boundary = "mlx-manager-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n{model}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\
         Content-Type: audio/wav\r\n\r\n"
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(7u8, size));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn an_upload_reaches_a_whisper_profile_unchanged_and_routes_check_the_profile_type() {
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f).merge(("gateway.max_upload_bytes", 2 * 1024 * 1024))
    })
    .await;
    let admin = app.admin_token().await;
    let whisper = app
        .create_profile_with(
            &admin,
            "ears",
            "org/whisper",
            json!({"model_type": "whisper"}),
        )
        .await;
    let resp = app.server_action(&admin, &id(&whisper), "start").await;
    assert_eq!(resp.status(), StatusCode::OK);
    // 1.5 MiB: beyond [server] body_limit_bytes (1 MiB), within the gateway's.
    let (content_type, body) = upload("ears", 1536 * 1024);
    let sent = body.len();
    let resp = app
        .client
        .post(app.url("/v1/audio/transcriptions"))
        .bearer_auth(&admin)
        .header("content-type", &content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status(), StatusCode::OK);
    let answer = json(resp).await;
    assert_eq!(answer["text"], "fake transcript");
    assert_eq!(
        answer["received"]["bytes"], sent,
        "the body arrived unchanged"
    );
    assert_eq!(answer["received"]["content_type"], content_type.as_str());

    // Larger than [gateway] max_upload_bytes: 413, before anything is forwarded.
    let (content_type, body) = upload("ears", 3 * 1024 * 1024);
    let resp = app
        .client
        .post(app.url("/v1/audio/transcriptions"))
        .bearer_auth(&admin)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_openai_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "request_too_large").await;
    // Without authentication the body is not read: 401 whatever its size.
    let (content_type, body) = upload("ears", 3 * 1024 * 1024);
    let resp = app
        .client
        .post(app.url("/v1/audio/transcriptions"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_openai_error(resp, StatusCode::UNAUTHORIZED, "invalid_api_key").await;

    // A chat request for a whisper profile, and an upload without `model`.
    let resp = post(&app, &admin, "chat/completions", json!({"model": "ears"})).await;
    let refused = assert_openai_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`whisper` profile")),
        "{refused}"
    );
    let resp = app
        .client
        .post(app.url("/v1/audio/transcriptions"))
        .bearer_auth(&admin)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc\r\n--x--\r\n")
        .send()
        .await
        .expect("upload");
    assert_openai_error(resp, StatusCode::BAD_REQUEST, "invalid_request").await;
    let log = log_of(&app, &id(&whisper));
    assert_eq!(
        log.matches("REQUEST /v1/audio/transcriptions none").count(),
        1,
        "{log}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_gateway_is_in_the_document_with_its_tag_and_the_key_scheme() {
    let app = TestApp::spawn().await;
    let doc = json(app.get("/openapi.json").await).await;
    for (path, method) in [
        ("/v1/models", "get"),
        ("/v1/chat/completions", "post"),
        ("/v1/completions", "post"),
        ("/v1/embeddings", "post"),
        ("/v1/audio/transcriptions", "post"),
        ("/v1/images/generations", "post"),
        ("/v1/images/edits", "post"),
        ("/api/usage", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        let schemes: Vec<String> = op["security"]
            .as_array()
            .expect("security")
            .iter()
            .filter_map(|s| s.as_object()?.keys().next().cloned())
            .collect();
        assert!(schemes.iter().any(|s| s == "ApiKey"), "{path}: {schemes:?}");
        assert!(
            schemes.iter().any(|s| s == "BearerJWT"),
            "{path}: {schemes:?}"
        );
        if path.starts_with("/v1/") {
            assert_eq!(op["tags"][0], "Gateway", "{path}");
            assert_eq!(op["x-action"], "inference.use", "{path}");
            assert_eq!(
                op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/GatewayError",
                "{path}"
            );
        }
    }
    app.shutdown().await;
}
