//! The profile: its fields, defaults, and the validation every value passes at the
//! edge, so that inner code (and the server command) only sees checked values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use surrealdb::types::SurrealValue;

use super::fields::{Render, profile_fields};

/// What kind of model a server loads: mlx-openai-server's `--model-type`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Enum, SurrealValue,
)]
#[serde(rename_all = "kebab-case")]
#[oai(rename_all = "kebab-case")]
#[surreal(untagged, rename_all = "kebab-case")]
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
}

/// The model server's log level.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, poem_openapi::Enum, SurrealValue,
)]
#[serde(rename_all = "UPPERCASE")]
#[oai(rename_all = "UPPERCASE")]
#[surreal(untagged, rename_all = "UPPERCASE")]
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

/// An optional text: empty means unset, otherwise as [`text`] with `flag_like`.
fn opt_text(field: &str, value: String, max: usize) -> Result<Option<String>, ProfileError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    text(field, &value, max, true).map(Some)
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

fn system_prompt(value: String) -> Result<Option<String>, ProfileError> {
    if value.chars().count() > 100_000 {
        return Err(invalid("system_prompt must be at most 100000 characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid(
            "system_prompt must not contain control characters other than newlines and tabs",
        ));
    }
    Ok((!value.trim().is_empty()).then_some(value))
}

fn description(value: String) -> Result<Option<String>, ProfileError> {
    if value.chars().count() > 1000 {
        return Err(invalid("description must be at most 1000 characters"));
    }
    Ok((!value.trim().is_empty()).then_some(value))
}

/// A value that needs no check (its type admits only valid values).
fn any<T>(value: T) -> Result<T, ProfileError> {
    Ok(value)
}

/// The port a new profile gets in [`ProfileValues::from_new`] when it names
/// none; the repository replaces it by the next free port.
const UNCHOSEN_PORT: i64 = 10240;

impl Render for ModelType {
    fn render(&self) -> Option<String> {
        Some(self.as_str().to_owned())
    }
}

impl Render for LogLevel {
    fn render(&self) -> Option<String> {
        Some(self.as_str().to_owned())
    }
}

