//! `GET|POST /userinfo` (OIDC Core §5.3, RFC 6750 §2.1 and §2.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::oidc::{userinfo as core_userinfo, OAuthError};
use web_kit::context::AppContext;
use web_kit::form;

use super::errors::{bearer_required, BearerError};

/// The token from `Authorization: Bearer` or, for POST, a form body
/// `access_token` (never the query string). `Ok(None)`: no token at all.
pub async fn bearer(
    req: &HttpRequest,
    payload: &mut web::Payload,
    limit: usize,
) -> Result<Option<String>, OAuthError> {
    let header_token = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
            let (scheme, t) = v.split_once(' ').unwrap_or((v, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                // Another scheme carries no bearer token: answered like a
                // request without one (RFC 6750 §3.1), with the challenge.
                None
            } else if t.trim().is_empty() {
                return Err(OAuthError::invalid_request(
                    "the Bearer credentials are empty",
                ));
            } else {
                Some(t.trim().to_string())
            }
        }
    };
    if req
        .query_string()
        .split('&')
        .any(|kv| kv.split('=').next() == Some("access_token"))
    {
        return Err(OAuthError::invalid_request(
            "send the access token in the Authorization header, not the URL",
        ));
    }
    let body_token = if req.method() == actix_web::http::Method::POST && form::is_form(req) {
        let pairs = form::read_pairs(req, payload, limit)
            .await
            .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
        pairs
            .into_iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty())
    } else {
        None
    };
    match (header_token, body_token) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "send the access token one way only",
        )),
        (Some(t), None) | (None, Some(t)) => Ok(Some(t)),
        (None, None) => Ok(None),
    }
}

pub async fn userinfo(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    mut payload: web::Payload,
) -> Result<HttpResponse, BearerError> {
    let Some(token) = bearer(&req, &mut payload, ctx.config.max_body_bytes).await? else {
        return Ok(bearer_required());
    };
    let now = ctx.now();
    let claims = ctx
        .compute(move |ctx| core_userinfo::userinfo(ctx.oidc(), &token, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(claims))
}
