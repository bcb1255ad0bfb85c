//! A user's second factors in the admin API: what the account has (names
//! and dates only, never a secret), whether it must have one, and the
//! administrator's actions: require one (or stop), remove one factor, and
//! remove every factor (`core_auth::mfa::policy`). The console's user page
//! and the command line show the same [`MfaSummary`].

use actix_web::{web, HttpResponse};
use core_auth::db::DbConn;
use core_auth::error::CoreResult;
use core_auth::mfa;
use core_auth::mfa::policy::{self, FactorRef};
use core_auth::{roles, Config};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use web_kit::AppContext;

use super::auth::ApiAdmin;
use super::extract::ApiJson;
use super::problem::{ApiError, Problem};

/// The authenticator app (TOTP) of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppFactor {
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// One passkey of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PasskeyFactor {
    /// Its id: what `DELETE /users/{id}/mfa/passkeys/{passkey_id}` takes.
    pub id: String,
    /// The name its owner gave it (e.g. "MacBook").
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// An account's second factors and whether it must have one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MfaSummary {
    /// The account must have a second factor: it holds a role listed in
    /// `mfa.required_for_roles`, or an administrator required it. Without
    /// one, it sets one up at its next sign-in.
    pub required: bool,
    /// An administrator required it of this account.
    pub required_by_admin: bool,
    /// The account's roles (own or through groups) listed in `mfa.required_for_roles`.
    pub required_by_roles: Vec<String>,
    /// The authenticator app, when one is confirmed.
    pub authenticator_app: Option<AppFactor>,
    /// Oldest first.
    pub passkeys: Vec<PasskeyFactor>,
    /// Unused recovery codes.
    pub recovery_codes_left: i64,
}

impl MfaSummary {
    /// The account has a factor that is asked after the password.
    pub fn has_factor(&self) -> bool {
        self.authenticator_app.is_some() || !self.passkeys.is_empty()
    }
}

/// The summary of `user_id`'s second factors.
pub fn summary(c: &mut DbConn, config: &Config, user_id: &str) -> CoreResult<MfaSummary> {
    let f = mfa::factors(c, user_id)?;
    let held = roles::effective_roles(c, user_id)?;
    Ok(MfaSummary {
        required: policy::required(c, config, user_id)?,
        required_by_admin: policy::flagged(c, user_id)?,
        required_by_roles: config
            .mfa
            .required_for_roles
            .iter()
            .filter(|r| held.contains(r))
            .cloned()
            .collect(),
        authenticator_app: f.totp.map(|t| AppFactor {
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        }),
        passkeys: f
            .passkeys
            .into_iter()
            .map(|p| PasskeyFactor {
                id: p.id,
                name: p.name,
                created_at: p.created_at,
                last_used_at: p.last_used_at,
            })
            .collect(),
        recovery_codes_left: f.recovery_codes_left,
    })
}

/// Require a second factor of the account, or stop requiring it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaRequirement {
    /// true: the account must have a second factor (it sets one up at its
    /// next sign-in if it has none); false: no longer required by an
    /// administrator (a role may still require it).
    pub required: bool,
}

/// What a reset removed, and what is left.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MfaReset {
    /// Factors removed (the authenticator app and each passkey; the
    /// recovery codes go with them).
    pub removed: i64,
    pub mfa: MfaSummary,
}

async fn load(ctx: &AppContext, id: String) -> Result<MfaSummary, ApiError> {
    let cfg = ctx.config.clone();
    Ok(ctx.db(move |c| summary(c, &cfg, &id)).await?)
}

/// Require a second factor of the user (or stop requiring it).
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/mfa-requirement", tag = "users",
    request_body = MfaRequirement,
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Done; the user's second factors now", body = MfaSummary),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn set_requirement(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
    ApiJson(body): ApiJson<MfaRequirement>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    let uid = id.clone();
    ctx.call(move |core| policy::set_required(core, &admin.actor, &uid, body.required, now))
        .await?;
    Ok(HttpResponse::Ok().json(load(&ctx, id).await?))
}

/// Remove every second factor of the user: the authenticator app, the passkeys and the recovery codes (a lost phone). A sensitive action.
#[utoipa::path(post, path = "/admin/api/v1/users/{id}/mfa-reset", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Done", body = MfaReset),
        (status = 401, description = "No valid token, or authentication too old (`insufficient_user_authentication`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn reset(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    let uid = id.clone();
    let removed = ctx
        .call(move |core| policy::reset(core, &admin.actor, &uid, now))
        .await?;
    Ok(HttpResponse::Ok().json(MfaReset {
        removed: i64::try_from(removed).unwrap_or(i64::MAX),
        mfa: load(&ctx, id).await?,
    }))
}

/// Removes one factor and answers what is left.
async fn remove(
    admin: ApiAdmin,
    ctx: &AppContext,
    id: String,
    which: FactorRef,
) -> Result<HttpResponse, ApiError> {
    let (uid, now) = (id.clone(), ctx.now());
    ctx.call(move |core| policy::remove_one(core, &admin.actor, &uid, &which, now))
        .await?;
    Ok(HttpResponse::Ok().json(load(ctx, id).await?))
}

/// Remove the user's authenticator app (e.g. an old phone). With no factor left, the recovery codes go too. A sensitive action.
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/mfa/app", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Removed; the user's second factors now", body = MfaSummary),
        (status = 401, description = "No valid token, or authentication too old (`insufficient_user_authentication`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user, or the user has no authenticator app", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove_app(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    remove(admin, &ctx, path.into_inner(), FactorRef::App).await
}

/// Remove one passkey of the user (e.g. a lost security key). With no factor left, the recovery codes go too. A sensitive action.
#[utoipa::path(delete, path = "/admin/api/v1/users/{id}/mfa/passkeys/{passkey_id}", tag = "users",
    params(
        ("id" = String, Path, description = "User id"),
        ("passkey_id" = String, Path, description = "The passkey's `id` (from the user's `mfa.passkeys`)"),
    ),
    responses(
        (status = 200, description = "Removed; the user's second factors now", body = MfaSummary),
        (status = 401, description = "No valid token, or authentication too old (`insufficient_user_authentication`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user, or no such passkey of this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn remove_passkey(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, passkey) = path.into_inner();
    remove(admin, &ctx, id, FactorRef::Passkey(passkey)).await
}
