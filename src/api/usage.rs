//! `GET /api/usage`: the gateway's usage, summed by user, key or profile.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{ApiError, Auth, Role, codes};
use poem::web::Data;
use poem_openapi::{Enum, Object, OpenApi, param::Query, payload::Json};

use super::ApiTags;
use crate::{
    actions,
    gateway::usage::{GroupBy, UsageSum},
    state::AppState,
};

/// What usage is summed by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "UsageGroupBy", rename_all = "lowercase")]
pub enum UsageGroup {
    /// The user's email.
    User,
    /// The API key's prefix (`login token` for requests made with one).
    Key,
    /// The profile's name.
    Profile,
}

impl From<UsageGroup> for GroupBy {
    fn from(g: UsageGroup) -> Self {
        match g {
            UsageGroup::User => GroupBy::User,
            UsageGroup::Key => GroupBy::Key,
            UsageGroup::Profile => GroupBy::Profile,
        }
    }
}

/// Gateway usage of one group.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The user's email, the key's prefix (`login token` for requests made
    /// with one) or the profile's name.
    pub group: String,
    /// Requests a profile was found for.
    pub requests: u64,
    /// Of those, answered with a status of 400 or more (the gateway's 429s and
    /// 503s, the server's errors, 499 when the client hung up, 502 when the
    /// server broke off its answer).
    pub errors: u64,
    /// Prompt tokens, from the answers' `usage`.
    pub prompt_tokens: u64,
    /// Completion tokens, from the answers' `usage`.
    pub completion_tokens: u64,
    /// Total time from arrival to the answer's end, in milliseconds.
    pub duration_ms: u64,
}

impl From<UsageSum> for Usage {
    fn from(s: UsageSum) -> Self {
        Self {
            group: s.group,
            requests: s.requests,
            errors: s.errors,
            prompt_tokens: s.prompt_tokens,
            completion_tokens: s.completion_tokens,
            duration_ms: s.duration_ms,
        }
    }
}

/// Gateway usage.
#[derive(Default)]
pub struct UsageApi;

#[OpenApi(tag = "ApiTags::Usage")]
impl UsageApi {
    /// Sum gateway usage
    ///
    /// Action: `usage.read`; a caller sees their own requests, an admin
    /// everyone's. Requests through `/v1` that named a profile, summed by
    /// `group_by` (default `user`), most requests first. Records are written
    /// about once a second, so the last second may be missing. No prompt or
    /// completion text is stored. Errors: 422 `invalid_parameter` when `since`
    /// is not before `until`.
    #[oai(path = "/api/usage", method = "get", operation_id = "getUsage")]
    async fn usage(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// Only requests that arrived at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Only requests that arrived before this time (RFC 3339).
        until: Query<Option<DateTime<Utc>>>,
        /// What to sum by: `user`, `key` or `profile`.
        group_by: Query<Option<UsageGroup>>,
    ) -> Result<Json<Vec<Usage>>, ApiError> {
        let who = auth.require(actions::USAGE_READ)?;
        if let (Some(since), Some(until)) = (since.0, until.0)
            && since >= until
        {
            return Err(ApiError::unprocessable(
                codes::INVALID_PARAMETER,
                "`since` must be before `until`",
            ));
        }
        let only = (who.role() != Role::Admin).then(|| who.user_id());
        let by = group_by.0.unwrap_or(UsageGroup::User).into();
        let sums = state
            .gateway
            .usage()
            .sums(since.0, until.0, only, by)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(sums.into_iter().map(Usage::from).collect()))
    }
}
