//! Download throughput: a 1 GiB LFS file from the fake Hub on loopback, fetched
//! by `curl -o /dev/null` and then through the download manager (hashing,
//! writing the blob, publishing the snapshot), in one run. Ignored by default:
//!
//! ```sh
//! cargo test --test api models::bench -- --ignored --nocapture
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;

use crate::{
    fake_hub::{Content, FakeFile, FakeHub, FakeModel},
    helpers::TestApp,
};

const GIB: u64 = 1 << 30;
const MODEL: &str = "bench/one-gib";
const COMMIT: &str = "feedfacefeedfacefeedfacefeedfacefeedface";

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: moves 2 GiB over loopback"]
async fn a_one_gib_download_compared_with_curl() {
    let Content::Bytes(block) = Content::random(1 << 20, 42) else {
        unreachable!("random content is bytes")
    };
    let content = Content::Repeat {
        block: Bytes::clone(&block),
        len: GIB,
    };
    let weights = FakeFile::new("model.safetensors", content, true);
    let hub = FakeHub::start().await;
    hub.add_model(FakeModel {
        id: MODEL.into(),
        commit: COMMIT.into(),
        files: vec![FakeFile::text("config.json", "{}"), weights.clone()],
        used_storage: None,
    });

    let url = format!("{}/{MODEL}/resolve/{COMMIT}/model.safetensors", hub.url);
    let start = Instant::now();
    let curl = tokio::process::Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{size_download}", &url])
        .output()
        .await
        .expect("curl runs");
    let curl_time = start.elapsed();
    assert!(curl.status.success(), "{curl:?}");
    let curl_bytes: u64 = String::from_utf8_lossy(&curl.stdout)
        .trim()
        .parse()
        .expect("size");
    assert_eq!(curl_bytes, GIB);

    // curl writing to a file on the disk the cache is on (the manager's floor).
    let scratch = tempfile::tempdir().expect("tempdir");
    let target = scratch.path().join("curl.bin");
    let start = Instant::now();
    let status = tokio::process::Command::new("curl")
        .args(["-sS", "-o"])
        .arg(&target)
        .arg(&url)
        .status()
        .await
        .expect("curl runs");
    let curl_disk_time = start.elapsed();
    assert!(status.success());
    assert_eq!(std::fs::metadata(&target).expect("file").len(), GIB);
    drop(scratch);

    // The same client library the manager uses, discarding the bytes.
    let start = Instant::now();
    let mut body = reqwest::get(&url).await.expect("get").bytes_stream();
    let mut received = 0u64;
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        received += chunk.expect("chunk").len() as u64;
    }
    let reqwest_time = start.elapsed();
    assert_eq!(received, GIB);

    let hub_url = hub.url.clone();
    let app = TestApp::spawn_with(move |f| f.merge(("hub.endpoint", hub_url))).await;
    let token = app.admin_token().await;
    let start = Instant::now();
    let task_id = app.download_task(&token, MODEL).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    let task = loop {
        let task = app.download(&token, &task_id).await;
        if task["status"] != "pending" && task["status"] != "downloading" {
            break task;
        }
        assert!(Instant::now() < deadline, "too slow: {task}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let manager_time = start.elapsed();
    assert_eq!(task["status"], "completed", "{task}");
    let blob = app
        .hub_cache()
        .join("models--bench--one-gib/blobs")
        .join(&weights.sha256);
    assert_eq!(std::fs::metadata(&blob).expect("blob").len(), GIB);

    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "1 GiB from the fake Hub on loopback ({build} build of the manager and the fake Hub):\n  \
         curl -o /dev/null:  {:>7.1} MB/s ({:.2} s)\n  \
         curl -o FILE:       {:>7.1} MB/s ({:.2} s, same disk as the cache)\n  \
         reqwest, discarded: {:>7.1} MB/s ({:.2} s)\n  \
         download manager:   {:>7.1} MB/s ({:.2} s, incl. SHA-256, writing the blob, publishing)",
        mb_per_s(GIB, curl_time),
        curl_time.as_secs_f64(),
        mb_per_s(GIB, curl_disk_time),
        curl_disk_time.as_secs_f64(),
        mb_per_s(GIB, reqwest_time),
        reqwest_time.as_secs_f64(),
        mb_per_s(GIB, manager_time),
        manager_time.as_secs_f64(),
    );
    let resp = app.cancel_download(&token, &task_id).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}
