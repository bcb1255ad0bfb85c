//! `/admin/api/v1/users`: search, create (with an invitation), read,
//! update, delete, and the account actions.

use actix_web::{web, HttpResponse};
use core_auth::admin::search::{self, UserQuery};
use core_auth::admin::users::{self, Changes, NewAccount};
use serde::Deserialize;
use utoipa::IntoParams;
use web_kit::AppContext;

use super::auth::ApiAdmin;
use super::extract::{decode_cursor, encode_cursor, limit, ApiJson, ApiQuery};
use super::problem::{ApiError, Problem};
use super::types::{Accepted, Cleared, NewUser, Revoked, User, UserDetails, UserList, UserPatch};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words of the name or email address (each a prefix; all must match).
    pub q: Option<String>,
    /// Holds this role (directly or through a group).
    pub role: Option<String>,
    /// Member of this group (id).
    pub group: Option<String>,
    /// true: only disabled accounts; false: only enabled ones.
    pub disabled: Option<bool>,
    /// true: only accounts whose address is not verified.
    pub unverified: Option<bool>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Search and list users, in email order.
#[utoipa::path(get, path = "/admin/api/v1/users", tag = "users", params(ListParams),
    responses(
        (status = 200, description = "A page of users", body = UserList),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_users(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = UserQuery {
        q: p.q.unwrap_or_default(),
        role: p.role,
        group: p.group,
        disabled: p.disabled,
        unverified: p.unverified.unwrap_or(false),
        after: decode_cursor(p.cursor.as_deref())?,
        limit: limit(p.limit)?,
    };
    let page = ctx.db(move |c| search::search(c, &q)).await?;
    Ok(HttpResponse::Ok().json(UserList {
        items: page.users.into_iter().map(User::from).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// Create a user; an invitation with a set-password link (valid 7 days) is mailed.
#[utoipa::path(post, path = "/admin/api/v1/users", tag = "users", request_body = NewUser,
    responses(
        (status = 201, description = "Created; the invitation is queued", body = User),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is in use", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_user(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let input = NewAccount {
        email: body.email,
        name: body.name,
        roles: body.roles,
        groups: body.groups,
    };
    let now = ctx.now();
    let u = ctx
        .call(move |core| users::create(core, &admin.actor, &input, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/api/v1/users/{}", u.user.id)))
        .json(User::from(u)))
}

/// A user with roles, groups, active sessions, consents, linked identities, second factors (names and dates only).
#[utoipa::path(get, path = "/admin/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserDetails),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_user(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now, t, cfg) = (
        path.into_inner(),
        ctx.now(),
        ctx.session_timeouts(),
        ctx.config.clone(),
    );
    let (d, mfa) = ctx
        .db(move |c| {
            let d = users::detail(c, &cfg, &id, now, t)?;
            let mfa = super::mfa::summary(c, &cfg, &id)?;
            Ok((d, mfa))
        })
        .await?;
    let mut out = UserDetails::from(d);
    out.mfa_required = mfa.required;
    out.mfa = mfa;
    Ok(HttpResponse::Ok().json(out))
}

/// Change name, address, verification, own roles, groups, or disable/enable.
#[utoipa::path(patch, path = "/admin/api/v1/users/{id}", tag = "users", request_body = UserPatch,
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The updated user", body = User),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a change that would remove the last administrator or your own admin role", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update_user(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
    ApiJson(p): ApiJson<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    let ch = Changes {
        name: p.name,
        email: p.email,
        email_verified: p.email_verified,
        roles: p.roles,
        groups: p.groups,
        disabled: p.disabled,
    };
    let u = ctx
        .call(move |core| users::update(core, &admin.actor, &id, &ch, now))
        .await?;
    Ok(HttpResponse::Ok().json(User::from(u)))
}

/// Delete a user (not the last administrator).
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The last administrator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_user(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| users::delete(core, &admin.actor, &id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mail the user a password reset link (the invitation again when the account has no password yet).
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/password-reset", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 202, description = "The mail is queued", body = Accepted),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn password_reset(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| users::send_reset(core, &admin.actor, &id, now))
        .await?;
    Ok(HttpResponse::Accepted().json(Accepted {
        status: "queued".into(),
    }))
}

/// End every session of the user and revoke every token.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/revoke-sessions", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Done", body = Revoked),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn revoke_sessions(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    let n = ctx
        .call(move |core| users::revoke_all(core, &admin.actor, &id, now))
        .await?;
    Ok(HttpResponse::Ok().json(Revoked { sessions: n as i64 }))
}

/// Lift the sign-in and reset throttles of the user's address.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/clear-throttle", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Done", body = Cleared),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn clear_user_throttle(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    let cleared = ctx
        .call(move |core| users::clear_throttles(core, &admin.actor, &id, now))
        .await?;
    Ok(HttpResponse::Ok().json(Cleared { cleared }))
}
