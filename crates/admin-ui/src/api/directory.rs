//! `/admin/api/v1/roles` and `/admin/api/v1/groups`.

use actix_web::{web, HttpResponse};
use core_auth::admin::directory;
use core_auth::roles;
use web_kit::AppContext;

use super::auth::ApiAdmin;
use super::extract::ApiJson;
use super::problem::{ApiError, Problem};
use super::types::{
    GroupDetails, GroupIn, GroupList, GroupOut, GroupPatch, RoleIn, RoleList, RoleOut, RoleRename,
};

/// Every role (built-in `user` and `admin`, and custom ones).
#[utoipa::path(get, path = "/admin/api/v1/roles", tag = "roles",
    responses(
        (status = 200, description = "The roles", body = RoleList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_roles(_: ApiAdmin, ctx: web::Data<AppContext>) -> Result<HttpResponse, ApiError> {
    let all = ctx.db(roles::list_roles).await?;
    Ok(HttpResponse::Ok().json(RoleList {
        items: all.into_iter().map(RoleOut::from).collect(),
    }))
}

/// Create a custom role.
#[utoipa::path(post, path = "/admin/api/v1/roles", tag = "roles", request_body = RoleIn,
    responses(
        (status = 201, description = "Created", body = RoleOut),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or taken name", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_role(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiJson(b): ApiJson<RoleIn>,
) -> Result<HttpResponse, ApiError> {
    let now = ctx.now();
    let r = ctx
        .call(move |core| directory::create_role(core, &admin.actor, &b.name, &b.description, now))
        .await?;
    Ok(HttpResponse::Created().json(RoleOut::from(r)))
}

/// Rename a custom role (assignments follow).
#[utoipa::path(patch, path = "/admin/api/v1/roles/{name}", tag = "roles", request_body = RoleRename,
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 200, description = "Renamed", body = RoleOut),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or taken name, or a built-in role", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn rename_role(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
    ApiJson(b): ApiJson<RoleRename>,
) -> Result<HttpResponse, ApiError> {
    let (name, now) = (path.into_inner(), ctx.now());
    let r = ctx
        .call(move |core| directory::rename_role(core, &admin.actor, &name, &b.name, now))
        .await?;
    Ok(HttpResponse::Ok().json(RoleOut::from(r)))
}

/// Delete a custom role (it is taken from every user and group).
#[utoipa::path(delete, path = "/admin/api/v1/roles/{name}", tag = "roles",
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A built-in role", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_role(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (name, now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| directory::delete_role(core, &admin.actor, &name, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every group with its roles and member count.
#[utoipa::path(get, path = "/admin/api/v1/groups", tag = "groups",
    responses(
        (status = 200, description = "The groups", body = GroupList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_groups(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let all = ctx.db(roles::list_groups).await?;
    Ok(HttpResponse::Ok().json(GroupList {
        items: all.into_iter().map(GroupOut::from).collect(),
    }))
}

/// Create a group with roles.
#[utoipa::path(post, path = "/admin/api/v1/groups", tag = "groups", request_body = GroupIn,
    responses(
        (status = 201, description = "Created", body = GroupDetails),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or taken name, unknown role", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_group(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiJson(b): ApiJson<GroupIn>,
) -> Result<HttpResponse, ApiError> {
    let now = ctx.now();
    let g = ctx
        .call(move |core| {
            directory::create_group(core, &admin.actor, &b.name, &b.description, &b.roles, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(GroupDetails::from(g)))
}

/// A group with its roles and members.
#[utoipa::path(get, path = "/admin/api/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 200, description = "The group", body = GroupDetails),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_group(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let g = ctx.db(move |c| directory::group_detail(c, &id)).await?;
    Ok(HttpResponse::Ok().json(GroupDetails::from(g)))
}

/// Rename a group and/or replace its roles.
#[utoipa::path(patch, path = "/admin/api/v1/groups/{id}", tag = "groups", request_body = GroupPatch,
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 200, description = "Updated", body = GroupDetails),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or role, or no administrator would be left", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update_group(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
    ApiJson(b): ApiJson<GroupPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    let g = ctx
        .call(move |core| {
            directory::update_group(
                core,
                &admin.actor,
                &id,
                b.name.as_deref(),
                b.roles.as_deref(),
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(GroupDetails::from(g)))
}

/// Delete a group (its members lose its roles).
#[utoipa::path(delete, path = "/admin/api/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No administrator would be left", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_group(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| directory::delete_group(core, &admin.actor, &id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a user to a group (idempotent).
#[utoipa::path(put, path = "/admin/api/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "The user is a member"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group or user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn add_member(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((id, user), now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| directory::set_member(core, &admin.actor, &id, &user, true, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a user from a group (idempotent).
#[utoipa::path(delete, path = "/admin/api/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "The user is not a member"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group or user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No administrator would be left, or your own admin role", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove_member(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((id, user), now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| directory::set_member(core, &admin.actor, &id, &user, false, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
