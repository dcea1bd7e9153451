//! The profile: its fields, defaults, and the validation every value passes at the
//! edge, so that inner code (and the server command) only sees checked values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of model a server loads: mlx-openai-server's `--model-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "kebab-case")]
#[oai(rename_all = "kebab-case")]
pub enum ModelType {
    /// A language model.
    Lm,
    /// A vision-language model (text, images, audio).
    Multimodal,
    /// A text-embeddings model.
    Embeddings,
    /// A Whisper speech-to-text model.
    Whisper,
    /// An image-generation (Flux) model.
    ImageGeneration,
    /// An image-editing (Flux) model.
    ImageEdit,
}

impl ModelType {
    /// Every model type.
    pub const ALL: [ModelType; 6] = [
        ModelType::Lm,
        ModelType::Multimodal,
        ModelType::Embeddings,
        ModelType::Whisper,
        ModelType::ImageGeneration,
        ModelType::ImageEdit,
    ];

    /// The name used in the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelType::Lm => "lm",
            ModelType::Multimodal => "multimodal",
            ModelType::Embeddings => "embeddings",
            ModelType::Whisper => "whisper",
            ModelType::ImageGeneration => "image-generation",
            ModelType::ImageEdit => "image-edit",
        }
    }

    /// Parse a stored name; unknown names are `lm` (REFERENCE.md). The store's
    /// schema admits only the names above.
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .unwrap_or(ModelType::Lm)
    }
}

/// Default of `max_concurrency`.
pub const DEFAULT_MAX_CONCURRENCY: u32 = 1;
/// Default of `queue_timeout` (seconds).
pub const DEFAULT_QUEUE_TIMEOUT: u32 = 300;
/// Default of `queue_size`.
pub const DEFAULT_QUEUE_SIZE: u32 = 100;

/// The model server's log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "UPPERCASE")]
#[oai(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// The default.
    Info,
    /// Warnings and errors.
    Warning,
    /// Errors only.
    Error,
    /// Critical errors only.
    Critical,
}

impl LogLevel {
    /// The name used in the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }

    /// Parse a stored name (`INFO` when unknown).
    pub fn parse(s: &str) -> Self {
        match s {
            "DEBUG" => LogLevel::Debug,
            "WARNING" => LogLevel::Warning,
            "ERROR" => LogLevel::Error,
            "CRITICAL" => LogLevel::Critical,
            _ => LogLevel::Info,
        }
    }
}

/// The settable values of a profile (everything but id, timestamps and
/// `service_installed`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileValues {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// A Hugging Face repo id or a local path.
    pub model_path: String,
    /// The kind of model.
    pub model_type: ModelType,
    /// Unique port, 1024..=65535.
    pub port: u16,
    /// Address the server listens on.
    pub host: String,
    /// Context length override.
    pub context_length: Option<u32>,
    /// Requests served at once (passed to mlx-openai-server before 1.7).
    pub max_concurrency: u32,
    /// Requests decoded together in a batch (mlx-openai-server 1.8 and later).
    pub decode_concurrency: Option<u32>,
    /// Prompts prefilled together in a batch (mlx-openai-server 1.8 and later).
    pub prompt_concurrency: Option<u32>,
    /// Seconds a request may wait in the queue.
    pub queue_timeout: u32,
    /// Requests that may wait.
    pub queue_size: u32,
    /// Tool-call parser name.
    pub tool_call_parser: Option<String>,
    /// Reasoning parser name.
    pub reasoning_parser: Option<String>,
    /// Message converter name.
    pub message_converter: Option<String>,
    /// Let the model choose tools.
    pub enable_auto_tool_choice: bool,
    /// Run code shipped with the model.
    pub trust_remote_code: bool,
    /// A chat template file.
    pub chat_template_file: Option<String>,
    /// The server's log level.
    pub log_level: LogLevel,
    /// A log file of the server's own.
    pub log_file: Option<String>,
    /// Tell the server not to write its own log file.
    pub no_log_file: bool,
    /// Start the server when its login service loads.
    pub auto_start: bool,
    /// A system prompt.
    pub system_prompt: Option<String>,
}

