//! The model-server command: the configured program and argument template, with
//! each `{field}` replaced by the profile's value. Values become whole arguments
//! (or parts of one); no shell is ever involved, so a value can never become a
//! second argument or a command.

use std::{collections::BTreeMap, path::PathBuf};

use crate::{
    config::LauncherSettings,
    profiles::{Profile, ProfileValues},
};

/// Fields a template may use.
pub const FIELDS: &[&str] = &[
    "id",
    "name",
    "model_path",
    "model_type",
    "port",
    "host",
    "context_length",
    "max_concurrency",
    "queue_timeout",
    "queue_size",
    "tool_call_parser",
    "reasoning_parser",
    "message_converter",
    "enable_auto_tool_choice",
    "trust_remote_code",
    "chat_template_file",
    "log_level",
    "log_file",
    "no_log_file",
    "system_prompt",
];

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Text(String),
    Field(String),
    IfSet(String, String),
}

/// A parsed argument template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    program: String,
    args: Vec<Vec<Segment>>,
    env: BTreeMap<String, String>,
    working_dir: Option<PathBuf>,
}

/// A template refers to an unknown field or has an unclosed brace.
#[derive(Debug, thiserror::Error)]
#[error("invalid [servers] args: {0}")]
pub struct TemplateError(String);

/// A concrete command: program, arguments, environment, working directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerCommand {
    /// The program (a name looked up on `PATH`, or a path).
    pub program: String,
    /// Its arguments, one element per argument.
    pub args: Vec<String>,
    /// Environment variables added to the manager's.
    pub env: BTreeMap<String, String>,
    /// Working directory (`None`: the data directory).
    pub working_dir: Option<PathBuf>,
}

