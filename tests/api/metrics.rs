//! The metrics plugin (API.md "Metrics"): `GET /metrics` parsed by a real
//! OpenMetrics parser, counters that move with traffic, route labels that are
//! templates, gauges from the core and the auth plugin, `metrics.read` for
//! operators, the listener without authentication, and `enabled = false`.

use openmetrics_parser::{
    MetricsExposition, OpenMetricsType, OpenMetricsValue, openmetrics::parse_openmetrics,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, assert_error, free_port, json, poll_until, with_fake_servers},
    models::{MODEL, app_with, hub_with_tiny_model},
};

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// Scrape `/metrics` with `credential` and parse it (a parse failure fails
/// the test, with the text).
async fn scrape(app: &TestApp, credential: &str) -> (Exposition, String) {
    let resp = app.get_as(credential, "/metrics").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    let text = resp.text().await.unwrap();
    parsed(text)
}

fn parsed(text: String) -> (Exposition, String) {
    match parse_openmetrics(&text) {
        Ok(exposition) => (exposition, text),
        Err(e) => panic!("not OpenMetrics: {e:?}\n{text}"),
    }
}

/// The sum of family `name`'s samples whose labels include every pair of
/// `labels` (a histogram's sample counts as its observation count); `None`
/// when the family is missing.
fn value(exposition: &Exposition, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = exposition.families.get(name)?;
    let mut sum = 0.0;
    for sample in family.iter_samples() {
        let set = sample.get_labelset().unwrap();
        if labels
            .iter()
            .all(|(k, v)| set.get_label_value(k) == Some(*v))
        {
            sum += match &sample.value {
                OpenMetricsValue::Counter(c) => c.value.as_f64(),
                OpenMetricsValue::Gauge(g) => g.as_f64(),
                OpenMetricsValue::Histogram(h) => h.count.unwrap_or(0) as f64,
                other => panic!("unexpected value {other:?}"),
            };
        }
    }
    Some(sum)
}

/// Every value of label `label` in family `name`.
fn label_values(exposition: &Exposition, name: &str, label: &str) -> Vec<String> {
    let family = &exposition.families[name];
    family
        .iter_samples()
        .filter_map(|s| {
            s.get_labelset()
                .unwrap()
                .get_label_value(label)
                .map(str::to_owned)
        })
        .collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_the_text_is_openmetrics() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let profile = app.create_profile(&admin, "qwen", "org/qwen").await;
    let path = format!("/api/profiles/{}", id(&profile));
    for _ in 0..2 {
        assert_eq!(app.get_as(&admin, &path).await.status(), StatusCode::OK);
    }
    let missing = app.get_as(&admin, "/api/profiles/no-such-profile").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let nowhere = app.get_as(&admin, "/api/no/such/route/4242").await;
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    let listed = app.get_as(&admin, "/api/profiles").await;
    assert_eq!(listed.status(), StatusCode::OK);

    let (m, text) = scrape(&app, &admin).await;
    let template = [("route", "/api/profiles/{id}"), ("method", "GET")];
    let ok = [template.as_slice(), &[("status", "200")]].concat();
    let not_found = [template.as_slice(), &[("status", "404")]].concat();
    assert_eq!(value(&m, "http_requests", &ok), Some(2.0), "{text}");
    assert_eq!(value(&m, "http_requests", &not_found), Some(1.0));
    assert_eq!(value(&m, "http_request_duration_seconds", &ok), Some(2.0));
    // No raw path is a label: not the id, not the unmatched path.
    let routes = label_values(&m, "http_requests", "route");
    assert!(routes.iter().any(|r| r == "unmatched"), "{routes:?}");
    assert!(
        !text.contains(&id(&profile)) && !text.contains("4242"),
        "{text}"
    );
    assert!(!text.contains("no-such-profile"), "{text}");
    assert!(
        routes
            .iter()
            .all(|r| r == "unmatched" || r.starts_with('/')),
        "{routes:?}"
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        value(&m, "mlx_manager_build_info", &[("version", version)]),
        Some(1.0)
    );
    // The auth plugin's gauges, counted in the store at the scrape.
    assert_eq!(
        value(&m, "auth_users", &[("status", "approved")]),
        Some(1.0)
    );
    assert_eq!(value(&m, "auth_users", &[("status", "pending")]), Some(0.0));
    assert_eq!(value(&m, "auth_api_keys_active", &[]), Some(0.0));
    // The guard read the admin's session from the store at least once.
    let session = value(
        &m,
        "store_query_duration_seconds",
        &[("op", "auth.session")],
    );
    assert!(session.unwrap_or(0.0) >= 1.0, "{text}");
    // The profile reads: two found, one not; the listing read the table once.
    let op = |name| value(&m, "store_query_duration_seconds", &[("op", name)]);
    assert!(op("profiles.get").unwrap_or(0.0) >= 2.0, "{text}");
    assert!(op("profiles.list").unwrap_or(0.0) >= 1.0, "{text}");

    // The counters move: the first scrape is counted in the second, and a
    // new key and a pending account show in the gauges.
    app.create_key(&admin, json!({"name": "scraper"})).await;
    assert_eq!(
        app.register("new@example.com", "a long passphrase")
            .await
            .status(),
        StatusCode::CREATED
    );
    let (m, _) = scrape(&app, &admin).await;
    let scrapes = [("route", "/metrics"), ("status", "200")];
    assert_eq!(value(&m, "http_requests", &scrapes), Some(1.0));
    assert_eq!(value(&m, "auth_api_keys_active", &[]), Some(1.0));
    assert_eq!(value(&m, "auth_users", &[("status", "pending")]), Some(1.0));
    assert_eq!(value(&m, "http_requests", &ok), Some(2.0));
}

