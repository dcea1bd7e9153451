//! Models: search, downloads into the hub cache (layout, resume, verification,
//! cancel, restart, duplicates, progress stream), the local library, and access
//! control. Every test talks to a fake Hub on loopback, never to the real one.

use std::{path::Path, sync::Arc, time::Duration};

use mlx_manager::{
    config::HubSettings,
    migrations::CORE,
    models::{DownloadManager, HubCache, HubClient, ModelId, download::DownloadStatus},
    store,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    fake_hub::{FakeFile, FakeHub, FakeModel, Fault},
    helpers::{TestApp, assert_error, json},
};

const MODEL: &str = "mlx-community/Tiny-0.5B-4bit";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const WEIGHTS: &str = "model.safetensors";
const WEIGHTS_LEN: usize = 300_000;

/// A small model: a config, a tokenizer in a sub-directory, and LFS weights.
fn tiny_model() -> FakeModel {
    FakeModel {
        id: MODEL.into(),
        commit: COMMIT.into(),
        files: vec![
            FakeFile::text(
                "config.json",
                r#"{"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],"max_position_embeddings":32768,"num_hidden_layers":24,"hidden_size":896,"vocab_size":151936,"num_attention_heads":14,"num_key_value_heads":2,"quantization":{"bits":4,"group_size":64}}"#,
            ),
            FakeFile::text("tokenizer/tokenizer.json", r#"{"version":"1.0"}"#),
            FakeFile::lfs(WEIGHTS, WEIGHTS_LEN, 7),
        ],
        used_storage: Some(WEIGHTS_LEN as u64 + 300),
    }
}

/// The app pointed at `hub`, with quick retries.
async fn app_with(hub: &FakeHub) -> TestApp {
    let url = hub.url.clone();
    TestApp::spawn_with(move |f| {
        f.merge(("hub.endpoint", url))
            .merge(("hub.retries", 2))
            .merge(("hub.retry_backoff", "10ms"))
    })
    .await
}

async fn hub_with_tiny_model() -> FakeHub {
    let hub = FakeHub::start().await;
    hub.add_model(tiny_model());
    hub
}

fn repo_dir(app: &TestApp) -> std::path::PathBuf {
    app.hub_cache()
        .join("models--mlx-community--Tiny-0.5B-4bit")
}

/// The layout rules `huggingface_hub` relies on, checked for `model`.
fn assert_cache_layout(repo: &Path, model: &FakeModel) {
    let refs = std::fs::read_to_string(repo.join("refs/main")).expect("refs/main");
    assert_eq!(refs.trim(), model.commit, "refs/main holds the commit");
    let snapshot = repo.join("snapshots").join(&model.commit);
    for file in &model.files {
        let link = snapshot.join(&file.path);
        let meta = std::fs::symlink_metadata(&link).expect("snapshot entry");
        assert!(meta.file_type().is_symlink(), "{} is a symlink", file.path);
        let target = std::fs::read_link(&link).expect("link");
        assert!(
            target.is_relative(),
            "{} links relatively: {target:?}",
            file.path
        );
        let depth = file.path.matches('/').count();
        let expected = Path::new(&"../".repeat(depth + 2))
            .join("blobs")
            .join(file.blob_name());
        assert_eq!(target, expected, "{} links to its blob", file.path);
        let blob = repo.join("blobs").join(file.blob_name());
        let bytes = std::fs::read(&blob).expect("blob");
        assert_eq!(bytes.len() as u64, file.content.len());
        assert_eq!(std::fs::read(&link).expect("through link"), bytes);
    }
    let leftovers: Vec<_> = std::fs::read_dir(repo.join("blobs"))
        .expect("blobs")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
        .collect();
    assert!(leftovers.is_empty(), "no partial files remain");
}

fn assert_no_snapshot(repo: &Path) {
    assert!(!repo.join("refs/main").exists(), "no refs/main");
    let snapshots = std::fs::read_dir(repo.join("snapshots"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(snapshots, 0, "no snapshot is visible");
}

// ---- search ----

fn search_results() -> Value {
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
    let resp = app.search_models(&token, "query=x&limit=0").await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_parameter",
        None,
    )
    .await;
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

// ---- downloads ----

#[tokio::test]
async fn a_download_lands_in_the_hugging_face_cache_layout() {
    let hub = hub_with_tiny_model().await;
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["progress"], 100.0);
    let total = WEIGHTS_LEN as u64 + 17 + tiny_model().files[0].content.len();
    assert_eq!(task["total_bytes"], total);
    assert_eq!(task["downloaded_bytes"], total);
    assert!(task.get("error").is_none());
    assert_cache_layout(&repo_dir(&app), &tiny_model());
    // Every file came from the resolved commit, not from `main`.
    assert!(
        hub.file_requests(WEIGHTS)
            .iter()
            .all(|r| r.path.contains(&format!("/resolve/{COMMIT}/")))
    );
    // The finished task is no longer active.
    let active = json(app.get_as(&token, "/api/models/downloads/active").await).await;
    assert_eq!(active, json!([]));
}

#[tokio::test]
async fn a_dropped_connection_resumes_from_the_partial_bytes_with_a_range_request() {
    let hub = hub_with_tiny_model().await;
    hub.fault(
        WEIGHTS,
        Fault::Drop {
            after: 100_000,
            times: 1,
        },
    );
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");

    let fetches = hub.file_requests(WEIGHTS);
    assert_eq!(fetches.len(), 2, "{fetches:?}");
    assert_eq!(fetches[0].range, None);
    let sent = fetches[0]
        .sent_before_drop
        .expect("the first response broke off");
    assert_eq!(sent, 100_000);
    assert_eq!(fetches[1].range.as_deref(), Some("bytes=100000-"));
    assert_cache_layout(&repo_dir(&app), &tiny_model());
}

#[tokio::test]
async fn a_corrupted_file_fails_the_task_and_publishes_nothing() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Corrupt);
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Checksum mismatch for model.safetensors"),
        "{error}"
    );
    let repo = repo_dir(&app);
    assert_no_snapshot(&repo);
    let weights = tiny_model().files[2].blob_name();
    assert!(!repo.join("blobs").join(&weights).exists(), "no bad blob");
    assert!(
        !repo
            .join("blobs")
            .join(format!("{weights}.incomplete"))
            .exists()
    );
    assert_eq!(app.local_models(&token).await, json!([]));
}