profile_fields! {
    /// Unique name.
    Name name: String = required() from String,
        check |v: String| text("name", &v, 100, false),
        rule "1 to 100 characters; unique.", command Identity;
    /// Free text.
    Description description: Option<String> = optional() from String,
        check description, rule "Up to 1000 characters.", command Manager;
    /// A Hugging Face repo id (`org/name`) or a local path.
    ModelPath model_path: String = required() from String,
        check |v: String| text("model_path", &v, 1024, true),
        rule "Up to 1024 characters; must not start with `-`.", command Identity;
    /// The kind of model: mlx-openai-server's `--model-type`.
    ModelType model_type: ModelType = defaulted(ModelType::Lm) from ModelType,
        check any, rule "Default `lm`.", command Setting;
    /// Unique port of the server.
    Port port: u16 = defaulted(UNCHOSEN_PORT) from i64,
        check port, rule "1024..=65535; default: the next free port at or above `[servers] port_start`.",
        command Identity;
    /// Address the server listens on.
    Host host: String = defaulted("127.0.0.1".to_owned()) from String,
        check |v: String| host(&v),
        rule "Default `127.0.0.1`; a loopback address (127.0.0.1, ::1, localhost) unless `[servers] allow_public_bind` is set.",
        command Identity;
    /// Context length override.
    ContextLength context_length: Option<u32> = optional() from i64,
        check |n| number("context_length", n, 1, 10_000_000).map(Some),
        rule "1..=10000000; unset: the model's own.", command Setting;
    /// Requests served at once; passed as `--max-concurrency` to
    /// mlx-openai-server before 1.7 (later releases batch instead).
    MaxConcurrency max_concurrency: u32 = defaulted(1) from i64,
        check |n| number("max_concurrency", n, 1, 1024),
        rule "1..=1024; default 1.", command Setting;
    /// Requests decoded together (`--decode-concurrency`, mlx-openai-server 1.8
    /// and later).
    DecodeConcurrency decode_concurrency: Option<u32> = optional() from i64,
        check |n| number("decode_concurrency", n, 1, 1024).map(Some),
        rule "1..=1024; unset: the server's default (mlx-openai-server 1.8: 32).",
        command Setting;
    /// Prompts prefilled together (`--prompt-concurrency`, mlx-openai-server
    /// 1.8 and later).
    PromptConcurrency prompt_concurrency: Option<u32> = optional() from i64,
        check |n| number("prompt_concurrency", n, 1, 1024).map(Some),
        rule "1..=1024; unset: the server's default (mlx-openai-server 1.8: 8).",
        command Setting;
    /// Seconds a request may wait in the queue.
    QueueTimeout queue_timeout: u32 = defaulted(300) from i64,
        check |n| number("queue_timeout", n, 1, 86_400),
        rule "1..=86400; default 300.", command Setting;
    /// Requests that may wait.
    QueueSize queue_size: u32 = defaulted(100) from i64,
        check |n| number("queue_size", n, 1, 100_000),
        rule "1..=100000; default 100.", command Setting;
    /// Tool-call parser.
    ToolCallParser tool_call_parser: Option<String> = optional() from String,
        check |v| opt_text("tool_call_parser", v, 100),
        rule "Up to 100 characters; must not start with `-`.", command Setting;
    /// Reasoning parser.
    ReasoningParser reasoning_parser: Option<String> = optional() from String,
        check |v| opt_text("reasoning_parser", v, 100),
        rule "Up to 100 characters; must not start with `-`.", command Setting;
    /// Message converter (mlx-openai-server before 1.7).
    MessageConverter message_converter: Option<String> = optional() from String,
        check |v| opt_text("message_converter", v, 100),
        rule "Up to 100 characters; must not start with `-`.", command Setting;
    /// Let the model choose tools.
    EnableAutoToolChoice enable_auto_tool_choice: bool = defaulted(false) from bool,
        check any, rule "Default false.", command Setting;
    /// Run code shipped with the model.
    TrustRemoteCode trust_remote_code: bool = defaulted(false) from bool,
        check any, rule "Default false.", command Setting;
    /// Chat template file.
    ChatTemplateFile chat_template_file: Option<String> = optional() from String,
        check |v| opt_text("chat_template_file", v, 4096),
        rule "Up to 4096 characters; must not start with `-`.", command Setting;
    /// The server's log level.
    LogLevel log_level: LogLevel = defaulted(LogLevel::Info) from LogLevel,
        check any, rule "Default `INFO`.", command Setting;
    /// The server's own log file.
    LogFile log_file: Option<String> = optional() from String,
        check |v| opt_text("log_file", v, 4096),
        rule "Up to 4096 characters; must not start with `-`.", command Setting;
    /// Tell the server not to write its own log file.
    NoLogFile no_log_file: bool = defaulted(false) from bool,
        check any, rule "Default false.", command Setting;
    /// Start the server when its login service loads.
    AutoStart auto_start: bool = defaulted(false) from bool,
        check any, rule "Default false.", command Manager;
    /// Let a gateway request for this model start its server when it is
    /// stopped (the request waits until the server is healthy).
    OnDemand on_demand: bool = defaulted(false) from bool,
        check any, rule "Default false.", command Manager;
    /// Seconds without a gateway request in flight after which a server the
    /// gateway started on demand is stopped.
    IdleTimeout idle_timeout: u32 = defaulted(0) from i64,
        check |n| number("idle_timeout", n, 0, 2_592_000),
        rule "0..=2592000 whole seconds; default 0: never stopped.", command Manager;
    /// System prompt.
    SystemPrompt system_prompt: Option<String> = optional() from String,
        check system_prompt,
        rule "Up to 100000 characters; newlines and tabs allowed.", command Setting;
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::MaybeUndefined;

    use super::*;

    fn new(name: &str) -> NewProfile {
        NewProfile {
            name: name.into(),
            model_path: "mlx-community/Qwen3-8B-4bit".into(),
            ..NewProfile::default()
        }
    }

    #[test]
    fn stored_enums_are_their_names_and_unknown_names_do_not_decode() {
        use surrealdb::types::Value;
        for t in ModelType::ALL {
            let stored = t.into_value();
            assert_eq!(stored, Value::String(t.as_str().into()));
            assert_eq!(ModelType::from_value(stored).ok(), Some(t));
        }
        for l in [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
        ] {
            assert_eq!(l.into_value(), Value::String(l.as_str().into()));
        }
        assert!(ModelType::from_value(Value::String("diffusion".into())).is_err());
        assert!(LogLevel::from_value(Value::String("LOUD".into())).is_err());
    }

    #[test]
    fn defaults_are_those_of_the_contract() {
        let v = ProfileValues::from_new(new("a")).expect("valid");
        assert_eq!(v.model_type, ModelType::Lm);
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
            let err = ProfileValues::from_new(profile)
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
            let err = ProfileValues::from_new(new(name))
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
        assert!(ProfileValues::from_new(new("Qwen 3 · 8B ✓")).is_ok());
    }

    #[test]
    fn shell_metacharacters_are_ordinary_characters() {
        let v = ProfileValues::from_new(NewProfile {
            model_path: "/models/a b; rm -rf ~ $(x)".into(),
            ..new("x")
        });
        assert_eq!(v.expect("valid").model_path, "/models/a b; rm -rf ~ $(x)");
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_can_clear_options() {
        let v = ProfileValues::from_new(NewProfile {
            description: Some("d".into()),
            ..new("a")
        })
        .expect("valid");
        let p = v
            .patched(ProfilePatch {
                queue_size: Some(5),
                description: MaybeUndefined::Null,
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
