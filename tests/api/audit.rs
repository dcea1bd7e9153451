//! The audit plugin, black-box: what a scenario records (actor, action, target,
//! outcome), filters and cursor pages, the JSON Lines export, the live stream,
//! retention, no event lost under concurrency, and no secret in any event.

use std::{collections::HashSet, time::Duration};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, PASSWORD, TestApp, json};

/// `GET /api/audit/events?<query>` as JSON.
async fn events(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app
        .get_as(token, &format!("/api/audit/events?{query}"))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "audit query {query}");
    json(resp).await
}

/// Every event (newest first), through the cursor.
async fn all_events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = events(app, token, &format!("{query}&limit=7{cursor}")).await;
        out.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return out,
        }
    }
}

/// Wait until `action` has been recorded `n` times; returns those events.
async fn wait_for(app: &TestApp, token: &str, action: &str, n: usize) -> Vec<Value> {
    let query = format!("action={action}");
    let found = crate::helpers::poll_until(Duration::from_secs(10), action, || async {
        let found = all_events(app, token, &query).await;
        (found.len() >= n).then_some(found)
    })
    .await;
    assert_eq!(found.len(), n, "{action} events");
    found
}

fn fake_servers(f: figment::Figment) -> figment::Figment {
    crate::helpers::with_fake_servers(f)
}

#[tokio::test]
async fn a_scenario_is_recorded_with_actor_action_target_and_outcome() {
    let app = TestApp::spawn_with(fake_servers).await;
    let admin = app.admin_token().await;
    let failed = app.login(ADMIN, "not the password").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    let (user_id, user) = app.approved_user(&admin, "user@example.com").await;
    let p = app.create_profile(&user, "chat", "m/chat").await;
    let id = p["id"].as_str().expect("id");
    let started = app.server_action(&user, id, "start").await;
    assert_eq!(started.status(), StatusCode::OK);
    let stopped = app.server_action(&user, id, "stop").await;
    assert_eq!(stopped.status(), StatusCode::OK);
    let resp = app
        .send_as(
            &admin,
            Method::PUT,
            &format!("/api/auth/users/{user_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let denied = app
        .send_as(&user, Method::DELETE, &format!("/api/profiles/{id}"), None)
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    let login_failed = wait_for(&app, &admin, "auth.login_failed", 1).await;
    assert_eq!(login_failed[0]["actor"]["email"], ADMIN);
    assert_eq!(login_failed[0]["actor"]["via"], "password");
    assert_eq!(login_failed[0]["outcome"], "denied");
    assert_eq!(login_failed[0]["address"], "127.0.0.1");
    let approve = wait_for(&app, &admin, "auth.approve", 1).await;
    assert_eq!(approve[0]["target"]["name"], "user@example.com");
    assert_eq!(approve[0]["actor"]["email"], ADMIN);
    assert_eq!(approve[0]["actor"]["via"], "token");
    let role = wait_for(&app, &admin, "auth.role_change", 1).await;
    assert_eq!(role[0]["detail"], "user -> viewer");
    let created = wait_for(&app, &admin, "profile.create", 1).await;
    assert_eq!(created[0]["actor"]["email"], "user@example.com");
    assert_eq!(created[0]["actor"]["role"], "user");
    assert_eq!(
        (
            created[0]["target"]["kind"].as_str(),
            created[0]["target"]["id"].as_str()
        ),
        (Some("profile"), Some(id))
    );
    assert_eq!(created[0]["outcome"], "ok");
    wait_for(&app, &admin, "server.start", 1).await;
    wait_for(&app, &admin, "server.stop", 1).await;
    let refused = wait_for(&app, &admin, "request.denied", 1).await;
    assert_eq!(refused[0]["actor"]["email"], "user@example.com");
    assert_eq!(refused[0]["actor"]["role"], "viewer");
    assert_eq!(refused[0]["target"]["name"], "DELETE /api/profiles/{id}");
    assert_eq!(refused[0]["outcome"], "denied");
    // Logins: the admin's two, the user's one, all with their outcome.
    let logins = wait_for(&app, &admin, "auth.login", 2).await;
    assert!(logins.iter().all(|e| e["outcome"] == "ok"));

    // Filters.
    let by_user = all_events(&app, &admin, "actor=user@example.com").await;
    assert!(!by_user.is_empty());
    assert!(
        by_user
            .iter()
            .all(|e| e["actor"]["email"] == "user@example.com")
    );
    let by_id = all_events(&app, &admin, &format!("actor={user_id}")).await;
    assert_eq!(
        by_id.len(),
        by_user.len(),
        "an id and an email find the same events"
    );
    let denied_only = all_events(&app, &admin, "outcome=denied").await;
    assert!(denied_only.len() >= 2 && denied_only.iter().all(|e| e["outcome"] == "denied"));
    let future = all_events(&app, &admin, "since=2999-01-01T00:00:00Z").await;
    assert!(future.is_empty());
    let bad = app.get_as(&admin, "/api/audit/events?outcome=maybe").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app.get_as(&admin, "/api/audit/events?cursor=zzz").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app.get_as(&admin, "/api/audit/events?limit=501").await;
    assert!(bad.status().is_client_error());
    // Viewers and users may not read the log.
    let forbidden = app.get_as(&user, "/api/audit/events").await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    app.shutdown().await;
}

#[tokio::test]
async fn pages_never_repeat_or_skip_an_event_and_the_export_has_them_all() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for n in 0..30 {
        let body = json!({"name": format!("p{n}"), "model_path": "m/x"});
        let resp = app
            .send_as(&admin, Method::POST, "/api/profiles", Some(body))
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let created = wait_for(&app, &admin, "profile.create", 30).await;
    let names: Vec<&str> = created
        .iter()
        .filter_map(|e| e["target"]["name"].as_str())
        .collect();
    let expected: Vec<String> = (0..30).rev().map(|n| format!("p{n}")).collect();
    assert_eq!(names, expected, "newest first, each once, through 5 pages");
    let ids: HashSet<&str> = created.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), 30);

    let resp = app
        .get_as(&admin, "/api/audit/events/export?action=profile.create")
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/x-ndjson"),
        "{content_type}"
    );
    let text = resp.text().await.expect("body");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 30);
    assert_eq!(lines, created, "the export is the same events");
    app.shutdown().await;
}

