//! `/api/profiles`: server profiles.

use crate::api::codes;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use mlx_manager_sdk::{ApiError, Auth, Done, JsonBody};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};

use super::{ApiTags, profile_target, publish};
use crate::{
    actions,
    lifecycle::LifecycleError,
    profiles::{NewProfile, Profile, ProfileError, ProfilePatch, ProfileValues},
    servers::ServerError,
    state::AppState,
};

/// A server profile: how to run one model server.
#[derive(Object, Debug, Clone)]
#[oai(rename = "Profile", skip_serializing_if_is_none)]
pub struct ProfileOut {
    /// Opaque, URL-safe id.
    pub id: String,
    /// The profile's values.
    #[oai(flatten)]
    pub values: ProfileValues,
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
        Self {
            id: p.id,
            values: p.values,
            service_installed: p.service_installed,
            warnings,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<ProfileError> for ApiError {
    fn from(err: ProfileError) -> Self {
        let detail = err.to_string();
        match err {
            ProfileError::Invalid(_) => ApiError::unprocessable(codes::INVALID_PROFILE, detail),
            ProfileError::NotFound => ApiError::not_found(codes::PROFILE_NOT_FOUND, detail),
            ProfileError::NameTaken => ApiError::conflict(codes::NAME_TAKEN, detail),
            ProfileError::PortTaken => ApiError::conflict(codes::PORT_TAKEN, detail),
            ProfileError::NoFreePort(_) => ApiError::conflict(codes::NO_FREE_PORT, detail),
            ProfileError::Store(e) => ApiError::store(&e),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(err: LifecycleError) -> Self {
        match err {
            LifecycleError::Profile(e) => e.into(),
            LifecycleError::Server(e) => e.into(),
            LifecycleError::Service(e) => e.into(),
            LifecycleError::PublicBind(_) => {
                ApiError::conflict(codes::PUBLIC_BIND_REFUSED, err.to_string())
            }
            LifecycleError::RenameWhileInstalled => {
                ApiError::conflict(codes::SERVICE_INSTALLED, err.to_string())
            }
        }
    }
}

impl From<ServerError> for ApiError {
    fn from(err: ServerError) -> Self {
        match err {
            ServerError::AlreadyRunning => {
                ApiError::conflict(codes::ALREADY_RUNNING, err.to_string())
            }
            ServerError::NotRunning => {
                ApiError::not_found(codes::SERVER_NOT_RUNNING, err.to_string())
            }
            ServerError::StartFailed { ref tail, .. } => {
                let mut detail = err.to_string();
                if !tail.is_empty() {
                    detail.push_str(". Last output:\n");
                    detail.push_str(tail);
                }
                ApiError::conflict(codes::START_FAILED, detail)
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
        body: JsonBody<NewProfile>,
    ) -> Result<ProfileCreated, ApiError> {
        let who = auth.require(actions::PROFILES_WRITE)?;
        let profile = state.profiles.create(body.0).await?;
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
        body: JsonBody<ProfilePatch>,
    ) -> Result<Json<ProfileOut>, ApiError> {
        auth.require(actions::PROFILES_WRITE)?;
        let profile = state.lifecycle.update(&id.0, body.0).await?;
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
    ) -> Result<Done, ApiError> {
        auth.require(actions::PROFILES_WRITE)?;
        let profile = state.lifecycle.delete(&id.0).await?;
        let target = profile_target("profile", &profile.id, &profile.values.name);
        publish(&state, auth.principal(), actions::PROFILE_DELETE, target).await;
        Ok(Done::NoContent)
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
