//! The command the manager builds, checked against real mlx-openai-server
//! releases: each release's own Click parser (from its PyPI wheel, installed by
//! `tests/real-servers/install.sh`) parses the argument list the manager would
//! run, for a profile of every model type with every setting set. The probe that
//! learns the version runs the release's real `--version`.
//!
//! Needs `TEST_MLX_OPENAI_SERVER_RELEASES` (the directory install.sh
//! prints); without it the test says so and passes. `.ci/run` always sets it.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use futures_util::future::join_all;
use mlx_manager::{
    config::ModelServerSettings,
    profiles::{ModelType, NewProfile, Profile, ProfileValues},
    servers::{
        command::{ServerCommand, Template},
        program::{ProgramProbe, ServerProgram, Version},
    },
};
use serde_json::Value;

const ROOT_VAR: &str = "TEST_MLX_OPENAI_SERVER_RELEASES";

/// The releases installed under the directory named by `ROOT_VAR`.
fn releases() -> Option<Vec<(Version, PathBuf)>> {
    let Ok(root) = std::env::var(ROOT_VAR) else {
        eprintln!(
            "skipped: {ROOT_VAR} is not set; run tests/real-servers/install.sh and set it to \
             the directory it prints (.ci/run does)"
        );
        return None;
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&root).expect("the releases directory") {
        let dir = entry.expect("entry").path();
        let launcher = dir.join("bin/mlx-openai-server");
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let parts: Vec<u32> = name.split('.').filter_map(|p| p.parse().ok()).collect();
        if let ([a, b, c], true) = (parts.as_slice(), launcher.is_file()) {
            found.push((Version(*a, *b, *c), launcher));
        }
    }
    found.sort();
    let versions: Vec<Version> = found.iter().map(|(v, _)| *v).collect();
    assert!(
        versions.contains(&Version(1, 8, 1)) && versions.iter().any(|v| (v.0, v.1) == (1, 6)),
        "{root} must hold 1.8.1 and a 1.6.x release: {versions:?}"
    );
    Some(found)
}

/// A profile of `model_type` with every setting the default template passes.
fn full_profile(model_type: ModelType) -> Profile {
    let new = NewProfile {
        name: "lab qwen".into(),
        model_path: "/models/Qwen3-8B-4bit".into(),
        model_type: Some(model_type),
        port: Some(10240),
        context_length: Some(8192),
        max_concurrency: Some(4),
        decode_concurrency: Some(16),
        prompt_concurrency: Some(4),
        queue_timeout: Some(120),
        queue_size: Some(7),
        tool_call_parser: Some("qwen3".into()),
        reasoning_parser: Some("qwen3".into()),
        message_converter: Some("qwen3_coder".into()),
        enable_auto_tool_choice: Some(true),
        trust_remote_code: Some(true),
        chat_template_file: Some("/models/chat.jinja".into()),
        log_level: Some(mlx_manager::profiles::LogLevel::Debug),
        log_file: Some("/tmp/mlx-server.log".into()),
        no_log_file: Some(true),
        ..NewProfile::default()
    };
    Profile {
        id: "p1".into(),
        values: ProfileValues::from_new(new).expect("valid profile"),
        service_installed: false,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    }
}

struct Run {
    code: Option<i32>,
    stderr: String,
    launched: Option<Value>,
}

async fn run(cmd: &ServerCommand) -> Run {
    let out = tokio::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .envs(&cmd.env)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("the release's parser answers within 2 minutes")
        .expect("the launcher runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let launched = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v.get("launched").cloned());
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        launched,
    }
}

/// The first value under `key` anywhere in `v`.
fn find<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|x| find(x, key))),
        Value::Array(items) => items.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

async fn check_release(version: Version, launcher: PathBuf) -> Vec<String> {
    let mut failures = Vec::new();
    let launcher = launcher.to_string_lossy().into_owned();
    let program = ProgramProbe::new()
        .detect(&launcher, &BTreeMap::new(), Duration::from_secs(120))
        .await;
    if program != ServerProgram::MlxOpenAiServer(version) {
        return vec![format!("{version}: --version read as {program:?}")];
    }
    let settings = ModelServerSettings {
        program: launcher,
        ..ModelServerSettings::default()
    };
    let template = Template::new(&settings).expect("the default template");
    for model_type in ModelType::ALL {
        let profile = full_profile(model_type);
        let cmd = template.render(&profile, &program);
        let what = format!("{version} {}: {:?}", model_type.as_str(), cmd.args);
        let result = run(&cmd).await;
        let Some(launched) = result.launched.filter(|_| result.code == Some(0)) else {
            failures.push(format!(
                "{what} refused (exit {:?}): {}",
                result.code, result.stderr
            ));
            continue;
        };
        let mut expect = |key: &str, want: Value| {
            let got = find(&launched, key);
            if got != Some(&want) {
                failures.push(format!("{what}: {key} is {got:?}, not {want}"));
            }
        };
        expect("model_type", model_type.as_str().into());
        expect("model_path", "/models/Qwen3-8B-4bit".into());
        expect("port", 10240.into());
        expect("queue_size", 7.into());
        expect("tool_call_parser", "qwen3".into());
        expect("trust_remote_code", true.into());
        expect("log_level", "DEBUG".into());
        if version >= Version(1, 7, 0) {
            expect("served_model_name", "lab qwen".into());
        } else {
            expect("max_concurrency", 4.into());
            expect("message_converter", "qwen3_coder".into());
        }
        if version >= Version(1, 8, 0) {
            expect("batch_completion_size", 16.into());
            expect("batch_prefill_size", 4.into());
        }
        // What the release cannot take is said, not silently dropped.
        let warnings = template.warnings(&profile, &program).join("\n");
        let unsaid = |field: &str| !warnings.contains(&format!("{field} is set but not passed"));
        let dropped_ok = if version >= Version(1, 7, 0) {
            !unsaid("max_concurrency") && !unsaid("message_converter")
        } else {
            !unsaid("decode_concurrency") && warnings.contains("no --served-model-name")
        };
        if !dropped_ok {
            failures.push(format!(
                "{what}: warnings miss a dropped setting: {warnings}"
            ));
        }
    }
    // Every option the manager leaves out for this release is one it refuses:
    // the same profile rendered as for an unknown program fails to parse.
    let ungated = template.render(
        &full_profile(ModelType::Lm),
        &ServerProgram::Other { version: None },
    );
    let result = run(&ungated).await;
    if result.code != Some(2) || !result.stderr.contains("No such option") {
        failures.push(format!(
            "{version}: the full template was not refused for an option (exit {:?}): {}",
            result.code, result.stderr
        ));
    }
    failures
}

#[tokio::test]
async fn every_model_type_starts_with_a_command_each_real_release_accepts() {
    let Some(releases) = releases() else {
        return;
    };
    let checks = releases.into_iter().map(|(v, l)| check_release(v, l));
    let failures: Vec<String> = join_all(checks).await.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
