//! The `audit_event` table: append-only rows written in batches, read newest
//! first with keyset (cursor) pagination, pruned by age.
//!
//! Each row's key is time-ordered (`<micros as hex><counter><random>`, fixed
//! width), so "newest first" is "key descending" and a page's cursor is the
//! last key it returned: pages never repeat or skip a row, whatever is written
//! meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{Db, Event, Migration};
use serde::Serialize;
use surrealdb::types::SurrealValue;

/// The plugin's migrations.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "audit events",
    sql: "
DEFINE TABLE audit_event SCHEMAFULL;
DEFINE FIELD key ON audit_event TYPE string;
DEFINE FIELD time ON audit_event TYPE datetime;
DEFINE FIELD actor_id ON audit_event TYPE option<string>;
DEFINE FIELD actor_email ON audit_event TYPE option<string>;
DEFINE FIELD actor_role ON audit_event TYPE option<string>;
DEFINE FIELD actor_via ON audit_event TYPE string;
DEFINE FIELD action ON audit_event TYPE string;
DEFINE FIELD target_kind ON audit_event TYPE string;
DEFINE FIELD target_id ON audit_event TYPE option<string>;
DEFINE FIELD target_name ON audit_event TYPE option<string>;
DEFINE FIELD outcome ON audit_event TYPE string ASSERT $value IN ['ok', 'denied', 'failed'];
DEFINE FIELD address ON audit_event TYPE option<string>;
DEFINE FIELD detail ON audit_event TYPE option<string>;
DEFINE INDEX audit_event_key ON audit_event FIELDS key UNIQUE;
DEFINE INDEX audit_event_time ON audit_event FIELDS time;
",
}];

/// One stored event.
#[derive(Debug, Clone, PartialEq, SurrealValue, Serialize)]
pub struct Row {
    /// Time-ordered unique key (the event's id).
    pub key: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// The actor's user id.
    pub actor_id: Option<String>,
    /// The actor's email.
    pub actor_email: Option<String>,
    /// The actor's role.
    pub actor_role: Option<String>,
    /// How the actor came.
    pub actor_via: String,
    /// What happened.
    pub action: String,
    /// What kind of thing it was done to.
    pub target_kind: String,
    /// Its id.
    pub target_id: Option<String>,
    /// Its name.
    pub target_name: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// The client's address.
    pub address: Option<String>,
    /// A short sentence.
    pub detail: Option<String>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fixed-width key that sorts by time, then by arrival in this process, with
/// a random tail so that two managers writing to one store never collide.
fn key(time: DateTime<Utc>) -> String {
    let micros = u64::try_from(time.timestamp_micros()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff;
    format!(
        "{micros:016x}{n:08x}{:06x}",
        rand::random::<u32>() & 0xff_ffff
    )
}

impl Row {
    /// The row for `event`.
    pub fn from_event(event: &Event) -> Self {
        Self {
            key: key(event.time),
            time: event.time,
            actor_id: event.actor.id.clone(),
            actor_email: event.actor.email.clone(),
            actor_role: event.actor.role.map(|r| r.as_str().to_owned()),
            actor_via: event.actor.via.as_str().to_owned(),
            action: event.action.as_str().to_owned(),
            target_kind: event.target.kind.to_owned(),
            target_id: event.target.id.clone(),
            target_name: event.target.name.clone(),
            outcome: event.outcome.as_str().to_owned(),
            address: event.address.clone(),
            detail: event.detail.clone(),
        }
    }
}

/// Write `rows` in one statement.
pub async fn insert(db: &Db, rows: Vec<Row>) -> Result<(), surrealdb::Error> {
    db.query("INSERT INTO audit_event $rows")
        .bind(("rows", rows))
        .await?
        .check()?;
    Ok(())
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A user id or email.
    pub actor: Option<String>,
    /// An action name.
    pub action: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
}

/// Up to `limit` events matching `filter`, newest first, older than the event
/// `cursor` (a key) when given.
pub async fn page(
    db: &Db,
    filter: &Filter,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Row>, surrealdb::Error> {
    let sql = "SELECT * FROM audit_event WHERE
        ($actor = NONE OR actor_id = $actor OR actor_email = $actor)
        AND ($action = NONE OR action = $action)
        AND ($outcome = NONE OR outcome = $outcome)
        AND ($since = NONE OR time >= $since)
        AND ($until = NONE OR time < $until)
        AND ($cursor = NONE OR key < $cursor)
        ORDER BY key DESC LIMIT $limit";
    let mut r = db
        .query(sql)
        .bind(("actor", filter.actor.clone()))
        .bind(("action", filter.action.clone()))
        .bind(("outcome", filter.outcome.clone()))
        .bind(("since", filter.since))
        .bind(("until", filter.until))
        .bind(("cursor", cursor.map(str::to_owned)))
        .bind(("limit", i64::try_from(limit).unwrap_or(500)))
        .await?;
    r.take(0)
}

/// Delete events older than `cutoff`; how many went.
pub async fn prune(db: &Db, cutoff: DateTime<Utc>) -> Result<usize, surrealdb::Error> {
    let mut r = db
        .query("DELETE audit_event WHERE time < $cutoff RETURN BEFORE")
        .bind(("cutoff", cutoff))
        .await?;
    let gone: Vec<Row> = r.take(0)?;
    Ok(gone.len())
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests spawn and read the clock directly"
)]
mod tests {
    use super::*;
    use mlx_manager_sdk::{Actor, EventAction, Target};

    async fn db() -> Db {
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        for m in MIGRATIONS {
            db.query(m.sql)
                .await
                .and_then(|r| r.check())
                .expect("schema");
        }
        db
    }

    fn event(at: DateTime<Utc>, n: usize) -> Event {
        let mut e = Event::new(
            Actor::system(),
            EventAction("thing.happen"),
            Target::new("thing", Some(n.to_string()), None),
        );
        e.time = at;
        e
    }

    #[tokio::test]
    async fn pages_follow_each_other_without_gaps_or_repeats() {
        let db = db().await;
        let now = Utc::now();
        let rows: Vec<Row> = (0..25).map(|n| Row::from_event(&event(now, n))).collect();
        insert(&db, rows).await.expect("insert");
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = page(&db, &Filter::default(), cursor.as_deref(), 10)
                .await
                .expect("page");
            if page.is_empty() {
                break;
            }
            cursor = page.last().map(|r| r.key.clone());
            seen.extend(page.into_iter().filter_map(|r| r.target_id));
        }
        let expected: Vec<String> = (0..25).rev().map(|n| n.to_string()).collect();
        assert_eq!(seen, expected, "newest first, each once");
    }

    #[tokio::test]
    async fn pruning_deletes_only_what_is_older_than_the_cutoff() {
        let db = db().await;
        let now = Utc::now();
        let old = now - chrono::Duration::days(100);
        let rows = vec![
            Row::from_event(&event(old, 1)),
            Row::from_event(&event(now, 2)),
        ];
        insert(&db, rows).await.expect("insert");
        let gone = prune(&db, now - chrono::Duration::days(90))
            .await
            .expect("prune");
        assert_eq!(gone, 1);
        let left = page(&db, &Filter::default(), None, 10).await.expect("page");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].target_id.as_deref(), Some("2"));
    }
}