#[tokio::test]
async fn a_vanished_hub_fails_the_task_with_a_clear_error_and_no_snapshot() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Status(503));
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "failed", "{task}");
    assert_eq!(
        task["error"],
        format!("The Hugging Face Hub answered 503 for {MODEL}/{WEIGHTS}")
    );
    assert_eq!(
        hub.file_requests(WEIGHTS).len(),
        3,
        "one request, two retries"
    );
    assert_no_snapshot(&repo_dir(&app));

    // An unknown model fails its task with a sentence too.
    let task_id = app.download_task(&token, "mlx-community/Nope").await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "failed");
    assert!(
        task["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Not found"),
        "{task}"
    );
}

#[tokio::test]
async fn a_second_request_for_the_same_model_returns_the_running_task() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Stall { after: 50_000 });
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let first = app.download_task(&token, MODEL).await;
    let second = app.download_task(&token, MODEL).await;
    assert_eq!(first, second);
    let active = json(app.get_as(&token, "/api/models/downloads/active").await).await;
    let active = active.as_array().expect("array");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["task_id"], first.as_str());
    assert_eq!(active[0]["model_id"], MODEL);
    // The stall releases into a dropped connection, then the download resumes.
    hub.clear_fault(WEIGHTS);
    hub.release_stalls();
    let task = app.wait_for_end(&token, &first).await;
    assert_eq!(task["status"], "completed", "{task}");
}

#[tokio::test]
async fn cancelling_a_download_stops_it_and_removes_its_partial_files() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Stall { after: 50_000 });
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    let weights = tiny_model().files[2].blob_name();
    let partial = repo_dir(&app)
        .join("blobs")
        .join(format!("{weights}.incomplete"));
    let task = app
        .wait_for_download(&token, &task_id, |t| {
            t["downloaded_bytes"].as_u64() >= Some(50_000)
        })
        .await;
    assert_eq!(task["status"], "downloading");
    assert!(
        task["progress"]
            .as_f64()
            .is_some_and(|p| p > 0.0 && p < 100.0),
        "{task}"
    );
    assert!(partial.exists(), "a partial file is being written");

    let resp = app.cancel_download(&token, &task_id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let task = app.download(&token, &task_id).await;
    assert_eq!(task["status"], "cancelled");
    assert!(!repo_dir(&app).exists(), "the partial model is gone");
    let active = json(app.get_as(&token, "/api/models/downloads/active").await).await;
    assert_eq!(active, json!([]));
    // Cancelling an ended task changes nothing.
    let resp = app.cancel_download(&token, &task_id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.download(&token, &task_id).await["status"], "cancelled");
}

