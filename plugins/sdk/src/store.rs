//! The store handle type and helpers to classify SurrealDB errors.

/// The store: SurrealDB through the `any` engine (`mem://`, `surrealkv://`, `ws://`).
pub type Db = surrealdb::Surreal<surrealdb::engine::any::Any>;

/// Whether `err` is a UNIQUE index violation (SurrealDB 3 reports it only in the
/// message: "Database index `x` already contains ...").
pub fn is_unique_violation(err: &surrealdb::Error) -> bool {
    err.message().contains("already contains")
}

/// Whether `err` is a write-write transaction conflict that may be retried.
pub fn is_retryable(err: &surrealdb::Error) -> bool {
    matches!(
        err.query_details(),
        Some(surrealdb::types::QueryError::TransactionConflict)
    ) || err.message().contains("can be retried")
}

/// Whether `err` says a record with the same id already exists.
pub fn is_record_exists(err: &surrealdb::Error) -> bool {
    err.is_already_exists() || err.message().contains("already exists")
}

/// Named query parameters.
pub type Binds = Vec<(&'static str, surrealdb::types::Value)>;

/// One named parameter.
pub fn bind(
    name: &'static str,
    value: impl surrealdb::types::SurrealValue,
) -> (&'static str, surrealdb::types::Value) {
    (name, value.into_value())
}

const MAX_ATTEMPTS: u32 = 25;

/// Run `sql`, a `BEGIN TRANSACTION; ...; RETURN $x; COMMIT TRANSACTION;` block, with
/// `binds`, and give the value of its `RETURN` (the statement before `COMMIT`).
///
/// A write-write conflict is retried (with a short random backoff) up to 25 times;
/// any other failure returns the statement error that caused it (not the "query
/// was not executed" errors of the statements it cancelled).
pub async fn transaction(
    db: &Db,
    sql: &str,
    binds: &Binds,
) -> Result<surrealdb::types::Value, surrealdb::Error> {
    let mut attempt = 1;
    loop {
        match transaction_once(db, sql, binds).await {
            Err(e) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                let jitter = u64::from(rand_byte()) % 20;
                let wait = (u64::from(attempt) * 5).min(100) + jitter;
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn transaction_once(
    db: &Db,
    sql: &str,
    binds: &Binds,
) -> Result<surrealdb::types::Value, surrealdb::Error> {
    let mut query = db.query(sql);
    for (name, value) in binds {
        query = query.bind((name.to_string(), value.clone()));
    }
    let mut response = query.await?;
    if let Some(cause) = first_cause(response.take_errors()) {
        return Err(cause);
    }
    let last = response.num_statements().saturating_sub(2);
    response.take(last)
}

/// The error that caused a failed multi-statement query, rather than the
/// "not executed" errors of the statements it cancelled.
pub fn first_cause(
    errors: std::collections::HashMap<usize, surrealdb::Error>,
) -> Option<surrealdb::Error> {
    let mut errors: Vec<(usize, surrealdb::Error)> = errors.into_iter().collect();
    errors.sort_by_key(|(i, _)| *i);
    // A conflict at COMMIT is the cause of everything else (and is retryable).
    let conflict = errors.iter().position(|(_, e)| is_retryable(e));
    let consequence = |e: &surrealdb::Error| {
        let m = e.message();
        m.contains("not executed due to") || m.contains("aborted due to a prior error")
    };
    let cause = conflict.or_else(|| errors.iter().position(|(_, e)| !consequence(e)));
    match cause {
        Some(i) => Some(errors.swap_remove(i).1),
        None => errors.into_iter().next().map(|(_, e)| e),
    }
}

fn rand_byte() -> u8 {
    // Sub-second clock noise is plenty to de-synchronise retrying writers.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    (nanos % 251) as u8
}

/// The message of a `THROW` statement, without SurrealDB's prefix.
pub fn thrown_message(err: &surrealdb::Error) -> Option<&str> {
    err.is_thrown()
        .then(|| err.message().trim_start_matches("An error occurred: "))
}

/// The key of a record id, as clients see it (ids we create are strings).
pub fn record_key(id: &surrealdb::types::RecordId) -> String {
    use surrealdb::types::RecordIdKey;
    match &id.key {
        RecordIdKey::String(s) => s.clone(),
        RecordIdKey::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Whether `id` can be a record key we issued (URL-safe, at most 64 characters).
/// Anything else is simply "not found", and never reaches a query.
pub fn is_valid_key(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
