//! `POST /par` (RFC 9126): a client pushes its authorization request,
//! authenticated as at `/token`, and gets a one-time `request_uri` for
//! `/authorize`. Errors are JSON (RFC 9126 §2.3).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::{par, request_object};
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
    let client = client_auth::authenticate(&ctx, &state.client_jwks, &req, &p, true).await?;
    // A signed request object (RFC 9101) inside the push: its parameters.
    let mut params = p;
    let signed = params.get("request").is_some_and(|r| !r.is_empty());
    if signed {
        let object = params.get("request").cloned().unwrap_or_default();
        let keys = client_auth::registered_keys(&state.client_jwks, &client).await;
        let c = client.clone();
        params = ctx
            .compute(move |ctx| {
                request_object::decode(&c, &object, keys.as_deref(), &ctx.config.issuer, now)
            })
            .await?;
    }
    let pushed = ctx
        .compute(move |ctx| {
            let mut conn = ctx.pool.get().map_err(core_auth::CoreError::from)?;
            par::push(&mut conn, &ctx.config, &client, params, signed, now)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(pushed))
}
