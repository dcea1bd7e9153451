//! `/api/audit/events`: the audit log, filtered and paged newest first, exported
//! as JSON Lines, and followed live as an event stream. Action `audit.read`.

use crate::codes;
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream::BoxStream};
use mlx_manager_sdk::{ApiError, Auth, StreamAuth};
use poem::{Body, web::Data};
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::Query,
    payload::{Binary, EventStream, Json},
};

use crate::{
    AUDIT_READ, AuditPlugin,
    store::{self, Filter, Row},
};

/// The plugin's tag.
#[derive(Tags)]
pub enum AuditTags {
    /// The audit log: who did what (admins by default, action `audit.read`).
    Audit,
}

/// Who acted.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditActor {
    /// The user's id.
    pub id: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// The user's role then.
    pub role: Option<String>,
    /// `password`, `token`, `api_key`, `ticket`, `cli` or `system`.
    pub via: String,
}

/// What was acted on.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditTarget {
    /// `user`, `profile`, `server`, `download`, `model`, `service`, `route`.
    pub kind: String,
    /// Its id.
    pub id: Option<String>,
    /// Its name (an email, a profile name, a model id, `METHOD /route`).
    pub name: Option<String>,
}

/// One audit event. Never holds a password, token, key or request body.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditEvent {
    /// Opaque, time-ordered id.
    pub id: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it.
    pub actor: AuditActor,
    /// What happened: `auth.login`, `profile.create`, `request.denied`...
    pub action: String,
    /// To what.
    pub target: AuditTarget,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    /// The client's address.
    pub address: Option<String>,
    /// A short sentence.
    pub detail: Option<String>,
}

impl From<Row> for AuditEvent {
    fn from(r: Row) -> Self {
        Self {
            id: r.key,
            time: r.time,
            actor: AuditActor {
                id: r.actor_id,
                email: r.actor_email,
                role: r.actor_role,
                via: r.actor_via,
            },
            action: r.action,
            target: AuditTarget {
                kind: r.target_kind,
                id: r.target_id,
                name: r.target_name,
            },
            outcome: r.outcome,
            address: r.address,
            detail: r.detail,
        }
    }
}

/// A page of events.
#[derive(Object, Debug)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// JSON Lines: one `AuditEvent` per line.
#[derive(ApiResponse)]
pub enum Export {
    /// The matching events, newest first, one JSON object per line.
    #[oai(status = 200, content_type = "application/x-ndjson")]
    Lines(Binary<Body>),
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::unprocessable(codes::INVALID_FILTER, detail)
}

