//! `ModelId` (`org/name`) and `RepoPath` (a file inside a repository): the two
//! names that become file-system paths, checked once at the edge so that no later
//! code can be made to write outside the hub cache.

use std::{fmt, path::PathBuf};

/// The longest accepted model id (the Hub allows 96 characters per name).
const MAX_ID_LEN: usize = 200;

/// A Hugging Face model id, `org/name`: exactly one `/`, each part made of ASCII
/// letters, digits, `-`, `_` and `.`, not starting with `.` and containing neither
/// `--` nor `..` (the Hub refuses both; `--` is the separator of the cache's
/// directory names, so the mapping to `models--org--name` is one-to-one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelId(String);

/// Why a model id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid model id `{shown}`: {reason}")]
pub struct InvalidModelId {
    shown: String,
    reason: &'static str,
}

impl ModelId {
    /// Check `raw` (surrounding whitespace is ignored).
    pub fn parse(raw: &str) -> Result<Self, InvalidModelId> {
        let id = raw.trim();
        let refuse = |reason| {
            Err(InvalidModelId {
                shown: id.chars().take(80).collect(),
                reason,
            })
        };
        if id.len() > MAX_ID_LEN {
            return refuse("longer than 200 characters");
        }
        let Some((org, name)) = id.split_once('/') else {
            return refuse("expected `organisation/name`");
        };
        for part in [org, name] {
            if part.is_empty() {
                return refuse("expected `organisation/name`");
            }
            if !part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return refuse(
                    "only letters, digits, `-`, `_` and `.` are allowed on each side of the `/`",
                );
            }
            if part.starts_with('.') || part.contains("..") || part.contains("--") {
                return refuse("a part may not start with `.` or contain `..` or `--`");
            }
        }
        Ok(Self(id.to_owned()))
    }

    /// The id from a cache directory name (`models--org--name`), when it is one.
    pub fn from_cache_dir(dir_name: &str) -> Option<Self> {
        let rest = dir_name.strip_prefix("models--")?;
        let (org, name) = rest.split_once("--")?;
        Self::parse(&format!("{org}/{name}")).ok()
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The organisation (or user) part.
    pub fn org(&self) -> &str {
        self.0
            .split_once('/')
            .map(|(org, _)| org)
            .unwrap_or_default()
    }

    /// The repository name part.
    pub fn name(&self) -> &str {
        self.0
            .split_once('/')
            .map(|(_, name)| name)
            .unwrap_or_default()
    }

    /// The directory name in the hub cache: `models--org--name`.
    pub fn cache_dir_name(&self) -> String {
        format!("models--{}--{}", self.org(), self.name())
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A relative file path inside a repository, as listed by the Hub: segments
/// separated by `/`, none empty, `.` or `..`, no backslash or NUL. The Hub is not
/// trusted to send safe names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoPath(String);

impl RepoPath {
    /// Check a path from the Hub.
    pub fn parse(raw: &str) -> Option<Self> {
        let safe = !raw.is_empty()
            && raw.len() <= 1024
            && !raw.contains(['\\', '\0'])
            && raw
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..");
        safe.then(|| Self(raw.to_owned()))
    }

    /// The path as the Hub spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The number of directories above the file (0 for a top-level file).
    pub fn depth(&self) -> usize {
        self.0.matches('/').count()
    }

    /// The path as a relative file-system path.
    pub fn to_path(&self) -> PathBuf {
        self.segments().collect()
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `hash` can name a blob: 40 (git SHA-1) or 64 (SHA-256) hex digits.
pub fn is_blob_hash(hash: &str) -> bool {
    matches!(hash.len(), 40 | 64) && hash.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_style_id_is_accepted_and_maps_to_its_cache_dir() {
        let id = ModelId::parse(" mlx-community/Qwen2.5-0.5B-Instruct-4bit ").expect("valid");
        assert_eq!(id.as_str(), "mlx-community/Qwen2.5-0.5B-Instruct-4bit");
        assert_eq!(
            id.cache_dir_name(),
            "models--mlx-community--Qwen2.5-0.5B-Instruct-4bit"
        );
        assert_eq!(ModelId::from_cache_dir(&id.cache_dir_name()), Some(id));
    }

    #[test]
    fn ids_that_could_escape_or_confuse_the_cache_are_refused() {
        for bad in [
            "",
            "noslash",
            "a/b/c",
            "../etc",
            "org/..",
            "org/.hidden",
            "org/a..b",
            "org/a--b",
            "/abs",
            "org/",
            "or g/name",
            "org/na%2fme",
            "org\\x/name",
        ] {
            assert!(ModelId::parse(bad).is_err(), "{bad:?} is refused");
        }
        assert!(ModelId::from_cache_dir("datasets--a--b").is_none());
    }

    #[test]
    fn repo_paths_stay_inside_the_repository() {
        assert!(RepoPath::parse("config.json").is_some());
        assert_eq!(
            RepoPath::parse("sub/dir/w.safetensors").map(|p| p.depth()),
            Some(2)
        );
        for bad in ["", "../x", "a/../b", "/abs", "a//b", "a/./b", "a\\b", "a/"] {
            assert!(RepoPath::parse(bad).is_none(), "{bad:?} is refused");
        }
    }
}
