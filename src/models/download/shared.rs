//! What a download job and the fetches of its files share: the context, the
//! error, the live progress and the planned file. (Both sides import it; neither
//! imports the other's internals.)

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use mlx_manager_sdk::Db;
use tokio::sync::watch;

use super::{DownloadStatus, TaskView};
use crate::models::{HubCache, HubClient, HubError, id::RepoPath};

/// What a job needs from the manager.
#[derive(Clone)]
pub struct JobContext {
    /// The store.
    pub db: Db,
    /// This manager's node: the tasks it lists, resumes and prunes.
    pub node: String,
    /// The Hub.
    pub hub: Arc<HubClient>,
    /// The cache to download into.
    pub cache: HubCache,
    /// Files fetched at the same time.
    pub concurrent_files: usize,
    /// Told of every received byte.
    pub observers: mlx_manager_sdk::Observers,
}

/// Why a job stopped before completing.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Cancelled, or the manager is stopping: the task stays as it is.
    #[error("interrupted")]
    Interrupted,
    /// The disk is full; partial files should be removed.
    #[error("Not enough disk space in {0}")]
    DiskFull(String),
    /// Any other failure, as a sentence for the user.
    #[error("{0}")]
    Failed(String),
}

impl From<HubError> for JobError {
    fn from(err: HubError) -> Self {
        match err {
            HubError::Cancelled => JobError::Interrupted,
            other => JobError::Failed(other.to_string()),
        }
    }
}

impl JobError {
    /// A file-system failure while doing `what`.
    pub fn io(err: &io::Error, cache: &HubCache, what: &str) -> Self {
        let full = matches!(
            err.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        ) || err.raw_os_error() == Some(nix::errno::Errno::ENOSPC as i32);
        if full {
            JobError::DiskFull(cache.root().display().to_string())
        } else {
            JobError::Failed(format!("Cannot {what}: {err}"))
        }
    }
}

/// The live state of a task, shared by its job and its watchers.
pub struct Progress {
    tx: watch::Sender<TaskView>,
    done: AtomicU64,
}

impl Progress {
    /// Progress starting from `view`.
    pub fn new(view: TaskView) -> Self {
        let done = AtomicU64::new(view.downloaded_bytes);
        Self {
            tx: watch::Sender::new(view),
            done,
        }
    }

    /// The current view (with the latest byte count).
    pub fn view(&self) -> TaskView {
        let mut view = self.tx.borrow().clone();
        if !view.status.is_final() {
            view.downloaded_bytes = self.done();
        }
        view
    }

    /// A receiver of every published view.
    pub fn subscribe(&self) -> watch::Receiver<TaskView> {
        self.tx.subscribe()
    }

    /// Bytes on disk so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// `n` more bytes are on disk.
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` bytes were discarded (a restart from zero).
    pub fn sub(&self, n: u64) {
        // The closure always answers Some, so the update cannot fail.
        let _ = self
            .done
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(n))
            });
    }

    /// Change the status (and error), publishing at once.
    pub fn set_status(&self, status: DownloadStatus, error: Option<String>) {
        let done = self.done();
        self.tx.send_modify(|v| {
            v.status = status;
            v.error = error;
            v.downloaded_bytes = if status == DownloadStatus::Completed {
                v.total_bytes
            } else {
                done
            };
        });
    }

    pub(super) fn start(&self, total: u64, done: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.tx.send_modify(|v| {
            v.total_bytes = total;
            v.downloaded_bytes = done;
        });
    }

    pub(super) fn publish(&self) {
        let done = self.done();
        self.tx.send_if_modified(|v| {
            let changed = v.downloaded_bytes != done;
            v.downloaded_bytes = done;
            changed
        });
    }
}

/// A file to fetch.
#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Path in the repository.
    pub path: RepoPath,
    /// Blob name: the LFS SHA-256, else the git object id.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether `hash` is a SHA-256 of the content to check.
    pub verify_sha256: bool,
}
