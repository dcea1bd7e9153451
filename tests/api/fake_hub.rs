//! A fake Hugging Face Hub on loopback: search, model info, revision and tree
//! listings, and file bytes with `Range`, `ETag` and `X-Repo-Commit`. Faults can
//! be set per file (drop the connection mid-file, stall, answer an error status,
//! serve corrupted bytes), and every request is recorded.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use poem::{
    Body, EndpointExt, IntoResponse, Request, Response, Route, Server,
    endpoint::make,
    http::{StatusCode, header},
    listener::{Acceptor, Listener, TcpListener},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// The bytes of a file: literal, or a block repeated up to a length (for big
/// files that should not sit in memory twice).
#[derive(Clone)]
pub enum Content {
    /// These bytes.
    Bytes(Bytes),
    /// `block` repeated until `len` bytes.
    Repeat {
        /// The block.
        block: Bytes,
        /// Total length.
        len: u64,
    },
}

impl Content {
    /// Pseudo-random bytes (deterministic per seed).
    pub fn random(len: usize, seed: u64) -> Self {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 33) as u8
            })
            .collect();
        Self::Bytes(Bytes::from(bytes))
    }

    /// The length.
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::Repeat { len, .. } => *len,
        }
    }

    /// SHA-256, hex.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        for chunk in self.chunks(0) {
            h.update(&chunk);
        }
        hex::encode(h.finalize())
    }

    /// The bytes from `from` on, in chunks.
    fn chunks(&self, from: u64) -> Vec<Bytes> {
        const CHUNK: usize = 256 * 1024;
        match self {
            Self::Bytes(b) => {
                let rest = b.slice(from as usize..);
                (0..rest.len())
                    .step_by(CHUNK)
                    .map(|i| rest.slice(i..(i + CHUNK).min(rest.len())))
                    .collect()
            }
            Self::Repeat { block, len } => {
                let mut out = Vec::new();
                let mut pos = from;
                while pos < *len {
                    let off = (pos % block.len() as u64) as usize;
                    let n = ((block.len() - off) as u64).min(len - pos) as usize;
                    out.push(block.slice(off..off + n));
                    pos += n as u64;
                }
                out
            }
        }
    }
}

/// A file of a fake repository.
#[derive(Clone)]
pub struct FakeFile {
    /// Path in the repository.
    pub path: String,
    /// Its bytes.
    pub content: Content,
    /// Stored with LFS (listed with `lfs.oid` = SHA-256).
    pub lfs: bool,
    /// SHA-256 of `content`, hex.
    pub sha256: String,
}

impl FakeFile {
    /// A file with these bytes.
    pub fn new(path: &str, content: Content, lfs: bool) -> Self {
        let sha256 = content.sha256();
        Self {
            path: path.into(),
            content,
            lfs,
            sha256,
        }
    }

    /// A small non-LFS file.
    pub fn text(path: &str, text: &str) -> Self {
        Self::new(path, Content::Bytes(Bytes::from(text.to_owned())), false)
    }

    /// An LFS file of `len` pseudo-random bytes.
    pub fn lfs(path: &str, len: usize, seed: u64) -> Self {
        Self::new(path, Content::random(len, seed), true)
    }

    /// The blob name the cache should use.
    pub fn blob_name(&self) -> String {
        if self.lfs {
            self.sha256.clone()
        } else {
            self.git_oid()
        }
    }

    /// A stand-in for the git object id (not SHA-1, but 40 hex digits).
    fn git_oid(&self) -> String {
        self.sha256[..40].to_owned()
    }
}

/// A fake repository.
#[derive(Clone)]
pub struct FakeModel {
    /// `org/name`.
    pub id: String,
    /// The commit `main` points to (40 hex digits).
    pub commit: String,
    /// Its files.
    pub files: Vec<FakeFile>,
    /// `usedStorage` of the model info (`None`: the info is 404).
    pub used_storage: Option<u64>,
}

/// What goes wrong when a file is fetched.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Send bytes up to offset `after`, then drop the connection; `times` times.
    Drop {
        /// Offset in the file.
        after: u64,
        /// How many responses break off.
        times: u32,
    },
    /// Send bytes up to offset `after`, then hang until `release_stalls`.
    Stall {
        /// Offset in the file.
        after: u64,
    },
    /// Answer this status, always.
    Status(u16),
    /// Serve the file with one byte changed.
    Corrupt,
}

