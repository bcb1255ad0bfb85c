//! Signing keys of every algorithm through the domain, on the backend the
//! environment selects (SQLite, or PostgreSQL with
//! `PORTCULLIS_TEST_DATABASE_URL`): each algorithm's next -> active ->
//! retired rotation on its own, an algorithm taken out of the
//! configuration wound down, and a client's tokens signed with the
//! algorithm it registered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;

use core_auth::actor::Actor;
use core_auth::admin;
use core_auth::clients::{self, ClientSpec};
use core_auth::keys::{store, Algorithm, KeyInfo, KeyRing};
use core_auth::CoreError;
use serde_json::json;
use support::oidc::{code, redeem, refresh, REDIRECT};
use support::Env;

/// The keys of `alg`, by state.
fn of(keys: &[KeyInfo], alg: Algorithm) -> HashMap<&'static str, Vec<String>> {
    let mut out: HashMap<&'static str, Vec<String>> = HashMap::new();
    for k in keys.iter().filter(|k| k.alg == alg.as_str()) {
        out.entry(k.state.as_str()).or_default().push(k.kid.clone());
    }
    out
}

fn keys(env: &Env) -> Vec<KeyInfo> {
    store::list(&mut env.conn(), &env.config).unwrap()
}

fn maintain(env: &Env, force: bool) -> store::Changes {
    store::maintain(
        &env.pool,
        env.keys.kek(),
        &env.config,
        &Actor::system(),
        env.now(),
        force,
    )
    .unwrap()
}

fn header(token: &str) -> serde_json::Value {
    let h = josekit::jwt::decode_header(token).unwrap();
    json!({
        "alg": h.claim("alg").cloned(),
        "kid": h.claim("kid").cloned(),
        "typ": h.claim("typ").cloned(),
    })
}

const NEW_ALGS: [Algorithm; 2] = [Algorithm::Es256, Algorithm::EdDsa];

#[test]
fn each_algorithm_rotates_next_active_retired_on_its_own() {
    let env = Env::new();
    assert_eq!(
        env.config.keys.algorithms,
        vec![Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa],
        "the default: a client can pick any of the three"
    );
    let before = keys(&env);
    assert_eq!(before.len(), 6, "an active and a next key each: {before:?}");
    let mut old_active = HashMap::new();
    let mut old_next = HashMap::new();
    for alg in [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
        let by = of(&before, alg);
        assert_eq!(by["active"].len(), 1, "{alg}: {by:?}");
        assert_eq!(by["next"].len(), 1, "{alg}: {by:?}");
        assert_eq!(env.keys.active_kid_of(alg).as_ref(), Some(&by["active"][0]));
        old_active.insert(alg, by["active"][0].clone());
        old_next.insert(alg, by["next"][0].clone());
    }
    assert!(of(&before, Algorithm::Ps256).is_empty(), "PS256 is opt-in");
    // The JWKS publishes every key, with its algorithm and use.
    let jwks: serde_json::Value = serde_json::from_slice(&env.keys.jwks()).unwrap();
    let published = jwks["keys"].as_array().unwrap();
    assert_eq!(published.len(), 6);
    for k in published {
        let info = before.iter().find(|i| k["kid"] == i.kid.as_str()).unwrap();
        assert_eq!(k["alg"], info.alg.as_str());
        assert_eq!(k["use"], "sig");
        assert!(k.get("d").is_none(), "never a private member");
        let expected = match info.alg.as_str() {
            "ES256" => json!({"kty": "EC", "crv": "P-256"}),
            "EdDSA" => json!({"kty": "OKP", "crv": "Ed25519"}),
            _ => json!({"kty": "RSA", "crv": null}),
        };
        assert_eq!(k["kty"], expected["kty"]);
        assert_eq!(k.get("crv").cloned().unwrap_or_default(), expected["crv"]);
    }
    // Tokens signed by today's active keys.
    let signed: Vec<(Algorithm, String)> = NEW_ALGS
        .iter()
        .map(|a| {
            (
                *a,
                env.keys.sign_as(*a, Some("JWT"), &json!({"x": 1})).unwrap(),
            )
        })
        .collect();
    for (alg, t) in &signed {
        assert_eq!(header(t)["alg"], alg.as_str());
        assert_eq!(header(t)["kid"], old_active[alg].as_str());
        assert_eq!(env.keys.verify(t, Some("JWT")).unwrap()["x"], 1);
    }

    // Not due: nothing moves.
    env.advance(env.config.keys.rotation_period_secs - 10);
    let ch = maintain(&env, false);
    assert!(ch.is_empty(), "{ch:?}");

    // Due: every algorithm rotates, each on its own keys.
    env.advance(20);
    let ch = maintain(&env, false);
    assert_eq!(ch.activated.len(), 3, "{ch:?}");
    assert_eq!(ch.retired.len(), 3, "{ch:?}");
    assert_eq!(ch.created.len(), 3, "{ch:?}");
    env.keys.reload(&mut env.conn(), env.now()).unwrap();
    let after = keys(&env);
    for alg in [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
        let by = of(&after, alg);
        assert_eq!(by["retired"], vec![old_active[&alg].clone()], "{alg}");
        assert_eq!(
            by["active"],
            vec![old_next[&alg].clone()],
            "{alg}: the pre-published key signs now"
        );
        assert_eq!(by["next"].len(), 1, "{alg}: a new next key");
        assert_eq!(env.keys.active_kid_of(alg), Some(old_next[&alg].clone()));
    }
    for (alg, t) in &signed {
        assert!(
            env.keys.verify(t, Some("JWT")).is_ok(),
            "{alg}: a token of the retired key still verifies"
        );
        let fresh = env
            .keys
            .sign_as(*alg, Some("JWT"), &json!({"x": 2}))
            .unwrap();
        assert_eq!(header(&fresh)["kid"], old_next[alg].as_str());
    }
    // Audited per algorithm.
    let rotated = env.audit("key_rotated");
    let mut algs: Vec<String> = rotated
        .iter()
        .map(|r| Env::detail(r)["alg"].as_str().unwrap().to_string())
        .collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    let created = env.audit("key_created");
    assert!(created
        .iter()
        .any(|r| Env::detail(r)["alg"] == "EdDSA" && Env::detail(r)["kid"].is_string()));

    // Rotate now (the console's, the API's and the CLI's word): all three.
    let ch = admin::keys::rotate(&env.core(), &Actor::cli(), env.now()).unwrap();
    assert_eq!(ch.activated.len(), 3, "{ch:?}");
    let by = of(&keys(&env), Algorithm::Es256);
    assert_eq!(by["retired"].len(), 2);
    assert_eq!(
        env.keys.active_kid_of(Algorithm::Es256).as_deref(),
        Some(by["active"][0].as_str()),
        "this node's ring follows at once"
    );

    // Retired keys leave once every token they signed has expired.
    env.advance(env.config.tokens.longest_lifetime() + 1);
    let ch = maintain(&env, false);
    for alg in NEW_ALGS {
        assert!(ch.deleted.contains(&old_active[&alg]), "{alg}: {ch:?}");
    }
    env.keys.reload(&mut env.conn(), env.now()).unwrap();
    for (alg, t) in &signed {
        assert!(env.keys.verify(t, Some("JWT")).is_err(), "{alg}: key gone");
    }
}

