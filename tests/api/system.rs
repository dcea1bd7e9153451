//! System: memory and host information, and profiles as login services (through
//! a recording `systemctl` program under a temporary service directory).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{FAKE_SERVER, TestApp, assert_error, json, with_fake_servers};

#[tokio::test]
async fn memory_figures_are_consistent() {
    let app = TestApp::spawn_with(|f| f.merge(("system.max_memory_percent", 50))).await;
    let token = app.admin_token().await;
    let m = json(app.get_as(&token, "/api/system/memory").await).await;
    let f = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} in {m}"));
    assert!(f("total_gb") > 0.0);
    assert!(
        (f("used_gb") + f("available_gb") - f("total_gb")).abs() <= 0.02,
        "{m}"
    );
    assert!((0.0..=100.0).contains(&f("percent_used")));
    assert!(
        (f("mlx_recommended_gb") - f("total_gb") / 2.0).abs() <= 0.01,
        "{m}"
    );
}

#[tokio::test]
async fn host_information_names_the_versions() {
    let app = TestApp::spawn_with(with_fake_servers).await;
    let token = app.admin_token().await;
    let info = json(app.get_as(&token, "/api/system/info").await).await;
    assert_eq!(info["manager_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        info["server_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("fake-model-server")),
        "{info}"
    );
    assert!(!info["chip"].as_str().unwrap_or_default().is_empty());
    assert!(info["memory_gb"].as_f64().unwrap_or_default() > 0.0);
    // A program that is not installed is simply absent.
    let app = TestApp::spawn_with(|f| f.merge(("servers.program", "/nonexistent/server"))).await;
    let token = app.admin_token().await;
    let info = json(app.get_as(&token, "/api/system/info").await).await;
    assert!(info.get("server_version").is_none(), "{info}");
}

/// A `systemctl` stand-in that records its arguments.
fn recording_systemctl(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let log = dir.join("systemctl.log");
    let script = dir.join("systemctl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in *is-active*) echo active;; *MainPID*) echo 4321;; esac\n",
            log.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, log)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_profile_is_installed_as_a_systemd_user_unit_and_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (systemctl, calls) = recording_systemctl(tmp.path());
    let units = tmp.path().join("units");
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f)
            .merge(("system.systemctl", systemctl.clone()))
            .merge(("system.service_dir", units.clone()))
    })
    .await;
    let token = app.admin_token().await;
    let body =
        json!({"name": "Qwen Fast", "model_path": "org/model", "port": 12000, "auto_start": true});
    let p = json(
        app.send_as(&token, Method::POST, "/api/profiles", Some(body))
            .await,
    )
    .await;
    let id = p["id"].as_str().expect("id");
    let path = format!("/api/system/service/{id}");

    let resp = app.send_as(&token, Method::POST, &path, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let installed = json(resp).await;
    let unit_path = units.join("com.mlx-manager.qwen-fast.service");
    assert_eq!(
        installed,
        json!({"path": unit_path.display().to_string(), "label": "com.mlx-manager.qwen-fast"})
    );
    let unit = std::fs::read_to_string(&unit_path).expect("the unit file");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let argv = mlx_manager::system::service::systemd::split(exec);
    assert_eq!(
        argv[0],
        std::fs::canonicalize(FAKE_SERVER)
            .expect("path")
            .display()
            .to_string()
    );
    assert_eq!(
        argv[1..],
        [
            "--model-path",
            "org/model",
            "--port",
            "12000",
            "--host",
            "127.0.0.1",
            "--model-type",
            "lm"
        ]
    );
    let profile = json(app.get_as(&token, &format!("/api/profiles/{id}")).await).await;
    assert_eq!(profile["service_installed"], true);

    let status = json(app.get_as(&token, &path).await).await;
    assert_eq!(
        status,
        json!({"installed": true, "running": true, "pid": 4321, "label": "com.mlx-manager.qwen-fast"})
    );

    let resp = app
        .send_as(
            &token,
            Method::PUT,
            &format!("/api/profiles/{id}"),
            Some(json!({"name": "renamed"})),
        )
        .await;
    assert_error(resp, StatusCode::CONFLICT, "service_installed", None).await;

    assert_eq!(
        app.send_as(&token, Method::DELETE, &path, None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert!(!unit_path.exists());
    assert_eq!(
        json(app.get_as(&token, &format!("/api/profiles/{id}")).await).await["service_installed"],
        false
    );
    let resp = app.send_as(&token, Method::DELETE, &path, None).await;
    assert_error(resp, StatusCode::NOT_FOUND, "service_not_installed", None).await;

    let recorded = std::fs::read_to_string(&calls).expect("calls");
    let lines: Vec<&str> = recorded.lines().collect();
    assert_eq!(
        lines,
        [
            "--user daemon-reload",
            "--user enable --now com.mlx-manager.qwen-fast.service",
            "--user is-active com.mlx-manager.qwen-fast.service",
            "--user show -p MainPID --value com.mlx-manager.qwen-fast.service",
            "--user disable --now com.mlx-manager.qwen-fast.service",
            "--user daemon-reload",
        ]
    );
    app.shutdown().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_missing_systemctl_is_503_with_a_sentence_and_leaves_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let units = tmp.path().join("units");
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f)
            .merge(("system.systemctl", "/nonexistent/systemctl"))
            .merge(("system.service_dir", units.clone()))
    })
    .await;
    let token = app.admin_token().await;
    let p = app.create_profile(&token, "x", "org/model").await;
    let path = format!("/api/system/service/{}", p["id"].as_str().expect("id"));
    let resp = app.send_as(&token, Method::POST, &path, None).await;
    assert_error(
        resp,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_manager_unavailable",
        None,
    )
    .await;
    assert!(!units.join("com.mlx-manager.x.service").exists());
    let status = json(app.get_as(&token, &path).await).await;
    assert_eq!(status["installed"], false);
}

