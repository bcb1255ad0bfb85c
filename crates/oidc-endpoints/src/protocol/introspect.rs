//! `POST /introspect` (RFC 7662): for authenticated confidential clients,
//! about their own tokens or those of the audiences they serve.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::introspect as core_introspect;
use core_auth::oidc::OAuthError;
use web_kit::context::AppContext;

use super::client_auth;
use super::errors::OAuthJson;
use super::params::FormParams;
use crate::ProtocolState;

pub async fn introspect(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    FormParams(p): FormParams,
) -> Result<HttpResponse, OAuthJson> {
    let token = p.get("token").filter(|t| !t.is_empty()).cloned();
    let hint = p.get("token_type_hint").cloned();
    let now = ctx.now();
    // The client is authenticated before the missing token is reported.
    // What the caller may see is decided in core-auth (RFC 7662 §4).
    let answer = client_auth::authenticate_then(
        &ctx,
        &state.client_jwks,
        &req,
        &p,
        false,
        move |ctx, client| {
            let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
            core_introspect::introspect(ctx.oidc(), &client, &token, hint.as_deref(), now)
                .map_err(OAuthError::from)
        },
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}