#[tokio::test]
async fn two_hundred_concurrent_changes_make_two_hundred_events() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let requests = (0..200).map(|n| {
        let body = json!({"name": format!("c{n}"), "model_path": "m/x", "port": 11000 + n});
        app.send_as(&admin, Method::POST, "/api/profiles", Some(body))
    });
    let answers = futures_util::future::join_all(requests).await;
    assert!(answers.iter().all(|r| r.status() == StatusCode::CREATED));
    let created = wait_for(&app, &admin, "profile.create", 200).await;
    let names: HashSet<&str> = created
        .iter()
        .filter_map(|e| e["target"]["name"].as_str())
        .collect();
    assert_eq!(names.len(), 200, "every change once");
    app.shutdown().await;
}

#[tokio::test]
async fn the_live_stream_shows_new_events_and_takes_a_ticket() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let ticket = app.ticket(&admin, "/api/audit/events/stream").await;
    let mut sse = app
        .events(None, &format!("/api/audit/events/stream?ticket={ticket}"))
        .await;
    let body = json!({"name": "live", "model_path": "m/x"});
    let resp = app
        .send_as(&admin, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let event = sse
        .until(Duration::from_secs(10), |e| e["action"] == "profile.create")
        .await;
    assert_eq!(event["target"]["name"], "live");
    assert_eq!(event["actor"]["email"], ADMIN);
    // A user below audit.read gets no stream.
    let (_, user) = app.approved_user(&admin, "u@example.com").await;
    let refused = app.get_as(&user, "/api/audit/events/stream").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    app.shutdown().await;
}

