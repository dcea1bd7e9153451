//! The local library, model ids, the Hub token, and access control.

use reqwest::StatusCode;
use serde_json::json;

use super::{
    COMMIT, MODEL, WEIGHTS, app_with, hub_with_tiny_model, repo_dir, search::search_results,
    tiny_model,
};
use crate::{
    fake_hub::{FakeHub, Fault},
    helpers::{TestApp, assert_error, json},
};

#[tokio::test]
async fn downloaded_models_are_listed_with_characteristics_and_can_be_deleted() {
    let hub = hub_with_tiny_model().await;
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    assert_eq!(
        app.wait_for_end(&token, &task_id).await["status"],
        "completed"
    );

    let local = app.local_models(&token).await;
    let local = local.as_array().expect("array");
    assert_eq!(local.len(), 1);
    let model = &local[0];
    assert_eq!(model["model_id"], MODEL);
    let snapshot = repo_dir(&app).join("snapshots").join(COMMIT);
    assert_eq!(model["local_path"], snapshot.display().to_string());
    let size: u64 = tiny_model().files.iter().map(|f| f.content.len()).sum();
    assert_eq!(model["size_bytes"], size);
    assert_eq!(model["size_gb"], 0.0);
    assert_eq!(model["characteristics"]["model_type"], "qwen2");
    assert_eq!(model["characteristics"]["quantization_bits"], 4);
    assert_eq!(model["characteristics"]["is_multimodal"], false);

    for path in [
        format!("/api/models/config/{MODEL}"),
        "/api/models/config/mlx-community%2FTiny-0.5B-4bit".to_owned(),
    ] {
        let resp = app.get_as(&token, &path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let config = json(resp).await;
        assert_eq!(config["max_position_embeddings"], 32768, "{path}");
        assert_eq!(config["architectures"], json!(["Qwen2ForCausalLM"]));
    }

    let resp = app.delete_model(&token, MODEL).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await, json!({"deleted": true}));
    assert!(!repo_dir(&app).exists());
    assert_eq!(app.local_models(&token).await, json!([]));
    let resp = app
        .delete_model(&token, "mlx-community%2FTiny-0.5B-4bit")
        .await;
    assert_error(
        resp,
        StatusCode::NOT_FOUND,
        "model_not_found",
        Some("Model not found"),
    )
    .await;
    let resp = app
        .get_as(&token, &format!("/api/models/config/{MODEL}"))
        .await;
    assert_error(resp, StatusCode::NOT_FOUND, "model_not_found", None).await;
}

#[tokio::test]
async fn a_model_being_downloaded_cannot_be_deleted() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Stall { after: 10_000 });
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    app.wait_for_download(&token, &task_id, |t| t["status"] == "downloading")
        .await;
    let resp = app.delete_model(&token, MODEL).await;
    assert_error(resp, StatusCode::CONFLICT, "download_in_progress", None).await;
}

#[tokio::test]
async fn bad_model_ids_are_422() {
    let hub = FakeHub::start().await;
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    for bad in [
        "../etc",
        "a/b/c",
        "noslash",
        "org/..",
        "org/a--b",
        "org/na me",
    ] {
        let resp = app.start_download(&token, bad).await;
        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_model_id",
            None,
        )
        .await;
    }
    for path in [
        "/api/models/..%2Fetc",
        "/api/models/org%2F..",
        "/api/models/.hidden/x",
    ] {
        let resp = app
            .send_as(&token, reqwest::Method::DELETE, path, None)
            .await;
        assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_model_id",
            None,
        )
        .await;
    }
    let resp = app.get_as(&token, "/api/models/config/..%2F..%2Fetc").await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_model_id",
        None,
    )
    .await;
    assert!(hub.requests().is_empty());
}

#[tokio::test]
async fn every_models_route_is_401_without_a_token() {
    let hub = FakeHub::start().await;
    let app = app_with(&hub).await;
    let task = "0123456789abcdef0123456789abcdef";
    let routes = [
        (
            reqwest::Method::GET,
            "/api/models/search?query=x".to_owned(),
        ),
        (reqwest::Method::GET, "/api/models/local".to_owned()),
        (reqwest::Method::POST, "/api/models/download".to_owned()),
        (
            reqwest::Method::GET,
            "/api/models/downloads/active".to_owned(),
        ),
        (
            reqwest::Method::GET,
            format!("/api/models/downloads/{task}"),
        ),
        (
            reqwest::Method::GET,
            format!("/api/models/downloads/{task}/events"),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/models/downloads/{task}"),
        ),
        (reqwest::Method::DELETE, format!("/api/models/{MODEL}")),
        (reqwest::Method::DELETE, "/api/models/a%2Fb".to_owned()),
        (reqwest::Method::GET, format!("/api/models/config/{MODEL}")),
        (reqwest::Method::GET, "/api/models/config/a%2Fb".to_owned()),
    ];
    for (method, path) in routes {
        let resp = app
            .client
            .request(method.clone(), app.url(&path))
            .json(&json!({"model_id": MODEL}))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_error(resp, StatusCode::UNAUTHORIZED, "not_authenticated", None).await;
        let resp = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth("not-a-token")
            .json(&json!({"model_id": MODEL}))
            .send()
            .await
            .expect("request");
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} bad token"
        );
    }
    assert!(hub.requests().is_empty());
}

#[tokio::test]
async fn the_hub_token_goes_to_the_hub_and_nowhere_else() {
    let hub = hub_with_tiny_model().await;
    hub.set_search(search_results());
    let url = hub.url.clone();
    let app = TestApp::spawn_with(move |f| {
        f.merge(("hub.endpoint", url))
            .merge(("hub.token", "hf_secret_value"))
            .merge(("hub.retry_backoff", "10ms"))
    })
    .await;
    let token = app.admin_token().await;
    let resp = app.search_models(&token, "query=tiny").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let task_id = app.download_task(&token, MODEL).await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "completed");
    let requests = hub.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert_eq!(
            r.authorization.as_deref(),
            Some("Bearer hf_secret_value"),
            "{}",
            r.path
        );
    }
    // A failure names the cause, never the token.
    hub.set_search_status(Some(401));
    let resp = app.search_models(&token, "query=tiny").await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let text = resp.text().await.expect("body");
    assert!(text.contains("gated or private"), "{text}");
    assert!(!text.contains("hf_secret_value"), "{text}");
}

#[tokio::test]
async fn a_model_served_by_a_running_server_cannot_be_deleted() {
    let hub = hub_with_tiny_model().await;
    let url = hub.url.clone();
    let app = TestApp::spawn_with(move |f| {
        crate::helpers::with_fake_servers(f).merge(("hub.endpoint", url))
    })
    .await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    assert_eq!(
        app.wait_for_end(&token, &task_id).await["status"],
        "completed"
    );
    let profile = app.create_profile(&token, "tiny", MODEL).await;
    let id = profile["id"].as_str().expect("id");
    assert_eq!(
        app.server_action(&token, id, "start").await.status(),
        StatusCode::OK
    );

    let resp = app.delete_model(&token, MODEL).await;
    assert_error(resp, StatusCode::CONFLICT, "model_in_use", None).await;
    assert!(repo_dir(&app).exists(), "nothing was deleted");

    app.server_action(&token, id, "stop").await;
    assert_eq!(
        app.delete_model(&token, MODEL).await.status(),
        StatusCode::OK
    );
    app.shutdown().await;
}
