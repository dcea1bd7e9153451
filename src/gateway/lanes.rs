//! One lane per profile in front of its model server: the fair queue (at most
//! `max_concurrency` forwarded, `queue_size` waiting in arrival order for up to
//! `queue_timeout`), the requests in flight, the one start that concurrent
//! requests for a stopped on-demand profile share, and the idle stop of a
//! server the gateway started.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use mlx_manager_sdk::{Actor, Event, EventBus, Target};

use super::GatewayError;
use crate::{actions, servers::Supervisor};

/// What an idle stop needs: the servers, and the bus its event goes to.
pub(crate) struct Servers {
    /// The supervisor of the model servers.
    pub supervisor: Arc<Supervisor>,
    /// Where the stop is published.
    pub events: EventBus,
}

/// Seconds a client refused by a full queue is told to wait.
const RETRY_AFTER_BUSY: u64 = 1;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The lanes of every profile the gateway has forwarded to.
#[derive(Default)]
pub(crate) struct Lanes {
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
}

impl Lanes {
    /// The lane of profile `id` (made on first use).
    pub fn of(&self, id: &str) -> Arc<Lane> {
        let mut lanes = lock(&self.lanes);
        // The key is allocated once per profile, not once per request.
        if let Some(lane) = lanes.get(id) {
            return lane.clone();
        }
        lanes.entry(id.to_owned()).or_default().clone()
    }

    /// Requests for profile `id` (admitted, starting or queued), and of those
    /// the ones waiting in its queue.
    pub fn load(&self, id: &str) -> (usize, usize) {
        lock(&self.lanes).get(id).map_or((0, 0), |l| l.load())
    }

    /// Every lane's profile id and load, as [`Lanes::load`] gives it.
    pub fn loads(&self) -> Vec<(String, usize, usize)> {
        let lanes = lock(&self.lanes);
        lanes
            .iter()
            .map(|(id, lane)| {
                let (all, waiting) = lane.load();
                (id.clone(), all, waiting)
            })
            .collect()
    }
}

/// A server the gateway started on demand.
#[derive(Debug, Clone, Copy)]
struct OnDemand {
    pid: u32,
    idle: Duration,
}

/// The lane's counters, changed together under one lock so that an idle
/// stop and an arriving request never miss each other.
#[derive(Default)]
struct Counts {
    /// Requests in flight (starting the server, queued, or answered).
    in_flight: usize,
    /// Since when nothing has been in flight.
    idle_since: Option<Instant>,
    /// An idle stop is under way: arriving requests wait for it, then start
    /// the server again.
    draining: bool,
    /// The server the gateway started, when it did.
    on_demand: Option<OnDemand>,
    /// The one idle timer of the lane runs.
    timer: bool,
    /// When the last start on demand failed, and why.
    failed: Option<(Instant, String)>,
}

/// One profile's lane.
#[derive(Default)]
pub(crate) struct Lane {
    /// Held while the gateway starts or idle-stops the server: concurrent
    /// requests wait here and find the outcome.
    pub starting: tokio::sync::Mutex<()>,
    /// The forwarding slots: (limit, semaphore). A changed `max_concurrency`
    /// adds permits, or takes them back as they come free.
    slots: Mutex<Option<(u32, Arc<Semaphore>)>>,
    waiting: AtomicUsize,
    counts: Mutex<Counts>,
}

impl Lane {
    /// Count a request in flight until the returned guard drops (its answer
    /// ended or the client hung up).
    pub fn enter(
        self: &Arc<Self>,
        servers: &Arc<Servers>,
        profile_id: &str,
        idle: Duration,
    ) -> InFlight {
        let mut counts = lock(&self.counts);
        counts.in_flight += 1;
        counts.idle_since = None;
        if let Some(d) = counts.on_demand.as_mut() {
            // The profile's current idle timeout applies from now on.
            d.idle = idle;
        }
        InFlight {
            lane: self.clone(),
            servers: servers.clone(),
            profile_id: profile_id.to_owned(),
            entered: Instant::now(),
        }
    }

    /// Requests in flight, and of those the ones waiting for a slot.
    fn load(&self) -> (usize, usize) {
        (
            lock(&self.counts).in_flight,
            self.waiting.load(Ordering::SeqCst),
        )
    }

