//! The local library: the models whose complete snapshot is in the hub cache,
//! their size and characteristics, and deleting one (refused while a running
//! model server uses it).

use std::path::{Path, PathBuf};

use super::{ModelsError, cache::HubCache, characteristics::Characteristics, id::ModelId};

/// A model in the local cache.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalModel {
    /// `org/name`.
    pub model_id: String,
    /// The snapshot directory (what a model server is pointed at).
    pub local_path: PathBuf,
    /// Bytes of the files of that snapshot.
    pub size_bytes: u64,
    /// From the snapshot's `config.json`, when readable.
    pub characteristics: Option<Characteristics>,
}

/// Tells which models running model servers use. The server supervisor
/// implements it; the library asks before deleting a model.
#[async_trait::async_trait]
pub trait ModelUsage: Send + Sync + 'static {
    /// The `model_path` of every running server (a Hub id or a local path).
    async fn running_model_paths(&self) -> Vec<String>;
}

/// Every model with a complete snapshot, by id.
pub async fn list(cache: &HubCache) -> Result<Vec<LocalModel>, ModelsError> {
    let mut entries = match tokio::fs::read_dir(cache.root()).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut models = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(ModelId::from_cache_dir) else {
            continue;
        };
        if let Some(model) = local(cache, &id).await? {
            models.push(model);
        }
    }
    models.sort_by(|a, b| a.model_id.cmp(&b.model_id));
    Ok(models)
}

/// One local model, `None` when the cache has no complete snapshot of it.
pub async fn local(cache: &HubCache, id: &ModelId) -> Result<Option<LocalModel>, ModelsError> {
    let Some(snapshot) = cache.current_snapshot(id).await else {
        return Ok(None);
    };
    let dir = snapshot.clone();
    let size_bytes = tokio::task::spawn_blocking(move || tree_size(&dir))
        .await
        .map_err(|e| ModelsError::Internal(e.to_string()))?;
    let characteristics = read_characteristics(&snapshot).await;
    Ok(Some(LocalModel {
        model_id: id.to_string(),
        local_path: snapshot,
        size_bytes,
        characteristics,
    }))
}

/// The characteristics of a local model.
pub async fn characteristics(
    cache: &HubCache,
    id: &ModelId,
) -> Result<Characteristics, ModelsError> {
    let snapshot = cache
        .current_snapshot(id)
        .await
        .ok_or(ModelsError::ModelNotFound)?;
    read_characteristics(&snapshot)
        .await
        .ok_or(ModelsError::ConfigNotFound)
}

/// Delete a local model's whole cache directory, unless a running server uses it.
pub async fn delete(
    cache: &HubCache,
    id: &ModelId,
    usage: &dyn ModelUsage,
) -> Result<(), ModelsError> {
    let repo = cache.repo_dir(id);
    if !tokio::fs::metadata(&repo).await.is_ok_and(|m| m.is_dir()) {
        return Err(ModelsError::ModelNotFound);
    }
    let users = usage.running_model_paths().await;
    if users.iter().any(|p| uses(p, id, &repo)) {
        return Err(ModelsError::ModelInUse);
    }
    tokio::fs::remove_dir_all(&repo).await?;
    Ok(())
}

/// Whether a server started with `model_path` uses the model `id` stored in `repo`:
/// the path is the id (any case), or a path inside the repository directory.
pub fn uses(model_path: &str, id: &ModelId, repo: &Path) -> bool {
    let model_path = model_path.trim();
    if model_path.eq_ignore_ascii_case(id.as_str()) {
        return true;
    }
    let path = crate::config::expand_home(Path::new(model_path));
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canonical(&path).starts_with(canonical(repo))
}

async fn read_characteristics(snapshot: &Path) -> Option<Characteristics> {
    let bytes = tokio::fs::read(snapshot.join("config.json")).await.ok()?;
    Characteristics::from_json(&bytes)
}

/// Bytes of the files under `dir`, following the snapshot's links to the blobs
/// (links to directories are not followed, so a link loop cannot recurse forever).
fn tree_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match std::fs::symlink_metadata(entry.path()) {
            Ok(m) if m.is_dir() => tree_size(&entry.path()),
            Ok(_) => std::fs::metadata(entry.path())
                .ok()
                .filter(|m| m.is_file())
                .map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Running(Vec<String>);

    #[async_trait::async_trait]
    impl ModelUsage for Running {
        async fn running_model_paths(&self) -> Vec<String> {
            self.0.clone()
        }
    }

    fn cache_with_model() -> (tempfile::TempDir, HubCache, ModelId) {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = HubCache::new(dir.path().to_path_buf());
        let id = ModelId::parse("org/model").expect("id");
        std::fs::create_dir_all(cache.snapshot_dir(&id, &"c".repeat(40))).expect("snapshot");
        (dir, cache, id)
    }

    #[tokio::test]
    async fn a_model_used_by_a_running_server_is_not_deleted() {
        let (_dir, cache, id) = cache_with_model();
        let by_id = Running(vec!["ORG/model".into()]);
        assert!(matches!(
            delete(&cache, &id, &by_id).await,
            Err(ModelsError::ModelInUse)
        ));
        let snapshot = cache.snapshot_dir(&id, &"c".repeat(40));
        let by_path = Running(vec![snapshot.display().to_string()]);
        assert!(matches!(
            delete(&cache, &id, &by_path).await,
            Err(ModelsError::ModelInUse)
        ));
        let other = Running(vec!["org/model-2".into(), "/elsewhere".into()]);
        assert!(delete(&cache, &id, &other).await.is_ok());
        assert!(!cache.repo_dir(&id).exists());
        assert!(matches!(
            delete(&cache, &id, &Running(Vec::new())).await,
            Err(ModelsError::ModelNotFound)
        ));
    }

    #[test]
    fn a_link_loop_in_a_snapshot_does_not_recurse_forever() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("weights"), vec![0u8; 10]).expect("write");
        std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).expect("link");
        std::os::unix::fs::symlink(dir.path().join("weights"), dir.path().join("linked"))
            .expect("link");
        assert_eq!(tree_size(dir.path()), 20);
    }
}
