//! The store: a SurrealDB connection through the `any` engine, and numbered
//! migrations applied once each at start-up and recorded in the store.

use std::path::Path;

use mlx_manager_sdk::{Db, Migration};
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
    db.use_ns(settings.namespace.as_str())
        .use_db(settings.database.as_str())
        .await
        .map_err(open_err)?;
    Ok(db)
}

fn explain_open_error(err: &surrealdb::Error) -> String {
    let message = err.message();
    if mlx_manager_sdk::store::classify(err) == mlx_manager_sdk::store::StoreFailure::Locked {
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

const LEDGER: &str = "
DEFINE TABLE IF NOT EXISTS migration SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS scope ON migration TYPE string;
DEFINE FIELD IF NOT EXISTS version ON migration TYPE int;
DEFINE FIELD IF NOT EXISTS name ON migration TYPE string;
DEFINE FIELD IF NOT EXISTS applied_at ON migration TYPE datetime;
";

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
/// recorded yet. Each runs in a transaction together with its record.
pub async fn migrate(db: &Db, sets: &[(&str, &[Migration])]) -> Result<(), StoreError> {
    db.query(LEDGER).await?.check()?;
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
            apply(db, scope, m).await?;
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

async fn apply(db: &Db, scope: &str, m: &Migration) -> Result<(), StoreError> {
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
