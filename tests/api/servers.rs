//! Model servers: real child processes (the project's fake model server) started,
//! probed, stopped, restarted, streamed and cleaned up by the supervisor.

use std::time::Duration;

use mlx_manager::servers::process::is_alive;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, eventually, json, with_fake_servers};

async fn app() -> TestApp {
    TestApp::spawn_with(with_fake_servers).await
}

fn id(profile: &Value) -> String {
    profile["id"].as_str().expect("id").to_owned()
}

fn pid(v: &Value) -> u32 {
    v["pid"].as_u64().expect("pid") as u32
}

fn log_of(app: &TestApp, profile_id: &str) -> String {
    app.server_log(profile_id)
}

#[tokio::test]
async fn a_server_starts_becomes_healthy_and_stops() {
    let app = app().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "qwen", "org/model").await;
    let resp = app.server_action(&token, &id(&p), "start").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let started = json(resp).await;
    assert_eq!(started["port"], p["port"]);
    let server_pid = pid(&started);
    assert!(is_alive(server_pid));

    let list = json(app.get_as(&token, "/api/servers").await).await;
    let entry = &list.as_array().expect("array")[0];
    assert_eq!(
        (entry["profile_id"].clone(), entry["state"].clone()),
        (p["id"].clone(), json!("running"))
    );
    assert_eq!(entry["health"], "healthy");
    assert!(entry["memory_mb"].as_f64().expect("memory") > 0.0);

    let health = json(
        app.get_as(&token, &format!("/api/servers/{}/health", id(&p)))
            .await,
    )
    .await;
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["model_loaded"], true);
    let status = app.server_status(&token, &id(&p)).await;
    assert_eq!(
        (status["running"].clone(), status["pid"].clone()),
        (json!(true), json!(server_pid))
    );

    let resp = app.server_action(&token, &id(&p), "start").await;
    assert_error(
        resp,
        StatusCode::CONFLICT,
        "already_running",
        Some("Server already running"),
    )
    .await;

    let resp = app.server_action(&token, &id(&p), "stop").await;
    assert_eq!(json(resp).await, json!({"stopped": true}));
    assert!(!is_alive(server_pid));
    let status = app.server_status(&token, &id(&p)).await;
    assert_eq!(
        (status["running"].clone(), status["failed"].clone()),
        (json!(false), json!(false))
    );
    let health = json(
        app.get_as(&token, &format!("/api/servers/{}/health", id(&p)))
            .await,
    )
    .await;
    assert_eq!(health, json!({"status": "stopped"}));
    assert_eq!(
        json(app.get_as(&token, "/api/servers").await).await,
        json!([])
    );
    let resp = app.server_action(&token, &id(&p), "stop").await;
    assert_error(
        resp,
        StatusCode::NOT_FOUND,
        "server_not_running",
        Some("Server not running"),
    )
    .await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_that_fails_at_start_is_409_with_its_log_tail() {
    let app = app().await;
    let token = app.admin_token().await;
    let p = app
        .create_profile(&token, "broken", "org/fail-at-start")
        .await;
    let resp = app.server_action(&token, &id(&p), "start").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let err = json(resp).await;
    assert_eq!(err["code"], "start_failed");
    let detail = err["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("exited with code 1"), "{detail}");
    assert!(
        detail.contains("ERROR: cannot load model org/fail-at-start"),
        "the log tail: {detail}"
    );
    let status = app.server_status(&token, &id(&p)).await;
    assert_eq!(
        (
            status["running"].clone(),
            status["failed"].clone(),
            status["exit_code"].clone()
        ),
        (json!(false), json!(true), json!(1))
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_becomes_healthy_fails_and_is_stopped() {
    let app =
        TestApp::spawn_with(|f| with_fake_servers(f).merge(("servers.start_timeout", "1s"))).await;
    let token = app.admin_token().await;
    let p = app
        .create_profile(&token, "stuck", "org/never-healthy")
        .await;
    let resp = app.server_action(&token, &id(&p), "start").await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let detail = json(resp).await["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("not healthy within 1 s"), "{detail}");
    assert!(detail.contains("loading forever"), "{detail}");
    assert_eq!(app.server_status(&token, &id(&p)).await["running"], false);
    assert_eq!(
        json(app.get_as(&token, "/api/servers").await).await,
        json!([])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_missing_program_is_a_failed_start_not_a_500() {
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f).merge(("servers.program", "/nonexistent/mlx-openai-server"))
    })
    .await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "x", "org/model").await;
    let resp = app.server_action(&token, &id(&p), "start").await;
    assert_error(resp, StatusCode::CONFLICT, "start_failed", None).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_server_ignoring_sigterm_is_killed_after_the_grace_period() {
    let app =
        TestApp::spawn_with(|f| with_fake_servers(f).merge(("servers.stop_timeout", "1s"))).await;
    let token = app.admin_token().await;
    let p = app
        .create_profile(&token, "stubborn", "org/ignore-sigterm")
        .await;
    let started = json(app.server_action(&token, &id(&p), "start").await).await;
    let server_pid = pid(&started);
    let begun = std::time::Instant::now();
    let resp = app.server_action(&token, &id(&p), "stop").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        begun.elapsed() >= Duration::from_secs(1),
        "it waited for the grace period"
    );
    assert!(!is_alive(server_pid));
    assert!(
        log_of(&app, &id(&p)).contains("ignoring SIGTERM"),
        "SIGTERM was sent first"
    );
    assert_eq!(
        app.server_status(&token, &id(&p)).await["failed"],
        false,
        "a requested stop is no failure"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_forced_stop_kills_at_once() {
    let app =
        TestApp::spawn_with(|f| with_fake_servers(f).merge(("servers.stop_timeout", "30s"))).await;
    let token = app.admin_token().await;
    let p = app
        .create_profile(&token, "stubborn", "org/ignore-sigterm")
        .await;
    let server_pid = pid(&json(app.server_action(&token, &id(&p), "start").await).await);
    let resp = app
        .send_as(
            &token,
            Method::POST,
            &format!("/api/servers/{}/stop?force=true", id(&p)),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!is_alive(server_pid));
    // With SIGTERM first, the stop would wait its 30 s and the server would
    // log that it ignores it.
    assert!(!log_of(&app, &id(&p)).contains("ignoring SIGTERM"));
    app.shutdown().await;
}

#[tokio::test]
async fn a_restart_runs_a_new_process() {
    let app = app().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "r", "org/model").await;
    let first = pid(&json(app.server_action(&token, &id(&p), "start").await).await);
    let resp = app.server_action(&token, &id(&p), "restart").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let second = pid(&json(resp).await);
    assert_ne!(first, second);
    assert!(!is_alive(first));
    assert!(is_alive(second));
    assert!(
        std::fs::metadata(
            app.data_dir
                .path()
                .join(format!("data/logs/server-{}.log.1", id(&p)))
        )
        .is_ok(),
        "the previous log is kept"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_crash_after_start_is_detected_as_a_failure() {
    let app = app().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "c", "org/crash-later").await;
    assert_eq!(
        app.server_action(&token, &id(&p), "start").await.status(),
        StatusCode::OK
    );
    let status = crate::helpers::poll_until(Duration::from_secs(10), "the exit", || async {
        let status = app.server_status(&token, &id(&p)).await;
        (status["running"] == false).then_some(status)
    })
    .await;
    assert_eq!(
        (status["failed"].clone(), status["exit_code"].clone()),
        (json!(true), json!(3))
    );
    assert!(
        status["error_message"]
            .as_str()
            .unwrap_or_default()
            .contains("exited with code 3")
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_value_with_spaces_and_shell_metacharacters_reaches_the_server_as_one_argument() {
    let app = app().await;
    let token = app.admin_token().await;
    let nasty = "org/model dir; echo pwned > /tmp/x && $(id) `id` | cat 'q' \"dq\" *";
    let p = app.create_profile(&token, "nasty", nasty).await;
    assert_eq!(
        app.server_action(&token, &id(&p), "start").await.status(),
        StatusCode::OK
    );
    let log = log_of(&app, &id(&p));
    let argv_line = log
        .lines()
        .find_map(|l| l.strip_prefix("ARGV "))
        .expect("the server printed its argv");
    let argv: Vec<String> = serde_json::from_str(argv_line).expect("json argv");
    let i = argv.iter().position(|a| a == "--model-path").expect("flag");
    assert_eq!(argv[i + 1], nasty);
    assert_eq!(argv.len(), 8, "{argv:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_log_stream_delivers_every_line_to_two_viewers_and_ends_when_the_server_stops() {
    let app = app().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "talky", "org/model").await;
    app.server_action(&token, &id(&p), "start").await;
    let path = format!("/api/servers/{}/logs?lines=50", id(&p));
    let mut a = app.events(Some(&token), &path).await;
    // The second viewer uses a single-use stream ticket instead of a header.
    let ticket = app
        .ticket(&token, &format!("/api/servers/{}/logs", id(&p)))
        .await;
    let ticket_path = format!("{path}&ticket={ticket}");
    let mut b = app.events(None, &ticket_path).await;
    let resp = app
        .client
        .get(app.url(&ticket_path))
        .send()
        .await
        .expect("request");
    assert_error(
        resp,
        StatusCode::UNAUTHORIZED,
        "invalid_ticket",
        Some("Invalid or expired stream ticket"),
    )
    .await;

    let within = Duration::from_secs(10);
    for viewer in [&mut a, &mut b] {
        let past = viewer
            .until(within, |e| {
                e["line"].as_str().is_some_and(|l| l.starts_with("ARGV"))
            })
            .await;
        assert_eq!(past["event"], "log");
    }
    let port = p["port"].as_u64().expect("port");
    for msg in ["first-new-line", "second-new-line"] {
        let resp = app
            .client
            .get(format!("http://127.0.0.1:{port}/echo?msg={msg}"))
            .send()
            .await
            .expect("echo");
        assert_eq!(resp.status(), StatusCode::OK);
    }
    for viewer in [&mut a, &mut b] {
        viewer
            .until(within, |e| e["line"] == "first-new-line")
            .await;
        let next = viewer.until(within, |e| e["event"] == "log").await;
        assert_eq!(
            next["line"], "second-new-line",
            "lines arrive in order, none skipped"
        );
    }
    app.server_action(&token, &id(&p), "stop").await;
    for viewer in [&mut a, &mut b] {
        let end = viewer.until(within, |e| e["event"] == "stopped").await;
        assert_eq!(end["failed"], false);
        assert_eq!(viewer.next(within).await, None, "the stream ends");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn the_log_of_a_stopped_server_ends_at_once() {
    let app = app().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "quiet", "org/model").await;
    let mut s = app
        .events(Some(&token), &format!("/api/servers/{}/logs", id(&p)))
        .await;
    assert_eq!(
        s.next(Duration::from_secs(5)).await,
        Some(json!({"event": "stopped"}))
    );
    let resp = app
        .get_as(&token, &format!("/api/servers/{}/logs?lines=20000", id(&p)))
        .await;
    // The document bounds `lines`; out of range is a bad parameter, named.
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = json(resp).await;
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("lines")),
        "{body}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_user_without_servers_control_gets_403() {
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f).merge(("permissions.servers.control", "admin"))
    })
    .await;
    let admin = app.admin_token().await;
    let (_, user) = app.approved_user(&admin, "bob@example.com").await;
    let p = app.create_profile(&user, "bobs", "org/model").await;
    for action in ["start", "stop", "restart"] {
        let resp = app.server_action(&user, &id(&p), action).await;
        assert_error(
            resp,
            StatusCode::FORBIDDEN,
            "forbidden",
            Some("Admin access required"),
        )
        .await;
    }
    assert_eq!(
        app.get_as(&user, "/api/servers").await.status(),
        StatusCode::OK,
        "servers.read is still allowed"
    );
    assert_eq!(
        app.server_action(&admin, &id(&p), "start").await.status(),
        StatusCode::OK
    );
    app.shutdown().await;
}

#[tokio::test]
async fn deleting_a_profile_stops_its_server() {
    let app = app().await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "doomed", "org/model").await;
    let server_pid = pid(&json(app.server_action(&token, &id(&p), "start").await).await);
    let resp = app
        .send_as(
            &token,
            Method::DELETE,
            &format!("/api/profiles/{}", id(&p)),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(!is_alive(server_pid));
    assert_eq!(
        json(app.get_as(&token, "/api/servers").await).await,
        json!([])
    );
    app.shutdown().await;
}

#[tokio::test]
async fn no_child_survives_the_apps_shutdown() {
    let app = app().await;
    let token = app.admin_token().await;
    let mut pids = Vec::new();
    for (name, model) in [("a", "org/spawn-child"), ("b", "org/ignore-sigterm")] {
        let p = app.create_profile(&token, name, model).await;
        pids.push(pid(&json(
            app.server_action(&token, &id(&p), "start").await,
        )
        .await));
        if model.contains("spawn-child") {
            let log = log_of(&app, &id(&p));
            let child = log
                .lines()
                .find_map(|l| l.strip_prefix("CHILD "))
                .expect("grandchild pid");
            pids.push(child.trim().parse().expect("pid"));
        }
    }
    assert!(pids.iter().all(|p| is_alive(*p)));
    app.shutdown().await;
    eventually(
        Duration::from_secs(5),
        "every server process is gone",
        || pids.iter().all(|p| !is_alive(*p)),
    )
    .await;
}

#[tokio::test]
async fn at_start_up_a_recorded_server_that_still_runs_is_adopted_and_a_gone_one_forgotten() {
    use std::os::unix::process::CommandExt;

    use mlx_manager::{
        config::ModelServerSettings,
        servers::{
            Supervisor,
            command::Template,
            instances::{self, Instance},
        },
    };

    let db = surrealdb::engine::any::connect("mem://")
        .await
        .expect("mem");
    db.use_ns("t").use_db("t").await.expect("ns");
    mlx_manager::store::migrate(&db, "local", &[("core", mlx_manager::migrations::CORE)])
        .await
        .expect("migrate");

    // A server left running by an earlier manager...
    let port = crate::helpers::free_port();
    let mut live = std::process::Command::new(crate::helpers::FAKE_SERVER)
        .args([
            "--model-path",
            "org/model",
            "--port",
            &port.to_string(),
            "--host",
            "127.0.0.1",
        ])
        .stdout(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("spawn");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/models");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.get(&url).send().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the fake server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // ...and one whose process is gone.
    let mut gone = std::process::Command::new("true").spawn().expect("spawn");
    let gone_pid = gone.id();
    gone.wait().expect("wait");
    let instance = |pid: u32, name: &str, port: u16| Instance {
        pid: i64::from(pid),
        port: i64::from(port),
        host: "127.0.0.1".into(),
        profile_name: name.into(),
        model_path: "org/model".into(),
        process_start: None,
        started_at: chrono::Utc::now(),
    };
    instances::record(&db, "local", "live", instance(live.id(), "live", port))
        .await
        .expect("record");
    // Another manager's running server, recorded in the same (shared) store:
    // not this manager's to adopt, stop or forget.
    instances::record(
        &db,
        "elsewhere",
        "theirs",
        instance(live.id(), "theirs", port),
    )
    .await
    .expect("record");
    instances::record(
        &db,
        "local",
        "gone",
        instance(gone_pid, "gone", crate::helpers::free_port()),
    )
    .await
    .expect("record");

    let settings = ModelServerSettings {
        stop_timeout: Duration::from_secs(5),
        ..ModelServerSettings::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let template = Template::new(&settings).expect("template");
    let supervisor = Supervisor::new(
        template,
        settings,
        dir.path().to_path_buf(),
        db.clone(),
        "local",
        mlx_manager::sdk::EventBus::new(),
    )
    .expect("supervisor");
    supervisor.reconcile().await.expect("reconcile");

    let listed: Vec<(String, u32)> = supervisor
        .list()
        .into_iter()
        .map(|s| (s.profile_id, s.pid))
        .collect();
    assert_eq!(listed, vec![("live".to_owned(), live.id())]);
    let recorded: Vec<String> = instances::all(&db, "local")
        .await
        .expect("all")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        recorded,
        vec!["live".to_owned()],
        "the gone one is forgotten"
    );

    // The adopted server can be stopped like any other.
    supervisor.stop("live", false).await.expect("stop");
    let status = live.wait().expect("wait");
    assert!(!status.success(), "it was ended by a signal: {status:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !instances::all(&db, "local").await.expect("all").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the record of the stopped server stays"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let theirs = instances::all(&db, "elsewhere").await.expect("all");
    assert_eq!(
        theirs.len(),
        1,
        "the other manager's record is neither adopted nor forgotten"
    );
}

#[tokio::test]
async fn short_connection_timeouts_cut_silent_connections_but_never_a_long_start_or_a_quiet_stream()
{
    use tokio::io::AsyncReadExt;
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f)
            .merge(("server.header_read_timeout", "300ms"))
            .merge(("server.idle_timeout", "300ms"))
    })
    .await;
    let token = app.admin_token().await;
    // The fake server needs 1.5 s before it answers: five times the timeouts.
    let p = app.create_profile(&token, "slow", "org/slow-start").await;
    let started = std::time::Instant::now();
    let resp = app.server_action(&token, &id(&p), "start").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(1500));

    let mut logs = app
        .events(Some(&token), &format!("/api/servers/{}/logs", id(&p)))
        .await;
    logs.until(Duration::from_secs(10), |e| {
        e["line"].as_str().is_some_and(|l| l.starts_with("ARGV"))
    })
    .await;
    // Silence on the stream, longer than the idle timeout.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let port = p["port"].as_u64().expect("port");
    let resp = app
        .client
        .get(format!(
            "http://127.0.0.1:{port}/echo?msg=after-the-silence"
        ))
        .send()
        .await
        .expect("echo");
    assert_eq!(resp.status(), StatusCode::OK);
    logs.until(Duration::from_secs(10), |e| {
        e["line"] == "after-the-silence"
    })
    .await;

    // A connection that sends nothing is closed.
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a silent connection is closed: {read:?}"
    );
    app.server_action(&token, &id(&p), "stop").await;
    app.shutdown().await;
}
