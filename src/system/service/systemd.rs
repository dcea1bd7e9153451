//! systemd user units: the unit file, with `ExecStart=` and `Environment=` quoted
//! so that every argument survives systemd's own splitting and specifiers, and
//! each setting written the way systemd reads it (REFERENCE.md: it does not
//! unquote `WorkingDirectory=`, does not expand `$` in `Environment=`, and a
//! line ending in `\` continues on the next one). Checked with the real
//! `systemd-analyze verify` by the tests.

use super::ServiceSpec;

/// Quote one `ExecStart=` word for systemd: double quotes, with `\` and `"`
/// escaped, `%` doubled (specifiers), `$` doubled (variable expansion), and
/// every control character written as `\xNN`, so no value can end the line and
/// add a directive.
pub fn quote(word: &str) -> String {
    quote_with(word, true)
}

/// Quote one `Environment=` word: as [`quote`], but `$` stays as it is
/// (systemd expands no variables there, so doubling it would change the value).
pub fn quote_env(word: &str) -> String {
    quote_with(word, false)
}

/// A path for a setting that systemd takes verbatim (`WorkingDirectory=`):
/// unquoted, `%` doubled, control characters dropped, and no trailing `\`.
pub fn verbatim(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace('%', "%%");
    cleaned.trim_end_matches(['\\', ' ']).to_owned()
}

fn quote_with(word: &str, double_dollar: bool) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' if double_dollar => out.push_str("$$"),
            c if c.is_control() && (c as u32) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The unit file for `spec`.
pub fn unit(spec: &ServiceSpec) -> String {
    let exec: Vec<String> = spec.argv.iter().map(|a| quote(a)).collect();
    let log = spec.log_path.display().to_string();
    let mut text = format!(
        "# Written by mlx-manager; `mlx-manager` removes it when the service is uninstalled.\n\
         [Unit]\nDescription={}\nAfter=network.target\n\n\
         [Service]\nType=simple\nExecStart={}\nWorkingDirectory={}\n",
        verbatim(&spec.description),
        exec.join(" "),
        verbatim(&spec.working_dir.display().to_string()),
    );
    for (k, v) in &spec.env {
        text.push_str(&format!("Environment={}\n", quote_env(&format!("{k}={v}"))));
    }
    text.push_str(&format!(
        "StandardOutput=append:{log}\nStandardError=append:{log}\nRestart=on-failure\nRestartSec=30\n\n[Install]\nWantedBy=default.target\n",
        log = verbatim(&log)
    ));
    text
}

/// Split an `ExecStart=` value back into words the way systemd does for the
/// quoting [`quote`] produces (for tests and `status`).
pub fn split(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).collect();
                        if let Ok(b) = u8::from_str_radix(&hex, 16) {
                            word.push(char::from(b));
                        }
                    }
                    Some(e) => word.push(e),
                    None => {}
                },
                '%' | '$' if chars.peek() == Some(&c) => {
                    chars.next();
                    word.push(c);
                }
                c => word.push(c),
            }
        }
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips_hostile_arguments() {
        let argv = [
            "/bin/srv",
            "a b",
            "x\"y",
            "back\\slash",
            "100%",
            "$HOME",
            "`id`; rm -rf /",
            "tab\there",
            "line\nExecStartPre=/bin/evil",
            "cr\rExecStartPre=/bin/evil",
        ];
        let quoted: Vec<String> = argv.iter().map(|a| quote(a)).collect();
        let line = quoted.join(" ");
        assert!(!line.contains(['\n', '\r']), "one line: {line}");
        assert_eq!(split(&line), argv);
    }
}
