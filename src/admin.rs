//! Offline administration (`mlx-manager user ...`): runs against the same store
//! while the server is stopped, for when nobody can log in as an admin.

use mlx_manager_auth::{
    AuthPlugin,
    input::{Email, Password},
};
use mlx_manager_sdk::{Plugin, PluginContext};

use crate::{
    cli::{UserCommand, read_password},
    config::Config,
    startup::ensure_private_dir,
    store,
};

/// Run a `user` sub-command.
pub async fn run(config: &Config, command: UserCommand) -> Result<(), String> {
    let settings = &config.settings;
    let data_dir = ensure_private_dir(&settings.paths.data_dir()).map_err(|e| e.to_string())?;
    let db = store::open(&settings.database, &data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let mut sets = vec![("core", crate::migrations::CORE)];
    sets.push((AuthPlugin::NAME, AuthPlugin::MIGRATIONS));
    store::migrate(&db, &sets)
        .await
        .map_err(|e| e.to_string())?;
    let auth_config = config.plugin(AuthPlugin::NAME).map_err(|e| e.to_string())?;
    let mut ctx = PluginContext::new(db, data_dir);
    let plugin = AuthPlugin::init(auth_config, &mut ctx)
        .await
        .map_err(|e| e.to_string())?;
    let service = plugin.service();
    match command {
        UserCommand::Create { email, admin } => {
            let email = Email::parse(&email).map_err(|e| e.to_string())?;
            let password =
                Password::parse(read_password("Password: ")?).map_err(|e| e.to_string())?;
            let user = service
                .seed(&email, &password, admin)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "created {} ({}){}",
                user.email,
                user.key(),
                if admin { " as admin" } else { "" }
            );
        }
        UserCommand::ResetPassword { email } => {
            let password = read_password("New password: ")?;
            service
                .reset_password_by_email(&email, password)
                .await
                .map_err(|e| e.to_string())?;
            println!("password reset; earlier tokens of this user no longer work");
        }
        UserCommand::List => {
            let users = service.list_users(None).await.map_err(|e| e.to_string())?;
            println!(
                "{:<22} {:<32} {:<9} {:<6} created",
                "id", "email", "status", "admin"
            );
            for u in users {
                println!(
                    "{:<22} {:<32} {:<9} {:<6} {}",
                    u.key(),
                    u.email,
                    u.status,
                    if u.is_admin { "yes" } else { "no" },
                    u.created_at.to_rfc3339()
                );
            }
        }
    }
    Ok(())
}
