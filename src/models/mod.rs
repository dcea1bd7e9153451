//! Models: Hugging Face Hub search, resumable downloads into the hub cache, and
//! the local library. Domain and infrastructure only; the HTTP handlers are in
//! `api::models`.
//!
//! - `id`: `ModelId` and `RepoPath`, the checked names that become paths.
//! - `hub`: the Hub client (endpoint, token, timeouts, retries, offline).
//! - `search`: search hits with their size (`usedStorage` or a name estimate).
//! - `cache`: the cache layout (`blobs/`, `snapshots/`, `refs/main`).
//! - `download`: the download manager, its tasks and their store records.
//! - `library`: local models, their characteristics, deletion.

pub(crate) mod cache;
pub(crate) mod characteristics;
pub(crate) mod download;
pub(crate) mod hub;
pub(crate) mod id;
pub(crate) mod library;
pub(crate) mod search;

pub use cache::HubCache;
pub use characteristics::Characteristics;
pub use download::{DownloadManager, DownloadStatus, JobContext, TaskView};
pub use hub::{HubClient, HubError};
pub use id::{InvalidModelId, ModelId};
pub use library::{LocalModel, ModelUsage};

/// Everything that can go wrong in this domain; `api::models` maps each variant
/// to one status.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// A model id that is not `org/name` with safe characters.
    #[error(transparent)]
    InvalidId(#[from] InvalidModelId),
    /// A blank search query.
    #[error("Query must not be empty")]
    EmptyQuery,
    /// Another parameter is out of range; the message names it.
    #[error("{0}")]
    InvalidParameter(String),
    /// `[hub] offline = true`.
    #[error("The Hugging Face Hub is not used: the server runs offline")]
    Offline,
    /// The Hub failed.
    #[error(transparent)]
    Hub(HubError),
    /// No such local model.
    #[error("Model not found")]
    ModelNotFound,
    /// The local model has no readable `config.json`.
    #[error("Model config not found")]
    ConfigNotFound,
    /// No such download task.
    #[error("Download task not found")]
    TaskNotFound,
    /// A running model server uses the model.
    #[error("Model is in use by a running server")]
    ModelInUse,
    /// The model is being downloaded.
    #[error("Model is being downloaded; cancel the download first")]
    DownloadRunning,
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] surrealdb::Error),
    /// The file system failed.
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else unexpected.
    #[error("{0}")]
    Internal(String),
}

impl From<HubError> for ModelsError {
    fn from(err: HubError) -> Self {
        match err {
            HubError::Offline => ModelsError::Offline,
            other => ModelsError::Hub(other),
        }
    }
}

/// Delete a local model: refused while it is being downloaded or a running
/// server uses it.
pub async fn delete_model(
    downloads: &DownloadManager,
    usage: &dyn ModelUsage,
    id: &ModelId,
) -> Result<(), ModelsError> {
    downloads.delete_local(id, usage).await
}
