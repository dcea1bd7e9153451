//! Typed domain events (who did what, to what, with what outcome) and the bus
//! that carries them from the core and the plugins to every subscriber.
//!
//! No event is ever dropped: each subscriber has a bounded queue, and a full
//! queue makes `publish` wait (backpressure) instead of losing the event.
//! [`EVENT_QUEUE_CAPACITY`] is far above what a subscriber that writes in
//! batches ever has waiting (see the README for the measured figure).

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::{CredentialKind, Principal, Role};

/// Events each subscriber may have waiting before publishers wait for it.
pub const EVENT_QUEUE_CAPACITY: usize = 4096;

/// The name of what happened, `<area>.<verb>` (`profile.create`), declared by
/// the crate that publishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EventAction(pub &'static str);

impl EventAction {
    /// The name: `profile.create`.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The user's id, when a user acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user's email, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's role at the time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// How they proved who they are (`password` for a login itself).
    pub via: ActorVia,
}

/// How an actor came: the audit log's `via`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorVia {
    /// A password (a login, a registration, a password change).
    Password,
    /// A login token.
    Token,
    /// An API key.
    ApiKey,
    /// A stream ticket.
    Ticket,
    /// The offline command line.
    Cli,
    /// The manager itself (a crash, a finished download, an anonymous request).
    System,
}

impl ActorVia {
    /// Its name: `api_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorVia::Password => "password",
            ActorVia::Token => "token",
            ActorVia::ApiKey => "api_key",
            ActorVia::Ticket => "ticket",
            ActorVia::Cli => "cli",
            ActorVia::System => "system",
        }
    }
}

impl From<CredentialKind> for ActorVia {
    fn from(kind: CredentialKind) -> Self {
        match kind {
            CredentialKind::Token => ActorVia::Token,
            CredentialKind::Ticket => ActorVia::Ticket,
            CredentialKind::ApiKey => ActorVia::ApiKey,
            CredentialKind::Cli => ActorVia::Cli,
            CredentialKind::System => ActorVia::System,
        }
    }
}

impl Actor {
    /// The authenticated caller.
    pub fn of(principal: &Principal) -> Self {
        Self {
            id: Some(principal.user_id().to_owned()),
            email: Some(principal.email().to_owned()),
            role: Some(principal.role()),
            via: principal.via().into(),
        }
    }

    /// A user known by id and email, acting `via` (a login, the CLI).
    pub fn user(id: impl Into<String>, email: impl Into<String>, via: ActorVia) -> Self {
        Self {
            id: Some(id.into()),
            email: Some(email.into()),
            role: None,
            via,
        }
    }

    /// Someone who gave only an email (a failed login); `None`: not even that.
    pub fn anonymous(email: Option<String>, via: ActorVia) -> Self {
        Self {
            id: None,
            email,
            role: None,
            via,
        }
    }

    /// The manager itself.
    pub fn system() -> Self {
        Self::anonymous(None, ActorVia::System)
    }

    /// An operator at the offline command line.
    pub fn cli() -> Self {
        Self::anonymous(None, ActorVia::Cli)
    }
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// `user`, `profile`, `server`, `download`, `model`, `service`, `route`...
    pub kind: &'static str,
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name (an email, a profile name, a model id, a route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Target {
    /// A target of `kind` with an id and a name.
    pub fn new(kind: &'static str, id: Option<String>, name: Option<String>) -> Self {
        Self { kind, id, name }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It happened.
    Ok,
    /// It was refused (a 403, a wrong password).
    Denied,
    /// It was tried and failed.
    Failed,
}

impl Outcome {
    /// Its name: `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// One domain event. Never carries a password, token, key secret, prompt or
/// request body: publishers put only names and ids here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub action: EventAction,
    /// To what.
    pub target: Target,
    /// How it ended.
    pub outcome: Outcome,
    /// The client's address, when it came over HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A short sentence (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Event {
    /// An event that happened now, with outcome `ok`.
    #[allow(
        clippy::disallowed_methods,
        reason = "an event's timestamp; no decision reads it"
    )]
    pub fn new(actor: Actor, action: EventAction, target: Target) -> Self {
        Self {
            time: Utc::now(),
            actor,
            action,
            target,
            outcome: Outcome::Ok,
            address: None,
            detail: None,
        }
    }

    /// The same event with another outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same event with a detail sentence.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The same event with the client's address.
    pub fn address(mut self, address: Option<String>) -> Self {
        self.address = address;
        self
    }
}

/// The bus: publishers hand events to every subscriber's queue.
#[derive(Clone, Default)]
pub struct EventBus {
    subscribers: Arc<RwLock<Vec<mpsc::Sender<Arc<Event>>>>>,
}

impl EventBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new subscriber's queue: it receives every event published from now on.
    /// Subscribe during `init`, before requests are served.
    pub fn subscribe(&self) -> mpsc::Receiver<Arc<Event>> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE_CAPACITY);
        self.subscribers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(tx);
        rx
    }

    /// Hand `event` to every subscriber, waiting while a queue is full. A
    /// subscriber that has gone away is skipped.
    pub async fn publish(&self, event: Event) {
        let subscribers = self
            .subscribers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let event = Arc::new(event);
        for tx in subscribers {
            let _ = tx.send(event.clone()).await;
        }
    }

    /// Stop carrying events: every subscriber gets what is queued, then sees its
    /// queue end. Called once nothing publishes any more (at shutdown).
    pub fn close(&self) {
        self.subscribers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The most events any subscriber has waiting right now.
    pub fn max_queued(&self) -> usize {
        self.subscribers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|tx| tx.max_capacity() - tx.capacity())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> Event {
        Event::new(
            Actor::system(),
            EventAction("thing.happen"),
            Target::new("thing", Some(n.to_string()), None),
        )
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let bus = EventBus::new();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        for n in 0..10 {
            bus.publish(event(n)).await;
        }
        for rx in [&mut a, &mut b] {
            for n in 0..10 {
                let got = rx.recv().await.expect("event");
                assert_eq!(got.target.id, Some(n.to_string()));
            }
        }
    }

    #[tokio::test]
    async fn a_full_queue_makes_the_publisher_wait_instead_of_dropping() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe();
        for n in 0..EVENT_QUEUE_CAPACITY {
            bus.publish(event(n)).await;
        }
        assert_eq!(bus.max_queued(), EVENT_QUEUE_CAPACITY);
        let publisher = {
            let bus = bus.clone();
            tokio::spawn(async move { bus.publish(event(EVENT_QUEUE_CAPACITY)).await })
        };
        tokio::task::yield_now().await;
        assert!(!publisher.is_finished(), "the publisher waits for room");
        let mut seen = 0;
        while seen <= EVENT_QUEUE_CAPACITY {
            let got = rx.recv().await.expect("event");
            assert_eq!(got.target.id, Some(seen.to_string()));
            seen += 1;
        }
        publisher.await.expect("published");
    }

    #[test]
    fn an_event_serialises_without_empty_fields() {
        let json = serde_json::to_value(event(1)).expect("json");
        assert_eq!(json["actor"], serde_json::json!({"via": "system"}));
        assert_eq!(json["action"], "thing.happen");
        assert_eq!(json["outcome"], "ok");
        assert!(json.get("detail").is_none());
    }
}
