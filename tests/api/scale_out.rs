//! Several managers on one real SurrealDB server (`tests/surrealdb-server`, built
//! by `.ci/run`; a plain `cargo test` without it skips these tests and says
//! why): shared accounts, sessions and keys, per-host profiles and server
//! records, one migration run for managers starting at once, a signing key
//! every manager shares, and 503 (not a hang) while the server is stalled.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, PASSWORD, TestApp, assert_error, free_port, json};

/// The variable `.ci/run` sets to the server binary; when set, a missing binary
/// fails the tests instead of skipping them.
const SERVER_VAR: &str = "TEST_SURREALDB_SERVER";

/// The secret every manager of a test signs tokens with.
const SHARED_SECRET: &str = "a-secret-all-managers-share-0123456789abcdef";

/// A SurrealDB server with in-memory storage on a loopback port.
struct SurrealServer {
    child: Child,
    port: u16,
}

/// The server binary: `$TEST_SURREALDB_SERVER`, or the one `cargo build -p
/// mlx-manager-test-surrealdb` leaves beside the test binary's directory.
fn server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(SERVER_VAR) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{SERVER_VAR}={} is not a file",
            path.display()
        );
        return Some(path);
    }
    let exe = std::env::current_exe().ok()?;
    let beside = exe.parent()?.parent()?.join("mlx-manager-test-surrealdb");
    if beside.is_file() {
        return Some(beside);
    }
    eprintln!(
        "skipped: no SurrealDB test server (build it with `cargo build -p \
         mlx-manager-test-surrealdb`, or set {SERVER_VAR}; .ci/run does both)"
    );
    None
}

impl SurrealServer {
    /// Start a server, or `None` (after saying why) when there is no binary.
    async fn start() -> Option<Self> {
        let binary = server_binary()?;
        let port = free_port();
        let server = Self {
            child: Self::spawn(&binary, port),
            port,
        };
        server.wait_healthy().await;
        Some(server)
    }