#[test]
fn an_algorithm_taken_out_of_the_configuration_is_wound_down() {
    let env = Env::with(|c| {
        c.keys.algorithms = vec![Algorithm::Rs256, Algorithm::Ps256, Algorithm::Es256];
    });
    let ps = env
        .keys
        .sign_as(Algorithm::Ps256, Some("JWT"), &json!({}))
        .unwrap();
    assert_eq!(header(&ps)["alg"], "PS256");
    assert!(env.keys.verify(&ps, None).is_ok());
    assert!(
        env.keys
            .sign_as(Algorithm::EdDsa, None, &json!({}))
            .is_err(),
        "no EdDSA keys unless configured"
    );
    let es = env
        .keys
        .sign_as(Algorithm::Es256, Some("JWT"), &json!({}))
        .unwrap();
    let es_next = of(&keys(&env), Algorithm::Es256)["next"][0].clone();

    let mut fewer = env.config.clone();
    fewer.keys.algorithms = vec![Algorithm::Rs256, Algorithm::Ps256];
    let ch = store::maintain(
        &env.pool,
        env.keys.kek(),
        &fewer,
        &Actor::system(),
        env.now(),
        false,
    )
    .unwrap();
    assert_eq!(ch.retired.len(), 1, "the ES256 active key retires: {ch:?}");
    assert_eq!(ch.deleted, vec![es_next], "its unused next key goes");
    assert!(ch.activated.is_empty() && ch.created.is_empty(), "{ch:?}");
    env.keys.reload(&mut env.conn(), env.now()).unwrap();
    let err = env
        .keys
        .sign_as(Algorithm::Es256, None, &json!({}))
        .unwrap_err();
    assert!(err.to_string().contains("keys.algorithms"), "{err}");
    assert!(
        env.keys.verify(&es, None).is_ok(),
        "what it signed verifies until it expires"
    );
    assert_eq!(
        env.keys.algorithms(),
        vec![Algorithm::Rs256, Algorithm::Ps256]
    );
    let at = env.now() + env.config.tokens.longest_lifetime() + 1;
    let ch = store::maintain(
        &env.pool,
        env.keys.kek(),
        &fewer,
        &Actor::system(),
        at,
        false,
    )
    .unwrap();
    assert_eq!(ch.deleted.len(), 1, "{ch:?}");
    assert!(of(&keys(&env), Algorithm::Es256).is_empty());
    // A ring without an RS256 key refuses to load at all.
    let mut conn = env.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("DELETE FROM signing_keys WHERE alg = 'RS256'"),
        &mut *conn,
    )
    .unwrap();
    let kek = env.keys.kek().clone();
    let err = KeyRing::load(&mut conn, kek, env.now()).unwrap_err();
    assert!(err.to_string().contains("RS256"), "{err}");
}

