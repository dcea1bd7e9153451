//! `TestApp`: the real application on port 0 with a fresh `mem://` store and a
//! temporary data directory, plus typed request helpers per endpoint family.

use std::time::Duration;

use figment::Figment;
use mlx_manager::{config::Config, plugins::PluginSet, startup::Application};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client without cookies or redirects.
    pub client: reqwest::Client,
    /// The data directory (deleted on drop).
    pub data_dir: TempDir,
    /// The app's store, for tests that change it behind the app's back.
    pub db: mlx_manager::sdk::Db,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// The test settings: port 0, `mem://` and a temporary data directory.
pub fn test_figment(data_dir: &std::path::Path) -> Figment {
    Config::defaults()
        .merge(("server.port", 0))
        .merge(("database.url", "mem://"))
        .merge(("paths.data_dir", data_dir.join("data")))
        .merge(("paths.hf_cache", data_dir.join("hub")))
}

/// Cheap Argon2 parameters, so that tests stay fast (a test that needs the real
/// cost sets them back).
/// Throttling is off too: test suites register many accounts from one address
/// (`tests/api/throttle.rs` turns it back on).
pub fn with_fast_hashing(figment: Figment) -> Figment {
    figment
        .merge(("plugins.auth.argon2.memory_kib", 1024))
        .merge(("plugins.auth.argon2.iterations", 1))
        .merge(("plugins.auth.throttle.enabled", false))
}

