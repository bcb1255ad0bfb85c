//! `/admin/api/v1/upstream-providers`: the upstream sign-in providers. List
//! and read every provider (those of the configuration file are read-only);
//! create, replace and delete stored ones. The client secret is write-only:
//! it is taken on create and replace and never returned.

use actix_web::{web, HttpResponse};
use core_auth::admin::providers::{self as admin_providers, ProviderInfo, Source};
use core_auth::federation::UpstreamProvider;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use web_kit::context::ProviderCache;
use web_kit::AppContext;

use super::auth::ApiAdmin;
use super::extract::ApiJson;
use super::problem::{ApiError, Problem};

/// A provider's settings: the `[[upstream]]` keys of the configuration
/// (docs/federation.md), without the client secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderSettings {
    /// google, github, microsoft, gitlab, or empty.
    pub preset: String,
    /// oidc or oauth2 (empty: the preset's, else oidc).
    pub kind: String,
    pub display_name: String,
    /// A built-in icon (google, github, microsoft, gitlab, openid, key) or a data:image URL.
    pub icon: String,
    pub enabled: bool,
    pub client_id: String,
    pub issuer: String,
    /// Microsoft preset: the directory (tenant).
    pub tenant: String,
    pub authorization_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub emails_url: String,
    pub scopes: Vec<String>,
    pub subject_field: String,
    pub email_field: String,
    pub email_verified_field: String,
    pub name_field: String,
    /// client_secret_basic, client_secret_post, or empty (automatic).
    pub token_auth_method: String,
    pub allowed_email_domains: Vec<String>,
    pub allow_registration: bool,
    pub trust_email: bool,
    /// The provider's own MFA (`amr` has `mfa`) stands for the second factor.
    pub trust_mfa: bool,
    pub dangerous_allow_http: bool,
}

impl From<&UpstreamProvider> for ProviderSettings {
    fn from(p: &UpstreamProvider) -> Self {
        ProviderSettings {
            preset: p.preset.clone(),
            kind: p.kind.clone(),
            display_name: p.display_name.clone(),
            icon: p.icon.clone(),
            enabled: p.enabled,
            client_id: p.client_id.clone(),
            issuer: p.issuer.clone(),
            tenant: p.tenant.clone(),
            authorization_url: p.authorization_url.clone(),
            token_url: p.token_url.clone(),
            userinfo_url: p.userinfo_url.clone(),
            emails_url: p.emails_url.clone(),
            scopes: p.scopes.clone(),
            subject_field: p.subject_field.clone(),
            email_field: p.email_field.clone(),
            email_verified_field: p.email_verified_field.clone(),
            name_field: p.name_field.clone(),
            token_auth_method: p.token_auth_method.clone(),
            allowed_email_domains: p.allowed_email_domains.clone(),
            allow_registration: p.allow_registration,
            trust_email: p.trust_email,
            trust_mfa: p.trust_mfa,
            dangerous_allow_http: p.dangerous_allow_http,
        }
    }
}

/// An upstream provider. Its client secret is never returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderOut {
    pub id: String,
    /// `config` (the configuration file: read-only here) or `stored`.
    pub source: String,
    /// True for providers of the configuration file.
    pub read_only: bool,
    /// As entered: an empty value takes the preset's or the default (a
    /// configured provider: as in use). What `PUT` takes back.
    pub settings: ProviderSettings,
    /// As in use, with the preset and the defaults applied; null when the
    /// stored settings do not validate.
    pub effective: Option<ProviderSettings>,
    /// Why the stored settings do not validate (the provider then signs nobody in).
    pub problem: Option<String>,
    pub has_client_secret: bool,
    /// Accounts linked to this provider's id.
    pub linked_identities: i64,
    /// Stored providers only.
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