#[tokio::test]
async fn events_older_than_the_retention_are_pruned() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("plugins.audit.retention", "2s"))
            .merge(("plugins.audit.prune_interval", "1s"))
    })
    .await;
    let admin = app.admin_token().await;
    let body = json!({"name": "old", "model_path": "m/x"});
    let resp = app
        .send_as(&admin, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    wait_for(&app, &admin, "profile.create", 1).await;
    crate::helpers::poll_until(
        Duration::from_secs(15),
        "the event to outlive its retention no longer",
        || async {
            let left = all_events(&app, &admin, "action=profile.create").await;
            left.is_empty().then_some(())
        },
    )
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn no_password_token_or_ticket_reaches_the_audit_log() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let secret_password = "s3cret-Passw0rd-never-logged";
    let typed_into_username = "hunter2-typed-as-username";
    let _ = app.login(ADMIN, secret_password).await;
    let _ = app.login(typed_into_username, secret_password).await;
    let resp = app.register("new@example.com", secret_password).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let new_id = json(resp).await["id"].as_str().expect("id").to_owned();
    let reset = app
        .send_as(
            &admin,
            Method::POST,
            &format!("/api/auth/users/{new_id}/reset-password"),
            Some(json!({"password": "another-secret-pw-9"})),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    let change = app
        .send_as(
            &admin,
            Method::PUT,
            "/api/auth/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "third-secret-pw-77"})),
        )
        .await;
    assert_eq!(change.status(), StatusCode::OK);
    let fresh = json(change).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let ticket = app.ticket(&fresh, "/api/audit/events/stream").await;
    // An API key: created, used for a change (audited), revoked.
    let created = app
        .send_as(
            &fresh,
            Method::POST,
            "/api/auth/keys",
            Some(json!({"name": "audited key"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let key = created["key"].as_str().expect("key").to_owned();
    let body = json!({"name": "by-key", "model_path": "m/x"});
    let resp = app
        .send_as(&key, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let revoke = format!("/api/auth/keys/{}", created["id"].as_str().expect("id"));
    let resp = app.send_as(&fresh, Method::DELETE, &revoke, None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let by_key = wait_for(&app, &fresh, "profile.create", 1).await;
    assert_eq!(by_key[0]["actor"]["via"], "api_key");
    let revoked = wait_for(&app, &fresh, "auth.key_revoke", 1).await;
    assert_eq!(
        revoked[0]["target"]["id"], created["prefix"],
        "the prefix, never the secret"
    );
    wait_for(&app, &fresh, "auth.password_change", 1).await;
    wait_for(&app, &fresh, "auth.password_reset", 1).await;
    let export = app
        .get_as(&fresh, "/api/audit/events/export")
        .await
        .text()
        .await
        .expect("export");
    assert!(export.contains("auth.login_failed"), "{export}");
    for secret in [
        secret_password,
        typed_into_username,
        "another-secret-pw-9",
        "third-secret-pw-77",
        PASSWORD,
        admin.as_str(),
        fresh.as_str(),
        ticket.as_str(),
        key.as_str(),
        key.rsplit_once('_').map(|(_, s)| s).unwrap_or("-"),
    ] {
        assert!(
            !export.contains(secret),
            "the audit log holds a secret: {secret}"
        );
    }
    // A non-email username is not recorded at all.
    let failed = all_events(&app, &fresh, "action=auth.login_failed").await;
    assert!(failed.iter().any(|e| e["actor"].get("email").is_none()));
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_that_crashes_is_recorded_by_the_system() {
    let app = TestApp::spawn_with(fake_servers).await;
    let admin = app.admin_token().await;
    let p = app.create_profile(&admin, "crashy", "m/crash-later").await;
    let id = p["id"].as_str().expect("id");
    assert_eq!(
        app.server_action(&admin, id, "start").await.status(),
        StatusCode::OK
    );
    let crash = wait_for(&app, &admin, "server.crash", 1).await;
    assert_eq!(crash[0]["actor"]["via"], "system");
    assert_eq!(crash[0]["outcome"], "failed");
    assert_eq!(crash[0]["target"]["name"], "crashy");
    app.shutdown().await;
}

#[tokio::test]
async fn the_event_stream_lives_no_longer_than_the_server() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = reqwest::Client::new()
        .get(app.url("/api/audit/events/stream"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("stream");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.bytes_stream();
    let ended = tokio::spawn(async move { while body.next().await.is_some() {} });
    app.shutdown().await;
    tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("the stream ended with the server")
        .expect("task");
}
