//! The OpenAI-compatible door, `/v1`: a request names a model, the gateway
//! finds the profile it means and forwards the body, unchanged, to that
//! profile's running server, and passes the answer back as it arrives (streams
//! event by event). The caller's credentials never go upstream. No HTTP
//! framework types here beyond the upstream client's own.

mod errors;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

pub use errors::GatewayError;

use crate::{
    profiles::{Profile, Profiles},
    servers::Supervisor,
};

/// How long the gateway waits for a model server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long it waits for the answer's headers (a long prompt's prefill comes
/// first); beyond, 504 `upstream_timeout`. A stream, once begun, has no limit.
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(600);

/// The routes a request may be forwarded to, by the gateway's own path.
pub const FORWARDED: &[&str] = &["/v1/chat/completions", "/v1/completions", "/v1/embeddings"];

/// A profile the caller may name as `model`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    /// The profile's name (the `id` clients send).
    pub id: String,
    /// The profile's creation time, in seconds since the epoch.
    pub created: i64,
}

/// An upstream answer: its status, content type and body as it arrives.
pub struct Forwarded {
    /// The upstream status.
    pub status: u16,
    /// The upstream content type (`application/json`, `text/event-stream`).
    pub content_type: Option<String>,
    /// The body, chunk by chunk; a stream that breaks ends with an
    /// OpenAI-shaped error event when it is a server-sent event stream.
    pub body: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
}

/// The gateway over the profiles and the servers the supervisor runs.
#[derive(Clone)]
pub struct Gateway {
    profiles: Profiles,
    supervisor: Arc<Supervisor>,
    http: reqwest::Client,
}

impl Gateway {
    /// A gateway; the upstream client never uses a proxy (servers are local).
    pub fn new(profiles: Profiles, supervisor: Arc<Supervisor>) -> Result<Self, reqwest::Error> {
        // A model server's redirect is never followed: it could send the
        // prompt anywhere.
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            profiles,
            supervisor,
            http,
        })
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

    /// Forward `body` (JSON, unchanged) to `path` of `profile`'s running
    /// server. A profile whose server does not run is `model_unavailable`.
    pub async fn forward(
        &self,
        profile: &Profile,
        path: &str,
        body: Bytes,
    ) -> Result<Forwarded, GatewayError> {
        let Some((host, port)) = self.supervisor.serving(&profile.id) else {
            return Err(GatewayError::ModelUnavailable(format!(
                "The model `{}` is not running; start its server first",
                profile.values.name
            )));
        };
        let url = crate::servers::health::server_url(&host, port, path);
        let name = &profile.values.name;
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
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
        let is_stream = content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/event-stream"));
        let name = profile.values.name.clone();
        let upstream = resp.bytes_stream();
        let body: Forwarded = Forwarded {
            status,
            content_type,
            body: Box::pin(pass_through(upstream, is_stream, name)),
        };
        Ok(body)
    }
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
