//! JWTs presented to us and signed by our keys: access tokens (userinfo,
//! the admin API), `id_token_hint`, refresh tokens.
//!
//! Modes (first byte):
//! - 0, raw: the rest is a token. Nobody but us can sign, so every
//!   verifier must refuse it.
//! - 1, signed: `typ` line, then the claims (any JSON), signed with the
//!   active key. Whatever a verifier accepts must have the right type,
//!   issuer and (for access tokens) expiry.
//! - 2, tampered: `typ` line, `segment` line (0, 1 or 2), replacement
//!   line, then the claims: signed, then one segment replaced. A changed
//!   header, payload or signature is always refused.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use core_auth::oidc::logout::parse_id_token_hint;
use core_auth::oidc::tokens::{verify_access_jwt, AT_TYP, RT_TYP};
use libfuzzer_sys::fuzz_target;
use portcullis_fuzz::{mode, world, Fields, ISSUER, NOW};
use serde_json::Value;

/// Runs every verifier; returns whether any accepted the token.
fn verify_all(token: &str) -> bool {
    let w = world();
    let any = w.keys.verify(token, None);
    let at = verify_access_jwt(&w.keys, &w.config, token, NOW);
    let rt = w.keys.verify(token, Some(RT_TYP));
    let hint = parse_id_token_hint(&w.keys, ISSUER, token);
    for accepted in [at.is_ok(), rt.is_ok(), hint.is_ok()] {
        assert!(
            !accepted || any.is_ok(),
            "accepted with a type but not without"
        );
    }
    let header_typ = || {
        josekit::jwt::decode_header(token).ok().and_then(|h| {
            h.claim("typ")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        })
    };
    if let Ok(c) = &at {
        let typ = header_typ();
        assert!(
            matches!(typ.as_deref(), Some("at+jwt") | Some("application/at+jwt")),
            "access token with typ {typ:?}"
        );
        assert_eq!(c.get("iss").and_then(Value::as_str), Some(ISSUER));
        assert!(c
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|e| e > NOW));
    }
    if rt.is_ok() {
        let typ = header_typ();
        assert!(
            matches!(
                typ.as_deref(),
                Some("refresh+jwt") | Some("application/refresh+jwt")
            ),
            "refresh token with typ {typ:?}"
        );
    }
    if let Ok(h) = &hint {
        let typ = header_typ();
        assert!(
            typ.is_none() || typ.as_deref() == Some("jwt"),
            "id_token_hint with typ {typ:?}"
        );
        let c = any.as_ref().expect("verified");
        assert_eq!(c.get("sub").and_then(Value::as_str), Some(h.sub.as_str()));
        assert_eq!(c.get("iss").and_then(Value::as_str), Some(ISSUER));
    }
    any.is_ok()
}

fn sign(typ: &str, claims: &[u8]) -> Option<(String, Value)> {
    let claims: Value = serde_json::from_slice(claims).ok()?;
    let typ = (!typ.is_empty()).then_some(typ);
    let token = world().keys.sign(typ, &claims).ok()?;
    Some((token, claims))
}

/// The world works: a token we sign the way the token endpoint does is
/// accepted (else every check above would hold vacuously).
fn self_check() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        let claims = serde_json::json!({"iss": ISSUER, "sub": "u", "exp": NOW + 60});
        let at = world().keys.sign(Some(AT_TYP), &claims).expect("sign");
        verify_access_jwt(&world().keys, &world().config, &at, NOW).expect("our access token");
        let id = world()
            .keys
            .sign(
                Some("JWT"),
                &serde_json::json!({"iss": ISSUER, "sub": "u", "aud": "web"}),
            )
            .expect("sign");
        parse_id_token_hint(&world().keys, ISSUER, &id).expect("our ID token");
    });
}

fuzz_target!(|data: &[u8]| {
    self_check();
    let (m, rest) = mode(data, 3);
    match m {
        0 => {
            let token = String::from_utf8_lossy(rest);
            assert!(
                !verify_all(&token),
                "a token we did not sign was accepted: {token:?}"
            );
        }
        1 => {
            let f = Fields::new(rest, 2);
            let Some((token, claims)) = sign(&f.text(0), f.bytes(1)) else {
                return;
            };
            let accepted = verify_all(&token);
            assert_eq!(accepted, claims.is_object(), "claims {claims}");
            if f.text(0).eq_ignore_ascii_case(AT_TYP) && accepted {
                let exp = claims.get("exp").and_then(Value::as_i64);
                let iss = claims.get("iss").and_then(Value::as_str);
                let ok = verify_access_jwt(&world().keys, &world().config, &token, NOW).is_ok();
                assert_eq!(ok, iss == Some(ISSUER) && exp.is_some_and(|e| e > NOW));
            }
        }
        _ => {
            let f = Fields::new(rest, 4);
            let Some((token, _)) = sign(&f.text(0), f.bytes(3)) else {
                return;
            };
            let segment = f.bytes(1).first().map_or(0, |b| usize::from(*b % 3));
            let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
            let original = URL_SAFE_NO_PAD
                .decode(&parts[segment])
                .expect("our own base64");
            let replacement = f.bytes(2);
            if replacement == original.as_slice() {
                return;
            }
            parts[segment] = URL_SAFE_NO_PAD.encode(replacement);
            let forged = parts.join(".");
            assert!(
                !verify_all(&forged),
                "a changed token was accepted: {forged}"
            );
        }
    }
});
