//! `AppState`: what every core handler reaches through `Data<&Arc<AppState>>`,
//! started before the server binds and stopped after it has stopped serving.

use std::{path::PathBuf, sync::Arc};

use mlx_manager_sdk::Db;
use tokio_util::sync::CancellationToken;

use crate::{
    config::{ConfigError, Settings},
    models::{DownloadManager, HubCache, HubClient, ModelUsage, NoServers},
    startup::StartupError,
    store::StoreError,
};

/// Shared state of the running application.
pub struct AppState {
    /// The effective settings.
    pub settings: Arc<Settings>,
    /// The store.
    pub db: Db,
    /// The data directory (created, owner-only).
    pub data_dir: PathBuf,
    /// Cancelled when the server begins to shut down; long-lived streams end on it.
    pub shutdown: CancellationToken,
    /// The Hugging Face Hub client.
    pub hub: Arc<HubClient>,
    /// Model downloads (resumed at start, interrupted at stop).
    pub downloads: Arc<DownloadManager>,
    /// Which models running servers use (`NoServers` until a supervisor is wired).
    pub model_usage: Arc<dyn ModelUsage>,
}

impl AppState {
    /// Start the core's services over an opened, migrated store.
    pub async fn start(
        settings: Arc<Settings>,
        db: Db,
        data_dir: PathBuf,
    ) -> Result<Arc<Self>, StartupError> {
        let hub = HubClient::new(&settings.hub).map_err(ConfigError::Invalid)?;
        let hub = Arc::new(hub);
        let cache = HubCache::new(settings.paths.hf_cache());
        let concurrent = settings.hub.concurrent_files;
        let downloads = DownloadManager::new(db.clone(), hub.clone(), cache, concurrent);
        let resumed = downloads
            .resume_unfinished()
            .await
            .map_err(StoreError::from)?;
        if resumed > 0 {
            tracing::info!(resumed, "unfinished downloads resumed");
        }
        Ok(Arc::new(Self {
            settings,
            db,
            data_dir,
            shutdown: CancellationToken::new(),
            hub,
            downloads,
            model_usage: Arc::new(NoServers),
        }))
    }

    /// Stop what the core started (called once the server no longer serves).
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.downloads.stop().await;
    }
}