#[tokio::test]
async fn unknown_tasks_are_404() {
    let hub = FakeHub::start().await;
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    for path in [
        "/api/models/downloads/0123456789abcdef0123456789abcdef",
        "/api/models/downloads/not-a-task",
        "/api/models/downloads/0123456789abcdef0123456789abcdef/events",
    ] {
        let resp = app.get_as(&token, path).await;
        assert_error(resp, StatusCode::NOT_FOUND, "task_not_found", None).await;
    }
    let resp = app.cancel_download(&token, "nope").await;
    assert_error(resp, StatusCode::NOT_FOUND, "task_not_found", None).await;
}

#[tokio::test]
async fn the_event_stream_reports_progress_until_the_task_ends() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Stall { after: 50_000 });
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    app.wait_for_download(&token, &task_id, |t| {
        t["downloaded_bytes"].as_u64() >= Some(50_000)
    })
    .await;

    // A browser's EventSource authenticates with a single-use ticket.
    let resp = app
        .send_as(
            &token,
            reqwest::Method::POST,
            "/api/auth/stream-ticket",
            None,
        )
        .await;
    let ticket = json(resp).await["ticket"]
        .as_str()
        .expect("ticket")
        .to_owned();
    let resp = app
        .client
        .get(app.url(&format!(
            "/api/models/downloads/{task_id}/events?ticket={ticket}"
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/event-stream")
    );
    hub.clear_fault(WEIGHTS);
    hub.release_stalls();
    let text = tokio::time::timeout(Duration::from_secs(30), resp.text())
        .await
        .expect("the stream ends")
        .expect("body");
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("json event"))
        .collect();
    let first = events.first().expect("events");
    assert_eq!(first["status"], "downloading");
    assert!(first["downloaded_bytes"].as_u64() >= Some(50_000));
    let last = events.last().expect("events");
    assert_eq!(last["status"], "completed", "{text}");
    assert_eq!(last["progress"], 100.0);
    assert_eq!(last["task_id"], task_id.as_str());

    // Once ended, the stream gives the final state and ends.
    let resp = app
        .get_as(&token, &format!("/api/models/downloads/{task_id}/events"))
        .await;
    let text = resp.text().await.expect("body");
    assert_eq!(text.matches("data: ").count(), 1, "{text}");
    assert!(text.contains("\"completed\""));
}

#[tokio::test]
async fn restarting_the_manager_resumes_unfinished_downloads_with_range_requests() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Stall { after: 120_000 });
    let db = surrealdb::engine::any::connect("mem://")
        .await
        .expect("mem");
    db.use_ns("t").use_db("t").await.expect("ns");
    store::migrate(&db, &[("core", CORE)])
        .await
        .expect("migrate");
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = HubCache::new(dir.path().to_path_buf());
    let settings = HubSettings {
        endpoint: hub.url.clone(),
        retry_backoff: Duration::from_millis(10),
        ..HubSettings::default()
    };
    let hub_client = Arc::new(HubClient::new(&settings).expect("client"));
    let model = ModelId::parse(MODEL).expect("id");

    let first = DownloadManager::new(db.clone(), hub_client.clone(), cache.clone(), 4);
    let task = first.start(model.clone()).await.expect("started");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while first
        .get(&task.task_id)
        .await
        .expect("task")
        .downloaded_bytes
        < 120_000
    {
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.stop().await;
    let stopped = first.get(&task.task_id).await.expect("task");
    assert_eq!(
        stopped.status,
        DownloadStatus::Downloading,
        "left to resume"
    );
    let weights = tiny_model().files[2].blob_name();
    let partial = cache.incomplete(&model, &weights);
    let partial_len = std::fs::metadata(&partial).expect("partial file").len();
    assert_eq!(partial_len, 120_000);
    assert_no_snapshot(&cache.repo_dir(&model));

    hub.clear_fault(WEIGHTS);
    let second = DownloadManager::new(db.clone(), hub_client, cache.clone(), 4);
    assert_eq!(second.resume_unfinished().await.expect("resumed"), 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let view = second.get(&task.task_id).await.expect("task");
        if view.status.is_final() {
            break view;
        }
        assert!(tokio::time::Instant::now() < deadline, "never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done.status, DownloadStatus::Completed, "{done:?}");
    let last = hub.file_requests(WEIGHTS).pop().expect("a resumed request");
    assert_eq!(last.range.as_deref(), Some("bytes=120000-"));
    assert_cache_layout(&cache.repo_dir(&model), &tiny_model());
    second.stop().await;
}

// ---- local library ----

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
