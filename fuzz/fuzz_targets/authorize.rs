//! Authorization requests: the query string as `/authorize` reads it
//! (`protocol::params`), then `core_auth::oidc::authorize::resolve_redirect`
//! and `validate` (redirect URI, response type and mode, scope, PKCE,
//! prompt, max_age, `claims`, `id_token_hint`'s audience).
//!
//! `client_id=web` is a confidential client, `spa` a public one (PKCE);
//! `id_token_hint=aud:<a>,<b>` stands for a verified hint with those
//! audiences, any other value for one that did not verify.
//!
//! Checks: errors go only to a registered redirect URI; what is accepted
//! is consistent (scopes allowed, PKCE for public clients, claims valid
//! JSON, state printable) and survives the session's JSON round trip.
#![no_main]

use core_auth::oidc::authorize::{resolve_redirect, validate, AuthzError, AuthzRequest, HintCheck};
use core_auth::oidc::claims::parse_claims_request;
use core_auth::oidc::scopes::{ScopeSet, STANDARD};
use libfuzzer_sys::fuzz_target;
use oidc_endpoints::protocol::params::from_query_allowing_nul;
use portcullis_fuzz::{spa_client, web_client, NOW};

/// The world works: a plain request is accepted.
fn self_check() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        let q = "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=openid";
        let p = from_query_allowing_nul(q).expect("query");
        validate(&p, web_client(), None, NOW).expect("a plain request");
    });
}

fuzz_target!(|data: &[u8]| {
    self_check();
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = from_query_allowing_nul(query) else {
        return;
    };
    let c = match p.get("client_id").map(String::as_str) {
        Some("web") => Some(web_client()),
        Some("spa") => Some(spa_client()),
        _ => None,
    };
    let resolved = resolve_redirect(&p, c);
    let Some(c) = c else {
        assert!(matches!(resolved, Err(AuthzError::Page(_))));
        return;
    };
    if let Ok((uri, given)) = &resolved {
        assert!(
            c.match_redirect_uri(uri).is_some() || (!given && c.redirect_uris == [uri.clone()])
        );
    }
    let hint =
        p.get("id_token_hint")
            .filter(|h| !h.is_empty())
            .map(|h| match h.strip_prefix("aud:") {
                Some(auds) => Ok(HintCheck {
                    sub: "user-1".into(),
                    audiences: auds.split(',').map(str::to_string).collect(),
                }),
                None => Err("the signature is invalid".to_string()),
            });
    match validate(&p, c, hint, NOW) {
        Ok(r) => check_request(&p, c, &r),
        Err(AuthzError::Redirect {
            redirect_uri,
            state,
            ..
        }) => {
            assert!(resolved.as_ref().is_ok_and(|(u, _)| *u == redirect_uri));
            assert!(
                c.match_redirect_uri(&redirect_uri).is_some()
                    || c.redirect_uris == [redirect_uri.clone()],
                "an error sent to {redirect_uri:?}"
            );
            assert!(state.is_none_or(|s| !s.chars().any(char::is_control)));
        }
        Err(AuthzError::Page(_)) => assert!(resolved.is_err()),
    }
});

fn check_request(
    p: &std::collections::HashMap<String, String>,
    c: &core_auth::clients::Client,
    r: &AuthzRequest,
) {
    assert_eq!(r.client_id, c.client_id);
    assert!(p
        .iter()
        .all(|(k, v)| !k.contains('\0') && !v.contains('\0')));
    assert!(!r.scope.is_empty());
    for s in r.scope.iter() {
        assert!(
            STANDARD.contains(&s) || c.scopes.iter().any(|x| x == s),
            "scope {s}"
        );
        assert!(ScopeSet::is_well_formed(s) && !s.contains(' '));
    }
    if c.is_public() {
        assert!(r.code_challenge.is_some(), "a public client without PKCE");
    }
    if let Some(ch) = &r.code_challenge {
        assert!((43..=128).contains(&ch.len()));
    }
    if let Some(claims) = &r.claims {
        assert!(parse_claims_request(claims).is_ok(), "claims {claims}");
    }
    assert!(r
        .state
        .as_ref()
        .is_none_or(|s| !s.chars().any(char::is_control)));
    assert!(!(r.prompt.none && (r.prompt.login || r.prompt.consent)));
    assert!(r.max_age.is_none_or(|m| m >= 0));
    if r.hint_sub.is_some() {
        let h = p.get("id_token_hint").expect("a hint");
        let auds = h.strip_prefix("aud:").expect("a verified hint");
        assert!(auds.split(',').any(|a| a == c.client_id));
    }
    // The request waits in the session as JSON.
    let json = serde_json::to_string(r).expect("serializes");
    let back: AuthzRequest = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(&back, r);
}
