//! Administration from the command line: accounts, roles, groups,
//! throttles and the audit log (second factors: `cli_mfa`). Each change
//! calls the same use case of `core_auth::admin` as the console and the
//! API, as [`Actor::cli`]: the
//! same rules (the last administrator, the `user` role), the change and
//! its audit row in one transaction. The command line is never asked to
//! re-authenticate.

use clap::{Args, Subcommand};
use core_auth::actor::Actor;
use core_auth::admin::{directory, user_roles, users as admin_users};
use core_auth::audit;
use core_auth::db::DbConn;
use core_auth::keys::KeyRing;
use core_auth::password::Passwords;
use core_auth::{roles, users, Clock, Config, Core, CoreError, DbPool, SystemClock};

use crate::bootstrap;
use crate::cli::UserError;

/// What the use cases need, opened as `serve` opens it: the database
/// (migrated), the password hasher and the signing keys (which need the
/// server's key-encryption key).
pub struct Operator {
    pub pool: DbPool,
    pub config: Config,
    passwords: Passwords,
    keys: KeyRing,
}

impl Operator {
    pub fn open(config: Config) -> Result<Operator, UserError> {
        let pool = bootstrap::open_database(&config)?;
        let kek_env = std::env::var(core_auth::keys::kek::ENV_VAR).ok();
        let kek = bootstrap::key_encryption_key(&config, kek_env.as_deref())?;
        let keys = bootstrap::key_ring(&pool, &config, kek, SystemClock.now())?;
        Ok(Operator {
            passwords: Passwords::new(&config.password),
            pool,
            config,
            keys,
        })
    }

    pub fn core(&self) -> Core<'_> {
        Core {
            pool: &self.pool,
            config: &self.config,
            passwords: &self.passwords,
            keys: &self.keys,
        }
    }

    pub(crate) fn conn(&self) -> Result<core_auth::db::PooledConn, UserError> {
        Ok(self.pool.get().map_err(CoreError::from)?)
    }
}

pub(crate) fn json(v: &impl serde::Serialize) -> Result<(), UserError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| UserError(e.to_string()))?
    );
    Ok(())
}

pub(crate) fn user_id(conn: &mut DbConn, who: &str) -> Result<String, UserError> {
    users::find(conn, who)?
        .map(|u| u.id)
        .ok_or_else(|| UserError(format!("no user {who}")))
}

#[derive(Debug, Subcommand)]
pub enum UserAdminCommand {
    /// Give a user (id or email) a role directly.
    GrantRole { user: String, role: String },
    /// Take a directly given role away (not the last administrator's).
    RevokeRole { user: String, role: String },
    /// Disable an account: it cannot sign in; its sessions and tokens end
    /// (not the last enabled administrator).
    Disable { user: String },
    /// Enable a disabled account.
    Enable { user: String },
    /// Delete an account (not the last administrator).
    Delete { user: String },
    /// Clear the sign-in and reset throttles of an email address.
    ClearThrottle { email: String },
}

