//! Downloads: cache layout, resume with `Range`, verification, failures,
//! duplicates, cancel, progress stream, restart of the manager.

use std::{sync::Arc, time::Duration};

use mlx_manager::{
    config::HubSettings,
    migrations::CORE,
    models::{DownloadManager, DownloadStatus, HubCache, HubClient, JobContext, ModelId},
    store,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{
    COMMIT, MODEL, WEIGHTS, WEIGHTS_LEN, app_with, assert_cache_layout, assert_no_snapshot,
    hub_with_tiny_model, repo_dir, tiny_model,
};
use crate::{
    fake_hub::{FakeHub, Fault},
    helpers::{assert_error, json},
};

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
    let ticket = app
        .ticket(&token, &format!("/api/models/downloads/{task_id}/events"))
        .await;
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
    store::migrate(&db, "local", &[("core", CORE)])
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

    let first = DownloadManager::new(
        JobContext {
            db: db.clone(),
            node: "local".into(),
            hub: hub_client.clone(),
            cache: cache.clone(),
            concurrent_files: 4,
            observers: mlx_manager::sdk::Observers::new(),
        },
        2,
        mlx_manager::sdk::EventBus::new(),
    );
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
    let second = DownloadManager::new(
        JobContext {
            db: db.clone(),
            node: "local".into(),
            hub: hub_client,
            cache: cache.clone(),
            concurrent_files: 4,
            observers: mlx_manager::sdk::Observers::new(),
        },
        2,
        mlx_manager::sdk::EventBus::new(),
    );
    assert_eq!(second.resume_unfinished().await.expect("resumed"), 1);
    let done = crate::helpers::poll_until(Duration::from_secs(30), "the resumed task", || async {
        let view = second.get(&task.task_id).await.expect("task");
        view.status.is_final().then_some(view)
    })
    .await;
    assert_eq!(done.status, DownloadStatus::Completed, "{done:?}");
    let last = hub.file_requests(WEIGHTS).pop().expect("a resumed request");
    assert_eq!(last.range.as_deref(), Some("bytes=120000-"));
    assert_cache_layout(&cache.repo_dir(&model), &tiny_model());
    second.stop().await;
}

