//! Roles and permissions: the operation-by-role matrix driven by the OpenAPI
//! document's `x-action`, the 403 wording, role changes and the last-admin rules
//! under concurrency, and the `[permissions]` config.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, json};

const ROLES: [&str; 4] = ["viewer", "user", "operator", "admin"];

fn rank(role: &str) -> usize {
    ROLES.iter().position(|r| *r == role).expect("a role")
}

/// An approved account of each role; email by role.
async fn accounts(app: &TestApp, admin: &str) -> HashMap<&'static str, String> {
    let mut emails = HashMap::new();
    for role in ROLES {
        let email = format!("role-{role}@example.com");
        let (id, _) = app.approved_user(admin, &email).await;
        assert_eq!(
            app.set_role(admin, &id, role).await.status(),
            StatusCode::OK
        );
        emails.insert(role, email);
    }
    emails
}

/// A JSON value of `schema`'s shape with every required property filled, so
/// that the body parses and the handler's own check decides.
fn minimal(doc: &Value, schema: &Value) -> Value {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    if let Some(first) = schema.get("allOf").and_then(|a| a.get(0)) {
        return minimal(doc, first);
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.first().cloned().unwrap_or(Value::Null);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut out = serde_json::Map::new();
            let required = schema["required"].as_array().cloned().unwrap_or_default();
            for name in required.iter().filter_map(Value::as_str) {
                out.insert(name.into(), minimal(doc, &schema["properties"][name]));
            }
            Value::Object(out)
        }
        Some("string") => "probe-value".into(),
        Some("integer") | Some("number") => 1.into(),
        Some("boolean") => false.into(),
        Some("array") => json!([]),
        _ => json!({}),
    }
}

struct Operation {
    method: Method,
    path: String,
    action: String,
    body: Option<Value>,
    id: String,
}

