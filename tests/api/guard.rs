//! The guard's memory (plugins/auth/src/guard.rs): credentials are checked from
//! memory once read, and every change through this server takes effect on the
//! very next request. Each case first uses the credential twice (so that it is
//! held), then changes it and expects the next request to be refused.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, json};

/// `GET /api/auth/me` as `credential`, twice, expecting 200: it is now held.
async fn held(app: &TestApp, credential: &str) -> Value {
    for _ in 0..2 {
        let resp = app.get_as(credential, "/api/auth/me").await;
        assert_eq!(resp.status(), StatusCode::OK, "the credential works");
    }
    json(app.get_as(credential, "/api/auth/me").await).await
}

/// A new key of `token`'s user; its secret.
async fn key(app: &TestApp, token: &str, name: &str) -> String {
    app.create_key(token, json!({ "name": name })).await
}

/// `PUT /api/auth/users/{id}` with `body` as `admin`; expects 200.
async fn update(app: &TestApp, admin: &str, id: &str, body: Value) {
    let path = format!("/api/auth/users/{id}");
    let resp = app.send_as(admin, Method::PUT, &path, Some(body)).await;
    assert_eq!(resp.status(), StatusCode::OK, "update {id}");
}

/// The next request as `credential` is 401 with `code`.
async fn refused(app: &TestApp, credential: &str, code: &str) {
    let resp = app.get_as(credential, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, code, None).await;
}

