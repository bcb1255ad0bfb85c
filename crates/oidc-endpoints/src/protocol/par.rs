//! `POST /par` (RFC 9126): a client pushes its authorization request,
//! authenticated as at `/token`, and gets a one-time `request_uri` for
//! `/authorize`. Errors are JSON (RFC 9126 §2.3).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::par;
use web_kit::context::AppContext;

use super::client_auth;
use super::errors::OAuthJson;
use super::params::FormParams;
use crate::ProtocolState;

pub async fn push(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    FormParams(p): FormParams,
) -> Result<HttpResponse, OAuthJson> {
    let now = ctx.now();
    let params = p.clone();
    let pushed = client_auth::authenticate_then(
        &ctx,
        &state.client_jwks,
        &req,
        &p,
        true,
        move |ctx, client| {
            let mut conn = ctx.pool.get().map_err(core_auth::CoreError::from)?;
            par::push(&mut conn, &ctx.config, &client, params, now)
        },
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(pushed))
}
