//! The model-server command: the configured program and argument template, with
//! each `{field}` replaced by the profile's value. Values become whole arguments
//! (or parts of one); no shell is ever involved, so a value can never become a
//! second argument or a command.
//!
//! When the program is mlx-openai-server, a placeholder whose option the
//! detected version does not have renders empty (so its flag is dropped), and
//! [`Template::warnings`] says which profile settings therefore cannot be
//! honoured; a setting the template does not use at all is reported the same way.

use std::{collections::BTreeMap, path::PathBuf};

use super::program::{NEWEST_KNOWN, OLDEST_SUPPORTED, ServerProgram, Version};
use crate::{
    config::ModelServerSettings,
    profiles::{CommandUse, Profile, ProfileField, ProfileValues},
};

/// A template placeholder: the profile's id, the model name the server
/// reports, or a field of the profile (any field the manager does not keep for
/// itself, so a new field is a placeholder without an edit here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The profile's id.
    Id,
    /// The model id the server reports: the profile's name.
    ServedModelName,
    /// A field of the profile.
    Field(ProfileField),
}

impl Placeholder {
    /// Every placeholder: the id, then the fields in the order of the
    /// profile's table, the served model name right after the name.
    pub fn all() -> impl Iterator<Item = Placeholder> {
        std::iter::once(Placeholder::Id).chain(
            ProfileField::ALL
                .iter()
                .filter(|f| f.command_use() != CommandUse::Manager)
                .flat_map(|&f| {
                    let served = (f == ProfileField::Name).then_some(Placeholder::ServedModelName);
                    std::iter::once(Placeholder::Field(f)).chain(served)
                }),
        )
    }

    /// Its name in a template (`{name}`).
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Id => "id",
            Placeholder::ServedModelName => "served_model_name",
            Placeholder::Field(f) => f.name(),
        }
    }
}

/// Which mlx-openai-server releases have a placeholder's option (read from the
/// releases' `app/cli.py`, and checked against their real parsers by
/// `tests/api/real_servers.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Support {
    /// Every supported release.
    Always,
    /// Releases from this one on.
    Since(Version),
    /// Releases before this one (it removed the option).
    Before(Version),
}

impl Placeholder {
    fn parse(name: &str) -> Option<Self> {
        Self::all().find(|p| p.name() == name)
    }

    /// The value for a profile; `None` when unset (an empty text counts as unset).
    fn value(self, id: &str, v: &ProfileValues) -> Option<String> {
        match self {
            Placeholder::Id => Some(id.to_owned()),
            Placeholder::ServedModelName => ProfileField::Name.render(v),
            Placeholder::Field(f) => f.render(v),
        }
        .filter(|s| !s.is_empty())
    }

    /// Whether the profile sets this to something other than its default, so
    /// that leaving it out of the command would lose a setting. Identity,
    /// address and derived values are never "settings" in this sense.
    fn is_setting(self, v: &ProfileValues) -> bool {
        match self {
            Placeholder::Field(f) => f.command_use() == CommandUse::Setting && f.is_set(v),
            Placeholder::Id | Placeholder::ServedModelName => false,
        }
    }

    /// The mlx-openai-server option this placeholder fills in the default
    /// template, and the releases that have it.
    fn mlx_option(self) -> (&'static str, Support) {
        const V1_7: Version = Version(1, 7, 0);
        const V1_8: Version = Version(1, 8, 0);
        match self {
            Placeholder::ServedModelName => ("--served-model-name", Support::Since(V1_7)),
            Placeholder::Field(ProfileField::MaxConcurrency) => {
                ("--max-concurrency", Support::Before(V1_7))
            }
            Placeholder::Field(ProfileField::MessageConverter) => {
                ("--message-converter", Support::Before(V1_7))
            }
            Placeholder::Field(ProfileField::DecodeConcurrency) => {
                ("--decode-concurrency", Support::Since(V1_8))
            }
            Placeholder::Field(ProfileField::PromptConcurrency) => {
                ("--prompt-concurrency", Support::Since(V1_8))
            }
            _ => ("", Support::Always),
        }
    }

    /// Whether mlx-openai-server `version` has this placeholder's option.
    fn accepted_by(self, version: Version) -> bool {
        match self.mlx_option().1 {
            Support::Always => true,
            Support::Since(v) => version >= v,
            Support::Before(v) => version < v,
        }
    }

    /// Whether `program` can take this placeholder's value.
    fn accepted(self, program: &ServerProgram) -> bool {
        program
            .mlx_openai_server()
            .is_none_or(|version| self.accepted_by(version))
    }
}