/// A stored profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Opaque, URL-safe id.
    pub id: String,
    /// The values.
    pub values: ProfileValues,
    /// Whether a login service (launchd/systemd) is installed for it.
    pub service_installed: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A profile to create: `name` and `model_path` are required; `port` defaults to
/// the next free port; the rest to the contract's defaults.
#[derive(Debug, Clone, Default)]
pub struct NewProfile {
    /// Unique name.
    pub name: String,
    /// See [`ProfileValues`].
    pub description: Option<String>,
    /// See [`ProfileValues`].
    pub model_path: String,
    /// See [`ProfileValues`].
    pub model_type: Option<ModelType>,
    /// See [`ProfileValues`]; `None`: the next free port.
    pub port: Option<i64>,
    /// See [`ProfileValues`].
    pub host: Option<String>,
    /// See [`ProfileValues`].
    pub context_length: Option<i64>,
    /// See [`ProfileValues`].
    pub max_concurrency: Option<i64>,
    /// See [`ProfileValues`].
    pub decode_concurrency: Option<i64>,
    /// See [`ProfileValues`].
    pub prompt_concurrency: Option<i64>,
    /// See [`ProfileValues`].
    pub queue_timeout: Option<i64>,
    /// See [`ProfileValues`].
    pub queue_size: Option<i64>,
    /// See [`ProfileValues`].
    pub tool_call_parser: Option<String>,
    /// See [`ProfileValues`].
    pub reasoning_parser: Option<String>,
    /// See [`ProfileValues`].
    pub message_converter: Option<String>,
    /// See [`ProfileValues`].
    pub enable_auto_tool_choice: Option<bool>,
    /// See [`ProfileValues`].
    pub trust_remote_code: Option<bool>,
    /// See [`ProfileValues`].
    pub chat_template_file: Option<String>,
    /// See [`ProfileValues`].
    pub log_level: Option<LogLevel>,
    /// See [`ProfileValues`].
    pub log_file: Option<String>,
    /// See [`ProfileValues`].
    pub no_log_file: Option<bool>,
    /// See [`ProfileValues`].
    pub auto_start: Option<bool>,
    /// See [`ProfileValues`].
    pub system_prompt: Option<String>,
}

/// A partial update: `None` keeps a value; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    /// New name.
    pub name: Option<String>,
    /// New or cleared description.
    pub description: Option<Option<String>>,
    /// New model.
    pub model_path: Option<String>,
    /// New model type.
    pub model_type: Option<ModelType>,
    /// New port.
    pub port: Option<i64>,
    /// New host.
    pub host: Option<String>,
    /// New or cleared context length.
    pub context_length: Option<Option<i64>>,
    /// New value.
    pub max_concurrency: Option<i64>,
    /// New or cleared value.
    pub decode_concurrency: Option<Option<i64>>,
    /// New or cleared value.
    pub prompt_concurrency: Option<Option<i64>>,
    /// New value.
    pub queue_timeout: Option<i64>,
    /// New value.
    pub queue_size: Option<i64>,
    /// New or cleared value.
    pub tool_call_parser: Option<Option<String>>,
    /// New or cleared value.
    pub reasoning_parser: Option<Option<String>>,
    /// New or cleared value.
    pub message_converter: Option<Option<String>>,
    /// New value.
    pub enable_auto_tool_choice: Option<bool>,
    /// New value.
    pub trust_remote_code: Option<bool>,
    /// New or cleared value.
    pub chat_template_file: Option<Option<String>>,
    /// New value.
    pub log_level: Option<LogLevel>,
    /// New or cleared value.
    pub log_file: Option<Option<String>>,
    /// New value.
    pub no_log_file: Option<bool>,
    /// New value.
    pub auto_start: Option<bool>,
    /// New or cleared value.
    pub system_prompt: Option<Option<String>>,
}

