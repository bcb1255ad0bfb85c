//! Administration from the command line: roles, groups, account actions,
//! throttles and the audit log. Every change is audited (actor: the CLI).

use clap::{Args, Subcommand};
use core_auth::actor::Actor;
use core_auth::audit::{self, Event};
use core_auth::db::DbConn;
use core_auth::{roles, throttle, users, Config, CoreError, CoreResult, DbPool};

use crate::bootstrap;
use crate::cli::UserError;

/// Writes an audit row for a CLI action.
pub fn audit_cli(conn: &mut DbConn, e: Event, now: i64) -> CoreResult<()> {
    audit::record(conn, &Actor::cli(), e, now)
}

fn json(v: &impl serde::Serialize) -> Result<(), UserError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| UserError(e.to_string()))?
    );
    Ok(())
}

fn user_id(conn: &mut DbConn, who: &str) -> Result<String, UserError> {
    users::find(conn, who)?
        .map(|u| u.id)
        .ok_or_else(|| UserError(format!("no user {who}")))
}

#[derive(Debug, Subcommand)]
pub enum UserAdminCommand {
    /// Give a user (id or email) a role directly.
    GrantRole { user: String, role: String },
    /// Take a directly given role away.
    RevokeRole { user: String, role: String },
    /// Disable an account: it cannot sign in; its sessions and tokens end.
    Disable { user: String },
    /// Enable a disabled account.
    Enable { user: String },
    /// Delete an account (not the last administrator).
    Delete { user: String },
    /// Clear the sign-in and reset throttles of an email address.
    ClearThrottle { email: String },
}

