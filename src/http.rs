//! HTTP plumbing around the API: the request body limit, JSON bodies for the
//! framework's own errors, security headers (and `Allow` on 405), and one
//! structured log line per request.

use mlx_manager_sdk::{ErrorCode, codes};
use std::time::Instant;

use mlx_manager_sdk::ErrorBody;
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{StatusCode, header},
};

/// Refuses request bodies larger than the limit with 413, whether they announce a
/// `Content-Length` or not (chunked, or HTTP/2).
pub struct BodyLimit(pub usize);

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            limit: self.0,
        }
    }
}

/// The endpoint made by [`BodyLimit`].
pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: usize,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        // The gateway reads its bodies itself, after authentication, up to
        // `[gateway] max_upload_bytes` (uploads are larger than API bodies).
        if req.uri().path().starts_with(crate::gateway::PREFIX) {
            return self.inner.call(req).await;
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(len) if len > self.limit as u64 => return Err(too_large(self.limit)),
            Some(_) => {}
            // Without a declared length (chunked HTTP/1.1, or HTTP/2 where neither
            // header is needed) the body is read here, up to the limit.
            None => {
                let bytes = req
                    .take_body()
                    .into_bytes_limit(self.limit)
                    .await
                    .map_err(|_| too_large(self.limit))?;
                req.set_body(bytes);
            }
        }
        self.inner.call(req).await
    }
}

fn too_large(limit: usize) -> poem::Error {
    poem::Error::from_string(
        format!("Request body is larger than the limit of {limit} bytes"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// A JSON `{"detail","code"}` response for an error raised by the framework (a bad
/// parameter, a missing route, a missing token...). Errors that already carry one of
/// our responses pass through unchanged. 5xx causes are logged, never sent.
pub async fn error_to_json(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    // The operation the error came from, for the request hooks' route.
    let operation = err.data::<poem_openapi::OperationId>().copied();
    let status = err.status();
    let (code, detail) = match status {
        StatusCode::UNAUTHORIZED => (codes::NOT_AUTHENTICATED, "Not authenticated".to_owned()),
        StatusCode::NOT_FOUND => (codes::NOT_FOUND, "Not found".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => {
            (codes::METHOD_NOT_ALLOWED, "Method not allowed".to_owned())
        }
        StatusCode::PAYLOAD_TOO_LARGE => (codes::PAYLOAD_TOO_LARGE, err.to_string()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (codes::UNSUPPORTED_MEDIA_TYPE, err.to_string()),
        s if s.is_server_error() => {
            tracing::error!(error = %err, status = s.as_u16(), "request failed");
            (codes::INTERNAL_ERROR, "Internal server error".to_owned())
        }
        _ => (codes::BAD_REQUEST, err.to_string()),
    };
    let mut resp = json_error(status, code, detail);
    if let Some(operation) = operation {
        resp.set_data(operation);
    }
    resp
}

/// A JSON error response with the given status, code and sentence.
pub fn json_error(status: StatusCode, code: ErrorCode, detail: String) -> Response {
    let body = ErrorBody {
        detail,
        code: code.as_str().to_owned(),
    };
    let text = serde_json::to_string(&body).unwrap_or_default();
    let mut resp = Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(text);
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    resp
}

/// Gives every request its [`mlx_manager_sdk::RequestId`] (in its data and its
/// answer's `X-Request-Id`) and a `request` span with the id, method and path
/// (never the query string, which may hold a stream ticket), so that every log
/// line of the request carries them; then logs its status and duration.
pub async fn log_request<E: Endpoint>(ep: std::sync::Arc<E>, mut req: Request) -> Result<Response> {
    use tracing::Instrument;
    let client_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let id = mlx_manager_sdk::RequestId::from_client(client_id);
    req.set_data(id.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id.0, %method, %path);
    let start = Instant::now();
    let result = Box::pin(ep.call(req))
        .instrument(span.clone())
        .await
        .map(IntoResponse::into_response);
    let mut resp = result.unwrap_or_else(|err| err.into_response());
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status = resp.status().as_u16(), elapsed_ms, "request"));
    if let Ok(value) = header::HeaderValue::from_str(&id.0) {
        resp.headers_mut().insert("x-request-id", value);
    }
    Ok(resp)
}

/// The methods each route template answers, for `Allow` on 405.
#[derive(Debug, Default)]
pub struct AllowTable(Vec<(Vec<String>, Vec<String>)>);

impl AllowTable {
    /// The table of the document's paths and their operations' methods.
    pub fn from_document(doc: &serde_json::Value) -> Self {
        let mut rows = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                let methods: Vec<String> = item
                    .as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                rows.push((path.split('/').map(str::to_owned).collect(), methods));
            }
        }
        Self(rows)
    }

    /// The methods of the template that `path` matches, if any.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let fits = |t: &String, s: &&str| t == s || (t.starts_with('{') && !s.is_empty());
        let exact = self.0.iter().find(|(template, _)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| fits(t, s))
        });
        // A last parameter may hold a `/` (a model id `org/name`).
        // The most specific such template wins (`/api/models/config/{model_id}`
        // over `/api/models/{model_id}`).
        let tail = || {
            self.0
                .iter()
                .filter(|(template, _)| {
                    template.last().is_some_and(|t| t.starts_with('{'))
                        && template.len() < segments.len()
                        && template.iter().zip(&segments).all(|(t, s)| fits(t, s))
                })
                .max_by_key(|(template, _)| {
                    let literal = template.iter().filter(|t| !t.starts_with('{')).count();
                    (template.len(), literal)
                })
        };
        let (_, methods) = exact.or_else(tail)?;
        Some(methods.join(", "))
    }
}

