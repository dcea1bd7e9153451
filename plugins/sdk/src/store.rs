//! The store handle type and helpers to classify SurrealDB errors.

/// The store: SurrealDB through the `any` engine (`mem://`, `surrealkv://`, `ws://`).
pub type Db = surrealdb::Surreal<surrealdb::engine::any::Any>;

/// What a SurrealDB error means to the code that wrote. [`classify`] is the
/// one place that reads SurrealDB's messages (version 3 reports some kinds
/// only in text); its tests pin each reading to the SurrealDB in `Cargo.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreFailure {
    /// A UNIQUE index refused the write; `index` is the index's name.
    Unique {
        /// The index, as defined (`profile_port_unique`).
        index: String,
    },
    /// A write-write conflict: the transaction may be retried.
    Conflict,
    /// A `THROW` of ours, with its text (a code the thrower chose).
    Thrown(String),
    /// A field's `ASSERT` refused the value.
    Assert {
        /// The field.
        field: String,
    },
    /// A statement that did not run because an earlier one of its
    /// transaction failed (a consequence, not a cause).
    NotExecuted,
    /// The store's files are locked by another process.
    Locked,
    /// The store cannot be reached: a SurrealDB server that is gone, or did
    /// not answer within [`ANSWER_WITHIN`] (see [`bounded`]).
    Unreachable,
    /// Anything else: the store failed.
    Other,
}

/// The text between the first pair of backticks after `after` in `message`.
fn quoted_after<'a>(message: &'a str, after: &str) -> Option<&'a str> {
    let rest = &message[message.find(after)? + after.len()..];
    let start = rest.find('`')? + 1;
    let len = rest[start..].find('`')?;
    rest.get(start..start + len)
}

/// Classify `err`.
pub fn classify(err: &surrealdb::Error) -> StoreFailure {
    let message = err.message();
    if err.is_connection() {
        return StoreFailure::Unreachable;
    }
    if matches!(
        err.query_details(),
        Some(surrealdb::types::QueryError::TransactionConflict)
    ) || message.contains("can be retried")
    {
        return StoreFailure::Conflict;
    }
    if err.is_thrown() {
        let text = message.trim_start_matches("An error occurred: ");
        return StoreFailure::Thrown(text.to_owned());
    }
    // The message embeds the refused value; read only its fixed parts.
    if message.starts_with("Database index") && message.contains("already contains") {
        let index = quoted_after(message, "Database index").unwrap_or_default();
        return StoreFailure::Unique {
            index: index.to_owned(),
        };
    }
    if message.contains("must conform to") {
        // "Found <value> for field `f`, ...": the value comes first, so the
        // last "for field" is SurrealDB's.
        let last = message.rfind("for field").map_or("", |i| &message[i..]);
        let field = quoted_after(last, "for field").unwrap_or_default();
        return StoreFailure::Assert {
            field: field.to_owned(),
        };
    }
    if message.contains("not executed due to") || message.contains("aborted due to a prior error") {
        return StoreFailure::NotExecuted;
    }
    if message.to_lowercase().contains("lock") {
        return StoreFailure::Locked;
    }
    StoreFailure::Other
}

