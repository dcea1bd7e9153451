//! Models: search, downloads into the hub cache (layout, resume, verification,
//! cancel, restart, duplicates, progress stream), the local library, and access
//! control. Every test talks to a fake Hub on loopback, never to the real one.

mod bench;
mod downloads;
mod library;
mod search;

use std::path::Path;

use crate::{
    fake_hub::{FakeFile, FakeHub, FakeModel},
    helpers::TestApp,
};

pub const MODEL: &str = "mlx-community/Tiny-0.5B-4bit";
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
pub const WEIGHTS: &str = "model.safetensors";
pub const WEIGHTS_LEN: usize = 300_000;

/// A small model: a config, a tokenizer in a sub-directory, and LFS weights.
pub fn tiny_model() -> FakeModel {
    FakeModel {
        id: MODEL.into(),
        commit: COMMIT.into(),
        files: vec![
            FakeFile::text(
                "config.json",
                r#"{"model_type":"qwen2","architectures":["Qwen2ForCausalLM"],"max_position_embeddings":32768,"num_hidden_layers":24,"hidden_size":896,"vocab_size":151936,"num_attention_heads":14,"num_key_value_heads":2,"quantization":{"bits":4,"group_size":64}}"#,
            ),
            FakeFile::text("tokenizer/tokenizer.json", r#"{"version":"1.0"}"#),
            FakeFile::lfs(WEIGHTS, WEIGHTS_LEN, 7),
        ],
        used_storage: Some(WEIGHTS_LEN as u64 + 300),
    }
}

/// The app pointed at `hub`, with quick retries.
pub async fn app_with(hub: &FakeHub) -> TestApp {
    let url = hub.url.clone();
    TestApp::spawn_with(move |f| {
        f.merge(("hub.endpoint", url))
            .merge(("hub.retries", 2))
            .merge(("hub.retry_backoff", "10ms"))
    })
    .await
}

pub async fn hub_with_tiny_model() -> FakeHub {
    let hub = FakeHub::start().await;
    hub.add_model(tiny_model());
    hub
}

pub fn repo_dir(app: &TestApp) -> std::path::PathBuf {
    app.hub_cache()
        .join("models--mlx-community--Tiny-0.5B-4bit")
}

/// The layout rules `huggingface_hub` relies on, checked for `model`.
pub fn assert_cache_layout(repo: &Path, model: &FakeModel) {
    let refs = std::fs::read_to_string(repo.join("refs/main")).expect("refs/main");
    assert_eq!(refs.trim(), model.commit, "refs/main holds the commit");
    let snapshot = repo.join("snapshots").join(&model.commit);
    for file in &model.files {
        let link = snapshot.join(&file.path);
        let meta = std::fs::symlink_metadata(&link).expect("snapshot entry");
        assert!(meta.file_type().is_symlink(), "{} is a symlink", file.path);
        let target = std::fs::read_link(&link).expect("link");
        assert!(
            target.is_relative(),
            "{} links relatively: {target:?}",
            file.path
        );
        let depth = file.path.matches('/').count();
        let expected = Path::new(&"../".repeat(depth + 2))
            .join("blobs")
            .join(file.blob_name());
        assert_eq!(target, expected, "{} links to its blob", file.path);
        let blob = repo.join("blobs").join(file.blob_name());
        let bytes = std::fs::read(&blob).expect("blob");
        assert_eq!(bytes.len() as u64, file.content.len());
        assert_eq!(std::fs::read(&link).expect("through link"), bytes);
    }
    let leftovers: Vec<_> = std::fs::read_dir(repo.join("blobs"))
        .expect("blobs")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".incomplete"))
        .collect();
    assert!(leftovers.is_empty(), "no partial files remain");
}

pub fn assert_no_snapshot(repo: &Path) {
    assert!(!repo.join("refs/main").exists(), "no refs/main");
    let snapshots = std::fs::read_dir(repo.join("snapshots"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(snapshots, 0, "no snapshot is visible");
}
