//! The authentication plugin: registration, login, tokens and their revocation.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, PASSWORD, TestApp, assert_error, json};

fn secret(app: &TestApp) -> Vec<u8> {
    std::fs::read(app.data_dir.path().join("data/jwt_secret")).expect("generated secret")
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(sub: &str, iat: u64, exp: u64) -> Value {
    json!({"sub": sub, "iat": iat, "exp": exp, "jti": "j1", "ver": 0, "iss": "mlx-manager"})
}

async fn me(app: &TestApp, token: &str) -> Value {
    let resp = app.get_as(token, "/api/auth/me").await;
    assert_eq!(resp.status(), StatusCode::OK);
    json(resp).await
}

#[tokio::test]
async fn the_first_account_becomes_an_approved_admin() {
    let app = TestApp::spawn().await;
    let resp = app.register(ADMIN, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let user = json(resp).await;
    assert_eq!(user["is_admin"], true);
    assert_eq!(user["status"], "approved");
    assert!(user["approved_at"].is_string());
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    let token = app.token(ADMIN, PASSWORD).await;
    assert_eq!(me(&app, &token).await["email"], ADMIN);
}

#[tokio::test]
async fn a_pending_user_cannot_log_in() {
    let app = TestApp::spawn().await;
    app.admin_token().await;
    let user = json(app.register("bob@example.com", PASSWORD).await).await;
    assert_eq!(user["status"], "pending");
    assert_eq!(user["is_admin"], false);
    let resp = app.login("bob@example.com", PASSWORD).await;
    assert_error(
        resp,
        StatusCode::FORBIDDEN,
        "account_pending",
        Some("Account pending approval"),
    )
    .await;
}

#[tokio::test]
async fn concurrent_first_registrations_yield_exactly_one_admin() {
    let app = TestApp::spawn().await;
    let registrations = (0..12).map(|i| {
        let client = app.client.clone();
        let url = app.url("/api/auth/register");
        tokio::spawn(async move {
            let resp = client
                .post(url)
                .json(&json!({"email": format!("user{i}@example.com"), "password": PASSWORD}))
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), StatusCode::CREATED);
            resp.json::<Value>().await.expect("json")
        })
    });
    let mut users = Vec::new();
    for r in registrations.collect::<Vec<_>>() {
        users.push(r.await.expect("task"));
    }
    let admins: Vec<_> = users.iter().filter(|u| u["is_admin"] == true).collect();
    assert_eq!(admins.len(), 1, "exactly one admin among {users:?}");
    assert_eq!(admins[0]["status"], "approved");
    assert_eq!(
        users.iter().filter(|u| u["status"] == "pending").count(),
        11
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_yield_one_201() {
    let app = TestApp::spawn().await;
    let attempts = (0..8).map(|i| {
        let client = app.client.clone();
        let url = app.url("/api/auth/register");
        // Case and spacing differ: normalisation makes them one address.
        let email = if i % 2 == 0 {
            "Same@Example.com "
        } else {
            "same@example.com"
        };
        tokio::spawn(async move {
            client
                .post(url)
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .expect("request")
                .status()
        })
    });
    let mut statuses = Vec::new();
    for a in attempts.collect::<Vec<_>>() {
        statuses.push(a.await.expect("task"));
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn emails_are_normalised_everywhere() {
    let app = TestApp::spawn().await;
    let user = json(app.register("  Admin@Example.COM ", PASSWORD).await).await;
    assert_eq!(user["email"], ADMIN);
    let resp = app.register("admin@example.com", PASSWORD).await;
    assert_error(
        resp,
        StatusCode::CONFLICT,
        "email_taken",
        Some("Email already registered"),
    )
    .await;
    let token = app.token("ADMIN@example.com", PASSWORD).await;
    assert_eq!(me(&app, &token).await["email"], ADMIN);
}

#[tokio::test]
async fn bad_emails_and_passwords_are_422() {
    let app = TestApp::spawn().await;
    let resp = app.register("not-an-email", PASSWORD).await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_email",
        Some("Invalid email address"),
    )
    .await;
    let resp = app.register("a@example.com", "short").await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_password",
        Some("Password must be at least 8 characters"),
    )
    .await;
    let resp = app.register("a@example.com", &"x".repeat(129)).await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_password",
        Some("Password must be at most 128 characters"),
    )
    .await;
    let resp = app
        .client
        .post(app.url("/api/auth/register"))
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .expect("request");
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("Invalid request body: missing field `password`"),
    )
    .await;
}