/// Every operation of the served document that names an action.
async fn protected_operations(app: &TestApp) -> Vec<Operation> {
    let doc = json(app.get("/openapi.json").await).await;
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(action) = op.get("x-action").and_then(Value::as_str) else {
                continue;
            };
            let mut url = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "probe" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let required_query: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .filter_map(|p| p["name"].as_str())
                .collect();
            if !required_query.is_empty() {
                let q: Vec<String> = required_query
                    .iter()
                    .map(|n| format!("{n}=probe"))
                    .collect();
                url = format!("{url}?{}", q.join("&"));
            }
            let body = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|media| minimal(&doc, &media["schema"]));
            ops.push(Operation {
                method: method.to_uppercase().parse().expect("method"),
                path: url,
                action: action.to_owned(),
                body,
                id: op["operationId"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    ops
}

#[tokio::test]
async fn every_protected_operation_refuses_exactly_the_roles_below_its_action() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let emails = accounts(&app, &admin).await;
    let defaults: HashMap<String, String> =
        mlx_manager::startup::declared_actions::<mlx_manager::plugins::DefaultPlugins>()
            .into_iter()
            .map(|d| (d.action.to_string(), d.default_role.to_string()))
            .collect();
    let ops = protected_operations(&app).await;
    assert!(ops.len() >= 30, "only {} protected operations", ops.len());
    let mut wrong = Vec::new();
    for op in &ops {
        let least = defaults
            .get(&op.action)
            .unwrap_or_else(|| panic!("{} names the undeclared action {}", op.id, op.action));
        for role in ROLES {
            // A fresh token per call: some operations (logout) revoke theirs.
            let token = app.token(&emails[role], PASSWORD).await;
            let resp = app
                .send_as(&token, op.method.clone(), &op.path, op.body.clone())
                .await;
            let refused = resp.status() == StatusCode::FORBIDDEN;
            let should = rank(role) < rank(least);
            if refused != should {
                wrong.push(format!(
                    "{} {} ({}, least {least}) as {role}: {}",
                    op.method,
                    op.path,
                    op.action,
                    resp.status()
                ));
            }
            if refused {
                let body = json(resp).await;
                let expected = if least == "admin" {
                    "Admin access required".to_owned()
                } else {
                    format!("Requires the {least} role ({})", op.action)
                };
                // The gateway answers in OpenAI's error shape.
                let (detail, code) = if op.path.starts_with("/v1/") {
                    (&body["error"]["message"], &body["error"]["code"])
                } else {
                    (&body["detail"], &body["code"])
                };
                assert_eq!(detail, &expected, "{}", op.id);
                assert_eq!(code, "forbidden", "{}", op.id);
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.shutdown().await;
}

#[tokio::test]
async fn the_document_names_the_action_and_default_role_of_every_protected_operation() {
    let app = TestApp::spawn().await;
    let doc = json(app.get("/openapi.json").await).await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op.get("security").is_none() {
                continue;
            }
            let action = op["x-action"].as_str();
            assert!(action.is_some(), "{method} {path} has no x-action");
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                description.contains("Least role by default: `"),
                "{method} {path}: {description}"
            );
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn users_carry_a_role_and_is_admin_follows_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = json(app.get_as(&admin, "/api/auth/me").await).await;
    assert_eq!(
        (me["role"].as_str(), me["is_admin"].as_bool()),
        (Some("admin"), Some(true))
    );
    let (id, _) = app.approved_user(&admin, "op@example.com").await;
    let user = json(app.set_role(&admin, &id, "operator").await).await;
    assert_eq!(
        (user["role"].as_str(), user["is_admin"].as_bool()),
        (Some("operator"), Some(false))
    );
    let path = format!("/api/auth/users/{id}");
    // is_admin false on a non-admin changes nothing; true makes an admin.
    let same = app
        .send_as(&admin, Method::PUT, &path, Some(json!({"is_admin": false})))
        .await;
    assert_eq!(json(same).await["role"], "operator");
    let promoted = app
        .send_as(&admin, Method::PUT, &path, Some(json!({"is_admin": true})))
        .await;
    assert_eq!(json(promoted).await["role"], "admin");
    let demoted = app
        .send_as(&admin, Method::PUT, &path, Some(json!({"is_admin": false})))
        .await;
    assert_eq!(json(demoted).await["role"], "user");
    let conflict = app
        .send_as(
            &admin,
            Method::PUT,
            &path,
            Some(json!({"is_admin": true, "role": "viewer"})),
        )
        .await;
    assert_eq!(conflict.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(conflict).await["code"], "role_conflict");
    let bad = app
        .send_as(&admin, Method::PUT, &path, Some(json!({"role": "root"})))
        .await;
    assert!(bad.status().is_client_error(), "{}", bad.status());
    app.shutdown().await;
}

#[tokio::test]
async fn a_demoted_user_loses_the_action_at_the_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (id, token) = app.approved_user(&admin, "u@example.com").await;
    let create = |name: &str| json!({"name": name, "model_path": "m/x"});
    let ok = app
        .send_as(&token, Method::POST, "/api/profiles", Some(create("a")))
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    assert_eq!(
        app.set_role(&admin, &id, "viewer").await.status(),
        StatusCode::OK
    );
    let refused = app
        .send_as(&token, Method::POST, "/api/profiles", Some(create("b")))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(refused).await["detail"],
        "Requires the user role (profiles.write)"
    );
    let read = app.get_as(&token, "/api/profiles").await;
    assert_eq!(read.status(), StatusCode::OK, "a viewer still reads");
    app.shutdown().await;
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    for _ in 0..5 {
        let app = TestApp::spawn().await;
        let first = app.admin_token().await;
        let (second_id, _) = app.approved_user(&first, "second@example.com").await;
        assert_eq!(
            app.set_role(&first, &second_id, "admin").await.status(),
            StatusCode::OK
        );
        let second = app.token("second@example.com", PASSWORD).await;
        let me = json(app.get_as(&first, "/api/auth/me").await).await;
        let first_id = me["id"].as_str().expect("id").to_owned();
        let (a, b) = tokio::join!(
            app.set_role(&first, &second_id, "operator"),
            app.set_role(&second, &first_id, "user"),
        );
        let statuses = [a.status(), b.status()];
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(ok, 1, "exactly one demotion wins: {statuses:?}");
        // The other is refused: by the last-admin rule when both passed their
        // admin check before either committed, else as a non-admin already.
        let loser = if a.status() == StatusCode::OK { b } else { a };
        match loser.status() {
            StatusCode::BAD_REQUEST => {
                assert_eq!(json(loser).await["detail"], "Cannot remove last admin")
            }
            StatusCode::FORBIDDEN => assert_eq!(json(loser).await["code"], "forbidden"),
            other => panic!("the second demotion got {other}"),
        }
        // Whoever demoted the other is the admin left.
        let token = if statuses[0] == StatusCode::OK {
            &first
        } else {
            &second
        };
        let users = json(app.get_as(token, "/api/auth/users").await).await;
        let admins = users
            .as_array()
            .expect("users")
            .iter()
            .filter(|u| u["role"] == "admin")
            .count();
        assert_eq!(admins, 1);
        app.shutdown().await;
    }
}

#[tokio::test]
async fn the_last_admin_cannot_demote_themself() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me = json(app.get_as(&admin, "/api/auth/me").await).await;
    let id = me["id"].as_str().expect("id");
    let resp = app.set_role(&admin, id, "operator").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(resp).await["code"], "last_admin");
    app.shutdown().await;
}

