//! Benchmark (ignored by default): authenticated `GET /api/auth/me` with an API
//! key and with a login token, against `GET /health`, in one process and one
//! run, in alternating rounds so that the machine's state is shared.
//!
//! `cargo test --release --test api bench_credentials -- --ignored --nocapture`
//!
//! The load generator (32 concurrent keep-alive clients) runs in the same
//! process as the server, so absolute figures are below what an outside tool
//! measures; the ratios are the point. Prints one JSON line.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, json};

const CLIENTS: usize = 32;
const ROUND: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;

/// Requests a second for `path` with `credential` over one round.
async fn round(app: &TestApp, path: &str, credential: Option<&str>) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (client, url, stop, done) = (
            app.client.clone(),
            app.url(path),
            stop.clone(),
            done.clone(),
        );
        let credential = credential.map(str::to_owned);
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut req = client.get(&url);
                if let Some(c) = &credential {
                    req = req.bearer_auth(c);
                }
                let resp = req.send().await.expect("request");
                assert_eq!(resp.status(), StatusCode::OK);
                let _ = resp.bytes().await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(ROUND).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_credentials() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let resp = app
        .send_as(
            &token,
            Method::POST,
            "/api/auth/keys",
            Some(json!({"name": "bench"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let key = json(resp).await["key"].as_str().expect("key").to_owned();
    // Warm up every path once.
    round(&app, "/health", None).await;
    let (mut health, mut with_token, mut with_key) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        health.push(round(&app, "/health", None).await);
        with_token.push(round(&app, "/api/auth/me", Some(&token)).await);
        with_key.push(round(&app, "/api/auth/me", Some(&key)).await);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (h, t, k) = (mean(&health), mean(&with_token), mean(&with_key));
    println!(
        "{}",
        json!({
            "clients": CLIENTS,
            "round_s": ROUND.as_secs(),
            "rounds": ROUNDS,
            "health_rps": h.round(),
            "me_token_rps": t.round(),
            "me_key_rps": k.round(),
            "me_token_vs_health": (t / h * 100.0).round() / 100.0,
            "me_key_vs_health": (k / h * 100.0).round() / 100.0,
            "me_key_vs_token": (k / t * 100.0).round() / 100.0,
        })
    );
    app.shutdown().await;
}