/// A request the fake Hub received.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// The `Range` header.
    pub range: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// For file requests that broke off: the bytes sent before.
    pub sent_before_drop: Option<u64>,
}

#[derive(Default)]
struct HubState {
    models: Mutex<HashMap<String, FakeModel>>,
    search: Mutex<Value>,
    search_status: Mutex<Option<u16>>,
    faults: Mutex<HashMap<String, Fault>>,
    requests: Mutex<Vec<Recorded>>,
    release: CancellationToken,
}

/// The running fake Hub (stops when dropped).
pub struct FakeHub {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<HubState>,
    stop: CancellationToken,
}

impl FakeHub {
    /// Start it on a free loopback port.
    pub async fn start() -> Self {
        let state = Arc::new(HubState {
            search: Mutex::new(json!([])),
            ..HubState::default()
        });
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind fake hub");
        let port = acceptor.local_addr()[0]
            .as_socket_addr()
            .expect("socket address")
            .port();
        let s = state.clone();
        let app = Route::new()
            .at("/*path", make(move |req| handle(s.clone(), req)))
            .boxed();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, stopped.cancelled_owned(), None)
                .await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
        }
    }

    /// Serve `model`.
    pub fn add_model(&self, model: FakeModel) {
        self.state
            .models
            .lock()
            .unwrap()
            .insert(model.id.clone(), model);
    }

    /// The JSON array `GET /api/models` answers.
    pub fn set_search(&self, results: Value) {
        *self.state.search.lock().unwrap() = results;
    }

    /// Make `GET /api/models` answer this status (`None`: the results).
    pub fn set_search_status(&self, status: Option<u16>) {
        *self.state.search_status.lock().unwrap() = status;
    }

    /// Apply `fault` to every fetch of the file at `path` (any repository).
    pub fn fault(&self, path: &str, fault: Fault) {
        self.state.faults.lock().unwrap().insert(path.into(), fault);
    }

    /// Remove the fault of `path`.
    pub fn clear_fault(&self, path: &str) {
        self.state.faults.lock().unwrap().remove(path);
    }

    /// Let stalled responses go (they then break off).
    pub fn release_stalls(&self) {
        self.state.release.cancel();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The file requests for paths ending with `/resolve/<rev>/<path>`.
    pub fn file_requests(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains("/resolve/") && r.path.ends_with(&format!("/{path}")))
            .collect()
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.state.release.cancel();
        self.stop.cancel();
    }
}

async fn handle(state: Arc<HubState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let index = {
        let mut requests = state.requests.lock().unwrap();
        requests.push(Recorded {
            path: path.clone(),
            query: req.uri().query().unwrap_or_default().to_owned(),
            range: header_value(&req, header::RANGE),
            authorization: header_value(&req, header::AUTHORIZATION),
            sent_before_drop: None,
        });
        requests.len() - 1
    };
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["api", "models"] => search(&state),
        ["api", "models", org, name] => info(&state, &format!("{org}/{name}")),
        ["api", "models", org, name, "revision", _rev] => {
            revision(&state, &format!("{org}/{name}"))
        }
        ["api", "models", org, name, "tree", _rev] => tree(&state, &format!("{org}/{name}")),
        [org, name, "resolve", _rev, file @ ..] => resolve(
            &state,
            &format!("{org}/{name}"),
            &file.join("/"),
            &req,
            index,
        ),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header_value(req: &Request, name: header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn json_response(value: &Value) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(value.to_string())
}

fn search(state: &HubState) -> Response {
    if let Some(status) = *state.search_status.lock().unwrap() {
        return Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .body("{\"error\":\"boom\"}");
    }
    json_response(&state.search.lock().unwrap())
}

fn model(state: &HubState, id: &str) -> Option<FakeModel> {
    state.models.lock().unwrap().get(id).cloned()
}

fn not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .body("{\"error\":\"Repository not found\"}")
}

fn info(state: &HubState, id: &str) -> Response {
    match model(state, id) {
        Some(FakeModel {
            used_storage: Some(bytes),
            ..
        }) => json_response(&json!({"id": id, "usedStorage": bytes})),
        _ => not_found(),
    }
}

