//! Argon2id password hashing off the async workers: each hash runs on a pool
//! of its own threads (one per hash that may run at once, at the lowest CPU
//! priority on Linux, so the async workers always come first) behind a
//! semaphore sized to the CPU count, so a login flood neither stalls other
//! requests nor grows memory (19 MiB per hash) without bound. The working
//! memory of a hash is reused while hashes follow one another (one buffer per
//! hash in flight), and given back after half a second without one: a fresh
//! 19 MiB allocation per login left glibc's per-thread arenas holding hundreds
//! of MB, and an idle server should not keep what only a flood needs.

use std::sync::{Arc, Mutex, mpsc};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

use crate::{config::Argon2Config, error::AuthError, input::Password};

/// Argon2 working memory of the configured size kept for the next hash: at
/// most one buffer per hash that may run at once. Hashes of other parameters
/// (older ones) get memory of their own, dropped afterwards.
struct Blocks {
    free: Mutex<Vec<Vec<Block>>>,
    keep: usize,
    size: usize,
}

impl Blocks {
    /// Run `work` with `count` blocks of memory (reused when `count` is the
    /// configured size and a buffer is free; the algorithm writes every block
    /// before it reads it, so a reused buffer cannot change a result).
    fn with<T>(&self, count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let pooled = count == self.size;
        let reused = if pooled {
            self.free
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop()
        } else {
            None
        };
        let mut buffer = reused.unwrap_or_else(|| vec![Block::default(); count]);
        let result = work(&mut buffer);
        if pooled {
            let mut free = self
                .free
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if free.len() < self.keep {
                free.push(buffer);
            }
        }
        result
    }

    /// Give back every kept buffer (no hash runs).
    fn release(&self) {
        self.free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The hashing threads: `size` of them, each taking the next job from one
/// queue; they end when the last [`Hasher`] clone is dropped.
struct Pool {
    jobs: mpsc::Sender<Job>,
}

/// How long the hashing threads wait without a job before the kept memory is
/// given back (when no hash is in flight).
const IDLE: std::time::Duration = std::time::Duration::from_millis(500);

/// The nice value of the hashing threads on Linux (the lowest priority).
pub const HASHING_NICE: i32 = 19;

impl Pool {
    /// `size` threads; `idle` runs on one of them after each [`IDLE`] without
    /// a job.
    fn new(size: usize, idle: impl Fn() + Send + Sync + 'static) -> Result<Self, AuthError> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let idle = Arc::new(idle);
        for i in 0..size {
            let (rx, idle) = (rx.clone(), idle.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = rx
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv_timeout(IDLE);
                        match job {
                            Ok(job) => job(),
                            Err(mpsc::RecvTimeoutError::Timeout) => idle(),
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        }
                    }
                })
                .map_err(|e| AuthError::Internal(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self { jobs })
    }
}

/// Lower the calling thread to the lowest CPU priority. On Linux the nice
/// value is per thread, so the async workers keep theirs and always run
/// first; a hash then only takes CPU they leave. Elsewhere (macOS: the value
/// is per process) the threads keep the normal priority, and only the
/// semaphore bounds them.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(me), HASHING_NICE) {
            tracing::warn!(error = %e, "cannot lower the priority of a hashing thread");
        }
    }
}

/// Argon2 of `password` with `salt` into an output of `len` bytes, in memory
/// from `blocks`: what both hashing and verifying compute.
fn derive(
    blocks: &Blocks,
    argon: &Argon2<'_>,
    password: &str,
    salt: &[u8],
    len: usize,
) -> argon2::password_hash::Result<Output> {
    let params = argon.params();
    blocks.with(params.block_count(), |memory| {
        Output::init_with(len, |out| {
            Ok(argon.hash_password_into_with_memory(password.as_bytes(), salt, out, memory)?)
        })
    })
}

/// The largest parameters a stored hash may ask for (1 GiB, 32 passes, 16
/// lanes): far above any configuration, so older hashes keep verifying, and
/// low enough that a tampered one cannot exhaust memory or hold a permit for
/// ever.
const MAX_VERIFY_M_KIB: u32 = 1024 * 1024;
const MAX_VERIFY_T: u32 = 32;
const MAX_VERIFY_P: u32 = 16;

