//! The Hugging Face Hub client: search, model info, a revision's file list and
//! file bytes, against `[hub] endpoint` with the optional token, timeouts, and
//! retries with exponential backoff after 5xx answers and connection errors.
//! With `[hub] offline = true` it never sends a request.
//!
//! The token goes only into `Authorization` headers (which reqwest drops on
//! redirects to another host); it never appears in an error or a log line.

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response, StatusCode, Url, header};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::id::ModelId;
use crate::config::HubSettings;

/// The longest wait between two retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A Hub request failed; the message is a sentence for the user.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HubError {
    /// `[hub] offline = true`.
    #[error("The Hugging Face Hub is not used: the server runs offline (`[hub] offline = true`)")]
    Offline,
    /// No answer (connection refused, reset or timed out) after the retries.
    #[error("The Hugging Face Hub did not answer ({0})")]
    Unreachable(String),
    /// The repository or file does not exist.
    #[error("Not found on the Hugging Face Hub: {0}")]
    NotFound(String),
    /// 401 or 403: a gated or private repository.
    #[error(
        "The Hugging Face Hub refused access to {0}: the model is gated or private (set `[hub] token` or HF_TOKEN)"
    )]
    Denied(String),
    /// Any other unexpected status (5xx after the retries included).
    #[error("The Hugging Face Hub answered {status} for {what}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// What was asked for.
        what: String,
    },
    /// The answer could not be read.
    #[error("The Hugging Face Hub sent an unreadable answer for {0}")]
    Invalid(String),
    /// The caller gave up (a download was cancelled or the manager stopped).
    #[error("cancelled")]
    Cancelled,
}

/// One search hit as the Hub lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubModel {
    /// `org/name`.
    pub id: Option<String>,
    /// `org/name` (older listings).
    pub model_id: Option<String>,
    /// The author, when listed.
    pub author: Option<String>,
    /// Downloads over the last month.
    #[serde(default)]
    pub downloads: u64,
    /// Likes.
    #[serde(default)]
    pub likes: u64,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Last change, RFC 3339.
    pub last_modified: Option<String>,
    /// Bytes stored, when the listing includes it.
    pub used_storage: Option<u64>,
}

/// What `GET /api/models/<id>` tells about the size.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// Bytes stored by the repository.
    pub used_storage: Option<u64>,
}

/// `GET /api/models/<id>/revision/<rev>`.
#[derive(Debug, Clone, Deserialize)]
pub struct Revision {
    /// The commit the revision points to.
    pub sha: String,
}

/// One entry of `GET /api/models/<id>/tree/<rev>?recursive=true`.
#[derive(Debug, Clone, Deserialize)]
pub struct TreeEntry {
    /// `file` or `directory`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Path inside the repository.
    pub path: String,
    /// Size in bytes (of the pointer file, for LFS files).
    #[serde(default)]
    pub size: u64,
    /// Git object id (SHA-1 of the git blob).
    #[serde(default)]
    pub oid: String,
    /// Large-file metadata.
    pub lfs: Option<LfsInfo>,
}

/// LFS metadata of a large file.
#[derive(Debug, Clone, Deserialize)]
pub struct LfsInfo {
    /// SHA-256 of the content.
    pub oid: String,
    /// Size of the content in bytes.
    pub size: u64,
}

/// A search request.
#[derive(Debug, Clone)]
pub struct SearchQuery<'a> {
    /// Free text.
    pub text: &'a str,
    /// Only this author's models.
    pub author: Option<&'a str>,
    /// At most this many hits.
    pub limit: u32,
}

/// The Hub client. Cheap to share (`Arc`); holds a connection pool.
#[derive(Debug, Clone)]
pub struct HubClient {
    http: Client,
    endpoint: Url,
    token: Option<String>,
    offline: bool,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    organization: Option<String>,
}

