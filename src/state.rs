//! `AppState`: what every core handler reaches through `Data<&Arc<AppState>>`,
//! started before the server binds and stopped after it has stopped serving.

use std::{
    path::PathBuf,
    sync::{Arc, Weak},
};

use mlx_manager_sdk::{
    Db, EventBus, GaugeFamily, GaugeSample, GaugeSource, Observers, clock::SharedClock,
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{ConfigError, Settings},
    gateway::{Gateway, usage::UsageLog},
    lifecycle::Lifecycle,
    models::{DownloadManager, HubCache, HubClient, JobContext},
    profiles::Profiles,
    servers::{Supervisor, command::Template},
    store::StoreError,
    system::service::{Kind, ProcessRunner, ServiceManager, default_dir},
};

/// The core's services could not start.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A setting is invalid (the server command, the Hub client).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store failed while servers were adopted or downloads resumed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client of the health probes or the gateway cannot be built.
    #[error("cannot build an HTTP client for the model servers: {0}")]
    Client(#[from] reqwest::Error),
}

/// Shared state of the running application.
pub struct AppState {
    /// The effective settings.
    pub settings: Arc<Settings>,
    /// The store.
    pub db: Db,
    /// Cancelled when the server begins to shut down; long-lived streams end on it.
    pub shutdown: CancellationToken,
    /// Server profiles.
    pub profiles: Profiles,
    /// Model-server processes.
    pub supervisor: Arc<Supervisor>,
    /// The use cases over profiles, their servers and login services.
    pub lifecycle: Lifecycle,
    /// The OpenAI-compatible gateway in front of the running servers.
    pub gateway: Gateway,
    /// The Hugging Face Hub client.
    pub hub: Arc<HubClient>,
    /// Model downloads (resumed at start, interrupted at stop).
    pub downloads: Arc<DownloadManager>,
    /// Where the core publishes its domain events.
    pub events: EventBus,
}

impl AppState {
    /// Start the core's services over an opened, migrated store.
    pub async fn start(
        settings: Arc<Settings>,
        db: Db,
        data_dir: PathBuf,
        events: EventBus,
        shutdown: CancellationToken,
        clock: SharedClock,
        observers: Observers,
    ) -> Result<Arc<Self>, CoreError> {
        // Settings first: nothing is adopted or resumed when one is bad.
        let template =
            Template::new(&settings.servers).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let hub = HubClient::new(&settings.hub).map_err(ConfigError::Invalid)?;
        let hub = Arc::new(hub);
        let supervisor = Supervisor::new(
            template,
            settings.servers.clone(),
            data_dir.clone(),
            db.clone(),
            settings.node.name(),
            events.clone(),
        )?;
        supervisor.reconcile().await.map_err(StoreError::from)?;
        let services = Arc::new(service_manager(&settings, &data_dir));
        let mut profiles = Profiles::new(
            db.clone(),
            settings.node.name(),
            settings.servers.port_start,
        )
        .with_public_bind(settings.servers.allow_public_bind)
        .observed(observers.clone());
        if settings.database.is_shared() {
            profiles = profiles.shared();
        }
        let lifecycle = Lifecycle::new(profiles.clone(), supervisor.clone(), services.clone());
        let usage = UsageLog::new(
            db.clone(),
            clock,
            settings.gateway.usage_retention,
            observers.clone(),
        );
        usage.write_every_second(shutdown.clone());
        let gateway = Gateway::new(
            lifecycle.clone(),
            profiles.clone(),
            supervisor.clone(),
            events.clone(),
            usage,
        )?;
        let jobs = JobContext {
            db: db.clone(),
            node: settings.node.name().to_owned(),
            hub: hub.clone(),
            cache: HubCache::new(settings.paths.hf_cache()),
            concurrent_files: settings.hub.concurrent_files,
            observers: observers.clone(),
        };
        let downloads = DownloadManager::new(
            jobs,
            settings.hub.concurrent_downloads.max(1),
            events.clone(),
        );
        downloads.prune_finished_every(settings.hub.keep_finished);
        let resumed = downloads
            .resume_unfinished()
            .await
            .map_err(StoreError::from)?;
        if resumed > 0 {
            tracing::info!(resumed, "unfinished downloads resumed");
        }
        let state = Arc::new(Self {
            lifecycle,
            gateway,
            profiles,
            supervisor,
            settings,
            db,
            shutdown,
            hub,
            downloads,
            events,
        });
        observers.add_gauges(Arc::new(CoreGauges(Arc::downgrade(&state))));
        Ok(state)
    }

