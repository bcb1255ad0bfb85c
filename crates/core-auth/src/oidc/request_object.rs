//! Signed request objects (RFC 9101, OIDC Core §6.1): the authorization
//! request's parameters as the claims of a JWT the client signed with one of
//! its registered keys (`jwks` or `jwks_uri`, the keys of `private_key_jwt`),
//! sent as `request` to `/authorize` or inside a pushed request.
//!
//! Checked: an asymmetric algorithm (never `none`, never HMAC: a public key
//! used as an HMAC secret is the classic confusion), `typ` absent, `JWT` or
//! `oauth-authz-req+jwt` (so that no other kind of token of the client's
//! passes for a request), the signature against the client's keys, `iss` the
//! client, `aud` this server, `exp` in the future and at most an hour away,
//! `nbf` (when given) not in the future, `client_id` (when given) the
//! client's. Then only the object's parameters are used (RFC 9101 §6.3).

use serde_json::Value;

use crate::clients::Client;
use crate::clock::UnixTime;
use crate::oidc::authorize::Params;
use crate::oidc::client_auth::{verify_assertion, ASSERTION_ALGS};
use crate::oidc::error::{ErrorCode, OAuthError};

/// The `typ` RFC 9101 §10.8 recommends.
pub const TYP: &str = "oauth-authz-req+jwt";
/// The longest an object may be valid for, in seconds.
pub const MAX_LIFETIME: i64 = 3600;
/// Clock skew allowed for `nbf`, in seconds.
const SKEW: i64 = 30;

fn invalid(m: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, m)
}

/// The authorization request in `request`, signed by `client` with a key of
/// `jwks` (its registered key set, `None` when it has none), for `issuer`.
pub fn decode(
    client: &Client,
    request: &str,
    jwks: Option<&str>,
    issuer: &str,
    now: UnixTime,
) -> Result<Params, OAuthError> {
    if request.len() > 16 * 1024 {
        return Err(invalid("the request object is too large"));
    }
    let header = josekit::jwt::decode_header(request)
        .map_err(|_| invalid("the request object is not a JWT"))?;
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or("none");
    if !ASSERTION_ALGS.contains(&alg) {
        return Err(invalid(format!(
            "the request object's algorithm {alg} is not accepted: sign it with the client's \
             registered key ({})",
            ASSERTION_ALGS.join(", ")
        )));
    }
    match header.claim("typ").and_then(Value::as_str) {
        None | Some(TYP) | Some("JWT") => {}
        Some(other) => {
            return Err(invalid(format!(
                "a request object's typ is {TYP}, not {other}"
            )))
        }
    }
    let Some(jwks) = jwks else {
        return Err(invalid(
            "the client has registered no keys to sign request objects with (jwks or jwks_uri)",
        ));
    };
    let claims = verify_assertion(request, jwks).ok_or_else(|| {
        invalid("the request object's signature does not verify with the client's registered keys")
    })?;
    let s = |k: &str| claims.get(k).and_then(Value::as_str);
    if s("iss") != Some(client.client_id.as_str()) {
        return Err(invalid("the request object's iss must be the client id"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == issuer,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(issuer)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid("the request object's aud must be the issuer"));
    }
    match claims.get("exp").and_then(Value::as_i64) {
        None => return Err(invalid("the request object has no exp")),
        Some(exp) if exp <= now => return Err(invalid("the request object has expired")),
        Some(exp) if exp > now + MAX_LIFETIME => {
            return Err(invalid(
                "the request object's exp is more than an hour away",
            ))
        }
        Some(_) => {}
    }
    if let Some(nbf) = claims.get("nbf") {
        match nbf.as_i64() {
            Some(n) if n <= now + SKEW => {}
            _ => return Err(invalid("the request object is not valid yet (nbf)")),
        }
    }
    if let Some(id) = claims.get("client_id") {
        if id.as_str() != Some(client.client_id.as_str()) {
            return Err(invalid(
                "the request object's client_id is another client's",
            ));
        }
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(invalid(
            "a request object cannot hold request or request_uri",
        ));
    }
    let mut params = Params::new();
    for (k, v) in claims {
        if matches!(k.as_str(), "iss" | "aud" | "exp" | "nbf" | "iat" | "jti") {
            continue;
        }
        let value = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            // The claims request is a JSON object; others are refused by
            // the usual checks as malformed values.
            other => other.to_string(),
        };
        params.insert(k, value);
    }
    params.insert("client_id".into(), client.client_id.clone());
    Ok(params)
}

/// The error for a request that is not a signed request object from a
/// client that must send one.
pub fn required_error() -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidRequest,
        "this client must send its authorization requests as signed request objects (RFC 9101)",
    )
}
