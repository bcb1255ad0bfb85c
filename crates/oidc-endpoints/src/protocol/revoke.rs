//! `POST /revoke` (RFC 7009): a client revokes its own access or refresh
//! token. Revoking a refresh token ends its family and the access tokens
//! issued from it. Unknown, invalid or foreign tokens answer 200 as well:
//! the client learns nothing from the response.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::audit::Event;
use core_auth::oidc::tokens::{self, RT_TYP};
use core_auth::oidc::OAuthError;
use core_auth::CoreResult;
use serde_json::Value;

use super::client_auth;
use super::errors::OAuthJson;
use super::params::FormParams;
use crate::context::AppContext;

pub async fn revoke(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    FormParams(p): FormParams,
) -> Result<HttpResponse, OAuthJson> {
    let token = p.get("token").filter(|t| !t.is_empty()).cloned();
    let now = ctx.now();
    let meta = crate::auditing::meta(&req, None);
    // The client is authenticated before the missing token is reported.
    client_auth::authenticate_then(&ctx, &req, &p, true, move |ctx, client| {
        let token = token.ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        revoke_token(ctx, &client, &token, &meta, now).map_err(OAuthError::from)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Revokes `token` when it is `client`'s own access or refresh token.
fn revoke_token(
    ctx: &AppContext,
    client: &core_auth::clients::Client,
    token: &str,
    meta: &core_auth::actor::Actor,
    now: core_auth::UnixTime,
) -> CoreResult<()> {
    let keys = &ctx.keys;
    let mut conn = ctx.pool.get()?;
    let audit = |c: &mut core_auth::DbConn, kind: &str, subject: Option<&str>| {
        let mut e = Event::success("token_revoked")
            .client(&client.client_id)
            .with("token_type", kind);
        if let Some(s) = subject {
            e = e.subject(s);
        }
        core_auth::audit::record(c, meta, e, now)
    };
    if let Ok(claims) = tokens::verify_access_jwt(keys, &ctx.config, token, now) {
        if claims.get("client_id").and_then(Value::as_str) == Some(client.client_id.as_str()) {
            if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
                if tokens::revoke_access_token(&mut conn, jti, now)? {
                    let sub = claims
                        .get("sub")
                        .and_then(Value::as_str)
                        .filter(|s| *s != client.client_id);
                    audit(&mut conn, "access_token", sub)?;
                }
            }
        }
    } else if let Ok(claims) = keys.verify(token, Some(RT_TYP)) {
        if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
            if let Some(row) = tokens::find_refresh(&mut conn, jti)? {
                if row.client_id == client.client_id
                    && tokens::revoke_family(&mut conn, &row.family_id, now)? > 0
                {
                    audit(&mut conn, "refresh_token", Some(&row.user_id))?;
                }
            }
        }
    }
    Ok(())
}
