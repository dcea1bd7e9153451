//! Downloads of whole model repositories into the hub cache.
//!
//! - [`manager`]: `DownloadManager`: starts tasks (one per model at a time),
//!   answers progress, cancels, resumes unfinished tasks at start-up, stops.
//! - [`job`]: one task: list the revision's files, fetch them with bounded
//!   concurrency, then publish the snapshot and `refs/main`.
//! - [`fetch`]: one file: `blobs/<hash>.incomplete`, continued with `Range`
//!   requests, its SHA-256 checked before it becomes `blobs/<hash>`.
//! - [`tasks`]: the `download_task` records in the store.
//! - `shared`: what a job and its fetches share (context, error, progress).

pub(crate) mod fetch;
pub(crate) mod job;
pub(crate) mod manager;
mod shared;
pub(crate) mod tasks;

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

pub use manager::DownloadManager;
pub use shared::JobContext;

/// Where a download task stands (stored by its lower-case name; a stored name
/// outside these fails the read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, SurrealValue)]
#[surreal(untagged, rename_all = "lowercase")]
pub enum DownloadStatus {
    /// Recorded, not started yet (or waiting to be resumed).
    Pending,
    /// Fetching files.
    Downloading,
    /// Every file is verified and the snapshot is published.
    Completed,
    /// Stopped by an error (`error` says which).
    Failed,
    /// Cancelled by a user; partial files were removed.
    Cancelled,
}

impl DownloadStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Downloading => "downloading",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the task has ended (completed, failed or cancelled).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A task as clients see it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// Opaque id (32 hex digits).
    pub task_id: String,
    /// The model.
    pub model_id: String,
    /// Where it stands.
    pub status: DownloadStatus,
    /// Bytes on disk so far (partial files included).
    pub downloaded_bytes: u64,
    /// Bytes of all files of the revision (0 until listed).
    pub total_bytes: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
}

impl TaskView {
    /// Percent done, 0 to 100, one decimal.
    pub fn progress(&self) -> f64 {
        if self.status == DownloadStatus::Completed {
            return 100.0;
        }
        if self.total_bytes == 0 {
            return 0.0;
        }
        let percent = self.downloaded_bytes as f64 * 100.0 / self.total_bytes as f64;
        (percent.min(100.0) * 10.0).floor() / 10.0
    }
}

/// Whether `id` can be a task id (what [`manager::DownloadManager`] makes).
pub fn is_task_id(id: &str) -> bool {
    id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use surrealdb::types::Value;

    use super::*;

    #[test]
    fn a_status_is_stored_by_its_name_and_an_unknown_name_does_not_decode() {
        for s in [
            DownloadStatus::Pending,
            DownloadStatus::Downloading,
            DownloadStatus::Completed,
            DownloadStatus::Failed,
            DownloadStatus::Cancelled,
        ] {
            let stored = s.into_value();
            assert_eq!(stored, Value::String(s.as_str().into()));
            assert_eq!(DownloadStatus::from_value(stored).ok(), Some(s));
        }
        assert!(DownloadStatus::from_value(Value::String("paused".into())).is_err());
    }
}