fn revision(state: &HubState, id: &str) -> Response {
    let Some(m) = model(state, id) else {
        return not_found();
    };
    let siblings: Vec<Value> = m
        .files
        .iter()
        .map(|f| json!({"rfilename": f.path}))
        .collect();
    json_response(&json!({"id": id, "sha": m.commit, "siblings": siblings}))
}

fn tree(state: &HubState, id: &str) -> Response {
    let Some(m) = model(state, id) else {
        return not_found();
    };
    let mut entries = Vec::new();
    let mut dirs: Vec<String> = Vec::new();
    for f in &m.files {
        if let Some((dir, _)) = f.path.rsplit_once('/')
            && !dirs.contains(&dir.to_owned())
        {
            dirs.push(dir.to_owned());
            entries
                .push(json!({"type": "directory", "path": dir, "oid": "0".repeat(40), "size": 0}));
        }
        let mut entry =
            json!({"type": "file", "path": f.path, "oid": f.git_oid(), "size": f.content.len()});
        if f.lfs {
            entry["size"] = json!(134);
            entry["lfs"] = json!({"oid": f.sha256, "size": f.content.len(), "pointerSize": 134});
        }
        entries.push(entry);
    }
    json_response(&Value::Array(entries))
}

fn resolve(state: &Arc<HubState>, id: &str, path: &str, req: &Request, index: usize) -> Response {
    let Some(m) = model(state, id) else {
        return not_found();
    };
    let Some(file) = m.files.iter().find(|f| f.path == path).cloned() else {
        return not_found();
    };
    let fault = state.faults.lock().unwrap().get(path).cloned();
    if let Some(Fault::Status(status)) = fault {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    let len = file.content.len();
    let from = header_value(req, header::RANGE)
        .and_then(|r| r.strip_prefix("bytes=").map(str::to_owned))
        .and_then(|r| r.split('-').next().and_then(|s| s.parse::<u64>().ok()));
    let etag = format!("\"{}\"", file.blob_name());
    let builder = Response::builder()
        .header(header::ETAG, etag)
        .header("X-Repo-Commit", m.commit.clone())
        .header(header::ACCEPT_RANGES, "bytes");
    let (builder, start) = match from {
        Some(start) if start >= len => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .finish();
        }
        Some(start) => (
            builder.status(StatusCode::PARTIAL_CONTENT).header(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{len}", len - 1),
            ),
            start,
        ),
        None => (builder.status(StatusCode::OK), 0),
    };
    let mut chunks = file.content.chunks(start);
    if matches!(fault, Some(Fault::Corrupt))
        && let Some(first) = chunks.first_mut()
        && !first.is_empty()
    {
        let mut bytes = first.to_vec();
        bytes[0] ^= 0xff;
        *first = Bytes::from(bytes);
    }
    // Where the body breaks off, if it does.
    let cut = match fault {
        Some(Fault::Drop { after, times }) if times > 0 && after > start => {
            let mut faults = state.faults.lock().unwrap();
            if times == 1 {
                faults.remove(path);
            } else {
                faults.insert(
                    path.into(),
                    Fault::Drop {
                        after,
                        times: times - 1,
                    },
                );
            }
            Some((after - start, false))
        }
        Some(Fault::Stall { after }) if after > start => Some((after - start, true)),
        _ => None,
    };
    let body = match cut {
        None => Body::from_bytes_stream(stream::iter(
            chunks.into_iter().map(Ok::<_, std::io::Error>),
        )),
        Some((limit, stall)) => {
            state.requests.lock().unwrap()[index].sent_before_drop = Some(limit);
            let mut kept = Vec::new();
            let mut left = limit;
            for c in chunks {
                if left == 0 {
                    break;
                }
                let n = (c.len() as u64).min(left) as usize;
                kept.push(c.slice(..n));
                left -= n as u64;
            }
            let release = state.release.clone();
            let head = stream::iter(kept.into_iter().map(Ok::<_, std::io::Error>));
            let tail = stream::once(async move {
                if stall {
                    release.cancelled().await;
                } else {
                    // Pending once, so that the server flushes the bytes sent so
                    // far before the connection breaks.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(std::io::Error::other("connection dropped by the fake hub"))
            });
            Body::from_bytes_stream(head.chain(tail))
        }
    };
    builder
        .header(header::CONTENT_LENGTH, len - start)
        .body(body)
}