#[tokio::test]
async fn a_restarted_server_resumes_unfinished_downloads() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Stall { after: 80_000 });
    let shared = tempfile::tempdir().expect("tempdir");
    let store = format!("surrealkv://{}", shared.path().join("db").display());
    let cache = shared.path().join("hub");
    let configure = |hub: &FakeHub| {
        let (url, store, cache) = (hub.url.clone(), store.clone(), cache.clone());
        move |f: figment::Figment| {
            f.merge(("hub.endpoint", url))
                .merge(("hub.retry_backoff", "10ms"))
                .merge(("database.url", store))
                .merge(("paths.hf_cache", cache))
                // The same host: each TestApp has a new data directory, and
                // with it a new generated node name.
                .merge(("node.name", "studio"))
        }
    };
    let app = crate::helpers::TestApp::spawn_with(configure(&hub)).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    app.wait_for_download(&token, &task_id, |t| {
        t["downloaded_bytes"].as_u64() >= Some(80_000)
    })
    .await;
    app.shutdown().await;

    hub.clear_fault(WEIGHTS);
    // SurrealKV releases its file lock shortly after the last handle is dropped.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let app = loop {
        match crate::helpers::TestApp::try_spawn_with(configure(&hub)).await {
            Ok(app) => break app,
            Err(e) if e.to_string().contains("locked") => {
                assert!(tokio::time::Instant::now() < deadline, "{e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    };
    let token = app
        .token(crate::helpers::ADMIN, crate::helpers::PASSWORD)
        .await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let last = hub.file_requests(WEIGHTS).pop().expect("a resumed request");
    assert_eq!(last.range.as_deref(), Some("bytes=80000-"));
    assert_cache_layout(
        &cache.join("models--mlx-community--Tiny-0.5B-4bit"),
        &tiny_model(),
    );
    app.shutdown().await;
}

#[tokio::test]
async fn downloads_and_deletions_are_audited() {
    let hub = hub_with_tiny_model().await;
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let task_id = app.download_task(&token, MODEL).await;
    let task = app.wait_for_end(&token, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let deleted = app.delete_model(&token, MODEL).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let mut found = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        found = json(app.get_as(&token, "/api/audit/events?limit=500").await).await;
        let actions: Vec<&str> = found["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["action"].as_str())
            .collect();
        if ["download.start", "download.finish", "model.delete"]
            .iter()
            .all(|a| actions.contains(a))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let by_action = |action: &str| {
        found["events"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["action"] == action)
            .cloned()
            .unwrap_or_else(|| panic!("no {action} in {found}"))
    };
    let start = by_action("download.start");
    assert_eq!(start["actor"]["email"], crate::helpers::ADMIN);
    assert_eq!(start["target"]["id"], task_id.as_str());
    assert_eq!(start["target"]["name"], MODEL);
    let finish = by_action("download.finish");
    assert_eq!(finish["actor"]["via"], "system");
    assert_eq!(finish["target"]["id"], task_id.as_str());
    let delete = by_action("model.delete");
    assert_eq!(delete["target"]["name"], MODEL);
}

fn another_model(n: u32) -> crate::fake_hub::FakeModel {
    let mut m = tiny_model();
    m.id = format!("mlx-community/Other-{n}");
    m
}

#[tokio::test]
async fn at_most_concurrent_downloads_run_and_the_rest_wait_as_pending() {
    let hub = hub_with_tiny_model().await;
    for n in 1..=2 {
        hub.add_model(another_model(n));
    }
    hub.fault(WEIGHTS, Fault::Stall { after: 50_000 });
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let ids = [
        MODEL.to_owned(),
        "mlx-community/Other-1".to_owned(),
        "mlx-community/Other-2".to_owned(),
    ];
    let mut tasks = Vec::new();
    for id in &ids {
        tasks.push(app.download_task(&token, id).await);
    }
    // Two reach the stalled weights; the third stays pending.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let statuses = loop {
        let mut statuses = Vec::new();
        for t in &tasks {
            statuses.push(
                app.download(&token, t).await["status"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
        let downloading = statuses.iter().filter(|s| *s == "downloading").count();
        if (downloading == 2 && hub.file_requests(WEIGHTS).len() >= 2)
            || tokio::time::Instant::now() > deadline
        {
            break statuses;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        statuses.iter().filter(|s| *s == "downloading").count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "pending").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        hub.file_requests(WEIGHTS).len(),
        2,
        "only two models fetch at once"
    );
    hub.clear_fault(WEIGHTS);
    hub.release_stalls();
    for t in &tasks {
        let done = app.wait_for_end(&token, t).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
}

#[tokio::test]
async fn a_download_restarted_while_its_cancel_winds_down_keeps_its_files() {
    let hub = hub_with_tiny_model().await;
    hub.fault(WEIGHTS, Fault::Stall { after: 50_000 });
    let app = app_with(&hub).await;
    let token = app.admin_token().await;
    let first = app.download_task(&token, MODEL).await;
    app.wait_for_download(&token, &first, |t| t["downloaded_bytes"].as_u64() > Some(0))
        .await;
    // Cancel, and restart as soon as the cancel is recorded (while the old task
    // may still be winding down): the new task must not lose its partial files
    // to the old task's cleanup.
    let cancel = app.cancel_download(&token, &first);
    let restart = async {
        app.wait_for_download(&token, &first, |t| t["status"] == "cancelled")
            .await;
        app.start_download(&token, MODEL).await
    };
    let (cancelled, restarted) = tokio::join!(cancel, restart);
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    assert_eq!(restarted.status(), StatusCode::ACCEPTED);
    let second = json(restarted).await["task_id"]
        .as_str()
        .expect("task")
        .to_owned();
    assert_ne!(second, first, "a cancelled task is not handed out again");
    hub.clear_fault(WEIGHTS);
    hub.release_stalls();
    let done = app.wait_for_end(&token, &second).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_cache_layout(&repo_dir(&app), &tiny_model());
}
