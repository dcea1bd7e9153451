//! The audit plugin: an append-only record of who did what, built only from the
//! plugin contract. Domain events come from the event bus; refused (403) and
//! failed (5xx) calls come from the request hook. Nothing here names the core.
//!
//! - `store`: the `audit_event` table, batch writes, cursor pages, pruning.
//! - `api`: `/api/audit/events` (filters, pages), `/export` (JSON Lines) and
//!   `/stream` (live, stream tickets), action `audit.read`.
//! - `config`: `[plugins.audit] retention`, `prune_interval`.

pub mod api;
pub mod config;
pub mod store;

use std::{sync::Arc, time::Duration};

use mlx_manager_sdk::{
    Action, ActionDecl, Actor, Db, Event, EventAction, EventBus, Migration, Observers, Outcome,
    Plugin, PluginContext, PluginError, RequestRecord, Role, Target,
};
use tokio::sync::{Mutex, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::{config::AuditConfig, store::Row};

/// Read the audit log.
pub const AUDIT_READ: Action = Action::new("audit.read");
/// A protected call refused with 403.
pub const REQUEST_DENIED: EventAction = EventAction("request.denied");
/// A call that failed with a server error.
pub const REQUEST_FAILED: EventAction = EventAction("request.failed");

/// Events written in one statement at most.
const BATCH: usize = 256;

/// The plugin; its value is in every request's data as `Arc<AuditPlugin>`.
pub struct AuditPlugin {
    db: Db,
    events: EventBus,
    live: broadcast::Sender<Arc<Row>>,
    stopping: CancellationToken,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pruner: tokio::task::JoinHandle<()>,
}

impl AuditPlugin {
    /// The store the events are in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A receiver of every event written from now on.
    pub fn live(&self) -> broadcast::Receiver<Arc<Row>> {
        self.live.subscribe()
    }

    /// Cancelled when the server begins to shut down.
    pub fn stopping(&self) -> &CancellationToken {
        &self.stopping
    }
}

/// Receive events, write them in batches, then tell live viewers. Ends when the
/// bus is gone and every queued event is written.
async fn write_events(
    db: Db,
    mut rx: mpsc::Receiver<Arc<Event>>,
    live: broadcast::Sender<Arc<Row>>,
    observers: Observers,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let rows: Vec<Row> = batch.drain(..).map(|e| Row::from_event(&e)).collect();
        let mut attempt = 0;
        loop {
            let insert = store::insert(&db, rows.clone());
            match observers.store("audit.insert", insert).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "cannot write audit events; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, events = rows.len(), "audit events could not be written");
                    break;
                }
            }
        }
        for row in rows {
            let _ = live.send(Arc::new(row));
        }
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "retention runs against the real time"
)]
async fn prune_forever(db: Db, config: AuditConfig, stopping: CancellationToken) {
    let mut ticks = tokio::time::interval(config.prune_interval);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopping.cancelled() => return,
        }
        let Ok(retention) = chrono::Duration::from_std(config.retention) else {
            return;
        };
        match store::prune(&db, chrono::Utc::now() - retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "old audit events pruned"),
            Err(e) => tracing::warn!(error = %e, "cannot prune audit events"),
        }
    }
}

impl Plugin for AuditPlugin {
    const NAME: &'static str = "audit";
    const MIGRATIONS: &'static [Migration] = store::MIGRATIONS;
    const ACTIONS: &'static [ActionDecl] = &[ActionDecl::new(
        AUDIT_READ,
        Role::Admin,
        "read, export and follow the audit log",
    )];
    type Config = AuditConfig;
    type Api = api::AuditApi;

    async fn init(config: AuditConfig, ctx: &mut PluginContext) -> Result<Self, PluginError> {
        config.check().map_err(PluginError::new)?;
        let db = ctx.db().clone();
        let (live, _) = broadcast::channel(1024);
        let rx = ctx.events().subscribe();
        let observers = ctx.observers().clone();
        let writer = tokio::spawn(write_events(db.clone(), rx, live.clone(), observers));
        let stopping = ctx.stopping().clone();
        let pruner = if ctx.is_offline() {
            tokio::spawn(async {})
        } else {
            tokio::spawn(prune_forever(db.clone(), config, stopping.clone()))
        };
        Ok(Self {
            db,
            events: ctx.events().clone(),
            live,
            stopping,
            writer: Mutex::new(Some(writer)),
            pruner,
        })
    }

    async fn on_request(&self, request: &RequestRecord<'_>) {
        let Some(route) = request.route else {
            return;
        };
        let (action, outcome) = match request.status {
            403 if request.principal.is_some() => (REQUEST_DENIED, Outcome::Denied),
            s if s >= 500 => (REQUEST_FAILED, Outcome::Failed),
            _ => return,
        };
        let actor = request
            .principal
            .map(Actor::of)
            .unwrap_or_else(Actor::system);
        let target = Target::new("route", None, Some(format!("{} {route}", request.method)));
        let event = Event::new(actor, action, target)
            .outcome(outcome)
            .address(request.address.map(str::to_owned))
            .detail(format!("status {}", request.status));
        self.events.publish(event).await;
    }

    async fn shutdown(&self) {
        self.stopping.cancel();
        self.pruner.abort();
        // Nothing publishes any more (the server has stopped serving, or the
        // command has run): close the bus, and the writer ends once every queued
        // event is written.
        self.events.close();
        if let Some(writer) = self.writer.lock().await.take()
            && let Err(e) = writer.await
        {
            tracing::warn!(error = %e, "the audit writer ended abnormally");
        }
    }
}

/// The audit plugin's error codes, in one table.
pub mod codes {
    mlx_manager_sdk::error_codes! {
            /// 422: invalid filter.
            INVALID_FILTER = "invalid_filter";
    }
}