    /// Whether an idle stop is under way (the server is going away).
    pub fn draining(&self) -> bool {
        lock(&self.counts).draining
    }

    /// Why the last start on demand failed, when it failed after `since`
    /// (the waiters of that start share its outcome instead of trying again).
    pub fn failed_since(&self, since: Instant) -> Option<String> {
        lock(&self.counts)
            .failed
            .as_ref()
            .filter(|(at, _)| *at >= since)
            .map(|(_, why)| why.clone())
    }

    /// Remember that a start on demand failed.
    pub fn start_failed(&self, why: String) {
        lock(&self.counts).failed = Some((Instant::now(), why));
    }

    /// Remember that the gateway started this server (process `pid`) on
    /// demand, to stop after `idle` with nothing in flight (never when zero).
    /// When every request that waited for it has gone, the idle timer starts
    /// now.
    pub fn started_on_demand(
        self: &Arc<Self>,
        pid: u32,
        idle: Duration,
        servers: &Arc<Servers>,
        profile_id: &str,
    ) {
        let mut counts = lock(&self.counts);
        counts.on_demand = Some(OnDemand { pid, idle });
        counts.failed = None;
        if counts.in_flight == 0 {
            counts.idle_since = Some(Instant::now());
            self.arm_timer(&mut counts, servers, profile_id);
        }
    }

    /// Start the lane's one idle timer unless it runs: it sleeps until the
    /// idle deadline, sleeps again when a request moved it, and ends when a
    /// request is in flight (the last one to end starts it again).
    fn arm_timer(self: &Arc<Self>, counts: &mut Counts, servers: &Arc<Servers>, id: &str) {
        let Some(started) = counts.on_demand else {
            return;
        };
        if counts.timer || started.idle.is_zero() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        counts.timer = true;
        let (lane, servers, id) = (self.clone(), servers.clone(), id.to_owned());
        runtime.spawn(async move {
            loop {
                let deadline = {
                    let mut counts = lock(&lane.counts);
                    match (counts.idle_since, counts.on_demand) {
                        (Some(since), Some(d)) if counts.in_flight == 0 && !d.idle.is_zero() => {
                            since + d.idle
                        }
                        _ => {
                            counts.timer = false;
                            return;
                        }
                    }
                };
                if Instant::now() < deadline {
                    tokio::time::sleep_until(deadline.into()).await;
                    continue;
                }
                lane.stop_if_idle(&servers, &id).await;
                lock(&lane.counts).timer = false;
                return;
            }
        });
    }

    /// Wait for a forwarding slot: at once when one of `limit` is free, else
    /// in arrival order behind at most `queue_size` others for up to
    /// `timeout`; 429 beyond either.
    pub async fn turn(
        &self,
        model: &str,
        limit: u32,
        queue_size: u32,
        timeout: Duration,
    ) -> Result<OwnedSemaphorePermit, GatewayError> {
        let slots = self.slots(limit);
        // tokio's semaphore is fair: a free permit goes to the longest waiter,
        // so this never jumps the queue.
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        if ahead >= queue_size as usize {
            return Err(GatewayError::RateLimited {
                message: format!(
                    "The model `{model}` is busy: {limit} requests are being answered and \
                     {queue_size} are waiting; retry later"
                ),
                retry_after: RETRY_AFTER_BUSY,
            });
        }
        match tokio::time::timeout(timeout, slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(GatewayError::Internal),
            Err(_) => Err(GatewayError::RateLimited {
                message: format!(
                    "The model `{model}` is busy: the request waited {} s in its queue; retry later",
                    timeout.as_secs()
                ),
                retry_after: RETRY_AFTER_BUSY,
            }),
        }
    }

    /// The lane's semaphore, its permits following `limit`: more are added at
    /// once; fewer are taken back as requests end (in queue order).
    fn slots(&self, limit: u32) -> Arc<Semaphore> {
        let mut slots = lock(&self.slots);
        match slots.as_mut() {
            Some((current, semaphore)) => {
                if *current != limit {
                    if limit > *current {
                        semaphore.add_permits((limit - *current) as usize);
                    } else {
                        let excess = *current - limit;
                        let taken = semaphore.clone();
                        tokio::spawn(async move {
                            if let Ok(permits) = taken.acquire_many_owned(excess).await {
                                permits.forget();
                            }
                        });
                    }
                    *current = limit;
                }
                semaphore.clone()
            }
            None => {
                let semaphore = Arc::new(Semaphore::new(limit as usize));
                *slots = Some((limit, semaphore.clone()));
                semaphore
            }
        }
    }

