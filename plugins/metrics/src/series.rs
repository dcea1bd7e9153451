//! The series: every metric family the plugin keeps, how each request,
//! measurement and event moves them, and the exposition in the OpenMetrics
//! text format (prometheus-client's encoder).

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError, atomic::AtomicU64},
};

use mlx_manager_sdk::{Event, GatewayRequest, GaugeFamily, Measurement, Observer, RequestRecord};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// The content type of [`Series::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `route` of a request that matched no operation (its raw path is never
/// a label: ids and names in paths would explode the series).
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProfileLabels {
    profile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProfileStatusLabels {
    profile: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    profile: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;
type Gauges = Family<Vec<(&'static str, String)>, Gauge<f64, AtomicU64>>;

fn http_buckets() -> Histogram {
    // 0.25 ms to about 16 s.
    Histogram::new(exponential_buckets(0.00025, 2.0, 17))
}

fn gateway_buckets() -> Histogram {
    // 5 ms to about 5.5 min: a first token can take a model load.
    Histogram::new(exponential_buckets(0.005, 2.0, 17))
}

fn store_buckets() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

/// Every series, and the registry they are encoded from.
pub struct Series {
    registry: Mutex<Registry>,
    gauges: Mutex<HashMap<&'static str, Gauges>>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<HttpLabels>,
    logins: Family<OutcomeLabels, Counter>,
    throttle_locks: Counter,
    server_starts: Family<ProfileLabels, Counter>,
    server_restarts: Family<ProfileLabels, Counter>,
    server_crashes: Family<ProfileLabels, Counter>,
    gateway_requests: Family<ProfileStatusLabels, Counter>,
    gateway_ttfb: Histograms<ProfileLabels>,
    gateway_duration: Histograms<ProfileLabels>,
    gateway_tokens: Family<TokenLabels, Counter>,
    download_bytes: Counter,
    downloads: Family<OutcomeLabels, Counter>,
    store_duration: Histograms<OpLabels>,
}

impl Default for Series {
    fn default() -> Self {
        Self::new(env!("CARGO_PKG_VERSION"))
    }
}

impl Series {
    /// Every series at zero, for a build of `version`.
    pub fn new(version: &'static str) -> Self {
        let mut r = Registry::default();
        let http_requests = Family::default();
        r.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_duration = Family::new_with_constructor(http_buckets as fn() -> Histogram);
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route template, method and status",
            http_duration.clone(),
        );
        let logins = Family::default();
        r.register(
            "auth_logins",
            "Password logins, by outcome (ok, denied, failed)",
            logins.clone(),
        );
        let throttle_locks = Counter::default();
        r.register(
            "auth_throttle_locks",
            "Accounts or addresses locked by login throttling",
            throttle_locks.clone(),
        );
        let server_starts = Family::default();
        r.register(
            "server_starts",
            "Model servers started, by profile",
            server_starts.clone(),
        );
        let server_restarts = Family::default();
        r.register(
            "server_restarts",
            "Model servers restarted, by profile",
            server_restarts.clone(),
        );
        let server_crashes = Family::default();
        r.register(
            "server_crashes",
            "Model servers that ended without being asked to, by profile",
            server_crashes.clone(),
        );
        let gateway_requests = Family::default();
        r.register(
            "gateway_requests",
            "Requests through the gateway, by profile and status (499: the client hung up)",
            gateway_requests.clone(),
        );
        let gateway_ttfb = Family::new_with_constructor(gateway_buckets as fn() -> Histogram);
        r.register(
            "gateway_time_to_first_byte_seconds",
            "Time from a gateway request's arrival to its answer's first byte, by profile",
            gateway_ttfb.clone(),
        );
        let gateway_duration = Family::new_with_constructor(gateway_buckets as fn() -> Histogram);
        r.register(
            "gateway_request_duration_seconds",
            "Time from a gateway request's arrival to its answer's end, by profile",
            gateway_duration.clone(),
        );
        let gateway_tokens = Family::default();
        r.register(
            "gateway_tokens",
            "Tokens the model servers reported in usage, by profile and kind (prompt, completion)",
            gateway_tokens.clone(),
        );
        let download_bytes = Counter::default();
        r.register(
            "download_bytes",
            "Bytes of model files downloaded into the cache",
            download_bytes.clone(),
        );
        let downloads = Family::default();
        r.register(
            "downloads",
            "Model downloads ended, by outcome (finished, failed, cancelled)",
            downloads.clone(),
        );
        let store_duration = Family::new_with_constructor(store_buckets as fn() -> Histogram);
        r.register(
            "store_query_duration_seconds",
            "Time of a store call, by operation",
            store_duration.clone(),
        );
        let info: Family<VersionLabels, Gauge> = Family::default();
        info.get_or_create(&VersionLabels { version }).set(1);
        r.register(
            "mlx_manager_build_info",
            "Always 1, labelled with the manager's version",
            info,
        );
        Self {
            registry: Mutex::new(r),
            gauges: Mutex::new(HashMap::new()),
            http_requests,
            http_duration,
            logins,
            throttle_locks,
            server_starts,
            server_restarts,
            server_crashes,
            gateway_requests,
            gateway_ttfb,
            gateway_duration,
            gateway_tokens,
            download_bytes,
            downloads,
            store_duration,
        }
    }

    /// Count an answered request under its route template.
    pub fn request(&self, record: &RequestRecord<'_>) {
        let labels = HttpLabels {
            route: record.route.unwrap_or(UNMATCHED).to_owned(),
            method: method_label(record.method),
            status: record.status,
        };
        self.http_duration
            .get_or_create(&labels)
            .observe(record.elapsed.as_secs_f64());
        self.http_requests.get_or_create(&labels).inc();
    }

    /// Count what a domain event says (logins, locks, servers, downloads).
    pub fn event(&self, event: &Event) {
        let profile = || ProfileLabels {
            profile: event
                .target
                .name
                .clone()
                .or_else(|| event.target.id.clone())
                .unwrap_or_default(),
        };
        let ok = matches!(event.outcome, mlx_manager_sdk::Outcome::Ok);
        match event.action.0 {
            "auth.login" => self.login(event.outcome.as_str()),
            "auth.login_failed" => self.login(match event.outcome {
                mlx_manager_sdk::Outcome::Ok => "denied",
                other => other.as_str(),
            }),
            "auth.throttle_lock" => {
                self.throttle_locks.inc();
            }
            "server.start" if ok => {
                self.server_starts.get_or_create(&profile()).inc();
            }
            "server.restart" if ok => {
                self.server_restarts.get_or_create(&profile()).inc();
            }
            "server.crash" => {
                self.server_crashes.get_or_create(&profile()).inc();
            }
            "download.finish" => self.download_ended("finished"),
            "download.fail" => self.download_ended("failed"),
            "download.cancel" => self.download_ended("cancelled"),
            _ => {}
        }
    }

    fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    fn download_ended(&self, outcome: &'static str) {
        self.downloads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    fn gateway(&self, g: &GatewayRequest<'_>) {
        let profile = ProfileLabels {
            profile: g.profile.to_owned(),
        };
        self.gateway_requests
            .get_or_create(&ProfileStatusLabels {
                profile: g.profile.to_owned(),
                status: g.status,
            })
            .inc();
        self.gateway_duration
            .get_or_create(&profile)
            .observe(g.duration.as_secs_f64());
        if let Some(first) = g.first_byte {
            self.gateway_ttfb
                .get_or_create(&profile)
                .observe(first.as_secs_f64());
        }
        for (kind, tokens) in [
            ("prompt", g.prompt_tokens),
            ("completion", g.completion_tokens),
        ] {
            if let Some(n) = tokens {
                self.gateway_tokens
                    .get_or_create(&TokenLabels {
                        profile: g.profile.to_owned(),
                        kind,
                    })
                    .inc_by(n);
            }
        }
    }

    /// The exposition of every series, with `gauges` (read from the gauge
    /// sources just before) as the gauge families' current values.
    pub fn encode(&self, gauges: Vec<GaugeFamily>) -> String {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let mut known = self.gauges.lock().unwrap_or_else(PoisonError::into_inner);
        for family in known.values() {
            family.clear();
        }
        for gauge in gauges {
            let family = known.entry(gauge.name).or_insert_with(|| {
                let family = Gauges::default();
                registry.register(gauge.name, gauge.help, family.clone());
                family
            });
            for sample in gauge.samples {
                family.get_or_create(&sample.labels).set(sample.value);
            }
        }
        let mut text = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &registry);
        text
    }
}

impl Observer for Series {
    fn observe(&self, measurement: &Measurement<'_>) {
        match measurement {
            Measurement::StoreQuery { op, elapsed, .. } => self
                .store_duration
                .get_or_create(&OpLabels { op })
                .observe(elapsed.as_secs_f64()),
            Measurement::Gateway(g) => self.gateway(g),
            Measurement::DownloadBytes(n) => {
                self.download_bytes.inc_by(*n);
            }
            _ => {}
        }
    }
}

/// The method as a label; a method outside the standard ones is `other`, so
/// a client cannot mint series.
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use mlx_manager_sdk::GaugeSample;

    use super::*;

    fn servers(samples: Vec<GaugeSample>) -> Vec<GaugeFamily> {
        vec![GaugeFamily {
            name: "servers",
            help: "Model servers",
            samples,
        }]
    }

    #[test]
    fn a_gauge_shows_its_last_values_only_and_the_text_ends_in_eof() {
        let series = Series::new("1.2.3");
        let text = series.encode(servers(vec![GaugeSample::labelled(
            "state", "running", 2.0,
        )]));
        assert!(text.contains("servers{state=\"running\"} 2.0"), "{text}");
        assert!(
            text.contains("mlx_manager_build_info{version=\"1.2.3\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
        // A profile gone since the last scrape leaves no stale value.
        let text = series.encode(servers(Vec::new()));
        assert!(!text.contains("servers{state="), "{text}");
    }

    #[test]
    fn a_method_outside_the_standard_ones_is_other() {
        let odd = poem::http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&odd), "other");
        assert_eq!(method_label(&poem::http::Method::DELETE), "DELETE");
    }
}