#[tokio::test]
async fn held_credentials_are_used_without_the_store_so_these_tests_can_fail() {
    // Disabling an account behind the server's back (not through it) is not
    // seen while its credentials are held: the proof that the cases below
    // exercise the memory, not the store. Through the server it is seen at once.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (id, token) = app.approved_user(&admin, "held@example.com").await;
    let secret = key(&app, &token, "held").await;
    held(&app, &token).await;
    held(&app, &secret).await;
    app.db
        .query("UPDATE type::record('user', $id) SET status = 'disabled'")
        .bind(("id", id.clone()))
        .await
        .expect("update")
        .check()
        .expect("updated");
    assert_eq!(
        app.get_as(&token, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_as(&secret, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    update(&app, &admin, &id, json!({"status": "disabled"})).await;
    refused(&app, &token, "account_inactive").await;
    refused(&app, &secret, "account_inactive").await;
}

#[tokio::test]
async fn disabling_deleting_and_changing_a_role_take_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    // Disable: the token (its sessions end) and the key stop; approving again
    // brings back the key (keys survive), read afresh.
    let (id, token) = app.approved_user(&admin, "disabled@example.com").await;
    let secret = key(&app, &token, "k").await;
    held(&app, &token).await;
    held(&app, &secret).await;
    update(&app, &admin, &id, json!({"status": "disabled"})).await;
    refused(&app, &token, "account_inactive").await;
    refused(&app, &secret, "account_inactive").await;
    update(&app, &admin, &id, json!({"status": "approved"})).await;
    assert_eq!(held(&app, &secret).await["status"], "approved");
    refused(&app, &token, "token_revoked").await;

    // Role: promoted, the next request may list users; demoted, it may not;
    // `/me` shows each role at once, with a token and with a key.
    let (id, token) = app.approved_user(&admin, "role@example.com").await;
    let secret = key(&app, &token, "k").await;
    assert_eq!(held(&app, &token).await["role"], "user");
    assert_eq!(held(&app, &secret).await["role"], "user");
    let listed = app.get_as(&token, "/api/auth/users").await;
    assert_eq!(listed.status(), StatusCode::FORBIDDEN);
    update(&app, &admin, &id, json!({"role": "admin"})).await;
    assert_eq!(
        app.get_as(&token, "/api/auth/users").await.status(),
        StatusCode::OK
    );
    assert_eq!(held(&app, &secret).await["role"], "admin");
    update(&app, &admin, &id, json!({"role": "viewer"})).await;
    let listed = app.get_as(&token, "/api/auth/users").await;
    assert_eq!(listed.status(), StatusCode::FORBIDDEN);
    assert_eq!(held(&app, &token).await["role"], "viewer");
    assert_eq!(held(&app, &secret).await["role"], "viewer");

    // Delete: token and key.
    let (id, token) = app.approved_user(&admin, "deleted@example.com").await;
    let secret = key(&app, &token, "k").await;
    held(&app, &token).await;
    held(&app, &secret).await;
    let resp = app
        .send_as(
            &admin,
            Method::DELETE,
            &format!("/api/auth/users/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    refused(&app, &token, "invalid_token").await;
    refused(&app, &secret, "invalid_api_key").await;
}

#[tokio::test]
async fn passwords_logouts_and_revocations_take_effect_on_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    // Own password change: every earlier token stops, the new one works, the
    // key stays.
    let (_, token) = app.approved_user(&admin, "changer@example.com").await;
    let other = app.token("changer@example.com", PASSWORD).await;
    let secret = key(&app, &token, "k").await;
    held(&app, &token).await;
    held(&app, &other).await;
    let resp = app
        .send_as(
            &token,
            Method::PUT,
            "/api/auth/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "a new password 1"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fresh = json(resp).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    refused(&app, &token, "token_revoked").await;
    refused(&app, &other, "token_revoked").await;
    held(&app, &fresh).await;
    held(&app, &secret).await;

    // Reset by an admin: the user's tokens stop.
    let (id, token) = app.approved_user(&admin, "reset@example.com").await;
    held(&app, &token).await;
    let resp = app
        .send_as(
            &admin,
            Method::POST,
            &format!("/api/auth/users/{id}/reset-password"),
            Some(json!({"password": "reset password 2"})),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    refused(&app, &token, "token_revoked").await;

    // Logout ends its own token only.
    let (_, token) = app.approved_user(&admin, "logout@example.com").await;
    let other = app.token("logout@example.com", PASSWORD).await;
    held(&app, &token).await;
    held(&app, &other).await;
    let resp = app
        .send_as(&token, Method::POST, "/api/auth/logout", None)
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    refused(&app, &token, "token_revoked").await;
    held(&app, &other).await;

    // Logout-all ends every token, not the keys.
    let secret = key(&app, &other, "k").await;
    let third = app.token("logout@example.com", PASSWORD).await;
    held(&app, &third).await;
    held(&app, &secret).await;
    let resp = app
        .send_as(&other, Method::POST, "/api/auth/logout-all", None)
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    refused(&app, &other, "token_revoked").await;
    refused(&app, &third, "token_revoked").await;
    held(&app, &secret).await;

    // One session revoked by id.
    let (_, token) = app.approved_user(&admin, "session@example.com").await;
    let other = app.token("session@example.com", PASSWORD).await;
    held(&app, &other).await;
    let sessions = json(app.get_as(&token, "/api/auth/sessions").await).await;
    let theirs = sessions
        .as_array()
        .expect("sessions")
        .iter()
        .find(|s| s["current"] == false)
        .expect("the other session")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/auth/sessions/{theirs}");
    let resp = app.send_as(&token, Method::DELETE, &path, None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    refused(&app, &other, "token_revoked").await;
    held(&app, &token).await;

    // A key revoked; another key of the same user goes on working.
    let doomed = key(&app, &token, "doomed").await;
    let kept = key(&app, &token, "kept").await;
    held(&app, &doomed).await;
    held(&app, &kept).await;
    let keys = json(app.get_as(&token, "/api/auth/keys").await).await;
    let id = keys
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["name"] == "doomed")
        .expect("the key")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let resp = app
        .send_as(
            &token,
            Method::DELETE,
            &format!("/api/auth/keys/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    refused(&app, &doomed, "invalid_api_key").await;
    held(&app, &kept).await;
}
