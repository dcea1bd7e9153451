//! Server log files: `<data_dir>/logs/server-<profile id>.log` (the previous run's
//! kept as `.log.1`), their tail, and following them as lines are written.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Seek, SeekFrom},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::sync::mpsc;

/// How often a followed log is checked for new bytes.
const POLL: Duration = Duration::from_millis(150);
/// At most this much of a log is read to find its last lines.
const TAIL_WINDOW: u64 = 4 * 1024 * 1024;

/// The log file of a profile's server.
pub fn path(data_dir: &Path, profile_id: &str) -> PathBuf {
    data_dir
        .join("logs")
        .join(format!("server-{profile_id}.log"))
}

/// Start a fresh log for a new run (the previous one becomes `.log.1`); returns
/// the file twice, for stdout and stderr.
pub fn prepare(path: &Path) -> io::Result<(File, File)> {
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    if path.exists() {
        let mut old = path.as_os_str().to_owned();
        old.push(".1");
        fs::rename(path, old)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let copy = file.try_clone()?;
    Ok((file, copy))
}

fn read_window(path: &Path) -> io::Result<(Vec<u8>, u64)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_WINDOW);
    file.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::with_capacity((len - start) as usize);
    file.take(len - start).read_to_end(&mut buf)?;
    Ok((buf, len))
}

/// The last `chars` characters of the log ("" when there is none).
pub fn tail_chars(path: &Path, chars: usize) -> String {
    let Ok((buf, _)) = read_window(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&buf);
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(chars)).collect()
}

/// The last `n` complete lines of the log, and the offset just after them.
pub fn last_lines(path: &Path, n: usize) -> (Vec<String>, u64) {
    let Ok((buf, len)) = read_window(path) else {
        return (Vec::new(), 0);
    };
    // Only complete lines; a partial last line is delivered once it ends.
    let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let offset = len - (buf.len() - complete) as u64;
    let text = String::from_utf8_lossy(buf.get(..complete).unwrap_or_default());
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    (
        lines.iter().skip(skip).map(|l| l.to_string()).collect(),
        offset,
    )
}

/// One item of a log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogItem {
    /// One line of output.
    Line(String),
    /// The server has stopped (or never ran here); the stream ends.
    Stopped {
        /// Exit code, when known.
        exit_code: Option<i32>,
        /// Whether the run failed, when known.
        failed: Option<bool>,
    },
}

/// Follow the log from `offset`, sending each new complete line (through `wrap`),
/// until `done` says the writer has gone (then the rest is drained) or the
/// receiver is dropped.
pub async fn follow<T>(
    path: PathBuf,
    mut offset: u64,
    tx: mpsc::Sender<T>,
    wrap: impl Fn(String) -> T,
    mut done: impl FnMut() -> bool,
) {
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let finished = done();
        let read = read_from(&path, offset);
        if let Ok(bytes) = read {
            offset += bytes.len() as u64;
            pending.extend_from_slice(&bytes);
            while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = pending.drain(..=i).collect();
                line.pop(); // the newline
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_owned();
                if tx.send(wrap(text)).await.is_err() {
                    return;
                }
            }
        }
        if finished {
            if !pending.is_empty() {
                let _ = tx
                    .send(wrap(String::from_utf8_lossy(&pending).into_owned()))
                    .await;
            }
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tx.closed() => return,
        }
    }
}

fn read_from(path: &Path, offset: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len <= offset {
        return Ok(Vec::new());
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    file.take(len - offset).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_last_lines_skip_a_partial_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.log");
        fs::write(&p, "one\ntwo\nthree\npart").expect("write");
        let (lines, offset) = last_lines(&p, 2);
        assert_eq!(lines, ["two", "three"]);
        assert_eq!(offset, 14);
        assert_eq!(tail_chars(&p, 6), "e\npart");
    }

    #[test]
    fn a_new_run_keeps_the_previous_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("logs/s.log");
        let (mut f, _) = prepare(&p).expect("prepare");
        writeln!(f, "first run").expect("write");
        let (mut f, _) = prepare(&p).expect("prepare");
        writeln!(f, "second run").expect("write");
        assert_eq!(fs::read_to_string(&p).expect("log"), "second run\n");
        assert_eq!(
            fs::read_to_string(dir.path().join("logs/s.log.1")).expect("old"),
            "first run\n"
        );
    }

    #[tokio::test]
    async fn following_delivers_new_lines_then_drains_at_the_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f.log");
        fs::write(&p, "old\n").expect("write");
        let (tx, mut rx) = mpsc::channel(16);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let task = tokio::spawn(follow(
            p.clone(),
            4,
            tx,
            |l| l,
            move || flag.load(std::sync::atomic::Ordering::SeqCst),
        ));
        let mut f = OpenOptions::new().append(true).open(&p).expect("open");
        writeln!(f, "new one").expect("write");
        assert_eq!(rx.recv().await.as_deref(), Some("new one"));
        write!(f, "last, unterminated").expect("write");
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(rx.recv().await.as_deref(), Some("last, unterminated"));
        assert_eq!(rx.recv().await, None);
        task.await.expect("task");
    }
}
