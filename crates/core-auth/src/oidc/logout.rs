//! RP-Initiated Logout 1.0 and `id_token_hint` handling. (Ending the
//! session itself, with its tokens and audit row, is
//! [`crate::sessions::sign_out`].)

use serde_json::Value;

use crate::keys::KeyRing;

/// What a verified `id_token_hint` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    pub sub: String,
    pub audiences: Vec<String>,
    pub sid: Option<String>,
}

/// Verifies an ID token we issued: a signature by one of our keys (in that
/// key's algorithm), our issuer, an ID token (not an access or refresh
/// token). An expired one is accepted, as both specs allow.
pub fn parse_id_token_hint(
    keys: &KeyRing,
    issuer: &str,
    token: &str,
) -> Result<IdTokenHint, String> {
    let claims = keys.verify(token, None).map_err(|e| e.to_string())?;
    let header_typ = josekit::jwt::decode_header(token).ok().and_then(|h| {
        h.claim("typ")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    });
    if header_typ.as_deref().is_some_and(|t| t != "jwt") {
        return Err("the token is not an ID token".into());
    }
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err("the token was issued by another server".into());
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or("the token has no subject")?
        .to_string();
    let audiences = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => return Err("the token has no audience".into()),
    };
    Ok(IdTokenHint {
        sub,
        audiences,
        sid: claims
            .get("sid")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}