#[tokio::test]
async fn login_services_need_their_actions() {
    let app = TestApp::spawn_with(|f| f.merge(("permissions.system.service", "admin"))).await;
    let admin = app.admin_token().await;
    let (_, user) = app.approved_user(&admin, "bob@example.com").await;
    let p = app.create_profile(&user, "x", "org/model").await;
    let path = format!("/api/system/service/{}", p["id"].as_str().expect("id"));
    for method in [Method::POST, Method::DELETE] {
        let resp = app.send_as(&user, method, &path, None).await;
        assert_error(
            resp,
            StatusCode::FORBIDDEN,
            "forbidden",
            Some("Admin access required"),
        )
        .await;
    }
    for method in [Method::POST, Method::DELETE, Method::GET] {
        let resp = app
            .client
            .request(method, app.url(&path))
            .send()
            .await
            .expect("request");
        assert_error(resp, StatusCode::UNAUTHORIZED, "not_authenticated", None).await;
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_profile_never_takes_over_another_service_or_the_managers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (systemctl, _) = recording_systemctl(tmp.path());
    let units = tmp.path().join("units");
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f)
            .merge(("system.systemctl", systemctl.clone()))
            .merge(("system.service_dir", units.clone()))
    })
    .await;
    let token = app.admin_token().await;
    let install = |id: String| {
        let (app, token) = (&app, token.clone());
        async move {
            app.send_as(
                &token,
                Method::POST,
                &format!("/api/system/service/{id}"),
                None,
            )
            .await
        }
    };
    let id = |p: &serde_json::Value| p["id"].as_str().expect("id").to_owned();

    let manager = app.create_profile(&token, "Manager", "org/model").await;
    assert_error(
        install(id(&manager)).await,
        StatusCode::CONFLICT,
        "service_label_taken",
        None,
    )
    .await;

    let first = app.create_profile(&token, "My Model", "org/model").await;
    let twin = app.create_profile(&token, "my_model", "org/model").await;
    assert_eq!(install(id(&first)).await.status(), StatusCode::OK);
    assert_error(
        install(id(&twin)).await,
        StatusCode::CONFLICT,
        "service_label_taken",
        None,
    )
    .await;
    let resp = app
        .send_as(
            &token,
            Method::DELETE,
            &format!("/api/system/service/{}", id(&twin)),
            None,
        )
        .await;
    assert_error(resp, StatusCode::NOT_FOUND, "service_not_installed", None).await;
    assert!(
        units.join("com.mlx-manager.my-model.service").exists(),
        "the first profile's service stays"
    );
    app.shutdown().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_refusing_service_manager_is_a_sentence_and_its_output_stays_in_the_log() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let systemctl = tmp.path().join("systemctl");
    std::fs::write(
        &systemctl,
        "#!/bin/sh\necho 'Failed to connect to bus: /run/user/1000/secret-socket' >&2\nexit 1\n",
    )
    .expect("script");
    std::fs::set_permissions(&systemctl, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let units = tmp.path().join("units");
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f)
            .merge(("system.systemctl", systemctl.clone()))
            .merge(("system.service_dir", units.clone()))
    })
    .await;
    let token = app.admin_token().await;
    let (_, user) = app.approved_user(&token, "u@example.com").await;
    let p = app.create_profile(&user, "svc", "org/model").await;
    let id = p["id"].as_str().expect("id");
    let resp = app
        .send_as(
            &user,
            Method::POST,
            &format!("/api/system/service/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = json(resp).await;
    assert_eq!(body["code"], "service_manager_failed");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        !detail.contains("secret-socket") && !detail.contains("systemctl --user"),
        "{detail}"
    );
    app.shutdown().await;
}

