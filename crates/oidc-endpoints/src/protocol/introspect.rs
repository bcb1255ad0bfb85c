//! `POST /introspect` (RFC 7662): for authenticated confidential clients.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::introspect as core_introspect;
use core_auth::oidc::OAuthError;

use super::client_auth;
use super::errors::OAuthJson;
use super::params::FormParams;
use crate::context::AppContext;

pub async fn introspect(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    FormParams(p): FormParams,
) -> Result<HttpResponse, OAuthJson> {
    client_auth::authenticate(&ctx, &req, &p, false).await?;
    let token = p
        .get("token")
        .filter(|t| !t.is_empty())
        .cloned()
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let hint = p.get("token_type_hint").cloned();
    let now = ctx.now();
    let answer = ctx
        .run(move |ctx| {
            core_introspect::introspect(ctx.oidc(), &token, hint.as_deref(), now)
                .map_err(OAuthError::from)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}