/// Hashes and verifies passwords with bounded concurrency.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    blocks: Arc<Blocks>,
    pool: Arc<Pool>,
    permits: Arc<Semaphore>,
    limit: usize,
    /// A hash of a random password, verified for unknown emails so that a login
    /// takes as long whether or not the account exists.
    dummy: Arc<str>,
}

impl Hasher {
    /// A hasher with `config`'s parameters and at most `concurrency` hashes at once
    /// (0: one per CPU). Computes the dummy hash, so call it from a blocking context
    /// or accept one hash's delay.
    pub fn new(config: &Argon2Config, concurrency: usize) -> Result<Self, AuthError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| AuthError::Internal(format!("invalid [plugins.auth.argon2]: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let concurrency = match concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let blocks = Arc::new(Blocks {
            free: Mutex::new(Vec::new()),
            keep: concurrency,
            size: argon.params().block_count(),
        });
        let permits = Arc::new(Semaphore::new(concurrency));
        // Weak: the threads must not keep the memory (or each other) alive.
        let (kept, out) = (Arc::downgrade(&blocks), Arc::downgrade(&permits));
        let idle = move || {
            if let (Some(blocks), Some(permits)) = (kept.upgrade(), out.upgrade())
                && permits.available_permits() == concurrency
            {
                blocks.release();
            }
        };
        let dummy_password = uuid::Uuid::new_v4().to_string();
        let dummy = hash_blocking(&argon, &blocks, &dummy_password)?.into();
        Ok(Self {
            argon,
            blocks,
            pool: Arc::new(Pool::new(concurrency, idle)?),
            permits,
            limit: concurrency,
            dummy,
        })
    }

    /// Hash `password` into a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String, AuthError> {
        let (argon, blocks) = (self.argon.clone(), self.blocks.clone());
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&argon, &blocks, &password))
            .await?
    }

    /// Whether `password` matches `phc`. With `None` (an unknown account) a dummy
    /// hash is verified and the answer is `false`.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, AuthError> {
        let known = phc.is_some();
        let phc = phc.map_or_else(|| self.dummy.to_string(), str::to_owned);
        let password = password.to_owned();
        let blocks = self.blocks.clone();
        let matches = self
            .run(move || verify_blocking(&blocks, &password, &phc))
            .await?;
        Ok(known && matches)
    }

    /// The most hashes that run at once (the hashing threads).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Hashes running or about to run on the hashing threads.
    pub fn in_flight(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        // The permit moves into the job: if the request is dropped (the client
        // hangs up), the hash still counts until it has really finished.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic is this hash's failure, not the thread's end.
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            drop(permit);
            if let Ok(out) = out {
                let _ = done.send(out);
            }
        });
        self.pool
            .jobs
            .send(job)
            .map_err(|_| AuthError::Internal("the hashing threads have stopped".into()))?;
        result
            .await
            .map_err(|_| AuthError::Internal("hashing failed (the hash panicked)".into()))
    }
}

