//! The OpenAI-compatible door, `/v1`: a request names a model, the gateway
//! finds the profile it means and forwards the body, unchanged, to that
//! profile's running server, and passes the answer back as it arrives (streams
//! event by event). The caller's credentials never go upstream. No HTTP
//! framework types here beyond the upstream client's own.

mod errors;
mod lanes;
mod limits;
pub mod usage;

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use mlx_manager_sdk::{Actor, Event, EventBus, Outcome, Principal, Target};

pub use errors::GatewayError;
use lanes::{InFlight, Lanes, Servers};
use limits::{KeyLimits, KeyTurn};
use usage::{Caller, Tracker, UsageLog};

use crate::{
    actions,
    lifecycle::{Lifecycle, LifecycleError},
    profiles::{ModelType, Profile, Profiles},
    servers::{RunState, ServerError, Supervisor},
};

/// The path prefix of the gateway's routes.
pub const PREFIX: &str = "/v1/";

/// How long the gateway waits for a model server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long it waits for the answer's headers (a long prompt's prefill comes
/// first); beyond, 504 `upstream_timeout`. A stream, once begun, has no limit.
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(600);

/// A route the gateway forwards, with the profile types whose servers serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/completions`.
    Completions,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/audio/transcriptions` (multipart).
    AudioTranscriptions,
    /// `POST /v1/images/generations`.
    ImageGenerations,
    /// `POST /v1/images/edits` (multipart).
    ImageEdits,
}

impl Forward {
    /// The path, the same on the gateway and upstream.
    pub fn path(self) -> &'static str {
        match self {
            Forward::ChatCompletions => "/v1/chat/completions",
            Forward::Completions => "/v1/completions",
            Forward::Embeddings => "/v1/embeddings",
            Forward::AudioTranscriptions => "/v1/audio/transcriptions",
            Forward::ImageGenerations => "/v1/images/generations",
            Forward::ImageEdits => "/v1/images/edits",
        }
    }

    /// The profile types whose servers answer this route.
    pub fn serves(self) -> &'static [ModelType] {
        match self {
            Forward::ChatCompletions | Forward::Completions => {
                &[ModelType::Lm, ModelType::Multimodal]
            }
            Forward::Embeddings => &[ModelType::Embeddings, ModelType::Lm, ModelType::Multimodal],
            Forward::AudioTranscriptions => &[ModelType::Whisper],
            Forward::ImageGenerations => &[ModelType::ImageGeneration],
            Forward::ImageEdits => &[ModelType::ImageEdit],
        }
    }

    /// Whether the body is `multipart/form-data` (else JSON).
    pub fn is_multipart(self) -> bool {
        matches!(self, Forward::AudioTranscriptions | Forward::ImageEdits)
    }
}

/// A caller within its API key's limits (`rpm`, `max_concurrent`), until
/// its request ends: checked before the body is read.
pub struct KeyAdmission {
    /// Held until the request ends (dropping it frees the key's slot).
    _turn: Option<KeyTurn>,
}

/// A request to forward: who sent it, where, and its body as read.
pub struct Request<'a> {
    /// The authenticated caller (allowed `inference.use`).
    pub principal: &'a Principal,
    /// Its key's admission, from [`Gateway::admit_key`].
    pub key: KeyAdmission,
    /// The route.
    pub route: Forward,
    /// The request's content type (a multipart body's boundary is in it).
    pub content_type: Option<String>,
    /// The body, unchanged.
    pub body: Bytes,
    /// When the request arrived.
    pub arrived: Instant,
}

/// A profile the caller may name as `model`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    /// The profile's name (the `id` clients send).
    pub id: String,
    /// The profile's creation time, in seconds since the epoch.
    pub created: i64,
}

/// The body of an answer, chunk by chunk.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// An upstream answer: its status, content type and body as it arrives.
pub struct Forwarded {
    /// The upstream status.
    pub status: u16,
    /// The upstream content type (`application/json`, `text/event-stream`).
    pub content_type: Option<String>,
    /// The body, chunk by chunk; a stream that breaks ends with an
    /// OpenAI-shaped error event when it is a server-sent event stream.
    pub body: BodyStream,
}

/// The gateway over the profiles and the servers the supervisor runs.
#[derive(Clone)]
pub struct Gateway {
    profiles: Profiles,
    servers: Arc<Servers>,
    lifecycle: Lifecycle,
    http: reqwest::Client,
    lanes: Arc<Lanes>,
    keys: Arc<KeyLimits>,
    usage: Arc<UsageLog>,
}

impl Gateway {
    /// A gateway; the upstream client never uses a proxy (servers are local).
    pub fn new(
        lifecycle: Lifecycle,
        profiles: Profiles,
        supervisor: Arc<Supervisor>,
        events: EventBus,
        usage: Arc<UsageLog>,
    ) -> Result<Self, reqwest::Error> {
        // A model server's redirect is never followed: it could send the
        // prompt anywhere.
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            profiles,
            servers: Arc::new(Servers { supervisor, events }),
            lifecycle,
            http,
            lanes: Arc::default(),
            keys: Arc::default(),
            usage,
        })
    }

    /// The usage log the gateway records into.
    pub fn usage(&self) -> &Arc<UsageLog> {
        &self.usage
    }

    /// Requests for profile `id` now (admitted, starting it or queued), and
    /// how many of them wait in its queue.
    pub fn load(&self, id: &str) -> (usize, usize) {
        self.lanes.load(id)
    }

    /// Every profile the gateway has forwarded to, by id, with its load as
    /// [`Gateway::load`] gives it.
    pub fn loads(&self) -> Vec<(String, usize, usize)> {
        self.lanes.loads()
    }

    /// The profiles `allowed` says the caller may use, running or not, by name.
    pub async fn models(
        &self,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<Vec<ModelEntry>, GatewayError> {
        let profiles = self.profiles.list().await.map_err(GatewayError::store)?;
        Ok(profiles
            .into_iter()
            .filter(|p| allowed(&p.values.name))
            .map(|p| ModelEntry {
                id: p.values.name,
                created: p.created_at.timestamp(),
            })
            .collect())
    }

    /// The profile `model` names: the profile of that name, else the one
    /// profile `allowed` for the caller whose `model_path` is `model` (clients
    /// often send the repo id). Profiles the caller may not use are never
    /// matched by path nor named in a message.
    pub async fn resolve(
        &self,
        model: &str,
        allowed: impl Fn(&str) -> bool,
    ) -> Result<Profile, GatewayError> {
        let profiles = self
            .profiles
            .named_or_serving(model)
            .await
            .map_err(GatewayError::store)?;
        if let Some(p) = profiles.iter().find(|p| p.values.name == model) {
            if !allowed(&p.values.name) {
                return Err(GatewayError::ModelNotAllowed(format!(
                    "This API key may not use the model `{model}`"
                )));
            }
            return Ok(p.clone());
        }
        let mut by_path: Vec<&Profile> = profiles
            .iter()
            .filter(|p| p.values.model_path == model && allowed(&p.values.name))
            .collect();
        match by_path.len() {
            1 => Ok(by_path.remove(0).clone()),
            0 => Err(GatewayError::ModelNotFound(format!(
                "The model `{model}` does not exist: no profile has this name or model path"
            ))),
            _ => {
                let names: Vec<&str> = by_path.iter().map(|p| p.values.name.as_str()).collect();
                Err(GatewayError::ModelNotFound(format!(
                    "The model `{model}` is ambiguous: profiles {} serve it; name one of them",
                    names.join(", ")
                )))
            }
        }
    }

    /// Forward one request: find the profile its body's `model` names, admit
    /// it (the key's limits, the profile's queue, an on-demand start), send the
    /// body unchanged and pass the answer back as it arrives. Every request a
    /// profile was found for is recorded for usage when its answer ends.
    pub async fn handle(&self, request: Request<'_>) -> Result<Forwarded, GatewayError> {
        let Request {
            principal,
            key,
            route,
            content_type,
            body,
            arrived,
        } = request;
        let model = model_of(route, content_type.as_deref(), &body).await?;
        let profile = self
            .resolve(&model, |name| principal.allows_model(name))
            .await?;
        let kinds = route.serves();
        if !kinds.contains(&profile.values.model_type) {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            return Err(GatewayError::InvalidRequest(format!(
                "The model `{}` is a `{}` profile; {} serves {} profiles",
                profile.values.name,
                profile.values.model_type.as_str(),
                route.path(),
                names.join(" or ")
            )));
        }
        let caller = Caller {
            user_id: principal.user_id().to_owned(),
            email: principal.email().to_owned(),
            key_prefix: principal.key_scope().map(|k| k.prefix.clone()),
        };
        let mut tracker = Tracker::new(self.usage.clone(), caller, &profile.values.name, arrived);
        let held = match self.admit(key, &profile, Actor::of(principal)).await {
            Ok(held) => held,
            Err(e) => {
                tracker.refused(e.status());
                return Err(e);
            }
        };
        let upstream = Upstream {
            route,
            content_type,
            body,
        };
        match self.forward(&held, &profile, upstream).await {
            Ok((status, content_type, upstream)) => {
                tracker.answered(status);
                let is_stream = content_type
                    .as_deref()
                    .is_some_and(|t| t.starts_with("text/event-stream"));
                let body = Metered {
                    inner: Box::pin(pass_through(upstream, is_stream, profile.values.name)),
                    tracker,
                    _held: held,
                };
                Ok(Forwarded {
                    status,
                    content_type,
                    body: Box::pin(body),
                })
            }
            Err(e) => {
                tracker.refused(e.status());
                Err(e)
            }
        }
    }

    /// Admit the caller within its API key's `rpm` and `max_concurrent` (a
    /// login token has none), before its body is read.
    pub fn admit_key(&self, principal: &Principal) -> Result<KeyAdmission, GatewayError> {
        match principal.key_scope() {
            Some(scope) => Ok(KeyAdmission {
                _turn: self.keys.admit(scope, Instant::now())?,
            }),
            None => Ok(KeyAdmission { _turn: None }),
        }
    }

    /// Admit a request for `profile`: counted in flight, a forwarding slot
    /// free (after waiting in the queue), and its server running (started now
    /// when the profile is on demand: the slot holders wait for that start,
    /// the queue bounds who waits behind them).
    async fn admit(
        &self,
        key: KeyAdmission,
        profile: &Profile,
        actor: Actor,
    ) -> Result<Held, GatewayError> {
        let v = &profile.values;
        let lane = self.lanes.of(&profile.id);
        let in_flight = lane.enter(
            &self.servers,
            &profile.id,
            Duration::from_secs(u64::from(v.idle_timeout)),
        );
        let queue_timeout = Duration::from_secs(u64::from(v.queue_timeout));
        let slot = lane
            .turn(&v.name, v.max_concurrency, v.queue_size, queue_timeout)
            .await?;
        let at = self.serving(profile, &lane, &in_flight, actor).await?;
        Ok(Held {
            at,
            _slot: slot,
            _in_flight: in_flight,
            _key: key,
        })
    }

    /// Where `profile`'s server answers; a stopped on-demand profile's server
    /// is started, once for every request that waits on it (a failed start
    /// fails them all).
    async fn serving(
        &self,
        profile: &Profile,
        lane: &Arc<lanes::Lane>,
        in_flight: &InFlight,
        actor: Actor,
    ) -> Result<(String, u16), GatewayError> {
        let name = &profile.values.name;
        let supervisor = &self.servers.supervisor;
        if !lane.draining()
            && let Some(at) = supervisor.serving(&profile.id)
        {
            return Ok(at);
        }
        if !profile.values.on_demand {
            return Err(GatewayError::ModelUnavailable(format!(
                "The model `{name}` is not running; start its server first (or set the profile's `on_demand`)"
            )));
        }
        let _one_start = lane.starting.lock().await;
        if let Some(at) = supervisor.serving(&profile.id) {
            return Ok(at);
        }
        if let Some(why) = lane.failed_since(in_flight.entered()) {
            return Err(GatewayError::ModelUnavailable(why));
        }
        // In its own task: a client that hangs up while the model loads does
        // not leave the start half done.
        let (lifecycle, servers) = (self.lifecycle.clone(), self.servers.clone());
        let (id, idle) = (profile.id.clone(), profile.values.idle_timeout);
        let starting_lane = lane.clone();
        let target = Target::new("server", Some(profile.id.clone()), Some(name.clone()));
        let started = tokio::spawn(async move {
            let result = lifecycle.start(&id).await;
            let event = Event::new(actor, actions::SERVER_START, target);
            match &result {
                Ok((_, started)) => {
                    let idle = Duration::from_secs(u64::from(idle));
                    starting_lane.started_on_demand(started.pid, idle, &servers, &id);
                    let event = event.detail("started on demand by a gateway request");
                    servers.events.publish(event).await;
                }
                Err(LifecycleError::Server(ServerError::AlreadyRunning)) => {}
                Err(e) => {
                    let event = event.outcome(Outcome::Failed).detail(e.to_string());
                    servers.events.publish(event).await;
                }
            }
            result.map(drop)
        });
        match started.await {
            Ok(Ok(())) => tracing::info!(profile = %profile.id, "server started on demand"),
            Ok(Err(LifecycleError::Server(ServerError::AlreadyRunning))) => {
                // Started by someone else (the API, a restart): wait for it.
                self.until_running(&profile.id).await;
            }
            Ok(Err(e)) => {
                tracing::warn!(profile = %profile.id, error = %e, "cannot start a server on demand");
                let why = format!("The model `{name}` could not be started: {e}");
                lane.start_failed(why.clone());
                return Err(GatewayError::ModelUnavailable(why));
            }
            Err(_) => return Err(GatewayError::Internal),
        }
        supervisor.serving(&profile.id).ok_or_else(|| {
            GatewayError::ModelUnavailable(format!("The model `{name}` stopped while starting"))
        })
    }

    /// Wait until profile `id`'s server is healthy or has ended.
    async fn until_running(&self, id: &str) {
        let supervisor = &self.servers.supervisor;
        if let Some(mut state) = supervisor.subscribe(id) {
            let settled = |s: &RunState| matches!(s, RunState::Running | RunState::Exited(_));
            let _ = tokio::time::timeout(supervisor.start_timeout(), state.wait_for(settled)).await;
        }
    }

    /// Send the body to the admitted server; its status, content type and body.
    async fn forward(
        &self,
        held: &Held,
        profile: &Profile,
        request: Upstream,
    ) -> Result<
        (
            u16,
            Option<String>,
            impl Stream<Item = reqwest::Result<Bytes>> + use<>,
        ),
        GatewayError,
    > {
        let (host, port) = &held.at;
        let url = crate::servers::health::server_url(host, *port, request.route.path());
        let name = &profile.values.name;
        let content_type = request
            .content_type
            .unwrap_or_else(|| "application/json".to_owned());
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(request.body)
            .send();
        let resp = tokio::time::timeout(HEADERS_TIMEOUT, sent)
            .await
            .map_err(|_| {
                GatewayError::UpstreamTimeout(format!(
                    "The model `{name}` did not answer within {} s",
                    HEADERS_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| GatewayError::upstream(name, &e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((status, content_type, resp.bytes_stream()))
    }
}

/// What goes upstream: the route, the content type and the body.
struct Upstream {
    route: Forward,
    content_type: Option<String>,
    body: Bytes,
}

/// What an admitted request holds until its answer ends.
struct Held {
    at: (String, u16),
    _slot: tokio::sync::OwnedSemaphorePermit,
    _in_flight: InFlight,
    _key: KeyAdmission,
}

/// The answer's body, followed for usage, holding the request's admission
/// until it ends or the client hangs up.
struct Metered {
    inner: BodyStream,
    tracker: Tracker,
    _held: Held,
}

impl Stream for Metered {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => self.tracker.saw(chunk),
            Poll::Ready(Some(Err(_))) => self.tracker.ended(true),
            Poll::Ready(None) => self.tracker.ended(false),
            Poll::Pending => {}
        }
        polled
    }
}

/// The `model` a request's body names: a JSON body's `model`, or a multipart
/// body's `model` field.
async fn model_of(
    route: Forward,
    content_type: Option<&str>,
    body: &Bytes,
) -> Result<String, GatewayError> {
    let model = if route.is_multipart() {
        multipart_model(content_type, body).await?
    } else {
        /// Only `model` is read; every other field is skipped, not built.
        #[derive(serde::Deserialize)]
        struct Named {
            model: Option<serde_json::Value>,
        }
        let named: Named = serde_json::from_slice(body).map_err(|e| {
            GatewayError::InvalidRequest(format!(
                "The body must be a JSON object naming a `model`: {e}"
            ))
        })?;
        match named.model {
            Some(serde_json::Value::String(m)) => Some(m),
            _ => None,
        }
    };
    match model {
        Some(m) if !m.trim().is_empty() => Ok(m.trim().to_owned()),
        _ => Err(GatewayError::InvalidRequest(
            "The body must name a `model` (a profile's name or model path)".into(),
        )),
    }
}

/// The `model` field of a `multipart/form-data` body.
async fn multipart_model(
    content_type: Option<&str>,
    body: &Bytes,
) -> Result<Option<String>, GatewayError> {
    let invalid = |e: multer::Error| {
        GatewayError::InvalidRequest(format!("The body is not valid multipart/form-data: {e}"))
    };
    let boundary = multer::parse_boundary(content_type.unwrap_or_default()).map_err(invalid)?;
    let chunk = body.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(chunk) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Some(field) = form.next_field().await.map_err(invalid)? {
        if field.name() == Some("model") {
            return field.text().await.map(Some).map_err(invalid);
        }
    }
    Ok(None)
}

/// The upstream body as it arrives; when it breaks, a server-sent event
/// stream ends with one OpenAI-shaped error event (clients parse it), any
/// other body with the error.
fn pass_through(
    upstream: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    is_stream: bool,
    model: String,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let mut broken = false;
    upstream.filter_map(move |chunk| {
        let item = match chunk {
            _ if broken => None,
            Ok(bytes) => Some(Ok(bytes)),
            Err(e) => {
                broken = true;
                tracing::warn!(model = %model, error = %e, "the model server broke off its answer");
                if is_stream {
                    Some(Ok(errors::stream_error_event(&model)))
                } else {
                    Some(Err(std::io::Error::other(e)))
                }
            }
        };
        std::future::ready(item)
    })
}