    /// Stop the server started on demand if nothing is in flight and it is
    /// still the process the gateway started. Requests that arrive meanwhile
    /// wait on `starting` and start it again.
    async fn stop_if_idle(&self, servers: &Servers, profile_id: &str) {
        let supervisor = &servers.supervisor;
        let _no_start = self.starting.lock().await;
        let started = {
            let mut counts = lock(&self.counts);
            let Some(started) = counts.on_demand else {
                return;
            };
            let idle = counts.in_flight == 0
                && counts
                    .idle_since
                    .is_some_and(|since| since.elapsed() >= started.idle);
            if !idle {
                return;
            }
            counts.on_demand = None;
            if supervisor.status(profile_id).pid != Some(started.pid) {
                // Stopped or restarted by someone else: no longer ours to stop.
                return;
            }
            counts.draining = true;
            started
        };
        tracing::info!(profile = %profile_id, idle_s = started.idle.as_secs(), "stopping an idle server started on demand");
        match supervisor.stop(profile_id, false).await {
            Ok(()) => {
                let target = Target::new("server", Some(profile_id.to_owned()), None);
                let event =
                    Event::new(Actor::system(), actions::SERVER_STOP, target).detail(format!(
                        "stopped by the gateway after {} s idle",
                        started.idle.as_secs()
                    ));
                servers.events.publish(event).await;
            }
            Err(e) => {
                tracing::debug!(profile = %profile_id, error = %e, "the idle server had already stopped");
            }
        }
        lock(&self.counts).draining = false;
    }
}

/// Counts one request in the queue while it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request in flight; when the last one of a lane ends, the idle timer of
/// a server started on demand begins.
pub(crate) struct InFlight {
    lane: Arc<Lane>,
    servers: Arc<Servers>,
    profile_id: String,
    entered: Instant,
}

impl InFlight {
    /// When the request arrived in the lane.
    pub fn entered(&self) -> Instant {
        self.entered
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counts = lock(&self.lane.counts);
        counts.in_flight = counts.in_flight.saturating_sub(1);
        if counts.in_flight == 0 {
            counts.idle_since = Some(Instant::now());
            self.lane
                .arm_timer(&mut counts, &self.servers, &self.profile_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_and_waiters_are_served_in_arrival_order() {
        let lane = Arc::new(Lane::default());
        let long = Duration::from_secs(60);
        let first = lane.turn("m", 1, 2, long).await.expect("a free slot");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiters = Vec::new();
        for n in 0..2 {
            let (waiter, order) = (lane.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let permit = waiter.turn("m", 1, 2, long).await.expect("queued");
                lock(&order).push(n);
                drop(permit);
            }));
            // Each waiter is queued before the next one arrives.
            while lane.waiting.load(Ordering::SeqCst) <= n {
                tokio::task::yield_now().await;
            }
        }
        let refused = lane.turn("m", 1, 2, long).await;
        assert!(
            matches!(refused, Err(GatewayError::RateLimited { .. })),
            "the third waiter is beyond queue_size"
        );
        drop(first);
        for w in waiters {
            w.await.expect("waiter");
        }
        assert_eq!(*lock(&order), [0, 1]);
        assert_eq!(lane.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_queued_request_gives_up_after_the_queue_timeout() {
        let lane = Arc::new(Lane::default());
        let timeout = Duration::from_millis(100);
        let _busy = lane.turn("m", 1, 5, timeout).await;
        let waited = lane.turn("m", 1, 5, timeout).await;
        match waited {
            Err(GatewayError::RateLimited { message, .. }) => {
                assert!(message.contains("waited"), "{message}");
                assert_eq!(lane.waiting.load(Ordering::SeqCst), 0, "it left the queue");
            }
            other => panic!("expected a 429, got {:?}", other.map(|_| ())),
        }
    }
}
