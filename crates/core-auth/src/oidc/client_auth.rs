//! Client authentication at the token, introspection and revocation
//! endpoints: `client_secret_basic`, `client_secret_post`,
//! `private_key_jwt` (RFC 7523) and `none` for public clients. A client must
//! use the method it registered; one method per request.

use diesel::prelude::*;
use josekit::jwk::{Jwk, JwkSet};
use josekit::jws::{EdDSA, JwsVerifier, ES256, ES384, PS256, PS384, PS512, RS256, RS384, RS512};
use serde_json::Value;

use crate::clients::{AuthMethod, Client};
use crate::clock::UnixTime;
use crate::db::schema::client_assertions;
use crate::db::DbConn;
use crate::oidc::error::{OAuthError, OAuthResult};
use crate::oidc::Oidc;
use crate::secret::{sha256_hex, Secret};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The credentials a request carried.
#[derive(Debug, Clone)]
pub enum Presented {
    Basic {
        client_id: String,
        secret: Secret,
    },
    Post {
        client_id: String,
        secret: Secret,
    },
    Assertion {
        assertion: String,
        client_id: Option<String>,
    },
    Public {
        client_id: String,
    },
}

impl Presented {
    pub fn method(&self) -> AuthMethod {
        match self {
            Presented::Basic { .. } => AuthMethod::ClientSecretBasic,
            Presented::Post { .. } => AuthMethod::ClientSecretPost,
            Presented::Assertion { .. } => AuthMethod::PrivateKeyJwt,
            Presented::Public { .. } => AuthMethod::None,
        }
    }

    /// Which client claims to be asking. For an assertion, its `sub`
    /// (unverified until [`authenticate`]).
    pub fn client_id(&self) -> OAuthResult<String> {
        let id = self.claimed_id()?;
        if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
            return Err(failed());
        }
        Ok(id)
    }

    fn claimed_id(&self) -> OAuthResult<String> {
        match self {
            Presented::Basic { client_id, .. }
            | Presented::Post { client_id, .. }
            | Presented::Public { client_id } => Ok(client_id.clone()),
            Presented::Assertion {
                assertion,
                client_id,
            } => {
                let sub = unverified_sub(assertion).ok_or_else(|| {
                    OAuthError::invalid_client("the client assertion is malformed")
                })?;
                if client_id.as_ref().is_some_and(|c| *c != sub) {
                    return Err(OAuthError::invalid_client(
                        "client_id does not match the assertion",
                    ));
                }
                Ok(sub)
            }
        }
    }
}

fn unverified_sub(jwt: &str) -> Option<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("sub").and_then(Value::as_str).map(str::to_string)
}

fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

/// Checks the credentials against the registered client. `jwks` is the
/// client's key set for `private_key_jwt` (inline, or fetched from its
/// `jwks_uri` by the caller).
pub fn authenticate(
    conn: &mut DbConn,
    o: Oidc<'_>,
    client: Option<Client>,
    presented: &Presented,
    jwks: Option<&str>,
    now: UnixTime,
) -> OAuthResult<Client> {
    let Some(client) = client else {
        // Same answer as a wrong secret: nothing learned about client ids.
        return Err(failed());
    };
    if presented.method() != client.auth_method {
        // The same answer as for an unknown client or a wrong secret.
        return Err(failed());
    }

    match presented {
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            if client.secret_matches(secret.expose()) {
                Ok(client)
            } else {
                Err(failed())
            }
        }
        Presented::Public { .. } => Ok(client),
        Presented::Assertion { assertion, .. } => {
            let jwks = jwks
                .ok_or_else(|| OAuthError::invalid_client("the client's keys are not available"))?;
            let claims = verify_assertion(assertion, jwks).ok_or_else(|| {
                OAuthError::invalid_client("the client assertion signature is invalid")
            })?;
            check_assertion_claims(conn, o, &client, &claims, now)?;
            Ok(client)
        }
    }
}

fn verifier_for(alg: &str, jwk: &Jwk) -> Option<Box<dyn JwsVerifier>> {
    let v: Box<dyn JwsVerifier> = match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).ok()?),
        "RS384" => Box::new(RS384.verifier_from_jwk(jwk).ok()?),
        "RS512" => Box::new(RS512.verifier_from_jwk(jwk).ok()?),
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk).ok()?),
        "PS384" => Box::new(PS384.verifier_from_jwk(jwk).ok()?),
        "PS512" => Box::new(PS512.verifier_from_jwk(jwk).ok()?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).ok()?),
        "ES384" => Box::new(ES384.verifier_from_jwk(jwk).ok()?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).ok()?),
        _ => return None,
    };
    Some(v)
}

/// Algorithms accepted for client assertions (never `none`, never HMAC).
pub const ASSERTION_ALGS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

pub(crate) fn verify_assertion(
    assertion: &str,
    jwks: &str,
) -> Option<serde_json::Map<String, Value>> {
    let header = josekit::jwt::decode_header(assertion).ok()?;
    let alg = header.claim("alg")?.as_str()?.to_string();
    if !ASSERTION_ALGS.contains(&alg.as_str()) {
        return None;
    }
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .map(str::to_string);
    let set = JwkSet::from_bytes(jwks.as_bytes()).ok()?;
    let candidates: Vec<&Jwk> = match &kid {
        Some(k) => set.get(k),
        None => set.keys(),
    };
    for jwk in candidates {
        if jwk.key_use().is_some_and(|u| u != "sig") {
            continue;
        }
        // A verifier made from a JWK with a `kid` refuses a JWS without
        // one; an assertion that names no key may be signed by any of them
        // (RFC 7523 does not require `kid`).
        let unnamed;
        let jwk = match (&kid, jwk.key_id()) {
            (None, Some(_)) => {
                let mut m = jwk.as_ref().clone();
                m.remove("kid");
                let Ok(j) = Jwk::from_map(m) else {
                    continue;
                };
                unnamed = j;
                &unnamed
            }
            _ => jwk,
        };
        let Some(verifier) = verifier_for(&alg, jwk) else {
            continue;
        };
        if let Ok((payload, _)) = josekit::jws::deserialize_compact(assertion, &*verifier) {
            if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&payload) {
                return Some(m);
            }
        }
    }
    None
}