/// Variables of the manager's own environment that model servers inherit (a
/// name, or a prefix ending in `*`). Everything else stays out: the manager's
/// `MLX_MANAGER_*` settings (the JWT secret, the bootstrap and database
/// passwords) and `HF_TOKEN` reach a server only when `[servers.env]` names them.
pub const INHERITED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_*",
    "TZ",
    "TMPDIR",
    "TERM",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_ENDPOINT",
    "HF_HUB_OFFLINE",
    "HF_HUB_ENABLE_HF_TRANSFER",
    "PYTHON*",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "MLX_METAL_*",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// The variables of `vars` (the manager's environment) that servers inherit.
pub fn inherited_env(vars: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    vars.filter(|(name, _)| {
        INHERITED_ENV
            .iter()
            .any(|allowed| match allowed.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == allowed,
            })
    })
    .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Text(String),
    Field(Placeholder),
    IfSet(Placeholder, String),
}

/// A parsed argument template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    program: String,
    args: Vec<Vec<Segment>>,
    env: BTreeMap<String, String>,
    /// `env` on top of the inherited variables, taken once at start-up (the
    /// manager's environment does not change while it runs).
    full_env: BTreeMap<String, String>,
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
    /// `PYTHONUNBUFFERED=1` and `[servers.env]`: set on top of the inherited
    /// variables ([`inherited_env`]); nothing else of the manager's reaches it.
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
        let Some(field) = Placeholder::parse(name) else {
            let known: Vec<&str> = Placeholder::all().map(Placeholder::name).collect();
            return Err(TemplateError(format!(
                "unknown placeholder {{{name}}} in {arg:?}; known: {}",
                known.join(", ")
            )));
        };
        segments.push(match text {
            Some(text) => Segment::IfSet(field, text.to_owned()),
            None => Segment::Field(field),
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Text(rest.to_owned()));
    }
    Ok(segments)
}

impl Template {
    /// Parse and check the configured command.
    pub fn new(settings: &ModelServerSettings) -> Result<Self, TemplateError> {
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
        let mut full_env = inherited_env(std::env::vars());
        full_env.extend(env.clone());
        Ok(Self {
            program: settings.program.clone(),
            args,
            env,
            full_env,
            working_dir: settings.working_dir.clone(),
        })
    }

    /// The configured program, as written.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The whole environment a server gets: the inherited variables, then
    /// `PYTHONUNBUFFERED=1` and `[servers.env]`.
    pub fn server_env(&self) -> &BTreeMap<String, String> {
        &self.full_env
    }

    fn uses(&self, field: Placeholder) -> bool {
        self.args.iter().flatten().any(|s| match s {
            Segment::Field(f) | Segment::IfSet(f, _) => *f == field,
            Segment::Text(_) => false,
        })
    }