pub fn user_admin(
    pool: &DbPool,
    _cfg: &Config,
    cmd: UserAdminCommand,
    now: i64,
) -> Result<(), UserError> {
    let mut conn = pool.get().map_err(CoreError::from)?;
    let c = &mut *conn;
    match cmd {
        UserAdminCommand::GrantRole { user, role } => {
            let id = user_id(c, &user)?;
            roles::grant_role(c, &id, &role)?;
            audit_cli(
                c,
                Event::success("admin_role_granted")
                    .subject(&id)
                    .with("role", role.clone()),
                now,
            )?;
            println!("{user} now has the role {role}");
        }
        UserAdminCommand::RevokeRole { user, role } => {
            let id = user_id(c, &user)?;
            if role == users::ROLE_ADMIN
                && roles::users_with_role(c, users::ROLE_ADMIN)? == [id.clone()]
            {
                return Err(UserError(
                    "this is the last administrator; make someone else an administrator first"
                        .into(),
                ));
            }
            roles::revoke_role(c, &id, &role)?;
            audit_cli(
                c,
                Event::success("admin_role_revoked")
                    .subject(&id)
                    .with("role", role.clone()),
                now,
            )?;
            println!("{user} no longer has the role {role} directly");
        }
        UserAdminCommand::Disable { user } => {
            let id = user_id(c, &user)?;
            users::set_disabled(c, &id, true, now)?;
            audit_cli(c, Event::success("admin_user_disabled").subject(&id), now)?;
            println!("{user} disabled");
        }
        UserAdminCommand::Enable { user } => {
            let id = user_id(c, &user)?;
            users::set_disabled(c, &id, false, now)?;
            audit_cli(c, Event::success("admin_user_enabled").subject(&id), now)?;
            println!("{user} enabled");
        }
        UserAdminCommand::Delete { user } => {
            let id = user_id(c, &user)?;
            let deleted = users::delete(c, &id)?;
            audit_cli(
                c,
                Event::success("admin_user_deleted")
                    .subject(&id)
                    .with("email", deleted.email),
                now,
            )?;
            println!("{user} deleted");
        }
        UserAdminCommand::ClearThrottle { email } => {
            let a = throttle::clear(c, throttle::Kind::SignIn, &email)?;
            let b = throttle::clear(c, throttle::Kind::Reset, &email)?;
            audit_cli(
                c,
                Event::success("admin_throttle_cleared").with("cleared", a || b),
                now,
            )?;
            println!(
                "{}",
                if a || b {
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
    let pool = bootstrap::open_database(&cfg)?;
    let mut conn = pool.get().map_err(CoreError::from)?;
    let c = &mut *conn;
    let now = core_auth::Clock::now(&core_auth::SystemClock);
    match cmd {
        RolesCommand::List { json: as_json } => {
            let all = roles::list_roles(c)?;
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
            let r = roles::create_role(c, &name, &description, now)?;
            audit_cli(
                c,
                Event::success("admin_role_created").with("role", r.name.clone()),
                now,
            )?;
            json(&r)?;
        }
        RolesCommand::Rename { name, new_name } => {
            roles::rename_role(c, &name, &new_name)?;
            audit_cli(
                c,
                Event::success("admin_role_renamed")
                    .with("role", name)
                    .with("new_name", new_name),
                now,
            )?;
        }
        RolesCommand::Delete { name } => {
            roles::delete_role(c, &name)?;
            audit_cli(
                c,
                Event::success("admin_role_deleted").with("role", name),
                now,
            )?;
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
    let pool = bootstrap::open_database(&cfg)?;
    let mut conn = pool.get().map_err(CoreError::from)?;
    let c = &mut *conn;
    let now = core_auth::Clock::now(&core_auth::SystemClock);
    let done = |c: &mut DbConn,
                event: &'static str,
                group: &str,
                extra: Option<(&str, String)>|
     -> Result<(), UserError> {
        let mut e = Event::success(event).with("group", group.to_string());
        if let Some((k, v)) = extra {
            e = e.with(k, v);
        }
        Ok(audit_cli(c, e, now)?)
    };
    match cmd {
        GroupsCommand::List { json: as_json } => {
            let all = roles::list_groups(c)?;
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
        }
        GroupsCommand::Create { name, description } => {
            let g = roles::create_group(c, &name, &description, now)?;
            done(c, "admin_group_created", &g.name, None)?;
            json(&g)?;
        }
        GroupsCommand::Rename { group, new_name } => {
            let id = group_id(c, &group)?;
            roles::rename_group(c, &id, &new_name)?;
            done(
                c,
                "admin_group_renamed",
                &group,
                Some(("new_name", new_name)),
            )?;
        }
        GroupsCommand::Delete { group } => {
            let id = group_id(c, &group)?;
            roles::delete_group(c, &id)?;
            done(c, "admin_group_deleted", &group, None)?;
        }
        GroupsCommand::AddUser { group, user } => {
            let (gid, uid) = (group_id(c, &group)?, user_id(c, &user)?);
            roles::add_member(c, &gid, &uid)?;
            done(c, "admin_group_member_added", &group, Some(("user", uid)))?;
        }
        GroupsCommand::RemoveUser { group, user } => {
            let (gid, uid) = (group_id(c, &group)?, user_id(c, &user)?);
            roles::remove_member(c, &gid, &uid)?;
            done(c, "admin_group_member_removed", &group, Some(("user", uid)))?;
        }
        GroupsCommand::Grant { group, role } => {
            let gid = group_id(c, &group)?;
            roles::grant_group_role(c, &gid, &role)?;
            done(c, "admin_group_role_granted", &group, Some(("role", role)))?;
        }
        GroupsCommand::Revoke { group, role } => {
            let gid = group_id(c, &group)?;
            roles::revoke_group_role(c, &gid, &role)?;
            done(c, "admin_group_role_revoked", &group, Some(("role", role)))?;
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
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
}

pub fn audit_command(cfg: Config, a: AuditArgs) -> Result<(), UserError> {
    let pool = bootstrap::open_database(&cfg)?;
    let mut conn = pool.get().map_err(CoreError::from)?;
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
