//! Running instances recorded in the store, so that after a restart the manager
//! can tell which recorded processes still run (and adopt them).

use chrono::{DateTime, Utc};
use mlx_manager_sdk::Db;
use mlx_manager_sdk::store::record_key;
use surrealdb::types::{RecordId, SurrealValue, Value};

/// The core migration that creates the table (record key: the profile id).
pub const MIGRATION_SQL: &str = "
DEFINE TABLE server_instance SCHEMAFULL;
DEFINE FIELD pid ON server_instance TYPE int;
DEFINE FIELD port ON server_instance TYPE int;
DEFINE FIELD host ON server_instance TYPE string;
DEFINE FIELD profile_name ON server_instance TYPE string;
DEFINE FIELD model_path ON server_instance TYPE string;
DEFINE FIELD process_start ON server_instance TYPE option<int>;
DEFINE FIELD started_at ON server_instance TYPE datetime;
";

/// A recorded instance.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
pub struct Instance {
    /// Process id (also the process group id).
    pub pid: i64,
    /// Port the server listens on.
    pub port: i64,
    /// Host the server listens on.
    pub host: String,
    /// The profile's name when started.
    pub profile_name: String,
    /// The model it serves.
    pub model_path: String,
    /// The process's start time (seconds since the epoch), to recognise it.
    pub process_start: Option<i64>,
    /// When the manager started it.
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Clone, SurrealValue)]
struct Stored {
    id: RecordId,
    #[surreal(flatten)]
    instance: Instance,
}

/// An instance with the node (manager) that started it.
#[derive(Debug, Clone, SurrealValue)]
struct Row {
    #[surreal(flatten)]
    instance: Instance,
    node: String,
}

/// Record (or replace) the instance of `profile_id`, started by `node`.
pub async fn record(
    db: &Db,
    node: &str,
    profile_id: &str,
    instance: Instance,
) -> Result<(), surrealdb::Error> {
    let row = Row {
        instance,
        node: node.to_owned(),
    };
    let _: Option<Row> = db
        .upsert(("server_instance", profile_id))
        .content(row)
        .await?;
    Ok(())
}

/// Forget the instance of `profile_id` if it is still the process `pid` (a newer
/// run's record stays).
pub async fn clear(db: &Db, profile_id: &str, pid: u32) -> Result<(), surrealdb::Error> {
    db.query("DELETE type::record('server_instance', $id) WHERE pid = $pid")
        .bind(("id", profile_id.to_owned()))
        .bind(("pid", i64::from(pid)))
        .await?
        .check()?;
    Ok(())
}

/// Every instance `node` recorded, by profile id (other managers' are theirs
/// to adopt or clear).
pub async fn all(db: &Db, node: &str) -> Result<Vec<(String, Instance)>, surrealdb::Error> {
    let rows: Vec<Stored> = db
        .query("SELECT * FROM server_instance WHERE node = $node")
        .bind(("node", node.to_owned()))
        .await?
        .take(0)?;
    Ok(rows
        .into_iter()
        .map(|s| (record_key(&s.id), s.instance))
        .collect())
}