impl TestApp {
    /// The app with default plugins and test settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|f| f).await
    }

    /// The app with default plugins and test settings changed by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(Figment) -> Figment) -> Self {
        Self::spawn_plugins::<mlx_manager::plugins::DefaultPlugins>(|f| {
            configure(with_fast_hashing(f))
        })
        .await
    }

    /// The app with the plugin set `P` (`()` for none).
    pub async fn spawn_plugins<P: PluginSet>(configure: impl FnOnce(Figment) -> Figment) -> Self {
        Self::try_spawn_plugins::<P>(configure)
            .await
            .expect("app builds")
    }

    /// The app with default plugins, or why it did not start.
    pub async fn try_spawn_with(
        configure: impl FnOnce(Figment) -> Figment,
    ) -> Result<Self, mlx_manager::startup::StartupError> {
        Self::try_spawn_plugins::<mlx_manager::plugins::DefaultPlugins>(|f| {
            configure(with_fast_hashing(f))
        })
        .await
    }

    /// The app with default plugins and test settings, reading the time from
    /// `clock` (a test moves it instead of sleeping).
    pub async fn spawn_with_clock(
        clock: mlx_manager::sdk::clock::SharedClock,
        configure: impl FnOnce(Figment) -> Figment,
    ) -> Self {
        Self::try_spawn_clocked::<mlx_manager::plugins::DefaultPlugins>(
            |f| configure(with_fast_hashing(f)),
            clock,
        )
        .await
        .expect("app builds")
    }

    /// The app with the plugin set `P`, or why it did not start.
    pub async fn try_spawn_plugins<P: PluginSet>(
        configure: impl FnOnce(Figment) -> Figment,
    ) -> Result<Self, mlx_manager::startup::StartupError> {
        let clock = std::sync::Arc::new(mlx_manager::sdk::clock::SystemClock);
        Self::try_spawn_clocked::<P>(configure, clock).await
    }

    async fn try_spawn_clocked<P: PluginSet>(
        configure: impl FnOnce(Figment) -> Figment,
        clock: mlx_manager::sdk::clock::SharedClock,
    ) -> Result<Self, mlx_manager::startup::StartupError> {
        init_test_logs();
        let data_dir = tempfile::tempdir().expect("tempdir");
        let config =
            Config::from_figment(configure(test_figment(data_dir.path()))).expect("config");
        let app = Application::<P>::build_with_clock(config, clock).await?;
        let port = app.port();
        let db = app.db().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Ok(Self {
            address: format!("http://127.0.0.1:{port}"),
            client,
            data_dir,
            db,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Stop the app and wait until it has shut down completely.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(30), server)
                .await
                .expect("shutdown within 30 s")
                .expect("server task")
                .expect("server ran");
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// `GET path` with a bearer token.
    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// `method path` with a bearer token and an optional JSON body.
    pub async fn send_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request")
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    // ---- auth ----

    /// `POST /api/auth/register`.
    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/auth/register"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("request")
    }

    /// `POST /api/auth/login` with the form Swagger UI sends.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/auth/login"))
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", password),
                ("scope", ""),
            ])
            .send()
            .await
            .expect("request")
    }

    /// Log in and return the access token (panics unless 200).
    pub async fn token(&self, email: &str, password: &str) -> String {
        let resp = self.login(email, password).await;
        assert_eq!(resp.status(), StatusCode::OK, "login of {email}");
        let body: Value = resp.json().await.expect("json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Give user `id` the role `role`, as `admin`.
    pub async fn set_role(&self, admin: &str, id: &str, role: &str) -> Response {
        self.send_as(
            admin,
            reqwest::Method::PUT,
            &format!("/api/auth/users/{id}"),
            Some(json!({ "role": role })),
        )
        .await
    }

    /// An API key created by the holder of `token` with `fields` (at least a
    /// `name`); returns the key (panics unless 201).
    pub async fn create_key(&self, token: &str, fields: Value) -> String {
        let resp = self
            .send_as(token, reqwest::Method::POST, "/api/auth/keys", Some(fields))
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: Value = resp.json().await.expect("json");
        body["key"].as_str().expect("key").to_owned()
    }

    /// A stream ticket minted with `credential` (a token or a key) for `path`;
    /// panics unless 201.
    pub async fn ticket(&self, credential: &str, path: &str) -> String {
        let resp = self
            .send_as(
                credential,
                reqwest::Method::POST,
                "/api/auth/stream-ticket",
                Some(json!({ "path": path })),
            )
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::CREATED,
            "stream ticket for {path}"
        );
        let body = json(resp).await;
        assert_eq!(body["expires_in"], 60);
        body["ticket"].as_str().expect("ticket").to_owned()
    }

    /// Register the first account (the admin) and return its token.
    pub async fn admin_token(&self) -> String {
        let resp = self.register(ADMIN, PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        self.token(ADMIN, PASSWORD).await
    }

    /// Register `email` and have the admin approve it; returns (user id, token).
    pub async fn approved_user(&self, admin_token: &str, email: &str) -> (String, String) {
        let resp = self.register(email, PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let user: Value = resp.json().await.expect("json");
        let id = user["id"].as_str().expect("id").to_owned();
        let resp = self
            .send_as(
                admin_token,
                reqwest::Method::PUT,
                &format!("/api/auth/users/{id}"),
                Some(json!({"status": "approved"})),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let token = self.token(email, PASSWORD).await;
        (id, token)
    }
}

impl TestApp {
    // ---- models ----

    /// The hub cache of this app (`[paths] hf_cache`).
    pub fn hub_cache(&self) -> std::path::PathBuf {
        self.data_dir.path().join("hub")
    }

    /// `GET /api/models/search?<query>`.
    pub async fn search_models(&self, token: &str, query: &str) -> Response {
        self.get_as(token, &format!("/api/models/search?{query}"))
            .await
    }

    /// `POST /api/models/download`.
    pub async fn start_download(&self, token: &str, model_id: &str) -> Response {
        self.send_as(
            token,
            reqwest::Method::POST,
            "/api/models/download",
            Some(json!({"model_id": model_id})),
        )
        .await
    }

    /// Start downloading `model_id` and return the task id (panics unless 202).
    pub async fn download_task(&self, token: &str, model_id: &str) -> String {
        let resp = self.start_download(token, model_id).await;
        assert_eq!(
            resp.status(),
            StatusCode::ACCEPTED,
            "download of {model_id}"
        );
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["model_id"], model_id);
        body["task_id"].as_str().expect("task_id").to_owned()
    }

    /// `GET /api/models/downloads/{task_id}` as JSON (panics unless 200).
    pub async fn download(&self, token: &str, task_id: &str) -> Value {
        let resp = self
            .get_as(token, &format!("/api/models/downloads/{task_id}"))
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "task {task_id}");
        resp.json().await.expect("json")
    }

    /// Poll the task until `done` holds for it (panics after 30 s).
    pub async fn wait_for_download(
        &self,
        token: &str,
        task_id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let task = self.download(token, task_id).await;
            if done(&task) {
                return task;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "task never reached the expected state: {task}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Poll the task until its status is final.
    pub async fn wait_for_end(&self, token: &str, task_id: &str) -> Value {
        self.wait_for_download(token, task_id, |t| {
            matches!(
                t["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            )
        })
        .await
    }

    /// `DELETE /api/models/downloads/{task_id}`.
    pub async fn cancel_download(&self, token: &str, task_id: &str) -> Response {
        self.send_as(
            token,
            reqwest::Method::DELETE,
            &format!("/api/models/downloads/{task_id}"),
            None,
        )
        .await
    }

    /// `GET /api/models/local` as JSON (panics unless 200).
    pub async fn local_models(&self, token: &str) -> Value {
        let resp = self.get_as(token, "/api/models/local").await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.expect("json")
    }

    /// `DELETE /api/models/{model_id}` (the id as given: encoded or not).
    pub async fn delete_model(&self, token: &str, model_id: &str) -> Response {
        self.send_as(
            token,
            reqwest::Method::DELETE,
            &format!("/api/models/{model_id}"),
            None,
        )
        .await
    }
}

/// With `TEST_LOG=1`, the app's logs go to the test output (`RUST_LOG` filters).
fn init_test_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The first account's email.
pub const ADMIN: &str = "admin@example.com";
/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

/// The JSON body of a response.
pub async fn json(resp: Response) -> Value {
    resp.json().await.expect("json body")
}

/// Assert an error response: status, `code`, and (when given) `detail`.
pub async fn assert_error(resp: Response, status: StatusCode, code: &str, detail: Option<&str>) {
    if resp.status() != status {
        let got = resp.status();
        panic!(
            "expected {status}, got {got}: {}",
            resp.text().await.unwrap_or_default()
        );
    }
    if status == StatusCode::UNAUTHORIZED {
        assert_eq!(
            resp.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer"),
            "401 carries WWW-Authenticate: Bearer"
        );
    }
    let body = json(resp).await;
    assert_eq!(body["code"], code, "code in {body}");
    if let Some(detail) = detail {
        assert_eq!(body["detail"], detail, "detail in {body}");
    }
}

// ---- profiles and servers ----

/// The fake model server built with the project (`src/bin/fake-model-server.rs`).
pub const FAKE_SERVER: &str = env!("CARGO_BIN_EXE_fake-model-server");

/// Run the fake model server as the model-server program, with short timeouts.
pub fn with_fake_servers(figment: Figment) -> Figment {
    figment
        .merge(("servers.program", FAKE_SERVER))
        .merge((
            "servers.args",
            vec![
                "--model-path",
                "{model_path}",
                "--port",
                "{port}",
                "--host",
                "{host}",
                "--model-type",
                "{model_type}",
            ],
        ))
        .merge(("servers.start_grace", "200ms"))
        .merge(("servers.start_timeout", "20s"))
        .merge(("servers.stop_timeout", "2s"))
        .merge(("servers.health_timeout", "1s"))
}

/// A free port on loopback.
///
/// Ports come from a counter below the kernel's ephemeral range, so two tests of
/// this process never get the same one and no port-0 listener can take it between
/// the check and the server's bind.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 500) as u16 * 20;
    let _ = NEXT.compare_exchange(0, base, Ordering::SeqCst, Ordering::SeqCst);
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl TestApp {
    /// `POST /api/profiles`; panics unless 201. Returns the profile.
    pub async fn create_profile(&self, token: &str, name: &str, model_path: &str) -> Value {
        let body = json!({"name": name, "model_path": model_path, "port": free_port()});
        let resp = self
            .send_as(token, reqwest::Method::POST, "/api/profiles", Some(body))
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "create profile {name}");
        json(resp).await
    }

    /// `POST /api/profiles` with `extra` fields on top of a name, model path
    /// and free port.
    pub async fn create_profile_with(
        &self,
        token: &str,
        name: &str,
        model_path: &str,
        extra: Value,
    ) -> Value {
        let mut body = json!({"name": name, "model_path": model_path, "port": free_port()});
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
            b.extend(extra);
        }
        let resp = self
            .send_as(token, reqwest::Method::POST, "/api/profiles", Some(body))
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "create profile {name}");
        json(resp).await
    }

    /// `POST /api/servers/{id}/<action>`.
    pub async fn server_action(&self, token: &str, id: &str, action: &str) -> Response {
        self.send_as(
            token,
            reqwest::Method::POST,
            &format!("/api/servers/{id}/{action}"),
            None,
        )
        .await
    }

    /// `GET /api/servers/{id}/status` as JSON.
    pub async fn server_status(&self, token: &str, id: &str) -> Value {
        let resp = self
            .get_as(token, &format!("/api/servers/{id}/status"))
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        json(resp).await
    }

    /// The log file of `profile_id`'s model server, as written so far.
    pub fn server_log(&self, profile_id: &str) -> String {
        std::fs::read_to_string(
            self.data_dir
                .path()
                .join(format!("data/logs/server-{profile_id}.log")),
        )
        .unwrap_or_default()
    }

    /// Open an event stream at `path` (with a token, or none for ticket URLs).
    pub async fn events(&self, token: Option<&str>, path: &str) -> Sse {
        let mut req = self.client.get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status(), StatusCode::OK, "event stream {path}");
        assert!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"))
        );
        Sse {
            resp,
            buf: String::new(),
        }
    }
}

