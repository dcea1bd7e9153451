//! Login throttling (API.md "Login throttling"), black-box: the limits per
//! account and address, per address and per account (with the known-address
//! exemption), 429 with `Retry-After` before the password is looked at, the
//! admin's list and clear, registrations and password changes, and the switch.
//! Addresses other than loopback come through `X-Forwarded-For` from the
//! loopback peer, which these tests list in `server.trusted_proxies`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, PASSWORD, TestApp, json};

async fn app() -> TestApp {
    TestApp::spawn_with(|f| {
        f.merge(("plugins.auth.throttle.enabled", true))
            .merge(("server.trusted_proxies", vec!["127.0.0.1"]))
    })
    .await
}

async fn login_from(app: &TestApp, from: &str, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", from)
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn five_failures_lock_the_account_from_that_address_even_for_the_right_password() {
    let app = app().await;
    let admin = app.admin_token().await;
    for _ in 0..5 {
        let r = login_from(&app, "203.0.113.7", ADMIN, "wrong password!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = login_from(&app, "203.0.113.7", ADMIN, PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((840..=900).contains(&wait), "{wait}");
    assert_eq!(json(locked).await["code"], "too_many_attempts");
    // Another address is not locked for that account.
    let other = login_from(&app, "198.51.100.1", ADMIN, PASSWORD).await;
    assert_eq!(other.status(), StatusCode::OK);
    // The admin sees the lock and clears it.
    let locks = json(app.get_as(&admin, "/api/auth/throttle").await).await;
    let lock = locks
        .as_array()
        .expect("locks")
        .iter()
        .find(|l| l["account"] == ADMIN && l["address"] == "203.0.113.7")
        .cloned()
        .unwrap_or_else(|| panic!("{locks}"));
    assert_eq!(lock["failures"], 5);
    let cleared = app
        .send_as(
            &admin,
            Method::DELETE,
            &format!("/api/auth/throttle?account={ADMIN}&address=203.0.113.7"),
            None,
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let again = login_from(&app, "203.0.113.7", ADMIN, PASSWORD).await;
    assert_eq!(again.status(), StatusCode::OK);
    // The lock is in the audit log.
    let log = json(
        app.get_as(&admin, "/api/audit/events?action=auth.throttle_lock")
            .await,
    )
    .await;
    assert!(
        !log["events"].as_array().expect("events").is_empty(),
        "{log}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn twenty_failures_from_one_address_lock_it_for_every_account() {
    let app = app().await;
    let _admin = app.admin_token().await;
    for n in 0..20 {
        let r = login_from(&app, "203.0.113.8", &format!("nobody{n}@example.com"), "x").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let locked = login_from(&app, "203.0.113.8", ADMIN, PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    app.shutdown().await;
}

#[tokio::test]
async fn the_account_limit_spares_an_address_the_owner_logged_in_from() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("plugins.auth.throttle.enabled", true))
            .merge(("plugins.auth.throttle.account_failures", 10))
            .merge(("server.trusted_proxies", vec!["127.0.0.1"]))
    })
    .await;
    let _admin = app.admin_token().await;
    let home = login_from(&app, "192.0.2.50", ADMIN, PASSWORD).await;
    assert_eq!(home.status(), StatusCode::OK);
    for n in 0..10 {
        let r = login_from(&app, &format!("203.0.113.{n}"), ADMIN, "guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let stranger = login_from(&app, "198.51.100.9", ADMIN, PASSWORD).await;
    assert_eq!(stranger.status(), StatusCode::TOO_MANY_REQUESTS);
    let owner = login_from(&app, "192.0.2.50", ADMIN, PASSWORD).await;
    assert_eq!(
        owner.status(),
        StatusCode::OK,
        "the owner is not locked out"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn registrations_spend_the_address_budget() {
    let app = app().await;
    let register = |n: u32| {
        app.client
            .post(app.url("/api/auth/register"))
            .header("x-forwarded-for", "203.0.113.20")
            .json(&json!({"email": format!("r{n}@example.com"), "password": PASSWORD}))
            .send()
    };
    for n in 0..20 {
        assert_eq!(
            register(n).await.expect("register").status(),
            StatusCode::CREATED
        );
    }
    let refused = register(20).await.expect("register");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_stolen_token_cannot_guess_the_current_password() {
    let app = app().await;
    let token = app.admin_token().await;
    let change = |current: &'static str| {
        app.client
            .put(app.url("/api/auth/me/password"))
            .bearer_auth(&token)
            .header("x-forwarded-for", "203.0.113.30")
            .json(&json!({"current_password": current, "new_password": "a new password 1"}))
            .send()
    };
    for _ in 0..5 {
        let r = change("not the password").await.expect("request");
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = change(PASSWORD).await.expect("request");
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    app.shutdown().await;
}

#[tokio::test]
async fn switched_off_nothing_is_throttled_and_clearing_needs_a_target() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for _ in 0..30 {
        let r = app.login(ADMIN, "wrong").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.login(ADMIN, PASSWORD).await.status(), StatusCode::OK);
    let locks: Value = json(app.get_as(&admin, "/api/auth/throttle").await).await;
    assert_eq!(locks, json!([]));
    let bad = app
        .send_as(&admin, Method::DELETE, "/api/auth/throttle", None)
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.shutdown().await;
}
