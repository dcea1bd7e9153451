//! Usage of the gateway: one record per request a profile was resolved for
//! (who, which key, which profile, status, duration, time to first byte, the
//! answer's token counts; never prompt or completion text), kept in memory and
//! written in one batch about once a second, and the sums `GET /api/usage`
//! reports.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{Db, GatewayRequest, Measurement, Observers, clock::SharedClock};
use surrealdb::types::{RecordId, SurrealValue};
use tokio_util::sync::CancellationToken;

/// The usage table.
pub const MIGRATION_SQL: &str = "
DEFINE TABLE gateway_usage SCHEMAFULL;
DEFINE FIELD at ON gateway_usage TYPE datetime;
DEFINE FIELD user_id ON gateway_usage TYPE string;
DEFINE FIELD email ON gateway_usage TYPE string;
DEFINE FIELD key_prefix ON gateway_usage TYPE option<string>;
DEFINE FIELD profile ON gateway_usage TYPE string;
DEFINE FIELD status ON gateway_usage TYPE int;
DEFINE FIELD duration_ms ON gateway_usage TYPE int;
DEFINE FIELD ttfb_ms ON gateway_usage TYPE option<int>;
DEFINE FIELD prompt_tokens ON gateway_usage TYPE option<int>;
DEFINE FIELD completion_tokens ON gateway_usage TYPE option<int>;
DEFINE INDEX gateway_usage_at ON gateway_usage FIELDS at;
DEFINE INDEX gateway_usage_user ON gateway_usage FIELDS user_id, at;
";

/// How often the buffered records are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often records older than the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Records kept while the store cannot take them; beyond, the oldest go.
const MAX_PENDING: usize = 100_000;
/// The status recorded when the client hung up before the answer ended
/// (nginx's "client closed request").
pub const CLIENT_CLOSED: u16 = 499;
/// How much of an answer's end is kept to find its `usage`.
const TAIL: usize = 16 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One request through the gateway.
#[derive(Debug, Clone, PartialEq, SurrealValue)]
pub struct UsageRecord {
    /// Made here, so that a write retried after a lost answer is not counted
    /// twice.
    pub id: RecordId,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// The caller's user id.
    pub user_id: String,
    /// The caller's email, as it was then.
    pub email: String,
    /// The API key's prefix; none for a login token.
    pub key_prefix: Option<String>,
    /// The profile's name.
    pub profile: String,
    /// The status the client got (499: it hung up first; 502: the server
    /// broke off its answer).
    pub status: i64,
    /// From arrival to the answer's end.
    pub duration_ms: i64,
    /// From arrival to the first byte of the answer's body.
    pub ttfb_ms: Option<i64>,
    /// `usage.prompt_tokens` of the answer.
    pub prompt_tokens: Option<i64>,
    /// `usage.completion_tokens` of the answer.
    pub completion_tokens: Option<i64>,
}

/// What to sum usage by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The user's email.
    User,
    /// The API key's prefix (`login token` for requests made with one).
    Key,
    /// The profile's name.
    Profile,
}

/// Usage summed over one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSum {
    /// The email, key prefix or profile name.
    pub group: String,
    /// Requests.
    pub requests: u64,
    /// Requests answered with a status of 400 or more (429s, 499s and 5xx included).
    pub errors: u64,
    /// Prompt tokens, where answers reported them.
    pub prompt_tokens: u64,
    /// Completion tokens, where answers reported them.
    pub completion_tokens: u64,
    /// Total duration.
    pub duration_ms: u64,
}

/// The group a key-less request is summed under.
pub const LOGIN_TOKEN_GROUP: &str = "login token";

#[derive(Debug, SurrealValue)]
struct SumRow {
    name: Option<String>,
    requests: i64,
    errors: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    duration_ms: i64,
}

/// The usage log: buffered records and their periodic writer.
pub struct UsageLog {
    db: Db,
    clock: SharedClock,
    retention: Duration,
    pending: Mutex<VecDeque<UsageRecord>>,
    /// One write at a time: the last flush at shutdown waits for the
    /// writer's.
    writing: tokio::sync::Mutex<()>,
    observers: Observers,
}

