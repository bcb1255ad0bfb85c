//! Pushed authorization requests (RFC 9126).
//!
//! A client posts its authorization request's parameters to the PAR
//! endpoint, authenticated as at `/token`, and gets a `request_uri`
//! (`urn:ietf:params:oauth:request_uri:…`, 256 random bits) to send the
//! browser to `/authorize` with. The request is checked when pushed, as
//! `/authorize` would check it, and stored (the URI as its SHA-256) in the
//! database, so any node can continue it: bound to the client, usable once,
//! for `par.lifetime_secs` (60 s). `/authorize` takes the parameters from
//! the pushed request only.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::pushed_requests;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::oidc::authorize::{self as authz, AuthzError, Params};
use crate::oidc::error::{ErrorCode, OAuthError, OAuthResult};
use crate::secret::{random_token, sha256_hex};

/// The prefix of every `request_uri` this server hands out.
pub const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The PAR endpoint's answer (RFC 9126 §2.2), sent with 201.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// Whether `client` must use PAR, by its registration or the server's.
pub fn required(cfg: &Config, client: &Client) -> bool {
    cfg.par.required || client.require_pushed_authorization_requests
}

/// A pushed request's parameters, and whether they came as a signed
/// request object.
#[derive(Debug, Clone)]
pub struct Taken {
    pub params: Params,
    pub signed: bool,
}

/// Checks an authorization request pushed by the authenticated `client`
/// and stores it: `params` as posted, or (`signed`) as decoded from the
/// request object posted. Errors are the endpoint's JSON errors (RFC 9126
/// §2.3).
pub fn push(
    conn: &mut DbConn,
    cfg: &Config,
    client: &Client,
    mut params: Params,
    signed: bool,
    now: UnixTime,
) -> OAuthResult<Pushed> {
    if client.require_signed_request_object && !signed {
        return Err(crate::oidc::request_object::required_error());
    }
    // Client authentication sent in the body is not part of the request,
    // and a secret is never stored.
    for k in ["client_secret", "client_assertion", "client_assertion_type"] {
        params.remove(k);
    }
    if params.contains_key("request_uri") {
        return Err(OAuthError::invalid_request(
            "request_uri is not allowed in a pushed authorization request",
        ));
    }
    match params.get("client_id").map(String::as_str) {
        None | Some("") => {
            params.insert("client_id".into(), client.client_id.clone());
        }
        Some(id) if id == client.client_id => {}
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "client_id differs from the authenticated client",
            ))
        }
    }
    if let Err(AuthzError::Page(m)) = authz::resolve_redirect(&params, Some(client)) {
        return Err(OAuthError::invalid_request(m));
    }
    // The hint is checked again, against the keys, when the request is used.
    if let Err(e) = authz::validate(&params, client, None, now) {
        return Err(match e {
            AuthzError::Page(m) => OAuthError::invalid_request(m),
            AuthzError::Redirect { error, .. } => error,
        });
    }
    let uri = format!("{URN_PREFIX}{}", random_token().into_inner());
    let lifetime = cfg.par.lifetime_secs;
    let stored = serde_json::to_string(&params)
        .map_err(|e| OAuthError::from(CoreError::Crypto(format!("JSON: {e}"))))?;
    diesel::insert_into(pushed_requests::table)
        .values((
            pushed_requests::uri_hash.eq(sha256_hex(&uri)),
            pushed_requests::client_id.eq(&client.client_id),
            pushed_requests::params.eq(stored),
            pushed_requests::created_at.eq(now),
            pushed_requests::expires_at.eq(now + lifetime),
            pushed_requests::signed.eq(signed),
        ))
        .execute(conn)
        .map_err(CoreError::from)?;
    Ok(Pushed {
        request_uri: uri,
        expires_in: lifetime,
    })
}

/// Takes the pushed request `request_uri` of `client_id`: its parameters,
/// once, before it expires. `None`: unknown, another client's, used or
/// expired (the caller cannot tell which, nor can an attacker).
pub fn take(
    conn: &mut DbConn,
    client_id: &str,
    request_uri: &str,
    now: UnixTime,
) -> CoreResult<Option<Taken>> {
    if !request_uri.starts_with(URN_PREFIX) || request_uri.len() > 200 {
        return Ok(None);
    }
    let hash = sha256_hex(request_uri);
    write_tx(conn, |c| {
        let n = diesel::update(
            pushed_requests::table
                .find(&hash)
                .filter(pushed_requests::client_id.eq(client_id))
                .filter(pushed_requests::used_at.is_null())
                .filter(pushed_requests::expires_at.gt(now)),
        )
        .set(pushed_requests::used_at.eq(Some(now)))
        .execute(c)?;
        if n != 1 {
            return Ok(None);
        }
        let (stored, signed): (String, bool) = pushed_requests::table
            .find(&hash)
            .select((pushed_requests::params, pushed_requests::signed))
            .first(c)?;
        let params: HashMap<String, String> = serde_json::from_str(&stored)
            .map_err(|e| CoreError::Crypto(format!("stored request: {e}")))?;
        Ok(Some(Taken { params, signed }))
    })
}

/// The error `/authorize` gives a request without PAR from a client that
/// must use it.
pub fn required_error() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidRequest,
        "this client must push its authorization requests (PAR, RFC 9126)",
    )
}