impl ServerCommand {
    /// Program and arguments, as one list.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.program.clone())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

fn parse_arg(arg: &str) -> Result<Vec<Segment>, TemplateError> {
    let mut segments = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            segments.push(Segment::Text(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| TemplateError(format!("unclosed '{{' in {arg:?}")))?;
        let inner = &rest[open + 1..open + close];
        let (name, text) = match inner.split_once('?') {
            Some((name, text)) => (name, Some(text)),
            None => (inner, None),
        };
        if !FIELDS.contains(&name) {
            return Err(TemplateError(format!(
                "unknown placeholder {{{name}}} in {arg:?}; known: {}",
                FIELDS.join(", ")
            )));
        }
        segments.push(match text {
            Some(text) => Segment::IfSet(name.to_owned(), text.to_owned()),
            None => Segment::Field(name.to_owned()),
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Text(rest.to_owned()));
    }
    Ok(segments)
}

fn value(id: &str, v: &ProfileValues, field: &str) -> Option<String> {
    let flag = |b: bool| b.then(|| "true".to_owned());
    match field {
        "id" => Some(id.to_owned()),
        "name" => Some(v.name.clone()),
        "model_path" => Some(v.model_path.clone()),
        "model_type" => Some(v.model_type.as_str().to_owned()),
        "port" => Some(v.port.to_string()),
        "host" => Some(v.host.clone()),
        "context_length" => v.context_length.map(|n| n.to_string()),
        "max_concurrency" => Some(v.max_concurrency.to_string()),
        "queue_timeout" => Some(v.queue_timeout.to_string()),
        "queue_size" => Some(v.queue_size.to_string()),
        "tool_call_parser" => v.tool_call_parser.clone(),
        "reasoning_parser" => v.reasoning_parser.clone(),
        "message_converter" => v.message_converter.clone(),
        "enable_auto_tool_choice" => flag(v.enable_auto_tool_choice),
        "trust_remote_code" => flag(v.trust_remote_code),
        "chat_template_file" => v.chat_template_file.clone(),
        "log_level" => Some(v.log_level.as_str().to_owned()),
        "log_file" => v.log_file.clone(),
        "no_log_file" => flag(v.no_log_file),
        "system_prompt" => v.system_prompt.clone(),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

impl Template {
    /// Parse and check the configured command.
    pub fn new(settings: &LauncherSettings) -> Result<Self, TemplateError> {
        if settings.program.trim().is_empty() {
            return Err(TemplateError("program must not be empty".into()));
        }
        let args = settings
            .args
            .iter()
            .map(|a| parse_arg(a))
            .collect::<Result<_, _>>()?;
        let mut env = BTreeMap::from([("PYTHONUNBUFFERED".to_owned(), "1".to_owned())]);
        env.extend(settings.env.clone());
        Ok(Self {
            program: settings.program.clone(),
            args,
            env,
            working_dir: settings.working_dir.clone(),
        })
    }

    /// The command for `profile`. An argument that is a lone `{field}` and comes
    /// out empty is dropped with the flag before it; `{field?TEXT}` is TEXT when
    /// the field is set.
    pub fn render(&self, profile: &Profile) -> ServerCommand {
        let mut args: Vec<String> = Vec::new();
        for segments in &self.args {
            if let [Segment::Field(name)] = segments.as_slice() {
                match value(&profile.id, &profile.values, name) {
                    Some(v) => args.push(v),
                    None => {
                        if args.last().is_some_and(|a| a.starts_with('-')) {
                            args.pop();
                        }
                    }
                }
                continue;
            }
            let mut arg = String::new();
            for s in segments {
                match s {
                    Segment::Text(t) => arg.push_str(t),
                    Segment::Field(name) => {
                        arg.push_str(&value(&profile.id, &profile.values, name).unwrap_or_default())
                    }
                    Segment::IfSet(name, text) => {
                        if value(&profile.id, &profile.values, name).is_some() {
                            arg.push_str(text);
                        }
                    }
                }
            }
            let only_conditional = segments.iter().all(|s| matches!(s, Segment::IfSet(..)));
            if !(only_conditional && arg.is_empty()) {
                args.push(arg);
            }
        }
        ServerCommand {
            program: self.program.clone(),
            args,
            env: self.env.clone(),
            working_dir: self.working_dir.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::{NewProfile, ProfileValues};

    fn profile(edit: impl FnOnce(&mut NewProfile)) -> Profile {
        let mut new = NewProfile {
            name: "p".into(),
            model_path: "mlx-community/Qwen3-8B-4bit".into(),
            port: Some(10240),
            ..NewProfile::default()
        };
        edit(&mut new);
        Profile {
            id: "abc".into(),
            values: ProfileValues::from_new(new, 10240).expect("valid"),
            service_installed: false,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_default_template_is_the_mlx_openai_server_command() {
        let t = Template::new(&LauncherSettings::default()).expect("template");
        let cmd = t.render(&profile(|_| {}));
        assert_eq!(
            cmd.argv(),
            [
                "mlx-openai-server",
                "launch",
                "--model-path",
                "mlx-community/Qwen3-8B-4bit",
                "--model-type",
                "lm",
                "--port",
                "10240",
                "--host",
                "127.0.0.1",
                "--max-concurrency",
                "1",
                "--queue-timeout",
                "300",
                "--queue-size",
                "100",
            ]
        );
        assert_eq!(
            cmd.env.get("PYTHONUNBUFFERED").map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn optional_flags_appear_only_when_set() {
        let t = Template::new(&LauncherSettings::default()).expect("template");
        let cmd = t.render(&profile(|p| p.reasoning_parser = Some("qwen3".into())));
        let argv = cmd.argv();
        let i = argv
            .iter()
            .position(|a| a == "--reasoning-parser")
            .expect("flag");
        assert_eq!(argv[i + 1], "qwen3");
        assert!(!argv.contains(&"--tool-call-parser".to_owned()));
    }

    #[test]
    fn a_value_with_spaces_and_metacharacters_stays_one_argument() {
        let t = Template::new(&LauncherSettings::default()).expect("template");
        let path = "/m/a b; rm -rf / && $(reboot) `x` | y > z";
        let argv = t.render(&profile(|p| p.model_path = path.into())).argv();
        assert_eq!(argv[3], path);
        assert_eq!(argv.len(), 16);
    }

    #[test]
    fn conditional_and_embedded_placeholders() {
        let settings = LauncherSettings {
            program: "srv".into(),
            args: vec![
                "--model={model_path}".into(),
                "{trust_remote_code?--trust-remote-code}".into(),
                "{enable_auto_tool_choice?--auto}".into(),
                "--ctx".into(),
                "{context_length}".into(),
            ],
            ..LauncherSettings::default()
        };
        let t = Template::new(&settings).expect("template");
        let argv = t
            .render(&profile(|p| p.trust_remote_code = Some(true)))
            .argv();
        assert_eq!(
            argv,
            [
                "srv",
                "--model=mlx-community/Qwen3-8B-4bit",
                "--trust-remote-code"
            ]
        );
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        let settings = LauncherSettings {
            args: vec!["{modle_path}".into()],
            ..LauncherSettings::default()
        };
        let err = Template::new(&settings)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("{modle_path}"), "{err}");
        let settings = LauncherSettings {
            args: vec!["{model_path".into()],
            ..LauncherSettings::default()
        };
        assert!(Template::new(&settings).is_err());
    }
}