impl UsageLog {
    /// A log over `db`, timed by `clock`, keeping records for `retention`
    /// (zero: forever), telling `observers` of every request it records.
    pub fn new(db: Db, clock: SharedClock, retention: Duration, observers: Observers) -> Arc<Self> {
        Arc::new(Self {
            db,
            clock,
            retention,
            pending: Mutex::new(VecDeque::new()),
            writing: tokio::sync::Mutex::new(()),
            observers,
        })
    }

    /// Now, by the log's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Buffer one record (no store work), and tell the observers.
    pub fn record(&self, record: UsageRecord) {
        if self.observers.is_watched() {
            let millis = |ms: i64| Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            let tokens = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok());
            let request = GatewayRequest {
                profile: &record.profile,
                status: u16::try_from(record.status).unwrap_or(0),
                duration: millis(record.duration_ms),
                first_byte: record.ttfb_ms.map(millis),
                prompt_tokens: tokens(record.prompt_tokens),
                completion_tokens: tokens(record.completion_tokens),
            };
            self.observers.record(&Measurement::Gateway(&request));
        }
        let mut pending = lock(&self.pending);
        pending.push_back(record);
        Self::bound(&mut pending);
    }

    /// Keep at most [`MAX_PENDING`] records, dropping the oldest.
    fn bound(pending: &mut VecDeque<UsageRecord>) {
        if pending.len() > MAX_PENDING {
            let excess = pending.len() - MAX_PENDING;
            pending.drain(..excess);
            tracing::warn!(
                dropped = excess,
                "usage records are not being written; dropping the oldest"
            );
        }
    }

    /// Write what is buffered, in one statement; on failure the records stay
    /// buffered for the next attempt (a retry of a write that did land adds
    /// nothing: records carry their ids). Returns how many were written.
    pub async fn flush(&self) -> Result<usize, surrealdb::Error> {
        let _one = self.writing.lock().await;
        let batch: Vec<UsageRecord> = lock(&self.pending).drain(..).collect();
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        let insert = async {
            self.db
                .query("INSERT IGNORE INTO gateway_usage $rows RETURN NONE")
                .bind(("rows", batch.clone()))
                .await?
                .check()
                .map(drop)
        };
        let written = self.observers.store("usage.insert", insert).await;
        if let Err(e) = written {
            let mut pending = lock(&self.pending);
            for record in batch.into_iter().rev() {
                pending.push_front(record);
            }
            Self::bound(&mut pending);
            return Err(e);
        }
        Ok(n)
    }

    /// Delete the records older than the retention.
    async fn prune(&self) -> Result<(), surrealdb::Error> {
        if self.retention.is_zero() {
            return Ok(());
        }
        let cutoff = self.now() - chrono::Duration::from_std(self.retention).unwrap_or_default();
        self.db
            .query("DELETE gateway_usage WHERE at < $cutoff")
            .bind(("cutoff", cutoff))
            .await?
            .check()?;
        Ok(())
    }

    /// Write the buffer every [`FLUSH_EVERY`] until `stop`, then once more;
    /// delete records beyond the retention every hour.
    pub fn write_every_second(self: &Arc<Self>, stop: CancellationToken) {
        let log = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut pruned = Instant::now() - PRUNE_EVERY;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stop.cancelled() => break,
                }
                if let Err(e) = log.flush().await {
                    tracing::warn!(error = %e, "cannot write usage records; keeping them for the next attempt");
                }
                if pruned.elapsed() >= PRUNE_EVERY {
                    pruned = Instant::now();
                    if let Err(e) = log.prune().await {
                        tracing::warn!(error = %e, "cannot delete old usage records");
                    }
                }
            }
            if let Err(e) = log.flush().await {
                tracing::warn!(error = %e, "cannot write the last usage records");
            }
        });
    }

    /// Usage between `since` (inclusive) and `until` (exclusive), of
    /// `user_id` only when given, summed by `by`, largest request count first.
    pub async fn sums(
        &self,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        user_id: Option<&str>,
        by: GroupBy,
    ) -> Result<Vec<UsageSum>, surrealdb::Error> {
        let field = match by {
            GroupBy::User => "email",
            GroupBy::Key => "key_prefix",
            GroupBy::Profile => "profile",
        };
        let mut filters = Vec::new();
        if since.is_some() {
            filters.push("at >= $since");
        }
        if until.is_some() {
            filters.push("at < $until");
        }
        if user_id.is_some() {
            filters.push("user_id = $user");
        }
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let sql = format!(
            "SELECT {field} AS name, count() AS requests, count(status >= 400) AS errors, \
             math::sum(prompt_tokens ?? 0) AS prompt_tokens, \
             math::sum(completion_tokens ?? 0) AS completion_tokens, \
             math::sum(duration_ms) AS duration_ms \
             FROM gateway_usage {filter} GROUP BY name"
        );
        let mut resp = self
            .db
            .query(sql)
            .bind(("since", since))
            .bind(("until", until))
            .bind(("user", user_id.map(str::to_owned)))
            .await?
            .check()?;
        let rows: Vec<SumRow> = resp.take(0)?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut sums: Vec<UsageSum> = rows
            .into_iter()
            .map(|r| UsageSum {
                group: r.name.unwrap_or_else(|| LOGIN_TOKEN_GROUP.to_owned()),
                requests: count(r.requests),
                errors: count(r.errors),
                prompt_tokens: count(r.prompt_tokens),
                completion_tokens: count(r.completion_tokens),
                duration_ms: count(r.duration_ms),
            })
            .collect();
        sums.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.group.cmp(&b.group)));
        Ok(sums)
    }
}

