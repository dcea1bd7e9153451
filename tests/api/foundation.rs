//! The skeleton: probes, docs, the committed document, body limit, JSON errors,
//! fail-closed authentication, migrations and configuration.

use std::path::Path;

use figment::providers::{Format, Toml};
use mlx_manager::{
    config::{Config, Settings},
    sdk::{Migration, Plugin, PluginContext, PluginError},
    startup::{self, Application},
    store,
};
use reqwest::StatusCode;

use crate::helpers::{TestApp, assert_error, json, test_figment};

#[tokio::test]
async fn health_answers_healthy() {
    let app = TestApp::spawn().await;
    let resp = app.get("/health").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await, serde_json::json!({"status": "healthy"}));
    app.shutdown().await;
}

#[tokio::test]
async fn ready_answers_ready_when_the_store_answers() {
    let app = TestApp::spawn().await;
    let resp = app.get("/ready").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await, serde_json::json!({"status": "ready"}));
}

#[tokio::test]
async fn the_docs_page_serves_swagger_ui_with_the_password_flow() {
    let app = TestApp::spawn().await;
    for path in ["/docs", "/docs/"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let html = resp.text().await.expect("html");
        assert!(html.contains("SwaggerUIBundle"), "{path} is Swagger UI");
        assert!(
            html.contains("/api/auth/login"),
            "{path} embeds the token URL"
        );
    }
}

#[tokio::test]
async fn the_docs_page_shows_the_served_document_and_has_the_oauth2_redirect_page() {
    let app = TestApp::spawn().await;
    let served = app.get("/openapi.json").await.text().await.expect("text");
    let html = app.get("/docs").await.text().await.expect("html");
    assert!(
        html.contains(&served),
        "Swagger UI embeds the tidied document (mlx_manager::openapi), not poem-openapi's raw one"
    );
    let resp = app.get("/docs/oauth-receiver.html").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.expect("html").contains("oauth2"));
}

#[tokio::test]
async fn the_served_document_equals_the_committed_file() {
    let app = TestApp::spawn().await;
    let resp = app.get("/openapi.json").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let served = resp.text().await.expect("text");
    let committed = std::fs::read_to_string("openapi/openapi.json").expect("committed document");
    assert!(
        served.trim_end() == committed.trim_end(),
        "GET /openapi.json differs from openapi/openapi.json; run `cargo run -- openapi --output openapi/openapi.json`"
    );
}

