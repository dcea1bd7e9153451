//! This manager's node name: what scopes its profiles, server instances and
//! download tasks in a store several managers share (each lists, starts and
//! reconciles only its own), while users, sessions, keys, throttle state, audit
//! and usage are shared by all.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
};

/// The file in the data directory that keeps a generated node name.
pub const NODE_FILE: &str = "node_id";

/// Why no node name could be settled.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A configured or stored name breaks the naming rule.
    #[error(
        "{source_name} `{name}` is not a node name: use 1 to 64 letters, digits, `.`, `_` or `-`"
    )]
    Invalid {
        /// Where the name came from (`[node] name` or the file).
        source_name: String,
        /// The refused name.
        name: String,
    },
    /// The node file cannot be read or written.
    #[error("cannot keep the node name in {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
}

/// Whether `name` can name a node.
pub fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The configured name, or the one kept in `data_dir` (generated and written,
/// owner-only, on the first start).
pub fn resolve(configured: Option<&str>, data_dir: &Path) -> Result<String, NodeError> {
    if let Some(name) = configured {
        return checked(name, "[node] name");
    }
    let path = data_dir.join(NODE_FILE);
    let io_err = |source| NodeError::Io {
        path: path.display().to_string(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(text) => checked(text.trim(), &path.display().to_string()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io_err)?;
            file.write_all(format!("{name}\n").as_bytes())
                .map_err(io_err)?;
            tracing::info!(node = %name, path = %path.display(), "generated this manager's node name");
            Ok(name)
        }
        Err(e) => Err(io_err(e)),
    }
}

fn checked(name: &str, source_name: &str) -> Result<String, NodeError> {
    if is_valid(name) {
        Ok(name.to_owned())
    } else {
        Err(NodeError::Invalid {
            source_name: source_name.to_owned(),
            name: name.chars().take(80).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_name_is_kept_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let first = resolve(None, dir.path()).expect("generated");
        assert!(first.starts_with("node-") && is_valid(&first), "{first}");
        assert_eq!(resolve(None, dir.path()).expect("read"), first);
        let mode = fs::metadata(dir.path().join(NODE_FILE))
            .expect("file")
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }

    #[test]
    fn a_configured_name_wins_and_is_checked() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(
            resolve(Some("mac-studio.lab"), dir.path()).expect("ok"),
            "mac-studio.lab"
        );
        assert!(!dir.path().join(NODE_FILE).exists(), "nothing generated");
        let err = resolve(Some("a b"), dir.path()).expect_err("space");
        assert!(err.to_string().contains("[node] name `a b`"), "{err}");
        assert!(resolve(Some(""), dir.path()).is_err());
        assert!(resolve(Some(&"x".repeat(65)), dir.path()).is_err());
    }

    #[test]
    fn a_damaged_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().expect("dir");
        fs::write(dir.path().join(NODE_FILE), "no/slash\n").expect("write");
        let err = resolve(None, dir.path()).expect_err("refused");
        assert!(err.to_string().contains(NODE_FILE), "{err}");
    }
}