    /// Stop what the core started (called once the server no longer serves).
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.downloads.stop().await;
        self.supervisor.stop_all().await;
        // The last second of usage (the writer's final flush may race this one;
        // a batch is taken once, so nothing is written twice).
        if let Err(e) = self.gateway.usage().flush().await {
            tracing::warn!(error = %e, "cannot write the last usage records");
        }
    }
}

/// The core's gauges, read when an observer asks: model servers by state and
/// their memory, and each gateway lane's queue.
struct CoreGauges(Weak<AppState>);

#[async_trait::async_trait]
impl GaugeSource for CoreGauges {
    async fn gauges(&self) -> Vec<GaugeFamily> {
        let Some(state) = self.0.upgrade() else {
            return Vec::new();
        };
        let servers = state.supervisor.list_running().await.unwrap_or_default();
        let mut by_state = [("starting", 0.0), ("running", 0.0), ("stopping", 0.0)];
        for server in &servers {
            let name = match server.state {
                crate::servers::RunState::Starting => "starting",
                crate::servers::RunState::Running => "running",
                crate::servers::RunState::Stopping => "stopping",
                crate::servers::RunState::Exited(_) => continue,
            };
            for (state, count) in &mut by_state {
                if *state == name {
                    *count += 1.0;
                }
            }
        }
        let memory = servers
            .iter()
            .map(|s| GaugeSample::labelled("profile", &s.profile_name, s.memory_mb * 1_048_576.0))
            .collect();
        // Lanes are kept by profile id; the series are by name.
        let names: std::collections::HashMap<String, String> = match state.profiles.list().await {
            Ok(list) => list.into_iter().map(|p| (p.id, p.values.name)).collect(),
            Err(_) => Default::default(),
        };
        let (mut waiting, mut forwarded) = (Vec::new(), Vec::new());
        for (id, all, queued) in state.gateway.loads() {
            let Some(name) = names.get(&id) else { continue };
            waiting.push(GaugeSample::labelled("profile", name, queued as f64));
            forwarded.push(GaugeSample::labelled(
                "profile",
                name,
                all.saturating_sub(queued) as f64,
            ));
        }
        vec![
            GaugeFamily {
                name: "servers",
                help: "Model servers of this manager, by state (starting, running, stopping)",
                samples: by_state
                    .into_iter()
                    .map(|(state, n)| GaugeSample::labelled("state", state, n))
                    .collect(),
            },
            GaugeFamily {
                name: "server_memory_bytes",
                help: "Resident memory of a model server's process tree, by profile",
                samples: memory,
            },
            GaugeFamily {
                name: "gateway_queue_depth",
                help: "Gateway requests waiting for a turn, by profile",
                samples: waiting,
            },
            GaugeFamily {
                name: "gateway_in_flight",
                help: "Gateway requests forwarded or starting their server, by profile",
                samples: forwarded,
            },
        ]
    }
}

/// The host's service manager, as configured in `[system]`.
pub fn service_manager(settings: &Settings, data_dir: &std::path::Path) -> ServiceManager {
    // Without a home directory, login services have nowhere launchd or systemd
    // would look; the data directory keeps the files together (and an install
    // then fails at the service manager, saying so).
    let home = dirs::home_dir().unwrap_or_else(|| data_dir.to_path_buf());
    let kind = Kind::of_this_host();
    let dir = match &settings.system.service_dir {
        Some(dir) => crate::config::expand_home(dir),
        None => default_dir(kind, &home),
    };
    ServiceManager::new(
        kind,
        dir,
        home,
        settings.system.launchctl.clone(),
        settings.system.systemctl.clone(),
        Arc::new(ProcessRunner),
    )
}
