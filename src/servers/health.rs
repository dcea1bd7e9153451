//! Health probes: `GET http://<host>:<port>/v1/models` (these servers have no
//! `/health`); 200 means up, a non-empty `data` array means a model is loaded.

use std::time::{Duration, Instant};

/// A probe's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The server answered 200.
    pub healthy: bool,
    /// Time to the answer.
    pub response_time_ms: Option<u64>,
    /// `data` is a non-empty array.
    pub model_loaded: Option<bool>,
    /// Why it is unhealthy.
    pub error: Option<String>,
}

/// The address to probe for a server listening on `host`.
pub fn probe_url(host: &str, port: u16) -> String {
    server_url(host, port, "/v1/models")
}

/// The URL of `path` on a server listening on `host:port` (a wildcard address
/// is reached on loopback; an IPv6 address is bracketed).
pub fn server_url(host: &str, port: u16, path: &str) -> String {
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "[::1]",
        h if h.contains(':') && !h.starts_with('[') => {
            return format!("http://[{h}]:{port}{path}");
        }
        h => h,
    };
    format!("http://{host}:{port}{path}")
}

/// Probe the server once.
pub async fn probe(client: &reqwest::Client, host: &str, port: u16, timeout: Duration) -> Probe {
    let start = Instant::now();
    let result = client
        .get(probe_url(host, port))
        .timeout(timeout)
        .send()
        .await;
    let elapsed = Some(start.elapsed().as_millis() as u64);
    match result {
        Ok(resp) if resp.status().is_success() => {
            let loaded = resp.json::<serde_json::Value>().await.ok().and_then(|v| {
                v.get("data")
                    .and_then(|d| d.as_array())
                    .map(|a| !a.is_empty())
            });
            Probe {
                healthy: true,
                response_time_ms: elapsed,
                // Unknown (None) when the answer is not the OpenAI model list.
                model_loaded: loaded,
                error: None,
            }
        }
        Ok(resp) => Probe {
            healthy: false,
            response_time_ms: elapsed,
            model_loaded: None,
            error: Some(format!("GET /v1/models answered {}", resp.status())),
        },
        Err(err) => Probe {
            healthy: false,
            response_time_ms: None,
            model_loaded: None,
            error: Some(if err.is_timeout() {
                format!("no answer within {} ms", timeout.as_millis())
            } else {
                "connection refused or reset".to_owned()
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_are_probed_on_loopback() {
        assert_eq!(
            probe_url("0.0.0.0", 8000),
            "http://127.0.0.1:8000/v1/models"
        );
        assert_eq!(probe_url("::", 8000), "http://[::1]:8000/v1/models");
        assert_eq!(probe_url("::1", 8000), "http://[::1]:8000/v1/models");
        assert_eq!(
            probe_url("studio.local", 8000),
            "http://studio.local:8000/v1/models"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_unhealthy() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let p = probe(
            &reqwest::Client::new(),
            "127.0.0.1",
            port,
            Duration::from_secs(1),
        )
        .await;
        assert!(!p.healthy);
        assert!(p.error.is_some());
    }
}
