//! `/api/profiles`: server profiles.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{ApiError, Auth, JsonBody};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use serde::Deserialize;

use super::{ApiTags, profile_target, publish};
use crate::{
    actions,
    profiles::{LogLevel, ModelType, NewProfile, Profile, ProfileError, ProfilePatch},
    servers::ServerError,
    state::AppState,
    system::service::{self, ServiceError},
};

/// A server profile: how to run one model server.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Profile", skip_serializing_if_is_none)]
pub struct ProfileOut {
    /// Opaque, URL-safe id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// A Hugging Face repo id (`org/name`) or a local path.
    pub model_path: String,
    /// The kind of model: mlx-openai-server's `--model-type`.
    pub model_type: ModelType,
    /// Unique port of the server.
    pub port: u16,
    /// Address the server listens on.
    pub host: String,
    /// Context length override.
    pub context_length: Option<u32>,
    /// Requests served at once; passed as `--max-concurrency` to
    /// mlx-openai-server before 1.7 (later releases batch instead).
    pub max_concurrency: u32,
    /// Requests decoded together (`--decode-concurrency`, mlx-openai-server 1.8
    /// and later); unset: the server's default.
    pub decode_concurrency: Option<u32>,
    /// Prompts prefilled together (`--prompt-concurrency`, mlx-openai-server
    /// 1.8 and later); unset: the server's default.
    pub prompt_concurrency: Option<u32>,
    /// Seconds a request may wait in the queue.
    pub queue_timeout: u32,
    /// Requests that may wait.
    pub queue_size: u32,
    /// Tool-call parser.
    pub tool_call_parser: Option<String>,
    /// Reasoning parser.
    pub reasoning_parser: Option<String>,
    /// Message converter.
    pub message_converter: Option<String>,
    /// Let the model choose tools.
    pub enable_auto_tool_choice: bool,
    /// Run code shipped with the model.
    pub trust_remote_code: bool,
    /// Chat template file.
    pub chat_template_file: Option<String>,
    /// The server's log level.
    pub log_level: LogLevel,
    /// The server's own log file.
    pub log_file: Option<String>,
    /// Tell the server not to write its own log file.
    pub no_log_file: bool,
    /// Start when the login service loads.
    pub auto_start: bool,
    /// System prompt.
    pub system_prompt: Option<String>,
    /// A login service (launchd/systemd) is installed for this profile.
    pub service_installed: bool,
    /// Settings of this profile that the model-server command cannot carry,
    /// as sentences: set but not used by the `[servers] args` template, or not
    /// accepted by the installed mlx-openai-server version (detected from
    /// `<program> --version`). Empty when every setting reaches the server.
    pub warnings: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl ProfileOut {
    /// The response for `p`, with the warnings of its command.
    pub fn new(p: Profile, warnings: Vec<String>) -> Self {
        let v = p.values;
        Self {
            id: p.id,
            name: v.name,
            description: v.description,
            model_path: v.model_path,
            model_type: v.model_type,
            port: v.port,
            host: v.host,
            context_length: v.context_length,
            max_concurrency: v.max_concurrency,
            decode_concurrency: v.decode_concurrency,
            prompt_concurrency: v.prompt_concurrency,
            queue_timeout: v.queue_timeout,
            queue_size: v.queue_size,
            tool_call_parser: v.tool_call_parser,
            reasoning_parser: v.reasoning_parser,
            message_converter: v.message_converter,
            enable_auto_tool_choice: v.enable_auto_tool_choice,
            trust_remote_code: v.trust_remote_code,
            chat_template_file: v.chat_template_file,
            log_level: v.log_level,
            log_file: v.log_file,
            no_log_file: v.no_log_file,
            auto_start: v.auto_start,
            system_prompt: v.system_prompt,
            service_installed: p.service_installed,
            warnings,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A new profile. Only `name` and `model_path` are required.
#[derive(Object, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileCreate {
    /// Unique name, 1 to 100 characters.
    pub name: String,
    /// Free text, up to 1000 characters.
    pub description: Option<String>,
    /// A Hugging Face repo id or a local path (must not start with `-`).
    pub model_path: String,
    /// Default `lm`.
    pub model_type: Option<ModelType>,
    /// 1024..=65535; default: the next free port.
    pub port: Option<i64>,
    /// Default `127.0.0.1`.
    pub host: Option<String>,
    /// Context length override.
    pub context_length: Option<i64>,
    /// Default 1 (1..=1024).
    pub max_concurrency: Option<i64>,
    /// 1..=1024; unset: the server's default (mlx-openai-server 1.8: 32).
    pub decode_concurrency: Option<i64>,
    /// 1..=1024; unset: the server's default (mlx-openai-server 1.8: 8).
    pub prompt_concurrency: Option<i64>,
    /// Default 300 (seconds).
    pub queue_timeout: Option<i64>,
    /// Default 100.
    pub queue_size: Option<i64>,
    /// Tool-call parser.
    pub tool_call_parser: Option<String>,
    /// Reasoning parser.
    pub reasoning_parser: Option<String>,
    /// Message converter.
    pub message_converter: Option<String>,
    /// Default false.
    pub enable_auto_tool_choice: Option<bool>,
    /// Default false.
    pub trust_remote_code: Option<bool>,
    /// Chat template file.
    pub chat_template_file: Option<String>,
    /// Default `INFO`.
    pub log_level: Option<LogLevel>,
    /// The server's own log file.
    pub log_file: Option<String>,
    /// Default false.
    pub no_log_file: Option<bool>,
    /// Default false.
    pub auto_start: Option<bool>,
    /// System prompt.
    pub system_prompt: Option<String>,
}

/// A partial update: absent fields stay; `null` clears an optional field.
#[derive(Object, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description, or `null` to clear it.
    #[oai(nullable)]
    pub description: MaybeUndefined<String>,
    /// New model.
    pub model_path: Option<String>,
    /// New model type.
    pub model_type: Option<ModelType>,
    /// New port.
    pub port: Option<i64>,
    /// New host.
    pub host: Option<String>,
    /// New context length, or `null` to clear it.
    #[oai(nullable)]
    pub context_length: MaybeUndefined<i64>,
    /// New value.
    pub max_concurrency: Option<i64>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub decode_concurrency: MaybeUndefined<i64>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub prompt_concurrency: MaybeUndefined<i64>,
    /// New value.
    pub queue_timeout: Option<i64>,
    /// New value.
    pub queue_size: Option<i64>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub tool_call_parser: MaybeUndefined<String>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub reasoning_parser: MaybeUndefined<String>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub message_converter: MaybeUndefined<String>,
    /// New value.
    pub enable_auto_tool_choice: Option<bool>,
    /// New value.
    pub trust_remote_code: Option<bool>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub chat_template_file: MaybeUndefined<String>,
    /// New value.
    pub log_level: Option<LogLevel>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub log_file: MaybeUndefined<String>,
    /// New value.
    pub no_log_file: Option<bool>,
    /// New value.
    pub auto_start: Option<bool>,
    /// New value, or `null` to clear it.
    #[oai(nullable)]
    pub system_prompt: MaybeUndefined<String>,
}

fn opt<T>(m: MaybeUndefined<T>) -> Option<Option<T>> {
    m.into()
}

impl From<ProfileCreate> for NewProfile {
    fn from(c: ProfileCreate) -> Self {
        Self {
            name: c.name,
            description: c.description,
            model_path: c.model_path,
            model_type: c.model_type,
            port: c.port,
            host: c.host,
            context_length: c.context_length,
            max_concurrency: c.max_concurrency,
            decode_concurrency: c.decode_concurrency,
            prompt_concurrency: c.prompt_concurrency,
            queue_timeout: c.queue_timeout,
            queue_size: c.queue_size,
            tool_call_parser: c.tool_call_parser,
            reasoning_parser: c.reasoning_parser,
            message_converter: c.message_converter,
            enable_auto_tool_choice: c.enable_auto_tool_choice,
            trust_remote_code: c.trust_remote_code,
            chat_template_file: c.chat_template_file,
            log_level: c.log_level,
            log_file: c.log_file,
            no_log_file: c.no_log_file,
            auto_start: c.auto_start,
            system_prompt: c.system_prompt,
        }
    }
}

impl From<ProfileUpdate> for ProfilePatch {
    fn from(u: ProfileUpdate) -> Self {
        Self {
            name: u.name,
            description: opt(u.description),
            model_path: u.model_path,
            model_type: u.model_type,
            port: u.port,
            host: u.host,
            context_length: opt(u.context_length),
            max_concurrency: u.max_concurrency,
            decode_concurrency: opt(u.decode_concurrency),
            prompt_concurrency: opt(u.prompt_concurrency),
            queue_timeout: u.queue_timeout,
            queue_size: u.queue_size,
            tool_call_parser: opt(u.tool_call_parser),
            reasoning_parser: opt(u.reasoning_parser),
            message_converter: opt(u.message_converter),
            enable_auto_tool_choice: u.enable_auto_tool_choice,
            trust_remote_code: u.trust_remote_code,
            chat_template_file: opt(u.chat_template_file),
            log_level: u.log_level,
            log_file: opt(u.log_file),
            no_log_file: u.no_log_file,
            auto_start: u.auto_start,
            system_prompt: opt(u.system_prompt),
        }
    }
}

impl From<ProfileError> for ApiError {
    fn from(err: ProfileError) -> Self {
        let detail = err.to_string();
        match err {
            ProfileError::Invalid(_) => ApiError::unprocessable("invalid_profile", detail),
            ProfileError::NotFound => ApiError::not_found("profile_not_found", detail),
            ProfileError::NameTaken => ApiError::conflict("name_taken", detail),
            ProfileError::PortTaken => ApiError::conflict("port_taken", detail),
            ProfileError::NoFreePort(_) => ApiError::conflict("no_free_port", detail),
            ProfileError::Store(e) => ApiError::internal(e),
        }
    }
}

impl From<ServerError> for ApiError {
    fn from(err: ServerError) -> Self {
        match err {
            ServerError::AlreadyRunning => ApiError::conflict("already_running", err.to_string()),
            ServerError::NotRunning => ApiError::not_found("server_not_running", err.to_string()),
            ServerError::StartFailed { ref tail, .. } => {
                let mut detail = err.to_string();
                if !tail.is_empty() {
                    detail.push_str(". Last output:\n");
                    detail.push_str(tail);
                }
                ApiError::conflict("start_failed", detail)
            }
            ServerError::Log(e) => ApiError::internal(e),
        }
    }
}

/// The next free port.
#[derive(Object, Debug)]
pub struct NextPort {
    /// The lowest port at or above `[servers] port_start` that no profile uses.
    pub port: u16,
}

/// 201 with the created profile.
#[derive(ApiResponse)]
pub enum ProfileCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<ProfileOut>),
}