    fn spawn(binary: &std::path::Path, port: u16) -> Child {
        Command::new(binary)
            .args(["start", "--bind", &format!("127.0.0.1:{port}")])
            .args([
                "--user", "root", "--pass", "root", "--log", "warn", "memory",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SurrealDB test server")
    }

    async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let health = format!("http://127.0.0.1:{}/health", self.port);
        crate::helpers::poll_until(Duration::from_secs(60), "the SurrealDB server", || {
            let request = http.get(&health).send();
            async move { request.await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
    }

    /// Kill the server (its in-memory data goes with it).
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A new, empty server on the same port.
    async fn restart(&mut self) {
        let binary = server_binary().expect("the binary is still there");
        self.child = Self::spawn(&binary, self.port);
        self.wait_healthy().await;
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        nix::sys::signal::kill(pid, signal).expect("signal the server");
    }

    /// A manager named `node` on this server's database `database`.
    async fn manager(&self, database: &str, node: &str) -> TestApp {
        let (url, database, node) = (self.url(), database.to_owned(), node.to_owned());
        TestApp::spawn_with(move |f| shared_store(f, &url, &database).merge(("node.name", node)))
            .await
    }
}

impl Drop for SurrealServer {
    fn drop(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings of a manager on the shared store `url`, database `database`.
fn shared_store(f: figment::Figment, url: &str, database: &str) -> figment::Figment {
    f.merge(("database.url", url))
        .merge(("database.username", "root"))
        .merge(("database.password", "root"))
        .merge(("database.database", database))
        .merge(("plugins.auth.jwt_secret", SHARED_SECRET))
}

/// Register `email` on `app` (201 expected); the new account's id.
async fn register(app: &TestApp, email: &str) -> String {
    let resp = app.register(email, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    json(resp).await["id"].as_str().expect("id").to_owned()
}

/// How long after `change` until `probe` sees `want`, polled every millisecond
/// (at most 5 s, then the test fails).
async fn until_status(app: &TestApp, credential: &str, path: &str, want: StatusCode) -> Duration {
    let started = Instant::now();
    loop {
        let status = app.get_as(credential, path).await.status();
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} still answers {status}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test]
async fn accounts_and_sessions_cross_three_managers_and_a_disable_reaches_the_others_within_1_s() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    let a = server.manager("accounts", "a").await;
    let b = server.manager("accounts", "b").await;
    let c = server.manager("accounts", "c").await;

    // Register on A (the first account: the admin), log in on B.
    register(&a, ADMIN).await;
    let admin = b.token(ADMIN, PASSWORD).await;
    // A token from B works on A and C: one signing key.
    for app in [&a, &c] {
        let me = json(app.get_as(&admin, "/api/auth/me").await).await;
        assert_eq!(me["email"], ADMIN, "{me}");
    }

    // Register on A, approve on B, log in on C.
    let id = register(&a, "bob@example.com").await;
    let pending = c.login("bob@example.com", PASSWORD).await;
    assert_error(pending, StatusCode::FORBIDDEN, "account_pending", None).await;
    update_user(&b, &admin, &id, json!({"status": "approved"})).await;
    let bob = c.token("bob@example.com", PASSWORD).await;
    assert_eq!(
        b.get_as(&bob, "/api/auth/me").await.status(),
        StatusCode::OK
    );

    // A role change on C holds on A at the next request.
    update_user(&c, &admin, &id, json!({"role": "viewer"})).await;
    let me = json(a.get_as(&bob, "/api/auth/me").await).await;
    assert_eq!(me["role"], "viewer", "{me}");

    // A password reset on A: Bob's earlier token dies on C within 1 s.
    let reset = a
        .send_as(
            &admin,
            Method::POST,
            &format!("/api/auth/users/{id}/reset-password"),
            Some(json!({"password": "another long password"})),
        )
        .await;
    assert!(reset.status().is_success(), "{}", reset.status());
    let took = until_status(&c, &bob, "/api/auth/me", StatusCode::UNAUTHORIZED).await;
    assert!(took < Duration::from_secs(1), "C refused after {took:?}");
    let bob = c.token("bob@example.com", "another long password").await;

    // Disable on A: B refuses Bob's token within 1 s.
    update_user(&a, &admin, &id, json!({"status": "disabled"})).await;
    let took = until_status(&b, &bob, "/api/auth/me", StatusCode::UNAUTHORIZED).await;
    assert!(took < Duration::from_secs(1), "B refused after {took:?}");

    // Logging out on C ends the admin's session on A too.
    let out = c
        .send_as(&admin, Method::POST, "/api/auth/logout", None)
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let took = until_status(&a, &admin, "/api/auth/me", StatusCode::UNAUTHORIZED).await;
    assert!(took < Duration::from_secs(1), "A refused after {took:?}");
}

/// `PUT /api/auth/users/{id}` with `change` on `app` as `admin` (200 expected).
async fn update_user(app: &TestApp, admin: &str, id: &str, change: Value) {
    let path = format!("/api/auth/users/{id}");
    let resp = app.send_as(admin, Method::PUT, &path, Some(change)).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

/// Milliseconds, for the printed figures.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test]
async fn a_key_made_on_b_works_on_a_and_dies_on_a_within_1_s_of_its_revocation_on_b() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    let a = server.manager("keys", "a").await;
    let b = server.manager("keys", "b").await;
    let admin = {
        register(&a, ADMIN).await;
        a.token(ADMIN, PASSWORD).await
    };
    // 50 trials: the figure the scale-out note reports (median and max).
    let mut latencies = Vec::new();
    for n in 0..50 {
        let key = b
            .create_key(&admin, json!({ "name": format!("k{n}") }))
            .await;
        assert_eq!(
            a.get_as(&key, "/api/profiles").await.status(),
            StatusCode::OK,
            "the key works on A"
        );
        let id = key.split('_').nth(1).expect("key id");
        let revoked = b
            .send_as(
                &admin,
                Method::DELETE,
                &format!("/api/auth/keys/{id}"),
                None,
            )
            .await;
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        latencies.push(until_status(&a, &key, "/api/profiles", StatusCode::UNAUTHORIZED).await);
    }
    latencies.sort();
    let (median, max) = (
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
    );
    println!(
        "cross-manager key revocation, 50 trials: median {:.2} ms, max {:.2} ms",
        ms(median),
        ms(max)
    );
    assert!(max < Duration::from_secs(1), "slowest: {max:?}");
}

#[tokio::test]
async fn profiles_and_their_ports_belong_to_one_host() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    let a = server.manager("profiles", "a").await;
    let b = server.manager("profiles", "b").await;
    register(&a, ADMIN).await;
    let admin = a.token(ADMIN, PASSWORD).await;
    let body = json!({ "name": "llama", "model_path": "org/llama", "port": 10400 });
    let on_a = a
        .send_as(&admin, Method::POST, "/api/profiles", Some(body.clone()))
        .await;
    assert_eq!(on_a.status(), StatusCode::CREATED);
    let on_a = json(on_a).await;

    // B sees none of A's profiles, by list, by id or through its gateway.
    let listed = json(b.get_as(&admin, "/api/profiles").await).await;
    assert_eq!(listed, json!([]), "{listed}");
    let path = format!("/api/profiles/{}", on_a["id"].as_str().expect("id"));
    let by_id = b.get_as(&admin, &path).await;
    assert_eq!(by_id.status(), StatusCode::NOT_FOUND);
    let models = json(b.get_as(&admin, "/v1/models").await).await;
    assert_eq!(models["data"], json!([]), "{models}");
    let delete = b.send_as(&admin, Method::DELETE, &path, None).await;
    assert_eq!(delete.status(), StatusCode::NOT_FOUND, "not B's to delete");

    // The same name and port are free on B, and taken again on A.
    let on_b = b
        .send_as(&admin, Method::POST, "/api/profiles", Some(body.clone()))
        .await;
    assert_eq!(on_b.status(), StatusCode::CREATED);
    let again = a
        .send_as(&admin, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let names = |list: Value| -> Vec<(String, i64)> {
        list.as_array()
            .expect("list")
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().expect("name").to_owned(),
                    p["port"].as_i64().expect("port"),
                )
            })
            .collect()
    };
    let want = vec![("llama".to_owned(), 10400)];
    assert_eq!(
        names(json(a.get_as(&admin, "/api/profiles").await).await),
        want
    );
    assert_eq!(
        names(json(b.get_as(&admin, "/api/profiles").await).await),
        want
    );
    assert_eq!(a.get_as(&admin, &path).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn three_managers_starting_at_once_on_an_empty_store_apply_each_migration_once() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    let (a, b, c) = tokio::join!(
        server.manager("racing", "a"),
        server.manager("racing", "b"),
        server.manager("racing", "c"),
    );
    let mut got: Vec<String> =
        a.db.query("SELECT VALUE string::concat(scope, '-', <string> version) FROM migration")
            .await
            .and_then(|mut r| r.take(0))
            .expect("ledger");
    got.sort();
    let mut want: Vec<String> = mlx_manager::migrations::CORE
        .iter()
        .map(|m| format!("core-{}", m.version))
        .collect();
    let plugins =
        <mlx_manager::plugins::DefaultPlugins as mlx_manager::plugins::PluginSet>::migrations();
    for (scope, migrations) in plugins {
        want.extend(migrations.iter().map(|m| format!("{scope}-{}", m.version)));
    }
    want.sort();
    assert_eq!(got, want, "every migration recorded exactly once");
    // All three serve.
    for app in [&a, &b, &c] {
        assert_eq!(app.get("/ready").await.status(), StatusCode::OK);
    }
    let lock: Vec<String> =
        a.db.query("SELECT VALUE holder FROM migration_lock")
            .await
            .and_then(|mut r| r.take(0))
            .expect("lock table");
    assert!(lock.is_empty(), "the lock is released: {lock:?}");
}

#[tokio::test]
async fn a_shared_store_without_a_shared_signing_key_is_refused_with_what_to_set() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    let url = server.url();
    let err = TestApp::try_spawn_with(move |f| {
        shared_store(f, &url, "keyless").merge(("plugins.auth.jwt_secret", ""))
    })
    .await
    .err()
    .expect("refused");
    let message = err.to_string();
    assert!(
        message.contains("jwt_secret") && message.contains("ES256"),
        "{message}"
    );
}

#[tokio::test]
async fn a_stalled_store_gives_503_within_seconds_and_the_manager_recovers_when_it_returns() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    let a = server.manager("stall", "a").await;
    register(&a, ADMIN).await;
    let admin = a.token(ADMIN, PASSWORD).await;
    assert_eq!(
        a.get_as(&admin, "/api/profiles").await.status(),
        StatusCode::OK
    );

    server.signal(nix::sys::signal::Signal::SIGSTOP);
    let started = Instant::now();
    assert_eq!(
        a.get("/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let resp = a.get_as(&admin, "/api/profiles").await;
    assert_error(
        resp,
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        None,
    )
    .await;
    let login = a.login(ADMIN, PASSWORD).await;
    assert_error(
        login,
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        None,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "three answers took {:?}",
        started.elapsed()
    );
    // Nothing that does not need the store waits for it.
    assert_eq!(a.get("/health").await.status(), StatusCode::OK);

    server.signal(nix::sys::signal::Signal::SIGCONT);
    crate::helpers::poll_until(
        Duration::from_secs(30),
        "the manager to recover",
        || async {
            let ready = a.get("/ready").await.status() == StatusCode::OK;
            let me = a.get_as(&admin, "/api/profiles").await.status() == StatusCode::OK;
            (ready && me).then_some(())
        },
    )
    .await;

    // A server that goes away and comes back (empty: it keeps memory only):
    // the manager reconnects by itself.
    let mut server = server;
    server.kill();
    let started = Instant::now();
    assert_eq!(
        a.get("/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let resp = a.get_as(&admin, "/api/profiles").await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    server.restart().await;
    crate::helpers::poll_until(
        Duration::from_secs(30),
        "the manager to reconnect",
        || async { (a.get("/ready").await.status() == StatusCode::OK).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn an_embedded_store_exported_and_imported_into_the_server_keeps_accounts_and_profiles() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    // A single-host manager on its embedded store, with an account and a profile.
    let alone = TestApp::spawn_with(|f| f.merge(("node.name", "studio"))).await;
    register(&alone, ADMIN).await;
    let admin = alone.token(ADMIN, PASSWORD).await;
    let body = json!({ "name": "qwen", "model_path": "org/qwen", "port": 10500 });
    let created = alone
        .send_as(&admin, Method::POST, "/api/profiles", Some(body))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let kept = tempfile::tempdir().expect("dir");
    let file = kept.path().join("export.surql");
    mlx_manager::store::export(&alone.db, &file)
        .await
        .expect("export");
    alone.shutdown().await;

    // Into a new database on the server; a second import is refused.
    let settings = mlx_manager::config::DatabaseSettings {
        url: Some(server.url()),
        database: "moved".into(),
        username: Some("root".into()),
        password: Some("root".into()),
        ..Default::default()
    };
    let db = mlx_manager::store::open(&settings, kept.path())
        .await
        .expect("open");
    mlx_manager::store::import(&db, &file)
        .await
        .expect("import");
    let again = mlx_manager::store::import(&db, &file)
        .await
        .expect_err("not into a store in use");
    assert!(again.to_string().contains("new, empty database"), "{again}");

    // The same host (node) on the server sees its profile; the account works
    // everywhere.
    let studio = server.manager("moved", "studio").await;
    let other = server.manager("moved", "other").await;
    let admin = other.token(ADMIN, PASSWORD).await;
    let listed = json(studio.get_as(&admin, "/api/profiles").await).await;
    assert_eq!(listed[0]["name"], "qwen", "{listed}");
    assert_eq!(
        json(other.get_as(&admin, "/api/profiles").await).await,
        json!([])
    );
}

#[tokio::test]
async fn failed_logins_on_two_managers_count_against_one_budget() {
    let Some(server) = SurrealServer::start().await else {
        return;
    };
    let (url, url2) = (server.url(), server.url());
    let throttled = |f: figment::Figment, url: &str, node: &str| {
        shared_store(f, url, "throttle")
            .merge(("node.name", node.to_owned()))
            .merge(("plugins.auth.throttle.enabled", true))
    };
    let a = TestApp::spawn_with(move |f| throttled(f, &url, "a")).await;
    let b = TestApp::spawn_with(move |f| throttled(f, &url2, "b")).await;
    register(&a, ADMIN).await;
    let admin = a.token(ADMIN, PASSWORD).await;
    // Five failures of one account from one address (the pair's limit),
    // spread over both managers.
    for app in [&a, &b, &a, &b, &a] {
        let wrong = app.login(ADMIN, "not the password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    for app in [&a, &b] {
        let locked = app.login(ADMIN, PASSWORD).await;
        assert_eq!(
            locked.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "even the right password waits"
        );
    }
    // The lock shows on either manager, and clearing it on B frees A.
    let locks = json(a.get_as(&admin, "/api/auth/throttle").await).await;
    assert!(
        locks
            .as_array()
            .expect("list")
            .iter()
            .any(|l| l["account"] == ADMIN && l["failures"] == 5),
        "{locks}"
    );
    let cleared = b
        .send_as(
            &admin,
            Method::DELETE,
            &format!("/api/auth/throttle?account={ADMIN}&address=127.0.0.1"),
            None,
        )
        .await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert_eq!(a.login(ADMIN, PASSWORD).await.status(), StatusCode::OK);
}
