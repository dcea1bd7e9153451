//! `Profiles`: the profile table (SCHEMAFULL, UNIQUE name and UNIQUE port).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{
    Db,
    store::{StoreFailure, classify, record_key},
};
use surrealdb::types::{RecordId, SurrealValue, Value};

use super::profile::{NewProfile, Profile, ProfileError, ProfilePatch, ProfileValues};

/// The core migration that creates the table.
pub const MIGRATION_SQL: &str = "
DEFINE TABLE profile SCHEMAFULL;
DEFINE FIELD name ON profile TYPE string;
DEFINE FIELD description ON profile TYPE option<string>;
DEFINE FIELD model_path ON profile TYPE string;
DEFINE FIELD model_type ON profile TYPE string ASSERT $value IN ['lm', 'multimodal'];
DEFINE FIELD port ON profile TYPE int ASSERT $value >= 1024 AND $value <= 65535;
DEFINE FIELD host ON profile TYPE string;
DEFINE FIELD context_length ON profile TYPE option<int>;
DEFINE FIELD max_concurrency ON profile TYPE int;
DEFINE FIELD queue_timeout ON profile TYPE int;
DEFINE FIELD queue_size ON profile TYPE int;
DEFINE FIELD tool_call_parser ON profile TYPE option<string>;
DEFINE FIELD reasoning_parser ON profile TYPE option<string>;
DEFINE FIELD message_converter ON profile TYPE option<string>;
DEFINE FIELD enable_auto_tool_choice ON profile TYPE bool;
DEFINE FIELD trust_remote_code ON profile TYPE bool;
DEFINE FIELD chat_template_file ON profile TYPE option<string>;
DEFINE FIELD log_level ON profile TYPE string;
DEFINE FIELD log_file ON profile TYPE option<string>;
DEFINE FIELD no_log_file ON profile TYPE bool;
DEFINE FIELD auto_start ON profile TYPE bool;
DEFINE FIELD system_prompt ON profile TYPE option<string>;
DEFINE FIELD service_installed ON profile TYPE bool;
DEFINE FIELD created_at ON profile TYPE datetime;
DEFINE FIELD updated_at ON profile TYPE datetime;
DEFINE INDEX profile_name_unique ON profile FIELDS name UNIQUE;
DEFINE INDEX profile_port_unique ON profile FIELDS port UNIQUE;
";

/// Migration 4: the model types of mlx-openai-server 1.5 and later, and its
/// batching options. Existing rows keep their values; the new fields are unset.
pub const MIGRATION_4_SQL: &str = "
DEFINE FIELD OVERWRITE model_type ON profile TYPE string
    ASSERT $value IN ['lm', 'multimodal', 'embeddings', 'whisper', 'image-generation', 'image-edit'];
DEFINE FIELD decode_concurrency ON profile TYPE option<int>;
DEFINE FIELD prompt_concurrency ON profile TYPE option<int>;
";

/// Migration 5: the gateway's on-demand start and idle stop; stored profiles
/// keep today's behaviour (never started by a request, never stopped for idling).
pub const MIGRATION_5_SQL: &str = "
DEFINE FIELD on_demand ON profile TYPE bool DEFAULT false;
DEFINE FIELD idle_timeout ON profile TYPE int DEFAULT 0 ASSERT $value >= 0;
UPDATE profile SET on_demand = on_demand ?? false, idle_timeout = idle_timeout ?? 0;
";

/// The stored shape of a profile: its values as they are, and the manager's
/// own fields. An enum or number the schema should not have admitted fails the
/// read loudly instead of turning into a default.
#[derive(Debug, Clone, SurrealValue)]
struct Row {
    #[surreal(flatten)]
    values: ProfileValues,
    /// The node (manager) the profile belongs to.
    node: String,
    service_installed: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A stored row with its id.
#[derive(Debug, Clone, SurrealValue)]
struct Stored {
    id: RecordId,
    #[surreal(flatten)]
    row: Row,
}

impl Row {
    #[allow(
        clippy::disallowed_methods,
        reason = "a record's timestamp; no decision reads it"
    )]
    fn new(
        values: &ProfileValues,
        node: &str,
        service_installed: bool,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            values: values.clone(),
            node: node.to_owned(),
            service_installed,
            created_at,
            updated_at: Utc::now(),
        }
    }
}