/// How long a store call on the request path may take before the store
/// counts as unreachable (a SurrealDB server that stalled or went away): the
/// caller then answers 503 at once instead of waiting for the connection.
pub const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// `call`, or a connection error ([`StoreFailure::Unreachable`]) when the
/// store has not answered within [`ANSWER_WITHIN`].
pub async fn bounded<T, E: From<surrealdb::Error>>(
    call: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    match tokio::time::timeout(ANSWER_WITHIN, call).await {
        Ok(answer) => answer,
        Err(_) => Err(E::from(surrealdb::Error::connection(
            format!(
                "the store did not answer within {} s",
                ANSWER_WITHIN.as_secs()
            ),
            surrealdb::types::ConnectionError::ConnectionFailed,
        ))),
    }
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
            Err(e) if classify(&e) == StoreFailure::Conflict && attempt < MAX_ATTEMPTS => {
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
    let conflict = errors
        .iter()
        .position(|(_, e)| classify(e) == StoreFailure::Conflict);
    let consequence = |e: &surrealdb::Error| classify(e) == StoreFailure::NotExecuted;
    let cause = conflict.or_else(|| errors.iter().position(|(_, e)| !consequence(e)));
    match cause {
        Some(i) => Some(errors.swap_remove(i).1),
        None => errors.into_iter().next().map(|(_, e)| e),
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "clock noise for a retry jitter, not a time"
)]
fn rand_byte() -> u8 {
    // Sub-second clock noise is plenty to de-synchronise retrying writers.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    (nanos % 251) as u8
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

#[cfg(test)]
mod tests {
    //! Each reading of [`classify`], against the real embedded SurrealDB (3.3
    //! in `Cargo.lock`): an upgrade that changes a message fails here first.

    use super::*;

    async fn db() -> Db {
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        db.query(
            "DEFINE TABLE t SCHEMAFULL;
             DEFINE FIELD name ON t TYPE string;
             DEFINE FIELD email ON t TYPE string ASSERT string::is_email($value);
             DEFINE INDEX t_name_unique ON t FIELDS name UNIQUE;",
        )
        .await
        .and_then(|r| r.check())
        .expect("schema");
        db
    }

    async fn failure(db: &Db, sql: &str) -> StoreFailure {
        let err = db
            .query(sql)
            .await
            .and_then(|r| r.check())
            .expect_err("the statement fails");
        classify(&err)
    }

    #[tokio::test]
    async fn a_unique_violation_names_its_index() {
        let db = db().await;
        let create = "CREATE t CONTENT { name: 'a', email: 'a@example.com' }";
        db.query(create)
            .await
            .and_then(|r| r.check())
            .expect("first");
        assert_eq!(
            failure(&db, create).await,
            StoreFailure::Unique {
                index: "t_name_unique".into()
            }
        );
    }

    #[tokio::test]
    async fn an_assert_names_its_field() {
        let db = db().await;
        assert_eq!(
            failure(&db, "CREATE t CONTENT { name: 'b', email: 'not an email' }").await,
            StoreFailure::Assert {
                field: "email".into()
            }
        );
    }

    #[tokio::test]
    async fn a_throw_gives_its_text() {
        let db = db().await;
        assert_eq!(
            failure(&db, "THROW 'last_admin'").await,
            StoreFailure::Thrown("last_admin".into())
        );
    }

    #[tokio::test]
    async fn the_statements_after_a_failure_in_a_transaction_did_not_run() {
        let db = db().await;
        let binds: Binds = Vec::new();
        let err = transaction(
            &db,
            "BEGIN TRANSACTION; CREATE t CONTENT { name: 'c', email: 'x' }; \
             CREATE t CONTENT { name: 'd', email: 'd@example.com' }; RETURN 1; COMMIT TRANSACTION;",
            &binds,
        )
        .await
        .expect_err("fails");
        assert_eq!(
            classify(&err),
            StoreFailure::Assert {
                field: "email".into()
            },
            "the cause, not a consequence: {err}"
        );
        let mut response = db
            .query(
                "BEGIN TRANSACTION; THROW 'x'; CREATE t CONTENT { name: 'e', \
                 email: 'e@example.com' }; COMMIT TRANSACTION;",
            )
            .await
            .expect("sent");
        let errors = response.take_errors();
        let kinds: Vec<StoreFailure> = errors.values().map(classify).collect();
        assert!(kinds.contains(&StoreFailure::NotExecuted), "{kinds:?}");
    }

    #[tokio::test]
    async fn concurrent_writers_of_one_record_conflict_and_the_retry_lets_both_land() {
        let db = db().await;
        let write = |n: i64| {
            let db = db.clone();
            async move {
                let binds: Binds = vec![bind("n", n)];
                transaction(
                    &db,
                    "BEGIN TRANSACTION; UPSERT counter:c SET n += $n; RETURN 1; COMMIT TRANSACTION;",
                    &binds,
                )
                .await
            }
        };
        let results = futures_util::future::join_all((1..=20).map(write)).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let n: Option<i64> = db
            .query("SELECT VALUE n FROM ONLY counter:c")
            .await
            .and_then(|mut r| r.take(0))
            .expect("read");
        assert_eq!(n, Some(210), "every retried write counted once");
    }

    #[test]
    fn anything_else_is_other() {
        let err = surrealdb::Error::internal("the disk is on fire".into());
        assert_eq!(classify(&err), StoreFailure::Other);
    }
}