#[tokio::test]
async fn new_accounts_get_the_configured_default_role() {
    let app = TestApp::spawn_with(|f| f.merge(("plugins.auth.default_role", "viewer"))).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "v@example.com").await;
    let me = json(app.get_as(&token, "/api/auth/me").await).await;
    assert_eq!(me["role"], "viewer");
    let first = json(app.get_as(&admin, "/api/auth/me").await).await;
    assert_eq!(
        first["role"], "admin",
        "the first account is always the admin"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn permissions_config_moves_an_action_to_another_role() {
    let app = TestApp::spawn_with(|f| {
        f.merge(("permissions.servers.control", "operator"))
            .merge(("permissions", json!({"profiles.read": "user"})))
    })
    .await;
    let admin = app.admin_token().await;
    let (id, token) = app.approved_user(&admin, "u@example.com").await;
    let resp = app
        .send_as(&token, Method::POST, "/api/servers/probe/start", None)
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(resp).await["detail"],
        "Requires the operator role (servers.control)"
    );
    assert_eq!(
        app.set_role(&admin, &id, "operator").await.status(),
        StatusCode::OK
    );
    let resp = app
        .send_as(&token, Method::POST, "/api/servers/probe/start", None)
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "allowed now: the profile is missing"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn bad_permissions_or_audit_config_stops_start_up_naming_the_key() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "permissions",
            json!({"servers.contrl": "user"}),
            "servers.contrl",
        ),
        (
            "permissions",
            json!({"servers.control": "root"}),
            "servers.control",
        ),
        ("plugins.audit", json!({"retention": "0s"}), "retention"),
        ("plugins.audit", json!({"retention": "soon"}), "retention"),
        ("plugins.audit", json!({"keep": "1d"}), "keep"),
    ];
    for (key, value, named) in cases {
        let err = TestApp::try_spawn_with(|f| f.merge((key, value.clone())))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("{key} = {value} started"));
        assert!(err.contains(named), "{key} = {value}: {err}");
    }
}

#[test]
fn only_the_composition_root_names_plugin_crates() {
    let mut offenders = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let names = ["mlx_manager_auth", "mlx_manager_audit"];
            if path != std::path::Path::new("src/plugins.rs")
                && names.iter().any(|n| text.contains(n))
            {
                offenders.push(path.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?} name a plugin crate");
}
