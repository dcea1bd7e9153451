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
//! `POST /v1/chat/completions`, `/v1/completions` and `/v1/embeddings` answer in
//! OpenAI's shapes, with `usage`; with `"stream": true` the first two stream
//! `chunks` events (default 8) and `data: [DONE]`. A request may steer it with
//! `"fake": {"chunks": N, "delay_ms": D, "die_after": K}` (the gateway passes the
//! body unchanged): D ms between chunks, and the process exits after K chunks.
//! It prints `REQUEST <path> <authorization|none>` for each request (whether an
//! `Authorization` or `X-API-Key` header reached it) and `DISCONNECT <path>` when
//! a client hangs up mid-stream.
//!
//! `POST /v1/audio/transcriptions`, `/v1/images/generations` and
//! `/v1/images/edits` take any body and answer `{"text" | "data", "received":
//! {"bytes", "content_type"}}`: what reached them, so tests can see an upload
//! arrive unchanged.
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
    Body, EndpointExt, IntoResponse, Request, Response, Route, Server, get, handler,
    listener::{Acceptor, TcpAcceptor},
    post,
    web::{Data, Json, LocalAddr, Query, RemoteAddr},
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

/// The steering of a request (`"fake": {...}` in its body).
#[derive(Default, serde::Deserialize)]
struct Steer {
    chunks: Option<u32>,
    delay_ms: Option<u64>,
    die_after: Option<u32>,
}

/// Print `REQUEST <path> <authorization|none>` (whether credentials reached
/// this server); returns the path.
fn print_request(req: &Request) -> String {
    let path = req.uri().path().to_owned();
    let credentials =
        req.headers().contains_key("authorization") || req.headers().contains_key("x-api-key");
    println!(
        "REQUEST {path} {}",
        if credentials { "authorization" } else { "none" }
    );
    path
}

/// An OpenAI-shaped answer to a POST route, streamed when asked.
#[handler]
async fn complete(req: &Request, Json(body): Json<Value>) -> Response {
    let path = print_request(req);
    let field = |name: &str| body.get(name).cloned().unwrap_or_default();
    let model = field("model").as_str().unwrap_or_default().to_owned();
    let steer: Steer = serde_json::from_value(field("fake")).unwrap_or_default();
    let usage = json!({"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12});
    if path.ends_with("/embeddings") {
        return Json(json!({"object": "list", "model": model,
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
            "usage": {"prompt_tokens": 5, "total_tokens": 5}}))
        .into_response();
    }
    let chat = path.ends_with("/chat/completions");
    if field("stream").as_bool() != Some(true) {
        let choice = if chat {
            json!({"index": 0, "message": {"role": "assistant", "content": "Hello from the fake server."}, "finish_reason": "stop"})
        } else {
            json!({"index": 0, "text": "Hello from the fake server.", "finish_reason": "stop"})
        };
        let object = if chat {
            "chat.completion"
        } else {
            "text_completion"
        };
        return Json(
            json!({"id": "fake-1", "object": object, "created": 0, "model": model,
            "choices": [choice], "usage": usage}),
        )
        .into_response();
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let chunks = steer.chunks.unwrap_or(8);
    let delay = Duration::from_millis(steer.delay_ms.unwrap_or(0));
    tokio::spawn(async move {
        for n in 0..chunks {
            if steer.die_after == Some(n) {
                // Let the chunks already sent reach the client, then crash.
                tokio::time::sleep(Duration::from_millis(300)).await;
                println!("DYING after {n} chunks");
                std::process::exit(4);
            }
            let delta = if chat {
                json!({"index": 0, "delta": {"content": format!("tok{n} ")}, "finish_reason": null})
            } else {
                json!({"index": 0, "text": format!("tok{n} "), "finish_reason": null})
            };
            let object = if chat {
                "chat.completion.chunk"
            } else {
                "text_completion"
            };
            let event = json!({"id": "fake-1", "object": object, "created": 0, "model": model, "choices": [delta]});
            if tx
                .send(Ok(format!("data: {event}\n\n").into()))
                .await
                .is_err()
            {
                println!("DISCONNECT {path}");
                return;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        let last = json!({"id": "fake-1", "object": "chat.completion.chunk", "created": 0,
            "model": model, "choices": [], "usage": usage});
        let _ = tx
            .send(Ok(format!("data: {last}\n\ndata: [DONE]\n\n").into()))
            .await;
    });
    Response::builder()
        .content_type("text/event-stream")
        .body(Body::from_bytes_stream(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
}

/// A media route's answer: how many bytes of which content type arrived.
#[handler]
async fn media(req: &Request, body: Body) -> Response {
    let path = print_request(req);
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = body.into_bytes().await.map(|b| b.len()).unwrap_or_default();
    let received = json!({"bytes": bytes, "content_type": content_type});
    if path.ends_with("/transcriptions") {
        Json(json!({"text": "fake transcript", "received": received})).into_response()
    } else {
        Json(json!({"created": 0, "data": [{"b64_json": "AA=="}], "received": received}))
            .into_response()
    }
}

/// Accepts with TCP_NODELAY, as uvicorn (asyncio) does: each event goes out
/// when it is written.
struct NoDelay(TcpAcceptor);

impl Acceptor for NoDelay {
    type Io = tokio::net::TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)> {
        let accepted = self.0.accept().await?;
        accepted.0.set_nodelay(true)?;
        Ok(accepted)
    }
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
        .at("/v1/chat/completions", post(complete))
        .at("/v1/completions", post(complete))
        .at("/v1/embeddings", post(complete))
        .at("/v1/audio/transcriptions", post(media))
        .at("/v1/images/generations", post(media))
        .at("/v1/images/edits", post(media))
        .at("/echo", get(echo))
        .data(served);
    println!("serving {model} on {host}:{port}");
    let listener = match tokio::net::TcpListener::bind(format!("{host}:{port}")).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ERROR: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let acceptor = match TcpAcceptor::from_tokio(listener) {
        Ok(a) => NoDelay(a),
        Err(e) => {
            eprintln!("ERROR: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match Server::new_with_acceptor(acceptor).run(app).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ERROR: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