#[test]
fn the_committed_document_is_up_to_date() {
    let generated = startup::openapi_json();
    let committed = std::fs::read_to_string("openapi/openapi.json").unwrap_or_default();
    if generated.trim_end() != committed.trim_end() {
        let first = generated
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(generated.lines().count().min(committed.lines().count()));
        panic!(
            "openapi/openapi.json is stale (first difference at line {}):\n  code:      {}\n  committed: {}\nRegenerate it with `cargo run -- openapi --output openapi/openapi.json`, then regenerate the TypeScript client (`npm run generate` in openapi/client).",
            first + 1,
            generated.lines().nth(first).unwrap_or("<end>"),
            committed.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

#[test]
fn the_document_declares_the_oauth2_password_flow_and_a_bearer_scheme() {
    let doc: serde_json::Value = serde_json::from_str(&startup::openapi_json()).expect("json");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["OAuth2PasswordBearer"]["type"], "oauth2");
    assert_eq!(
        schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"],
        "/api/auth/login"
    );
    assert!(schemes["OAuth2PasswordBearer"]["flows"]["password"]["scopes"].is_object());
    assert_eq!(schemes["BearerJWT"]["type"], "http");
    assert_eq!(schemes["BearerJWT"]["scheme"], "bearer");
    assert_eq!(schemes["ApiKey"]["type"], "apiKey");
    assert_eq!(schemes["ApiKey"]["in"], "header");
    assert_eq!(schemes["ApiKey"]["name"], "X-API-Key");
    assert!(doc["components"]["schemas"]["ApiError"]["properties"]["detail"].is_object());
}

#[test]
fn every_protected_operation_names_its_security_and_its_action() {
    let doc: serde_json::Value = serde_json::from_str(&startup::openapi_json()).expect("json");
    let public = ["getHealth", "getReady", "register", "login"];
    let self_service = ["logout", "getMe", "changeMyPassword", "createStreamTicket"];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id} has a tag"
            );
            assert!(op["summary"].is_string(), "{id} has a summary");
            if public.contains(&id) {
                assert!(op.get("security").is_none(), "{id} is public");
                continue;
            }
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{id} has no security"));
            assert!(
                security
                    .iter()
                    .any(|s| s.get("OAuth2PasswordBearer").is_some()),
                "{id} accepts the OAuth2 token"
            );
            assert!(
                security.iter().any(|s| s.get("ApiKey").is_some()),
                "{id} declares the API key scheme"
            );
            assert!(op["responses"]["401"].is_object(), "{id} documents 401");
            if !self_service.contains(&id) {
                let description = op["description"].as_str().unwrap_or_default();
                assert!(
                    description.starts_with("Action: `"),
                    "{id} names its action: {description}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let app = TestApp::spawn_with(|f| f.merge(("server.body_limit_bytes", 1024))).await;
    let big = format!(
        "{{\"email\":\"a@x.com\",\"password\":\"{}\"}}",
        "x".repeat(2000)
    );
    let resp = app
        .client
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .expect("request");
    assert_error(
        resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await;

    // The same body sent chunked, without a Content-Length, is refused too.
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(big.into_bytes())]);
    let resp = app
        .client
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("request");
    assert_error(
        resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await;

    // Over HTTP/2 (cleartext) a streamed body carries neither header; refused too.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("h2 client");
    let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(vec![b' '; 4096])]);
    let resp = h2
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_error(
        resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await;
}

#[tokio::test]
async fn framework_errors_are_json_with_a_sentence() {
    let app = TestApp::spawn().await;
    assert_error(
        app.get("/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    let resp = app
        .client
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\": 1, \"password\": \"long enough\"}")
        .send()
        .await
        .expect("request");
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        Some("Invalid field `email`: invalid type: integer `1`, expected a string"),
    )
    .await;
    let resp = app
        .client
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("request");
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", None).await;
    let resp = app.get("/api/system/memory").await;
    assert_error(
        resp,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
        Some("Not authenticated"),
    )
    .await;
}

#[tokio::test]
async fn without_an_authenticator_every_protected_call_is_401() {
    let app = TestApp::spawn_plugins::<()>(|f| f).await;
    let resp = app.get("/api/system/memory").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "not_authenticated", None).await;
    let resp = app.get_as("anything", "/api/system/info").await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "not_authenticated", None).await;
    // The public probes still work.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cors_is_off_by_default_and_follows_the_configured_origins() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .get(app.url("/health"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("request");
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let app =
        TestApp::spawn_with(|f| f.merge(("server.cors_origins", vec!["http://ui.example"]))).await;
    let resp = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/auth/me"))
        .header("origin", "http://ui.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://ui.example")
    );
}

#[tokio::test]
async fn migrations_run_once_each() {
    // The second migration would fail if it ran twice: the record already exists.
    const ONCE: &[Migration] = &[
        Migration {
            version: 1,
            name: "a table",
            sql: "DEFINE TABLE counter SCHEMAFULL; DEFINE FIELD n ON counter TYPE int;",
        },
        Migration {
            version: 2,
            name: "a row",
            sql: "CREATE counter:one SET n = 1;",
        },
    ];
    let db = surrealdb::engine::any::connect("mem://")
        .await
        .expect("mem");
    db.use_ns("t").use_db("t").await.expect("ns");
    let sets = [("core", mlx_manager::migrations::CORE), ("demo", ONCE)];
    store::migrate(&db, "local", &sets)
        .await
        .expect("first run");
    store::migrate(&db, "local", &sets)
        .await
        .expect("second run applies nothing");
    let applied = store::applied(&db).await.expect("ledger");
    let demo: Vec<_> = applied
        .iter()
        .filter(|m| m.scope == "demo")
        .map(|m| m.version)
        .collect();
    assert_eq!(demo, vec![1, 2], "{applied:?}");

    // A third migration added later is applied on the next start, alone.
    const MORE: &[Migration] = &[
        ONCE[0],
        ONCE[1],
        Migration {
            version: 3,
            name: "another row",
            sql: "CREATE counter:two SET n = 2;",
        },
    ];
    store::migrate(&db, "local", &[("demo", MORE)])
        .await
        .expect("third run");
    let applied = store::applied(&db).await.expect("ledger");
    assert_eq!(applied.iter().filter(|m| m.scope == "demo").count(), 3);
}

