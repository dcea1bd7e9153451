//! mlx-manager: a self-hosted server that manages local LLM model servers and
//! protects every endpoint with a pluggable authentication layer.
//!
//! Architecture map: the README's words (a test keeps the two, and the
//! modules declared below, the same).
//!
//! ```text
//! src/
//!   main.rs         parse the CLI and run it
//!   lib.rs          this map, as module docs
//!   cli.rs          serve | openapi | config check | service ... | the plugins' commands
//!   actions.rs      the core's actions (with default roles) and event names
//!   config.rs       one typed tree: defaults -> config.toml -> MLX_MANAGER_* env
//!   startup.rs      one bootstrap (data dir, store, migrations, permissions, plugins) for
//!                   serve and the CLI; Application::build: bind, then adopt servers and
//!                   resume downloads (AppState), routes, request hooks
//!   store.rs        SurrealDB (any engine) and numbered migrations
//!   migrations.rs   the core's migrations
//!   node.rs         this manager's node name, which scopes its profiles, server
//!                   instances and downloads in a shared store
//!   http.rs         body limit, JSON errors for framework failures, request ids and
//!                   the request span, security headers, host allow-list
//!   connections.rs  per-peer connection cap, header-read and idle timeouts (an
//!                   acceptor wrapper that knows when a request is in flight)
//!   plugins.rs      the composition root: plugin sets (tuples of up to 8, by macro)
//!   state.rs        AppState shared by core handlers: the core's services, started
//!                   after the listener binds
//!   lifecycle.rs    the use cases over a profile, its server and its login service
//!                   (rename, delete, start, restart, install, uninstall)
//!   gateway/        the OpenAI-compatible /v1 door: resolve `model` to a profile,
//!                   forward the body to its running server, stream the answer back
//!   api/            thin poem-openapi handlers, one file per resource (gateway.rs:
//!                   the /v1 routes, plain poem handlers with OpenAI-shaped errors)
//!   openapi.rs      the document as served, printed and committed (poem-openapi's,
//!                   with the wrapper around documented references simplified)
//!   profiles/       profiles: one table of fields (fields.rs expands it into values,
//!                   create body, update, storage, placeholders), validation, the
//!                   store table
//!   servers/        command template, program detection (mlx-openai-server version),
//!                   supervisor (process groups, health, exits, reconcile), log files,
//!                   process-tree figures (no HTTP types)
//!   system/         host facts, login services: launchd plist, systemd unit, runner seam
//!   bin/fake-model-server.rs   a stand-in OpenAI-compatible server for tests
//!   models/         Hub client, search, download manager (tasks, jobs, resumable
//!                   fetches), cache layout, local library (no HTTP types)
//! ```

pub(crate) mod actions;
pub mod api;
pub mod cli;
pub mod config;
pub(crate) mod connections;
pub(crate) mod gateway;
pub(crate) mod http;
pub(crate) mod lifecycle;
pub mod migrations;
pub mod models;
pub mod node;
pub mod openapi;
pub mod plugins;
pub mod profiles;
pub mod servers;
pub mod startup;
pub(crate) mod state;
pub mod store;
pub mod system;

pub use mlx_manager_sdk as sdk;

#[cfg(test)]
mod tests {
    /// The map above, the README's and the modules declared here agree.
    #[test]
    fn the_module_map_is_the_readmes_and_names_every_module() {
        let lib = include_str!("lib.rs");
        let readme = include_str!("../README.md");
        let map: String = lib
            .lines()
            .skip_while(|l| *l != "//! src/")
            .take_while(|l| *l != "//! ```")
            .map(|l| {
                let l = l.trim_start_matches("//!");
                format!("{}\n", l.strip_prefix(' ').unwrap_or(l))
            })
            .collect();
        assert!(map.len() > 100, "the map is in the module docs");
        assert!(
            readme.contains(&map),
            "README's src/ block differs from lib.rs's map:\n{map}"
        );
        let declared: Vec<&str> = lib
            .lines()
            .filter_map(|l| {
                l.strip_prefix("pub mod ")
                    .or(l.strip_prefix("pub(crate) mod "))
                    .or(l.strip_prefix("mod "))
            })
            .filter_map(|l| l.strip_suffix(';'))
            .collect();
        assert!(declared.len() > 10);
        let entries: Vec<String> = map
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter(|l| !l.starts_with(' '))
            .filter_map(|l| l.split_whitespace().next())
            .map(|name| {
                name.trim_end_matches(".rs")
                    .trim_end_matches('/')
                    .to_owned()
            })
            .collect();
        for module in &declared {
            assert!(
                entries.iter().any(|e| e == module),
                "module `{module}` is not in the map"
            );
        }
        for entry in &entries {
            let known = declared.contains(&entry.as_str())
                || ["main", "lib", "bin/fake-model-server"].contains(&entry.as_str());
            assert!(known, "the map names `{entry}`, which is no module");
        }
    }

    /// The top-level modules' non-test code, by module.
    fn sources_by_module() -> std::collections::BTreeMap<String, String> {
        fn walk(dir: &std::path::Path, out: &mut String) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path.file_name().is_some_and(|n| n != "tests.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    // Test modules may reach anything.
                    out.push_str(text.split("#[cfg(test)]\n").next().unwrap_or_default());
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut modules = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(&src).expect("src").flatten() {
            let path = entry.path();
            let name = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if ["lib", "main", "bin"].contains(&name.as_str()) {
                continue;
            }
            let mut text = String::new();
            if path.is_dir() {
                walk(&path, &mut text);
            } else {
                text = std::fs::read_to_string(&path).unwrap_or_default();
                text = text
                    .split("#[cfg(test)]\n")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            modules.insert(name, text);
        }
        modules
    }

    /// No top-level module reaches, through others, back to itself.
    #[test]
    fn the_top_level_modules_have_no_cycle() {
        let modules = sources_by_module();
        assert!(modules.len() > 10, "{:?}", modules.keys());
        // `crate::x::`, `crate::x;` and the names inside `crate::{...}` groups
        // (nested names count too: an over-approximation that can only fail).
        let uses = |from: &str| -> Vec<String> {
            let text = &modules[from];
            let mut words: Vec<&str> = Vec::new();
            for rest in text.split("crate::").skip(1) {
                let group = match rest.strip_prefix('{') {
                    Some(inner) => inner.split("};").next().unwrap_or_default(),
                    None => rest,
                };
                if rest.starts_with('{') {
                    words.extend(group.split(|c: char| !(c.is_alphanumeric() || c == '_')));
                } else {
                    words.extend(
                        rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .next(),
                    );
                }
            }
            modules
                .keys()
                .filter(|to| to.as_str() != from && words.contains(&to.as_str()))
                .cloned()
                .collect()
        };
        let graph: std::collections::BTreeMap<String, Vec<String>> =
            modules.keys().map(|m| (m.clone(), uses(m))).collect();
        fn visit(
            node: &str,
            graph: &std::collections::BTreeMap<String, Vec<String>>,
            path: &mut Vec<String>,
        ) {
            if let Some(i) = path.iter().position(|p| p == node) {
                panic!("module cycle: {} -> {node}", path[i..].join(" -> "));
            }
            path.push(node.to_owned());
            for next in &graph[node] {
                visit(next, graph, path);
            }
            path.pop();
        }
        for module in graph.keys() {
            visit(module, &graph, &mut Vec::new());
        }
        // The check sees real edges (a map without edges would pass anything).
        assert!(graph["api"].contains(&"state".to_owned()), "{graph:?}");
        assert!(
            graph["lifecycle"].contains(&"servers".to_owned()),
            "{graph:?}"
        );
    }
}