fn check_assertion_claims(
    conn: &mut DbConn,
    o: Oidc<'_>,
    client: &Client,
    c: &serde_json::Map<String, Value>,
    now: UnixTime,
) -> OAuthResult<()> {
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    if s("iss") != Some(client.client_id.as_str()) || s("sub") != Some(client.client_id.as_str()) {
        return Err(OAuthError::invalid_client(
            "the assertion's iss and sub must be the client id",
        ));
    }
    // The issuer, the token endpoint, or (RFC 9126 §2) the PAR endpoint
    // the assertion was sent to.
    let token_endpoint = o.token_endpoint();
    let par_endpoint = format!("{}/par", o.issuer());
    let ours = |a: &str| a == o.issuer() || a == token_endpoint || a == par_endpoint;
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => ours(a),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(ours),
        _ => false,
    };
    if !aud_ok {
        return Err(OAuthError::invalid_client(
            "the assertion's audience must be the issuer or the token endpoint",
        ));
    }
    let exp = c
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| OAuthError::invalid_client("the assertion has no exp"))?;
    if exp <= now {
        return Err(OAuthError::invalid_client("the assertion has expired"));
    }
    if exp - now > o.config.tokens.client_assertion_max_lifetime_secs {
        return Err(OAuthError::invalid_client(
            "the assertion's lifetime is too long",
        ));
    }
    if c.get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf > now + 60)
        || c.get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > now + 60)
    {
        return Err(OAuthError::invalid_client("the assertion is not valid yet"));
    }
    let jti = s("jti")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| OAuthError::invalid_client("the assertion has no jti"))?;
    let inserted = diesel::insert_into(client_assertions::table)
        .values((
            client_assertions::jti_hash.eq(sha256_hex(&format!("{}:{jti}", client.client_id))),
            client_assertions::client_id.eq(&client.client_id),
            client_assertions::expires_at.eq(exp),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => {
            tracing::warn!(target: "audit", event = "client_assertion_replayed", client_id = %client.client_id, "a client assertion jti was replayed");
            Err(OAuthError::invalid_client(
                "the assertion has already been used (jti replay)",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jws::JwsHeader;

    /// A client's JWKS whose one RSA key has a `kid`, and an assertion
    /// signed with it carrying `kid` (or not).
    fn signed(kid: Option<&str>) -> (String, String) {
        let pair = RS256.generate_key_pair(2048).unwrap();
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id("k1");
        jwk.set_key_use("sig");
        let jwks = serde_json::json!({ "keys": [jwk.as_ref()] }).to_string();
        let signer = RS256.signer_from_der(pair.to_der_private_key()).unwrap();
        let mut header = JwsHeader::new();
        if let Some(k) = kid {
            header.set_key_id(k);
        }
        let jws = josekit::jws::serialize_compact(br#"{"sub":"c"}"#, &header, &signer).unwrap();
        (jws, jwks)
    }

    /// Found by the client_assertion fuzz target: without a `kid` header
    /// no key with a `kid` ever verified, though every key is meant to be
    /// tried (docs/integrating.md).
    #[test]
    fn an_assertion_without_kid_is_tried_against_every_key() {
        let (jws, jwks) = signed(None);
        let claims = verify_assertion(&jws, &jwks).expect("verified without kid");
        assert_eq!(claims["sub"], "c");
        let (jws, jwks) = signed(Some("k1"));
        assert!(verify_assertion(&jws, &jwks).is_some());
        let (jws, jwks) = signed(Some("other"));
        assert!(verify_assertion(&jws, &jwks).is_none());
        // Another key's signature fails with or without kid.
        let (jws, _) = signed(None);
        let (_, other_jwks) = signed(None);
        assert!(verify_assertion(&jws, &other_jwks).is_none());
    }

    #[test]
    fn an_eddsa_assertion_verifies() {
        use josekit::jwk::alg::ed::EdCurve;
        let pair = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id("ed");
        let jwks = serde_json::json!({ "keys": [jwk.as_ref()] }).to_string();
        let signer = EdDSA.signer_from_der(pair.to_der_private_key()).unwrap();
        let mut header = JwsHeader::new();
        header.set_key_id("ed");
        let jws = josekit::jws::serialize_compact(br#"{"sub":"c"}"#, &header, &signer).unwrap();
        assert_eq!(verify_assertion(&jws, &jwks).expect("EdDSA")["sub"], "c");
        let other = EdDSA.generate_key_pair(EdCurve::Ed25519).unwrap();
        let mut other_jwk = other.to_jwk_public_key();
        other_jwk.set_key_id("ed");
        let other_jwks = serde_json::json!({ "keys": [other_jwk.as_ref()] }).to_string();
        assert!(verify_assertion(&jws, &other_jwks).is_none());
    }
}