/// Headers every response carries: no MIME sniffing, never framed (Swagger UI
/// included), no caching of anything under `/api/auth` (tokens, RFC 6749 5.1),
/// and HSTS when serving HTTPS. A 405 names the allowed methods in `Allow`.
pub async fn security_headers<E: Endpoint>(
    ep: std::sync::Arc<E>,
    req: Request,
    allow: std::sync::Arc<AllowTable>,
    https: bool,
) -> Result<Response> {
    let path = req.uri().path().to_owned();
    let mut resp = Box::pin(ep.call(req))
        .await
        .map(IntoResponse::into_response)?;
    let headers = resp.headers_mut();
    let set = |headers: &mut poem::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, header::HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'none'",
        );
    }
    if https {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        );
    }
    if path.starts_with("/api/auth/") {
        set(headers, header::CACHE_CONTROL, "no-store");
        set(headers, header::PRAGMA, "no-cache");
    }
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Some(methods) = allow.allowed(&path)
        && let Ok(value) = header::HeaderValue::from_str(&methods)
    {
        resp.headers_mut().insert(header::ALLOW, value);
    }
    Ok(resp)
}

/// The `Host` headers the server answers (see `HttpSettings::allowed_hosts`).
#[derive(Debug, Clone)]
pub struct HostAllowList {
    any: bool,
    names: std::collections::HashSet<String>,
}

impl HostAllowList {
    /// The list for a server on `host:port`: `configured` when not empty, else
    /// the loopback names and addresses and `host` (every address and name of
    /// this machine when `host` is a wildcard), each bare and with the port.
    pub fn new(configured: &[String], host: &str, port: u16, machine: &[String]) -> Self {
        let mut bases: Vec<String> = if configured.is_empty() {
            let mut b: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
                .map(str::to_owned)
                .to_vec();
            b.push(host.to_owned());
            if matches!(host, "0.0.0.0" | "::" | "[::]") {
                b.extend(machine.iter().cloned());
            }
            b
        } else {
            configured.to_vec()
        };
        let any = bases.iter().any(|b| b == "*");
        bases.retain(|b| b != "*");
        let mut names = std::collections::HashSet::new();
        for base in bases {
            let base = base.to_ascii_lowercase();
            let bracketed = if base.contains(':')
                && !base.starts_with('[')
                && base.parse::<std::net::Ipv6Addr>().is_ok()
            {
                format!("[{base}]")
            } else {
                base.clone()
            };
            names.insert(format!("{bracketed}:{port}"));
            names.insert(bracketed);
            names.insert(base);
        }
        Self { any, names }
    }

