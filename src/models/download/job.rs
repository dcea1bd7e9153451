//! One download task: resolve `main` to a commit, list its files, fetch them
//! with bounded concurrency, and only then publish `snapshots/<commit>` and
//! `refs/main`. A failure at any point publishes nothing.

use std::time::Duration;

use futures_util::{TryStreamExt, stream};
use tokio_util::sync::CancellationToken;

use super::shared::{JobContext, JobError, PlannedFile, Progress};
use super::{DownloadStatus, fetch, tasks};
use crate::models::{
    HubError,
    id::{ModelId, RepoPath, is_blob_hash},
};

/// How often progress is published to watchers.
const PUBLISH_EVERY: Duration = Duration::from_millis(200);
/// Every this many publications, progress is also saved in the store.
const SAVE_EVERY_N: u32 = 10;

/// Run the task of `progress` for `model` to completion, publishing progress.
/// `cancel` interrupts it; what was received is flushed to the partial files.
pub async fn run(
    ctx: &JobContext,
    model: &ModelId,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<(), JobError> {
    let work = download(ctx, model, progress, cancel);
    let ticker = publish_loop(ctx, progress);
    tokio::select! {
        result = work => result,
        () = ticker => Err(JobError::Interrupted),
    }
}

async fn download(
    ctx: &JobContext,
    model: &ModelId,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<(), JobError> {
    progress.set_status(DownloadStatus::Downloading, None);
    let task_id = progress.view().task_id;
    let commit = or_cancel(cancel, ctx.hub.revision(model, "main"))
        .await?
        .sha;
    if !is_blob_hash(&commit) {
        return Err(JobError::Failed(format!(
            "The Hugging Face Hub sent an invalid commit for {model}"
        )));
    }
    let files = plan(
        or_cancel(cancel, ctx.hub.tree(model, &commit)).await?,
        model,
    )?;
    // Paths with the same content share one blob: fetch (and count) it once.
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&PlannedFile> = files.iter().filter(|f| seen.insert(&f.hash)).collect();
    let total = unique.iter().map(|f| f.size).sum();
    let blobs = ctx.cache.blobs_dir(model);
    tokio::fs::create_dir_all(&blobs)
        .await
        .map_err(|e| JobError::io(&e, &ctx.cache, "create the cache directory"))?;
    let mut todo = Vec::new();
    let mut done = 0;
    for file in unique {
        let blob = ctx.cache.blob(model, &file.hash);
        match tokio::fs::metadata(&blob).await {
            Ok(m) if m.len() == file.size => done += file.size,
            _ => todo.push(file),
        }
    }
    progress.start(total, done);
    let saved = tasks::save_progress(&ctx.db, &task_id, DownloadStatus::Downloading, done, total);
    if let Err(e) = saved.await {
        // Progress is saved again every few seconds; the download goes on.
        tracing::warn!(task = %task_id, error = %e, "cannot save the download's progress");
    }

    stream::iter(todo.into_iter().map(Ok))
        .try_for_each_concurrent(ctx.concurrent_files.max(1), |file| {
            fetch::fetch(ctx, model, &commit, file, progress, cancel)
        })
        .await?;
    if cancel.is_cancelled() {
        return Err(JobError::Interrupted);
    }

    let cache = ctx.cache.clone();
    let model = model.clone();
    let links: Vec<(RepoPath, String)> = files.into_iter().map(|f| (f.path, f.hash)).collect();
    tokio::task::spawn_blocking(move || cache.publish_snapshot(&model, &commit, &links))
        .await
        .map_err(|e| JobError::Failed(format!("Publishing the snapshot failed: {e}")))?
        .map_err(|e| JobError::io(&e, &ctx.cache, "publish the snapshot"))
}

async fn or_cancel<T>(
    cancel: &CancellationToken,
    request: impl std::future::Future<Output = Result<T, HubError>>,
) -> Result<T, JobError> {
    tokio::select! {
        result = request => Ok(result?),
        () = cancel.cancelled() => Err(JobError::Interrupted),
    }
}

/// The files of a tree listing, with their blob names, refusing unsafe paths
/// and malformed hashes.
pub fn plan(
    entries: Vec<crate::models::hub::TreeEntry>,
    model: &ModelId,
) -> Result<Vec<PlannedFile>, JobError> {
    let mut files = Vec::new();
    for entry in entries.into_iter().filter(|e| e.kind == "file") {
        let Some(path) = RepoPath::parse(&entry.path) else {
            return Err(JobError::Failed(format!(
                "The Hugging Face Hub listed an unsafe file path in {model}: {:?}",
                entry.path
            )));
        };
        let (hash, size, verify_sha256) = match entry.lfs {
            Some(lfs) => (lfs.oid.to_ascii_lowercase(), lfs.size, true),
            None => (entry.oid.to_ascii_lowercase(), entry.size, false),
        };
        if !is_blob_hash(&hash) || (verify_sha256 && hash.len() != 64) {
            return Err(JobError::Failed(format!(
                "The Hugging Face Hub listed no usable hash for {model}/{path}"
            )));
        }
        files.push(PlannedFile {
            path,
            hash,
            size,
            verify_sha256,
        });
    }
    Ok(files)
}

async fn publish_loop(ctx: &JobContext, progress: &Progress) {
    let mut tick = tokio::time::interval(PUBLISH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u32 = 0;
    loop {
        tick.tick().await;
        progress.publish();
        n = n.wrapping_add(1);
        if n.is_multiple_of(SAVE_EVERY_N) {
            let view = progress.view();
            if let Err(e) = tasks::save_progress(
                &ctx.db,
                &view.task_id,
                view.status,
                view.downloaded_bytes,
                view.total_bytes,
            )
            .await
            {
                tracing::warn!(task = %view.task_id, error = %e, "cannot save download progress");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{
        HubCache,
        hub::{LfsInfo, TreeEntry},
    };

    fn entry(path: &str, lfs: Option<&str>) -> TreeEntry {
        TreeEntry {
            kind: "file".into(),
            path: path.into(),
            size: 10,
            oid: "a".repeat(40),
            lfs: lfs.map(|oid| LfsInfo {
                oid: oid.into(),
                size: 1000,
            }),
        }
    }

    #[test]
    fn a_full_disk_is_named_as_such() {
        let cache = HubCache::new("/cache".into());
        let full = std::io::Error::from_raw_os_error(nix::errno::Errno::ENOSPC as i32);
        let err = JobError::io(&full, &cache, "write x");
        assert_eq!(err.to_string(), "Not enough disk space in /cache");
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(matches!(
            JobError::io(&other, &cache, "write x"),
            JobError::Failed(_)
        ));
    }

    #[test]
    fn the_plan_names_blobs_by_sha256_or_git_oid_and_refuses_unsafe_entries() {
        let id = ModelId::parse("org/model").expect("id");
        let sha = "B".repeat(64);
        let files = plan(
            vec![
                entry("config.json", None),
                entry("w.safetensors", Some(&sha)),
            ],
            &id,
        )
        .expect("plan");
        assert_eq!(files[0].hash, "a".repeat(40));
        assert!(!files[0].verify_sha256);
        assert_eq!(
            (files[1].hash.as_str(), files[1].size),
            ("b".repeat(64).as_str(), 1000)
        );
        assert!(files[1].verify_sha256);
        assert!(plan(vec![entry("../../etc/passwd", None)], &id).is_err());
        assert!(plan(vec![entry("w.bin", Some("not-a-hash"))], &id).is_err());
    }
}