/// A server-sent event stream read by a test.
pub struct Sse {
    resp: Response,
    buf: String,
}

impl Sse {
    /// Read an event stream from an answer already checked.
    pub fn from_response(resp: Response) -> Self {
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// Wait for the next chunk until `deadline`: `Some(true)` when the stream
    /// ended, `Some(false)` when something arrived, `None` when nothing did.
    pub async fn next_or_end(&mut self, deadline: tokio::time::Instant) -> Option<bool> {
        match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
            Err(_) => None,
            Ok(Ok(Some(chunk))) => {
                self.buf.push_str(&String::from_utf8_lossy(&chunk));
                Some(false)
            }
            Ok(_) => Some(true),
        }
    }

    /// The next event's JSON data, or `None` when the stream ends or nothing comes
    /// within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let event: String = self.buf.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return serde_json::from_str(&data.join("\n")).ok();
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Read events until one satisfies `want` (panics after `within`).
    pub async fn until(&mut self, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(event) if want(&event) => return event,
                Some(_) => {}
                None => panic!("the stream ended or stalled before the expected event"),
            }
        }
    }
}

/// Poll `probe` every 50 ms until it gives `Some`, and return that; fail the
/// test naming `what` when `within` passes first.
pub async fn poll_until<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Poll `check` until it holds, or panic after `within`.
pub async fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- the real binary ----

