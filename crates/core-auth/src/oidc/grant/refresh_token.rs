//! `grant_type=refresh_token` (RFC 6749 §6, RFC 9700 §4.14).
//!
//! Every use rotates: the presented token is marked used and a new one is
//! issued in the same family. A used (rotated) or revoked token presented
//! again is reuse: the whole family and its access tokens are revoked and
//! the event is audited. Two concurrent refreshes with one token: the
//! database lets exactly one mark it used; the other is treated as reuse.

use crate::audit::EventKind;
use serde_json::Value;

use super::{param, Params, Ready, Write};
use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clients::{Client, GrantType};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::DbConn;
use crate::error::CoreResult;
use crate::oidc::error::{OAuthError, OAuthResult};
use crate::oidc::scopes::ScopeSet;
use crate::oidc::tokens::{self, GrantContext, TokenResponse, RT_TYP};
use crate::oidc::Oidc;
use crate::users;

/// Checks the presented token's signature and claims; the write rotates it
/// (or detects its reuse) and plans the new tokens.
pub fn prepare(
    o: Oidc<'_>,
    client: &Client,
    p: &Params,
    meta: &Actor,
    now: UnixTime,
) -> OAuthResult<Write> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the refresh_token grant",
        ));
    }
    let token = param(p, "refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let claims = o
        .keys
        .verify(token, Some(RT_TYP))
        .map_err(|e| OAuthError::invalid_grant(format!("the refresh token is invalid: {e}")))?;
    if claims.get("iss").and_then(Value::as_str) != Some(o.issuer()) {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued by another server",
        ));
    }
    if claims.get("client_id").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token has no identifier"))?
        .to_string();
    let requested = match param(p, "scope") {
        Some(s) if !ScopeSet::is_well_formed(s) => {
            return Err(OAuthError::invalid_scope(
                "the scope parameter has invalid characters",
            ))
        }
        Some(s) => Some(ScopeSet::parse(s)),
        None => None,
    };

    let client = client.clone();
    let meta = meta.clone();
    Ok(Box::new(
        move |c: &mut DbConn, cfg: &Config| -> CoreResult<OAuthResult<Ready>> {
            let Some(row) = tokens::find_refresh(c, &jti)? else {
                return Ok(Err(OAuthError::invalid_grant(
                    "the refresh token is invalid",
                )));
            };
            if row.client_id != client.client_id {
                return Ok(Err(OAuthError::invalid_grant(
                    "the refresh token was issued to another client",
                )));
            }
            if row.revoked_at.is_some() {
                return Ok(Err(OAuthError::invalid_grant(
                    "the refresh token has been revoked",
                )));
            }
            let reuse = row.used_at.is_some();
            if !reuse && (row.expires_at <= now || row.family_expires_at <= now) {
                return Ok(Err(OAuthError::invalid_grant(
                    "the refresh token has expired",
                )));
            }
            if !reuse && !row.offline {
                // Not an offline grant: it ends with the browser session.
                let alive = match &row.sid {
                    Some(sid) => crate::sessions::is_alive(c, sid, now, (&cfg.session).into())?,
                    None => false,
                };
                if !alive {
                    return Ok(Err(OAuthError::invalid_grant(
                        "the session this refresh token belongs to has ended",
                    )));
                }
            }
            let grant_scope = ScopeSet::parse(&row.scope);

            let scope = match &requested {
                // A refused scope does not use the token up.
                Some(r) if !reuse && !r.is_subset_of(&grant_scope) => {
                    return Ok(Err(OAuthError::invalid_scope(
                        "the requested scope is wider than the scope originally granted",
                    )))
                }
                Some(r) if !r.is_empty() => r.clone(),
                _ => grant_scope.clone(),
            };
            // Atomic: of two concurrent uses exactly one marks the token.
            if reuse || !mark_used(c, &row.jti_hash, now)? {
                let revoked = tokens::revoke_family(c, &row.family_id, now)?;
                audit::record(
                    c,
                    &meta,
                    Event::failure(EventKind::RefreshReuseDetected)
                        .subject(&row.user_id)
                        .client(&client.client_id)
                        .with("family_revoked", revoked),
                    now,
                )?;
                return Ok(Err(OAuthError::invalid_grant(
                    "the refresh token was already used; the grant has been revoked",
                )));
            }
            let Some(user) = users::find_by_id(c, &row.user_id)?.filter(|u| !u.disabled) else {
                return Ok(Err(OAuthError::invalid_grant(
                    "the account is no longer active",
                )));
            };
            let scope_for_audit = scope.to_string();
            let grant = GrantContext {
                client: client.clone(),
                user: Some(user),
                scope,
                grant_scope,
                claims: row.claims.clone(),
                sid: row.sid.clone(),
                auth_time: Some(row.auth_time),
                amr: tokens::parse_amr(&row.amr),
                acr: Some(row.acr.clone()).filter(|a| !a.is_empty()),
                nonce: None,
                family_id: Some(row.family_id.clone()),
                family_expires_at: Some(row.family_expires_at),
            };
            audit::record(
                c,
                &meta,
                Event::success(EventKind::TokenRefreshed)
                    .subject(&row.user_id)
                    .client(&client.client_id)
                    .with("scope", scope_for_audit.clone()),
                now,
            )?;
            Ok(Ok(Ready::Planned(tokens::plan(
                c,
                cfg,
                grant,
                Some(row.offline),
                now,
            )?)))
        },
    ))
}

/// The whole grant on one connection.
pub fn exchange(
    o: Oidc<'_>,
    client: &Client,
    p: &Params,
    meta: &Actor,
    now: UnixTime,
) -> OAuthResult<TokenResponse> {
    super::run_now(o, super::Prepared::Write(prepare(o, client, p, meta, now)?))
}

fn mark_used(
    c: &mut crate::db::DbConn,
    jti_hash: &str,
    now: UnixTime,
) -> crate::error::CoreResult<bool> {
    use crate::db::schema::refresh_tokens;
    use diesel::prelude::*;
    let n = diesel::update(
        refresh_tokens::table
            .find(jti_hash)
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(now)))
    .execute(c)?;
    Ok(n == 1)
}