    /// The command for `profile`, run by `program`. An argument that is a lone
    /// `{field}` and comes out empty is dropped with the flag before it;
    /// `{field?TEXT}` is TEXT when the field is set. A field that `program`
    /// cannot take comes out empty; an argument that embeds one is dropped.
    pub fn render(&self, profile: &Profile, program: &ServerProgram) -> ServerCommand {
        let value = |f: Placeholder| {
            f.accepted(program)
                .then(|| f.value(&profile.id, &profile.values))
                .flatten()
        };
        let mut args: Vec<String> = Vec::new();
        for segments in &self.args {
            if let [Segment::Field(field)] = segments.as_slice() {
                match value(*field) {
                    Some(v) => args.push(v),
                    None => {
                        if args.last().is_some_and(|a| a.starts_with('-')) {
                            args.pop();
                        }
                    }
                }
                continue;
            }
            let refused = segments.iter().any(|s| match s {
                Segment::Field(f) => !f.accepted(program),
                _ => false,
            });
            if refused {
                continue;
            }
            let mut arg = String::new();
            for s in segments {
                match s {
                    Segment::Text(t) => arg.push_str(t),
                    Segment::Field(f) => arg.push_str(&value(*f).unwrap_or_default()),
                    Segment::IfSet(f, text) => {
                        if value(*f).is_some() {
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

    /// The profile settings that the command for `program` cannot carry, as
    /// sentences: set but unused by the template, or not accepted by the
    /// detected mlx-openai-server version. Empty when everything is honoured.
    pub fn warnings(&self, profile: &Profile, program: &ServerProgram) -> Vec<String> {
        let v = &profile.values;
        let mut out = Vec::new();
        let version = program.mlx_openai_server();
        if let Some(version) = version {
            if version < OLDEST_SUPPORTED {
                out.push(format!(
                    "mlx-openai-server {version} is older than {OLDEST_SUPPORTED}, the oldest \
                     supported release; upgrade it (pip install -U mlx-openai-server)"
                ));
            } else if (version.0, version.1) > (NEWEST_KNOWN.0, NEWEST_KNOWN.1) {
                out.push(format!(
                    "mlx-openai-server {version} is newer than {NEWEST_KNOWN}, the newest \
                     release this manager knows; its command is built as for {NEWEST_KNOWN}"
                ));
            }
        }
        for field in Placeholder::all() {
            let name = field.name();
            if field == Placeholder::ServedModelName {
                if let Some(version) =
                    version.filter(|v| self.uses(field) && !field.accepted_by(*v))
                {
                    out.push(format!(
                        "the server reports its model as {:?}, not as the profile's name: \
                         mlx-openai-server {version} has no --served-model-name (added in 1.7)",
                        v.model_path
                    ));
                }
                continue;
            }
            if !field.is_setting(v) {
                continue;
            }
            if !self.uses(field) {
                out.push(format!(
                    "{name} is set but not passed to the server: the [servers] args template \
                     has no {{{name}}}"
                ));
            } else if let Some(version) = version.filter(|v| !field.accepted_by(*v)) {
                let (option, support) = field.mlx_option();
                let why = match support {
                    Support::Before(v) => format!("removed in {}.{}", v.0, v.1),
                    Support::Since(v) => format!("added in {}.{}", v.0, v.1),
                    Support::Always => String::new(),
                };
                let hint = match field {
                    Placeholder::Field(ProfileField::MaxConcurrency) => {
                        "; use decode_concurrency on 1.8 and later"
                    }
                    _ => "",
                };
                out.push(format!(
                    "{name} is set but not passed to the server: mlx-openai-server {version} \
                     has no {option} ({why}){hint}"
                ));
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests spawn and read the clock directly"
)]
mod tests {
    use super::*;
    use crate::profiles::{NewProfile, ProfileValues};

    fn other() -> ServerProgram {
        ServerProgram::Other { version: None }
    }

    fn mlx(major: u32, minor: u32, patch: u32) -> ServerProgram {
        ServerProgram::MlxOpenAiServer(Version(major, minor, patch))
    }

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
            values: ProfileValues::from_new(new).expect("valid"),
            service_installed: false,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_default_template_is_the_mlx_openai_server_command() {
        let t = Template::new(&ModelServerSettings::default()).expect("template");
        let cmd = t.render(&profile(|_| {}), &other());
        assert_eq!(
            cmd.argv(),
            [
                "mlx-openai-server",
                "launch",
                "--model-path",
                "mlx-community/Qwen3-8B-4bit",
                "--model-type",
                "lm",
                "--served-model-name",
                "p",
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
                "--log-level",
                "INFO",
            ]
        );
        assert_eq!(
            cmd.env.get("PYTHONUNBUFFERED").map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn optional_flags_appear_only_when_set() {
        let t = Template::new(&ModelServerSettings::default()).expect("template");
        let cmd = t.render(
            &profile(|p| p.reasoning_parser = Some("qwen3".into())),
            &other(),
        );
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
        let t = Template::new(&ModelServerSettings::default()).expect("template");
        let path = "/m/a b; rm -rf / && $(reboot) `x` | y > z";
        let argv = t
            .render(&profile(|p| p.model_path = path.into()), &other())
            .argv();
        assert_eq!(argv[3], path);
        assert_eq!(argv.len(), 20);
    }

    #[test]
    fn conditional_and_embedded_placeholders() {
        let settings = ModelServerSettings {
            program: "srv".into(),
            args: vec![
                "--model={model_path}".into(),
                "{trust_remote_code?--trust-remote-code}".into(),
                "{enable_auto_tool_choice?--auto}".into(),
                "--ctx".into(),
                "{context_length}".into(),
            ],
            ..ModelServerSettings::default()
        };
        let t = Template::new(&settings).expect("template");
        let argv = t
            .render(&profile(|p| p.trust_remote_code = Some(true)), &other())
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
        let settings = ModelServerSettings {
            args: vec!["{modle_path}".into()],
            ..ModelServerSettings::default()
        };
        let err = Template::new(&settings)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("{modle_path}"), "{err}");
        let settings = ModelServerSettings {
            args: vec!["{model_path".into()],
            ..ModelServerSettings::default()
        };
        assert!(Template::new(&settings).is_err());
    }

    fn flags(argv: &[String]) -> Vec<&str> {
        argv.iter()
            .map(String::as_str)
            .filter(|a| a.starts_with("--"))
            .collect()
    }

    #[test]
    fn each_mlx_openai_server_release_gets_only_its_own_options() {
        let t = Template::new(&ModelServerSettings::default()).expect("template");
        let p = profile(|p| {
            p.max_concurrency = Some(4);
            p.decode_concurrency = Some(16);
            p.prompt_concurrency = Some(4);
            p.message_converter = Some("qwen3_coder".into());
        });
        let v16 = t.render(&p, &mlx(1, 6, 3)).argv();
        let f16 = flags(&v16);
        assert!(f16.contains(&"--max-concurrency") && f16.contains(&"--message-converter"));
        assert!(!f16.contains(&"--served-model-name"));
        assert!(!f16.contains(&"--decode-concurrency"));
        let v17 = t.render(&p, &mlx(1, 7, 1)).argv();
        let f17 = flags(&v17);
        assert!(f17.contains(&"--served-model-name"));
        assert!(!f17.contains(&"--max-concurrency") && !f17.contains(&"--message-converter"));
        assert!(!f17.contains(&"--decode-concurrency"));
        let v18 = t.render(&p, &mlx(1, 8, 0)).argv();
        let f18 = flags(&v18);
        assert!(f18.contains(&"--decode-concurrency") && f18.contains(&"--prompt-concurrency"));
        assert!(!f18.contains(&"--max-concurrency"));
        let i = v18
            .iter()
            .position(|a| a == "--served-model-name")
            .expect("name");
        assert_eq!(v18[i + 1], "p");
        // Another program gets the template as written.
        let all = t.render(&p, &other()).argv();
        for flag in [
            "--max-concurrency",
            "--decode-concurrency",
            "--message-converter",
        ] {
            assert!(flags(&all).contains(&flag), "{flag}");
        }
    }

    #[test]
    fn settings_a_release_cannot_take_are_warnings_naming_field_and_version() {
        let t = Template::new(&ModelServerSettings::default()).expect("template");
        let plain = profile(|_| {});
        assert_eq!(t.warnings(&plain, &mlx(1, 8, 1)), Vec::<String>::new());
        assert_eq!(t.warnings(&plain, &other()), Vec::<String>::new());
        let p = profile(|p| {
            p.max_concurrency = Some(4);
            p.decode_concurrency = Some(16);
        });
        let w18 = t.warnings(&p, &mlx(1, 8, 1)).join("\n");
        assert!(
            w18.contains("max_concurrency is set but not passed"),
            "{w18}"
        );
        assert!(
            w18.contains("mlx-openai-server 1.8.1 has no --max-concurrency (removed in 1.7)"),
            "{w18}"
        );
        assert!(!w18.contains("decode_concurrency is set"), "{w18}");
        let w16 = t.warnings(&p, &mlx(1, 6, 3)).join("\n");
        assert!(w16.contains("--decode-concurrency (added in 1.8)"), "{w16}");
        assert!(w16.contains("no --served-model-name"), "{w16}");
        assert!(!w16.contains("max_concurrency is set"), "{w16}");
        let newer = t.warnings(&plain, &mlx(1, 9, 0)).join("\n");
        assert!(newer.contains("newer than 1.8.1"), "{newer}");
        let older = t.warnings(&plain, &mlx(1, 4, 2)).join("\n");
        assert!(older.contains("older than 1.5.0"), "{older}");
    }

    #[test]
    fn a_setting_the_template_does_not_use_is_a_warning() {
        let settings = ModelServerSettings {
            program: "mlx_lm.server".into(),
            args: vec!["--model".into(), "{model_path}".into()],
            ..ModelServerSettings::default()
        };
        let t = Template::new(&settings).expect("template");
        let p = profile(|p| {
            p.system_prompt = Some("be brief".into());
            p.trust_remote_code = Some(true);
        });
        let w = t.warnings(&p, &other());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("trust_remote_code is set but not passed"),
            "{w:?}"
        );
        assert!(w[1].contains("has no {system_prompt}"), "{w:?}");
    }

    #[test]
    fn an_argument_embedding_a_refused_field_is_dropped() {
        let settings = ModelServerSettings {
            args: vec!["--max-concurrency={max_concurrency}".into(), "--x".into()],
            ..ModelServerSettings::default()
        };
        let t = Template::new(&settings).expect("template");
        let argv = t.render(&profile(|_| {}), &mlx(1, 8, 1)).argv();
        assert_eq!(argv, ["mlx-openai-server", "--x"]);
    }

    #[test]
    fn every_placeholder_has_a_distinct_name_that_parses_back() {
        for p in Placeholder::all() {
            assert_eq!(Placeholder::parse(p.name()), Some(p));
        }
        let mut names: Vec<&str> = Placeholder::all().map(Placeholder::name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(
            Placeholder::parse("auto_start").is_none()
                && Placeholder::parse("description").is_none(),
            "the manager's own fields are no placeholders"
        );
    }

    #[test]
    fn servers_inherit_only_the_allowed_variables() {
        let vars = [
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("PYTHONPATH", "/p"),
            ("MLX_MANAGER_PLUGINS__AUTH__JWT_SECRET", "s"),
            ("MLX_MANAGER_DATABASE__PASSWORD", "p"),
            ("HF_TOKEN", "hf_x"),
            ("AWS_SECRET_ACCESS_KEY", "k"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let env = inherited_env(vars.into_iter());
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(names, ["LC_ALL", "PATH", "PYTHONPATH"]);
    }
}