#[tokio::test]
async fn logins_are_counted_by_outcome() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let wrong = app.login(crate::helpers::ADMIN, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // Events travel on the bus: poll until the plugin has counted them.
    let (ok, denied) = poll_until(
        std::time::Duration::from_secs(5),
        "logins counted",
        || async {
            let (m, _) = scrape(&app, &admin).await;
            let ok = value(&m, "auth_logins", &[("outcome", "ok")])?;
            let denied = value(&m, "auth_logins", &[("outcome", "denied")])?;
            (ok >= 1.0 && denied >= 1.0).then_some((ok, denied))
        },
    )
    .await;
    assert_eq!((ok, denied), (1.0, 1.0));
}

#[tokio::test]
async fn reading_the_metrics_needs_the_operator_role_with_a_token_or_a_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let anonymous = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (user_id, user) = app.approved_user(&admin, "user@example.com").await;
    assert_error(
        app.get_as(&user, "/metrics").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("Requires the operator role (metrics.read)"),
    )
    .await;
    let promoted = app.set_role(&admin, &user_id, "operator").await;
    assert_eq!(promoted.status(), StatusCode::OK);
    scrape(&app, &user).await;
    // A key limited to metrics.read is enough, in X-API-Key as a scraper
    // would send it.
    let scope = json!({"name": "prometheus", "actions": ["metrics.read"]});
    let key = app.create_key(&admin, scope).await;
    let resp = app
        .client
        .get(app.url("/metrics"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    parsed(resp.text().await.unwrap());
    // That key may do nothing else.
    let resp = app
        .client
        .get(app.url("/api/profiles"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_listener_of_its_own_serves_without_credentials_and_off_means_404() {
    let port = free_port();
    let app = TestApp::spawn_with(move |f| {
        f.merge(("plugins.metrics.listen", format!("127.0.0.1:{port}")))
    })
    .await;
    let admin = app.admin_token().await;
    assert_eq!(app.get_as(&admin, "/health").await.status(), StatusCode::OK);
    let resp = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"));
    let (m, _) = parsed(resp.text().await.unwrap());
    let health = [("route", "/health"), ("status", "200")];
    assert_eq!(value(&m, "http_requests", &health), Some(1.0));
    assert_eq!(
        value(&m, "auth_users", &[("status", "approved")]),
        Some(1.0)
    );
    // It serves nothing else.
    let other = app
        .client
        .get(format!("http://127.0.0.1:{port}/api/profiles"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);

    let off = TestApp::spawn_with(|f| f.merge(("plugins.metrics.enabled", false))).await;
    let admin = off.admin_token().await;
    assert_error(
        off.get_as(&admin, "/metrics").await,
        StatusCode::NOT_FOUND,
        "metrics_off",
        None,
    )
    .await;
}

#[tokio::test]
async fn model_servers_and_gateway_requests_show_in_the_series() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let admin = app.admin_token().await;
    let profile = app.create_profile(&admin, "qwen", "org/qwen").await;
    let resp = app.server_action(&admin, &id(&profile), "start").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .send_as(
            &admin,
            Method::POST,
            "/v1/chat/completions",
            Some(json!({"model": "qwen", "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let usage = json(resp).await["usage"].clone();

    let qwen = [("profile", "qwen")];
    let m = poll_until(
        std::time::Duration::from_secs(5),
        "servers and gateway",
        || async {
            let (m, _) = scrape(&app, &admin).await;
            let started = value(&m, "server_starts", &qwen)? >= 1.0;
            let running = value(&m, "servers", &[("state", "running")])? == 1.0;
            let answered = value(
                &m,
                "gateway_requests",
                &[("profile", "qwen"), ("status", "200")],
            )?;
            (started && running && answered == 1.0).then_some(m)
        },
    )
    .await;
    assert!(value(&m, "server_memory_bytes", &qwen).unwrap() > 0.0);
    assert_eq!(value(&m, "servers", &[("state", "starting")]), Some(0.0));
    assert_eq!(value(&m, "gateway_in_flight", &qwen), Some(0.0));
    assert_eq!(value(&m, "gateway_queue_depth", &qwen), Some(0.0));
    assert_eq!(
        value(&m, "gateway_time_to_first_byte_seconds", &qwen),
        Some(1.0)
    );
    let prompt = value(
        &m,
        "gateway_tokens",
        &[("profile", "qwen"), ("kind", "prompt")],
    );
    assert_eq!(prompt, usage["prompt_tokens"].as_f64());
    let completion = value(
        &m,
        "gateway_tokens",
        &[("profile", "qwen"), ("kind", "completion")],
    );
    assert_eq!(completion, usage["completion_tokens"].as_f64());
    // The gateway's route is a template too.
    let routes = label_values(&m, "http_requests", "route");
    assert!(
        routes.iter().any(|r| r == "/v1/chat/completions"),
        "{routes:?}"
    );
}

#[tokio::test]
async fn downloaded_bytes_are_counted() {
    let hub = hub_with_tiny_model().await;
    let app = app_with(&hub).await;
    let admin = app.admin_token().await;
    let task_id = app.download_task(&admin, MODEL).await;
    let task = app.wait_for_end(&admin, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let total = task["total_bytes"].as_f64().unwrap();
    let (m, _) = poll_until(
        std::time::Duration::from_secs(5),
        "download counted",
        || async {
            let (m, text) = scrape(&app, &admin).await;
            let finished = value(&m, "downloads", &[("outcome", "finished")])?;
            (finished == 1.0).then_some((m, text))
        },
    )
    .await;
    assert_eq!(value(&m, "download_bytes", &[]), Some(total));
}

#[tokio::test]
async fn health_answers_while_logins_keep_every_hashing_thread_busy() {
    // Slow hashes (64 MiB, 4 passes) on two hashing threads, no throttling.
    let app = TestApp::spawn_with(|f| {
        f.merge(("plugins.auth.argon2.memory_kib", 64 * 1024))
            .merge(("plugins.auth.argon2.iterations", 4))
            .merge(("plugins.auth.max_concurrent_hashes", 2))
            .merge(("plugins.auth.throttle.enabled", false))
    })
    .await;
    let admin = app.admin_token().await;
    let logins: Vec<_> = (0..20)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url("/api/auth/login"));
            tokio::spawn(async move {
                let form = [
                    ("grant_type", "password"),
                    ("username", crate::helpers::ADMIN),
                    ("password", "not it"),
                ];
                client
                    .post(url)
                    .form(&form)
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    let in_flight = |m: &Exposition| value(m, "auth_hashes_in_flight", &[]);
    poll_until(
        std::time::Duration::from_secs(20),
        "the hashing threads busy",
        || async {
            let (m, _) = scrape(&app, &admin).await;
            (in_flight(&m) == Some(2.0)).then_some(())
        },
    )
    .await;
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // Still both busy (more logins were waiting): /health was answered
    // beside the hashes, not after them.
    let (m, _) = scrape(&app, &admin).await;
    assert_eq!(in_flight(&m), Some(2.0));
    for login in logins {
        assert_eq!(login.await.unwrap().unwrap(), StatusCode::UNAUTHORIZED);
    }
    let (m, _) = scrape(&app, &admin).await;
    assert_eq!(in_flight(&m), Some(0.0));
}
