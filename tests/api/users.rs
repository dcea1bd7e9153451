//! User administration: listing, approval, updates, deletion, and the last-admin
//! rules for every actor.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, PASSWORD, TestApp, assert_error, json};

async fn register(app: &TestApp, email: &str) -> String {
    let user = json(app.register(email, PASSWORD).await).await;
    user["id"].as_str().expect("id").to_owned()
}

async fn update(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.send_as(
        token,
        Method::PUT,
        &format!("/api/auth/users/{id}"),
        Some(body),
    )
    .await
}

async fn my_id(app: &TestApp, token: &str) -> String {
    json(app.get_as(token, "/api/auth/me").await).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn admins_list_users_newest_first_and_filter_by_status() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bob = register(&app, "bob@example.com").await;
    let carol = register(&app, "carol@example.com").await;
    let users = json(app.get_as(&admin, "/api/auth/users").await).await;
    let emails: Vec<_> = users
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["email"].clone())
        .collect();
    assert_eq!(
        emails,
        vec![
            json!("carol@example.com"),
            json!("bob@example.com"),
            json!(ADMIN)
        ]
    );
    let pending = json(app.get_as(&admin, "/api/auth/users?status=pending").await).await;
    let ids: Vec<_> = pending
        .as_array()
        .expect("array")
        .iter()
        .map(|u| u["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(carol), json!(bob)]);
    let count = json(app.get_as(&admin, "/api/auth/users/pending/count").await).await;
    assert_eq!(count, json!({"count": 2}));
    let resp = app.get_as(&admin, "/api/auth/users?status=bogus").await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", None).await;
}

#[tokio::test]
async fn approving_a_user_records_when_and_by_whom() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let admin_id = my_id(&app, &admin).await;
    let bob = register(&app, "bob@example.com").await;
    let user = json(update(&app, &admin, &bob, json!({"status": "approved"})).await).await;
    assert_eq!(user["status"], "approved");
    assert_eq!(user["approved_by"], admin_id);
    let approved_at = user["approved_at"]
        .as_str()
        .expect("approved_at")
        .to_owned();
    // Disabling and approving again keeps the first approval.
    update(&app, &admin, &bob, json!({"status": "disabled"})).await;
    let user = json(update(&app, &admin, &bob, json!({"status": "approved"})).await).await;
    assert_eq!(user["approved_at"], approved_at);
    app.token("bob@example.com", PASSWORD).await;
}

#[tokio::test]
async fn an_email_change_is_normalised_and_must_be_free() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bob = register(&app, "bob@example.com").await;
    let user =
        json(update(&app, &admin, &bob, json!({"email": " Robert@Example.com"})).await).await;
    assert_eq!(user["email"], "robert@example.com");
    let resp = update(&app, &admin, &bob, json!({"email": "ADMIN@example.com"})).await;
    assert_error(
        resp,
        StatusCode::CONFLICT,
        "email_taken",
        Some("Email already registered"),
    )
    .await;
    let resp = update(&app, &admin, &bob, json!({"email": "nope"})).await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_email",
        None,
    )
    .await;
}

#[tokio::test]
async fn unknown_users_are_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for id in ["doesnotexist", "a%2Fb", "x%27%20OR%201"] {
        let resp = update(&app, &admin, id, json!({"is_admin": true})).await;
        assert_error(
            resp,
            StatusCode::NOT_FOUND,
            "user_not_found",
            Some("User not found"),
        )
        .await;
        let resp = app
            .send_as(
                &admin,
                Method::DELETE,
                &format!("/api/auth/users/{id}"),
                None,
            )
            .await;
        assert_error(resp, StatusCode::NOT_FOUND, "user_not_found", None).await;
        let resp = app
            .send_as(
                &admin,
                Method::POST,
                &format!("/api/auth/users/{id}/reset-password"),
                Some(json!({"password": "long enough"})),
            )
            .await;
        assert_error(resp, StatusCode::NOT_FOUND, "user_not_found", None).await;
    }
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_disabled_or_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = my_id(&app, &admin).await;
    let resp = update(&app, &admin, &me, json!({"is_admin": false})).await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "last_admin",
        Some("Cannot remove last admin"),
    )
    .await;
    let resp = update(&app, &admin, &me, json!({"status": "disabled"})).await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "last_admin",
        Some("Cannot disable last active admin"),
    )
    .await;
    let resp = update(&app, &admin, &me, json!({"status": "pending"})).await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "last_admin",
        Some("Cannot disable last active admin"),
    )
    .await;
    let resp = app
        .send_as(
            &admin,
            Method::DELETE,
            &format!("/api/auth/users/{me}"),
            None,
        )
        .await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "last_admin",
        Some("Cannot delete last admin"),
    )
    .await;
    // Nothing changed.
    let user = json(app.get_as(&admin, "/api/auth/me").await).await;
    assert_eq!(
        (user["is_admin"].clone(), user["status"].clone()),
        (json!(true), json!("approved"))
    );
}

#[tokio::test]
async fn with_a_second_admin_one_may_step_down() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = my_id(&app, &admin).await;
    let (bob, _) = app.approved_user(&admin, "bob@example.com").await;
    assert_eq!(
        update(&app, &admin, &bob, json!({"is_admin": true}))
            .await
            .status(),
        StatusCode::OK
    );
    let user = json(update(&app, &admin, &me, json!({"is_admin": false})).await).await;
    assert_eq!(user["is_admin"], false);
    // The former admin is cut off from user management at once.
    let resp = app.get_as(&admin, "/api/auth/users").await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    for _ in 0..5 {
        let app = TestApp::spawn().await;
        let alice = app.admin_token().await;
        let alice_id = my_id(&app, &alice).await;
        let (bob_id, bob) = app.approved_user(&alice, "bob@example.com").await;
        assert_eq!(
            update(&app, &alice, &bob_id, json!({"is_admin": true}))
                .await
                .status(),
            StatusCode::OK
        );
        let (a, b) = tokio::join!(
            update(&app, &alice, &bob_id, json!({"is_admin": false})),
            update(&app, &bob, &alice_id, json!({"is_admin": false})),
        );
        // The loser is refused by the last-admin rule (400), or, when the winner
        // committed before the loser's request was authorised, as a non-admin (403).
        let statuses = [a.status(), b.status()];
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [
                StatusCode::OK,
                StatusCode::BAD_REQUEST,
                StatusCode::FORBIDDEN
            ]
            .contains(s)),
            "{statuses:?}"
        );
        let admins = json(
            app.get_as(
                if a.status() == StatusCode::OK {
                    &alice
                } else {
                    &bob
                },
                "/api/auth/users",
            )
            .await,
        )
        .await;
        let count = admins
            .as_array()
            .expect("array")
            .iter()
            .filter(|u| u["is_admin"] == true)
            .count();
        assert_eq!(count, 1);
    }
}

#[tokio::test]
async fn deleting_a_user_is_204_then_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bob = register(&app, "bob@example.com").await;
    let path = format!("/api/auth/users/{bob}");
    assert_eq!(
        app.send_as(&admin, Method::DELETE, &path, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send_as(&admin, Method::DELETE, &path, None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // The email is free again.
    assert_eq!(
        app.register("bob@example.com", PASSWORD).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_reset_password_must_satisfy_the_policy() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let bob = register(&app, "bob@example.com").await;
    let resp = app
        .send_as(
            &admin,
            Method::POST,
            &format!("/api/auth/users/{bob}/reset-password"),
            Some(json!({"password": "short"})),
        )
        .await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_password",
        None,
    )
    .await;
}
