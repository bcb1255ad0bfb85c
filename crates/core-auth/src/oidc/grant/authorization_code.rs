//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! A code is single use: the first redemption marks it; a second one is a
//! replay, answered `invalid_grant`, and revokes every token issued from the
//! first (RFC 6749 §4.1.2, RFC 9700 §4.5). A wrong PKCE verifier or
//! redirect URI also uses the code up.

use crate::audit::EventKind;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{param, Params, Ready, Write};
use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clients::{Client, GrantType};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::DbConn;
use crate::error::CoreResult;
use crate::oidc::codes;
use crate::oidc::error::{OAuthError, OAuthResult};
use crate::oidc::scopes::ScopeSet;
use crate::oidc::tokens::{self, GrantContext, TokenResponse};
use crate::oidc::Oidc;
use crate::secret::ct_eq;
use crate::users;

/// RFC 7636: `BASE64URL(SHA256(verifier)) == challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    ct_eq(computed.as_bytes(), challenge.as_bytes())
}

fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

/// Checks the request's form; the write redeems the code (or detects its
/// replay) and plans the tokens.
pub fn prepare(
    _o: Oidc<'_>,
    client: &Client,
    p: &Params,
    meta: &Actor,
    now: UnixTime,
) -> OAuthResult<Write> {
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the authorization_code grant",
        ));
    }
    let code = param(p, "code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?
        .to_string();
    let redirect_uri = param(p, "redirect_uri").map(str::to_string);
    let verifier = param(p, "code_verifier").map(str::to_string);
    let client = client.clone();
    let meta = meta.clone();
    Ok(Box::new(
        move |c: &mut DbConn, cfg: &Config| -> CoreResult<OAuthResult<Ready>> {
            let Some(row) = codes::find(c, &code)? else {
                return Ok(Err(OAuthError::invalid_grant(
                    "the authorization code is invalid",
                )));
            };
            if row.client_id != client.client_id {
                return Ok(Err(OAuthError::invalid_grant(
                    "the authorization code was issued to another client",
                )));
            }
            if !codes::mark_used(c, &row.code_hash, now)? {
                let revoked = tokens::revoke_family(c, &row.family_id, now)?;
                audit::record(
                    c,
                    &meta,
                    Event::failure(EventKind::CodeReplayed)
                        .subject(&row.user_id)
                        .client(&client.client_id)
                        .with("tokens_revoked", revoked),
                    now,
                )?;
                return Ok(Err(OAuthError::invalid_grant(
                    "the authorization code has already been used",
                )));
            }
            if row.expires_at <= now {
                return Ok(Err(OAuthError::invalid_grant(
                    "the authorization code has expired",
                )));
            }
            let redirect_ok = match &redirect_uri {
                Some(u) => *u == row.redirect_uri,
                None => !row.redirect_uri_given,
            };
            if !redirect_ok {
                return Ok(Err(OAuthError::invalid_grant(
                    "redirect_uri does not match the one in the authorization request",
                )));
            }
            match (&row.code_challenge, verifier.as_deref()) {
                (Some(challenge), Some(v)) => {
                    if !verifier_well_formed(v) || !pkce_matches(v, challenge) {
                        return Ok(Err(OAuthError::invalid_grant(
                            "the PKCE code_verifier does not match",
                        )));
                    }
                }
                (Some(_), None) => {
                    return Ok(Err(OAuthError::invalid_grant(
                        "code_verifier is required (PKCE)",
                    )))
                }
                (None, Some(_)) => return Ok(Err(OAuthError::invalid_grant(
                    "code_verifier was sent but the authorization request had no code_challenge",
                ))),
                (None, None) => {}
            }
            let Some(user) = users::find_by_id(c, &row.user_id)?.filter(|u| !u.disabled) else {
                return Ok(Err(OAuthError::invalid_grant(
                    "the account is no longer active",
                )));
            };
            let scope = ScopeSet::parse(&row.scope);
            let refresh = tokens::refresh_policy(&client, &scope);
            let grant = GrantContext {
                client: client.clone(),
                user: Some(user),
                scope: scope.clone(),
                grant_scope: scope,
                claims: row.claims.clone(),
                sid: Some(row.sid.clone()),
                auth_time: Some(row.auth_time),
                amr: tokens::parse_amr(&row.amr),
                acr: Some(row.acr.clone()),
                nonce: row.nonce.clone(),
                family_id: Some(row.family_id.clone()),
                family_expires_at: None,
            };
            audit::record(
                c,
                &meta,
                Event::success(EventKind::TokenIssued)
                    .subject(&row.user_id)
                    .client(&client.client_id)
                    .with("grant_type", "authorization_code")
                    .with("scope", row.scope.clone())
                    .with("refresh_token", refresh.is_some()),
                now,
            )?;
            Ok(Ok(Ready::Planned(tokens::plan(
                c, cfg, grant, refresh, now,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_known_vector() {
        // RFC 7636 Appendix B.
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verifier_well_formed("short"));
    }
}