pub fn user_admin(op: &Operator, cmd: UserAdminCommand, now: i64) -> Result<(), UserError> {
    let (core, cli) = (op.core(), Actor::cli());
    let id = |who: &str| user_id(&mut *op.conn()?, who);
    match cmd {
        UserAdminCommand::GrantRole { user, role } => {
            user_roles::grant(&core, &cli, &id(&user)?, &role, now)?;
            println!("{user} now has the role {role}");
        }
        UserAdminCommand::RevokeRole { user, role } => {
            user_roles::revoke(&core, &cli, &id(&user)?, &role, now)?;
            println!("{user} no longer has the role {role} directly");
        }
        UserAdminCommand::Disable { user } => {
            admin_users::set_disabled(&core, &cli, &id(&user)?, true, now)?;
            println!("{user} disabled");
        }
        UserAdminCommand::Enable { user } => {
            admin_users::set_disabled(&core, &cli, &id(&user)?, false, now)?;
            println!("{user} enabled");
        }
        UserAdminCommand::Delete { user } => {
            admin_users::delete(&core, &cli, &id(&user)?, now)?;
            println!("{user} deleted");
        }
        UserAdminCommand::ClearThrottle { email } => {
            let cleared = admin_users::clear_address_throttles(&core, &cli, &email, now)?;
            println!(
                "{}",
                if cleared {
                    "throttle cleared"
                } else {
                    "no throttle for that address"
                }
            );
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    Rename {
        name: String,
        new_name: String,
    },
    Delete {
        name: String,
    },
}

pub fn roles_command(cfg: Config, cmd: RolesCommand) -> Result<(), UserError> {
    let now = SystemClock.now();
    let cli = Actor::cli();
    match cmd {
        RolesCommand::List { json: as_json } => {
            let pool = bootstrap::open_database(&cfg)?;
            let all = roles::list_roles(&mut *pool.get().map_err(CoreError::from)?)?;
            if as_json {
                return json(&all);
            }
            for r in all {
                println!(
                    "{:<24} {:<8} {}",
                    r.name,
                    if r.builtin { "built-in" } else { "custom" },
                    r.description
                );
            }
        }
        RolesCommand::Create { name, description } => {
            let op = Operator::open(cfg)?;
            json(&directory::create_role(
                &op.core(),
                &cli,
                &name,
                &description,
                now,
            )?)?;
        }
        RolesCommand::Rename { name, new_name } => {
            let op = Operator::open(cfg)?;
            directory::rename_role(&op.core(), &cli, &name, &new_name, now)?;
        }
        RolesCommand::Delete { name } => {
            let op = Operator::open(cfg)?;
            directory::delete_role(&op.core(), &cli, &name, now)?;
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    Rename {
        group: String,
        new_name: String,
    },
    Delete {
        group: String,
    },
    /// Add a user (id or email) to a group.
    AddUser {
        group: String,
        user: String,
    },
    RemoveUser {
        group: String,
        user: String,
    },
    /// Give every member of a group a role.
    Grant {
        group: String,
        role: String,
    },
    Revoke {
        group: String,
        role: String,
    },
}

fn group_id(c: &mut DbConn, g: &str) -> Result<String, UserError> {
    roles::find_group(c, g)?
        .map(|g| g.id)
        .ok_or_else(|| UserError(format!("no group {g}")))
}

pub fn groups_command(cfg: Config, cmd: GroupsCommand) -> Result<(), UserError> {
    if let GroupsCommand::List { json: as_json } = cmd {
        let pool = bootstrap::open_database(&cfg)?;
        let all = roles::list_groups(&mut *pool.get().map_err(CoreError::from)?)?;
        if as_json {
            return json(&all);
        }
        for g in all {
            println!(
                "{:<24} members: {:<5} roles: {}",
                g.group.name,
                g.members,
                g.roles.join(",")
            );
        }
        return Ok(());
    }
    let op = Operator::open(cfg)?;
    let (core, cli, now) = (op.core(), Actor::cli(), SystemClock.now());
    let group = |g: &str| group_id(&mut *op.conn()?, g);
    let user = |u: &str| user_id(&mut *op.conn()?, u);
    match cmd {
        // Read-only: listed above, without the key ring.
        GroupsCommand::List { .. } => {}
        GroupsCommand::Create { name, description } => {
            let g = directory::create_group(&core, &cli, &name, &description, &[], now)?;
            json(&g.info.group)?;
        }
        GroupsCommand::Rename { group: g, new_name } => {
            directory::update_group(&core, &cli, &group(&g)?, Some(&new_name), None, now)?;
        }
        GroupsCommand::Delete { group: g } => {
            directory::delete_group(&core, &cli, &group(&g)?, now)?;
        }
        GroupsCommand::AddUser { group: g, user: u } => {
            directory::set_member(&core, &cli, &group(&g)?, &user(&u)?, true, now)?;
        }
        GroupsCommand::RemoveUser { group: g, user: u } => {
            directory::set_member(&core, &cli, &group(&g)?, &user(&u)?, false, now)?;
        }
        GroupsCommand::Grant { group: g, role } => {
            directory::set_group_role(&core, &cli, &group(&g)?, &role, true, now)?;
        }
        GroupsCommand::Revoke { group: g, role } => {
            directory::set_group_role(&core, &cli, &group(&g)?, &role, false, now)?;
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this event type (e.g. sign_in).
    #[arg(long)]
    pub event: Option<String>,
    /// Only rows about (or by) this user id.
    #[arg(long)]
    pub user: Option<String>,
    /// The client_credentials issuance counters (per client, minute and
    /// scope) instead of the event rows.
    #[arg(long, conflicts_with_all = ["event", "user"])]
    pub issuance: bool,
    /// With --issuance: only this client's counters.
    #[arg(long, requires = "issuance")]
    pub client: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
}

pub fn audit_command(cfg: Config, a: AuditArgs) -> Result<(), UserError> {
    if let Some(e) = a.event.as_deref() {
        if audit::EventKind::parse(e).is_none() {
            return Err(UserError(format!(
                "no audit event is called {e:?}; the events are: {}",
                audit::EventKind::names().join(", ")
            )));
        }
    }
    let pool = bootstrap::open_database(&cfg)?;
    let mut conn = pool.get().map_err(CoreError::from)?;
    if a.issuance {
        let rows = core_auth::oidc::grant::client_credentials::issued(
            &mut conn,
            a.client.as_deref(),
            a.limit.clamp(1, 10_000),
        )?;
        for row in rows {
            println!(
                "{}",
                serde_json::to_string(&row).map_err(|e| UserError(e.to_string()))?
            );
        }
        return Ok(());
    }
    let f = audit::Filter {
        event: a.event,
        user_id: a.user,
        ..audit::Filter::default()
    };
    for row in audit::query(&mut conn, &f, a.limit.clamp(1, 10_000))? {
        println!(
            "{}",
            serde_json::to_string(&row).map_err(|e| UserError(e.to_string()))?
        );
    }
    Ok(())
}
