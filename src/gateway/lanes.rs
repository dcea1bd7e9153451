//! One lane per profile in front of its model server: the fair queue (at most
//! `max_concurrency` forwarded, `queue_size` waiting in arrival order for up to
//! `queue_timeout`), the requests in flight, the one start that concurrent
//! requests for a stopped on-demand profile share, and the idle stop of a
//! server the gateway started.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::GatewayError;
use crate::servers::Supervisor;

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
        lock(&self.lanes)
            .entry(id.to_owned())
            .or_insert_with(|| Arc::new(Lane::default()))
            .clone()
    }

    /// Requests for profile `id` (admitted, starting or queued), and of those
    /// the ones waiting in its queue.
    pub fn load(&self, id: &str) -> (usize, usize) {
        lock(&self.lanes).get(id).map_or((0, 0), |l| {
            (
                l.in_flight.load(Ordering::SeqCst),
                l.waiting.load(Ordering::SeqCst),
            )
        })
    }
}

/// A server the gateway started on demand.
#[derive(Debug, Clone, Copy)]
struct OnDemand {
    pid: u32,
    idle: Duration,
}

/// One profile's lane.
#[derive(Default)]
pub(crate) struct Lane {
    /// Held while the gateway starts the server: concurrent requests wait here
    /// and find it running.
    pub starting: tokio::sync::Mutex<()>,
    /// The forwarding slots: (limit, semaphore). A changed `max_concurrency`
    /// makes a new semaphore; requests admitted by the old one finish on it.
    slots: Mutex<Option<(u32, Arc<Semaphore>)>>,
    waiting: AtomicUsize,
    in_flight: AtomicUsize,
    /// Moves on every request's start and end: an idle stop that finds it
    /// moved since its timer began does nothing.
    activity: AtomicU64,
    on_demand: Mutex<Option<OnDemand>>,
}

impl Lane {
    /// Count a request in flight until the returned guard drops (its answer
    /// ended or the client hung up).
    pub fn enter(
        self: &Arc<Self>,
        supervisor: &Arc<Supervisor>,
        profile_id: &str,
        idle: Duration,
    ) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.activity.fetch_add(1, Ordering::SeqCst);
        if let Some(d) = lock(&self.on_demand).as_mut() {
            // The profile's current idle timeout applies from now on.
            d.idle = idle;
        }
        InFlight {
            lane: self.clone(),
            supervisor: supervisor.clone(),
            profile_id: profile_id.to_owned(),
        }
    }

    /// Remember that the gateway started this server (process `pid`) on
    /// demand, to stop after `idle` with nothing in flight (never when zero).
    pub fn started_on_demand(&self, pid: u32, idle: Duration) {
        *lock(&self.on_demand) = Some(OnDemand { pid, idle });
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
        let slots = {
            let mut slots = lock(&self.slots);
            match slots.as_ref() {
                Some((l, s)) if *l == limit => s.clone(),
                _ => {
                    let s = Arc::new(Semaphore::new(limit as usize));
                    *slots = Some((limit, s.clone()));
                    s
                }
            }
        };
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

    /// Stop the server started on demand if nothing happened since `mark`
    /// and it is still the process the gateway started.
    async fn stop_if_idle(&self, mark: u64, supervisor: &Supervisor, profile_id: &str) {
        let Some(started) = *lock(&self.on_demand) else {
            return;
        };
        let idle = self.activity.load(Ordering::SeqCst) == mark
            && self.in_flight.load(Ordering::SeqCst) == 0;
        if !idle {
            return;
        }
        if supervisor.status(profile_id).pid != Some(started.pid) {
            // Stopped or restarted by someone else: no longer ours to stop.
            *lock(&self.on_demand) = None;
            return;
        }
        *lock(&self.on_demand) = None;
        tracing::info!(profile = %profile_id, idle_s = started.idle.as_secs(), "stopping an idle server started on demand");
        if let Err(e) = supervisor.stop(profile_id, false).await {
            tracing::debug!(profile = %profile_id, error = %e, "the idle server had already stopped");
        }
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
    supervisor: Arc<Supervisor>,
    profile_id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.lane.in_flight.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let mark = self.lane.activity.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(started) = *lock(&self.lane.on_demand) else {
            return;
        };
        if started.idle.is_zero() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let lane = self.lane.clone();
        let supervisor = self.supervisor.clone();
        let id = std::mem::take(&mut self.profile_id);
        runtime.spawn(async move {
            tokio::time::sleep(started.idle).await;
            lane.stop_if_idle(mark, &supervisor, &id).await;
        });
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
