//! The `download_task` records (table created by core migration 3). A task's
//! final status is written only while it is still pending or downloading, so a
//! cancel and a completion racing each other cannot both win.

use chrono::{DateTime, Utc};
use mlx_manager_sdk::Db;
use surrealdb::types::{RecordId, SurrealValue};

use super::{DownloadStatus, TaskView};

/// A stored task.
#[derive(Debug, Clone, SurrealValue)]
struct TaskRow {
    id: RecordId,
    model_id: String,
    status: DownloadStatus,
    downloaded_bytes: u64,
    total_bytes: u64,
    error: Option<String>,
    created_at: DateTime<Utc>,
}

impl TaskRow {
    fn view(self, task_id: String) -> TaskView {
        TaskView {
            task_id,
            model_id: self.model_id,
            status: self.status,
            downloaded_bytes: self.downloaded_bytes,
            total_bytes: self.total_bytes,
            error: self.error,
            created_at: self.created_at,
        }
    }

    fn key(&self) -> String {
        mlx_manager_sdk::store::record_key(&self.id)
    }
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Record a new task of `node`.
pub async fn create(db: &Db, node: &str, view: &TaskView) -> Result<(), surrealdb::Error> {
    db.query(
        "CREATE type::record('download_task', $id) CONTENT {
            model_id: $model, status: $status, downloaded_bytes: 0, total_bytes: 0,
            created_at: $created, updated_at: time::now(), node: $node
        }",
    )
    .bind(("id", view.task_id.clone()))
    .bind(("node", node.to_owned()))
    .bind(("model", view.model_id.clone()))
    .bind(("status", view.status.as_str().to_owned()))
    .bind(("created", view.created_at))
    .await?
    .check()?;
    Ok(())
}

/// The task of `node` with this id.
pub async fn get(db: &Db, node: &str, task_id: &str) -> Result<Option<TaskView>, surrealdb::Error> {
    let rows: Vec<TaskRow> = db
        .query("SELECT * FROM type::record('download_task', $id) WHERE node = $node")
        .bind(("id", task_id.to_owned()))
        .bind(("node", node.to_owned()))
        .await?
        .take(0)?;
    Ok(rows.into_iter().next().map(|r| r.view(task_id.to_owned())))
}

/// Tasks of `node` still pending or downloading (to resume at start-up),
/// oldest first.
pub async fn unfinished(db: &Db, node: &str) -> Result<Vec<TaskView>, surrealdb::Error> {
    let rows: Vec<TaskRow> = db
        .query(
            "SELECT * FROM download_task WHERE node = $node \
             AND status IN ['pending', 'downloading'] ORDER BY created_at",
        )
        .bind(("node", node.to_owned()))
        .await?
        .take(0)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let key = r.key();
            r.view(key)
        })
        .collect())
}

/// Save the figures (and `downloading`) of a task that is still running.
pub async fn save_progress(
    db: &Db,
    task_id: &str,
    status: DownloadStatus,
    downloaded: u64,
    total: u64,
) -> Result<(), surrealdb::Error> {
    db.query(
        "UPDATE type::record('download_task', $id)
         SET status = $status, downloaded_bytes = $done, total_bytes = $total, updated_at = time::now()
         WHERE status IN ['pending', 'downloading']",
    )
    .bind(("id", task_id.to_owned()))
    .bind(("status", status.as_str().to_owned()))
    .bind(("done", int(downloaded)))
    .bind(("total", int(total)))
    .await?
    .check()?;
    Ok(())
}

/// End a task with `status` (and `error`) unless it has already ended. Whether
/// this call ended it.
pub async fn finish(
    db: &Db,
    task_id: &str,
    status: DownloadStatus,
    error: Option<String>,
    downloaded: u64,
) -> Result<bool, surrealdb::Error> {
    let updated: Vec<RecordId> = db
        .query(
            "UPDATE type::record('download_task', $id)
             SET status = $status, error = $error, downloaded_bytes = $done, updated_at = time::now()
             WHERE status IN ['pending', 'downloading']
             RETURN VALUE id",
        )
        .bind(("id", task_id.to_owned()))
        .bind(("status", status.as_str().to_owned()))
        .bind(("error", error))
        .bind(("done", int(downloaded)))
        .await?
        .take(0)?;
    Ok(!updated.is_empty())
}

/// Delete the records of `node`'s tasks that ended before `cutoff`; how
/// many went.
pub async fn prune_finished(
    db: &Db,
    node: &str,
    cutoff: DateTime<Utc>,
) -> Result<usize, surrealdb::Error> {
    let gone: Vec<surrealdb::types::Value> = db
        .query(
            "DELETE download_task
             WHERE node = $node AND status IN ['completed', 'failed', 'cancelled']
             AND updated_at < $cutoff
             RETURN BEFORE",
        )
        .bind(("node", node.to_owned()))
        .bind(("cutoff", cutoff))
        .await?
        .take(0)?;
    Ok(gone.len())
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests spawn and read the clock directly"
)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_ended_records_older_than_the_cutoff_are_pruned() {
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        crate::store::migrate(&db, "local", &[("core", crate::migrations::CORE)])
            .await
            .expect("schema");
        let view = |id: &str| TaskView {
            task_id: id.into(),
            model_id: "org/m".into(),
            status: DownloadStatus::Pending,
            downloaded_bytes: 0,
            total_bytes: 0,
            error: None,
            created_at: Utc::now(),
        };
        for id in ["old_done", "new_done", "old_running"] {
            create(&db, "local", &view(id)).await.expect("create");
        }
        // Another manager's task in the same store: its to prune and resume.
        create(&db, "other", &view("theirs")).await.expect("create");
        for id in ["old_done", "new_done", "theirs"] {
            finish(&db, id, DownloadStatus::Completed, None, 0)
                .await
                .expect("finish");
        }
        db.query("UPDATE download_task SET updated_at = time::now() - 40d WHERE id != download_task:new_done")
            .await
            .and_then(|r| r.check())
            .expect("age");
        let cutoff = Utc::now() - chrono::Duration::days(30);
        assert_eq!(
            prune_finished(&db, "local", cutoff).await.expect("prune"),
            1
        );
        let left = unfinished(&db, "local").await.expect("unfinished");
        assert_eq!(left.len(), 1, "a running task is never pruned");
        assert!(
            get(&db, "other", "theirs").await.expect("get").is_some(),
            "another node's record stays"
        );
        assert!(get(&db, "local", "theirs").await.expect("get").is_none());
    }
}