/// 204.
#[derive(ApiResponse)]
pub enum Deleted {
    /// Deleted; no content.
    #[oai(status = 204)]
    NoContent,
}

/// The response for one profile, with the warnings of its command for the
/// installed model-server program.
async fn out(state: &AppState, profile: Profile) -> ProfileOut {
    let program = state.supervisor.program().await;
    let warnings = state.supervisor.warnings(&profile, &program);
    ProfileOut::new(profile, warnings)
}

/// Server profiles.
#[derive(Default)]
pub struct ProfilesApi;

#[OpenApi(tag = "ApiTags::Profiles")]
impl ProfilesApi {
    /// List profiles
    ///
    /// Action: `profiles.read`. Ordered by name.
    #[oai(path = "/api/profiles", method = "get", operation_id = "listProfiles")]
    async fn list(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<Vec<ProfileOut>>, ApiError> {
        auth.require(actions::PROFILES_READ)?;
        let profiles = state.profiles.list().await?;
        let program = state.supervisor.program().await;
        let out = profiles.into_iter().map(|p| {
            let warnings = state.supervisor.warnings(&p, &program);
            ProfileOut::new(p, warnings)
        });
        Ok(Json(out.collect()))
    }

    /// Next free port
    ///
    /// Action: `profiles.read`. The lowest port at or above `[servers] port_start`
    /// that no profile uses (gaps are filled).
    #[oai(
        path = "/api/profiles/next-port",
        method = "get",
        operation_id = "getNextPort"
    )]
    async fn next_port(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<NextPort>, ApiError> {
        auth.require(actions::PROFILES_READ)?;
        Ok(Json(NextPort {
            port: state.profiles.next_port().await?,
        }))
    }

    /// Get a profile
    ///
    /// Action: `profiles.read`. Errors: 404 `profile_not_found` "Profile not found".
    #[oai(
        path = "/api/profiles/:id",
        method = "get",
        operation_id = "getProfile"
    )]
    async fn get(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile's id.
        id: Path<String>,
    ) -> Result<Json<ProfileOut>, ApiError> {
        auth.require(actions::PROFILES_READ)?;
        let profile = state.profiles.get(&id.0).await?;
        Ok(Json(out(&state, profile).await))
    }

    /// Create a profile
    ///
    /// Action: `profiles.write`. Without `port`, the next free port. Errors: 409
    /// `name_taken` "Profile name already exists", `port_taken` "Port already in use
    /// by another profile"; 422 `invalid_profile` (the message names the field),
    /// `invalid_body`.
    #[oai(
        path = "/api/profiles",
        method = "post",
        operation_id = "createProfile"
    )]
    async fn create(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        body: JsonBody<ProfileCreate>,
    ) -> Result<ProfileCreated, ApiError> {
        let who = auth.require(actions::PROFILES_WRITE)?;
        let profile = state.profiles.create(body.0.into()).await?;
        let target = profile_target("profile", &profile.id, &profile.values.name);
        publish(&state, who, actions::PROFILE_CREATE, target).await;
        Ok(ProfileCreated::Created(Json(out(&state, profile).await)))
    }

    /// Update a profile
    ///
    /// Action: `profiles.write`. Partial: absent fields stay as they are, `null`
    /// clears an optional field. A running server keeps its old settings until it
    /// is restarted. Errors: 404; 409 as for create, and `service_installed` when
    /// renaming a profile whose login service is installed; 422.
    #[oai(
        path = "/api/profiles/:id",
        method = "put",
        operation_id = "updateProfile"
    )]
    async fn update(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile's id.
        id: Path<String>,
        body: JsonBody<ProfileUpdate>,
    ) -> Result<Json<ProfileOut>, ApiError> {
        auth.require(actions::PROFILES_WRITE)?;
        let patch: ProfilePatch = body.0.into();
        if let Some(name) = &patch.name {
            let current = state.profiles.get(&id.0).await?;
            if current.service_installed && name.trim() != current.values.name {
                return Err(ApiError::conflict(
                    "service_installed",
                    "Remove the profile's login service before renaming it (the service's label follows the name)",
                ));
            }
        }
        let profile = state.profiles.update(&id.0, patch).await?;
        let target = profile_target("profile", &profile.id, &profile.values.name);
        publish(&state, auth.principal(), actions::PROFILE_UPDATE, target).await;
        Ok(Json(out(&state, profile).await))
    }

    /// Delete a profile
    ///
    /// Action: `profiles.write`. A running server of this profile is stopped
    /// first, and its login service (if installed) removed. Errors: 404; 503 when
    /// the login service cannot be removed.
    #[oai(
        path = "/api/profiles/:id",
        method = "delete",
        operation_id = "deleteProfile"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile's id.
        id: Path<String>,
    ) -> Result<Deleted, ApiError> {
        auth.require(actions::PROFILES_WRITE)?;
        let profile = state.profiles.get(&id.0).await?;
        match state.supervisor.stop(&profile.id, false).await {
            Ok(()) | Err(ServerError::NotRunning) => {}
            Err(e) => return Err(e.into()),
        }
        if profile.service_installed {
            match state
                .services
                .uninstall(&service::label(&profile.values.name))
                .await
            {
                Ok(()) | Err(ServiceError::NotInstalled) => {}
                Err(e) => return Err(e.into()),
            }
        }
        state.profiles.delete(&profile.id).await?;
        let target = profile_target("profile", &profile.id, &profile.values.name);
        publish(&state, auth.principal(), actions::PROFILE_DELETE, target).await;
        Ok(Deleted::NoContent)
    }

    /// Duplicate a profile
    ///
    /// Action: `profiles.write`. A copy named `new_name`, on the next free port,
    /// with `auto_start` off. Errors: 404; 409 `name_taken`; 422.
    #[oai(
        path = "/api/profiles/:id/duplicate",
        method = "post",
        operation_id = "duplicateProfile"
    )]
    async fn duplicate(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The profile to copy.
        id: Path<String>,
        /// The copy's name.
        new_name: Query<String>,
    ) -> Result<ProfileCreated, ApiError> {
        auth.require(actions::PROFILES_WRITE)?;
        let profile = state.profiles.duplicate(&id.0, &new_name.0).await?;
        let target = profile_target("profile", &profile.id, &profile.values.name);
        publish(&state, auth.principal(), actions::PROFILE_CREATE, target).await;
        Ok(ProfileCreated::Created(Json(out(&state, profile).await)))
    }
}
