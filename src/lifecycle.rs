//! The use cases that span a profile, its model server and its login service:
//! a rename is refused while a service is installed (its label follows the
//! name), a delete stops the server and removes the service first, and an
//! install or uninstall keeps the profile's `service_installed` true to what is
//! on disk even when the service manager fails half-way. No HTTP types here.

use std::{path::PathBuf, sync::Arc};

use crate::{
    profiles::{Profile, ProfileError, ProfilePatch, Profiles},
    servers::{ServerError, Started, Supervisor},
    system::service::{self, ServiceError, ServiceManager, ServiceState},
};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The profile (not found, a value breaks a rule, a name or port taken).
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The server (not running, failed to start).
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The login service (unsupported, the service manager refused).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A stored profile whose host is not loopback, while public binds are off.
    #[error("{0}")]
    PublicBind(String),
    /// A rename of a profile whose login service is installed.
    #[error(
        "Remove the profile's login service before renaming it (the service's label follows the name)"
    )]
    RenameWhileInstalled,
}

/// A login service just installed.
#[derive(Debug)]
pub struct InstalledService {
    /// The profile, now marked as installed.
    pub profile: Profile,
    /// The plist or unit file written.
    pub path: PathBuf,
    /// The service's label.
    pub label: String,
}

/// Profiles with their servers and login services.
#[derive(Clone)]
pub struct Lifecycle {
    profiles: Profiles,
    supervisor: Arc<Supervisor>,
    services: Arc<ServiceManager>,
}

impl Lifecycle {
    /// The use cases over these parts.
    pub fn new(
        profiles: Profiles,
        supervisor: Arc<Supervisor>,
        services: Arc<ServiceManager>,
    ) -> Self {
        Self {
            profiles,
            supervisor,
            services,
        }
    }

    /// Apply `patch` to profile `id`; a rename is refused while the profile's
    /// login service is installed.
    pub async fn update(&self, id: &str, patch: ProfilePatch) -> Result<Profile, LifecycleError> {
        if let Some(name) = &patch.name {
            let current = self.profiles.get(id).await?;
            if current.service_installed && name.trim() != current.values.name {
                return Err(LifecycleError::RenameWhileInstalled);
            }
        }
        Ok(self.profiles.update(id, patch).await?)
    }

