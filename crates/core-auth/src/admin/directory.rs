//! Roles and groups as administrators change them: every change audited,
//! and none may leave Portcullis without an administrator or take the role
//! from the administrator making it.

use crate::audit::EventKind;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{ensure_admins, invalid};
use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::db::schema::{user_groups, users};
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::roles::{self, Group, GroupInfo, Role};
use crate::service::Core;

pub fn create_role(
    core: &Core<'_>,
    actor: &Actor,
    name: &str,
    description: &str,
    now: UnixTime,
) -> CoreResult<Role> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let r = roles::create_role(c, name, description, now)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminRoleCreated).with("role", r.name.clone()),
            now,
        )?;
        Ok(r)
    })
}

pub fn find_role(c: &mut DbConn, name: &str) -> CoreResult<Role> {
    roles::list_roles(c)?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or(CoreError::NotFound("role"))
}

pub fn rename_role(
    core: &Core<'_>,
    actor: &Actor,
    name: &str,
    new_name: &str,
    now: UnixTime,
) -> CoreResult<Role> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        find_role(c, name)?;
        roles::rename_role(c, name, new_name)?;
        let r = find_role(c, new_name.trim())?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminRoleRenamed).with("role", json!([name, r.name])),
            now,
        )?;
        Ok(r)
    })
}

pub fn delete_role(core: &Core<'_>, actor: &Actor, name: &str, now: UnixTime) -> CoreResult<()> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        find_role(c, name)?;
        roles::delete_role(c, name)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminRoleDeleted).with("role", name),
            now,
        )
    })
}

/// A group with its roles and its first members.
#[derive(Debug, Clone, Serialize)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub info: GroupInfo,
    /// (id, email, name) of up to 500 members, by email.
    pub member_list: Vec<Member>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub name: String,
}

fn group(c: &mut DbConn, id: &str) -> CoreResult<Group> {
    match roles::find_group(c, id)? {
        Some(g) if g.id == id => Ok(g),
        _ => Err(CoreError::NotFound("group")),
    }
}

pub fn group_detail(c: &mut DbConn, id: &str) -> CoreResult<GroupDetail> {
    let g = group(c, id)?;
    let info = roles::list_groups(c)?
        .into_iter()
        .find(|i| i.group.id == g.id)
        .ok_or(CoreError::NotFound("group"))?;
    let member_list = user_groups::table
        .inner_join(users::table)
        .filter(user_groups::group_id.eq(id))
        .select((users::id, users::email, users::name))
        .order(users::email_key.asc())
        .limit(500)
        .load::<(String, String, String)>(c)?
        .into_iter()
        .map(|(id, email, name)| Member { id, email, name })
        .collect();
    Ok(GroupDetail { info, member_list })
}

fn set_group_roles(
    c: &mut DbConn,
    id: &str,
    wanted: &[String],
) -> CoreResult<(Vec<String>, Vec<String>)> {
    let known: Vec<String> = roles::list_roles(c)?.into_iter().map(|r| r.name).collect();
    if let Some(bad) = wanted.iter().find(|r| !known.contains(r)) {
        return Err(invalid("roles", format!("There is no role named {bad}.")));
    }
    let current = roles::list_groups(c)?
        .into_iter()
        .find(|g| g.group.id == id)
        .map(|g| g.roles)
        .unwrap_or_default();
    let added: Vec<String> = wanted
        .iter()
        .filter(|r| !current.contains(r))
        .cloned()
        .collect();
    let removed: Vec<String> = current
        .iter()
        .filter(|r| !wanted.contains(r))
        .cloned()
        .collect();
    for r in &added {
        roles::grant_group_role(c, id, r)?;
    }
    for r in &removed {
        roles::revoke_group_role(c, id, r)?;
    }
    Ok((added, removed))
}

pub fn create_group(
    core: &Core<'_>,
    actor: &Actor,
    name: &str,
    description: &str,
    group_roles: &[String],
    now: UnixTime,
) -> CoreResult<GroupDetail> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let g = roles::create_group(c, name, description, now)?;
        set_group_roles(c, &g.id, group_roles)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminGroupCreated)
                .with("group", g.id.clone())
                .with("name", g.name.clone())
                .with("roles", json!(group_roles)),
            now,
        )?;
        group_detail(c, &g.id)
    })
}

