//! `AppState`: what every core handler reaches through `Data<&Arc<AppState>>`.

use std::sync::Arc;

use mlx_manager_sdk::Db;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;

/// Shared state of the running application.
pub struct AppState {
    /// The effective settings.
    pub settings: Arc<Settings>,
    /// The store.
    pub db: Db,
    /// Cancelled when the server begins to shut down; long-lived streams end on it.
    pub shutdown: CancellationToken,
}
