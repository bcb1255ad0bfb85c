//! `POST /revoke` (RFC 7009): a client revokes its own access or refresh
//! token. Revoking a refresh token ends its family and the access tokens
//! issued from it. Unknown, invalid or foreign tokens answer 200 as well:
//! the client learns nothing from the response.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
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
    let client = client_auth::authenticate(&ctx, &req, &p, true).await?;
    let token = p
        .get("token")
        .filter(|t| !t.is_empty())
        .cloned()
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = ctx.now();
    ctx.run(move |ctx| -> CoreResult<()> {
        let keys = &ctx.keys;
        if let Ok(claims) = tokens::verify_access_jwt(keys, &ctx.config, &token, now) {
            if claims.get("client_id").and_then(Value::as_str) == Some(client.client_id.as_str()) {
                if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
                    tokens::revoke_access_token(&mut *ctx.pool.get()?, jti, now)?;
                }
            }
        } else if let Ok(claims) = keys.verify(&token, Some(RT_TYP)) {
            if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
                let mut conn = ctx.pool.get()?;
                if let Some(row) = tokens::find_refresh(&mut conn, jti)? {
                    if row.client_id == client.client_id {
                        tokens::revoke_family(&mut conn, &row.family_id, now)?;
                    }
                }
            }
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