impl From<Stored> for Profile {
    fn from(s: Stored) -> Self {
        Profile {
            id: record_key(&s.id),
            values: s.row.values,
            service_installed: s.row.service_installed,
            created_at: s.row.created_at,
            updated_at: s.row.updated_at,
        }
    }
}

/// Whether `id` can be a profile id (URL-safe, bounded); others are simply not found.
pub use mlx_manager_sdk::store::is_valid_key as is_valid_id;

fn map_write(err: surrealdb::Error) -> ProfileError {
    match classify(&err) {
        StoreFailure::Unique { index } if index == "profile_port_unique" => ProfileError::PortTaken,
        StoreFailure::Unique { index } if index == "profile_name_unique" => ProfileError::NameTaken,
        _ => ProfileError::Store(err),
    }
}

/// The profile repository.
#[derive(Clone)]
pub struct Profiles {
    db: Db,
    /// The node whose profiles these are; the others' are not seen.
    node: String,
    port_start: u16,
    allow_public_bind: bool,
    /// The table in memory for the gateway's per-request lookup, dropped by
    /// every write through this repository (`None` for a shared, remote
    /// store, which other managers may write).
    snapshot: Option<Arc<Snapshot>>,
    /// Told how long its reads take (`profiles.list`, `profiles.get`).
    observers: mlx_manager_sdk::Observers,
}

/// The profile table as last read, and a counter every write moves: a read
/// that raced a write is not kept.
#[derive(Default)]
struct Snapshot {
    rows: std::sync::Mutex<Option<Arc<Vec<Profile>>>>,
    writes: std::sync::atomic::AtomicU64,
}

