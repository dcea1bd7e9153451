//! One file of a download: bytes go to `blobs/<hash>.incomplete`; after an
//! interruption (a dropped connection now, or a restart later) the file is
//! continued with `Range: bytes=<have>-`. When the Hub ignores the range (200
//! instead of 206) the file starts over. The complete file's size and, for LFS
//! files, SHA-256 are checked before it is renamed to `blobs/<hash>`; a file
//! that fails the check is removed and fails the task.

use std::io::{Read, Write};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::{Response, StatusCode, header};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::shared::{JobContext, JobError, PlannedFile, Progress};
use crate::models::{hub::describe, id::ModelId};

/// Write buffer per file.
const WRITE_BUFFER: usize = 1 << 20;
/// Received chunks waiting for the writer (a bound on memory per file).
const WRITER_QUEUE: usize = 64;

/// How an attempt ended, when it did not fail the task.
enum Attempt {
    /// The response ended; `have` bytes are on disk.
    Ended,
    /// The connection broke; try again from what is on disk.
    Broken(String),
}

/// Fetch `file` of `model` at `commit` into its blob.
pub async fn fetch(
    ctx: &JobContext,
    model: &ModelId,
    commit: &str,
    file: &PlannedFile,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<(), JobError> {
    let part = ctx.cache.incomplete(model, &file.hash);
    let io_err = |e: std::io::Error| JobError::io(&e, &ctx.cache, &format!("write {}", file.path));
    let mut state = Partial {
        have: 0,
        hasher: file.verify_sha256.then(Sha256::new),
    };
    if let Ok(meta) = tokio::fs::metadata(&part).await {
        if meta.len() <= file.size {
            state = state.resume_from(part.clone()).await.map_err(io_err)?;
        }
        progress.add(state.have);
    }
    let segments: Vec<&str> = file.path.segments().collect();
    let mut failures = 0;
    loop {
        let complete = state.have == file.size
            && (file.size > 0 || tokio::fs::try_exists(&part).await.unwrap_or(false));
        if complete {
            break;
        }
        let before = state.have;
        let response = ctx
            .hub
            .file(model, commit, &segments, state.have, cancel)
            .await?;
        match attempt(ctx, response, &part, file, &mut state, progress, cancel).await? {
            Attempt::Ended if state.have >= file.size => break,
            Attempt::Ended => {
                failures += 1;
                if failures > ctx.hub.retries() {
                    return Err(JobError::Failed(format!(
                        "The Hugging Face Hub sent only {} of {} bytes of {}",
                        state.have, file.size, file.path
                    )));
                }
            }
            Attempt::Broken(cause) => {
                failures = if state.have > before { 1 } else { failures + 1 };
                if failures > ctx.hub.retries() {
                    return Err(JobError::Failed(format!(
                        "Downloading {} failed: {cause}",
                        file.path
                    )));
                }
                tracing::warn!(file = %file.path, have = state.have, %cause, "download interrupted; resuming");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(ctx.hub.backoff(failures)) => {},
            () = cancel.cancelled() => return Err(JobError::Interrupted),
        }
    }
    finish(ctx, model, file, state, &part).await
}

/// The bytes on disk and the running hash of them.
struct Partial {
    have: u64,
    hasher: Option<Sha256>,
}

impl Partial {
    /// Continue from an existing partial file: count (and hash) what it holds,
    /// on a blocking thread.
    async fn resume_from(mut self, part: std::path::PathBuf) -> std::io::Result<Self> {
        let read = tokio::task::spawn_blocking(move || {
            let mut f = std::fs::File::open(part)?;
            let mut buf = vec![0u8; WRITE_BUFFER];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    return Ok(self);
                }
                if let (Some(h), Some(read)) = (self.hasher.as_mut(), buf.get(..n)) {
                    h.update(read);
                }
                self.have += n as u64;
            }
        });
        read.await.map_err(std::io::Error::other)?
    }

    fn restart(&mut self, progress: &Progress) {
        progress.sub(self.have);
        self.have = 0;
        if let Some(h) = self.hasher.as_mut() {
            h.reset();
        }
    }
}