#[tokio::test]
async fn unknown_and_wrong_password_logins_get_identical_responses() {
    let app = TestApp::spawn().await;
    app.admin_token().await;
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    let wrong = app.login(ADMIN, "wrong password").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), wrong.status());
    let headers = |r: &reqwest::Response| {
        let mut h: Vec<(String, String)> = r
            .headers()
            .iter()
            // The date and the request's own id differ by nature.
            .filter(|(k, _)| *k != "date" && *k != "x-request-id")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(&unknown), headers(&wrong));
    let (a, b) = (
        unknown.text().await.expect("body"),
        wrong.text().await.expect("body"),
    );
    assert_eq!(a, b);
    assert!(a.contains("Incorrect email or password"));
}

#[tokio::test]
async fn the_swagger_password_flow_form_logs_in() {
    let app = TestApp::spawn().await;
    app.admin_token().await;
    // Exactly what Swagger UI's "Authorize" sends.
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json, text/plain, */*")
        .header("x-requested-with", "XMLHttpRequest")
        .header("authorization", "Basic Og==")
        .body("grant_type=password&username=admin%40example.com&password=correct%20horse%20battery&scope=")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json(resp).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7 * 24 * 3600);
    let token = body["access_token"].as_str().expect("token");
    // A lower-case scheme works too.
    let resp = app
        .client
        .get(app.url("/api/auth/me"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn other_grant_types_are_refused() {
    let app = TestApp::spawn().await;
    app.admin_token().await;
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("username", ADMIN),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("request");
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
        None,
    )
    .await;
}

#[tokio::test]
async fn tampered_expired_alg_none_and_wrong_algorithm_tokens_are_401() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let id = me(&app, &token).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let key = EncodingKey::from_secret(&secret(&app));

    // A token minted by the test with the server's secret, for a live
    // session (the jti of a real login), works...
    let payload = token.split('.').nth(1).expect("payload");
    let real: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("claims");
    let mut live = claims(&id, now(), now() + 600);
    live["jti"] = real["jti"].clone();
    let good = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &live, &key).expect("encode");
    assert_eq!(
        app.get_as(&good, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    // ...but a well-signed token for a session that does not exist does not:
    // the secret alone cannot make a credential.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&id, now(), now() + 600),
        &key,
    )
    .expect("encode");
    let resp = app.get_as(&forged, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "token_revoked", None).await;

    // ...but not once tampered with: the payload now claims another subject.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims("someone-else", now(), now() + 600).to_string());
    let tampered = parts.join(".");
    let resp = app.get_as(&tampered, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", None).await;

    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&id, now() - 7200, now() - 3600),
        &key,
    )
    .expect("encode");
    let resp = app.get_as(&expired, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "token_expired", None).await;

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(&id, now(), now() + 600).to_string())
    );
    let resp = app.get_as(&none, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", None).await;

    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims(&id, now(), now() + 600),
        &key,
    )
    .expect("encode");
    let resp = app.get_as(&hs512, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", None).await;

    let resp = app.get_as("not.a.jwt", "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", None).await;
}

#[tokio::test]
async fn a_password_reset_revokes_earlier_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (bob, bob_token) = app.approved_user(&admin, "bob@example.com").await;
    let resp = app
        .send_as(
            &admin,
            Method::POST,
            &format!("/api/auth/users/{bob}/reset-password"),
            Some(json!({"password": "a brand new password"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        json(resp).await,
        json!({"message": "Password reset successfully"})
    );
    let resp = app.get_as(&bob_token, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "token_revoked", None).await;
    assert_eq!(
        app.login("bob@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = app.token("bob@example.com", "a brand new password").await;
    assert_eq!(
        app.get_as(&fresh, "/api/auth/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn changing_ones_password_revokes_earlier_tokens_and_returns_a_working_one() {
    let app = TestApp::spawn().await;
    let first = app.admin_token().await;
    let second = app.token(ADMIN, PASSWORD).await;
    let resp = app
        .send_as(
            &first,
            Method::PUT,
            "/api/auth/me/password",
            Some(json!({"current_password": "wrong one!", "new_password": "another password"})),
        )
        .await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong_current_password",
        None,
    )
    .await;
    let resp = app
        .send_as(
            &first,
            Method::PUT,
            "/api/auth/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "another password"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fresh = json(resp).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    for old in [&first, &second] {
        assert_eq!(
            app.get_as(old, "/api/auth/me").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.get_as(&fresh, "/api/auth/me").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login(ADMIN, "another password").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_revokes_only_the_presented_token() {
    let app = TestApp::spawn().await;
    let first = app.admin_token().await;
    let second = app.token(ADMIN, PASSWORD).await;
    let resp = app
        .send_as(&first, Method::POST, "/api/auth/logout", None)
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get_as(&first, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "token_revoked", None).await;
    assert_eq!(
        app.get_as(&second, "/api/auth/me").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn disabled_and_deleted_users_are_cut_off_at_their_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (bob, bob_token) = app.approved_user(&admin, "bob@example.com").await;
    let (carol, carol_token) = app.approved_user(&admin, "carol@example.com").await;
    assert_eq!(
        app.get_as(&bob_token, "/api/auth/me").await.status(),
        StatusCode::OK
    );

    let resp = app
        .send_as(
            &admin,
            Method::PUT,
            &format!("/api/auth/users/{bob}"),
            Some(json!({"status": "disabled"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.get_as(&bob_token, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "account_inactive", None).await;
    let resp = app.login("bob@example.com", PASSWORD).await;
    assert_error(
        resp,
        StatusCode::FORBIDDEN,
        "account_disabled",
        Some("Account disabled"),
    )
    .await;
    // Approved again, bob must log in again: disabling ended his old tokens
    // for good.
    let resp = app
        .send_as(
            &admin,
            Method::PUT,
            &format!("/api/auth/users/{bob}"),
            Some(json!({"status": "approved"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.get_as(&bob_token, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "token_revoked", None).await;
    let fresh = app.token("bob@example.com", PASSWORD).await;
    assert_eq!(
        app.get_as(&fresh, "/api/auth/me").await.status(),
        StatusCode::OK
    );

    let resp = app
        .send_as(
            &admin,
            Method::DELETE,
            &format!("/api/auth/users/{carol}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get_as(&carol_token, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", None).await;
}

#[tokio::test]
async fn closed_registration_refuses_and_open_registration_approves_at_once() {
    let app = TestApp::spawn_with(|f| f.merge(("plugins.auth.registration", "closed"))).await;
    let resp = app.register(ADMIN, PASSWORD).await;
    assert_error(resp, StatusCode::FORBIDDEN, "registration_closed", None).await;

    let app = TestApp::spawn_with(|f| f.merge(("plugins.auth.registration", "open"))).await;
    app.admin_token().await;
    let user = json(app.register("bob@example.com", PASSWORD).await).await;
    assert_eq!(user["status"], "approved");
    assert_eq!(user["is_admin"], false);
    app.token("bob@example.com", PASSWORD).await;
}

#[tokio::test]
async fn a_bootstrap_admin_is_created_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("admin-password");
    std::fs::write(&file, "bootstrap password\n").expect("write");
    let app = TestApp::spawn_with(|f| {
        f.merge(("plugins.auth.bootstrap.email", "Root@Example.com"))
            .merge(("plugins.auth.bootstrap.password_file", file.clone()))
            .merge(("plugins.auth.registration", "closed"))
    })
    .await;
    let token = app.token("root@example.com", "bootstrap password").await;
    let user = me(&app, &token).await;
    assert_eq!(user["is_admin"], true);
    assert_eq!(user["status"], "approved");
    // With an admin present, the next registration is not the first one.
    let app2 = TestApp::spawn_with(|f| {
        f.merge(("plugins.auth.bootstrap.email", "root@example.com"))
            .merge(("plugins.auth.bootstrap.password", "bootstrap password"))
    })
    .await;
    let bob = json(app2.register("bob@example.com", PASSWORD).await).await;
    assert_eq!(bob["is_admin"], false);
    assert_eq!(bob["status"], "pending");
}

#[tokio::test]
async fn a_user_without_admin_rights_gets_403_on_user_management() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, bob) = app.approved_user(&admin, "bob@example.com").await;
    let resp = app.get_as(&bob, "/api/auth/users").await;
    assert_error(
        resp,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("Admin access required"),
    )
    .await;
    let resp = app.get_as(&bob, "/api/auth/users/pending/count").await;
    assert_error(
        resp,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("Admin access required"),
    )
    .await;
}

#[tokio::test]
async fn es256_tokens_work_and_hs256_ones_are_refused() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (private, public) = (
        keys.path().join("private.pem"),
        keys.path().join("public.pem"),
    );
    std::fs::write(&private, ES256_PRIVATE).expect("write");
    std::fs::write(&public, ES256_PUBLIC).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let app = TestApp::spawn_with(|f| {
        f.merge(("plugins.auth.jwt_algorithm", "ES256"))
            .merge(("plugins.auth.jwt_private_key_path", private.clone()))
            .merge(("plugins.auth.jwt_public_key_path", public.clone()))
    })
    .await;
    let token = app.admin_token().await;
    let header = URL_SAFE_NO_PAD
        .decode(token.split('.').next().expect("header"))
        .expect("b64");
    assert!(String::from_utf8_lossy(&header).contains("ES256"));
    let id = me(&app, &token).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Algorithm confusion: an HS256 token keyed with the public key is refused.
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&id, now(), now() + 600),
        &EncodingKey::from_secret(ES256_PUBLIC.as_bytes()),
    )
    .expect("encode");
    let resp = app.get_as(&forged, "/api/auth/me").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", None).await;
}

#[tokio::test]
async fn es256_with_a_world_readable_private_key_does_not_start() {
    let keys = tempfile::tempdir().expect("tempdir");
    let (private, public) = (
        keys.path().join("private.pem"),
        keys.path().join("public.pem"),
    );
    std::fs::write(&private, ES256_PRIVATE).expect("write");
    std::fs::write(&public, ES256_PUBLIC).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let dir = tempfile::tempdir().expect("tempdir");
    let figment = crate::helpers::test_figment(dir.path())
        .merge(("plugins.auth.jwt_algorithm", "ES256"))
        .merge(("plugins.auth.jwt_private_key_path", private))
        .merge(("plugins.auth.jwt_public_key_path", public));
    let config = mlx_manager::config::Config::from_figment(figment).expect("config");
    let err = mlx_manager::startup::Application::build(config)
        .await
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("readable by every user")));
}

#[tokio::test]
async fn a_login_flood_does_not_stall_other_requests() {
    // Default Argon2 parameters (19 MiB, 2 passes): 24 logins queue behind the
    // hashing semaphore while health probes keep being answered.
    let app = TestApp::spawn_with(|f| {
        f.merge(("plugins.auth.argon2.memory_kib", 19456))
            .merge(("plugins.auth.argon2.iterations", 2))
    })
    .await;
    app.admin_token().await;
    let logins: Vec<_> = (0..24)
        .map(|_| {
            let client = app.client.clone();
            let url = app.url("/api/auth/login");
            tokio::spawn(async move {
                client
                    .post(url)
                    .form(&[("username", ADMIN), ("password", "wrong password")])
                    .send()
                    .await
                    .expect("request")
                    .status()
            })
        })
        .collect();
    let mut probes = 0;
    while !logins.iter().all(|l| l.is_finished()) {
        let resp = tokio::time::timeout(Duration::from_secs(2), app.get("/health")).await;
        assert!(
            resp.is_ok(),
            "a health probe waited more than 2 s during the flood"
        );
        probes += 1;
    }
    for l in logins {
        assert_eq!(l.await.expect("task"), StatusCode::UNAUTHORIZED);
    }
    assert!(probes > 1, "the flood ended before a probe could be sent");
}

/// A test-only key pair (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).
const ES256_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfaO59YaK5Mj+XBzq
TB4YbfpwdxeKxLCMukJqf9ba8mehRANCAAT+6StAwULrVbRYKFwjpgZlJNPJZwFR
ZGGjqLaxKOYHJBcwSK1V5WUgXHrxbDDf47c5R6kp7NepEJhUfphmOTGA
-----END PRIVATE KEY-----
";

const ES256_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/ukrQMFC61W0WChcI6YGZSTTyWcB
UWRho6i2sSjmByQXMEitVeVlIFx68Www3+O3OUepKezXqRCYVH6YZjkxgA==
-----END PUBLIC KEY-----
";

#[tokio::test]
async fn a_stream_ticket_works_once_on_its_path_and_dies_with_the_token_that_minted_it() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let logs = "/api/servers/nope/logs";
    // Authenticated by the ticket alone, the request reaches the handler (404).
    let ticket = app.ticket(&token, logs).await;
    let path = format!("{logs}?ticket={ticket}");
    assert_error(
        app.get(&path).await,
        StatusCode::NOT_FOUND,
        "profile_not_found",
        None,
    )
    .await;
    assert_error(
        app.get(&path).await,
        StatusCode::UNAUTHORIZED,
        "invalid_ticket",
        None,
    )
    .await;
    // A ticket is not a bearer token.
    let other = app.ticket(&token, logs).await;
    assert_error(
        app.get_as(&other, "/api/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        None,
    )
    .await;
    // A ticket minted for one stream is refused on another.
    let elsewhere = app.ticket(&token, "/api/servers/other/logs").await;
    assert_error(
        app.get(&format!("{logs}?ticket={elsewhere}")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_ticket",
        None,
    )
    .await;
    // The path must be a path.
    for bad in [
        json!({}),
        json!({"path": "api/x"}),
        json!({"path": "/api/x?ticket=1"}),
    ] {
        let resp = app
            .send_as(&token, Method::POST, "/api/auth/stream-ticket", Some(bad))
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    let ticket = app.ticket(&token, logs).await;
    assert_eq!(
        app.send_as(&token, Method::POST, "/api/auth/logout", None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    // Logging out ended the session and the tickets it minted.
    let resp = app.get(&format!("{logs}?ticket={ticket}")).await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_ticket", None).await;
}
