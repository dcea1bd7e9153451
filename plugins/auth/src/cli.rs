//! `mlx-manager user create | reset-password | list`: offline administration of
//! accounts against the same store while the server is stopped, for when nobody
//! can log in as an admin. Changes are published as events `via: "cli"`.

use std::io::{self, BufRead, IsTerminal};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use mlx_manager_sdk::{Actor, PluginError};

use crate::{
    input::{Email, Password},
    service::AuthService,
};

/// Administer users while the server is stopped (break-glass).
#[derive(Debug, Parser)]
#[command(name = "user")]
struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

/// `user` sub-commands. Passwords come from a prompt, or from stdin when it is
/// not a terminal.
#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an approved user.
    Create {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Set a user's password (their existing tokens stop working).
    ResetPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// List users.
    List,
}

/// The `user` command, for the core's command line.
pub fn command() -> clap::Command {
    UserArgs::command()
}

fn fail(e: impl std::fmt::Display) -> PluginError {
    PluginError::new(e.to_string())
}

/// Run `user ...` with its parsed arguments.
pub async fn run(
    service: &AuthService,
    name: &str,
    matches: &clap::ArgMatches,
) -> Result<(), PluginError> {
    if name != "user" {
        return Err(PluginError::new(format!("no command `{name}`")));
    }
    let args = UserArgs::from_arg_matches(matches).map_err(fail)?;
    match args.command {
        UserCommand::Create { email, admin } => {
            let email = Email::parse(&email).map_err(fail)?;
            let password = Password::parse(read_password("Password: ")?).map_err(fail)?;
            let user = service.seed(&email, &password, admin).await.map_err(fail)?;
            service.record_created(Actor::cli(), &user).await;
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
                .reset_password_by_email(Actor::cli(), &email, password)
                .await
                .map_err(fail)?;
            println!("password reset; earlier tokens of this user no longer work");
        }
        UserCommand::List => {
            let users = service.list_users(None).await.map_err(fail)?;
            println!(
                "{:<22} {:<32} {:<9} {:<8} created",
                "id", "email", "status", "role"
            );
            for u in users {
                println!(
                    "{:<22} {:<32} {:<9} {:<8} {}",
                    u.key(),
                    u.email,
                    u.status.as_str(),
                    u.role.as_str(),
                    u.created_at.to_rfc3339()
                );
            }
        }
    }
    Ok(())
}

/// Read a password: from a hidden prompt on a terminal, else the first line of stdin.
fn read_password(prompt: &str) -> Result<String, PluginError> {
    if io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt).map_err(fail)?;
        let again = rpassword::prompt_password("Repeat: ").map_err(fail)?;
        if first != again {
            return Err(PluginError::new("the passwords differ"));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        io::stdin().lock().read_line(&mut line).map_err(fail)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
