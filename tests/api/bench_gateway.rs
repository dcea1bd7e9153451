//! Benchmark (ignored by default): the gateway against the same model server
//! reached directly and through Debian's nginx as a plain reverse proxy
//! (`proxy_buffering off`), in one run. `bash bench/gateway.sh` installs nginx
//! when missing and runs
//!
//! `cargo test --release --test api bench_gateway -- --ignored --nocapture`
//!
//! The release `mlx-manager` runs as its own process (authentication on: each
//! request carries an API key), with one `fake-model-server` profile; nginx
//! proxies to that same server process. Scenarios, for each of direct, nginx
//! and the gateway, in alternating rounds:
//! - chunks/s: 32 concurrent streams of 64 chunks, no delay;
//! - time to first chunk p50/p99: 8 concurrent streams, 2 ms between chunks;
//! - the proxy's CPU time per request over the throughput rounds (its
//!   processes' utime + stime from /proc, divided by the streams answered).
//!
//! Prints one JSON line. Environment: `NGINX` (the nginx binary, default
//! `nginx` on PATH or /usr/sbin/nginx; without one the nginx figures are
//! null), `BENCH_SECONDS` (each round, default 5), `BENCH_ROUNDS` (default 3).

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FAKE_SERVER, first_admin_token, free_port, serve_command, wait_ready};

const STREAMS: usize = 32;
const CHUNKS: u32 = 64;
const TTFC_STREAMS: usize = 8;
const TTFC_DELAY_MS: u64 = 2;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) of processes `pids`, from /proc.
fn cpu_time(pids: &[u32]) -> Duration {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let mut total = 0.0;
    for pid in pids {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command (which may hold spaces) start at ") ".
        let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
        total += field(11) + field(12);
    }
    Duration::from_secs_f64(total / ticks)
}

/// Process `master` and its children (nginx's workers).
fn with_children(master: u32) -> Vec<u32> {
    let mut pids = vec![master];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or_default();
        if rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok())
            == Some(master)
        {
            pids.push(pid);
        }
    }
    pids
}

/// Where a scenario sends its streams.
#[derive(Clone)]
struct Target {
    name: &'static str,
    url: String,
    key: Option<String>,
    /// The processes whose CPU time is the proxy's (none for direct).
    pids: Vec<u32>,
}

/// One stream: send, read it to the end; the time to its first event and
/// how many events arrived.
async fn one_stream(client: &reqwest::Client, target: &Target, body: &Value) -> (Duration, u64) {
    let sent = Instant::now();
    let mut req = client.post(&target.url).json(body);
    if let Some(key) = &target.key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK, "{}", target.name);
    let mut stream = resp.bytes_stream();
    let mut first = None;
    let mut events = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("chunk");
        first.get_or_insert_with(|| sent.elapsed());
        events += memchr::memmem::find_iter(&chunk, b"\n\n").count() as u64;
    }
    (first.unwrap_or_default(), events)
}

/// Throughput round: chunks/s and CPU time per request of the target's processes.
async fn throughput(client: &reqwest::Client, target: &Target, seconds: u64) -> (f64, Option<f64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (streams, events) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let body = json!({"model": "bench", "stream": true,
        "messages": [{"role": "user", "content": "hi"}], "fake": {"chunks": CHUNKS}});
    let cpu_before = cpu_time(&target.pids);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..STREAMS {
        let (client, target, body) = (client.clone(), target.clone(), body.clone());
        let (stop, streams, events) = (stop.clone(), streams.clone(), events.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (_, n) = one_stream(&client, &target, &body).await;
                // 64 chunks, the usage chunk and [DONE].
                assert!(n >= u64::from(CHUNKS), "{}: {n} events", target.name);
                events.fetch_add(u64::from(CHUNKS), Ordering::Relaxed);
                streams.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_time(&target.pids).saturating_sub(cpu_before);
    let answered = streams.load(Ordering::Relaxed).max(1) as f64;
    let per_request = (!target.pids.is_empty()).then(|| cpu.as_secs_f64() * 1000.0 / answered);
    (events.load(Ordering::Relaxed) as f64 / elapsed, per_request)
}

/// Time-to-first-chunk round: every stream's time to its first event.
async fn first_chunks(client: &reqwest::Client, target: &Target, seconds: u64) -> Vec<Duration> {
    let stop = Arc::new(AtomicBool::new(false));
    let times = Arc::new(Mutex::new(Vec::new()));
    let body = json!({"model": "bench", "stream": true,
        "messages": [{"role": "user", "content": "hi"}],
        "fake": {"chunks": CHUNKS, "delay_ms": TTFC_DELAY_MS}});
    let mut workers = Vec::new();
    for _ in 0..TTFC_STREAMS {
        let (client, target, body) = (client.clone(), target.clone(), body.clone());
        let (stop, times) = (stop.clone(), times.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (first, _) = one_stream(&client, &target, &body).await;
                times.lock().expect("times").push(first);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker");
    }
    let mut all = std::mem::take(&mut *times.lock().expect("times"));
    all.sort();
    all
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn nginx_binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("NGINX") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("nginx"))
            .collect::<Vec<_>>()
    });
    on_path
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
}

/// nginx as a plain reverse proxy to `upstream_port` on `port`, in `dir`.
fn start_nginx(bin: &Path, dir: &Path, port: u16, upstream_port: u16) -> std::process::Child {
    let conf = format!(
        "daemon off;
master_process on;
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream model {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://model;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering off;
        }}
    }}
}}
",
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("nginx.conf");
    std::process::Command::new(bin)
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nginx starts")
}

async fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: bash bench/gateway.sh"]
async fn bench_gateway() {
    let seconds = env_number("BENCH_SECONDS", 5);
    let rounds = env_number("BENCH_ROUNDS", 3);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let fake_args = json!([
        "--model-path",
        "{model_path}",
        "--port",
        "{port}",
        "--host",
        "{host}"
    ]);
    let mut manager = serve_command(
        dir.path(),
        port,
        &[
            ("MLX_MANAGER_SERVERS__PROGRAM", FAKE_SERVER),
            ("MLX_MANAGER_SERVERS__ARGS", &fake_args.to_string()),
            ("MLX_MANAGER_SERVERS__START_GRACE", "200ms"),
            ("MLX_MANAGER_PLUGINS__AUTH__THROTTLE__ENABLED", "false"),
            ("MLX_MANAGER_HUB__OFFLINE", "true"),
            ("MLX_MANAGER_SERVER__LOG_FORMAT", "json"),
            ("RUST_LOG", "warn"),
        ],
    )
    .spawn()
    .expect("manager starts");
    let manager_pid = manager.id().expect("manager pid");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    wait_ready(&http, &base).await;
    let token = first_admin_token(&http, &base, "bench@example.com", "bench password 1").await;
    let upstream_port = free_port();
    let profile: Value = http
        .post(format!("{base}/api/profiles"))
        .bearer_auth(&token)
        .json(
            &json!({"name": "bench", "model_path": "org/bench", "port": upstream_port,
            "max_concurrency": 1024, "queue_size": 1000}),
        )
        .send()
        .await
        .expect("profile")
        .json()
        .await
        .expect("profile JSON");
    let id = profile["id"].as_str().expect("id");
    let resp = http
        .post(format!("{base}/api/servers/{id}/start"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("start");
    assert_eq!(resp.status(), StatusCode::OK);
    let key: Value = http
        .post(format!("{base}/api/auth/keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("key JSON");
    let key = key["key"].as_str().expect("key").to_owned();

    let path = "/v1/chat/completions";
    let mut targets = vec![
        Target {
            name: "direct",
            url: format!("http://127.0.0.1:{upstream_port}{path}"),
            key: None,
            pids: vec![],
        },
        Target {
            name: "gateway",
            url: format!("{base}{path}"),
            key: Some(key),
            pids: vec![manager_pid],
        },
    ];
    let nginx_dir = tempfile::tempdir().expect("nginx dir");
    let nginx = nginx_binary().map(|bin| {
        let nginx_port = free_port();
        let child = start_nginx(&bin, nginx_dir.path(), nginx_port, upstream_port);
        (child, nginx_port)
    });
    if let Some((child, nginx_port)) = &nginx {
        wait_listening(*nginx_port).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        targets.push(Target {
            name: "nginx",
            url: format!("http://127.0.0.1:{nginx_port}{path}"),
            key: None,
            pids: with_children(child.id()),
        });
    } else {
        eprintln!(
            "bench_gateway: no nginx (set NGINX or run bench/gateway.sh); its figures are null"
        );
    }

    // Warm up each target once, then alternate rounds.
    for t in &targets {
        throughput(&http, t, 1).await;
    }
    let n = targets.len();
    let mut chunks = vec![Vec::new(); n];
    let mut cpu = vec![Vec::new(); n];
    let mut ttfc: Vec<Vec<Duration>> = vec![Vec::new(); n];
    for _ in 0..rounds {
        for (i, t) in targets.iter().enumerate() {
            let (rate, per_request) = throughput(&http, t, seconds).await;
            chunks[i].push(rate);
            cpu[i].extend(per_request);
            ttfc[i].extend(first_chunks(&http, t, seconds).await);
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let mut figures = serde_json::Map::new();
    let mut by_name = std::collections::HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        ttfc[i].sort();
        let rate = median(&chunks[i]);
        let per_request = median(&cpu[i]);
        let (p50, p99) = (percentile(&ttfc[i], 0.5), percentile(&ttfc[i], 0.99));
        figures.insert(
            format!("{}_chunks_per_s", t.name),
            json!(rate.map(f64::round)),
        );
        if !t.pids.is_empty() {
            figures.insert(format!("{}_cpu_ms_per_request", t.name), json!(per_request));
        }
        figures.insert(format!("{}_ttfc_p50_ms", t.name), json!(p50));
        figures.insert(format!("{}_ttfc_p99_ms", t.name), json!(p99));
        by_name.insert(t.name, (rate, per_request, p50));
    }
    let get = |name: &str| by_name.get(name).copied();
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let (direct, gateway, nginx_figures) = (get("direct"), get("gateway"), get("nginx"));
    figures.insert(
        "gateway_vs_direct_chunks".into(),
        json!(ratio(gateway.and_then(|g| g.0), direct.and_then(|d| d.0))),
    );
    figures.insert(
        "gateway_vs_nginx_chunks".into(),
        json!(ratio(
            gateway.and_then(|g| g.0),
            nginx_figures.and_then(|n| n.0)
        )),
    );
    figures.insert(
        "gateway_vs_nginx_cpu".into(),
        json!(ratio(
            gateway.and_then(|g| g.1),
            nginx_figures.and_then(|n| n.1)
        )),
    );
    figures.insert(
        "gateway_ttfc_overhead_p50_ms".into(),
        json!(gateway.zip(direct).map(|(g, d)| g.2 - d.2)),
    );
    figures.insert("seconds_per_round".into(), json!(seconds));
    figures.insert("rounds".into(), json!(rounds));
    println!("{}", Value::Object(figures));

    if let Some((mut child, _)) = nginx {
        // SIGTERM: the master stops its workers (SIGKILL would orphan them).
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = child.wait();
    }
    let _ = manager.start_kill();
    let _ = manager.wait().await;
}
