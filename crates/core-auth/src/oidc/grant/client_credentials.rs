//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client
//! acting for itself. The token's `sub` is the client id; scopes are the
//! client's own (never `openid`, no refresh token).

use super::{param, Params};
use crate::actor::Actor;
use crate::audit::EventKind;
use crate::audit::{self, Event};
use crate::clients::{Client, GrantType};
use crate::clock::UnixTime;
use crate::oidc::error::{OAuthError, OAuthResult};
use crate::oidc::scopes::ScopeSet;
use crate::oidc::tokens::{self, GrantContext, TokenResponse};
use crate::oidc::Oidc;

pub fn exchange(
    o: Oidc<'_>,
    client: &Client,
    p: &Params,
    meta: &Actor,
    now: UnixTime,
) -> OAuthResult<TokenResponse> {
    if client.is_public() || !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the client_credentials grant",
        ));
    }
    let allowed = ScopeSet(client.scopes.clone());
    let scope = match param(p, "scope") {
        Some(s) if !ScopeSet::is_well_formed(s) => {
            return Err(OAuthError::invalid_scope(
                "the scope parameter has invalid characters",
            ))
        }
        Some(s) => {
            let requested = ScopeSet::parse(s);
            if !requested.is_subset_of(&allowed) {
                return Err(OAuthError::invalid_scope(
                    "the client may not ask for this scope",
                ));
            }
            requested
        }
        None => allowed,
    };
    let grant = GrantContext {
        client: client.clone(),
        user: None,
        scope: scope.clone(),
        grant_scope: scope,
        claims: None,
        sid: None,
        auth_time: None,
        amr: vec![],
        acr: None,
        nonce: None,
        family_id: None,
        family_expires_at: None,
    };
    let mut conn = o.pool.get()?;
    let planned = crate::db::write_tx(&mut conn, |c| -> crate::error::CoreResult<_> {
        audit::record(
            c,
            meta,
            Event::success(EventKind::TokenIssued)
                .client(&client.client_id)
                .with("grant_type", "client_credentials")
                .with("scope", grant.scope.to_string()),
            now,
        )?;
        tokens::plan(c, o.config, grant, None, now)
    })?;
    drop(conn);
    Ok(tokens::sign(o.keys, o.config, planned)?)
}
