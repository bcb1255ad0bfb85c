//! Roles and groups. Built-in roles `user` and `admin`; custom roles; groups
//! that carry roles. A user's effective roles are their own plus those of
//! their groups.

use diesel::prelude::*;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::db::schema::{group_roles, groups, roles, user_groups, user_roles};
use crate::db::DbConn;
use crate::error::{CoreError, CoreResult, ValidationErrors};

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = roles)]
pub struct Role {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub created_at: UnixTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = groups)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: UnixTime,
}

/// A group with its roles and member count.
#[derive(Debug, Clone, Serialize)]
pub struct GroupInfo {
    #[serde(flatten)]
    pub group: Group,
    pub roles: Vec<String>,
    pub members: i64,
}

fn invalid(field: &'static str, msg: impl Into<String>) -> CoreError {
    let mut v = ValidationErrors::default();
    v.add(field, msg);
    CoreError::Validation(v)
}

/// Role and group names: 1 to 64 of letters, digits, `_ - . :`.
fn check_name(field: &'static str, name: &str) -> CoreResult<String> {
    let n = name.trim();
    if n.is_empty()
        || n.len() > 64
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
    {
        return Err(invalid(
            field,
            "Use 1 to 64 letters, digits, '_', '-', '.' or ':'.",
        ));
    }
    Ok(n.to_string())
}

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

pub fn list_roles(conn: &mut DbConn) -> CoreResult<Vec<Role>> {
    Ok(roles::table
        .select(Role::as_select())
        .order(roles::name.asc())
        .load(conn)?)
}

pub fn create_role(
    conn: &mut DbConn,
    name: &str,
    description: &str,
    now: UnixTime,
) -> CoreResult<Role> {
    let name = check_name("name", name)?;
    diesel::insert_into(roles::table)
        .values((
            roles::name.eq(&name),
            roles::description.eq(description.trim()),
            roles::builtin.eq(false),
            roles::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                invalid("name", "A role with this name exists.")
            } else {
                e.into()
            }
        })?;
    Ok(roles::table
        .find(&name)
        .select(Role::as_select())
        .get_result(conn)?)
}