/// `systemd-analyze verify` on `unit`, or `None` (with the reason printed) when
/// the verifier is not installed. `.ci/run` installs it, so CI never skips.
fn systemd_verify(unit: &std::path::Path) -> Option<std::process::Output> {
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is missing in CI (.ci/run installs it)"
        );
        eprintln!("skipped: systemd-analyze is not installed (Debian package `systemd`)");
        return None;
    };
    Some(out)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn systemd_accepts_the_unit_of_a_hostile_profile() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (systemctl, _) = recording_systemctl(tmp.path());
    let units = tmp.path().join("units");
    let work = tmp.path().join("work dir 100%");
    std::fs::create_dir_all(&work).expect("working dir");
    let app = TestApp::spawn_with(|f| {
        with_fake_servers(f)
            .merge(("system.systemctl", systemctl.clone()))
            .merge(("system.service_dir", units.clone()))
            .merge(("servers.working_dir", work.clone()))
            .merge(("servers.env.PRICE", "costs $5 or 100%"))
    })
    .await;
    let token = app.admin_token().await;
    let name = "Lab $HOME 50% \\";
    let body = json!({"name": name, "model_path": "org/model $x", "port": 12001});
    let p = json(
        app.send_as(&token, Method::POST, "/api/profiles", Some(body))
            .await,
    )
    .await;
    let id = p["id"].as_str().expect("id");
    let resp = app
        .send_as(
            &token,
            Method::POST,
            &format!("/api/system/service/{id}"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let path = json(resp).await["path"].as_str().expect("path").to_owned();
    let unit = std::fs::read_to_string(&path).expect("unit");
    // Nothing swallows the next line, and the environment keeps its `$`.
    assert!(!unit.lines().any(|l| l.ends_with('\\')), "{unit}");
    assert!(
        unit.contains("Environment=\"PRICE=costs $5 or 100%%\""),
        "{unit}"
    );
    assert!(
        unit.contains(&format!(
            "WorkingDirectory={}\n",
            work.display().to_string().replace('%', "%%")
        )),
        "{unit}"
    );
    if let Some(out) = systemd_verify(std::path::Path::new(&path)) {
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "systemd-analyze refused the unit:\n{said}\n{unit}"
        );
        assert!(
            !said.contains(&path),
            "systemd-analyze complained:\n{said}\n{unit}"
        );
    }
    app.shutdown().await;
}

#[test]
fn a_launchd_plist_parses_with_a_real_plist_parser() {
    use mlx_manager::system::service::{ServiceSpec, launchd};
    let spec = ServiceSpec {
        label: "com.mlx-manager.lab".into(),
        description: "Lab <&> \"quoted\"".into(),
        argv: vec![
            "/opt/bin/mlx-openai-server".into(),
            "launch".into(),
            "--model-path".into(),
            "/models/a b & <c>".into(),
        ],
        env: [("PRICE".to_owned(), "$5 & <more>".to_owned())].into(),
        working_dir: "/tmp/work dir".into(),
        log_path: "/tmp/log & file.log".into(),
        run_at_load: true,
    };
    let xml = launchd::Agent::new(&spec).to_xml().expect("plist");
    let value = plist::Value::from_reader_xml(xml.as_slice()).expect("a valid plist");
    let dict = value.as_dictionary().expect("a dictionary");
    let args: Vec<&str> = dict["ProgramArguments"]
        .as_array()
        .expect("arguments")
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(args, spec.argv);
    assert_eq!(dict["Label"].as_string(), Some("com.mlx-manager.lab"));
    assert_eq!(dict["RunAtLoad"].as_boolean(), Some(true));
    let env = dict["EnvironmentVariables"].as_dictionary().expect("env");
    assert_eq!(env["PRICE"].as_string(), Some("$5 & <more>"));
    assert_eq!(dict["WorkingDirectory"].as_string(), Some("/tmp/work dir"));
}