/// The real `mlx-manager` binary.
pub const MANAGER_BIN: &str = env!("CARGO_BIN_EXE_mlx-manager");

/// `mlx-manager serve` in `dir` with a clean environment: `PATH`, `HOME=dir`,
/// the data directory in `dir`, `port`, cheap Argon2, then `envs`. Killed when
/// dropped; output discarded unless the caller pipes it.
pub fn serve_command(
    dir: &std::path::Path,
    port: u16,
    envs: &[(&str, &str)],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(MANAGER_BIN);
    cmd.arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("MLX_MANAGER_SERVER__PORT", port.to_string())
        .env("MLX_MANAGER_PATHS__DATA_DIR", dir.join("data"))
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__MEMORY_KIB", "1024")
        .env("MLX_MANAGER_PLUGINS__AUTH__ARGON2__ITERATIONS", "1")
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Wait until `GET {base}/ready` answers 200 (panics after 60 s).
pub async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !http
        .get(format!("{base}/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the manager never got ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kill a manager started with piped output and return all it wrote (stdout,
/// then stderr).
pub async fn kill_and_read_log(manager: &mut tokio::process::Child) -> String {
    use tokio::io::AsyncReadExt;
    let _ = manager.start_kill();
    let _ = manager.wait().await;
    let mut log = String::new();
    if let Some(mut out) = manager.stdout.take() {
        let _ = out.read_to_string(&mut log).await;
    }
    if let Some(mut err) = manager.stderr.take() {
        let _ = err.read_to_string(&mut log).await;
    }
    log
}

/// Register the first account (the admin) on a manager started by a test and
/// log it in; panics unless both succeed. Returns the access token.
pub async fn first_admin_token(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> String {
    let resp = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("register");
    assert_eq!(resp.status(), StatusCode::CREATED, "register {email}");
    let resp = http
        .post(format!("{base}/api/auth/login"))
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK, "login {email}");
    let body: Value = resp.json().await.expect("token");
    body["access_token"].as_str().expect("token").to_owned()
}