/// Renames a group and/or replaces its roles.
pub fn update_group(
    core: &Core<'_>,
    actor: &Actor,
    id: &str,
    new_name: Option<&str>,
    new_roles: Option<&[String]>,
    now: UnixTime,
) -> CoreResult<GroupDetail> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let g = group(c, id)?;
        let was = super::before(c, actor.actor_user_id.as_deref())?;
        let mut changes = serde_json::Map::new();
        if let Some(n) = new_name.filter(|n| n.trim() != g.name) {
            roles::rename_group(c, id, n)?;
            changes.insert("name".into(), json!([g.name, n.trim()]));
        }
        if let Some(r) = new_roles {
            let (added, removed) = set_group_roles(c, id, r)?;
            if !added.is_empty() {
                changes.insert("roles_added".into(), json!(added));
            }
            if !removed.is_empty() {
                changes.insert("roles_removed".into(), json!(removed));
            }
        }
        ensure_admins(c, actor.actor_user_id.as_deref(), was)?;
        if !changes.is_empty() {
            audit::record(
                c,
                actor,
                Event::success(EventKind::AdminGroupUpdated)
                    .with("group", id)
                    .with("changes", serde_json::Value::Object(changes)),
                now,
            )?;
        }
        group_detail(c, id)
    })
}

/// Gives every member of a group the role `role` (`granted`), or takes it
/// from the group: one role, where [`update_group`] replaces the list. The
/// admin rules hold afterwards; audited when something changed.
pub fn set_group_role(
    core: &Core<'_>,
    actor: &Actor,
    id: &str,
    role: &str,
    granted: bool,
    now: UnixTime,
) -> CoreResult<GroupDetail> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        group(c, id)?;
        let was = super::before(c, actor.actor_user_id.as_deref())?;
        let mut wanted = roles::list_groups(c)?
            .into_iter()
            .find(|g| g.group.id == id)
            .map(|g| g.roles)
            .unwrap_or_default();
        wanted.retain(|r| r != role);
        if granted {
            wanted.push(role.to_string());
        }
        let (added, removed) = set_group_roles(c, id, &wanted)?;
        ensure_admins(c, actor.actor_user_id.as_deref(), was)?;
        if !added.is_empty() || !removed.is_empty() {
            let key = if granted {
                "roles_added"
            } else {
                "roles_removed"
            };
            let changed = if granted { added } else { removed };
            audit::record(
                c,
                actor,
                Event::success(EventKind::AdminGroupUpdated)
                    .with("group", id)
                    .with("changes", json!({ key: changed })),
                now,
            )?;
        }
        group_detail(c, id)
    })
}

pub fn delete_group(core: &Core<'_>, actor: &Actor, id: &str, now: UnixTime) -> CoreResult<()> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let g = group(c, id)?;
        let was = super::before(c, actor.actor_user_id.as_deref())?;
        roles::delete_group(c, id)?;
        ensure_admins(c, actor.actor_user_id.as_deref(), was)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminGroupDeleted)
                .with("group", id)
                .with("name", g.name),
            now,
        )
    })
}

/// Adds (`member = true`) or removes a user.
pub fn set_member(
    core: &Core<'_>,
    actor: &Actor,
    id: &str,
    user_id: &str,
    member: bool,
    now: UnixTime,
) -> CoreResult<()> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        group(c, id)?;
        crate::users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        let was = super::before(c, actor.actor_user_id.as_deref())?;
        if member {
            roles::add_member(c, id, user_id)?;
        } else {
            roles::remove_member(c, id, user_id)?;
        }
        ensure_admins(c, actor.actor_user_id.as_deref(), was)?;
        let event = if member {
            EventKind::AdminGroupMemberAdded
        } else {
            EventKind::AdminGroupMemberRemoved
        };
        audit::record(
            c,
            actor,
            Event::success(event).subject(user_id).with("group", id),
            now,
        )
    })
}