impl Snapshot {
    fn get(&self) -> Option<Arc<Vec<Profile>>> {
        self.rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn keep(&self, read_after: u64, rows: Vec<Profile>) -> Arc<Vec<Profile>> {
        let rows = Arc::new(rows);
        let mut kept = self
            .rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.writes.load(std::sync::atomic::Ordering::SeqCst) == read_after {
            *kept = Some(rows.clone());
        }
        rows
    }

    fn drop_rows(&self) {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *self
            .rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// Whether `host` is a loopback address or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Profiles {
    /// The profiles of `node` in `db`; `next_port` starts at `port_start`.
    /// Hosts other than loopback are refused until
    /// [`Profiles::with_public_bind`] allows them.
    pub fn new(db: Db, node: &str, port_start: u16) -> Self {
        Self {
            db,
            node: node.to_owned(),
            port_start,
            allow_public_bind: false,
            snapshot: Some(Arc::default()),
            observers: mlx_manager_sdk::Observers::new(),
        }
    }

    /// The same repository, timing its reads for `observers`.
    pub fn observed(mut self, observers: mlx_manager_sdk::Observers) -> Self {
        self.observers = observers;
        self
    }

    /// The same repository without the in-memory table: for a store other
    /// managers share (a `ws://` SurrealDB server), whose writes this one
    /// would not see.
    pub fn shared(mut self) -> Self {
        self.snapshot = None;
        self
    }

    /// Forget the in-memory table (after a write).
    fn written(&self) {
        if let Some(s) = &self.snapshot {
            s.drop_rows();
        }
    }

    /// The same repository, allowing hosts other than loopback when `allowed`
    /// (`[servers] allow_public_bind`).
    pub fn with_public_bind(mut self, allowed: bool) -> Self {
        self.allow_public_bind = allowed;
        self
    }

    /// `Ok` when a server may listen on `host`; else the rule, as a sentence.
    pub fn check_host(&self, host: &str) -> Result<(), String> {
        if self.allow_public_bind || is_loopback(host) {
            return Ok(());
        }
        Err(format!(
            "host {host} is not a loopback address (127.0.0.1, ::1, localhost): model servers \
             are reached through the gateway (/v1); set [servers] allow_public_bind = true to \
             let them listen elsewhere"
        ))
    }

    /// Every profile, ordered by name: from the table in memory (read once
    /// after each write), or the store's for a shared store.
    pub async fn list(&self) -> Result<Vec<Profile>, ProfileError> {
        match &self.snapshot {
            Some(snapshot) => Ok(self.table(snapshot).await?.to_vec()),
            None => self.read_table().await,
        }
    }

    /// The table in memory, read from the store when a write dropped it.
    async fn table(&self, snapshot: &Snapshot) -> Result<Arc<Vec<Profile>>, ProfileError> {
        if let Some(rows) = snapshot.get() {
            return Ok(rows);
        }
        let before = snapshot.writes.load(std::sync::atomic::Ordering::SeqCst);
        Ok(snapshot.keep(before, self.read_table().await?))
    }

    /// Every stored profile, ordered by name.
    async fn read_table(&self) -> Result<Vec<Profile>, ProfileError> {
        let read = async {
            self.db
                .query("SELECT * FROM profile WHERE node = $node ORDER BY name")
                .bind(("node", self.node.clone()))
                .await?
                .take::<Vec<Stored>>(0)
        };
        let rows = self.observers.store("profiles.list", read).await?;
        Ok(rows.into_iter().map(Profile::from).collect())
    }

    /// The profiles named `model` or serving it (`model_path`), by name: from
    /// the table in memory (read once after each write), or one indexed read
    /// for a shared store.
    pub async fn named_or_serving(&self, model: &str) -> Result<Vec<Profile>, ProfileError> {
        if let Some(snapshot) = &self.snapshot {
            let rows = self.table(snapshot).await?;
            return Ok(rows
                .iter()
                .filter(|p| p.values.name == model || p.values.model_path == model)
                .cloned()
                .collect());
        }
        let rows: Vec<Stored> = self
            .db
            .query(
                "SELECT * FROM profile WHERE node = $node AND (name = $model OR model_path = $model) \
                 ORDER BY name",
            )
            .bind(("node", self.node.clone()))
            .bind(("model", model.to_owned()))
            .await?
            .take(0)?;
        Ok(rows.into_iter().map(Profile::from).collect())
    }

    /// One profile.
    pub async fn get(&self, id: &str) -> Result<Profile, ProfileError> {
        if !is_valid_id(id) {
            return Err(ProfileError::NotFound);
        }
        let read = self.db.select(("profile", id)).into_future();
        let row: Option<Stored> = self.observers.store("profiles.get", read).await?;
        row.filter(|r| r.row.node == self.node)
            .map(Profile::from)
            .ok_or(ProfileError::NotFound)
    }

    /// The lowest port at or above the configured start that no profile uses.
    pub async fn next_port(&self) -> Result<u16, ProfileError> {
        let used: Vec<i64> = self
            .db
            .query("SELECT VALUE port FROM profile WHERE node = $node AND port >= $start ORDER BY port")
            .bind(("node", self.node.clone()))
            .bind(("start", i64::from(self.port_start)))
            .await?
            .take(0)?;
        let mut candidate = i64::from(self.port_start);
        for port in used {
            if port > candidate {
                break;
            }
            if port == candidate {
                candidate += 1;
            }
        }
        u16::try_from(candidate).map_err(|_| ProfileError::NoFreePort(self.port_start))
    }

    /// Create a profile (on the next free port when none is given).
    pub async fn create(&self, new: NewProfile) -> Result<Profile, ProfileError> {
        let chosen_port = new.port.is_some();
        let values = ProfileValues::from_new(new)?;
        self.check_host(&values.host)
            .map_err(ProfileError::Invalid)?;
        if chosen_port {
            self.insert(&values).await
        } else {
            self.insert_on_free_port(values).await
        }
    }

    /// Insert on the next free port; when a concurrent create takes that port
    /// first, take the next one (the client never chose it).
    async fn insert_on_free_port(
        &self,
        mut values: ProfileValues,
    ) -> Result<Profile, ProfileError> {
        let mut attempts = 0;
        loop {
            values.port = self.next_port().await?;
            match self.insert(&values).await {
                Err(ProfileError::PortTaken) if attempts < 10 => attempts += 1,
                other => return other,
            }
        }
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "a record's timestamp; no decision reads it"
    )]
    async fn insert(&self, values: &ProfileValues) -> Result<Profile, ProfileError> {
        let row = Row::new(values, &self.node, false, Utc::now());
        let created: Result<Option<Stored>, _> = self.db.create("profile").content(row).await;
        self.written();
        let created = created.map_err(map_write)?;
        created
            .map(Profile::from)
            .ok_or_else(|| ProfileError::Invalid("the store did not return the new profile".into()))
    }

    /// Apply a partial update; every resulting value is checked again.
    pub async fn update(&self, id: &str, patch: ProfilePatch) -> Result<Profile, ProfileError> {
        // Concurrent writes to one profile conflict in the store; the loser reads
        // the winner's row and applies its patch again (last writer wins).
        let mut attempt = 0;
        loop {
            let current = self.get(id).await?;
            let values = current.values.patched(patch.clone())?;
            if values.host != current.values.host {
                self.check_host(&values.host)
                    .map_err(ProfileError::Invalid)?;
            }
            let row = Row::new(
                &values,
                &self.node,
                current.service_installed,
                current.created_at,
            );
            let updated: Result<Option<Stored>, _> =
                self.db.update(("profile", id)).content(row).await;
            self.written();
            match updated {
                Err(e) if classify(&e) == StoreFailure::Conflict && attempt < 20 => {
                    attempt += 1;
                    let jitter = rand::random::<u64>() % (5 * attempt);
                    tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
                }
                Err(e) => return Err(map_write(e)),
                Ok(updated) => return updated.map(Profile::from).ok_or(ProfileError::NotFound),
            }
        }
    }

    /// Record whether a login service is installed for the profile.
    pub async fn set_service_installed(
        &self,
        id: &str,
        installed: bool,
    ) -> Result<Profile, ProfileError> {
        let written = self
            .db
            .query(
                "UPDATE type::record('profile', $id) SET service_installed = $installed \
                 WHERE node = $node RETURN AFTER",
            )
            .bind(("id", id.to_owned()))
            .bind(("node", self.node.clone()))
            .bind(("installed", installed))
            .await;
        self.written();
        let rows: Vec<Stored> = written?.take(0)?;
        rows.into_iter()
            .next()
            .map(Profile::from)
            .ok_or(ProfileError::NotFound)
    }

    /// A copy named `new_name` on the next free port, with `auto_start` off.
    pub async fn duplicate(&self, id: &str, new_name: &str) -> Result<Profile, ProfileError> {
        let source = self.get(id).await?;
        let mut values = source.values.clone();
        values.name = new_name.to_owned();
        values.auto_start = false;
        let values = values.patched(ProfilePatch::default())?;
        self.check_host(&values.host)
            .map_err(ProfileError::Invalid)?;
        self.insert_on_free_port(values).await
    }

    /// Delete a profile.
    pub async fn delete(&self, id: &str) -> Result<(), ProfileError> {
        if !is_valid_id(id) {
            return Err(ProfileError::NotFound);
        }
        let deleted = self
            .db
            .query("DELETE type::record('profile', $id) WHERE node = $node RETURN BEFORE")
            .bind(("id", id.to_owned()))
            .bind(("node", self.node.clone()))
            .await;
        self.written();
        let gone: Vec<Stored> = deleted?.take(0)?;
        if gone.is_empty() {
            return Err(ProfileError::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        migrations::CORE,
        profiles::{ModelType, ProfileField},
        store::migrate,
    };

    async fn store() -> Db {
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        db
    }

    #[tokio::test]
    async fn rows_written_before_migration_4_stay_valid_and_take_the_new_types() {
        let db = store().await;
        let before: Vec<_> = CORE.iter().filter(|m| m.version < 4).cloned().collect();
        migrate(&db, "local", &[("core", &before)])
            .await
            .expect("migrations 1-3");
        db.query(
            "CREATE profile:old CONTENT { name: 'old', model_path: 'm', model_type: 'multimodal',
             port: 10240, host: '127.0.0.1', max_concurrency: 2, queue_timeout: 300,
             queue_size: 100, enable_auto_tool_choice: false, trust_remote_code: false,
             log_level: 'INFO', no_log_file: false, auto_start: false,
             service_installed: false, created_at: time::now(), updated_at: time::now() }",
        )
        .await
        .and_then(|r| r.check())
        .expect("an old row");
        let refused = db
            .query("UPDATE profile:old SET model_type = 'embeddings'")
            .await
            .and_then(|r| r.check());
        assert!(
            refused.is_err(),
            "migration 3 admits only lm and multimodal"
        );
        migrate(&db, "local", &[("core", CORE)])
            .await
            .expect("migration 4");
        let profiles = Profiles::new(db.clone(), "local", 10240);
        let old = profiles.get("old").await.expect("the old row reads");
        assert_eq!(old.values.model_type, ModelType::Multimodal);
        assert_eq!(old.values.max_concurrency, 2);
        assert_eq!(old.values.decode_concurrency, None);
        assert!(
            !old.values.on_demand,
            "migration 5: never started by a request"
        );
        assert_eq!(old.values.idle_timeout, 0);
        let patched = profiles
            .update(
                "old",
                ProfilePatch {
                    model_type: Some(ModelType::ImageEdit),
                    decode_concurrency: poem_openapi::types::MaybeUndefined::Value(16),
                    ..ProfilePatch::default()
                },
            )
            .await
            .expect("the new type and field are stored");
        assert_eq!(patched.values.model_type, ModelType::ImageEdit);
        assert_eq!(patched.values.decode_concurrency, Some(16));
        let bad = db
            .query("UPDATE profile:old SET model_type = 'diffusion'")
            .await
            .and_then(|r| r.check());
        assert!(bad.is_err(), "the schema still refuses unknown types");
    }

    #[tokio::test]
    async fn a_single_host_store_migrates_to_per_host_rows_without_loss() {
        let db = store().await;
        let before: Vec<_> = CORE.iter().filter(|m| m.version < 7).cloned().collect();
        migrate(&db, "studio", &[("core", &before)])
            .await
            .expect("migrations 1-6");
        db.query(
            "CREATE profile:old CONTENT { name: 'old', model_path: 'm', model_type: 'lm',
             port: 10240, host: '127.0.0.1', max_concurrency: 1, queue_timeout: 300,
             queue_size: 100, enable_auto_tool_choice: false, trust_remote_code: false,
             log_level: 'INFO', no_log_file: false, auto_start: true,
             service_installed: false, created_at: time::now(), updated_at: time::now() };
             CREATE server_instance:old CONTENT { pid: 1234, port: 10240, host: '127.0.0.1',
             profile_name: 'old', model_path: 'm', started_at: time::now() };
             CREATE download_task:t1 CONTENT { model_id: 'org/m', status: 'downloading',
             downloaded_bytes: 5, total_bytes: 10, created_at: time::now(),
             updated_at: time::now() };",
        )
        .await
        .and_then(|r| r.check())
        .expect("rows of a single-host store");
        // The manager that applies migration 7 takes every row there is.
        migrate(&db, "studio", &[("core", CORE)])
            .await
            .expect("migration 7");
        let mine = Profiles::new(db.clone(), "studio", 10240);
        let old = mine.get("old").await.expect("kept");
        assert!(old.values.auto_start, "{old:?}");
        assert_eq!(mine.list().await.expect("list").len(), 1);
        let instances = crate::servers::instances::all(&db, "studio")
            .await
            .expect("instances");
        assert_eq!(instances.len(), 1);
        let task = crate::models::download::tasks::get(&db, "studio", "t1")
            .await
            .expect("task");
        assert_eq!(task.map(|t| t.downloaded_bytes), Some(5));

        // Another node sees none of it, and may reuse the name and the port.
        let theirs = Profiles::new(db.clone(), "other", 10240);
        assert!(theirs.list().await.expect("list").is_empty());
        assert!(matches!(
            theirs.get("old").await,
            Err(ProfileError::NotFound)
        ));
        assert_eq!(theirs.next_port().await.expect("port"), 10240);
        let same = NewProfile {
            name: "old".into(),
            model_path: "m".into(),
            port: Some(10240),
            ..NewProfile::default()
        };
        theirs
            .create(same.clone())
            .await
            .expect("free on another node");
        assert!(matches!(
            mine.create(same).await,
            Err(ProfileError::NameTaken)
        ));
        assert!(
            crate::servers::instances::all(&db, "other")
                .await
                .expect("instances")
                .is_empty()
        );
    }

    #[test]
    fn every_field_of_the_table_has_a_column_in_the_migrations() {
        let sql: String = CORE.iter().map(|m| m.sql).collect();
        for field in ProfileField::ALL {
            let name = field.name();
            assert!(
                sql.contains(&format!("DEFINE FIELD {name} ON profile"))
                    || sql.contains(&format!("DEFINE FIELD OVERWRITE {name} ON profile")),
                "no migration defines profile.{name}: add one for the new field"
            );
        }
    }

    #[tokio::test]
    async fn the_gateways_lookup_sees_every_write_through_the_repository_at_once() {
        let db = store().await;
        migrate(&db, "local", &[("core", CORE)])
            .await
            .expect("migrations");
        let profiles = Profiles::new(db.clone(), "local", 10240);
        let names =
            |found: Vec<Profile>| found.into_iter().map(|p| p.values.name).collect::<Vec<_>>();
        let p = profiles
            .create(NewProfile {
                name: "a".into(),
                model_path: "org/m".into(),
                ..NewProfile::default()
            })
            .await
            .expect("create");
        assert_eq!(
            names(profiles.named_or_serving("org/m").await.expect("read")),
            ["a"]
        );
        let other = profiles.clone();
        other
            .update(
                &p.id,
                ProfilePatch {
                    name: Some("b".into()),
                    ..ProfilePatch::default()
                },
            )
            .await
            .expect("rename");
        assert!(
            profiles
                .named_or_serving("a")
                .await
                .expect("read")
                .is_empty()
        );
        assert_eq!(
            names(profiles.named_or_serving("b").await.expect("read")),
            ["b"]
        );
        other.duplicate(&p.id, "c").await.expect("duplicate");
        assert_eq!(
            names(profiles.named_or_serving("org/m").await.expect("read")),
            ["b", "c"]
        );
        other.delete(&p.id).await.expect("delete");
        assert_eq!(
            names(profiles.named_or_serving("org/m").await.expect("read")),
            ["c"]
        );
        // The listing comes from the same table, as fresh.
        assert_eq!(names(profiles.list().await.expect("list")), ["c"]);
        // A shared store is read every time: another manager's write shows.
        let shared = Profiles::new(db.clone(), "local", 10240).shared();
        db.query("UPDATE profile SET name = 'd'")
            .await
            .expect("a write from elsewhere");
        assert_eq!(
            names(shared.named_or_serving("d").await.expect("read")),
            ["d"]
        );
    }

    #[tokio::test]
    async fn a_stored_value_outside_the_types_fails_the_read_instead_of_becoming_a_default() {
        let db = store().await;
        migrate(&db, "local", &[("core", CORE)])
            .await
            .expect("migrations");
        let profiles = Profiles::new(db.clone(), "local", 10240);
        let p = profiles
            .create(NewProfile {
                name: "p".into(),
                model_path: "m".into(),
                ..NewProfile::default()
            })
            .await
            .expect("created");
        // Only a schema edited by hand admits such a value.
        db.query(
            "DEFINE FIELD OVERWRITE model_type ON profile TYPE string;
             UPDATE type::record('profile', $id) SET model_type = 'diffusion'",
        )
        .bind(("id", p.id.clone()))
        .await
        .and_then(|r| r.check())
        .expect("schema loosened");
        let read = profiles.get(&p.id).await;
        assert!(
            matches!(read, Err(ProfileError::Store(_))),
            "an unknown model type is an error, not `lm`: {read:?}"
        );
    }
}