#[test]
fn a_client_gets_tokens_signed_with_the_algorithm_it_registered() {
    let env = Env::new();
    let user = env.user("alg@example.com", &[]);
    let spec = |alg: &str| ClientSpec {
        name: format!("{alg} app"),
        redirect_uris: vec![REDIRECT.into()],
        id_token_signed_response_alg: alg.into(),
        ..ClientSpec::default()
    };
    for alg in NEW_ALGS {
        let (c, _) =
            admin::clients::create(&env.core(), &Actor::cli(), &spec(alg.as_str()), env.now())
                .unwrap();
        assert_eq!(c.id_token_signed_response_alg, alg);
        let created = env.audit("client_created");
        assert_eq!(
            Env::detail(&created[0])["id_token_signed_response_alg"],
            alg.as_str()
        );
        let t = redeem(
            &env,
            &c,
            &code(&env, &c, &user, "openid offline_access", "s-alg"),
        )
        .unwrap();
        let kid = env.keys.active_kid_of(alg).unwrap();
        let id = t.id_token.clone().unwrap();
        let rt = t.refresh_token.clone().unwrap();
        for token in [&t.access_token, &id, &rt] {
            assert_eq!(header(token)["alg"], alg.as_str());
            assert_eq!(header(token)["kid"], kid.as_str());
        }
        let claims = env.keys.verify(&id, Some("JWT")).unwrap();
        assert_eq!(claims["at_hash"], alg.token_hash(&t.access_token));
        // A refresh signs the new tokens the same way.
        env.advance(5);
        let t2 = refresh(&env, &c, &rt).unwrap();
        assert_eq!(header(&t2.access_token)["alg"], alg.as_str());
        assert_eq!(header(&t2.refresh_token.unwrap())["alg"], alg.as_str());
    }

    // Unknown names and names without keys here are refused, with the field.
    for (asked, says) in [
        ("ES512", "Unknown signing algorithm"),
        ("es256", "Unknown signing algorithm"),
        ("none", "Unknown signing algorithm"),
        ("HS256", "Unknown signing algorithm"),
        ("PS256", "no PS256 signing keys"),
    ] {
        match admin::clients::create(&env.core(), &Actor::cli(), &spec(asked), env.now()) {
            Err(CoreError::Validation(v)) => {
                let e =
                    v.0.iter()
                        .find(|e| e.field == clients::SIGNING_ALG_FIELD)
                        .unwrap_or_else(|| panic!("{asked}: {v:?}"));
                assert!(e.message.contains(says), "{asked}: {}", e.message);
            }
            other => panic!("{asked} accepted: {other:?}"),
        }
    }
    // An update moves a client to another algorithm; the default is RS256.
    let (c, _) = admin::clients::create(&env.core(), &Actor::cli(), &spec(""), env.now()).unwrap();
    assert_eq!(c.id_token_signed_response_alg, Algorithm::Rs256);
    let mut s = admin::clients::spec_of(&c);
    s.id_token_signed_response_alg = "EdDSA".into();
    let (c, _) =
        admin::clients::update(&env.core(), &Actor::cli(), &c.client_id, &s, env.now()).unwrap();
    assert_eq!(c.id_token_signed_response_alg, Algorithm::EdDsa);
    let updated = env.audit("client_updated");
    assert_eq!(
        Env::detail(&updated[0])["changed"],
        json!(["id_token_signed_response_alg"])
    );
    s.id_token_signed_response_alg = "PS256".into();
    assert!(matches!(
        admin::clients::update(&env.core(), &Actor::cli(), &c.client_id, &s, env.now()),
        Err(CoreError::Validation(_))
    ));
    let stored = clients::find(&mut env.conn(), &c.client_id)
        .unwrap()
        .unwrap();
    assert_eq!(stored.id_token_signed_response_alg, Algorithm::EdDsa);
}
