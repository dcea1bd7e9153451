//! API keys and sessions (API.md "API keys and sessions"): keys for scripts and
//! OpenAI clients, narrowed by actions, bounded in time, revoked at the next
//! request; login sessions listed and ended; streams that end with their
//! credential.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, json, with_fake_servers};

/// `POST /api/auth/keys` with `body` as `token`.
async fn create_key(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.send_as(token, Method::POST, "/api/auth/keys", Some(body))
        .await
}

/// A new key named `name` with `extra` fields; panics unless 201. Returns the
/// answer (with `key`).
async fn new_key(app: &TestApp, token: &str, name: &str, extra: Value) -> Value {
    let mut body = json!({ "name": name });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let resp = create_key(app, token, body).await;
    assert_eq!(resp.status(), StatusCode::CREATED, "create key {name}");
    json(resp).await
}

/// `GET path` with `X-API-Key: key`.
async fn get_with_header(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

/// `GET path?ticket=ticket`.
async fn with_ticket(app: &TestApp, path: &str, ticket: &str) -> reqwest::Response {
    app.get(&format!("{path}?ticket={ticket}")).await
}

/// `DELETE /api/auth/keys/{id}` as `token`.
async fn revoke_key(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.send_as(token, Method::DELETE, &format!("/api/auth/keys/{id}"), None)
        .await
}

/// `PUT /api/auth/users/{id}` with `body` as `admin`.
async fn update_user(app: &TestApp, admin: &str, id: &str, body: Value) -> reqwest::Response {
    app.send_as(
        admin,
        Method::PUT,
        &format!("/api/auth/users/{id}"),
        Some(body),
    )
    .await
}

/// `DELETE /api/auth/users/{id}` as `admin`.
async fn delete_user(app: &TestApp, admin: &str, id: &str) -> reqwest::Response {
    app.send_as(
        admin,
        Method::DELETE,
        &format!("/api/auth/users/{id}"),
        None,
    )
    .await
}

fn secret(created: &Value) -> String {
    created["key"].as_str().expect("key").to_owned()
}

#[tokio::test]
async fn a_key_is_shown_once_stored_as_a_digest_and_works_as_bearer_and_as_x_api_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = new_key(&app, &admin, "laptop script", json!({})).await;
    let key = secret(&created);
    let id = created["id"].as_str().expect("id");
    assert_eq!(created["prefix"], format!("mlxm_{id}"));
    assert!(key.starts_with(&format!("mlxm_{id}_")));
    assert!(key.len() >= "mlxm_".len() + id.len() + 1 + 32, "{key}");
    assert_eq!(created["actions"], Value::Null, "unrestricted");
    assert_eq!(created["models"], Value::Null, "unrestricted");
    assert!(created["expires_at"].is_string(), "bounded by 365 days");

    let me = app.get_as(&key, "/api/auth/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(json(me).await["email"], "admin@example.com");
    let resp = get_with_header(&app, &key, "/api/profiles").await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The list shows the key without its secret.
    let list = json(app.get_as(&admin, "/api/auth/keys").await).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], created["id"]);
    assert!(list[0].get("key").is_none());
    assert!(!list.to_string().contains(&key[key.len() - 20..]));

    // Its last use is recorded (to within a minute), off the request.
    let list = crate::helpers::poll_until(Duration::from_secs(10), "last_used_at", || async {
        let list = json(app.get_as(&admin, "/api/auth/keys").await).await;
        list[0]["last_used_at"].is_string().then_some(list)
    })
    .await;
    assert_eq!(list[0]["last_used_address"], "127.0.0.1");

    // Revoked, it is 401 at its next request.
    let resp = revoke_key(&app, &admin, id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get_as(&key, "/api/auth/me").await;
    assert!(resp.headers().contains_key("www-authenticate"));
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_api_key", None).await;
    let resp = revoke_key(&app, &admin, id).await;
    assert_error(resp, StatusCode::NOT_FOUND, "key_not_found", None).await;
}

