//! `/api/models`: Hub search, downloads (with progress polling and an event
//! stream), and the local library. Handlers authorise, check input (model ids
//! become `ModelId` here; a bad one is 422), call one domain function and map
//! the result; [`ModelsError`]'s status table is `From<ModelsError> for ApiError`.

use crate::api::codes;
use std::{sync::Arc, time::Duration};

use futures_util::{StreamExt, stream::BoxStream};
use mlx_manager_sdk::{ApiError, Auth, Done, JsonBody, StreamAuth, Target};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::{EventStream, Json},
};
use serde::Deserialize;

use super::{ApiTags, publish};
use crate::{
    actions,
    models::{
        self, Characteristics, DownloadStatus, LocalModel, ModelId, ModelsError, TaskView, library,
        search::{self, Search, SearchHit},
    },
    state::AppState,
};

impl From<ModelsError> for ApiError {
    fn from(err: ModelsError) -> Self {
        let detail = err.to_string();
        match err {
            ModelsError::InvalidId(_) => ApiError::unprocessable(codes::INVALID_MODEL_ID, detail),
            ModelsError::EmptyQuery => ApiError::unprocessable(codes::EMPTY_QUERY, detail),
            ModelsError::InvalidParameter(_) => {
                ApiError::unprocessable(mlx_manager_sdk::codes::INVALID_PARAMETER, detail)
            }
            ModelsError::Offline => ApiError::unavailable(codes::HUB_OFFLINE, detail),
            ModelsError::Hub(_) => ApiError::bad_gateway(codes::HUB_ERROR, detail),
            ModelsError::ModelNotFound => ApiError::not_found(codes::MODEL_NOT_FOUND, detail),
            ModelsError::ConfigNotFound => ApiError::not_found(codes::CONFIG_NOT_FOUND, detail),
            ModelsError::TaskNotFound => ApiError::not_found(codes::TASK_NOT_FOUND, detail),
            ModelsError::ModelInUse => ApiError::conflict(codes::MODEL_IN_USE, detail),
            ModelsError::DownloadRunning => ApiError::conflict(codes::DOWNLOAD_IN_PROGRESS, detail),
            ModelsError::Store(_) | ModelsError::Io(_) | ModelsError::Internal(_) => {
                ApiError::internal(err)
            }
        }
    }
}

/// A search hit.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct ModelSearchResult {
    /// `org/name`.
    pub model_id: String,
    /// The author or organisation.
    pub author: String,
    /// Downloads (last 30 days, as the Hub counts them).
    pub downloads: u64,
    /// Likes.
    pub likes: u64,
    /// Size in GB (10^9 bytes): the Hub's `usedStorage`, else estimated from the
    /// name; 0 when neither is known.
    pub estimated_size_gb: f64,
    /// The Hub's tags.
    pub tags: Vec<String>,
    /// Whether the local cache holds a complete snapshot.
    pub is_downloaded: bool,
    /// Last change on the Hub (RFC 3339).
    pub last_modified: Option<String>,
}

impl From<SearchHit> for ModelSearchResult {
    fn from(h: SearchHit) -> Self {
        Self {
            model_id: h.model_id,
            author: h.author,
            downloads: h.downloads,
            likes: h.likes,
            estimated_size_gb: h.estimated_size_gb,
            tags: h.tags,
            is_downloaded: h.is_downloaded,
            last_modified: h.last_modified,
        }
    }
}

/// What a model's `config.json` says about it.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct ModelCharacteristics {
    /// `model_type`, e.g. `qwen2`.
    pub model_type: Option<String>,
    /// `architectures`.
    pub architectures: Vec<String>,
    /// Context length (`max_position_embeddings`).
    pub max_position_embeddings: Option<u64>,
    /// `num_hidden_layers`.
    pub num_hidden_layers: Option<u64>,
    /// `hidden_size`.
    pub hidden_size: Option<u64>,
    /// `vocab_size`.
    pub vocab_size: Option<u64>,
    /// `num_attention_heads`.
    pub num_attention_heads: Option<u64>,
    /// `num_key_value_heads`.
    pub num_key_value_heads: Option<u64>,
    /// `quantization.bits`.
    pub quantization_bits: Option<u64>,
    /// `quantization.group_size`.
    pub quantization_group_size: Option<u64>,
    /// Whether the model takes images (`vision_config` or `image_token_id`).
    pub is_multimodal: bool,
}