fn filter(
    actor: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<Filter, ApiError> {
    if let Some(o) = &outcome
        && !["ok", "denied", "failed"].contains(&o.as_str())
    {
        return Err(bad("outcome must be ok, denied or failed"));
    }
    for (name, v) in [("actor", &actor), ("action", &action)] {
        if v.as_ref().is_some_and(|v| v.is_empty() || v.len() > 320) {
            return Err(bad(format!("{name} must be 1 to 320 characters")));
        }
    }
    Ok(Filter {
        actor,
        action,
        outcome,
        since,
        until,
    })
}

fn valid_cursor(cursor: &str) -> bool {
    cursor.len() == 30 && cursor.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The audit log.
#[derive(Default)]
pub struct AuditApi;

#[OpenApi(tag = "AuditTags::Audit")]
impl AuditApi {
    /// List audit events
    ///
    /// Action: `audit.read`. Newest first, `limit` (1 to 500, default 100) at a
    /// time; pass the answer's `next_cursor` as `cursor` for the next page (pages
    /// never repeat or skip an event). `actor` is a user id or email; `since` is
    /// inclusive, `until` exclusive (RFC 3339). Errors: 422 `invalid_filter`.
    #[oai(
        path = "/api/audit/events",
        method = "get",
        operation_id = "listAuditEvents"
    )]
    #[allow(clippy::too_many_arguments)] // one argument per query parameter
    async fn list(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuditPlugin>>,
        /// A user id or email.
        actor: Query<Option<String>>,
        /// An action, such as `auth.login`.
        action: Query<Option<String>>,
        /// `ok`, `denied` or `failed`.
        outcome: Query<Option<String>>,
        /// Events at or after this time.
        since: Query<Option<DateTime<Utc>>>,
        /// Events before this time.
        until: Query<Option<DateTime<Utc>>>,
        /// Events per page, 1 to 500.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "500"))
        )]
        limit: Query<u32>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<AuditPage>, ApiError> {
        auth.require(AUDIT_READ)?;
        let filter = filter(actor.0, action.0, outcome.0, since.0, until.0)?;
        if cursor.0.as_deref().is_some_and(|c| !valid_cursor(c)) {
            return Err(bad("cursor is not one this server gave out"));
        }
        let limit = limit.0 as usize;
        let mut rows = store::page(plugin.db(), &filter, cursor.0.as_deref(), limit + 1)
            .await
            .map_err(ApiError::internal)?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = more.then(|| rows.last().map(|r| r.key.clone())).flatten();
        Ok(Json(AuditPage {
            events: rows.into_iter().map(AuditEvent::from).collect(),
            next_cursor,
        }))
    }

    /// Export audit events
    ///
    /// Action: `audit.read`. Every event matching the filters of
    /// `listAuditEvents`, newest first, as JSON Lines (`application/x-ndjson`),
    /// streamed. Errors: 422 `invalid_filter`.
    #[oai(
        path = "/api/audit/events/export",
        method = "get",
        operation_id = "exportAuditEvents"
    )]
    #[allow(clippy::too_many_arguments)] // one argument per query parameter
    async fn export(
        &self,
        auth: Auth,
        plugin: Data<&Arc<AuditPlugin>>,
        /// A user id or email.
        actor: Query<Option<String>>,
        /// An action, such as `auth.login`.
        action: Query<Option<String>>,
        /// `ok`, `denied` or `failed`.
        outcome: Query<Option<String>>,
        /// Events at or after this time.
        since: Query<Option<DateTime<Utc>>>,
        /// Events before this time.
        until: Query<Option<DateTime<Utc>>>,
    ) -> Result<Export, ApiError> {
        auth.require(AUDIT_READ)?;
        let filter = filter(actor.0, action.0, outcome.0, since.0, until.0)?;
        let db = plugin.db().clone();
        let pages = futures_util::stream::unfold(
            (db, filter, None::<String>, false),
            |(db, filter, cursor, done)| async move {
                if done {
                    return None;
                }
                match store::page(&db, &filter, cursor.as_deref(), 500).await {
                    Ok(rows) if rows.is_empty() => None,
                    Ok(rows) => {
                        let next = rows.last().map(|r| r.key.clone());
                        let last = rows.len() < 500;
                        let mut text = String::new();
                        for row in rows {
                            let event = AuditEvent::from(row);
                            let json = poem_openapi::types::ToJSON::to_json_string(&event);
                            text.push_str(&json);
                            text.push('\n');
                        }
                        Some((Ok(bytes::Bytes::from(text)), (db, filter, next, last)))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "audit export failed");
                        let err = std::io::Error::other("the audit export failed");
                        Some((Err(err), (db, filter, cursor, true)))
                    }
                }
            },
        );
        Ok(Export::Lines(Binary(Body::from_bytes_stream(pages))))
    }

    /// Follow audit events
    ///
    /// Action: `audit.read`. `text/event-stream` of events as they are written
    /// (each event's data is an `AuditEvent`). Accepts a bearer token or a
    /// single-use `?ticket=` from `POST /api/auth/stream-ticket`. A viewer that
    /// falls more than 1024 events behind is disconnected (list the gap with
    /// `listAuditEvents`).
    #[oai(
        path = "/api/audit/events/stream",
        method = "get",
        operation_id = "streamAuditEvents"
    )]
    async fn stream(
        &self,
        auth: StreamAuth,
        plugin: Data<&Arc<AuditPlugin>>,
    ) -> Result<EventStream<BoxStream<'static, AuditEvent>>, ApiError> {
        auth.require(AUDIT_READ)?;
        let live = tokio_stream::wrappers::BroadcastStream::new(plugin.live());
        let stopping = plugin.stopping().clone();
        let events = live
            .take_while(|r| std::future::ready(r.is_ok()))
            .filter_map(|r| std::future::ready(r.ok()))
            .map(|row| AuditEvent::from((*row).clone()))
            .take_until(async move { stopping.cancelled().await });
        let events = auth.guard(AUDIT_READ, events);
        Ok(EventStream::new(events).keep_alive(Duration::from_secs(15)))
    }
}

fn default_limit() -> u32 {
    100
}