    /// Whether a request with this `Host` (or HTTP/2 authority) is answered.
    pub fn allows(&self, host: &str) -> bool {
        self.any || self.names.contains(&host.to_ascii_lowercase())
    }
}

/// The host names and interface addresses of this machine.
pub fn machine_names() -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(name) = nix::unistd::gethostname() {
        names.push(name.to_string_lossy().into_owned());
    }
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for ifa in addrs {
            let Some(addr) = ifa.address else { continue };
            if let Some(v4) = addr.as_sockaddr_in() {
                names.push(v4.ip().to_string());
            } else if let Some(v6) = addr.as_sockaddr_in6() {
                names.push(v6.ip().to_string());
            }
        }
    }
    names
}

/// Answer 421 to a request whose `Host` is not on the allow-list.
pub async fn check_host<E: Endpoint>(
    ep: std::sync::Arc<E>,
    req: Request,
    hosts: std::sync::Arc<HostAllowList>,
) -> Result<Response> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    if let Some(host) = host
        && !hosts.allows(&host)
    {
        tracing::warn!(%host, "request for a host that is not allowed");
        return Ok(json_error(
            StatusCode::MISDIRECTED_REQUEST,
            codes::HOST_NOT_ALLOWED,
            format!(
                "This server does not answer for the host {host:?}; add it to `server.allowed_hosts` to allow it"
            ),
        ));
    }
    Box::pin(ep.call(req))
        .await
        .map(IntoResponse::into_response)
}

/// Who the client is: the socket peer, or behind trusted proxies the first
/// untrusted hop of `X-Forwarded-For` (read from the right).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parse `server.trusted_proxies` (CIDRs or plain addresses).
    pub fn parse(entries: &[String]) -> std::result::Result<Self, String> {
        let nets = entries
            .iter()
            .map(|e| {
                e.parse::<ipnet::IpNet>()
                    .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("server.trusted_proxies: {e:?} is not an address or CIDR"))
            })
            .collect::<std::result::Result<_, _>>()?;
        Ok(Self(nets))
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: &std::net::IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client's address for a request from `peer` with these
    /// `X-Forwarded-For` values.
    pub fn client(&self, peer: std::net::IpAddr, forwarded: Option<&str>) -> std::net::IpAddr {
        if !self.trusts(&peer) {
            return peer;
        }
        let hops = forwarded.unwrap_or_default().split(',').rev();
        for hop in hops {
            match hop.trim().parse::<std::net::IpAddr>() {
                Ok(ip) if self.trusts(&ip) => continue,
                Ok(ip) => return ip,
                Err(_) => return peer,
            }
        }
        peer
    }
}

/// Put the client's [`mlx_manager_sdk::ClientAddress`] in the request's data.
pub async fn client_address<E: Endpoint>(
    ep: std::sync::Arc<E>,
    mut req: Request,
    proxies: std::sync::Arc<TrustedProxies>,
) -> Result<Response> {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_canonical())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let client = proxies.client(peer, forwarded.as_deref());
    req.set_data(mlx_manager_sdk::ClientAddress(client));
    Box::pin(ep.call(req))
        .await
        .map(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_first_untrusted_hop_behind_trusted_proxies() {
        let proxies =
            TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).expect("parse");
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        assert_eq!(
            proxies.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), Some("1.2.3.4, 10.1.1.1")),
            ip("1.2.3.4")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), Some("6.6.6.6, 1.2.3.4")),
            ip("1.2.3.4")
        );
        assert_eq!(proxies.client(ip("127.0.0.1"), None), ip("127.0.0.1"));
        assert_eq!(
            proxies.client(ip("127.0.0.1"), Some("junk")),
            ip("127.0.0.1")
        );
        assert!(TrustedProxies::parse(&["not-a-net".into()]).is_err());
    }
}