/// Why a profile operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A value breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// No such profile.
    #[error("Profile not found")]
    NotFound,
    /// Another profile has this name.
    #[error("Profile name already exists")]
    NameTaken,
    /// Another profile has this port.
    #[error("Port already in use by another profile")]
    PortTaken,
    /// No port is free at or above the configured start.
    #[error("No free port is left at or above {0}")]
    NoFreePort(u16),
    /// The store failed.
    #[error("store error: {0}")]
    Store(#[from] surrealdb::Error),
}

fn invalid(msg: impl Into<String>) -> ProfileError {
    ProfileError::Invalid(msg.into())
}

/// A single-line text without control characters, trimmed, of at most `max`
/// characters. `flag_like` refuses a leading `-`, so that a value can never be
/// read as another option of the server command.
fn text(field: &str, value: &str, max: usize, flag_like: bool) -> Result<String, ProfileError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(invalid(format!("{field} must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    if v.chars().any(is_invisible) {
        return Err(invalid(format!(
            "{field} must not contain invisible or direction-changing characters (Unicode format characters)"
        )));
    }
    if flag_like && v.starts_with('-') {
        return Err(invalid(format!("{field} must not start with '-'")));
    }
    Ok(v.to_owned())
}

/// A Unicode format character (category Cf: zero-width spaces and joiners,
/// bidi controls, soft hyphens): it makes two different names look the same.
fn is_invisible(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format
}

fn opt_text(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, ProfileError> {
    match value {
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => text(field, &v, max, true).map(Some),
        None => Ok(None),
    }
}

fn number(field: &str, value: i64, min: i64, max: i64) -> Result<u32, ProfileError> {
    if (min..=max).contains(&value) {
        Ok(value as u32)
    } else {
        Err(invalid(format!("{field} must be between {min} and {max}")))
    }
}

/// Check a port: 1024..=65535.
pub fn port(value: i64) -> Result<u16, ProfileError> {
    number("port", value, 1024, 65535).map(|p| p as u16)
}

fn host(value: &str) -> Result<String, ProfileError> {
    let h = text("host", value, 253, true)?;
    let ok = h
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    if ok {
        Ok(h)
    } else {
        Err(invalid("host must be an IP address or a host name"))
    }
}

fn system_prompt(value: Option<String>) -> Result<Option<String>, ProfileError> {
    match value {
        Some(v) if v.chars().count() > 100_000 => {
            Err(invalid("system_prompt must be at most 100000 characters"))
        }
        Some(v) if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => Err(invalid(
            "system_prompt must not contain control characters other than newlines and tabs",
        )),
        Some(v) if v.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

impl ProfileValues {
    /// Check every value of a new profile, filling in defaults; `port` must be
    /// resolved by the caller when absent.
    pub fn from_new(new: NewProfile, default_port: u16) -> Result<Self, ProfileError> {
        let values = Self {
            name: text("name", &new.name, 100, false)?,
            description: match new.description {
                Some(d) if d.chars().count() > 1000 => {
                    return Err(invalid("description must be at most 1000 characters"));
                }
                Some(d) if d.trim().is_empty() => None,
                other => other,
            },
            model_path: text("model_path", &new.model_path, 1024, true)?,
            model_type: new.model_type.unwrap_or(ModelType::Lm),
            port: match new.port {
                Some(p) => port(p)?,
                None => default_port,
            },
            host: host(new.host.as_deref().unwrap_or("127.0.0.1"))?,
            context_length: new
                .context_length
                .map(|c| number("context_length", c, 1, 10_000_000))
                .transpose()?,
            max_concurrency: number(
                "max_concurrency",
                new.max_concurrency
                    .unwrap_or(i64::from(DEFAULT_MAX_CONCURRENCY)),
                1,
                1024,
            )?,
            decode_concurrency: new
                .decode_concurrency
                .map(|n| number("decode_concurrency", n, 1, 1024))
                .transpose()?,
            prompt_concurrency: new
                .prompt_concurrency
                .map(|n| number("prompt_concurrency", n, 1, 1024))
                .transpose()?,
            queue_timeout: number(
                "queue_timeout",
                new.queue_timeout
                    .unwrap_or(i64::from(DEFAULT_QUEUE_TIMEOUT)),
                1,
                86_400,
            )?,
            queue_size: number(
                "queue_size",
                new.queue_size.unwrap_or(i64::from(DEFAULT_QUEUE_SIZE)),
                1,
                100_000,
            )?,
            tool_call_parser: opt_text("tool_call_parser", new.tool_call_parser, 100)?,
            reasoning_parser: opt_text("reasoning_parser", new.reasoning_parser, 100)?,
            message_converter: opt_text("message_converter", new.message_converter, 100)?,
            enable_auto_tool_choice: new.enable_auto_tool_choice.unwrap_or(false),
            trust_remote_code: new.trust_remote_code.unwrap_or(false),
            chat_template_file: opt_text("chat_template_file", new.chat_template_file, 4096)?,
            log_level: new.log_level.unwrap_or(LogLevel::Info),
            log_file: opt_text("log_file", new.log_file, 4096)?,
            no_log_file: new.no_log_file.unwrap_or(false),
            auto_start: new.auto_start.unwrap_or(false),
            system_prompt: system_prompt(new.system_prompt)?,
        };
        Ok(values)
    }

    /// These values with `patch` applied, every changed value checked again.
    pub fn patched(&self, patch: ProfilePatch) -> Result<Self, ProfileError> {
        let cur = self.clone();
        let new = NewProfile {
            name: patch.name.unwrap_or(cur.name),
            description: patch.description.unwrap_or(cur.description),
            model_path: patch.model_path.unwrap_or(cur.model_path),
            model_type: Some(patch.model_type.unwrap_or(cur.model_type)),
            port: Some(patch.port.unwrap_or(i64::from(cur.port))),
            host: Some(patch.host.unwrap_or(cur.host)),
            context_length: patch
                .context_length
                .unwrap_or(cur.context_length.map(i64::from)),
            max_concurrency: Some(
                patch
                    .max_concurrency
                    .unwrap_or(i64::from(cur.max_concurrency)),
            ),
            decode_concurrency: patch
                .decode_concurrency
                .unwrap_or(cur.decode_concurrency.map(i64::from)),
            prompt_concurrency: patch
                .prompt_concurrency
                .unwrap_or(cur.prompt_concurrency.map(i64::from)),
            queue_timeout: Some(patch.queue_timeout.unwrap_or(i64::from(cur.queue_timeout))),
            queue_size: Some(patch.queue_size.unwrap_or(i64::from(cur.queue_size))),
            tool_call_parser: patch.tool_call_parser.unwrap_or(cur.tool_call_parser),
            reasoning_parser: patch.reasoning_parser.unwrap_or(cur.reasoning_parser),
            message_converter: patch.message_converter.unwrap_or(cur.message_converter),
            enable_auto_tool_choice: Some(
                patch
                    .enable_auto_tool_choice
                    .unwrap_or(cur.enable_auto_tool_choice),
            ),
            trust_remote_code: Some(patch.trust_remote_code.unwrap_or(cur.trust_remote_code)),
            chat_template_file: patch.chat_template_file.unwrap_or(cur.chat_template_file),
            log_level: Some(patch.log_level.unwrap_or(cur.log_level)),
            log_file: patch.log_file.unwrap_or(cur.log_file),
            no_log_file: Some(patch.no_log_file.unwrap_or(cur.no_log_file)),
            auto_start: Some(patch.auto_start.unwrap_or(cur.auto_start)),
            system_prompt: patch.system_prompt.unwrap_or(cur.system_prompt),
        };
        Self::from_new(new, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str) -> NewProfile {
        NewProfile {
            name: name.into(),
            model_path: "mlx-community/Qwen3-8B-4bit".into(),
            ..NewProfile::default()
        }
    }

    #[test]
    fn defaults_are_those_of_the_contract() {
        let v = ProfileValues::from_new(new("a"), 10240).expect("valid");
        assert_eq!(v.model_type, ModelType::Lm);
        assert_eq!(v.port, 10240);
        assert_eq!(v.host, "127.0.0.1");
        assert_eq!(
            (v.max_concurrency, v.queue_timeout, v.queue_size),
            (1, 300, 100)
        );
        assert_eq!(v.log_level, LogLevel::Info);
        assert!(
            !v.enable_auto_tool_choice && !v.trust_remote_code && !v.no_log_file && !v.auto_start
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_field() {
        let cases: Vec<(NewProfile, &str)> = vec![
            (
                NewProfile {
                    name: "  ".into(),
                    ..new("x")
                },
                "name must not be empty",
            ),
            (
                NewProfile {
                    model_path: String::new(),
                    ..new("x")
                },
                "model_path must not be empty",
            ),
            (
                NewProfile {
                    model_path: "--evil".into(),
                    ..new("x")
                },
                "model_path must not start with '-'",
            ),
            (
                NewProfile {
                    port: Some(80),
                    ..new("x")
                },
                "port must be between 1024 and 65535",
            ),
            (
                NewProfile {
                    port: Some(70000),
                    ..new("x")
                },
                "port must be between 1024 and 65535",
            ),
            (
                NewProfile {
                    host: Some("a host".into()),
                    ..new("x")
                },
                "host must be an IP address or a host name",
            ),
            (
                NewProfile {
                    max_concurrency: Some(0),
                    ..new("x")
                },
                "max_concurrency must be between 1 and 1024",
            ),
            (
                NewProfile {
                    tool_call_parser: Some("-x".into()),
                    ..new("x")
                },
                "tool_call_parser must not start with '-'",
            ),
            (
                NewProfile {
                    name: "a\nb".into(),
                    ..new("x")
                },
                "name must not contain control characters",
            ),
        ];
        for (profile, message) in cases {
            let err = ProfileValues::from_new(profile, 10240)
                .err()
                .map(|e| e.to_string());
            assert_eq!(err.as_deref(), Some(message));
        }
    }

    #[test]
    fn names_with_invisible_or_bidi_characters_are_refused() {
        for name in [
            "ad\u{200B}min",
            "lab\u{202E}txt",
            "soft\u{00AD}hyphen",
            "\u{FEFF}bom",
        ] {
            let err = ProfileValues::from_new(new(name), 10240)
                .err()
                .map(|e| e.to_string());
            assert_eq!(
                err.as_deref(),
                Some(
                    "name must not contain invisible or direction-changing characters (Unicode format characters)"
                ),
                "{name:?}"
            );
        }
        assert!(ProfileValues::from_new(new("Qwen 3 · 8B ✓"), 10240).is_ok());
    }

    #[test]
    fn shell_metacharacters_are_ordinary_characters() {
        let v = ProfileValues::from_new(
            NewProfile {
                model_path: "/models/a b; rm -rf ~ $(x)".into(),
                ..new("x")
            },
            10240,
        );
        assert_eq!(v.expect("valid").model_path, "/models/a b; rm -rf ~ $(x)");
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_can_clear_options() {
        let v = ProfileValues::from_new(
            NewProfile {
                description: Some("d".into()),
                ..new("a")
            },
            10240,
        )
        .expect("valid");
        let p = v
            .patched(ProfilePatch {
                queue_size: Some(5),
                description: Some(None),
                ..ProfilePatch::default()
            })
            .expect("valid");
        assert_eq!(p.queue_size, 5);
        assert_eq!(p.description, None);
        assert_eq!(p.name, "a");
        assert!(
            v.patched(ProfilePatch {
                port: Some(1),
                ..ProfilePatch::default()
            })
            .is_err()
        );
    }
}
