//! Hub search: `mlx` models, most downloaded first, each with its size (the
//! Hub's `usedStorage`, else an estimate from the name), filtered by size and
//! marked when the local cache holds it.

use std::sync::LazyLock;

use futures_util::{StreamExt, stream};
use regex::Regex;

use super::{
    ModelsError,
    cache::HubCache,
    hub::{HubClient, HubModel, SearchQuery},
    id::ModelId,
};

/// The largest accepted `limit`.
pub const MAX_LIMIT: u32 = 100;

/// Model-info requests in flight while sizing the hits.
const SIZE_LOOKUPS: usize = 8;

/// A search request, checked.
#[derive(Debug, Clone)]
pub struct Search {
    /// Free text (not blank).
    pub query: String,
    /// Drop hits larger than this many GB.
    pub max_size_gb: Option<f64>,
    /// At most this many hits (1..=100).
    pub limit: u32,
}

impl Search {
    /// Check the raw parameters: a blank or missing query, a limit outside
    /// 1..=100 or a negative size are refused.
    pub fn new(
        query: Option<&str>,
        max_size_gb: Option<f64>,
        limit: Option<u32>,
    ) -> Result<Self, ModelsError> {
        let query = query.map(str::trim).unwrap_or_default();
        if query.is_empty() {
            return Err(ModelsError::EmptyQuery);
        }
        let limit = limit.unwrap_or(20);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ModelsError::InvalidParameter(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        if max_size_gb.is_some_and(|s| !s.is_finite() || s < 0.0) {
            return Err(ModelsError::InvalidParameter(
                "max_size_gb must be a number of GB, 0 or more".into(),
            ));
        }
        Ok(Self {
            query: query.to_owned(),
            max_size_gb,
            limit,
        })
    }
}

/// One hit.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// `org/name`.
    pub model_id: String,
    /// The author (the Hub's, else the id's organisation).
    pub author: String,
    /// Downloads.
    pub downloads: u64,
    /// Likes.
    pub likes: u64,
    /// Size in GB (10^9 bytes), 0 when unknown.
    pub estimated_size_gb: f64,
    /// Tags.
    pub tags: Vec<String>,
    /// Whether the local cache holds a complete snapshot.
    pub is_downloaded: bool,
    /// Last change on the Hub.
    pub last_modified: Option<String>,
}

/// Run `search` against the Hub, limited to the client's organisation when
/// one is configured.
pub async fn search(
    hub: &HubClient,
    cache: &HubCache,
    search: &Search,
) -> Result<Vec<SearchHit>, ModelsError> {
    let query = SearchQuery {
        text: &search.query,
        author: hub.organization(),
        limit: search.limit,
    };
    let models = hub.search(&query).await?;
    let hits: Vec<SearchHit> = stream::iter(models)
        .map(|m| hit(hub, cache, m))
        .buffered(SIZE_LOOKUPS)
        .collect()
        .await;
    Ok(hits
        .into_iter()
        .filter(|h| {
            search
                .max_size_gb
                .is_none_or(|max| h.estimated_size_gb <= max)
        })
        .collect())
}

async fn hit(hub: &HubClient, cache: &HubCache, m: HubModel) -> SearchHit {
    let model_id = m.id.or(m.model_id).unwrap_or_default();
    let id = ModelId::parse(&model_id).ok();
    let mut bytes = m.used_storage;
    if bytes.is_none()
        && let Some(id) = &id
    {
        // A failed lookup only loses precision: the name still gives an estimate.
        bytes = hub.model_info(id).await.ok().and_then(|i| i.used_storage);
    }
    let estimated_size_gb = match bytes {
        Some(b) => round2(b as f64 / 1e9),
        None => estimate_size_gb(&model_id).unwrap_or(0.0),
    };
    let author = m
        .author
        .clone()
        .or_else(|| model_id.split_once('/').map(|(org, _)| org.to_owned()))
        .unwrap_or_default();
    let is_downloaded = match &id {
        Some(id) => cache.is_downloaded(id).await,
        None => false,
    };
    SearchHit {
        model_id,
        author,
        downloads: m.downloads,
        likes: m.likes,
        estimated_size_gb,
        tags: m.tags,
        is_downloaded,
        last_modified: m.last_modified,
    }
}

static PARAMS: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)(\d+(?:\.\d+)?)b(?:[^a-z]|$)").ok());

/// The size in GB estimated from a model's name: the parameter count (`7B`,
/// `0.5b`; billions) times the bytes per parameter its quantisation implies
/// (bf16/fp16/16bit 2, 8bit 1, 6bit 0.75, 5bit 0.625, 4bit 0.5, 3bit 0.375,
/// 2bit 0.25, otherwise 0.5) times 1.1 for overhead, rounded to 0.01. `None`
/// when the name gives no parameter count.
///
/// The count must be followed by a non-letter, so `4bit` is not read as four
/// billion parameters.
pub fn estimate_size_gb(model_id: &str) -> Option<f64> {
    let name = model_id.rsplit('/').next().unwrap_or(model_id);
    let params: f64 = PARAMS
        .as_ref()?
        .captures(name)?
        .get(1)?
        .as_str()
        .parse()
        .ok()?;
    let lower = name.to_ascii_lowercase();
    let per_param = [
        ("bf16", 2.0),
        ("fp16", 2.0),
        ("16bit", 2.0),
        ("8bit", 1.0),
        ("6bit", 0.75),
        ("5bit", 0.625),
        ("4bit", 0.5),
        ("3bit", 0.375),
        ("2bit", 0.25),
    ]
    .iter()
    .find(|(tag, _)| lower.contains(tag))
    .map_or(0.5, |(_, bytes)| *bytes);
    Some(round2(params * per_param * 1.1))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_estimated_from_parameters_and_quantisation() {
        let cases = [
            ("mlx-community/Qwen2.5-7B-Instruct-4bit", Some(3.85)),
            ("mlx-community/Llama-3.2-3B-Instruct-8bit", Some(3.3)),
            ("mlx-community/Mistral-7B-Instruct-v0.3-bf16", Some(15.4)),
            ("mlx-community/Qwen2.5-0.5B-Instruct-3bit", Some(0.21)),
            ("mlx-community/gemma-2-2b-it-2bit", Some(0.55)),
            ("mlx-community/SmolLM-1.7B", Some(0.94)),
            ("mlx-community/phi-4bit", None),
            ("mlx-community/whisper-tiny", None),
        ];
        for (id, want) in cases {
            assert_eq!(estimate_size_gb(id), want, "{id}");
        }
    }

    #[test]
    fn blank_queries_and_odd_limits_are_refused() {
        assert!(matches!(
            Search::new(Some("  "), None, None),
            Err(ModelsError::EmptyQuery)
        ));
        assert!(matches!(
            Search::new(None, None, None),
            Err(ModelsError::EmptyQuery)
        ));
        assert!(Search::new(Some("q"), None, Some(0)).is_err());
        assert!(Search::new(Some("q"), None, Some(101)).is_err());
        assert!(Search::new(Some("q"), Some(-1.0), None).is_err());
        let s = Search::new(Some(" qwen "), Some(4.0), None).expect("valid");
        assert_eq!((s.query.as_str(), s.limit), ("qwen", 20));
    }
}
