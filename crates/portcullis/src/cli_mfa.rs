//! `portcullis users mfa ...`: an account's second factors from the
//! command line. `list` prints the admin API's summary of the user's
//! `mfa`; `reset`, `require` and `remove` call the same use cases of
//! `core_auth::mfa::policy` as the console and the API, as [`Actor::cli`]
//! (never asked to re-authenticate).

use admin_ui::api::mfa::summary;
use clap::{ArgGroup, Subcommand};
use core_auth::actor::Actor;
use core_auth::mfa::policy::{self, FactorRef};
use core_auth::{Config, CoreError};

use crate::bootstrap;
use crate::cli::UserError;
use crate::cli_admin::{json, user_id, Operator};

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Show a user's (id or email) second factors and whether one is
    /// required, as JSON (the admin API's `mfa` of the user).
    List { user: String },
    /// Remove every second factor of an account (authenticator app,
    /// passkeys, recovery codes), e.g. after a lost phone.
    Reset { user: String },
    /// Require a second factor of an account: without one, it sets one up
    /// at its next sign-in. With --off, stop requiring it (a role listed in
    /// mfa.required_for_roles may still require it).
    Require {
        user: String,
        #[arg(long)]
        off: bool,
    },
    /// Remove one second factor: the authenticator app (--app) or a passkey
    /// (--passkey ID, the id `users mfa list` shows). With no factor left,
    /// the recovery codes go too.
    #[command(group(ArgGroup::new("factor").required(true).args(["app", "passkey"])))]
    Remove {
        user: String,
        /// The authenticator app.
        #[arg(long)]
        app: bool,
        /// The passkey with this id.
        #[arg(long, value_name = "ID")]
        passkey: Option<String>,
    },
}

pub fn mfa_command(cfg: Config, cmd: MfaCommand, now: i64) -> Result<(), UserError> {
    if let MfaCommand::List { user } = &cmd {
        // Read-only: no key-encryption key needed.
        let pool = bootstrap::open_database(&cfg)?;
        let mut conn = pool.get().map_err(CoreError::from)?;
        let uid = user_id(&mut conn, user)?;
        return json(&summary(&mut conn, &cfg, &uid)?);
    }
    let op = Operator::open(cfg)?;
    let (core, cli) = (op.core(), Actor::cli());
    let id = |who: &str| user_id(&mut *op.conn()?, who);
    match cmd {
        MfaCommand::List { .. } => {}
        MfaCommand::Reset { user } => {
            let removed = policy::reset(&core, &cli, &id(&user)?, now)?;
            println!("{user}: {removed} second factor(s) removed, with the recovery codes");
        }
        MfaCommand::Require { user, off } => {
            let uid = id(&user)?;
            policy::set_required(&core, &cli, &uid, !off, now)?;
            let s = summary(&mut *op.conn()?, &op.config, &uid)?;
            match (off, s.required_by_roles.is_empty()) {
                (false, _) if s.has_factor() => println!("{user} must now use a second factor"),
                (false, _) => println!(
                    "{user} must now use a second factor: they set one up at their next sign-in"
                ),
                (true, true) => println!("a second factor is no longer required of {user}"),
                (true, false) => println!(
                    "{user}: no longer required by an administrator, but their roles ({}) still require a second factor",
                    s.required_by_roles.join(", ")
                ),
            }
        }
        MfaCommand::Remove { user, app, passkey } => {
            let uid = id(&user)?;
            let before = summary(&mut *op.conn()?, &op.config, &uid)?;
            let (which, what) = match passkey {
                Some(p) if !app => {
                    let what = match before.passkeys.iter().find(|k| k.id == p) {
                        Some(k) => format!("passkey {:?} ({p})", k.name),
                        None => format!("passkey {p}"),
                    };
                    (FactorRef::Passkey(p), what)
                }
                _ => (FactorRef::App, "authenticator app".to_string()),
            };
            policy::remove_one(&core, &cli, &uid, &which, now).map_err(|e| match e {
                CoreError::NotFound(_) => UserError(format!("{user} has no {what}")),
                other => other.into(),
            })?;
            let s = summary(&mut *op.conn()?, &op.config, &uid)?;
            let mut msg = format!("{user}: {what} removed");
            if !s.has_factor() {
                msg.push_str("; no second factor left (the recovery codes went too)");
                if s.required {
                    msg.push_str(": they set up a new one at their next sign-in");
                }
            }
            println!("{msg}");
        }
    }
    Ok(())
}
