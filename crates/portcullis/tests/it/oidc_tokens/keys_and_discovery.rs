//! Signing key rotation and the discovery document.

use super::*;

#[actix_web::test]
async fn key_rotation_publishes_the_next_key_before_use_and_old_tokens_still_verify() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "rotate@example.com").await;
    let old_kid = jwt_header(&s(&t0, "access_token"))["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let jwks: Value = reqwest::get(srv.at("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        6,
        "active and next of RS256, ES256 and EdDSA are published: {keys:?}"
    );
    let rsa_kids: Vec<String> = keys
        .iter()
        .filter(|k| k["alg"] == "RS256")
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rsa_kids.len(), 2, "{rsa_kids:?}");
    assert!(rsa_kids.contains(&old_kid), "the client's tokens are RS256");
    let next_kid = rsa_kids.iter().find(|k| **k != old_kid).unwrap().clone();
    for k in keys {
        let (kty, crv) = match k["alg"].as_str().unwrap() {
            "RS256" => ("RSA", None),
            "ES256" => ("EC", Some("P-256")),
            "EdDSA" => ("OKP", Some("Ed25519")),
            other => panic!("unexpected algorithm {other}"),
        };
        assert_eq!(k["kty"], kty);
        assert_eq!(k.get("crv").and_then(Value::as_str), crv);
        assert_eq!(k["use"], "sig");
        assert!(k.get("d").is_none(), "never a private member");
        let jwk = josekit::jwk::Jwk::from_bytes(k.to_string().as_bytes()).unwrap();
        assert_eq!(
            k["kid"],
            core_auth::keys::store::thumbprint(&jwk).unwrap(),
            "kid is the RFC 7638 thumbprint"
        );
        if kty == "RSA" {
            let thumb = core_auth::keys::store::rsa_thumbprint(
                k["e"].as_str().unwrap(),
                k["n"].as_str().unwrap(),
            );
            assert_eq!(k["kid"], thumb);
        }
    }
    // Rotate: the key published before becomes the signing key.
    let now = srv.ctx.now();
    srv.ctx
        .run(move |ctx| -> core_auth::CoreResult<bool> {
            core_auth::keys::store::maintain(
                &ctx.pool,
                ctx.keys.kek(),
                &ctx.config,
                &core_auth::actor::Actor::system(),
                now,
                true,
            )?;
            ctx.keys.reload(&mut *ctx.pool.get()?, now)
        })
        .await
        .unwrap();
    let (status, t1) = refresh(&srv, &app, &s(&t0, "refresh_token"), None).await;
    assert_eq!(
        status, 200,
        "a refresh token signed by the retired key still works: {t1}"
    );
    assert_eq!(
        jwt_header(&s(&t1, "access_token"))["kid"],
        next_kid.as_str(),
        "signed with the pre-published key"
    );
    assert_eq!(
        userinfo_status(&srv, &s(&t0, "access_token")).await,
        200,
        "old access token still verifies"
    );
    let jwks: Value = reqwest::get(srv.at("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids.len(),
        9,
        "retired, active and a new next key of each algorithm: {kids:?}"
    );
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&next_kid.as_str()));
    // Automatic rotation: not before the period, then yes.
    let later = now + srv.ctx.config.keys.rotation_period_secs - 10;
    let changes = srv
        .ctx
        .run(move |ctx| {
            core_auth::keys::store::maintain(
                &ctx.pool,
                ctx.keys.kek(),
                &ctx.config,
                &core_auth::actor::Actor::system(),
                later,
                false,
            )
        })
        .await
        .unwrap();
    assert!(changes.activated.is_empty(), "not due yet: {changes:?}");
    let due = now
        + srv.ctx.config.keys.rotation_period_secs
        + srv.ctx.config.tokens.longest_lifetime()
        + 1;
    let changes = srv
        .ctx
        .run(move |ctx| {
            core_auth::keys::store::maintain(
                &ctx.pool,
                ctx.keys.kek(),
                &ctx.config,
                &core_auth::actor::Actor::system(),
                due,
                false,
            )
        })
        .await
        .unwrap();
    assert_eq!(
        changes.activated.len(),
        3,
        "each algorithm rotates: {changes:?}"
    );
    assert!(
        changes.deleted.contains(&old_kid),
        "a key retired longer than every token lifetime leaves: {changes:?}"
    );
}

#[actix_web::test]
async fn discovery_lists_what_is_supported_and_cors_is_where_it_belongs() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let r = c
        .get(srv.at("/.well-known/openid-configuration"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], srv.url);
    assert_eq!(d["jwks_uri"], srv.at("/jwks"));
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert!(d["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("EdDSA")));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["request_parameter_supported"], true);
    assert_eq!(d["request_uri_parameter_supported"], false);
    assert_eq!(d["pushed_authorization_request_endpoint"], srv.at("/par"));
    assert_eq!(d["require_pushed_authorization_requests"], false);
    assert_eq!(d["end_session_endpoint"], srv.at("/end_session"));
    for m in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ] {
        assert!(d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(m)));
    }
    let rfc8414: Value = c
        .get(srv.at("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rfc8414["issuer"], srv.url);
    let jwks = c
        .get(srv.at("/jwks"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert!(jwks.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
    // Preflight for the token endpoint; none for /authorize.
    let pre = c
        .request(reqwest::Method::OPTIONS, srv.at("/token"))
        .header("origin", "https://spa.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(pre.headers().get("access-control-allow-origin").is_some());
    let authz = c
        .get(srv.at("/authorize"))
        .header("origin", "https://spa.example.com")
        .send()
        .await
        .unwrap();
    assert!(authz.headers().get("access-control-allow-origin").is_none());
}