impl From<Characteristics> for ModelCharacteristics {
    fn from(c: Characteristics) -> Self {
        Self {
            model_type: c.model_type,
            architectures: c.architectures,
            max_position_embeddings: c.max_position_embeddings,
            num_hidden_layers: c.num_hidden_layers,
            hidden_size: c.hidden_size,
            vocab_size: c.vocab_size,
            num_attention_heads: c.num_attention_heads,
            num_key_value_heads: c.num_key_value_heads,
            quantization_bits: c.quantization_bits,
            quantization_group_size: c.quantization_group_size,
            is_multimodal: c.is_multimodal,
        }
    }
}

/// A model in the local cache.
#[derive(Object, Debug, Clone)]
#[oai(rename = "LocalModel", skip_serializing_if_is_none)]
pub struct LocalModelInfo {
    /// `org/name`.
    pub model_id: String,
    /// The snapshot directory (usable as a profile's `model_path`).
    pub local_path: String,
    /// Bytes of the snapshot's files.
    pub size_bytes: u64,
    /// `size_bytes` in GB (10^9 bytes), two decimals.
    pub size_gb: f64,
    /// From `config.json`, when readable.
    pub characteristics: Option<ModelCharacteristics>,
}

impl From<LocalModel> for LocalModelInfo {
    fn from(m: LocalModel) -> Self {
        Self {
            model_id: m.model_id,
            local_path: m.local_path.display().to_string(),
            size_bytes: m.size_bytes,
            size_gb: (m.size_bytes as f64 / 1e7).round() / 100.0,
            characteristics: m.characteristics.map(Into::into),
        }
    }
}

/// A download request.
#[derive(Object, Debug, Clone, Deserialize)]
pub struct DownloadRequest {
    /// The Hub id, `org/name`.
    pub model_id: String,
}

/// A started (or already running) download.
#[derive(Object, Debug, Clone)]
pub struct DownloadStarted {
    /// Poll `GET /api/models/downloads/{task_id}` or stream its `/events`.
    pub task_id: String,
    /// `org/name`.
    pub model_id: String,
}

/// Where a download task stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "DownloadStatus", rename_all = "lowercase")]
pub enum DownloadState {
    /// Recorded, not started yet (or waiting to be resumed).
    Pending,
    /// Fetching files.
    Downloading,
    /// Every file is verified and the snapshot is published.
    Completed,
    /// Stopped by an error; `error` says which.
    Failed,
    /// Cancelled; partial files were removed.
    Cancelled,
}

