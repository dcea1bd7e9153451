//! A stand-in for an OpenAI-compatible model server, for tests and demos: answers
//! `GET /v1/models` and prints its arguments. Words in `--model-path` choose a
//! misbehaviour: `fail-at-start`, `slow-start`, `never-healthy`, `crash-later`,
//! `ignore-sigterm`, `spawn-child`, `no-model`.
//!
//! It ends itself (and its process group) when its parent goes away, so that a
//! test that fails before cleaning up leaves no server behind.
//!
//! `GET /echo?msg=TEXT` prints TEXT as a line of output (tests use it to make the
//! server write to its log on demand).
//!
//! With `FAKE_MODEL_SERVER_VERSION=X.Y.Z` in its environment, `--version` prints
//! mlx-openai-server's banner with that version, so tests can see how the
//! manager shapes the command for each release.
#![allow(
    clippy::disallowed_methods,
    reason = "a test stand-in, not the product"
)]

use std::{collections::HashMap, time::Duration};

use poem::{
    EndpointExt, Route, Server, get, handler,
    listener::TcpListener,
    web::{Data, Json, Query},
};
use serde_json::{Value, json};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[handler]
fn models(Data(model): Data<&Option<String>>) -> Json<Value> {
    let data: Vec<Value> = model
        .iter()
        .map(|m| json!({"id": m, "object": "model"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

#[handler]
fn echo(Query(q): Query<HashMap<String, String>>) -> &'static str {
    println!("{}", q.get("msg").map(String::as_str).unwrap_or_default());
    "ok"
}

/// End this process group once the parent that started us is gone.
fn exit_with_parent() {
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        while std::os::unix::process::parent_id() == parent {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = nix::sys::signal::killpg(nix::unistd::getpgrp(), nix::sys::signal::Signal::SIGKILL);
    });
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version") {
        match std::env::var("FAKE_MODEL_SERVER_VERSION") {
            // The banner mlx-openai-server's Click group prints, with that version.
            Ok(v) => println!("\nmlx-openai-server - OpenAI Compatible API Server\nVersion: {v}"),
            Err(_) => println!("fake-model-server {}", env!("CARGO_PKG_VERSION")),
        }
        return std::process::ExitCode::SUCCESS;
    }
    println!("ARGV {}", serde_json::to_string(&args).unwrap_or_default());
    // The names (never the values) of the environment it was given.
    let names: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    println!("ENV {}", serde_json::to_string(&names).unwrap_or_default());
    let model = flag(&args, "--model-path").unwrap_or_default();
    let port = flag(&args, "--port").unwrap_or_else(|| "8000".into());
    let host = flag(&args, "--host").unwrap_or_else(|| "127.0.0.1".into());
    let mode = |word: &str| model.contains(word);
    exit_with_parent();

    if mode("ignore-sigterm") {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::spawn(async move {
                    while term.recv().await.is_some() {
                        println!("ignoring SIGTERM");
                    }
                });
            }
            Err(e) => eprintln!("cannot install a SIGTERM handler: {e}"),
        }
    }
    if mode("spawn-child") {
        match std::process::Command::new("sleep").arg("1000").spawn() {
            Ok(child) => println!("CHILD {}", child.id()),
            Err(e) => eprintln!("cannot spawn a child: {e}"),
        }
    }
    if mode("fail-at-start") {
        tokio::time::sleep(Duration::from_millis(100)).await;
        eprintln!("ERROR: cannot load model {model}");
        return std::process::ExitCode::from(1);
    }
    if mode("slow-start") {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if mode("never-healthy") {
        println!("loading forever");
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    if mode("crash-later") {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            eprintln!("Exception: out of memory");
            std::process::exit(3);
        });
    }
    let served = (!mode("no-model")).then(|| model.clone());
    let app = Route::new()
        .at("/v1/models", get(models))
        .at("/echo", get(echo))
        .data(served);
    println!("serving {model} on {host}:{port}");
    match Server::new(TcpListener::bind(format!("{host}:{port}")))
        .run(app)
        .await
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
