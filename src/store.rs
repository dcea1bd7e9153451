//! The store: a SurrealDB connection through the `any` engine, and numbered
//! migrations applied once each at start-up and recorded in the store.

use std::path::Path;

use mlx_manager_sdk::{
    Db, Migration,
    store::{StoreFailure, classify},
};
use surrealdb::{opt::auth::Root, types::SurrealValue};

use crate::config::DatabaseSettings;

/// Opening or migrating the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or opened.
    #[error("cannot open the store at {url}: {message}")]
    Open {
        /// The store URL (never carries credentials).
        url: String,
        /// SurrealDB's message.
        message: String,
    },
    /// A migration failed; start-up stops.
    #[error("migration {scope} #{version} ({name}) failed: {message}")]
    Migration {
        /// `core` or the plugin name.
        scope: String,
        /// The migration's number.
        version: u32,
        /// The migration's name.
        name: String,
        /// SurrealDB's message.
        message: String,
    },
    /// An export or import file cannot be used.
    #[error("{0}")]
    Transfer(String),
    /// Any other store failure.
    #[error("store error: {0}")]
    Other(#[from] surrealdb::Error),
}

/// Connect to the store named by `settings` (default: SurrealKV in `data_dir`),
/// sign in when credentials are configured, and select namespace and database.
pub async fn open(settings: &DatabaseSettings, data_dir: &Path) -> Result<Db, StoreError> {
    let url = settings.url_in(data_dir);
    let open_err = |e: surrealdb::Error| StoreError::Open {
        url: url.clone(),
        message: explain_open_error(&e),
    };
    let db = surrealdb::engine::any::connect(url.as_str())
        .await
        .map_err(open_err)?;
    if let (Some(username), Some(password)) = (&settings.username, &settings.password) {
        db.signin(Root {
            username: username.clone(),
            password: password.clone(),
        })
        .await
        .map_err(open_err)?;
    }
    // A new namespace or database is created by its first use: managers
    // starting at once on a new database conflict there, and retry.
    let mut attempt: u64 = 0;
    loop {
        let used = db
            .use_ns(settings.namespace.as_str())
            .use_db(settings.database.as_str())
            .await;
        match used {
            Err(e) if classify(&e) == StoreFailure::Conflict && attempt < 25 => {
                attempt += 1;
                let wait = 5 * attempt + u64::from(rand::random::<u8>() % 20);
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            other => {
                other.map_err(open_err)?;
                break;
            }
        }
    }
    Ok(db)
}

fn explain_open_error(err: &surrealdb::Error) -> String {
    let message = err.message();
    if classify(err) == StoreFailure::Locked {
        format!("{message} (is another mlx-manager using this store?)")
    } else {
        message.to_owned()
    }
}

/// Whether the store answers a trivial query.
pub async fn ping(db: &Db) -> bool {
    match db.query("RETURN 1").await {
        Ok(response) => response.check().is_ok(),
        Err(_) => false,
    }
}

/// Write the whole store (schema and data) to `file` as SurrealQL. Only an
/// embedded store can be exported this way (SurrealDB's own `surreal export`
/// serves a server).
pub async fn export(db: &Db, file: &Path) -> Result<(), StoreError> {
    db.export(file).await.map_err(|e| {
        StoreError::Transfer(format!(
            "cannot export the store to {}: {} (this command exports an embedded store; \
             export a SurrealDB server with its own `surreal export`)",
            file.display(),
            e.message()
        ))
    })
}

/// Run the SurrealQL of `file` (written by [`export`]) against `db`, which
/// must hold no table yet: an import never merges into a store in use.
pub async fn import(db: &Db, file: &Path) -> Result<(), StoreError> {
    let script = std::fs::read_to_string(file)
        .map_err(|e| StoreError::Transfer(format!("cannot read {}: {e}", file.display())))?;
    let tables: Vec<String> = db
        .query("RETURN object::keys((INFO FOR DB).tables)")
        .await?
        .take(0)?;
    if !tables.is_empty() {
        return Err(StoreError::Transfer(format!(
            "the target database already holds {} tables ({}, ...): import into a new, empty \
             database, before any manager starts on it",
            tables.len(),
            tables.first().map_or("", String::as_str)
        )));
    }
    let mut response = db.query(script).await?;
    match mlx_manager_sdk::store::first_cause(response.take_errors()) {
        Some(err) => Err(StoreError::Transfer(format!(
            "the import of {} failed: {}",
            file.display(),
            err.message()
        ))),
        None => Ok(()),
    }
}

const LEDGER: &str = "
DEFINE TABLE IF NOT EXISTS migration SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS scope ON migration TYPE string;
DEFINE FIELD IF NOT EXISTS version ON migration TYPE int;
DEFINE FIELD IF NOT EXISTS name ON migration TYPE string;
DEFINE FIELD IF NOT EXISTS applied_at ON migration TYPE datetime;
DEFINE TABLE IF NOT EXISTS migration_lock SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS holder ON migration_lock TYPE string;
DEFINE FIELD IF NOT EXISTS expires_at ON migration_lock TYPE datetime;
";

/// Take the migration lock for `holder` unless another holds it (an expired
/// hold is dropped first); the holder after the attempt.
const TAKE_LOCK: &str = "BEGIN TRANSACTION;
DELETE migration_lock WHERE expires_at < time::now();
LET $held = (SELECT VALUE holder FROM migration_lock:ledger);
IF array::len($held) = 0 {
    CREATE migration_lock:ledger CONTENT { holder: $holder, expires_at: time::now() + 2m };
};
RETURN (SELECT VALUE holder FROM migration_lock:ledger);
COMMIT TRANSACTION;";

/// How long a manager waits for another's migrations (a hold expires after 2
/// minutes, so a manager that died holding it delays the others by that much).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(150);

/// A migration that has been applied, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq, SurrealValue)]
pub struct AppliedMigration {
    /// `core` or the plugin name.
    pub scope: String,
    /// The migration's number.
    pub version: i64,
    /// The migration's name.
    pub name: String,
}

/// Apply, in order, every migration of every scope that the store has not
/// recorded yet. Each runs in a transaction together with its record, and
/// `$node` is this manager's node name (a migration that gives existing
/// per-host rows their node reads it).
///
/// Several managers starting at once on one store take turns: the ledger is
/// read and written only under a lock record (`migration_lock:ledger`), so
/// each migration is applied exactly once.
pub async fn migrate(db: &Db, node: &str, sets: &[(&str, &[Migration])]) -> Result<(), StoreError> {
    let binds: mlx_manager_sdk::store::Binds = Vec::new();
    mlx_manager_sdk::store::transaction(
        db,
        &format!("BEGIN TRANSACTION;{LEDGER}RETURN 1;COMMIT TRANSACTION;"),
        &binds,
    )
    .await?;
    let holder = format!("{node}/{}", uuid::Uuid::new_v4().simple());
    take_lock(db, &holder).await?;
    let applied = apply_missing(db, node, sets).await;
    let released = db
        .query("DELETE migration_lock:ledger WHERE holder = $holder")
        .bind(("holder", holder))
        .await
        .and_then(|r| r.check());
    if let Err(e) = released {
        tracing::warn!(error = %e, "cannot release the migration lock; it expires in 2 minutes");
    }
    applied
}

async fn take_lock(db: &Db, holder: &str) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let binds = vec![mlx_manager_sdk::store::bind("holder", holder.to_owned())];
    loop {
        let held = mlx_manager_sdk::store::transaction(db, TAKE_LOCK, &binds).await?;
        let held = Vec::<String>::from_value(held).unwrap_or_default();
        if held.first().map(String::as_str) == Some(holder) {
            return Ok(());
        }
        if started.elapsed() > LOCK_WAIT {
            return Err(StoreError::Migration {
                scope: "ledger".into(),
                version: 0,
                name: "migration lock".into(),
                message: format!(
                    "another manager ({}) has held the migration lock for over {} s; if it \
                     died, the lock expires by itself",
                    held.first()
                        .map_or("?", |h| h.split('/').next().unwrap_or("?")),
                    LOCK_WAIT.as_secs()
                ),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn apply_missing(
    db: &Db,
    node: &str,
    sets: &[(&str, &[Migration])],
) -> Result<(), StoreError> {
    for (scope, migrations) in sets {
        let done: Vec<i64> = db
            .query("SELECT VALUE version FROM migration WHERE scope = $scope")
            .bind(("scope", scope.to_string()))
            .await?
            .take(0)?;
        for m in migrations
            .iter()
            .filter(|m| !done.contains(&i64::from(m.version)))
        {
            apply(db, node, scope, m).await?;
            tracing::info!(
                scope,
                version = m.version,
                name = m.name,
                "migration applied"
            );
        }
    }
    Ok(())
}

async fn apply(db: &Db, node: &str, scope: &str, m: &Migration) -> Result<(), StoreError> {
    let failed = |message: String| StoreError::Migration {
        scope: scope.to_owned(),
        version: m.version,
        name: m.name.to_owned(),
        message,
    };
    let sql = format!(
        "BEGIN TRANSACTION;\n{}\n;CREATE type::record('migration', $key) CONTENT {{ scope: $scope, version: $version, name: $name, applied_at: time::now() }};\nCOMMIT TRANSACTION;",
        m.sql
    );
    let mut response = db
        .query(sql)
        .bind(("key", format!("{scope}-{:04}", m.version)))
        .bind(("scope", scope.to_owned()))
        .bind(("version", i64::from(m.version)))
        .bind(("name", m.name.to_owned()))
        .bind(("node", node.to_owned()))
        .await
        .map_err(|e| failed(e.message().to_owned()))?;
    let cause = mlx_manager_sdk::store::first_cause(response.take_errors());
    match cause {
        Some(err) => Err(failed(err.message().to_owned())),
        None => Ok(()),
    }
}

/// The migrations recorded in the store, in order.
pub async fn applied(db: &Db) -> Result<Vec<AppliedMigration>, StoreError> {
    Ok(db
        .query("SELECT scope, version, name FROM migration ORDER BY scope, version")
        .await?
        .take(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_that_cannot_answer_is_not_ready() {
        let unconnected: Db = surrealdb::Surreal::init();
        assert!(!ping(&unconnected).await);
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        assert!(ping(&db).await);
    }
}
