//! `POST /revoke` (RFC 7009): a client revokes its own access or refresh
//! token. Revoking a refresh token ends its family and the access tokens
//! issued from it. Unknown, invalid or foreign tokens answer 200 as well:
//! the client learns nothing from the response.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::OAuthError;
use web_kit::context::AppContext;

use super::client_auth;
use super::errors::OAuthJson;
use super::params::FormParams;
use crate::ProtocolState;

pub async fn revoke(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    FormParams(p): FormParams,
) -> Result<HttpResponse, OAuthJson> {
    let token = p.get("token").filter(|t| !t.is_empty()).cloned();
    let now = ctx.now();
    let meta = web_kit::auditing::meta(&req, None);
    // The client is authenticated before the missing token is reported.
    client_auth::authenticate_then(
        &ctx,
        &state.client_jwks,
        &req,
        &p,
        true,
        move |ctx, client| {
            let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
            let core = ctx.core();
            core_auth::oidc::revoke::revoke(&core, &meta, &client, &token, now)
                .map_err(OAuthError::from)
        },
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
