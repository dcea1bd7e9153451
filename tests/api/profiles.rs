//! Profiles: CRUD, defaults, conflicts, next port, duplicate, validation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, json};

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.send_as(token, Method::POST, "/api/profiles", Some(body))
        .await
}

#[tokio::test]
async fn a_profile_is_created_with_the_contract_defaults_and_read_back() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let resp = create(
        &app,
        &token,
        json!({"name": "qwen", "model_path": "mlx-community/Qwen3-8B-4bit"}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let p = json(resp).await;
    assert_eq!(p["port"], 10240, "the first free port");
    assert_eq!(p["model_type"], "lm");
    assert_eq!(p["host"], "127.0.0.1");
    assert_eq!(
        (
            p["max_concurrency"].clone(),
            p["queue_timeout"].clone(),
            p["queue_size"].clone()
        ),
        (json!(1), json!(300), json!(100))
    );
    assert_eq!(p["log_level"], "INFO");
    for flag in [
        "enable_auto_tool_choice",
        "trust_remote_code",
        "no_log_file",
        "auto_start",
        "service_installed",
    ] {
        assert_eq!(p[flag], false, "{flag}");
    }
    assert!(
        p.get("description").is_none(),
        "unset optional fields are absent, not null"
    );
    let id = p["id"].as_str().expect("id");
    let got = json(app.get_as(&token, &format!("/api/profiles/{id}")).await).await;
    assert_eq!(got, p);
}

#[tokio::test]
async fn profiles_are_listed_by_name() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    for name in ["zeta", "alpha", "mu"] {
        create(&app, &token, json!({"name": name, "model_path": "m/x"})).await;
    }
    let list = json(app.get_as(&token, "/api/profiles").await).await;
    let names: Vec<_> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("alpha"), json!("mu"), json!("zeta")]);
}

#[tokio::test]
async fn names_and_ports_are_unique() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    create(
        &app,
        &token,
        json!({"name": "a", "model_path": "m/x", "port": 11000}),
    )
    .await;
    let resp = create(
        &app,
        &token,
        json!({"name": "a", "model_path": "m/y", "port": 11001}),
    )
    .await;
    assert_error(
        resp,
        StatusCode::CONFLICT,
        "name_taken",
        Some("Profile name already exists"),
    )
    .await;
    let resp = create(
        &app,
        &token,
        json!({"name": "b", "model_path": "m/y", "port": 11000}),
    )
    .await;
    assert_error(
        resp,
        StatusCode::CONFLICT,
        "port_taken",
        Some("Port already in use by another profile"),
    )
    .await;
    let b = json(
        create(
            &app,
            &token,
            json!({"name": "b", "model_path": "m/y", "port": 11001}),
        )
        .await,
    )
    .await;
    let path = format!("/api/profiles/{}", b["id"].as_str().expect("id"));
    let resp = app
        .send_as(&token, Method::PUT, &path, Some(json!({"port": 11000})))
        .await;
    assert_error(resp, StatusCode::CONFLICT, "port_taken", None).await;
    let resp = app
        .send_as(&token, Method::PUT, &path, Some(json!({"name": "a"})))
        .await;
    assert_error(resp, StatusCode::CONFLICT, "name_taken", None).await;
}

#[tokio::test]
async fn next_port_fills_gaps() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    create(
        &app,
        &token,
        json!({"name": "a", "model_path": "m/x", "port": 10240}),
    )
    .await;
    create(
        &app,
        &token,
        json!({"name": "b", "model_path": "m/x", "port": 10242}),
    )
    .await;
    assert_eq!(
        json(app.get_as(&token, "/api/profiles/next-port").await).await,
        json!({"port": 10241})
    );
    let c = json(create(&app, &token, json!({"name": "c", "model_path": "m/x"})).await).await;
    assert_eq!(c["port"], 10241);
    assert_eq!(
        json(app.get_as(&token, "/api/profiles/next-port").await).await,
        json!({"port": 10243})
    );
}