/// Who made a request and for which profile: the start of its record.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// The key's prefix, when a key was used.
    pub key_prefix: Option<String>,
}

/// Follows one request's answer and records it when the answer ends or is
/// dropped (the client hung up).
pub(crate) struct Tracker {
    log: Arc<UsageLog>,
    record: UsageRecord,
    arrived: Instant,
    status: u16,
    first_byte: Option<Duration>,
    tail: Vec<u8>,
    ended: bool,
    broken: bool,
}

impl Tracker {
    /// Start the record of a request that arrived at `arrived` (by the
    /// monotonic clock) from `caller` for `profile`.
    pub fn new(log: Arc<UsageLog>, caller: Caller, profile: &str, arrived: Instant) -> Self {
        let at = log.now() - chrono::Duration::from_std(arrived.elapsed()).unwrap_or_default();
        Self {
            record: UsageRecord {
                id: RecordId::new("gateway_usage", uuid::Uuid::new_v4().simple().to_string()),
                at,
                user_id: caller.user_id,
                email: caller.email,
                key_prefix: caller.key_prefix,
                profile: profile.to_owned(),
                status: 0,
                duration_ms: 0,
                ttfb_ms: None,
                prompt_tokens: None,
                completion_tokens: None,
            },
            log,
            arrived,
            status: 0,
            first_byte: None,
            tail: Vec::new(),
            ended: false,
            broken: false,
        }
    }

    /// The request ends with the gateway's own answer of `status` (refused,
    /// or the server unreachable).
    pub fn refused(mut self, status: u16) {
        self.status = status;
        self.ended = true;
    }

    /// The upstream answered with `status`; its body follows.
    pub fn answered(&mut self, status: u16) {
        self.status = status;
    }

    /// A chunk of the answer passed to the client.
    pub fn saw(&mut self, chunk: &[u8]) {
        if self.first_byte.is_none() {
            self.first_byte = Some(self.arrived.elapsed());
        }
        if chunk.len() >= TAIL {
            self.tail.clear();
            self.tail
                .extend_from_slice(chunk.get(chunk.len() - TAIL..).unwrap_or(chunk));
        } else {
            let keep = (self.tail.len() + chunk.len()).saturating_sub(TAIL);
            self.tail.drain(..keep);
            self.tail.extend_from_slice(chunk);
        }
    }

    /// The answer ended (`broken`: the server broke it off).
    pub fn ended(&mut self, broken: bool) {
        self.ended = true;
        self.broken |= broken;
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let status = match (self.ended, self.broken) {
            (false, _) => CLIENT_CLOSED,
            (true, true) => 502,
            (true, false) => self.status,
        };
        let (prompt, completion) = usage_in(&self.tail).unzip();
        let mut record = self.record.clone();
        record.status = i64::from(status);
        record.duration_ms = ms(self.arrived.elapsed());
        record.ttfb_ms = self.first_byte.map(ms);
        record.prompt_tokens = prompt.flatten();
        record.completion_tokens = completion.flatten();
        self.log.record(record);
    }
}

