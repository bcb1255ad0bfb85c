//! Token revocation (RFC 7009): a client revokes its own access or refresh
//! token. Revoking a refresh token ends its family and the access tokens
//! issued from it. Unknown, invalid or foreign tokens change nothing and
//! are not reported: the client learns nothing from the answer.

use crate::audit::EventKind;
use serde_json::Value;

use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clients::Client;
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::oidc::tokens::{self, RT_TYP};
use crate::service::Core;

/// Revokes `token` when it is `client`'s own; the revocation and its
/// `token_revoked` row are one transaction.
pub fn revoke(
    core: &Core<'_>,
    actor: &Actor,
    client: &Client,
    token: &str,
    now: UnixTime,
) -> CoreResult<()> {
    let record = |c: &mut DbConn, kind: &str, subject: Option<&str>| {
        let mut e = Event::success(EventKind::TokenRevoked)
            .client(&client.client_id)
            .with("token_type", kind);
        if let Some(s) = subject {
            e = e.subject(s);
        }
        audit::record(c, actor, e, now)
    };
    let mut pooled = core.conn()?;
    if let Ok(claims) = tokens::verify_access_jwt(core.keys, core.config, token, now) {
        if claims.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
            return Ok(());
        }
        let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
            return Ok(());
        };
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| *s != client.client_id);
        let client_token = tokens::is_client_token(&claims);
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
        return write_tx(&mut pooled, |c| {
            let revoked = if client_token {
                // Not recorded: on the deny list until it expires.
                tokens::deny_client_token(c, &client.client_id, jti, exp, now)?
            } else {
                tokens::revoke_access_token(c, jti, now)?
            };
            if revoked {
                record(c, "access_token", sub)?;
            }
            Ok::<_, CoreError>(())
        });
    }
    let Ok(claims) = core.keys.verify(token, Some(RT_TYP)) else {
        return Ok(());
    };
    let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
        return Ok(());
    };
    write_tx(&mut pooled, |c| {
        if let Some(row) = tokens::find_refresh(c, jti)? {
            if row.client_id == client.client_id
                && tokens::revoke_family(c, &row.family_id, now)? > 0
            {
                record(c, "refresh_token", Some(&row.user_id))?;
            }
        }
        Ok::<_, CoreError>(())
    })
}