#[tokio::test]
async fn a_partial_update_changes_only_what_it_names() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let p = json(
        create(
            &app,
            &token,
            json!({"name": "a", "model_path": "m/x", "description": "d", "queue_size": 7}),
        )
        .await,
    )
    .await;
    let path = format!("/api/profiles/{}", p["id"].as_str().expect("id"));
    let resp = app
        .send_as(
            &token,
            Method::PUT,
            &path,
            Some(json!({"max_concurrency": 4, "description": null, "reasoning_parser": "qwen3"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let u = json(resp).await;
    assert_eq!(u["max_concurrency"], 4);
    assert_eq!(u["queue_size"], 7);
    assert_eq!(u["reasoning_parser"], "qwen3");
    assert!(u.get("description").is_none(), "null cleared it");
    assert_eq!(u["created_at"], p["created_at"]);
}

#[tokio::test]
async fn bad_values_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let cases = [
        (
            json!({"name": "a", "model_path": "m/x", "port": 80}),
            "invalid_profile",
            "port must be between 1024 and 65535",
        ),
        (
            json!({"name": "a", "model_path": "--rm"}),
            "invalid_profile",
            "model_path must not start with '-'",
        ),
        (
            json!({"name": " ", "model_path": "m/x"}),
            "invalid_profile",
            "name must not be empty",
        ),
        (
            json!({"name": "a", "model_path": "m/x", "model_type": "audio"}),
            "invalid_body",
            "",
        ),
        (
            json!({"name": "a", "model_path": "m/x", "prot": 1}),
            "invalid_body",
            "",
        ),
        (
            json!({"name": "a"}),
            "invalid_body",
            "Invalid request body: missing field `model_path`",
        ),
    ];
    for (body, code, detail) in cases {
        let resp = create(&app, &token, body.clone()).await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let err = json(resp).await;
        assert_eq!(err["code"], code, "{body}: {err}");
        if !detail.is_empty() {
            assert_eq!(err["detail"], detail, "{body}");
        }
    }
    assert_eq!(
        json(app.get_as(&token, "/api/profiles").await).await,
        json!([]),
        "nothing was stored"
    );
}

#[tokio::test]
async fn a_duplicate_gets_the_next_free_port_and_no_auto_start() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let p = json(
        create(
            &app,
            &token,
            json!({"name": "a", "model_path": "m/x", "auto_start": true, "queue_size": 9}),
        )
        .await,
    )
    .await;
    let id = p["id"].as_str().expect("id");
    let resp = app
        .send_as(
            &token,
            Method::POST,
            &format!("/api/profiles/{id}/duplicate?new_name=a%20copy"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let d = json(resp).await;
    assert_eq!(d["name"], "a copy");
    assert_eq!(d["port"], 10241);
    assert_eq!(d["auto_start"], false);
    assert_eq!(d["queue_size"], 9);
    assert_ne!(d["id"], p["id"]);
    let resp = app
        .send_as(
            &token,
            Method::POST,
            &format!("/api/profiles/{id}/duplicate?new_name=a"),
            None,
        )
        .await;
    assert_error(resp, StatusCode::CONFLICT, "name_taken", None).await;
    let resp = app
        .send_as(
            &token,
            Method::POST,
            "/api/profiles/nope/duplicate?new_name=b",
            None,
        )
        .await;
    assert_error(
        resp,
        StatusCode::NOT_FOUND,
        "profile_not_found",
        Some("Profile not found"),
    )
    .await;
}

#[tokio::test]
async fn a_deleted_profile_is_gone() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let p = json(create(&app, &token, json!({"name": "a", "model_path": "m/x"})).await).await;
    let path = format!("/api/profiles/{}", p["id"].as_str().expect("id"));
    assert_eq!(
        app.send_as(&token, Method::DELETE, &path, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get_as(&token, &path).await,
        StatusCode::NOT_FOUND,
        "profile_not_found",
        None,
    )
    .await;
    assert_eq!(
        app.send_as(&token, Method::DELETE, &path, None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_profile_and_server_route_is_401_without_a_token() {
    let app = TestApp::spawn().await;
    let routes = [
        (Method::GET, "/api/profiles"),
        (Method::GET, "/api/profiles/next-port"),
        (Method::GET, "/api/profiles/x"),
        (Method::POST, "/api/profiles"),
        (Method::PUT, "/api/profiles/x"),
        (Method::DELETE, "/api/profiles/x"),
        (Method::POST, "/api/profiles/x/duplicate?new_name=y"),
        (Method::GET, "/api/servers"),
        (Method::POST, "/api/servers/x/start"),
        (Method::POST, "/api/servers/x/stop"),
        (Method::POST, "/api/servers/x/restart"),
        (Method::GET, "/api/servers/x/health"),
        (Method::GET, "/api/servers/x/status"),
        (Method::GET, "/api/servers/x/logs"),
        (Method::GET, "/api/system/memory"),
        (Method::GET, "/api/system/info"),
    ];
    for (method, path) in routes {
        let resp = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

#[tokio::test]
async fn concurrent_updates_of_one_profile_all_succeed_and_the_last_one_wins() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "busy", "m/x").await;
    let path = format!("/api/profiles/{}", p["id"].as_str().expect("id"));
    let updates = (0..50).map(|n| {
        let body = serde_json::json!({"description": format!("update {n}")});
        app.send_as(&token, reqwest::Method::PUT, &path, Some(body))
    });
    let answers = futures_util::future::join_all(updates).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let now = json(app.get_as(&token, &path).await).await;
    assert!(
        now["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("update "))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_422_and_a_mistyped_field_is_named() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "shape", "m/x").await;
    let path = format!("/api/profiles/{}", p["id"].as_str().expect("id"));
    let resp = app
        .send_as(&token, Method::PUT, &path, Some(json!(["name", "other"])))
        .await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("Invalid request body: expected a JSON object"),
    )
    .await;
    let me = json(app.get_as(&token, "/api/auth/me").await).await;
    let user_path = format!("/api/auth/users/{}", me["id"].as_str().expect("id"));
    let resp = app
        .send_as(&token, Method::PUT, &user_path, Some(json!({"status": 5})))
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = json(resp).await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Invalid field `status`")),
        "{body}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn null_for_a_field_that_cannot_be_cleared_is_422_naming_it() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "nulls", "m/x").await;
    let path = format!("/api/profiles/{}", p["id"].as_str().expect("id"));
    let resp = app
        .send_as(&token, Method::PUT, &path, Some(json!({"name": null})))
        .await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("Invalid field `name`: must not be null (leave it out instead)"),
    )
    .await;
    // A clearable field still takes null.
    let resp = app
        .send_as(
            &token,
            Method::PUT,
            &path,
            Some(json!({"description": null})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let me = json(app.get_as(&token, "/api/auth/me").await).await;
    let user_path = format!("/api/auth/users/{}", me["id"].as_str().expect("id"));
    for field in ["email", "role", "status", "is_admin"] {
        let resp = app
            .send_as(
                &token,
                Method::PUT,
                &user_path,
                Some(json!({ field: null })),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
    }
    app.shutdown().await;
}
