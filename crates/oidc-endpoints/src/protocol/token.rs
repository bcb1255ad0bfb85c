//! `POST /token`: authenticate the client, dispatch to the grant.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::grant::{authorization_code, client_credentials, refresh_token};
use core_auth::oidc::{ErrorCode, OAuthError};
use web_kit::context::AppContext;

use super::client_auth;
use super::errors::OAuthJson;
use super::params::FormParams;
use crate::ProtocolState;

pub async fn token(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    FormParams(p): FormParams,
) -> Result<HttpResponse, OAuthJson> {
    let grant_type = p.get("grant_type").cloned().unwrap_or_default();
    let grant = grant_type.clone();
    let now = ctx.now();
    let meta = web_kit::auditing::meta(&req, None);
    let params = p.clone();
    let response = client_auth::authenticate_then(
        &ctx,
        &state.client_jwks,
        &req,
        &params,
        true,
        move |ctx, client| {
            let o = ctx.oidc();
            match grant_type.as_str() {
                "authorization_code" => authorization_code::exchange(o, &client, &p, &meta, now),
                "refresh_token" => refresh_token::exchange(o, &client, &p, &meta, now),
                "client_credentials" => client_credentials::exchange(o, &client, &p, &meta, now),
                "" => Err(OAuthError::invalid_request("grant_type is required")),
                other => Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {other} is not supported"),
                )),
            }
        },
    )
    .await?;
    ctx.metrics.token_issued(&grant);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