/// A plugin whose only migration is broken.
struct BrokenPlugin;

/// `[plugins.broken]` has no keys.
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoConfig {}

impl Plugin for BrokenPlugin {
    const NAME: &'static str = "broken";
    const MIGRATIONS: &'static [Migration] = &[Migration {
        version: 1,
        name: "a broken statement",
        sql: "DEFINE TABLE broken SCHEMAFULL; DEFINE FIELD n ON broken TYPE int; CREATE broken:1 SET n = 'not a number';",
    }];
    type Config = NoConfig;
    type Api = ();

    async fn init(_: NoConfig, _: &mut PluginContext) -> Result<Self, PluginError> {
        Ok(BrokenPlugin)
    }
}

#[tokio::test]
async fn a_failed_migration_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::from_figment(test_figment(dir.path())).expect("config");
    let err = Application::<(BrokenPlugin,)>::build_with(config)
        .await
        .err()
        .map(|e| e.to_string());
    let err = err.expect("start-up fails");
    assert!(
        err.contains("migration broken #1 (a broken statement) failed"),
        "{err}"
    );
    assert!(
        err.contains("not a number"),
        "the store's reason is shown: {err}"
    );
}

#[test]
fn the_committed_config_file_documents_every_key_with_its_default() {
    let text = std::fs::read_to_string("config.toml").expect("config.toml");
    let config = Config::from_figment(Config::defaults().merge(Toml::file_exact("config.toml")))
        .expect("config.toml parses");
    assert_eq!(config.settings.server, Settings::default().server);
    assert_eq!(
        Settings {
            plugins: Default::default(),
            ..config.settings.clone()
        },
        Settings::default(),
        "config.toml states the defaults"
    );
    let auth: mlx_manager_auth::config::AuthConfig = config.plugin("auth").expect("auth section");
    assert_eq!(
        auth,
        Default::default(),
        "[plugins.auth] states the defaults"
    );
    let audit: mlx_manager_audit::config::AuditConfig =
        config.plugin("audit").expect("audit section");
    assert_eq!(
        audit,
        Default::default(),
        "[plugins.audit] states the defaults"
    );
    let metrics: mlx_manager_metrics::config::MetricsConfig =
        config.plugin("metrics").expect("metrics section");
    assert_eq!(
        metrics,
        Default::default(),
        "[plugins.metrics] states the defaults"
    );
    // Every declared action's default least role is written in [permissions].
    for decl in mlx_manager::startup::declared_actions::<mlx_manager::plugins::DefaultPlugins>() {
        let line = format!("# \"{}\" = \"{}\"", decl.action, decl.default_role);
        assert!(text.contains(&line), "config.toml does not show `{line}`");
    }

    // Every key of the defaults appears in the file, set or commented out.
    let defaults = toml::Value::try_from(Settings::default()).expect("toml");
    let auth =
        toml::Value::try_from(mlx_manager_auth::config::AuthConfig::default()).expect("toml");
    let mut keys = Vec::new();
    collect_keys("", &defaults, &mut keys);
    collect_keys("plugins.auth", &auth, &mut keys);
    let audit =
        toml::Value::try_from(mlx_manager_audit::config::AuditConfig::default()).expect("toml");
    collect_keys("plugins.audit", &audit, &mut keys);
    let metrics =
        toml::Value::try_from(mlx_manager_metrics::config::MetricsConfig::default()).expect("toml");
    collect_keys("plugins.metrics", &metrics, &mut keys);
    // Settings without a default (absent from the serialised defaults).
    for key in [
        "database.url",
        "database.username",
        "database.password",
        "servers.working_dir",
        "hub.token",
        "hub.organization",
        "server.tls.cert_path",
        "server.tls.key_path",
        "plugins.auth.jwt_private_key_path",
        "plugins.auth.jwt_public_key_path",
        "plugins.auth.bootstrap.email",
        "plugins.auth.bootstrap.password_file",
        "plugins.metrics.listen",
        "node.name",
    ] {
        keys.push(key.to_owned());
    }
    let documented = documented_keys(&text);
    for key in keys {
        assert!(
            documented.contains(&key),
            "config.toml does not document `{key}` in its section"
        );
    }
}

