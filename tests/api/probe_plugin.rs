//! Proof that the plugin contract is open: a plugin defined here, in the tests,
//! declares an action, serves an endpoint, sees every request through the
//! request hook and every domain event through the bus, and runs in the real app
//! beside the default plugins with no change to core code.

use std::sync::{Arc, Mutex};

use mlx_manager::{
    plugins::PluginSet,
    sdk::{
        Action, ActionDecl, ApiError, Auth, Event, Plugin, PluginContext, PluginError,
        RequestRecord, Role,
    },
};
use mlx_manager_audit::AuditPlugin;
use mlx_manager_auth::AuthPlugin;
use poem::web::Data;
use poem_openapi::{Object, OpenApi, payload::Json};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::helpers::{TestApp, json, with_fast_hashing};

const PROBE_READ: Action = Action::new("probe.read");

/// What the probe saw.
#[derive(Default)]
struct Seen {
    /// (method, route template, status, caller's email) of every request.
    requests: Vec<(String, Option<String>, u16, Option<String>)>,
    /// Every domain event's action.
    events: Vec<String>,
}

struct ProbePlugin {
    seen: Arc<Mutex<Seen>>,
    greeting: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ProbeConfig {
    greeting: String,
}

/// One request as the hook saw it.
#[derive(Object)]
struct SeenRequest {
    method: String,
    route: Option<String>,
    status: u16,
    caller: Option<String>,
}

#[derive(Object)]
struct ProbeAnswer {
    greeting: String,
    requests: Vec<SeenRequest>,
    events: Vec<String>,
}

#[derive(Default)]
struct ProbeApi;

#[OpenApi]
impl ProbeApi {
    /// What the probe saw
    ///
    /// Action: `probe.read`. Every request its hook saw and every event its
    /// subscriber received.
    #[oai(path = "/api/probe", method = "get", operation_id = "getProbe")]
    async fn probe(
        &self,
        auth: Auth,
        plugin: Data<&Arc<ProbePlugin>>,
    ) -> Result<Json<ProbeAnswer>, ApiError> {
        auth.require(PROBE_READ)?;
        let seen = plugin
            .seen
            .lock()
            .map_err(|_| ApiError::internal("poisoned"))?;
        Ok(Json(ProbeAnswer {
            greeting: plugin.greeting.clone(),
            requests: seen
                .requests
                .iter()
                .map(|(method, route, status, caller)| SeenRequest {
                    method: method.clone(),
                    route: route.clone(),
                    status: *status,
                    caller: caller.clone(),
                })
                .collect(),
            events: seen.events.clone(),
        }))
    }
}

impl Plugin for ProbePlugin {
    const NAME: &'static str = "probe";
    const ACTIONS: &'static [ActionDecl] = &[ActionDecl::new(PROBE_READ, Role::Operator, "probe")];
    type Config = ProbeConfig;
    type Api = ProbeApi;

    async fn init(config: ProbeConfig, ctx: &mut PluginContext) -> Result<Self, PluginError> {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut rx = ctx.events().subscribe();
        let sink = seen.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                let event: Arc<Event> = event;
                if let Ok(mut s) = sink.lock() {
                    s.events.push(event.action.as_str().to_owned());
                }
            }
        });
        Ok(Self {
            seen,
            greeting: config.greeting,
        })
    }

    async fn on_request(&self, r: &RequestRecord<'_>) {
        if let Ok(mut s) = self.seen.lock() {
            s.requests.push((
                r.method.to_string(),
                r.route.map(str::to_owned),
                r.status,
                r.principal.map(|p| p.email().to_owned()),
            ));
        }
    }
}

type WithProbe = (AuditPlugin, AuthPlugin, ProbePlugin);

#[tokio::test]
async fn a_plugin_defined_in_the_tests_joins_the_real_app() {
    // Its action is in [permissions] like any other; its config section is its own.
    let app = TestApp::spawn_plugins::<WithProbe>(|f| {
        with_fast_hashing(f)
            .merge(("plugins.probe.greeting", "hello"))
            .merge(("permissions", json!({"probe.read": "user"})))
    })
    .await;
    let admin = app.admin_token().await;
    let (_, user) = app.approved_user(&admin, "user@example.com").await;
    let p = app.create_profile(&user, "seen", "m/x").await;
    let id = p["id"].as_str().expect("id").to_owned();
    let got = app.get_as(&user, &format!("/api/profiles/{id}")).await;
    assert_eq!(got.status(), StatusCode::OK);
    let anonymous = app.get("/api/profiles").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Its endpoint, under its own action (moved to `user` by config).
    let resp = app.get_as(&user, "/api/probe").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let seen = json(resp).await;
    assert_eq!(seen["greeting"], "hello");
    let requests = seen["requests"].as_array().expect("requests");
    let find = |method: &str, route: &str| {
        requests
            .iter()
            .find(|r| r["method"] == method && r["route"] == route)
            .unwrap_or_else(|| panic!("{method} {route} not seen: {requests:?}"))
    };
    // Route templates, never raw paths; the caller without a second lookup.
    let get = find("GET", "/api/profiles/{id}");
    assert_eq!(get["status"], 200);
    assert_eq!(get["caller"], "user@example.com");
    assert!(
        !requests
            .iter()
            .any(|r| r["route"].as_str().is_some_and(|t| t.contains(&id)))
    );
    let create = find("POST", "/api/profiles");
    assert_eq!(create["status"], 201);
    let refused = find("GET", "/api/profiles");
    assert_eq!(refused["status"], 401);
    assert!(
        refused["caller"].is_null(),
        "an anonymous call has no caller"
    );
    let login = find("POST", "/api/auth/login");
    assert_eq!(login["status"], 200);
    // The bus delivered the core's and the auth plugin's events.
    let events: Vec<&str> = seen["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    for action in [
        "auth.register",
        "auth.login",
        "auth.approve",
        "profile.create",
    ] {
        assert!(
            events.contains(&action),
            "{action} not received: {events:?}"
        );
    }

    // Roles below its action are refused with the usual sentence.
    let (viewer_id, viewer) = app.approved_user(&admin, "viewer@example.com").await;
    let resp = app
        .send_as(
            &admin,
            Method::PUT,
            &format!("/api/auth/users/{viewer_id}"),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let refused = app.get_as(&viewer, "/api/probe").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(refused).await["detail"],
        "Requires the user role (probe.read)"
    );

    // The document lists the probe's operation with its action and default role.
    let doc = json(app.get("/openapi.json").await).await;
    let op = &doc["paths"]["/api/probe"]["get"];
    assert_eq!(op["x-action"], "probe.read");
    assert!(
        op["description"]
            .as_str()
            .is_some_and(|d| d.contains("Least role by default: `operator`."))
    );
    app.shutdown().await;
}

#[test]
fn a_set_of_three_plugins_composes_names_actions_and_commands() {
    assert_eq!(WithProbe::names(), vec!["audit", "auth", "probe"]);
    let actions: Vec<String> = WithProbe::actions()
        .iter()
        .map(|d| d.action.to_string())
        .collect();
    assert_eq!(
        actions,
        [
            "audit.read",
            "auth.self",
            "users.manage",
            "keys.own",
            "keys.manage",
            "probe.read"
        ]
    );
    let commands: Vec<(&str, String)> = WithProbe::commands()
        .into_iter()
        .map(|(plugin, c)| (plugin, c.get_name().to_owned()))
        .collect();
    assert_eq!(commands, [("auth", "user".to_owned())]);
}