impl From<ProviderInfo> for ProviderOut {
    fn from(i: ProviderInfo) -> Self {
        ProviderOut {
            id: i.settings.id.clone(),
            source: i.source.as_str().to_string(),
            read_only: i.source == Source::Config,
            settings: ProviderSettings::from(&i.settings),
            effective: i.effective.as_ref().map(ProviderSettings::from),
            problem: i.problem,
            has_client_secret: i.has_secret,
            linked_identities: i.linked,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProviderList {
    /// The configured providers (file order), then the stored ones (by id).
    pub items: Vec<ProviderOut>,
}

fn yes() -> bool {
    true
}

/// A provider's settings, to create or replace. Absent keys take their
/// defaults; empty ones the preset's value.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderIn {
    /// Required to create (lowercase letters, digits, `-`, `_`; at most 40);
    /// on `PUT`, absent or the id of the path.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub preset: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub icon: String,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub client_id: String,
    /// Write-only: never returned. Required to create an enabled provider;
    /// on `PUT`, absent or empty keeps the stored secret.
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub authorization_url: String,
    #[serde(default)]
    pub token_url: String,
    #[serde(default)]
    pub userinfo_url: String,
    #[serde(default)]
    pub emails_url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub subject_field: String,
    #[serde(default)]
    pub email_field: String,
    #[serde(default)]
    pub email_verified_field: String,
    #[serde(default)]
    pub name_field: String,
    #[serde(default)]
    pub token_auth_method: String,
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    /// Default true.
    #[serde(default = "yes")]
    pub allow_registration: bool,
    #[serde(default)]
    pub trust_email: bool,
    #[serde(default)]
    pub trust_mfa: bool,
    #[serde(default)]
    pub dangerous_allow_http: bool,
}

impl From<ProviderIn> for UpstreamProvider {
    fn from(b: ProviderIn) -> Self {
        UpstreamProvider {
            id: b.id,
            preset: b.preset,
            kind: b.kind,
            display_name: b.display_name,
            icon: b.icon,
            enabled: b.enabled,
            client_id: b.client_id,
            client_secret: b.client_secret,
            issuer: b.issuer,
            tenant: b.tenant,
            authorization_url: b.authorization_url,
            token_url: b.token_url,
            userinfo_url: b.userinfo_url,
            emails_url: b.emails_url,
            scopes: b.scopes,
            subject_field: b.subject_field,
            email_field: b.email_field,
            email_verified_field: b.email_verified_field,
            name_field: b.name_field,
            token_auth_method: b.token_auth_method,
            allowed_email_domains: b.allowed_email_domains,
            allow_registration: b.allow_registration,
            trust_email: b.trust_email,
            trust_mfa: b.trust_mfa,
            dangerous_allow_http: b.dangerous_allow_http,
        }
    }
}

/// Every upstream provider: the configuration file's, then the stored ones.
#[utoipa::path(get, path = "/admin/api/v1/upstream-providers", tag = "upstream-providers",
    responses(
        (status = 200, description = "The providers", body = ProviderList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_upstream_providers(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let (cfg, keys) = (ctx.config.clone(), ctx.keys.clone());
    let all = ctx
        .db(move |c| admin_providers::list(c, &cfg, keys.kek()))
        .await?;
    Ok(HttpResponse::Ok().json(ProviderList {
        items: all.into_iter().map(ProviderOut::from).collect(),
    }))
}

/// Add a provider. Its button appears on the sign-in page at once, on every node.
#[utoipa::path(post, path = "/admin/api/v1/upstream-providers", tag = "upstream-providers", request_body = ProviderIn,
    responses(
        (status = 201, description = "Created", body = ProviderOut),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the id is taken", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_upstream_provider(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    cache: web::Data<dyn ProviderCache>,
    ApiJson(body): ApiJson<ProviderIn>,
) -> Result<HttpResponse, ApiError> {
    let p = UpstreamProvider::from(body);
    let now = ctx.now();
    let info = ctx
        .call(move |core| admin_providers::create(core, &admin.actor, p, now))
        .await?;
    cache.forget(info.id());
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/admin/api/v1/upstream-providers/{}", info.id()),
        ))
        .json(ProviderOut::from(info)))
}

/// One provider.
#[utoipa::path(get, path = "/admin/api/v1/upstream-providers/{id}", tag = "upstream-providers",
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "The provider", body = ProviderOut),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_upstream_provider(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (cfg, keys, id) = (ctx.config.clone(), ctx.keys.clone(), path.into_inner());
    let info = ctx
        .db(move |c| admin_providers::get(c, &cfg, keys.kek(), &id))
        .await?;
    Ok(HttpResponse::Ok().json(ProviderOut::from(info)))
}

/// Replace a stored provider's settings (every key; absent ones take their
/// defaults). An absent or empty `client_secret` keeps the stored secret.
#[utoipa::path(put, path = "/admin/api/v1/upstream-providers/{id}", tag = "upstream-providers", request_body = ProviderIn,
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 200, description = "Replaced", body = ProviderOut),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a provider of the configuration file", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update_upstream_provider(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    cache: web::Data<dyn ProviderCache>,
    path: web::Path<String>,
    ApiJson(body): ApiJson<ProviderIn>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    if !body.id.is_empty() && body.id != id {
        return Err(ApiError::field(
            "id",
            "The id cannot change: add a provider with the new id and delete this one.",
        ));
    }
    let p = UpstreamProvider::from(body);
    let (now, pid) = (ctx.now(), id.clone());
    let info = ctx
        .call(move |core| admin_providers::update(core, &admin.actor, &pid, p, now))
        .await?;
    cache.forget(&id);
    Ok(HttpResponse::Ok().json(ProviderOut::from(info)))
}

/// Delete a stored provider and the accounts' links to it.
#[utoipa::path(delete, path = "/admin/api/v1/upstream-providers/{id}", tag = "upstream-providers",
    params(("id" = String, Path, description = "Provider id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such provider", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A provider of the configuration file", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_upstream_provider(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    cache: web::Data<dyn ProviderCache>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (now, pid) = (ctx.now(), id.clone());
    ctx.call(move |core| admin_providers::delete(core, &admin.actor, &pid, now))
        .await?;
    cache.forget(&id);
    Ok(HttpResponse::NoContent().finish())
}