impl From<DownloadStatus> for DownloadState {
    fn from(s: DownloadStatus) -> Self {
        match s {
            DownloadStatus::Pending => Self::Pending,
            DownloadStatus::Downloading => Self::Downloading,
            DownloadStatus::Completed => Self::Completed,
            DownloadStatus::Failed => Self::Failed,
            DownloadStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A download task and its progress.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct DownloadTask {
    /// Opaque id.
    pub task_id: String,
    /// `org/name`.
    pub model_id: String,
    /// Where it stands.
    pub status: DownloadState,
    /// Percent done, 0 to 100 (one decimal).
    pub progress: f64,
    /// Bytes on disk so far, partial files included.
    pub downloaded_bytes: u64,
    /// Bytes of all files of the revision (0 until the file list is known).
    pub total_bytes: u64,
    /// Why the task failed.
    pub error: Option<String>,
}

impl From<TaskView> for DownloadTask {
    fn from(v: TaskView) -> Self {
        Self {
            progress: v.progress(),
            task_id: v.task_id,
            model_id: v.model_id,
            status: v.status.into(),
            downloaded_bytes: v.downloaded_bytes,
            total_bytes: v.total_bytes,
            error: v.error,
        }
    }
}

/// The answer of a model deletion.
#[derive(Object, Debug, Clone)]
pub struct ModelDeleted {
    /// Always true.
    pub deleted: bool,
}

/// Answers of `POST /api/models/download`.
#[derive(ApiResponse)]
pub enum DownloadAccepted {
    /// The download runs (it was started now, or was already running).
    #[oai(status = 202)]
    Accepted(Json<DownloadStarted>),
}

fn model_id(raw: &str) -> Result<ModelId, ApiError> {
    Ok(ModelId::parse(raw).map_err(ModelsError::from)?)
}

/// Hub search, downloads and the local library.
#[derive(Default)]
pub struct ModelsApi;

#[OpenApi(tag = "ApiTags::Models")]
impl ModelsApi {
    /// Search the Hugging Face Hub
    ///
    /// Action: `models.read`. MLX models (`filter=mlx`) matching `query`, most
    /// downloaded first, limited to `[hub] organization` when set. Sizes are the
    /// Hub's `usedStorage`, else estimated from the name (parameters times bytes
    /// per parameter of the quantisation, plus 10 %). `query` is required: a
    /// missing or blank one is 422 `empty_query`; `limit` (1 to 100, default 20)
    /// or `max_size_gb` out of range is 422 `invalid_parameter`. A failing Hub is
    /// 502 `hub_error` (never an empty list); with `[hub] offline = true` the Hub
    /// is never called and the answer is 503 `hub_offline`.
    #[oai(
        path = "/api/models/search",
        method = "get",
        operation_id = "searchModels"
    )]
    async fn search(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// Free text matched against model ids (required, not blank).
        query: Query<Option<String>>,
        /// Leave out models larger than this many GB (0 or more).
        #[oai(validator(minimum(value = "0")))]
        max_size_gb: Query<Option<f64>>,
        /// At most this many results (1 to 100, default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<Vec<ModelSearchResult>>, ApiError> {
        auth.require(actions::MODELS_READ)?;
        let request = Search::new(query.0.as_deref(), max_size_gb.0, limit.0)?;
        let hits = search::search(&state.hub, state.downloads.cache(), &request).await?;
        Ok(Json(hits.into_iter().map(Into::into).collect()))
    }

    /// List local models
    ///
    /// Action: `models.read`. Every model with a complete snapshot in the hub
    /// cache (`[paths] hf_cache`), by id: the snapshot `refs/main` names (else
    /// the newest), its size, and its `config.json` characteristics. Downloads in
    /// progress are not listed.
    #[oai(
        path = "/api/models/local",
        method = "get",
        operation_id = "listLocalModels"
    )]
    async fn local(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<Vec<LocalModelInfo>>, ApiError> {
        auth.require(actions::MODELS_READ)?;
        let models = library::list(state.downloads.cache()).await?;
        Ok(Json(models.into_iter().map(Into::into).collect()))
    }

    /// Start a download
    ///
    /// Action: `models.download`. Starts downloading the `main` revision of the
    /// model now and answers 202 with the task; while a download of the same
    /// model runs, the same task is returned. Files land in the Hugging Face
    /// cache layout; LFS files are checked against their SHA-256; the snapshot
    /// and `refs/main` appear only when every file is verified. Partial files
    /// are continued with range requests after an interruption or a restart.
    /// A malformed id is 422 `invalid_model_id`; offline, 503 `hub_offline`.
    /// Hub errors (unknown or gated model) fail the task, not this request.
    #[oai(
        path = "/api/models/download",
        method = "post",
        operation_id = "startModelDownload"
    )]
    async fn download(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        body: JsonBody<DownloadRequest>,
    ) -> Result<DownloadAccepted, ApiError> {
        let who = auth.require(actions::MODELS_DOWNLOAD)?;
        let id = model_id(&body.0.model_id)?;
        let task = state.downloads.start(id).await?;
        let target = Target::new(
            "download",
            Some(task.task_id.clone()),
            Some(task.model_id.clone()),
        );
        publish(&state, who, actions::DOWNLOAD_START, target).await;
        Ok(DownloadAccepted::Accepted(Json(DownloadStarted {
            task_id: task.task_id,
            model_id: task.model_id,
        })))
    }

    /// List running downloads
    ///
    /// Action: `models.read`. Tasks that are pending or downloading, oldest first.
    #[oai(
        path = "/api/models/downloads/active",
        method = "get",
        operation_id = "listActiveDownloads"
    )]
    async fn active(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
    ) -> Result<Json<Vec<DownloadTask>>, ApiError> {
        auth.require(actions::MODELS_READ)?;
        let tasks = state.downloads.active().await;
        Ok(Json(tasks.into_iter().map(Into::into).collect()))
    }

    /// Get a download task
    ///
    /// Action: `models.read`. The task's status and progress (live while it
    /// runs, from the store afterwards). 404 `task_not_found`.
    #[oai(
        path = "/api/models/downloads/:task_id",
        method = "get",
        operation_id = "getDownload"
    )]
    async fn task(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The task id from `startModelDownload`.
        task_id: Path<String>,
    ) -> Result<Json<DownloadTask>, ApiError> {
        auth.require(actions::MODELS_READ)?;
        Ok(Json(state.downloads.get(&task_id.0).await?.into()))
    }

    /// Stream a download's progress
    ///
    /// Action: `models.read`. `text/event-stream` of `DownloadTask` objects: the
    /// current state at once, then every change (at most about five a second),
    /// ending after a final status (`completed`, `failed`, `cancelled`) or when
    /// the server shuts down. Accepts a bearer token or a single-use `?ticket=`
    /// (for `EventSource`). 404 `task_not_found`.
    #[oai(
        path = "/api/models/downloads/:task_id/events",
        method = "get",
        operation_id = "streamDownloadEvents"
    )]
    async fn events(
        &self,
        auth: StreamAuth,
        state: Data<&Arc<AppState>>,
        /// The task id from `startModelDownload`.
        task_id: Path<String>,
    ) -> Result<EventStream<BoxStream<'static, DownloadTask>>, ApiError> {
        auth.require(actions::MODELS_READ)?;
        let updates = state
            .downloads
            .updates(&task_id.0, state.shutdown.clone())
            .await?;
        let events = auth.guard(actions::MODELS_READ, updates.map(DownloadTask::from));
        Ok(EventStream::new(events).keep_alive(Duration::from_secs(15)))
    }

    /// Cancel a download
    ///
    /// Action: `models.download`. Stops the task, records it as `cancelled` and
    /// removes its partial files (and the model's directory when it holds no
    /// earlier snapshot) before answering 204. A task that has already ended is
    /// left as it is (still 204). 404 `task_not_found`.
    #[oai(
        path = "/api/models/downloads/:task_id",
        method = "delete",
        operation_id = "cancelDownload"
    )]
    async fn cancel(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// The task id from `startModelDownload`.
        task_id: Path<String>,
    ) -> Result<Done, ApiError> {
        let who = auth.require(actions::MODELS_DOWNLOAD)?;
        state.downloads.cancel(&task_id.0).await?;
        let target = Target::new("download", Some(task_id.0.clone()), None);
        publish(&state, who, actions::DOWNLOAD_CANCEL, target).await;
        Ok(Done::NoContent)
    }

    /// Delete a local model
    ///
    /// Action: `models.delete`. Removes the model's whole cache directory
    /// (`models--org--name`). The id contains a `/`: send it percent-encoded
    /// (`org%2Fname`) or as two path segments (`/api/models/org/name`).
    /// 404 "Model not found"; 409 `model_in_use` while a running server uses it,
    /// 409 `download_in_progress` while it is being downloaded; 422 bad id.
    #[oai(
        path = "/api/models/:model_id",
        method = "delete",
        operation_id = "deleteLocalModel"
    )]
    async fn delete(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// `org/name`.
        model_id: Path<String>,
    ) -> Result<Json<ModelDeleted>, ApiError> {
        let who = auth.require(actions::MODELS_DELETE)?;
        let id = self::model_id(&model_id.0)?;
        models::delete_model(&state.downloads, state.supervisor.as_ref(), &id).await?;
        let target = Target::new("model", None, Some(id.to_string()));
        publish(&state, who, actions::MODEL_DELETE, target).await;
        Ok(Json(ModelDeleted { deleted: true }))
    }

    /// `DELETE /api/models/{org}/{name}`: the unencoded form of `deleteLocalModel`.
    #[oai(path = "/api/models/:org/:name", method = "delete", hidden)]
    async fn delete_unencoded(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        org: Path<String>,
        name: Path<String>,
    ) -> Result<Json<ModelDeleted>, ApiError> {
        let id = format!("{}/{}", org.0, name.0);
        self.delete(auth, state, Path(id)).await
    }

    /// Get a local model's characteristics
    ///
    /// Action: `models.read`. What the model's `config.json` says (architecture,
    /// context length, sizes, quantisation, vision). The id may be percent-encoded
    /// or two path segments. 404 `model_not_found` when the model is not local,
    /// `config_not_found` when it has no readable `config.json`; 422 bad id.
    #[oai(
        path = "/api/models/config/:model_id",
        method = "get",
        operation_id = "getModelConfig"
    )]
    async fn config(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        /// `org/name`.
        model_id: Path<String>,
    ) -> Result<Json<ModelCharacteristics>, ApiError> {
        auth.require(actions::MODELS_READ)?;
        let id = self::model_id(&model_id.0)?;
        let c = library::characteristics(state.downloads.cache(), &id).await?;
        Ok(Json(c.into()))
    }

    /// `GET /api/models/config/{org}/{name}`: the unencoded form of `getModelConfig`.
    #[oai(path = "/api/models/config/:org/:name", method = "get", hidden)]
    async fn config_unencoded(
        &self,
        auth: Auth,
        state: Data<&Arc<AppState>>,
        org: Path<String>,
        name: Path<String>,
    ) -> Result<Json<ModelCharacteristics>, ApiError> {
        let id = format!("{}/{}", org.0, name.0);
        self.config(auth, state, Path(id)).await
    }
}
