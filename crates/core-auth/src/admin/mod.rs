//! What administrators do, shared by the admin console, the admin API and
//! the command line (as [`Actor::cli`]): each action checks its rules,
//! changes the data and writes its audit row (actor, target, what changed)
//! in one transaction. The faces only read their input, call one of these
//! and show the answer.

pub mod clients;
pub mod dashboard;
pub mod directory;
pub mod keys;
pub mod providers;
pub mod provision;
pub mod search;
pub mod sessions;
pub mod user_roles;
pub mod users;

use crate::actor::Actor;
use crate::clock::UnixTime;
use crate::db::DbConn;
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::roles;
use crate::service::Core;
use crate::users::ROLE_ADMIN;

pub(crate) fn invalid(field: &'static str, msg: impl Into<String>) -> CoreError {
    let mut v = ValidationErrors::default();
    v.add(field, msg);
    CoreError::Validation(v)
}

/// A validation error for one field (for the web crates).
pub fn invalid_input(field: &'static str, msg: impl Into<String>) -> CoreError {
    invalid(field, msg)
}

/// What [`ensure_admins`] compares with: taken inside the transaction,
/// before the change.
#[derive(Debug, Clone, Copy)]
pub struct Before {
    /// The actor held `admin`.
    pub actor_was_admin: bool,
    /// Someone with an enabled account held `admin`.
    pub had_admins: bool,
}

pub fn before(c: &mut DbConn, actor_user_id: Option<&str>) -> CoreResult<Before> {
    Ok(Before {
        actor_was_admin: is_admin(c, actor_user_id)?,
        had_admins: !roles::enabled_users_with_role(c, ROLE_ADMIN)?.is_empty(),
    })
}

/// The rules every change of roles, groups or accounts keeps, checked
/// inside the transaction after the change: an administrator never takes
/// the role from themselves, and a change never takes it from the last
/// holder. (A deployment run only by API clients, with no administrator
/// account, may still change roles.)
pub fn ensure_admins(c: &mut DbConn, actor_user_id: Option<&str>, b: Before) -> CoreResult<()> {
    // Only enabled accounts count: a disabled administrator cannot sign in.
    let admins = roles::enabled_users_with_role(c, ROLE_ADMIN)?;
    if let Some(actor) = actor_user_id {
        if b.actor_was_admin && !admins.iter().any(|a| a == actor) {
            return Err(invalid(
                "roles",
                "You cannot remove your own admin role; ask another administrator.",
            ));
        }
    }
    if b.had_admins && admins.is_empty() {
        return Err(invalid(
            "roles",
            "This would leave no administrator; make someone else an administrator first.",
        ));
    }
    Ok(())
}

/// True when `user_id` holds `admin` (directly or through a group).
pub fn is_admin(c: &mut DbConn, user_id: Option<&str>) -> CoreResult<bool> {
    match user_id {
        Some(u) => Ok(roles::effective_roles(c, u)?
            .iter()
            .any(|r| r == ROLE_ADMIN)),
        None => Ok(false),
    }
}

/// The gate of every sensitive action (anything that grants admin power,
/// issues a secret or changes who can sign in): the actor must have proved
/// who they are within `admin.reauth_window_secs` (the command line always
/// has). Called first, before anything is read or checked.
pub fn sensitive(core: &Core<'_>, actor: &Actor, now: UnixTime) -> CoreResult<()> {
    actor.require_fresh(core.config.admin.reauth_window_secs, now)
}