    /// Delete profile `id`: its server is stopped first and its login service
    /// (if installed) removed; when either fails, the profile stays.
    pub async fn delete(&self, id: &str) -> Result<Profile, LifecycleError> {
        let profile = self.profiles.get(id).await?;
        match self.supervisor.stop(&profile.id, false).await {
            Ok(()) | Err(ServerError::NotRunning) => {}
            Err(e) => return Err(e.into()),
        }
        if profile.service_installed {
            match self
                .services
                .uninstall(&service::label(&profile.values.name))
                .await
            {
                Ok(()) | Err(ServiceError::NotInstalled) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.profiles.delete(&profile.id).await?;
        Ok(profile)
    }

    /// Start profile `id`'s server (refused for a host other than loopback
    /// while `[servers] allow_public_bind` is off).
    pub async fn start(&self, id: &str) -> Result<(Profile, Started), LifecycleError> {
        let profile = self.startable(id).await?;
        let started = self.supervisor.start(&profile).await?;
        Ok((profile, started))
    }

    /// Stop profile `id`'s server if it runs, then start it.
    pub async fn restart(&self, id: &str) -> Result<(Profile, Started), LifecycleError> {
        let profile = self.startable(id).await?;
        let started = self.supervisor.restart(&profile).await?;
        Ok((profile, started))
    }

    /// Profile `id`, when its server may listen where it says.
    async fn startable(&self, id: &str) -> Result<Profile, LifecycleError> {
        let profile = self.profiles.get(id).await?;
        self.profiles
            .check_host(&profile.values.host)
            .map_err(|rule| LifecycleError::PublicBind(format!("Cannot start: {rule}")))?;
        Ok(profile)
    }

    /// Install profile `id` as a login service running the supervisor's own
    /// command. A label that belongs to another profile's service or to the
    /// manager's own is refused, never taken over.
    pub async fn install_service(&self, id: &str) -> Result<InstalledService, LifecycleError> {
        // A login service runs the server too: the same host rule applies.
        let profile = self.startable(id).await?;
        let label = service::label(&profile.values.name);
        let foreign = !profile.service_installed && self.services.path(&label).exists();
        if label == service::MANAGER_LABEL || foreign {
            return Err(ServiceError::LabelTaken(label).into());
        }
        let sup = &self.supervisor;
        let spec = self.services.profile_spec(
            &profile,
            &sup.command(&profile).await,
            sup.working_dir(),
            sup.log_path(&profile.id),
        )?;
        let path = self.services.install(&spec).await?;
        let profile = self
            .profiles
            .set_service_installed(&profile.id, true)
            .await?;
        Ok(InstalledService {
            profile,
            path,
            label: spec.label,
        })
    }

    /// Remove profile `id`'s login service. The profile is marked as not
    /// installed once its file is gone, even when unloading failed.
    pub async fn uninstall_service(&self, id: &str) -> Result<(Profile, String), LifecycleError> {
        let profile = self.profiles.get(id).await?;
        if !profile.service_installed {
            // Whatever file has this label belongs to someone else.
            return Err(ServiceError::NotInstalled.into());
        }
        let label = service::label(&profile.values.name);
        let result = self.services.uninstall(&label).await;
        if matches!(result, Ok(()) | Err(ServiceError::NotInstalled)) {
            self.profiles
                .set_service_installed(&profile.id, false)
                .await?;
        }
        result?;
        Ok((profile, label))
    }

    /// The state of profile `id`'s login service.
    pub async fn service_status(&self, id: &str) -> Result<ServiceState, LifecycleError> {
        let profile = self.profiles.get(id).await?;
        Ok(self
            .services
            .status(&service::label(&profile.values.name))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use mlx_manager_sdk::EventBus;
    use poem_openapi::types::MaybeUndefined;

    use super::*;
    use crate::{
        config::ModelServerSettings,
        migrations::CORE,
        profiles::NewProfile,
        servers::command::Template,
        store::migrate,
        system::service::{Kind, Output, RunError, Runner, default_dir},
    };

    /// A service manager (systemctl) that succeeds until told to refuse.
    #[derive(Default)]
    struct Systemctl {
        refuse: AtomicBool,
    }

    #[async_trait::async_trait]
    impl Runner for Systemctl {
        async fn run(&self, _program: &str, _args: &[String]) -> Result<Output, RunError> {
            Ok(Output {
                success: !self.refuse.load(Ordering::SeqCst),
                stdout: String::new(),
                stderr: "refused".into(),
            })
        }
    }

    async fn lifecycle(home: &std::path::Path, runner: Arc<Systemctl>) -> (Lifecycle, Profiles) {
        let db = surrealdb::engine::any::connect("mem://")
            .await
            .expect("mem");
        db.use_ns("t").use_db("t").await.expect("ns");
        migrate(&db, "local", &[("core", CORE)])
            .await
            .expect("migrations");
        let settings = ModelServerSettings {
            program: "sh".into(),
            ..ModelServerSettings::default()
        };
        let template = Template::new(&settings).expect("template");
        let supervisor = Supervisor::new(
            template,
            settings,
            home.to_path_buf(),
            db.clone(),
            "local",
            EventBus::default(),
        )
        .expect("supervisor");
        let kind = Kind::Systemd;
        let services = ServiceManager::new(
            Some(kind),
            default_dir(Some(kind), home),
            home.to_path_buf(),
            "launchctl".into(),
            "systemctl".into(),
            runner,
        );
        let profiles = Profiles::new(db, "local", 10240);
        let lifecycle = Lifecycle::new(profiles.clone(), supervisor, Arc::new(services));
        (lifecycle, profiles)
    }

    fn new(name: &str) -> NewProfile {
        NewProfile {
            name: name.into(),
            model_path: "m".into(),
            ..NewProfile::default()
        }
    }

    #[tokio::test]
    async fn a_profile_with_a_service_keeps_its_name_but_not_its_other_values() {
        let home = tempfile::tempdir().expect("home");
        let (lifecycle, profiles) = lifecycle(home.path(), Arc::default()).await;
        let p = profiles.create(new("a")).await.expect("created");
        lifecycle.install_service(&p.id).await.expect("installed");
        let rename = ProfilePatch {
            name: Some("b".into()),
            ..ProfilePatch::default()
        };
        let refused = lifecycle.update(&p.id, rename.clone()).await;
        assert!(
            matches!(refused, Err(LifecycleError::RenameWhileInstalled)),
            "{refused:?}"
        );
        let same_name = ProfilePatch {
            name: Some(" a ".into()),
            description: MaybeUndefined::Value("d".into()),
            ..ProfilePatch::default()
        };
        let updated = lifecycle.update(&p.id, same_name).await.expect("updated");
        assert_eq!(updated.values.description.as_deref(), Some("d"));
        lifecycle.uninstall_service(&p.id).await.expect("removed");
        let renamed = lifecycle.update(&p.id, rename).await.expect("renamed");
        assert_eq!(renamed.values.name, "b");
    }

    #[tokio::test]
    async fn a_delete_removes_the_service_and_keeps_the_profile_when_that_fails() {
        let home = tempfile::tempdir().expect("home");
        let runner = Arc::new(Systemctl::default());
        let (lifecycle, profiles) = lifecycle(home.path(), runner.clone()).await;
        let p = profiles.create(new("a")).await.expect("created");
        let installed = lifecycle.install_service(&p.id).await.expect("installed");
        assert!(installed.path.exists() && installed.profile.service_installed);

        runner.refuse.store(true, Ordering::SeqCst);
        let failed = lifecycle.delete(&p.id).await;
        assert!(
            matches!(failed, Err(LifecycleError::Service(_))),
            "{failed:?}"
        );
        let kept = profiles.get(&p.id).await.expect("the profile stays");
        assert!(kept.service_installed, "its service is still there");

        runner.refuse.store(false, Ordering::SeqCst);
        lifecycle.delete(&p.id).await.expect("deleted");
        assert!(!installed.path.exists(), "the unit file is gone");
        assert!(matches!(
            profiles.get(&p.id).await,
            Err(ProfileError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_label_of_another_profile_is_never_taken_over() {
        let home = tempfile::tempdir().expect("home");
        let (lifecycle, profiles) = lifecycle(home.path(), Arc::default()).await;
        let a = profiles.create(new("Lab A")).await.expect("a");
        let b = profiles
            .create(new("lab-a"))
            .await
            .expect("b: another name, the same label");
        lifecycle.install_service(&a.id).await.expect("installed");
        let taken = lifecycle.install_service(&b.id).await;
        assert!(
            matches!(
                taken,
                Err(LifecycleError::Service(ServiceError::LabelTaken(_)))
            ),
            "{taken:?}"
        );
        let not_installed = lifecycle.uninstall_service(&b.id).await;
        assert!(
            matches!(
                not_installed,
                Err(LifecycleError::Service(ServiceError::NotInstalled))
            ),
            "{not_installed:?}"
        );
        assert!(
            profiles.get(&a.id).await.expect("a").service_installed,
            "a's service is untouched"
        );
    }

    #[tokio::test]
    async fn a_stored_profile_on_a_public_address_does_not_start_while_public_binds_are_off() {
        let home = tempfile::tempdir().expect("home");
        let (lifecycle, profiles) = lifecycle(home.path(), Arc::default()).await;
        let public = NewProfile {
            host: Some("0.0.0.0".into()),
            ..new("public")
        };
        let refused = profiles.create(public.clone()).await;
        assert!(
            matches!(refused, Err(ProfileError::Invalid(ref m)) if m.contains("allow_public_bind"))
        );
        // Stored while public binds were allowed (an admin turned them off since).
        let stored = profiles
            .clone()
            .with_public_bind(true)
            .create(public)
            .await
            .expect("allowed then");
        let start = lifecycle.start(&stored.id).await;
        assert!(
            matches!(start, Err(LifecycleError::PublicBind(ref m)) if m.contains("0.0.0.0")),
            "{start:?}"
        );
        for host in ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"] {
            assert!(crate::profiles::is_loopback(host), "{host}");
        }
        for host in ["0.0.0.0", "192.168.1.2", "::", "lab.example"] {
            assert!(!crate::profiles::is_loopback(host), "{host}");
        }
    }
}