impl HubClient {
    /// A client for `settings` (fails only on a malformed endpoint URL).
    pub fn new(settings: &HubSettings) -> Result<Self, String> {
        let mut endpoint = Url::parse(settings.endpoint.trim())
            .map_err(|e| format!("invalid `[hub] endpoint`: {e}"))?;
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        let http = Client::builder()
            .user_agent(concat!("mlx-manager/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.timeout)
            .read_timeout(settings.timeout)
            .build()
            .map_err(|e| format!("cannot build the Hub client: {e}"))?;
        Ok(Self {
            http,
            endpoint,
            token: settings.token.clone().filter(|t| !t.trim().is_empty()),
            offline: settings.offline,
            timeout: settings.timeout,
            retries: settings.retries,
            backoff: settings.retry_backoff,
            organization: settings
                .organization
                .clone()
                .filter(|o| !o.trim().is_empty()),
        })
    }

    /// The organisation searches are limited to (`[hub] organization`).
    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    /// Whether the client never calls out.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The number of retries after a failed attempt.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The wait before retry number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }

    /// Search models tagged `mlx`, most downloaded first.
    pub async fn search(&self, q: &SearchQuery<'_>) -> Result<Vec<HubModel>, HubError> {
        let mut url = self.url(&["api", "models"]);
        url.query_pairs_mut()
            .append_pair("search", q.text)
            .append_pair("filter", "mlx")
            .append_pair("sort", "downloads")
            .append_pair("direction", "-1")
            .append_pair("limit", &q.limit.to_string());
        if let Some(author) = q.author {
            url.query_pairs_mut().append_pair("author", author);
        }
        self.get_json(url, "the model search").await
    }

    /// Facts about one model (its stored size).
    pub async fn model_info(&self, id: &ModelId) -> Result<ModelInfo, HubError> {
        let url = self.url(&["api", "models", id.org(), id.name()]);
        self.get_json(url, id.as_str()).await
    }

    /// The commit that `revision` of `id` points to.
    pub async fn revision(&self, id: &ModelId, revision: &str) -> Result<Revision, HubError> {
        let url = self.url(&["api", "models", id.org(), id.name(), "revision", revision]);
        self.get_json(url, id.as_str()).await
    }

    /// Every entry of the tree of `commit`, recursively.
    pub async fn tree(&self, id: &ModelId, commit: &str) -> Result<Vec<TreeEntry>, HubError> {
        let mut url = self.url(&["api", "models", id.org(), id.name(), "tree", commit]);
        url.query_pairs_mut().append_pair("recursive", "true");
        self.get_json(url, id.as_str()).await
    }

    /// Start fetching `path` of `commit`, from byte `from` on (a `Range` request
    /// when `from > 0`). Retries like every request; `cancel` interrupts the
    /// waits. The caller checks whether the answer is 206 or 200.
    pub async fn file(
        &self,
        id: &ModelId,
        commit: &str,
        path: &[&str],
        from: u64,
        cancel: &CancellationToken,
    ) -> Result<Response, HubError> {
        let mut segments = vec![id.org(), id.name(), "resolve", commit];
        segments.extend_from_slice(path);
        let url = self.url(&segments);
        let what = format!("{id}/{}", path.join("/"));
        let response = self
            .send(
                || {
                    let req = self.http.get(url.clone());
                    if from > 0 {
                        req.header(header::RANGE, format!("bytes={from}-"))
                    } else {
                        req
                    }
                },
                cancel,
            )
            .await?;
        let status = response.status();
        if status.is_success() || status == StatusCode::RANGE_NOT_SATISFIABLE {
            Ok(response)
        } else {
            Err(status_error(status, &what))
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        what: &str,
    ) -> Result<T, HubError> {
        let timeout = self.timeout;
        let never = CancellationToken::new();
        let response = self
            .send(|| self.http.get(url.clone()).timeout(timeout), &never)
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(status_error(status, what));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| HubError::Unreachable(describe(&e)))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            tracing::warn!(what, error = %e, "unreadable Hub answer");
            HubError::Invalid(what.to_owned())
        })
    }

    /// Send the request built by `build`, retrying after connection errors and
    /// 5xx answers. Returns the last answer (a 5xx after the retries) or error.
    async fn send(
        &self,
        build: impl Fn() -> RequestBuilder,
        cancel: &CancellationToken,
    ) -> Result<Response, HubError> {
        if self.offline {
            return Err(HubError::Offline);
        }
        let mut attempt = 0;
        loop {
            let mut req = build();
            if let Some(token) = &self.token {
                req = req.bearer_auth(token);
            }
            let outcome = tokio::select! {
                r = req.send() => r,
                () = cancel.cancelled() => return Err(HubError::Cancelled),
            };
            let retryable = match &outcome {
                Ok(r) => r.status().is_server_error(),
                Err(_) => true,
            };
            if !retryable || attempt >= self.retries {
                return outcome.map_err(|e| HubError::Unreachable(describe(&e)));
            }
            attempt += 1;
            match &outcome {
                Ok(r) => tracing::warn!(status = r.status().as_u16(), attempt, "Hub 5xx; retrying"),
                Err(e) => {
                    tracing::warn!(error = %describe(e), attempt, "Hub unreachable; retrying")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.backoff(attempt)) => {},
                () = cancel.cancelled() => return Err(HubError::Cancelled),
            }
        }
    }
}

fn status_error(status: StatusCode, what: &str) -> HubError {
    match status {
        StatusCode::NOT_FOUND => HubError::NotFound(what.to_owned()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => HubError::Denied(what.to_owned()),
        s => HubError::Status {
            status: s.as_u16(),
            what: what.to_owned(),
        },
    }
}

/// A short cause for a transport error, without the URL (which is ours anyway,
/// but keeps messages short) and never with headers.
pub fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "the connection broke off"
    } else {
        "request failed"
    };
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let cause = cause.to_string();
    if cause.is_empty() || cause == err.to_string() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(endpoint: &str) -> HubClient {
        HubClient::new(&HubSettings {
            endpoint: endpoint.into(),
            ..HubSettings::default()
        })
        .expect("client")
    }

    #[test]
    fn urls_keep_the_endpoint_path_and_encode_segments() {
        let c = client("http://127.0.0.1:9/mirror");
        let url = c.url(&["org", "name", "resolve", "abc", "sub dir", "f#1.json"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/mirror/org/name/resolve/abc/sub%20dir/f%231.json"
        );
        let url = client("http://127.0.0.1:9").url(&["api", "models"]);
        assert_eq!(url.as_str(), "http://127.0.0.1:9/api/models");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = client("http://127.0.0.1:9");
        assert_eq!(c.backoff(1), Duration::from_millis(500));
        assert_eq!(c.backoff(3), Duration::from_secs(2));
        assert_eq!(c.backoff(40), MAX_BACKOFF);
    }

    #[tokio::test]
    async fn offline_never_calls_out() {
        let c = HubClient::new(&HubSettings {
            endpoint: "http://127.0.0.1:9".into(),
            offline: true,
            ..HubSettings::default()
        })
        .expect("client");
        let q = SearchQuery {
            text: "x",
            author: None,
            limit: 1,
        };
        assert!(matches!(c.search(&q).await, Err(HubError::Offline)));
    }
}