fn custom_role(conn: &mut DbConn, name: &str) -> CoreResult<Role> {
    let r: Role = roles::table
        .find(name)
        .select(Role::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(CoreError::NotFound("role"))?;
    if r.builtin {
        return Err(invalid(
            "name",
            format!("{name} is a built-in role and cannot be changed."),
        ));
    }
    Ok(r)
}

/// Renames a custom role; assignments follow (ON UPDATE CASCADE).
pub fn rename_role(conn: &mut DbConn, name: &str, new_name: &str) -> CoreResult<()> {
    custom_role(conn, name)?;
    let new_name = check_name("new_name", new_name)?;
    diesel::update(roles::table.find(name))
        .set(roles::name.eq(&new_name))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                invalid("new_name", "A role with this name exists.")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

pub fn delete_role(conn: &mut DbConn, name: &str) -> CoreResult<()> {
    custom_role(conn, name)?;
    diesel::delete(roles::table.find(name)).execute(conn)?;
    Ok(())
}

fn role_exists(conn: &mut DbConn, role: &str) -> CoreResult<()> {
    let n: i64 = roles::table
        .filter(roles::name.eq(role))
        .count()
        .get_result(conn)?;
    if n == 0 {
        return Err(invalid("role", format!("There is no role named {role}.")));
    }
    Ok(())
}

/// Gives a user a role directly (idempotent).
pub fn grant_role(conn: &mut DbConn, user_id: &str, role: &str) -> CoreResult<()> {
    role_exists(conn, role)?;
    let n: i64 = user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .filter(user_roles::role.eq(role))
        .count()
        .get_result(conn)?;
    if n == 0 {
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(user_id), user_roles::role.eq(role)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn revoke_role(conn: &mut DbConn, user_id: &str, role: &str) -> CoreResult<()> {
    diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .filter(user_roles::role.eq(role)),
    )
    .execute(conn)?;
    Ok(())
}

/// Roles given to the user directly.
pub fn direct_roles(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<String>> {
    Ok(user_roles::table
        .filter(user_roles::user_id.eq(user_id))
        .select(user_roles::role)
        .order(user_roles::role.asc())
        .load(conn)?)
}

/// Direct roles and the roles of the user's groups, sorted, no repeats.
pub fn effective_roles(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<String>> {
    let mut all = direct_roles(conn, user_id)?;
    let via_groups: Vec<String> = group_roles::table
        .inner_join(user_groups::table.on(user_groups::group_id.eq(group_roles::group_id)))
        .filter(user_groups::user_id.eq(user_id))
        .select(group_roles::role)
        .load(conn)?;
    all.extend(via_groups);
    all.sort();
    all.dedup();
    Ok(all)
}

/// Users holding `role`, directly or through a group.
pub fn users_with_role(conn: &mut DbConn, role: &str) -> CoreResult<Vec<String>> {
    let mut ids: Vec<String> = user_roles::table
        .filter(user_roles::role.eq(role))
        .select(user_roles::user_id)
        .load(conn)?;
    let via: Vec<String> = user_groups::table
        .inner_join(group_roles::table.on(group_roles::group_id.eq(user_groups::group_id)))
        .filter(group_roles::role.eq(role))
        .select(user_groups::user_id)
        .load(conn)?;
    ids.extend(via);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The holders of `role` (directly or through a group) whose accounts are
/// enabled: those who can still use it.
pub fn enabled_users_with_role(conn: &mut DbConn, role: &str) -> CoreResult<Vec<String>> {
    use crate::db::schema::users;
    let ids = users_with_role(conn, role)?;
    if ids.is_empty() {
        return Ok(ids);
    }
    Ok(users::table
        .filter(users::id.eq_any(&ids))
        .filter(users::disabled.eq(false))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

pub fn create_group(
    conn: &mut DbConn,
    name: &str,
    description: &str,
    now: UnixTime,
) -> CoreResult<Group> {
    let name = check_name("name", name)?;
    let id = uuid::Uuid::new_v4().to_string();
    diesel::insert_into(groups::table)
        .values((
            groups::id.eq(&id),
            groups::name.eq(&name),
            groups::description.eq(description.trim()),
            groups::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                invalid("name", "A group with this name exists.")
            } else {
                e.into()
            }
        })?;
    Ok(groups::table
        .find(&id)
        .select(Group::as_select())
        .get_result(conn)?)
}

pub fn find_group(conn: &mut DbConn, id_or_name: &str) -> CoreResult<Option<Group>> {
    Ok(groups::table
        .filter(groups::id.eq(id_or_name).or(groups::name.eq(id_or_name)))
        .select(Group::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn rename_group(conn: &mut DbConn, id: &str, new_name: &str) -> CoreResult<()> {
    let new_name = check_name("new_name", new_name)?;
    let n = diesel::update(groups::table.find(id))
        .set(groups::name.eq(&new_name))
        .execute(conn)
        .map_err(|e| {
            if is_unique_violation(&e) {
                invalid("new_name", "A group with this name exists.")
            } else {
                CoreError::from(e)
            }
        })?;
    if n == 0 {
        return Err(CoreError::NotFound("group"));
    }
    Ok(())
}

pub fn delete_group(conn: &mut DbConn, id: &str) -> CoreResult<()> {
    if diesel::delete(groups::table.find(id)).execute(conn)? == 0 {
        return Err(CoreError::NotFound("group"));
    }
    Ok(())
}

pub fn add_member(conn: &mut DbConn, group_id: &str, user_id: &str) -> CoreResult<()> {
    let n: i64 = user_groups::table
        .filter(user_groups::group_id.eq(group_id))
        .filter(user_groups::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    if n == 0 {
        diesel::insert_into(user_groups::table)
            .values((
                user_groups::group_id.eq(group_id),
                user_groups::user_id.eq(user_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn remove_member(conn: &mut DbConn, group_id: &str, user_id: &str) -> CoreResult<()> {
    diesel::delete(
        user_groups::table
            .filter(user_groups::group_id.eq(group_id))
            .filter(user_groups::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn grant_group_role(conn: &mut DbConn, group_id: &str, role: &str) -> CoreResult<()> {
    role_exists(conn, role)?;
    let n: i64 = group_roles::table
        .filter(group_roles::group_id.eq(group_id))
        .filter(group_roles::role.eq(role))
        .count()
        .get_result(conn)?;
    if n == 0 {
        diesel::insert_into(group_roles::table)
            .values((
                group_roles::group_id.eq(group_id),
                group_roles::role.eq(role),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn revoke_group_role(conn: &mut DbConn, group_id: &str, role: &str) -> CoreResult<()> {
    diesel::delete(
        group_roles::table
            .filter(group_roles::group_id.eq(group_id))
            .filter(group_roles::role.eq(role)),
    )
    .execute(conn)?;
    Ok(())
}

pub fn list_groups(conn: &mut DbConn) -> CoreResult<Vec<GroupInfo>> {
    let all: Vec<Group> = groups::table
        .select(Group::as_select())
        .order(groups::name.asc())
        .load(conn)?;
    let mut out = Vec::with_capacity(all.len());
    for g in all {
        let roles: Vec<String> = group_roles::table
            .filter(group_roles::group_id.eq(&g.id))
            .select(group_roles::role)
            .order(group_roles::role.asc())
            .load(conn)?;
        let members: i64 = user_groups::table
            .filter(user_groups::group_id.eq(&g.id))
            .count()
            .get_result(conn)?;
        out.push(GroupInfo {
            group: g,
            roles,
            members,
        });
    }
    Ok(out)
}

/// Groups a user belongs to.
pub fn groups_of(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<Group>> {
    Ok(groups::table
        .inner_join(user_groups::table.on(user_groups::group_id.eq(groups::id)))
        .filter(user_groups::user_id.eq(user_id))
        .select(Group::as_select())
        .order(groups::name.asc())
        .load(conn)?)
}
