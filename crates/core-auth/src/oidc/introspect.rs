//! Token introspection (RFC 7662) for access and refresh tokens.
//!
//! Who sees a token (RFC 7662 §4): the client it was issued to, and, for an
//! access token, a client registered as a resource server for one of the
//! token's audiences (`Client::resource_server_audiences`). Refresh tokens
//! are only ever presented to this server, so only their own client sees
//! them. Anyone else gets `{"active": false}`, the answer for an unknown
//! token, after the same lookups.

use diesel::prelude::*;
use serde_json::{json, Map, Value};

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::db::schema::{access_tokens, users};
use crate::error::CoreResult;
use crate::oidc::tokens::{self, AccessRow, RT_TYP};
use crate::oidc::Oidc;

fn inactive() -> Value {
    json!({ "active": false })
}

/// Whether `caller` may see a token issued to `owner` for `audiences`.
pub fn may_see(caller: &Client, owner: &str, audiences: &[&str]) -> bool {
    caller.client_id == owner
        || audiences
            .iter()
            .any(|a| caller.resource_server_audiences.iter().any(|r| r == a))
}

/// The `aud` claim as a list (a string or an array of strings).
fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// The introspection answer for `token`, asked by the authenticated
/// client `caller`. `hint` (`access_token` / `refresh_token`) only changes
/// the order of the checks.
pub fn introspect(
    o: Oidc<'_>,
    caller: &Client,
    token: &str,
    hint: Option<&str>,
    now: UnixTime,
) -> CoreResult<Value> {
    let order: [&str; 2] = if hint == Some("refresh_token") {
        ["refresh_token", "access_token"]
    } else {
        ["access_token", "refresh_token"]
    };
    for kind in order {
        let found = if kind == "access_token" {
            access(o, caller, token, now)?
        } else {
            refresh(o, caller, token, now)?
        };
        if let Some(v) = found {
            return Ok(v);
        }
    }
    Ok(inactive())
}

fn access(o: Oidc<'_>, caller: &Client, token: &str, now: UnixTime) -> CoreResult<Option<Value>> {
    let Ok(claims) = tokens::verify_access_jwt(o.keys, o.config, token, now) else {
        return Ok(None);
    };
    let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
        return Ok(None);
    };
    let mut conn = o.pool.get()?;
    // One query: the token record and whether its user is disabled; for a
    // client's own (unrecorded) token, whether it is still active.
    let found: Option<(AccessRow, Option<bool>)> = if tokens::is_client_token(&claims) {
        tokens::access_record(&mut conn, &claims, now)?.map(|r| (r, None))
    } else {
        access_tokens::table
            .left_join(users::table)
            .filter(access_tokens::jti.eq(jti))
            .select((AccessRow::as_select(), users::disabled.nullable()))
            .get_result(&mut *conn)
            .optional()?
    };
    drop(conn);
    let Some((row, disabled)) = found.filter(|(r, _)| r.revoked_at.is_none()) else {
        return Ok(Some(inactive()));
    };
    // A user's token needs the user, enabled; a client's has none.
    if row.user_id.is_some() && disabled != Some(false) {
        return Ok(Some(inactive()));
    }
    if !may_see(caller, &row.client_id, &audiences(&claims)) {
        return Ok(Some(inactive()));
    }

    let mut out = Map::new();
    out.insert("active".into(), json!(true));
    out.insert("token_type".into(), json!("access_token"));
    out.insert("scope".into(), json!(row.scope));
    out.insert("client_id".into(), json!(row.client_id));
    for k in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "jti",
        "auth_time",
        "acr",
        "sid",
    ] {
        if let Some(v) = claims.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    Ok(Some(Value::Object(out)))
}

fn refresh(o: Oidc<'_>, caller: &Client, token: &str, now: UnixTime) -> CoreResult<Option<Value>> {
    let Ok(claims) = o.keys.verify(token, Some(RT_TYP)) else {
        return Ok(None);
    };
    if claims.get("iss").and_then(Value::as_str) != Some(o.issuer()) {
        return Ok(None);
    }
    let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
        return Ok(None);
    };
    let mut conn = o.pool.get()?;
    let row = tokens::find_refresh(&mut conn, jti)?;
    if let Some(r) = &row {
        if crate::users::find_by_id(&mut conn, &r.user_id)?.is_none_or(|u| u.disabled) {
            return Ok(Some(inactive()));
        }
    }

    let Some(row) = row.filter(|r| {
        r.used_at.is_none()
            && r.revoked_at.is_none()
            && r.expires_at > now
            && r.family_expires_at > now
            && may_see(caller, &r.client_id, &[])
    }) else {
        return Ok(Some(inactive()));
    };
    Ok(Some(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": row.user_id,
        "iss": o.issuer(),
        "exp": row.expires_at,
        "iat": row.created_at,
    })))
}
