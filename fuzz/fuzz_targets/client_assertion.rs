//! Client assertions (`private_key_jwt`, RFC 7523) at the token endpoint:
//! `core_auth::oidc::client_auth::authenticate` against a client whose
//! JWKS holds an RSA and an EC key.
//!
//! Modes (first byte):
//! - 0, raw: the rest is an assertion; none can be valid (the fuzzer has
//!   no private key), so it is always refused.
//! - 1, signed: a line `ALG KID` (KID `-`: no kid), then the claims
//!   (JSON), signed with the client's key for ALG. Accepted only with the
//!   right iss, sub, aud, exp, nbf, iat and a jti.
//! - 2, replayed: as 1, presented twice; the second is always refused.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use core_auth::clients::{AuthMethod, Client, ClientSpec};
use core_auth::oidc::client_auth::{authenticate, Presented, ASSERTION_ALGS};
use josekit::jws::{JwsHeader, JwsSigner, ES256, PS256, PS384, PS512, RS256, RS384, RS512};
use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{mode, world, Fields, ISSUER, NOW};
use serde_json::Value;

const CLIENT_ID: &str = "jwt-client";

struct Keys {
    rsa_der: Vec<u8>,
    ec_der: Vec<u8>,
    client: Client,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = RS256.generate_key_pair(2048).expect("RSA key");
        let ec = ES256.generate_key_pair().expect("EC key");
        let jwk = |mut j: josekit::jwk::Jwk, kid: &str| {
            j.set_key_id(kid);
            j.set_key_use("sig");
            let mut m = j.as_ref().clone();
            m.remove("alg");
            Value::Object(m)
        };
        let jwks = serde_json::json!({ "keys": [
            jwk(rsa.to_jwk_public_key(), "rsa-1"),
            jwk(ec.to_jwk_public_key(), "ec-1"),
        ]});
        let client = portcullis_fuzz::register(
            CLIENT_ID,
            &ClientSpec {
                name: CLIENT_ID.into(),
                auth_method: "private_key_jwt".into(),
                grant_types: vec!["client_credentials".into()],
                jwks: jwks.to_string(),
                ..ClientSpec::default()
            },
        );
        assert_eq!(client.auth_method, AuthMethod::PrivateKeyJwt);
        Keys {
            rsa_der: rsa.to_der_private_key(),
            ec_der: ec.to_der_private_key(),
            client,
        }
    })
}

fn signer(alg: &str) -> Option<Box<dyn JwsSigner>> {
    let k = keys();
    let s: Box<dyn JwsSigner> = match alg {
        "RS256" => Box::new(RS256.signer_from_der(&k.rsa_der).ok()?),
        "RS384" => Box::new(RS384.signer_from_der(&k.rsa_der).ok()?),
        "RS512" => Box::new(RS512.signer_from_der(&k.rsa_der).ok()?),
        "PS256" => Box::new(PS256.signer_from_der(&k.rsa_der).ok()?),
        "PS384" => Box::new(PS384.signer_from_der(&k.rsa_der).ok()?),
        "PS512" => Box::new(PS512.signer_from_der(&k.rsa_der).ok()?),
        "ES256" => Box::new(ES256.signer_from_der(&k.ec_der).ok()?),
        _ => return None,
    };
    Some(s)
}

fn present(assertion: &str) -> Result<Client, core_auth::oidc::OAuthError> {
    let w = world();
    let presented = Presented::Assertion {
        assertion: assertion.to_string(),
        client_id: None,
    };
    let _ = presented.client_id();
    let k = keys();
    let mut conn = w.pool.get().expect("connection");
    let r = authenticate(
        &mut conn,
        w.oidc(),
        Some(k.client.clone()),
        &presented,
        k.client.jwks.as_deref(),
        NOW,
    );
    if r.is_ok() {
        check_accepted(assertion);
    }
    r
}

/// What an accepted assertion must say.
fn check_accepted(assertion: &str) {
    let header = josekit::jwt::decode_header(assertion).expect("a header");
    let alg = header
        .claim("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(ASSERTION_ALGS.contains(&alg), "alg {alg}");
    let payload = assertion.split('.').nth(1).expect("a payload");
    let c: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64"))
        .expect("JSON claims");
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    assert_eq!(s("iss"), Some(CLIENT_ID));
    assert_eq!(s("sub"), Some(CLIENT_ID));
    let token_endpoint = format!("{ISSUER}/token");
    let aud_ok = |a: &str| a == ISSUER || a == token_endpoint;
    assert!(match c.get("aud") {
        Some(Value::String(a)) => aud_ok(a),
        Some(Value::Array(l)) => l.iter().filter_map(Value::as_str).any(aud_ok),
        _ => false,
    });
    let max = world().config.tokens.client_assertion_max_lifetime_secs;
    let exp = c.get("exp").and_then(Value::as_i64).expect("exp");
    assert!(exp > NOW && exp - NOW <= max, "exp {exp}");
    for k in ["nbf", "iat"] {
        if let Some(t) = c.get(k).and_then(Value::as_i64) {
            assert!(t <= NOW + 60, "{k} {t}");
        }
    }
    assert!(s("jti").is_some_and(|j| !j.is_empty()));
}

fn sign(rest: &[u8]) -> Option<String> {
    let f = Fields::new(rest, 2);
    let line = f.text(0);
    let mut words = line.split(' ');
    let alg = words.next().unwrap_or_default();
    let kid = words.next().unwrap_or("-");
    let claims: Value = serde_json::from_slice(f.bytes(1)).ok()?;
    let signer = signer(alg)?;
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    if kid != "-" {
        header.set_key_id(kid);
    }
    let payload = serde_json::to_vec(&claims).ok()?;
    josekit::jws::serialize_compact(&payload, &header, &*signer).ok()
}

/// The world works: a well-formed assertion of each key type is accepted
/// once (else every check above would hold vacuously).
fn self_check() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        for (n, line) in ["RS256 rsa-1", "ES256 ec-1", "PS256 -"].iter().enumerate() {
            let claims = serde_json::json!({
                "iss": CLIENT_ID, "sub": CLIENT_ID, "aud": format!("{ISSUER}/token"),
                "exp": NOW + 60, "jti": format!("self-check-{n}-{}", std::process::id()),
            });
            let a = sign(format!("{line}\n{claims}").as_bytes()).expect("signed");
            present(&a).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert!(present(&a).is_err(), "replayed");
        }
    });
}

fuzz_target!(|data: &[u8]| {
    self_check();
    let (m, rest) = mode(data, 3);
    match m {
        0 => {
            let assertion = String::from_utf8_lossy(rest);
            assert!(present(&assertion).is_err(), "accepted: {assertion:?}");
        }
        1 => {
            if let Some(a) = sign(rest) {
                let _ = present(&a);
            }
        }
        _ => {
            if let Some(a) = sign(rest) {
                if present(&a).is_ok() {
                    assert!(present(&a).is_err(), "an assertion was accepted twice");
                }
            }
        }
    }
});