async fn attempt(
    ctx: &JobContext,
    response: Response,
    part: &std::path::Path,
    file: &PlannedFile,
    state: &mut Partial,
    progress: &Progress,
    cancel: &CancellationToken,
) -> Result<Attempt, JobError> {
    let io_err = |e: std::io::Error| JobError::io(&e, &ctx.cache, &format!("write {}", file.path));
    match response.status() {
        StatusCode::PARTIAL_CONTENT if continues_at(&response, state.have) => {}
        StatusCode::RANGE_NOT_SATISFIABLE => {
            // What is on disk is not a prefix the Hub knows: start over.
            state.restart(progress);
            tokio::fs::write(part, b"").await.map_err(io_err)?;
            return Ok(Attempt::Broken("the Hub refused the range".into()));
        }
        _ => state.restart(progress),
    }
    let out = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(state.have > 0)
        .truncate(state.have == 0)
        .open(part)
        .await
        .map_err(io_err)?
        .into_std()
        .await;
    let writer = Writer::spawn(out, state.hasher.take());
    let mut body = response.bytes_stream();
    let mut received = 0;
    let outcome = loop {
        let chunk = tokio::select! {
            c = body.next() => c,
            () = cancel.cancelled() => break Err(JobError::Interrupted),
        };
        match chunk {
            None => break Ok(Attempt::Ended),
            Some(Err(e)) => break Ok(Attempt::Broken(describe(&e))),
            Some(Ok(bytes)) => {
                let n = bytes.len() as u64;
                if state.have + received + n > file.size {
                    break Err(JobError::Failed(format!(
                        "The Hugging Face Hub sent more than the {} bytes listed for {}",
                        file.size, file.path
                    )));
                }
                if writer.chunks.send(bytes).await.is_err() {
                    // The writer stopped on an error, reported below.
                    break Ok(Attempt::Ended);
                }
                received += n;
                progress.add(n);
                ctx.observers
                    .record(&mlx_manager_sdk::Measurement::DownloadBytes(n));
            }
        }
    };
    // Whatever happened, keep what was received for the next attempt.
    let written = writer.finish().await?;
    state.hasher = written.hasher;
    state.have += written.bytes;
    if let Some(e) = written.error {
        return Err(io_err(e));
    }
    outcome
}

/// A blocking thread that appends the received chunks to the partial file and
/// hashes them, so that neither disk writes nor SHA-256 run on the async
/// workers, and receiving overlaps with writing.
struct Writer {
    chunks: mpsc::Sender<Bytes>,
    thread: tokio::task::JoinHandle<Written>,
}

/// What a writer did.
struct Written {
    hasher: Option<Sha256>,
    bytes: u64,
    error: Option<std::io::Error>,
}

impl Writer {
    fn spawn(file: std::fs::File, hasher: Option<Sha256>) -> Self {
        let (chunks, mut rx) = mpsc::channel::<Bytes>(WRITER_QUEUE);
        let thread = tokio::task::spawn_blocking(move || {
            let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
            let mut done = Written {
                hasher,
                bytes: 0,
                error: None,
            };
            while let Some(chunk) = rx.blocking_recv() {
                if let Err(e) = out.write_all(&chunk) {
                    done.error = Some(e);
                    return done;
                }
                if let Some(h) = done.hasher.as_mut() {
                    h.update(&chunk);
                }
                done.bytes += chunk.len() as u64;
            }
            done.error = out.flush().err();
            done
        });
        Self { chunks, thread }
    }

    /// Wait until every queued chunk is written.
    async fn finish(self) -> Result<Written, JobError> {
        drop(self.chunks);
        self.thread
            .await
            .map_err(|e| JobError::Failed(format!("The file writer failed: {e}")))
    }
}

/// Whether a 206 answer starts at byte `have` (`Content-Range: bytes have-...`).
fn continues_at(response: &Response, have: u64) -> bool {
    response
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split('-').next())
        .and_then(|start| start.trim().parse::<u64>().ok())
        == Some(have)
}

async fn finish(
    ctx: &JobContext,
    model: &ModelId,
    file: &PlannedFile,
    state: Partial,
    part: &std::path::Path,
) -> Result<(), JobError> {
    let rejected = if state.have != file.size {
        Some(format!(
            "{} has {} bytes, the Hub listed {}",
            file.path, state.have, file.size
        ))
    } else if let Some(h) = state.hasher {
        let got = hex::encode(h.finalize());
        (got != file.hash).then(|| {
            format!(
                "Checksum mismatch for {}: expected sha256 {}, got {got}",
                file.path, file.hash
            )
        })
    } else {
        None
    };
    if let Some(reason) = rejected {
        let _ = tokio::fs::remove_file(part).await;
        return Err(JobError::Failed(reason));
    }
    tokio::fs::rename(part, ctx.cache.blob(model, &file.hash))
        .await
        .map_err(|e| JobError::io(&e, &ctx.cache, &format!("store {}", file.path)))
}