/// The token counts of the last `"usage": {...}` object in `tail` (a JSON
/// answer's or a stream's final chunk): `(prompt_tokens, completion_tokens)`.
fn usage_in(tail: &[u8]) -> Option<(Option<i64>, Option<i64>)> {
    let finder = memchr::memmem::FinderRev::new(b"\"usage\"");
    let mut end = tail.len();
    while let Some(at) = finder.rfind(tail.get(..end)?) {
        end = at;
        let rest = tail.get(at + 7..)?;
        let rest = skip_space(rest);
        let Some(rest) = rest.strip_prefix(b":") else {
            continue;
        };
        let rest = skip_space(rest);
        if !rest.starts_with(b"{") {
            continue;
        }
        let mut values =
            serde_json::Deserializer::from_slice(rest).into_iter::<serde_json::Value>();
        if let Some(Ok(serde_json::Value::Object(usage))) = values.next() {
            let n = |k: &str| usage.get(k).and_then(serde_json::Value::as_i64);
            return Some((n("prompt_tokens"), n("completion_tokens")));
        }
    }
    None
}

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    s.get(n..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_come_from_the_last_usage_object_of_a_body_or_stream() {
        let body = br#"{"id":"x","choices":[],"usage": {"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#;
        assert_eq!(usage_in(body), Some((Some(5), Some(7))));
        let stream = b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n\
            data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9}}\n\ndata: [DONE]\n\n";
        assert_eq!(usage_in(stream), Some((Some(3), Some(9))));
        let embeddings = br#"{"data":[],"usage":{"prompt_tokens":4,"total_tokens":4}}"#;
        assert_eq!(usage_in(embeddings), Some((Some(4), None)));
        assert_eq!(usage_in(b"data: {\"usage\":null}\n\n"), None);
        assert_eq!(usage_in(b"the word \"usage\" in text"), None);
    }

    #[tokio::test]
    async fn records_are_written_in_one_batch_and_summed_by_group() {
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        crate::store::migrate(&db, "local", &[("core", crate::migrations::CORE)])
            .await
            .expect("migrations");
        let log = UsageLog::new(
            db,
            Arc::new(mlx_manager_sdk::clock::SystemClock),
            Duration::from_secs(3600),
            Observers::new(),
        );
        let caller = |email: &str, key: Option<&str>| Caller {
            user_id: email.to_owned(),
            email: email.to_owned(),
            key_prefix: key.map(str::to_owned),
        };
        for (who, key, profile, status) in [
            ("a@x", Some("mlxm_1"), "qwen", 200),
            ("a@x", None, "qwen", 429),
            ("b@x", Some("mlxm_2"), "llama", 200),
        ] {
            let mut t = Tracker::new(log.clone(), caller(who, key), profile, Instant::now());
            t.answered(status);
            t.saw(br#"{"usage":{"prompt_tokens":2,"completion_tokens":3}}"#);
            t.ended(false);
        }
        Tracker::new(log.clone(), caller("b@x", None), "llama", Instant::now()); // hung up
        // A batch written twice (its answer lost) counts once.
        let again: Vec<UsageRecord> = lock(&log.pending).iter().cloned().collect();
        assert_eq!(log.flush().await.expect("written"), 4);
        assert_eq!(log.flush().await.expect("nothing left"), 0);
        lock(&log.pending).extend(again);
        assert_eq!(log.flush().await.expect("rewritten"), 4);

        let by_user = log
            .sums(None, None, None, GroupBy::User)
            .await
            .expect("sums");
        assert_eq!(by_user.len(), 2);
        let a = by_user.iter().find(|s| s.group == "a@x").expect("a");
        assert_eq!(
            (a.requests, a.errors, a.prompt_tokens, a.completion_tokens),
            (2, 1, 4, 6)
        );
        let b = by_user.iter().find(|s| s.group == "b@x").expect("b");
        assert_eq!(
            (b.requests, b.errors),
            (2, 1),
            "a hang-up counts as an error"
        );

        let by_key = log
            .sums(None, None, Some("a@x"), GroupBy::Key)
            .await
            .expect("sums");
        let groups: Vec<&str> = by_key.iter().map(|s| s.group.as_str()).collect();
        assert_eq!(groups, [LOGIN_TOKEN_GROUP, "mlxm_1"]);

        let later = log.now() + chrono::Duration::seconds(60);
        let none = log
            .sums(Some(later), None, None, GroupBy::Profile)
            .await
            .expect("sums");
        assert!(none.is_empty());
    }
}