/// Every `section.key` that `text` sets or shows commented out: a `key = `
/// line (with or without `# `) under the last `[section]` header before it
/// (commented headers count: `# [server.tls]`).
fn documented_keys(text: &str) -> std::collections::BTreeSet<String> {
    let mut section = String::new();
    let mut out = std::collections::BTreeSet::new();
    for line in text.lines() {
        let l = line.trim_start_matches(['#', ' ']);
        if let Some(header) = l.strip_prefix('[').and_then(|h| h.split_once(']')) {
            if !header.0.contains(['"', ' ']) {
                section = header.0.to_owned();
            }
            continue;
        }
        if let Some((key, _)) = l.split_once(" =")
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.insert(if section.is_empty() {
                key.to_owned()
            } else {
                format!("{section}.{key}")
            });
        }
    }
    out
}

fn collect_keys(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
    if let toml::Value::Table(t) = value {
        for (k, v) in t {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_table() {
                collect_keys(&path, v, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[test]
fn config_check_prints_the_effective_config_without_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let figment = crate::helpers::with_fast_hashing(test_figment(dir.path()))
        .merge((
            "plugins.auth.jwt_secret",
            "a-very-secret-value-that-is-long-enough",
        ))
        .merge(("database.password", "db-password"));
    let config = Config::from_figment(figment).expect("config");
    let text = mlx_manager::cli::effective_config(&config).expect("effective config");
    assert!(!text.contains("a-very-secret-value"), "{text}");
    assert!(!text.contains("db-password"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
    assert!(
        text.contains("memory_kib = 1024"),
        "plugin sections are shown: {text}"
    );
    assert!(Path::new("config.toml").exists());
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_auth_answers_are_never_cached() {
    let app = TestApp::spawn().await;
    for path in [
        "/health",
        "/docs",
        "/openapi.json",
        "/api/profiles",
        "/nowhere",
    ] {
        let resp = app.get(path).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .is_ok_and(|v| v.contains("frame-ancestors 'none'")),
            "{path}"
        );
    }
    let resp = app
        .register("cache@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let resp = app
        .login("cache@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(
        app.get("/health")
            .await
            .headers()
            .get("cache-control")
            .is_none()
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_method_the_route_does_not_take_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .patch(app.url("/api/profiles/abc"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET, PUT, DELETE");
    let resp = app
        .client
        .delete(app.url("/health"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET");
    app.shutdown().await;
}

#[tokio::test]
async fn a_request_for_a_host_that_is_not_allowed_is_421() {
    let app = TestApp::spawn().await;
    let port = app.address.rsplit(':').next().expect("port").to_owned();
    let get = |host: String| {
        app.client
            .get(app.url("/api/auth/register"))
            .header("host", host)
            .send()
    };
    let rebinding = get("evil.example".into()).await.expect("request");
    assert_eq!(rebinding.status(), reqwest::StatusCode::MISDIRECTED_REQUEST);
    let body = json(rebinding).await;
    assert_eq!(body["code"], "host_not_allowed");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("server.allowed_hosts"))
    );
    let also = get(format!("evil.example:{port}")).await.expect("request");
    assert_eq!(also.status(), reqwest::StatusCode::MISDIRECTED_REQUEST);
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "LOCALHOST".into(),
    ] {
        let ok = get(host.clone()).await.expect("request");
        assert_ne!(
            ok.status(),
            reqwest::StatusCode::MISDIRECTED_REQUEST,
            "{host}"
        );
    }
    app.shutdown().await;

    let app = TestApp::spawn_with(|f| f.merge(("server.allowed_hosts", vec!["lab.example"]))).await;
    let resp = app
        .client
        .get(app.url("/health"))
        .header("host", "lab.example")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let resp = app.get("/health").await;
    assert_eq!(
        resp.status(),
        reqwest::StatusCode::MISDIRECTED_REQUEST,
        "only the listed hosts"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_document_lists_415_where_a_body_is_taken_and_bounds_bounded_parameters() {
    let app = TestApp::spawn().await;
    let doc = json(app.get("/openapi.json").await).await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if path.starts_with("/v1/") {
            // The gateway's errors are OpenAI's table: a body goes upstream
            // with its own content type, and the model server judges it.
            continue;
        }
        for (method, op) in item.as_object().expect("item") {
            let takes_body = op.get("requestBody").is_some();
            let lists_415 = op["responses"].get("415").is_some();
            assert_eq!(takes_body, lists_415, "{method} {path}");
        }
    }
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or_else(|| panic!("{path} {name}"))
    };
    assert_eq!(
        param("/api/servers/{profile_id}/logs", "lines")["maximum"],
        10000.0
    );
    let limit = param("/api/models/search", "limit");
    assert_eq!(
        (limit["minimum"].as_f64(), limit["maximum"].as_f64()),
        (Some(1.0), Some(100.0))
    );
    let resp = app
        .client
        .post(app.url("/api/auth/register"))
        .header("content-type", "text/plain")
        .body("email=a@x.com")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json(resp).await["code"], "unsupported_media_type");
    app.shutdown().await;
}

#[tokio::test]
async fn tls_from_config_serves_https_with_hsts() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("CI").is_none(), "openssl is missing in CI");
        eprintln!("skipped: the openssl program is not installed");
        return;
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let loose = TestApp::try_spawn_with(|f| {
        f.merge(("server.tls.cert_path", cert.clone()))
            .merge(("server.tls.key_path", key.clone()))
    })
    .await;
    let err = loose.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        err.contains("key_path") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let app = TestApp::spawn_with(|f| {
        f.merge(("server.tls.cert_path", cert.clone()))
            .merge(("server.tls.key_path", key.clone()))
    })
    .await;
    let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).expect("cert")).expect("pem");
    let client = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .expect("client");
    let https = app.address.replace("http://", "https://");
    let resp = client
        .get(format!("{https}/health"))
        .send()
        .await
        .expect("https request");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let plain = app.client.get(app.url("/health")).send().await;
    assert!(
        plain.as_ref().map_or(true, |r| !r.status().is_success()),
        "plain HTTP is not served: {plain:?}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn allow_names_the_most_specific_route_for_ids_with_a_slash() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/api/models/config/org/name"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET");
    app.shutdown().await;
}

#[test]
fn every_error_code_is_snake_case_and_declared_once_across_the_crates() {
    let tables: [(&str, &[mlx_manager::sdk::ErrorCode]); 4] = [
        ("sdk", mlx_manager::sdk::codes::ALL),
        ("core", mlx_manager::api::codes::ALL),
        ("auth", mlx_manager_auth::error::codes::ALL),
        ("audit", mlx_manager_audit::codes::ALL),
    ];
    let mut seen = std::collections::BTreeMap::new();
    for (crate_name, codes) in tables {
        assert!(!codes.is_empty(), "{crate_name} has codes");
        for code in codes {
            assert!(
                code.is_well_formed(),
                "{crate_name}: {code} is not snake_case"
            );
            if let Some(other) = seen.insert(code.as_str(), crate_name) {
                panic!("{code} is declared by both {other} and {crate_name}");
            }
        }
    }
    assert!(seen.len() > 60, "{} codes", seen.len());
}
