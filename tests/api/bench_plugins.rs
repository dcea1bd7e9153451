//! Benchmark (ignored by default): what the request hook plus the audit plugin
//! add to a mutating request, and how deep the event bus's queue gets.
//!
//! `cargo test --test api bench_plugins -- --ignored --nocapture`
//!
//! Both apps run in this one process, in alternating rounds, on the same
//! machine: auth alone (the hook and the bus with no subscriber) against audit
//! plus auth (the default build).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use mlx_manager::{
    plugins::PluginSet,
    sdk::{Plugin, PluginContext, PluginError},
};
use mlx_manager_audit::AuditPlugin;
use mlx_manager_auth::AuthPlugin;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, json, with_fast_hashing};

static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Samples the bus's deepest queue every 100 µs.
struct DepthProbe;

/// The probe has no settings.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoConfig {}

impl Plugin for DepthProbe {
    const NAME: &'static str = "depth";
    type Config = NoConfig;
    type Api = ();

    async fn init(_: NoConfig, ctx: &mut PluginContext) -> Result<Self, PluginError> {
        let bus = ctx.events().clone();
        tokio::spawn(async move {
            loop {
                PEAK.fetch_max(bus.max_queued(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_micros(100)).await;
            }
        });
        Ok(Self)
    }
}

async fn app<P: PluginSet>() -> (TestApp, String, String) {
    let app = TestApp::spawn_plugins::<P>(with_fast_hashing).await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "bench", "m/x").await;
    let id = p["id"].as_str().expect("id").to_owned();
    (app, token, id)
}

/// Per-request times of `n` sequential profile updates, in microseconds.
async fn updates(app: &TestApp, token: &str, id: &str, n: usize, round: usize) -> Vec<f64> {
    let path = format!("/api/profiles/{id}");
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"description": format!("round {round} update {i}")});
        let start = Instant::now();
        let resp = app.send_as(token, Method::PUT, &path, Some(body)).await;
        times.push(start.elapsed().as_secs_f64() * 1e6);
        assert_eq!(resp.status(), StatusCode::OK);
    }
    times
}

fn summary(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    let mean = t.iter().sum::<f64>() / t.len() as f64;
    (mean, t[t.len() / 2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn bench_plugins() {
    let (plain, plain_token, plain_id) = app::<(AuthPlugin,)>().await;
    let (audited, audit_token, audit_id) = app::<(AuditPlugin, AuthPlugin, DepthProbe)>().await;
    let (rounds, n) = (5, 400);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        a.extend(updates(&plain, &plain_token, &plain_id, n, round).await);
        b.extend(updates(&audited, &audit_token, &audit_id, n, round).await);
    }
    let (a_mean, a_p50) = summary(a);
    let (b_mean, b_p50) = summary(b);
    println!(
        "PUT /api/profiles/{{id}}, {} requests each: auth only mean {a_mean:.0} us p50 {a_p50:.0} us; \
         audit + auth mean {b_mean:.0} us p50 {b_p50:.0} us; added mean {:.0} us p50 {:.0} us",
        rounds * n,
        b_mean - a_mean,
        b_p50 - a_p50
    );

    PEAK.store(0, Ordering::Relaxed);
    let path = format!("/api/profiles/{audit_id}");
    for round in 0..5 {
        let burst = (0..200).map(|i| {
            let body = json!({"description": format!("burst {round} {i}")});
            audited.send_as(&audit_token, Method::PUT, &path, Some(body))
        });
        let answers = futures_util::future::join_all(burst).await;
        assert!(answers.iter().all(|r| r.status() == StatusCode::OK));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let total = json(
        audited
            .get_as(
                &audit_token,
                "/api/audit/events?action=profile.update&limit=1",
            )
            .await,
    )
    .await;
    println!(
        "event bus: peak queue depth {} of {} during 5 bursts of 200 concurrent updates ({})",
        PEAK.load(Ordering::Relaxed),
        mlx_manager::sdk::events::EVENT_QUEUE_CAPACITY,
        if total["events"].as_array().is_some_and(|e| !e.is_empty()) {
            "recorded"
        } else {
            "NOT recorded"
        }
    );
    plain.shutdown().await;
    audited.shutdown().await;
}