#[tokio::test]
async fn malformed_truncated_oversized_non_ascii_and_unknown_keys_are_401() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let key = secret(&new_key(&app, &admin, "k", json!({})).await);
    let (prefix, secret_part) = key.rsplit_once('_').expect("shape");
    let unknown_id = format!("mlxm_{}_{}", "0".repeat(16), secret_part);
    let wrong_secret = format!("{prefix}_{}", "A".repeat(secret_part.len()));
    let oversized = format!("{key}{}", "a".repeat(8 * 1024));
    let cases = [
        "mlxm_".to_owned(),
        "mlxm_nope".to_owned(),
        key[..key.len() - 1].to_owned(),
        oversized,
        format!("{}é", &key[..key.len() - 1]),
        unknown_id,
        wrong_secret,
    ];
    for presented in &cases {
        for header in ["authorization", "x-api-key"] {
            let value = match header {
                "authorization" => format!("Bearer {presented}"),
                _ => presented.clone(),
            };
            let resp = app
                .client
                .get(app.url("/api/auth/me"))
                .header(header, value.as_bytes())
                .send()
                .await
                .expect("request");
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{header}: {presented:.40}"
            );
            assert!(resp.headers().contains_key("www-authenticate"));
        }
    }
    // An unknown id and a wrong secret get the very same answer.
    let answer = |k: String| {
        let app = &app;
        async move { json(app.get_as(&k, "/api/auth/me").await).await }
    };
    assert_eq!(
        answer(cases[5].clone()).await,
        answer(cases[6].clone()).await
    );
    // The real key still works.
    assert_eq!(
        app.get_as(&key, "/api/auth/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_key_acts_with_at_most_its_owners_role_narrowed_by_its_actions() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    let (bob, bob_token) = app.approved_user(&admin, "bob@example.com").await;
    let read_only = secret(
        &new_key(
            &app,
            &bob_token,
            "read only",
            json!({"actions": ["profiles.read"]}),
        )
        .await,
    );
    let full = secret(&new_key(&app, &bob_token, "full", json!({})).await);
    assert_eq!(
        app.get_as(&read_only, "/api/profiles").await.status(),
        StatusCode::OK
    );
    let body = json!({"name": "p1", "model_path": "org/model"});
    let resp = app
        .send_as(
            &read_only,
            Method::POST,
            "/api/profiles",
            Some(body.clone()),
        )
        .await;
    assert_error(
        resp,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("This API key does not allow profiles.write"),
    )
    .await;
    let resp = app
        .send_as(&full, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);

    // Demoting the owner limits the key at its next request.
    let resp = update_user(&app, &admin, &bob, json!({"role": "viewer"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json!({"name": "p2", "model_path": "org/model"});
    let resp = app
        .send_as(&full, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert_eq!(
        app.get_as(&full, "/api/profiles").await.status(),
        StatusCode::OK
    );

    // Disabling the owner stops the key; deleting the owner kills it.
    let resp = update_user(&app, &admin, &bob, json!({"status": "disabled"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.get_as(&full, "/api/profiles").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "account_inactive", None).await;
    let resp = delete_user(&app, &admin, &bob).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get_as(&full, "/api/profiles").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_api_key", None).await;
}

#[tokio::test]
async fn a_key_never_manages_keys_sessions_passwords_or_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let key = secret(&new_key(&app, &admin, "admin's key", json!({})).await);
    let (bob, _) = app.approved_user(&admin, "bob@example.com").await;
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/auth/keys".into(),
            Some(json!({"name": "another"})),
        ),
        (Method::GET, "/api/auth/keys".into(), None),
        (
            Method::DELETE,
            "/api/auth/keys/0000000000000000".into(),
            None,
        ),
        (Method::GET, format!("/api/auth/users/{bob}/keys"), None),
        (Method::GET, "/api/auth/sessions".into(), None),
        (Method::DELETE, "/api/auth/sessions/abc".into(), None),
        (Method::POST, "/api/auth/logout-all".into(), None),
        (Method::POST, "/api/auth/logout".into(), None),
        (
            Method::PUT,
            "/api/auth/me/password".into(),
            Some(json!({"current_password": PASSWORD, "new_password": "another-password-1"})),
        ),
        (Method::GET, "/api/auth/users".into(), None),
        (
            Method::PUT,
            format!("/api/auth/users/{bob}"),
            Some(json!({"status": "disabled"})),
        ),
        (
            Method::POST,
            format!("/api/auth/users/{bob}/reset-password"),
            Some(json!({"password": "another-password-1"})),
        ),
        (Method::DELETE, format!("/api/auth/users/{bob}"), None),
    ];
    for (method, path, body) in calls {
        let resp = app.send_as(&key, method.clone(), &path, body).await;
        assert_error(resp, StatusCode::FORBIDDEN, "login_token_required", None).await;
    }
    // Whatever the key's list or its owner's role: a key is not a login.
    let narrow = secret(
        &new_key(
            &app,
            &admin,
            "narrow",
            json!({"actions": ["profiles.read"]}),
        )
        .await,
    );
    let bob_key = {
        let (_, viewer) = app.approved_user(&admin, "viewer@example.com").await;
        secret(&new_key(&app, &viewer, "viewer's", json!({})).await)
    };
    for key in [&narrow, &bob_key] {
        let resp = create_key(&app, key, json!({"name": "nested"})).await;
        assert_error(resp, StatusCode::FORBIDDEN, "login_token_required", None).await;
        let resp = app.get_as(key, "/api/auth/users").await;
        assert_error(resp, StatusCode::FORBIDDEN, "login_token_required", None).await;
    }
    // Nothing changed: bob is still approved and the admin's password works.
    let users = json(app.get_as(&admin, "/api/auth/users").await).await;
    assert!(users.to_string().contains("\"approved\""));
    assert_eq!(
        app.login("admin@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    // What a key may do on its own account: read it, mint a ticket.
    assert_eq!(
        app.get_as(&key, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    app.ticket(&key, "/api/audit/events/stream").await;
}

#[tokio::test]
async fn key_requests_that_break_a_rule_are_422_with_the_rule() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, bob) = app.approved_user(&admin, "bob@example.com").await;
    new_key(&app, &bob, "taken", json!({})).await;
    let cases = [
        (json!({"name": ""}), "invalid_key_name"),
        (json!({"name": "   "}), "invalid_key_name"),
        (json!({"name": "x".repeat(65)}), "invalid_key_name"),
        (json!({"name": "tab\there"}), "invalid_key_name"),
        (json!({"name": "evil\u{202e}gpj.exe"}), "invalid_key_name"),
        (json!({"name": "zero\u{200b}width"}), "invalid_key_name"),
        (json!({"name": "taken"}), "duplicate_key_name"),
        (
            json!({"name": "a", "actions": ["nope.nothing"]}),
            "invalid_key_actions",
        ),
        (json!({"name": "a", "actions": []}), "invalid_key_actions"),
        (
            json!({"name": "a", "actions": ["audit.read"]}),
            "invalid_key_actions",
        ),
        (
            json!({"name": "a", "actions": ["keys.own"]}),
            "invalid_key_actions",
        ),
        (
            json!({"name": "a", "expires_in_days": 366}),
            "invalid_key_lifetime",
        ),
        (
            json!({"name": "a", "expires_in_days": 4_000_000_000u32}),
            "invalid_key_lifetime",
        ),
        (json!({"name": "a", "models": [""]}), "invalid_key_models"),
        (json!({"name": "a", "rpm": 0}), "invalid_key_limits"),
        (
            json!({"name": "a", "max_concurrent": 10001}),
            "invalid_key_limits",
        ),
    ];
    for (body, code) in cases {
        let resp = create_key(&app, &bob, body.clone()).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, code, None).await;
    }
    for body in [
        json!({"name": "a", "expires_in_days": 0}),
        json!({"name": "a", "max_concurrent": -1}),
        json!({"name": "a", "extra": true}),
        json!({"name": 5}),
        json!([]),
    ] {
        let resp = create_key(&app, &bob, body.clone()).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // A name is unique per user, not across users.
    new_key(&app, &admin, "taken", json!({})).await;
    // A key with every limit.
    let created = new_key(
        &app,
        &bob,
        "limited",
        json!({"expires_in_days": 30, "actions": ["profiles.read", "profiles.read"],
               "models": ["qwen", "llama"], "rpm": 60, "max_concurrent": 2}),
    )
    .await;
    assert_eq!(created["actions"], json!(["profiles.read"]));
    assert_eq!(created["models"], json!(["qwen", "llama"]));
    assert_eq!(
        (created["rpm"].clone(), created["max_concurrent"].clone()),
        (json!(60), json!(2))
    );
    let created_at: chrono::DateTime<chrono::Utc> = created["created_at"]
        .as_str()
        .expect("created")
        .parse()
        .expect("time");
    let expires_at: chrono::DateTime<chrono::Utc> = created["expires_at"]
        .as_str()
        .expect("expires")
        .parse()
        .expect("time");
    let days = (expires_at - created_at).num_seconds() as f64 / 86400.0;
    assert!((days - 30.0).abs() < 0.01, "{days}");
    let list = json(app.get_as(&bob, "/api/auth/keys").await).await;
    assert_eq!(list[0]["name"], "limited", "newest first");
}

#[tokio::test]
async fn a_key_lives_no_longer_than_max_key_lifetime_and_expired_keys_are_401() {
    let app = TestApp::spawn_with(|f| f.merge(("plugins.auth.max_key_lifetime", "1s"))).await;
    let admin = app.admin_token().await;
    let key = secret(&new_key(&app, &admin, "short", json!({})).await);
    assert_eq!(
        app.get_as(&key, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    let resp = create_key(&app, &admin, json!({"name": "day", "expires_in_days": 1})).await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_key_lifetime",
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let resp = app.get_as(&key, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "api_key_expired", None).await;

    let unbounded = TestApp::spawn_with(|f| f.merge(("plugins.auth.max_key_lifetime", "0s"))).await;
    let admin = unbounded.admin_token().await;
    let created = new_key(&unbounded, &admin, "forever", json!({})).await;
    assert_eq!(created["expires_at"], Value::Null);
    let created = new_key(
        &unbounded,
        &admin,
        "decade",
        json!({"expires_in_days": 3650}),
    )
    .await;
    assert!(created["expires_at"].is_string());
    // With no bound, a lifetime past the calendar is refused, not a crash.
    let resp = create_key(
        &unbounded,
        &admin,
        json!({"name": "too long", "expires_in_days": 4_000_000_000u32}),
    )
    .await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_key_lifetime",
        None,
    )
    .await;
}

#[tokio::test]
async fn another_users_key_is_404_unless_the_caller_manages_keys() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (bob, bob_token) = app.approved_user(&admin, "bob@example.com").await;
    let (_, carol) = app.approved_user(&admin, "carol@example.com").await;
    let created = new_key(&app, &bob_token, "bob's", json!({})).await;
    let id = created["id"].as_str().expect("id");
    let resp = revoke_key(&app, &carol, id).await;
    assert_error(resp, StatusCode::NOT_FOUND, "key_not_found", None).await;
    assert_eq!(
        app.get_as(&secret(&created), "/api/auth/me").await.status(),
        StatusCode::OK
    );
    let resp = app
        .get_as(&carol, &format!("/api/auth/users/{bob}/keys"))
        .await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;

    let listed = json(
        app.get_as(&admin, &format!("/api/auth/users/{bob}/keys"))
            .await,
    )
    .await;
    assert_eq!(listed[0]["id"], created["id"]);
    let resp = app.get_as(&admin, "/api/auth/users/nobody/keys").await;
    assert_error(resp, StatusCode::NOT_FOUND, "user_not_found", None).await;
    let resp = revoke_key(&app, &admin, id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get_as(&secret(&created), "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_api_key", None).await;
}

#[tokio::test]
async fn sessions_are_listed_ended_one_by_one_or_all_at_once_and_keys_survive() {
    let app = TestApp::spawn().await;
    let first = app.admin_token().await;
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .header("user-agent", "second-device/1.0")
        .form(&[("username", "admin@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    let second = json(resp).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let third = app.token("admin@example.com", PASSWORD).await;
    let key = secret(&new_key(&app, &first, "survivor", json!({})).await);

    let sessions = json(app.get_as(&first, "/api/auth/sessions").await).await;
    let sessions = sessions.as_array().expect("list").clone();
    assert_eq!(sessions.len(), 3);
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly the caller's session is current");
    let second_session = sessions
        .iter()
        .find(|s| s["user_agent"] == "second-device/1.0")
        .expect("the second login, by its user agent");
    assert_eq!(second_session["address"], "127.0.0.1");
    let id = second_session["id"].as_str().expect("id");

    let resp = app
        .send_as(
            &first,
            Method::DELETE,
            &format!("/api/auth/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get_as(&second, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "token_revoked", None).await;
    let resp = app
        .send_as(
            &first,
            Method::DELETE,
            &format!("/api/auth/sessions/{id}"),
            None,
        )
        .await;
    assert_error(resp, StatusCode::NOT_FOUND, "session_not_found", None).await;
    assert_eq!(
        app.get_as(&third, "/api/auth/me").await.status(),
        StatusCode::OK
    );

    // Another user cannot end the admin's session.
    let (_, bob) = app.approved_user(&first, "bob@example.com").await;
    let sessions = json(app.get_as(&first, "/api/auth/sessions").await).await;
    let theirs = sessions[0]["id"].as_str().expect("id").to_owned();
    let resp = app
        .send_as(
            &bob,
            Method::DELETE,
            &format!("/api/auth/sessions/{theirs}"),
            None,
        )
        .await;
    assert_error(resp, StatusCode::NOT_FOUND, "session_not_found", None).await;

    // logout-all ends every token and ticket (a key's too), not the keys.
    let ticket = app.ticket(&third, "/api/audit/events/stream").await;
    let key_ticket = app.ticket(&key, "/api/audit/events/stream").await;
    let resp = app
        .send_as(&third, Method::POST, "/api/auth/logout-all", None)
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    for token in [&first, &third] {
        let resp = app.get_as(token, "/api/auth/me").await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "token_revoked", None).await;
    }
    for ticket in [&ticket, &key_ticket] {
        let resp = app
            .get(&format!("/api/audit/events/stream?ticket={ticket}"))
            .await;
        assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_ticket", None).await;
    }
    assert_eq!(
        app.get_as(&key, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_as(&bob, "/api/auth/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_ticket_minted_by_a_key_carries_its_limits_and_dies_with_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let narrow = secret(
        &new_key(
            &app,
            &admin,
            "narrow",
            // Minting a ticket is `auth.self`: the key must list it.
            json!({"actions": ["profiles.read", "auth.self"]}),
        )
        .await,
    );
    let ticket = app.ticket(&narrow, "/api/audit/events/stream").await;
    let resp = app
        .get(&format!("/api/audit/events/stream?ticket={ticket}"))
        .await;
    assert_error(
        resp,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("This API key does not allow audit.read"),
    )
    .await;

    let created = new_key(&app, &admin, "wide", json!({})).await;
    let wide = secret(&created);
    let ticket = app.ticket(&wide, "/api/audit/events/stream").await;
    let resp = revoke_key(&app, &admin, created["id"].as_str().expect("id")).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app
        .get(&format!("/api/audit/events/stream?ticket={ticket}"))
        .await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_ticket", None).await;
}

#[tokio::test]
async fn no_request_that_starts_after_a_keys_revocation_succeeds() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = new_key(&app, &admin, "busy", json!({})).await;
    let key = secret(&created);
    let id = created["id"].as_str().expect("id").to_owned();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..50 {
        let (client, url, key, stop) = (
            app.client.clone(),
            app.url("/api/auth/me"),
            key.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let status = client
                    .get(&url)
                    .bearer_auth(&key)
                    .send()
                    .await
                    .map(|r| r.status())
                    .ok();
                seen.push((started, status));
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = revoke_key(&app, &admin, &id).await;
    let revoked = Instant::now();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut before_ok, mut after) = (0, 0);
    for worker in workers {
        for (started, status) in worker.await.expect("worker") {
            if started > revoked {
                after += 1;
                assert_eq!(
                    status,
                    Some(StatusCode::UNAUTHORIZED),
                    "a request after the revoke"
                );
            } else if status == Some(StatusCode::OK) {
                before_ok += 1;
            }
        }
    }
    assert!(
        before_ok > 0 && after > 0,
        "{before_ok} before, {after} after"
    );
}

#[tokio::test]
async fn open_streams_end_when_their_session_key_or_account_is_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let stream = "/api/audit/events/stream";
    let within = mlx_manager::sdk::REVALIDATE_EVERY * 3;

    // A session revoked from another session.
    let other = app.token("admin@example.com", PASSWORD).await;
    let mut sse = app.events(Some(&other), stream).await;
    let sessions = json(app.get_as(&other, "/api/auth/sessions").await).await;
    let id = sessions
        .as_array()
        .and_then(|l| l.iter().find(|s| s["current"] == true))
        .and_then(|s| s["id"].as_str())
        .expect("current session")
        .to_owned();
    let resp = app
        .send_as(
            &admin,
            Method::DELETE,
            &format!("/api/auth/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(ended(&mut sse, within).await, "the session's stream ends");

    // A key revoked.
    let created = new_key(&app, &admin, "streamer", json!({})).await;
    let key = secret(&created);
    let resp = app
        .client
        .get(app.url(stream))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("stream");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut by_key = crate::helpers::Sse::from_response(resp);
    let resp = revoke_key(&app, &admin, created["id"].as_str().expect("id")).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(ended(&mut by_key, within).await, "the key's stream ends");

    // An account disabled: its ticket-opened stream ends too.
    let (bob, bob_token) = app.approved_user(&admin, "bob@example.com").await;
    let resp = update_user(&app, &admin, &bob, json!({"role": "admin"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let ticket = app.ticket(&bob_token, stream).await;
    let mut by_ticket = app.events(None, &format!("{stream}?ticket={ticket}")).await;
    let resp = update_user(&app, &admin, &bob, json!({"status": "disabled"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        ended(&mut by_ticket, within).await,
        "the disabled user's stream ends"
    );

    // An account deleted: the stream of its key ends.
    let (carol, carol_token) = app.approved_user(&admin, "carol@example.com").await;
    let resp = update_user(&app, &admin, &carol, json!({"role": "admin"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let carol_key = secret(&new_key(&app, &carol_token, "carol's", json!({})).await);
    let mut by_carol = app.events(Some(&carol_key), stream).await;
    let resp = delete_user(&app, &admin, &carol).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(
        ended(&mut by_carol, within).await,
        "the deleted user's stream ends"
    );

    // A stream whose caller still holds stays open.
    let mut kept = app.events(Some(&admin), stream).await;
    assert!(!ended(&mut kept, within).await, "the admin's stream stays");
}

/// Whether the stream ends (rather than stays silent) within `within`.
async fn ended(sse: &mut crate::helpers::Sse, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match sse.next_or_end(deadline).await {
            Some(true) => return true,
            Some(false) => continue,
            None => return false,
        }
    }
}

#[tokio::test]
async fn a_stream_ticket_dies_after_its_lifetime_and_a_key_after_its_expiry() {
    use mlx_manager::sdk::clock::ManualClock;
    let clock = ManualClock::new();
    let app = TestApp::spawn_with_clock(clock.clone(), |f| f).await;
    let admin = app.admin_token().await;
    let logs = "/api/servers/nope/logs";

    // A ticket inside its 60 s reaches the handler (404); one past it is refused.
    let fresh = app.ticket(&admin, logs).await;
    clock.advance(Duration::from_secs(59));
    assert_error(
        with_ticket(&app, logs, &fresh).await,
        StatusCode::NOT_FOUND,
        "profile_not_found",
        None,
    )
    .await;
    let stale = app.ticket(&admin, logs).await;
    clock.advance(Duration::from_secs(61));
    assert_error(
        with_ticket(&app, logs, &stale).await,
        StatusCode::UNAUTHORIZED,
        "invalid_ticket",
        None,
    )
    .await;

    // A key of one day works for a day, then is 401 api_key_expired.
    let created = new_key(&app, &admin, "daily", json!({ "expires_in_days": 1 })).await;
    let key = created["key"].as_str().expect("key").to_owned();
    clock.advance(Duration::from_secs(23 * 3600));
    assert_eq!(
        get_with_header(&app, &key, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    // 30 s before its end it mints a ticket; 40 s later the key has expired
    // while the ticket is still inside its own lifetime.
    clock.advance(Duration::from_secs(3600 - 30));
    let ticket = app.ticket(&key, logs).await;
    clock.advance(Duration::from_secs(40));
    assert_error(
        get_with_header(&app, &key, "/api/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "api_key_expired",
        None,
    )
    .await;
    // The ticket dies with the key that minted it.
    assert_error(
        with_ticket(&app, logs, &ticket).await,
        StatusCode::UNAUTHORIZED,
        "invalid_ticket",
        None,
    )
    .await;
    app.shutdown().await;
}
