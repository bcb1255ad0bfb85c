//! One role given to, or taken from, one user directly (what the command
//! line's `users grant-role` and `users revoke-role` do; the console and
//! the API replace the whole list through [`super::users::update`]). The
//! same rules hold: the admin rules afterwards ([`super::ensure_admins`]),
//! and `user` stays with every account.

use crate::audit::EventKind;
use serde_json::json;

use super::{ensure_admins, invalid};
use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::db::write_tx;
use crate::error::{CoreError, CoreResult};
use crate::roles;
use crate::service::Core;
use crate::users::{self, ROLE_USER};

/// Gives `user_id` the role `role` directly. Returns whether anything
/// changed (the user may hold it already); audited when it did.
pub fn grant(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    role: &str,
    now: UnixTime,
) -> CoreResult<bool> {
    set(core, actor, user_id, role, true, now)
}

/// Takes the directly given role `role` from `user_id` (a role that comes
/// from a group stays). Returns whether anything changed.
pub fn revoke(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    role: &str,
    now: UnixTime,
) -> CoreResult<bool> {
    set(core, actor, user_id, role, false, now)
}

fn set(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    role: &str,
    held: bool,
    now: UnixTime,
) -> CoreResult<bool> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    write_tx(&mut pooled, |c| {
        users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        if !held && role == ROLE_USER {
            return Err(invalid("role", "Every account keeps the user role."));
        }
        let by = actor.actor_user_id.as_deref();
        let was = super::before(c, by)?;
        let has = roles::direct_roles(c, user_id)?.iter().any(|r| r == role);
        if has == held {
            return Ok(false);
        }
        let key = if held {
            roles::grant_role(c, user_id, role)?;
            "roles_added"
        } else {
            roles::revoke_role(c, user_id, role)?;
            "roles_removed"
        };
        ensure_admins(c, by, was)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminUserUpdated)
                .subject(user_id)
                .with("changes", json!({ key: [role] })),
            now,
        )?;
        Ok(true)
    })
}
