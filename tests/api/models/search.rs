//! Search: mapping of Hub results, sizes, filters, failures, offline mode.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{COMMIT, MODEL, app_with, hub_with_tiny_model, repo_dir};
use crate::{
    fake_hub::{FakeHub, FakeModel},
    helpers::{TestApp, assert_error, json},
};

pub fn search_results() -> Value {
    json!([
        {"id": "mlx-community/Sized-Model", "modelId": "mlx-community/Sized-Model", "author": "mlx-community",
         "downloads": 900, "likes": 12, "tags": ["mlx", "text-generation"], "lastModified": "2026-01-02T03:04:05.000Z"},
        {"id": "mlx-community/Qwen2.5-7B-Instruct-4bit", "downloads": 500, "likes": 3, "tags": ["mlx"]},
        {"id": MODEL, "downloads": 10, "likes": 0, "tags": ["mlx"]}
    ])
}

#[tokio::test]
async fn search_maps_hub_results_with_sizes_and_the_local_state() {
    let hub = hub_with_tiny_model().await;
    hub.add_model(FakeModel {
        id: "mlx-community/Sized-Model".into(),
        commit: COMMIT.into(),
        files: vec![],
        used_storage: Some(2_500_000_000),
    });
    hub.set_search(search_results());
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    // The tiny model is local.
    let snapshot = repo_dir(&app).join("snapshots").join(COMMIT);
    std::fs::create_dir_all(&snapshot).expect("snapshot");

    let resp = app.search_models(&token, "query=qwen").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let hits = json(resp).await;
    let hits = hits.as_array().expect("array");
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["model_id"], "mlx-community/Sized-Model");
    assert_eq!(hits[0]["author"], "mlx-community");
    assert_eq!(hits[0]["downloads"], 900);
    assert_eq!(hits[0]["likes"], 12);
    assert_eq!(hits[0]["estimated_size_gb"], 2.5, "from usedStorage");
    assert_eq!(hits[0]["tags"], json!(["mlx", "text-generation"]));
    assert_eq!(hits[0]["last_modified"], "2026-01-02T03:04:05.000Z");
    assert_eq!(hits[0]["is_downloaded"], false);
    assert_eq!(hits[1]["author"], "mlx-community", "from the id");
    assert_eq!(hits[1]["estimated_size_gb"], 3.85, "7B x 0.5 x 1.1");
    assert!(hits[1].get("last_modified").is_none());
    assert_eq!(hits[2]["is_downloaded"], true);

    let search = hub
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/models")
        .expect("a search request");
    for part in ["search=qwen", "filter=mlx", "sort=downloads", "limit=20"] {
        assert!(search.query.contains(part), "{part} in {}", search.query);
    }
    assert!(!search.query.contains("author="));
}

#[tokio::test]
async fn search_filters_by_size_and_limits_to_the_configured_organisation() {
    let hub = FakeHub::start().await;
    hub.set_search(search_results());
    let url = hub.url.clone();
    let app = TestApp::spawn_with(move |f| {
        f.merge(("hub.endpoint", url))
            .merge(("hub.organization", "mlx-community"))
    })
    .await;
    let token = app.admin_token().await;
    let hits = json(
        app.search_models(&token, "query=q&max_size_gb=3&limit=5")
            .await,
    )
    .await;
    let ids: Vec<&str> = hits
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|h| h["model_id"].as_str())
        .collect();
    // The unsized 7B model (3.85 GB) is left out; the tiny one is estimated
    // from its name (0.5B at 4 bits), the first has no size source at all (0).
    assert_eq!(ids, vec!["mlx-community/Sized-Model", MODEL]);
    let search = hub
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/models")
        .expect("search");
    assert!(
        search.query.contains("author=mlx-community"),
        "{}",
        search.query
    );
    assert!(search.query.contains("limit=5"), "{}", search.query);
}

#[tokio::test]
async fn an_empty_query_is_422() {
    let hub = FakeHub::start().await;
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    for query in ["query=", "query=%20%20", ""] {
        let resp = app.search_models(&token, query).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "empty_query", None).await;
    }
    for query in [
        "query=x&limit=0",
        "query=x&limit=101",
        "query=x&max_size_gb=-1",
    ] {
        let resp = app.search_models(&token, query).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{query}");
        let body = json(resp).await;
        let named = ["limit", "max_size_gb"]
            .iter()
            .any(|p| body["detail"].as_str().is_some_and(|d| d.contains(p)));
        assert!(named, "{query}: {body}");
    }
    assert!(hub.requests().is_empty(), "the Hub was not asked");
}

#[tokio::test]
async fn a_failing_hub_is_a_502_with_a_sentence_not_an_empty_list() {
    let hub = FakeHub::start().await;
    hub.set_search_status(Some(500));
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let resp = app.search_models(&token, "query=qwen").await;
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let body = json(resp).await;
    assert_eq!(body["code"], "hub_error");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("answered 500"),
        "{body}"
    );
    let searches = hub
        .requests()
        .iter()
        .filter(|r| r.path == "/api/models")
        .count();
    assert_eq!(searches, 3, "one request and two retries");

    // A Hub that does not answer at all.
    drop(hub);
    let app = TestApp::spawn_with(|f| {
        f.merge(("hub.endpoint", "http://127.0.0.1:9"))
            .merge(("hub.retries", 0))
    })
    .await;
    let token = app.admin_token().await;
    let resp = app.search_models(&token, "query=qwen").await;
    assert_error(resp, StatusCode::BAD_GATEWAY, "hub_error", None).await;
}

#[tokio::test]
async fn offline_the_hub_is_never_called_and_search_and_download_are_503() {
    let hub = FakeHub::start().await;
    let url = hub.url.clone();
    let app =
        TestApp::spawn_with(move |f| f.merge(("hub.endpoint", url)).merge(("hub.offline", true)))
            .await;
    let token = app.admin_token().await;
    let resp = app.search_models(&token, "query=qwen").await;
    assert_error(resp, StatusCode::SERVICE_UNAVAILABLE, "hub_offline", None).await;
    let resp = app.start_download(&token, MODEL).await;
    assert_error(resp, StatusCode::SERVICE_UNAVAILABLE, "hub_offline", None).await;
    assert!(hub.requests().is_empty());
    // The local library still works.
    assert_eq!(app.local_models(&token).await, json!([]));
}
