//! Measurements and gauges: how the core and the plugins let an observer (the
//! metrics plugin) see what they do without knowing who watches.
//!
//! - [`Measurement`]: something that just happened and took a measurable
//!   amount of time or bytes (a store query, a gateway request, downloaded
//!   bytes). Reported with [`Observers::record`], a synchronous call that costs
//!   one relaxed atomic load when nobody watches.
//! - [`GaugeSource`]: a component that can say *now* how many of something it
//!   has (servers by state, users by status). Asked when a gauge is read (a
//!   scrape), never on a request's path.
//!
//! Domain events with an actor (logins, crashes) travel on the
//! [`EventBus`](crate::EventBus) instead; this is for what is too frequent or
//! too small to be an event.

use std::{
    future::Future,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use tracing::Instrument;

/// Something that just happened, as an observer sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Measurement<'a> {
    /// A store call ended.
    StoreQuery {
        /// A short, fixed name of the call (`auth.session`, `profiles.list`):
        /// never a value from a request.
        op: &'static str,
        /// How long it took.
        elapsed: Duration,
        /// Whether it succeeded.
        ok: bool,
    },
    /// A request through the OpenAI-compatible gateway ended.
    Gateway(&'a GatewayRequest<'a>),
    /// Bytes of a model download were written to the cache.
    DownloadBytes(u64),
}

/// One gateway request, when its answer ended (or the client hung up).
#[derive(Debug, Clone, Copy)]
pub struct GatewayRequest<'a> {
    /// The profile's name.
    pub profile: &'a str,
    /// The status the client saw (499: it hung up first).
    pub status: u16,
    /// From arrival to the answer's end.
    pub duration: Duration,
    /// From arrival to the answer's first byte, when one came.
    pub first_byte: Option<Duration>,
    /// Prompt tokens, from the answer's `usage`.
    pub prompt_tokens: Option<u64>,
    /// Completion tokens, from the answer's `usage`.
    pub completion_tokens: Option<u64>,
}

/// Sees every [`Measurement`]. Called on the path of the work measured, so
/// keep it to a few atomic updates.
pub trait Observer: Send + Sync + 'static {
    /// `measurement` just happened.
    fn observe(&self, measurement: &Measurement<'_>);
}

/// One gauge family's current values.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeFamily {
    /// The name, in Prometheus conventions (`servers`, `auth_users`,
    /// `server_memory_bytes`: base units, no `_total`).
    pub name: &'static str,
    /// One sentence for the exposition's HELP line.
    pub help: &'static str,
    /// The values, one per label set; every sample has the same label names.
    pub samples: Vec<GaugeSample>,
}

/// One value of a gauge family.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeSample {
    /// Label names and values.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl GaugeSample {
    /// A value without labels.
    pub fn plain(value: f64) -> Self {
        Self {
            labels: Vec::new(),
            value,
        }
    }

    /// A value with one label.
    pub fn labelled(name: &'static str, value_of_label: impl Into<String>, value: f64) -> Self {
        Self {
            labels: vec![(name, value_of_label.into())],
            value,
        }
    }
}

/// A component that can say how many of something it has now.
#[async_trait::async_trait]
pub trait GaugeSource: Send + Sync + 'static {
    /// The current values. A source that cannot read them (the store is
    /// down) returns what it has, or nothing: a scrape never fails for it.
    async fn gauges(&self) -> Vec<GaugeFamily>;
}

#[derive(Default)]
struct Inner {
    watched: AtomicBool,
    observers: RwLock<Vec<Arc<dyn Observer>>>,
    sources: RwLock<Vec<Arc<dyn GaugeSource>>>,
}

/// Where measurements are reported and gauge sources registered; one per
/// server, cloned into every component (in the [`PluginContext`](crate::PluginContext)
/// for plugins).
#[derive(Clone, Default)]
pub struct Observers(Arc<Inner>);

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("watched", &self.is_watched())
            .finish_non_exhaustive()
    }
}

impl Observers {
    /// A registry nobody watches yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Send every measurement from now on to `observer` too.
    pub fn watch(&self, observer: Arc<dyn Observer>) {
        self.0
            .observers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(observer);
        self.0.watched.store(true, Ordering::Release);
    }

    /// Whether anyone watches (a reporter may skip preparing a measurement).
    pub fn is_watched(&self) -> bool {
        self.0.watched.load(Ordering::Acquire)
    }

    /// Report `measurement` to every observer.
    pub fn record(&self, measurement: &Measurement<'_>) {
        if !self.is_watched() {
            return;
        }
        let observers = self
            .0
            .observers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for observer in observers.iter() {
            observer.observe(measurement);
        }
    }

    /// Register a source of gauges, asked on every [`Observers::gauges`].
    pub fn add_gauges(&self, source: Arc<dyn GaugeSource>) {
        self.0
            .sources
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(source);
    }

    /// Every registered source's current gauges.
    pub async fn gauges(&self) -> Vec<GaugeFamily> {
        let sources: Vec<Arc<dyn GaugeSource>> = self
            .0
            .sources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut all = Vec::new();
        for source in sources {
            all.extend(source.gauges().await);
        }
        all
    }

    /// Run the store call `call` named `op` inside a `store` span (at debug
    /// level, with the name only: never a value), and report its time.
    pub async fn store<T, E>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let start = Instant::now();
        let result = call.instrument(tracing::debug_span!("store", op)).await;
        self.record(&Measurement::StoreQuery {
            op,
            elapsed: start.elapsed(),
            ok: result.is_ok(),
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);

    impl Observer for Seen {
        fn observe(&self, measurement: &Measurement<'_>) {
            let line = match measurement {
                Measurement::StoreQuery { op, ok, .. } => format!("store {op} {ok}"),
                Measurement::Gateway(g) => format!("gateway {} {}", g.profile, g.status),
                Measurement::DownloadBytes(n) => format!("bytes {n}"),
            };
            self.0.lock().unwrap().push(line);
        }
    }

    struct Two;

    #[async_trait::async_trait]
    impl GaugeSource for Two {
        async fn gauges(&self) -> Vec<GaugeFamily> {
            vec![GaugeFamily {
                name: "things",
                help: "Things.",
                samples: vec![GaugeSample::labelled("kind", "a", 2.0)],
            }]
        }
    }

    #[tokio::test]
    async fn measurements_reach_every_observer_and_store_calls_are_timed() {
        let observers = Observers::new();
        observers.record(&Measurement::DownloadBytes(1));
        assert!(!observers.is_watched());
        let (a, b) = (Arc::new(Seen::default()), Arc::new(Seen::default()));
        observers.watch(a.clone());
        observers.watch(b.clone());
        observers.record(&Measurement::DownloadBytes(7));
        let failed: Result<(), &str> = observers.store("thing.find", async { Err("down") }).await;
        assert!(failed.is_err());
        for seen in [a, b] {
            assert_eq!(
                *seen.0.lock().unwrap(),
                ["bytes 7", "store thing.find false"]
            );
        }
    }

    #[tokio::test]
    async fn gauges_come_from_every_source() {
        let observers = Observers::new();
        assert!(observers.gauges().await.is_empty());
        observers.add_gauges(Arc::new(Two));
        observers.add_gauges(Arc::new(Two));
        let families = observers.gauges().await;
        assert_eq!(families.len(), 2);
        assert_eq!(families[0].samples[0].value, 2.0);
    }
}
