//! The Hugging Face cache layout under `[paths] hf_cache`, as `huggingface_hub`
//! and MLX tools read it:
//!
//! ```text
//! models--org--name/
//!   blobs/<sha256 or git oid>            file contents (named by hash)
//!   blobs/<hash>.incomplete              a download in progress
//!   snapshots/<commit>/<path>            relative symlinks to ../../blobs/<hash>
//!   refs/main                            the commit `main` points to
//! ```
//!
//! A snapshot becomes visible only once complete: its links are made in a
//! staging directory beside `snapshots/` (same depth, so the same relative link
//! targets) and renamed into place; `refs/main` is written to a temporary file
//! and renamed. Nothing here knows about HTTP.

use std::{
    io,
    path::{Path, PathBuf},
};

use super::id::{ModelId, RepoPath};

/// The hub cache root.
#[derive(Debug, Clone)]
pub struct HubCache {
    root: PathBuf,
}

/// The prefix of a snapshot being assembled in a repository directory.
const STAGING: &str = ".staging-";

impl HubCache {
    /// The cache at `root` (created on the first download).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `models--org--name`.
    pub fn repo_dir(&self, id: &ModelId) -> PathBuf {
        self.root.join(id.cache_dir_name())
    }

    /// `blobs/`.
    pub fn blobs_dir(&self, id: &ModelId) -> PathBuf {
        self.repo_dir(id).join("blobs")
    }

    /// `blobs/<hash>`.
    pub fn blob(&self, id: &ModelId, hash: &str) -> PathBuf {
        self.blobs_dir(id).join(hash)
    }

    /// `blobs/<hash>.incomplete`.
    pub fn incomplete(&self, id: &ModelId, hash: &str) -> PathBuf {
        self.blobs_dir(id).join(format!("{hash}.incomplete"))
    }

    /// `snapshots/<commit>`.
    pub fn snapshot_dir(&self, id: &ModelId, commit: &str) -> PathBuf {
        self.repo_dir(id).join("snapshots").join(commit)
    }

    /// The commit `refs/main` holds, if any.
    pub async fn main_ref(&self, id: &ModelId) -> Option<String> {
        let text = tokio::fs::read_to_string(self.repo_dir(id).join("refs").join("main"))
            .await
            .ok()?;
        let commit = text.trim();
        super::id::is_blob_hash(commit).then(|| commit.to_owned())
    }

    /// The snapshot a reader uses: the one `refs/main` names when present, else
    /// the most recently changed one.
    pub async fn current_snapshot(&self, id: &ModelId) -> Option<PathBuf> {
        if let Some(commit) = self.main_ref(id).await {
            let dir = self.snapshot_dir(id, &commit);
            if tokio::fs::metadata(&dir).await.is_ok_and(|m| m.is_dir()) {
                return Some(dir);
            }
        }
        let mut entries = tokio::fs::read_dir(self.repo_dir(id).join("snapshots"))
            .await
            .ok()?;
        let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
        while let Ok(Some(entry)) = entries.next_entry().await {
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            if meta.is_dir() && newest.as_ref().is_none_or(|(t, _)| modified > *t) {
                newest = Some((modified, entry.path()));
            }
        }
        newest.map(|(_, path)| path)
    }

    /// Whether the cache holds a complete snapshot of `id`.
    pub async fn is_downloaded(&self, id: &ModelId) -> bool {
        self.current_snapshot(id).await.is_some()
    }

    /// Make `snapshots/<commit>` (links to the blobs of `files`) visible, then
    /// point `refs/main` at `commit`. Every blob must already exist.
    pub fn publish_snapshot(
        &self,
        id: &ModelId,
        commit: &str,
        files: &[(RepoPath, String)],
    ) -> io::Result<()> {
        let repo = self.repo_dir(id);
        let staging = repo.join(format!("{STAGING}{commit}"));
        remove_if_exists(&staging)?;
        for (path, hash) in files {
            let link = staging.join(path.to_path());
            if let Some(parent) = link.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::os::unix::fs::symlink(blob_link_target(path, hash), &link)?;
        }
        std::fs::create_dir_all(&staging)?;
        let target = self.snapshot_dir(id, commit);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        remove_if_exists(&target)?;
        std::fs::rename(&staging, &target)?;

        let refs = repo.join("refs");
        std::fs::create_dir_all(&refs)?;
        let tmp = repo.join(".main.ref-tmp");
        std::fs::write(&tmp, commit)?;
        std::fs::rename(&tmp, refs.join("main"))
    }

    /// Remove the partial files of `id` (`blobs/*.incomplete`, staging
    /// directories), and the whole repository directory when it holds no
    /// snapshot: what a cancelled download leaves behind.
    pub fn remove_partials(&self, id: &ModelId) -> io::Result<()> {
        let repo = self.repo_dir(id);
        if !repo.exists() {
            return Ok(());
        }
        let snapshots = repo.join("snapshots");
        let has_snapshot = std::fs::read_dir(&snapshots)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if !has_snapshot {
            return std::fs::remove_dir_all(&repo);
        }
        for dir in [repo.clone(), repo.join("blobs")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".incomplete") {
                    std::fs::remove_file(entry.path())?;
                } else if name.starts_with(STAGING) {
                    std::fs::remove_dir_all(entry.path())?;
                }
            }
        }
        Ok(())
    }
}

/// The relative link from `snapshots/<commit>/<path>` to `blobs/<hash>`.
pub fn blob_link_target(path: &RepoPath, hash: &str) -> PathBuf {
    let mut target = PathBuf::new();
    for _ in 0..path.depth() + 2 {
        target.push("..");
    }
    target.join("blobs").join(hash)
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_climb_to_the_repository_whatever_the_depth() {
        let top = RepoPath::parse("config.json").expect("path");
        assert_eq!(
            blob_link_target(&top, "ab"),
            PathBuf::from("../../blobs/ab")
        );
        let deep = RepoPath::parse("a/b/c.bin").expect("path");
        assert_eq!(
            blob_link_target(&deep, "cd"),
            PathBuf::from("../../../../blobs/cd")
        );
    }

    #[test]
    fn a_published_snapshot_resolves_to_the_blobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = HubCache::new(dir.path().to_path_buf());
        let id = ModelId::parse("org/model").expect("id");
        let hash = "a".repeat(64);
        std::fs::create_dir_all(cache.blobs_dir(&id)).expect("blobs");
        std::fs::write(cache.blob(&id, &hash), b"weights").expect("blob");
        let files = vec![(RepoPath::parse("sub/w.bin").expect("path"), hash.clone())];
        let commit = "c".repeat(40);
        cache
            .publish_snapshot(&id, &commit, &files)
            .expect("published");
        let link = cache.snapshot_dir(&id, &commit).join("sub/w.bin");
        assert_eq!(std::fs::read(&link).expect("read through link"), b"weights");
        let refs = std::fs::read_to_string(cache.repo_dir(&id).join("refs/main")).expect("ref");
        assert_eq!(refs, commit);
        // Publishing again (a re-download) replaces the snapshot.
        cache
            .publish_snapshot(&id, &commit, &files)
            .expect("republished");
        assert!(link.exists());
    }
}