/// A PHC string for `password` with a new salt, as `PasswordHasher` makes it,
/// computed in reused memory.
fn hash_blocking(argon: &Argon2<'_>, blocks: &Blocks, password: &str) -> Result<String, AuthError> {
    let failed =
        |e: argon2::password_hash::Error| AuthError::Internal(format!("hashing failed: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_buf).map_err(failed)?;
    let params = argon.params();
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = derive(blocks, argon, password, salt_bytes, len).map_err(failed)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`, with the algorithm,
/// version and parameters the string names (as `PasswordVerifier` does), in
/// reused memory; the outputs are compared in constant time (`Output`'s `==`).
fn verify_blocking(blocks: &Blocks, password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_M_KIB
        || params.t_cost() > MAX_VERIFY_T
        || params.p_cost() > MAX_VERIFY_P
    {
        tracing::warn!(
            "a stored password hash asks for more than 1 GiB, 32 passes or 16 lanes; refused"
        );
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let computed = derive(blocks, &argon, password, salt_bytes, expected.len());
    computed.is_ok_and(|c| c == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Argon2Config {
        Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let h = Hasher::new(&fast(), 2).expect("hasher");
        let pw = Password::parse("correct horse".into()).expect("valid");
        let phc = h.hash(&pw).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(h.verify("correct horse", Some(&phc)).await.expect("verify"));
        assert!(!h.verify("wrong horse", Some(&phc)).await.expect("verify"));
    }

    #[tokio::test]
    async fn pooled_hashes_and_the_crates_own_agree_both_ways() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let config = fast();
        let h = Hasher::new(&config, 2).expect("hasher");
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .expect("params");
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // Ours verified by the crate.
        let ours = h
            .hash(&Password::parse("pooled password".into()).expect("ok"))
            .await
            .expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(
            reference
                .verify_password(b"pooled password", &parsed)
                .is_ok()
        );
        assert!(
            reference
                .verify_password(b"other password", &parsed)
                .is_err()
        );
        // The crate's verified by ours, also with other parameters than ours
        // (an older hash, different memory): a buffer of its own size.
        for (m, t) in [(64, 1), (256, 3)] {
            let p = Params::new(m, t, 1, None).expect("params");
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
                .hash_password(b"their password", &SaltString::generate(&mut OsRng))
                .expect("hash")
                .to_string();
            assert!(
                h.verify("their password", Some(&theirs))
                    .await
                    .expect("verify")
            );
            assert!(
                !h.verify("their passworD", Some(&theirs))
                    .await
                    .expect("verify")
            );
        }
        // Many hashes in a row reuse the memory and stay right.
        for i in 0..20 {
            let pw = format!("password number {i}");
            let phc = h
                .hash(&Password::parse(pw.clone()).expect("ok"))
                .await
                .expect("hash");
            assert!(h.verify(&pw, Some(&phc)).await.expect("verify"));
            assert!(!h.verify("not it at all", Some(&phc)).await.expect("verify"));
        }
        // Malformed or foreign strings never verify.
        for bad in [
            "",
            "$argon2id$",
            "not a hash",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$",
            // A tampered hash asking for 4 TiB is refused, not allocated.
            "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        ] {
            assert!(!h.verify("x", Some(bad)).await.expect("verify"), "{bad:?}");
        }
        assert!(
            h.blocks.free.lock().expect("lock").len() <= 2,
            "at most one buffer per permit"
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let h = Hasher::new(&fast(), 1).expect("hasher");
        assert!(!h.verify("anything", None).await.expect("verify"));
    }

    #[tokio::test]
    async fn default_parameters_are_owasp_argon2id() {
        let h = Hasher::new(&Argon2Config::default(), 1).expect("hasher");
        let phc = h
            .hash(&Password::parse("12345678".into()).expect("ok"))
            .await
            .expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn hashing_does_not_block_the_async_workers() {
        // One runtime thread: if a hash ran on it, no timer could tick until the
        // hash finished. Eight queued hashes (~30 ms each) leave room for many ticks
        // only because they run on the hashing threads.
        let h = Hasher::new(&Argon2Config::default(), 1).expect("hasher");
        let pw = Password::parse("12345678".into()).expect("ok");
        let hashes = (0..8).map(|_| {
            let (h, pw) = (h.clone(), pw.clone());
            tokio::spawn(async move { h.hash(&pw).await })
        });
        let hashes: Vec<_> = hashes.collect();
        let mut ticks = 0;
        while !hashes.iter().all(|t| t.is_finished()) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            ticks += 1;
        }
        assert!(
            ticks > 8,
            "the runtime stalled while hashing ({ticks} ticks)"
        );
    }

    #[tokio::test]
    async fn a_hash_abandoned_by_its_caller_still_holds_its_place() {
        // 64 MiB, 3 passes: long enough to abandon the caller mid-hash.
        let slow = Argon2Config {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        };
        let h = Hasher::new(&slow, 1).expect("hasher");
        let pw = Password::parse("12345678".into()).expect("ok");
        let caller = {
            let (h, pw) = (h.clone(), pw.clone());
            tokio::spawn(async move { h.hash(&pw).await })
        };
        while h.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        caller.abort();
        assert!(caller.await.is_err_and(|e| e.is_cancelled()));
        assert_eq!(
            h.in_flight(),
            1,
            "the abandoned hash still runs and still counts"
        );
        // The next hash waits for it, then runs.
        assert!(h.hash(&pw).await.is_ok());
        assert_eq!(h.in_flight(), 0);
    }

    /// The nice value of every hashing thread of this process (Linux).
    #[cfg(target_os = "linux")]
    fn hashing_thread_nices() -> Vec<i32> {
        let mut nices = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").expect("tasks") {
            let dir = task.expect("task").path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if !comm.starts_with("argon2-") {
                continue;
            }
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            // Fields after the command's closing parenthesis start at the
            // third (state); the nice value is the 19th.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let nice = after.split_whitespace().nth(16).expect("nice field");
            nices.push(nice.parse().expect("a number"));
        }
        nices
    }

    #[tokio::test]
    async fn saturated_hashing_threads_run_at_the_lowest_priority_beside_a_live_runtime() {
        // 32 MiB, 3 passes: each hash outlasts many turns of the runtime.
        let slow = Argon2Config {
            memory_kib: 32 * 1024,
            iterations: 3,
            parallelism: 1,
        };
        let h = Hasher::new(&slow, 2).expect("hasher");
        let pw = Password::parse("12345678".into()).expect("ok");
        let hashes: Vec<_> = (0..8)
            .map(|_| {
                let (h, pw) = (h.clone(), pw.clone());
                tokio::spawn(async move { h.hash(&pw).await })
            })
            .collect();
        while h.in_flight() < h.limit() {
            tokio::task::yield_now().await;
        }
        // Every hashing thread is busy, and the runtime still runs a task
        // and a timer to the end; the pool is still full afterwards (six
        // more hashes were queued), so they ran beside the hashes.
        let answered = tokio::spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            "answered"
        });
        assert_eq!(answered.await.expect("task"), "answered");
        assert_eq!(
            h.in_flight(),
            h.limit(),
            "the hashing threads were all busy"
        );
        #[cfg(target_os = "linux")]
        {
            let nices = hashing_thread_nices();
            assert!(nices.len() >= 2, "{nices:?}");
            assert!(nices.iter().all(|n| *n == HASHING_NICE), "{nices:?}");
        }
        for hash in hashes {
            assert!(hash.await.expect("task").is_ok());
        }
    }

    #[tokio::test]
    async fn the_kept_memory_is_given_back_when_no_hash_has_run_for_a_while() {
        let h = Hasher::new(&fast(), 2).expect("hasher");
        let pw = Password::parse("12345678".into()).expect("ok");
        h.hash(&pw).await.expect("hash");
        let kept = || h.blocks.free.lock().expect("lock").len();
        assert_eq!(kept(), 1, "kept for the next hash");
        let deadline = std::time::Instant::now() + 10 * IDLE;
        while kept() > 0 {
            assert!(std::time::Instant::now() < deadline, "never given back");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // And hashing goes on with fresh memory.
        let phc = h.hash(&pw).await.expect("hash");
        assert!(h.verify("12345678", Some(&phc)).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_panicking_hash_fails_alone_and_the_threads_go_on() {
        let h = Hasher::new(&fast(), 1).expect("hasher");
        let failed: Result<(), AuthError> = h.run(|| panic!("a hash that panics")).await;
        assert!(failed.is_err());
        assert_eq!(h.in_flight(), 0, "its permit came back");
        let pw = Password::parse("12345678".into()).expect("ok");
        assert!(h.hash(&pw).await.is_ok(), "the one thread still hashes");
    }

    /// `cargo test -p mlx-manager-auth --release measure_one_hash -- --ignored --nocapture`
    #[tokio::test]
    #[ignore = "a measurement, not a test"]
    async fn measure_one_hash_with_the_default_parameters() {
        let h = Hasher::new(&Argon2Config::default(), 1).expect("hasher");
        let pw = Password::parse("correct horse battery".into()).expect("ok");
        let mut hashes = Vec::new();
        let start = std::time::Instant::now();
        for _ in 0..20 {
            hashes.push(h.hash(&pw).await.expect("hash"));
        }
        let hash_ms = start.elapsed().as_secs_f64() * 1000.0 / 20.0;
        let start = std::time::Instant::now();
        for phc in &hashes {
            assert!(
                h.verify("correct horse battery", Some(phc))
                    .await
                    .expect("verify")
            );
        }
        let verify_ms = start.elapsed().as_secs_f64() * 1000.0 / 20.0;
        println!(
            "argon2id m=19456 KiB t=2 p=1: hash {hash_ms:.1} ms, verify {verify_ms:.1} ms (mean of 20)"
        );
    }
}
