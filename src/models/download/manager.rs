//! `DownloadManager`: one running task per model, started at once, observable
//! while it runs (a watch channel) and afterwards (the store), cancellable, and
//! resumed after a restart. `stop` interrupts every task without changing its
//! record, so the next start-up resumes it.

use mlx_manager_sdk::{Actor, Event, EventBus, Outcome, Target};

use crate::actions::{DOWNLOAD_FAIL, DOWNLOAD_FINISH};
use std::{collections::HashMap, sync::Arc, time::Duration};

use futures_util::{
    StreamExt,
    stream::{self, BoxStream},
};
use tokio::{sync::Mutex, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use super::{
    DownloadStatus, TaskView, is_task_id, job,
    shared::{JobContext, JobError, Progress},
    tasks,
};
use crate::models::{HubCache, ModelId, ModelsError};

/// How long `stop` and `cancel` wait for a task to notice.
const STOP_WAIT: Duration = Duration::from_secs(10);

struct Running {
    model: ModelId,
    progress: Arc<Progress>,
    cancel: CancellationToken,
    handle: Option<JoinHandle<()>>,
}

/// Starts, tracks, cancels and resumes downloads.
pub struct DownloadManager {
    ctx: JobContext,
    running: Mutex<HashMap<String, Running>>,
    stop: CancellationToken,
    events: EventBus,
    /// One permit per model downloading at once; the others wait as pending.
    slots: Arc<tokio::sync::Semaphore>,
}

impl DownloadManager {
    /// A manager downloading as `ctx` says (from its Hub into its cache, its
    /// `concurrent_files` files of a model at a time, telling its observers
    /// of every received byte), `concurrent_downloads` models at once. Call
    /// [`Self::resume_unfinished`] to resume tasks.
    pub fn new(ctx: JobContext, concurrent_downloads: usize, events: EventBus) -> Arc<Self> {
        Arc::new(Self {
            ctx,
            running: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
            events,
            slots: Arc::new(tokio::sync::Semaphore::new(concurrent_downloads.max(1))),
        })
    }

    /// Delete finished task records older than `keep` now and every hour after,
    /// until the manager stops.
    #[allow(
        clippy::disallowed_methods,
        reason = "retention runs against the real time"
    )]
    pub fn prune_finished_every(self: &Arc<Self>, keep: Duration) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = this.stop.cancelled() => return,
                }
                let Ok(keep) = chrono::Duration::from_std(keep) else {
                    return;
                };
                match tasks::prune_finished(&this.ctx.db, &this.ctx.node, chrono::Utc::now() - keep)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "old download records pruned"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune download records"),
                }
            }
        });
    }

    /// The cache downloads go to.
    pub fn cache(&self) -> &HubCache {
        &self.ctx.cache
    }

    /// Resume every task the store says is pending or downloading (none while
    /// offline: they wait for a start with the Hub). Returns how many resumed.
    pub async fn resume_unfinished(self: &Arc<Self>) -> Result<usize, surrealdb::Error> {
        if self.ctx.hub.is_offline() {
            return Ok(0);
        }
        let mut resumed = 0;
        let mut running = self.running.lock().await;
        for view in tasks::unfinished(&self.ctx.db, &self.ctx.node).await? {
            let model = ModelId::parse(&view.model_id);
            let duplicate = running.values().any(|r| Ok(&r.model) == model.as_ref());
            match model {
                Ok(model) if !duplicate => {
                    tracing::info!(task = %view.task_id, model = %model, "resuming download");
                    let id = view.task_id.clone();
                    running.insert(id, self.spawn(model, view));
                    resumed += 1;
                }
                _ => {
                    let why = "Superseded by another download of the same model".to_owned();
                    tasks::finish(
                        &self.ctx.db,
                        &view.task_id,
                        DownloadStatus::Cancelled,
                        Some(why),
                        0,
                    )
                    .await?;
                }
            }
        }
        Ok(resumed)
    }

    /// Start downloading `model`, or return the task already downloading it.
    #[allow(
        clippy::disallowed_methods,
        reason = "a task's creation time; no decision reads it"
    )]
    pub async fn start(self: &Arc<Self>, model: ModelId) -> Result<TaskView, ModelsError> {
        if self.ctx.hub.is_offline() {
            return Err(ModelsError::Offline);
        }
        // A cancelled task of this model may still be winding down (removing its
        // partial files): wait for it, so that its cleanup cannot delete the new
        // task's files.
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        let mut running = loop {
            let running = self.running.lock().await;
            let winding_down = running
                .values()
                .any(|r| r.model == model && r.cancel.is_cancelled());
            if !winding_down || tokio::time::Instant::now() >= deadline {
                break running;
            }
            drop(running);
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // A cancelled task may still be winding down; it is not the running one.
        if let Some(r) = running
            .values()
            .find(|r| r.model == model && !r.cancel.is_cancelled())
        {
            return Ok(r.progress.view());
        }
        let view = TaskView {
            task_id: uuid::Uuid::new_v4().simple().to_string(),
            model_id: model.to_string(),
            status: DownloadStatus::Pending,
            downloaded_bytes: 0,
            total_bytes: 0,
            error: None,
            created_at: chrono::Utc::now(),
        };
        tasks::create(&self.ctx.db, &self.ctx.node, &view).await?;
        let entry = self.spawn(model, view.clone());
        running.insert(view.task_id.clone(), entry);
        Ok(view)
    }

    fn spawn(self: &Arc<Self>, model: ModelId, view: TaskView) -> Running {
        let task_id = view.task_id.clone();
        let progress = Arc::new(Progress::new(view));
        let cancel = self.stop.child_token();
        let manager = Arc::clone(self);
        let (p, c, m) = (progress.clone(), cancel.clone(), model.clone());
        let slots = Arc::clone(&self.slots);
        let handle = tokio::spawn(async move {
            // Wait (as pending) for a free download slot, or for a cancel.
            let slot = tokio::select! {
                slot = slots.acquire_owned() => slot.ok(),
                () = c.cancelled() => None,
            };
            let result = match slot {
                Some(slot) => {
                    let result = job::run(&manager.ctx, &m, &p, &c).await;
                    drop(slot);
                    result
                }
                None => Err(JobError::Interrupted),
            };
            manager.conclude(&task_id, &m, &p, result).await;
            manager.running.lock().await.remove(&task_id);
        });
        Running {
            model,
            progress,
            cancel,
            handle: Some(handle),
        }
    }

    /// Record how a job ended and tell the watchers.
    async fn conclude(
        &self,
        task_id: &str,
        model: &ModelId,
        progress: &Progress,
        result: Result<(), JobError>,
    ) {
        let db = &self.ctx.db;
        let done = progress.done();
        let (status, error) = match result {
            Ok(()) => (DownloadStatus::Completed, None),
            Err(JobError::Interrupted) if progress.view().status == DownloadStatus::Cancelled => {
                // Cancelled (already recorded): remove what it left behind.
                let cache = self.ctx.cache.clone();
                let m = model.clone();
                match tokio::task::spawn_blocking(move || cache.remove_partials(&m)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(task = task_id, error = %e, "cannot remove partial files")
                    }
                    Err(e) => {
                        tracing::warn!(task = task_id, error = %e, "cannot remove partial files")
                    }
                }
                return;
            }
            Err(JobError::Interrupted) => {
                // The manager is stopping: keep the record unfinished, to resume.
                let view = progress.view();
                let saved = tasks::save_progress(db, task_id, view.status, done, view.total_bytes);
                if let Err(e) = saved.await {
                    tracing::warn!(task = task_id, error = %e, "cannot save download progress");
                }
                return;
            }
            Err(err @ JobError::DiskFull(_)) => {
                let cache = self.ctx.cache.clone();
                let m = model.clone();
                match tokio::task::spawn_blocking(move || cache.remove_partials(&m)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot remove partial files"),
                    Err(e) => tracing::warn!(error = %e, "removing partial files failed"),
                }
                (DownloadStatus::Failed, Some(err.to_string()))
            }
            Err(err) => (DownloadStatus::Failed, Some(err.to_string())),
        };
        let target = Target::new(
            "download",
            Some(task_id.to_owned()),
            Some(model.to_string()),
        );
        let event = match &error {
            Some(e) => {
                tracing::warn!(task = task_id, model = %model, error = %e, "download failed");
                Event::new(Actor::system(), DOWNLOAD_FAIL, target)
                    .outcome(Outcome::Failed)
                    .detail(e.clone())
            }
            None => {
                tracing::info!(task = task_id, model = %model, "download completed");
                Event::new(Actor::system(), DOWNLOAD_FINISH, target)
            }
        };
        self.events.publish(event).await;
        let total = progress.view().total_bytes;
        let recorded_done = if status == DownloadStatus::Completed {
            total
        } else {
            done
        };
        match tasks::finish(db, task_id, status, error.clone(), recorded_done).await {
            Ok(true) => progress.set_status(status, error),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(task = task_id, error = %e, "cannot record the end of a download")
            }
        }
    }

    /// The task with this id, live when running.
    pub async fn get(&self, task_id: &str) -> Result<TaskView, ModelsError> {
        if let Some(r) = self.running.lock().await.get(task_id) {
            return Ok(r.progress.view());
        }
        self.stored(task_id).await
    }

    async fn stored(&self, task_id: &str) -> Result<TaskView, ModelsError> {
        if !is_task_id(task_id) {
            return Err(ModelsError::TaskNotFound);
        }
        tasks::get(&self.ctx.db, &self.ctx.node, task_id)
            .await?
            .ok_or(ModelsError::TaskNotFound)
    }

    /// The running tasks, oldest first.
    pub async fn active(&self) -> Vec<TaskView> {
        let mut views: Vec<TaskView> = self
            .running
            .lock()
            .await
            .values()
            .map(|r| r.progress.view())
            .collect();
        views.sort_by_key(|v| v.created_at);
        views
    }

    /// Delete a local model unless it is being downloaded or served. The check and
    /// the deletion hold the task lock, so no download of it can start between them.
    pub async fn delete_local(
        &self,
        model: &ModelId,
        usage: &dyn crate::models::ModelUsage,
    ) -> Result<(), ModelsError> {
        let running = self.running.lock().await;
        if running.values().any(|r| &r.model == model) {
            return Err(ModelsError::DownloadRunning);
        }
        let result = crate::models::library::delete(self.cache(), model, usage).await;
        drop(running);
        result
    }

    /// The task's views from now until it ends (or `until` is cancelled): the
    /// current one at once, then every change, at most about five a second.
    pub async fn updates(
        &self,
        task_id: &str,
        until: CancellationToken,
    ) -> Result<BoxStream<'static, TaskView>, ModelsError> {
        let live = self
            .running
            .lock()
            .await
            .get(task_id)
            .map(|r| r.progress.clone());
        let first = match &live {
            Some(p) => p.view(),
            None => self.stored(task_id).await?,
        };
        let rx = live.map(|p| p.subscribe());
        Ok(stream::unfold(Some((first, rx)), move |state| {
            let until = until.clone();
            async move {
                let (view, rx) = state?;
                if view.status.is_final() {
                    return Some((view, None));
                }
                let Some(mut rx) = rx else {
                    return Some((view, None));
                };
                let next = tokio::select! {
                    changed = rx.changed() => match changed {
                        Ok(()) => Some(rx.borrow_and_update().clone()),
                        Err(_) => None,
                    },
                    () = until.cancelled() => None,
                };
                Some((view, next.map(|n| (n, Some(rx)))))
            }
        })
        .boxed())
    }

    /// Cancel a task: it is recorded as cancelled, stops, and removes its partial
    /// files before this returns. A task that has already ended is left as it is.
    pub async fn cancel(&self, task_id: &str) -> Result<(), ModelsError> {
        let taken = {
            let mut running = self.running.lock().await;
            match running.get_mut(task_id) {
                Some(r) => Some((r.progress.clone(), r.cancel.clone(), r.handle.take())),
                None => None,
            }
        };
        let Some((progress, cancel, handle)) = taken else {
            self.stored(task_id).await?;
            return Ok(());
        };
        let done = progress.done();
        if tasks::finish(&self.ctx.db, task_id, DownloadStatus::Cancelled, None, done).await? {
            progress.set_status(DownloadStatus::Cancelled, None);
        }
        cancel.cancel();
        if let Some(handle) = handle
            && tokio::time::timeout(STOP_WAIT, handle).await.is_err()
        {
            tracing::warn!(task = %task_id, "the cancelled download did not stop in time");
        }
        Ok(())
    }

    /// Interrupt every task (their records stay unfinished, to be resumed) and
    /// wait for them to stop.
    pub async fn stop(&self) {
        self.stop.cancel();
        let handles: Vec<JoinHandle<()>> = self
            .running
            .lock()
            .await
            .values_mut()
            .filter_map(|r| r.handle.take())
            .collect();
        for handle in handles {
            if tokio::time::timeout(STOP_WAIT, handle).await.is_err() {
                tracing::warn!("a download did not stop in time; it is abandoned");
            }
        }
    }
}
