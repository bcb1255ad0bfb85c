//! Tokens: refresh rotation and reuse, scopes, key rotation, client
//! authentication methods, client credentials, userinfo claims, discovery.

use core_auth::clients::ClientSpec;
use serde_json::{json, Value};
use testkit::oidc::TestClient;
use testkit::TestServer;

use crate::oidc_support::*;

async fn offline_tokens(srv: &TestServer, app: &TestClient, email: &str) -> Value {
    let b = signed_in(srv, email).await;
    let (c, v) = code(srv, &b, app, &[("scope", "openid email offline_access")]).await;
    let (status, t) = exchange(srv, app, &c, &v).await;
    assert_eq!(status, 200, "{t}");
    t
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "family@example.com").await;
    let rt0 = s(&t0, "refresh_token");
    assert_eq!(jwt_header(&rt0)["typ"], "refresh+jwt");
    assert_eq!(jwt_header(&s(&t0, "access_token"))["typ"], "at+jwt");
    let (status, t1) = refresh(&srv, &app, &rt0, None).await;
    assert_eq!(status, 200, "{t1}");
    let rt1 = s(&t1, "refresh_token");
    assert_ne!(rt0, rt1);
    let at1 = s(&t1, "access_token");
    assert_eq!(userinfo_status(&srv, &at1).await, 200);
    // The rotated token again: reuse. The family dies, with its access tokens.
    let (status, e) = refresh(&srv, &app, &rt0, None).await;
    assert_eq!(status, 400);
    assert_eq!(s(&e, "error"), "invalid_grant");
    assert_eq!(
        refresh(&srv, &app, &rt1, None).await.0,
        400,
        "the newest token of the family is revoked too"
    );
    assert_eq!(userinfo_status(&srv, &at1).await, 401);
    assert_eq!(userinfo_status(&srv, &s(&t0, "access_token")).await, 401);
}

#[actix_web::test]
async fn concurrent_refresh_with_one_token_has_exactly_one_winner() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "race@example.com").await;
    let rt = s(&t0, "refresh_token");
    let attempts = (0..4).map(|_| refresh(&srv, &app, &rt, None));
    let results = futures_util::future::join_all(attempts).await;
    let winners = results.iter().filter(|(status, _)| *status == 200).count();
    let losers = results
        .iter()
        .filter(|(status, b)| *status == 400 && s(b, "error") == "invalid_grant")
        .count();
    assert_eq!(winners, 1, "{results:?}");
    assert_eq!(losers, 3, "{results:?}");
}

#[actix_web::test]
async fn a_narrower_refresh_scope_works_and_a_wider_one_fails() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "narrow@example.com").await;
    let (status, wide) = refresh(
        &srv,
        &app,
        &s(&t0, "refresh_token"),
        Some("openid email phone"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(s(&wide, "error"), "invalid_scope");
    // A refused request does not use the token up.
    let (status, narrow) = refresh(&srv, &app, &s(&t0, "refresh_token"), Some("openid")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(s(&narrow, "scope"), "openid");
    assert_eq!(jwt_claims(&s(&narrow, "access_token"))["scope"], "openid");
    // The grant keeps its original scope: the next refresh may ask for email again.
    let (status, back) = refresh(
        &srv,
        &app,
        &s(&narrow, "refresh_token"),
        Some("openid email"),
    )
    .await;
    assert_eq!(status, 200, "{back}");
}

#[actix_web::test]
async fn refresh_tokens_are_bound_to_their_client_and_expire_when_idle() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let other = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "bound@example.com").await;
    let (status, e) = refresh(&srv, &other, &s(&t0, "refresh_token"), None).await;
    assert_eq!(status, 400);
    assert_eq!(s(&e, "error"), "invalid_grant");
    srv.clock
        .advance(srv.ctx.config.tokens.refresh_token_idle_secs + 1);
    let (status, e) = refresh(&srv, &app, &s(&t0, "refresh_token"), None).await;
    assert_eq!(status, 400, "idle lifetime passed: {e}");
}

#[actix_web::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "revoke@example.com").await;
    let secret = app.secret.clone().unwrap();
    let (status, _, intro) = srv
        .post_form(
            "/introspect",
            &[("token", &s(&t0, "refresh_token"))],
            Some((&app.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(intro["active"], true);
    assert_eq!(intro["token_type"], "refresh_token");
    let (status, _, _) = srv
        .post_form(
            "/revoke",
            &[("token", &s(&t0, "refresh_token"))],
            Some((&app.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        refresh(&srv, &app, &s(&t0, "refresh_token"), None).await.0,
        400
    );
    assert_eq!(
        userinfo_status(&srv, &s(&t0, "access_token")).await,
        401,
        "its access tokens too"
    );
    let (_, _, intro) = srv
        .post_form(
            "/introspect",
            &[("token", &s(&t0, "refresh_token"))],
            Some((&app.client_id, &secret)),
        )
        .await;
    assert_eq!(intro, json!({"active": false}));
}

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
    let kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kids.len(), 2, "active and next are published: {kids:?}");
    let next_kid = kids.iter().find(|k| **k != old_kid).unwrap().clone();
    for k in jwks["keys"].as_array().unwrap() {
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["alg"], "RS256");
        assert_eq!(k["use"], "sig");
        assert!(k.get("d").is_none(), "never a private member");
        let thumb = core_auth::keys::store::rsa_thumbprint(
            k["e"].as_str().unwrap(),
            k["n"].as_str().unwrap(),
        );
        assert_eq!(k["kid"], thumb, "kid is the RFC 7638 thumbprint");
    }
    // Rotate: the key published before becomes the signing key.
    let now = srv.ctx.now();
    srv.ctx
        .run(move |ctx| -> core_auth::CoreResult<bool> {
            core_auth::keys::store::maintain(&ctx.pool, ctx.keys.kek(), &ctx.config, now, true)?;
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
        3,
        "retired, active and a new next key: {kids:?}"
    );
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&next_kid.as_str()));
    // Automatic rotation: not before the period, then yes.
    let later = now + srv.ctx.config.keys.rotation_period_secs - 10;
    let changes = srv
        .ctx
        .run(move |ctx| {
            core_auth::keys::store::maintain(&ctx.pool, ctx.keys.kek(), &ctx.config, later, false)
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
            core_auth::keys::store::maintain(&ctx.pool, ctx.keys.kek(), &ctx.config, due, false)
        })
        .await
        .unwrap();
    assert_eq!(changes.activated.len(), 1, "{changes:?}");
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
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["request_parameter_supported"], false);
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

#[actix_web::test]
async fn client_credentials_gives_the_client_a_token_for_its_own_scopes() {
    let srv = TestServer::start().await;
    let svc = srv
        .register(ClientSpec {
            name: "Service".into(),
            grant_types: vec!["client_credentials".into()],
            scopes: vec!["api:read".into(), "api:write".into()],
            auth_method: "client_secret_post".into(),
            ..ClientSpec::default()
        })
        .await;
    let secret = svc.secret.clone().unwrap();
    let (status, h, t) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &svc.client_id),
                ("client_secret", &secret),
                ("scope", "api:read"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(h["cache-control"], "no-store");
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let claims = jwt_claims(&s(&t, "access_token"));
    assert_eq!(claims["sub"], svc.client_id.as_str());
    assert_eq!(claims["client_id"], svc.client_id.as_str());
    assert_eq!(claims["scope"], "api:read");
    assert_eq!(claims["iss"], srv.url);
    for k in ["exp", "iat", "jti", "aud"] {
        assert!(claims.get(k).is_some(), "{k}");
    }
    let (status, _, e) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &svc.client_id),
                ("client_secret", &secret),
                ("scope", "admin"),
            ],
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(s(&e, "error"), "invalid_scope");
    // Introspection by the service itself.
    let (_, _, intro) = srv
        .post_form(
            "/introspect",
            &[
                ("token", &s(&t, "access_token")),
                ("client_id", &svc.client_id),
                ("client_secret", &secret),
            ],
            None,
        )
        .await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["scope"], "api:read");
    // A web client without the grant may not use it.
    let web = srv.web_client().await;
    let (status, _, e) = srv
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((&web.client_id, web.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(s(&e, "error"), "unauthorized_client");
}

fn assertion(
    signer: &josekit::jws::alg::rsassa::RsassaJwsSigner,
    kid: &str,
    claims: &Value,
) -> String {
    let mut h = josekit::jws::JwsHeader::new();
    h.set_key_id(kid);
    josekit::jws::serialize_compact(&serde_json::to_vec(claims).unwrap(), &h, signer).unwrap()
}

#[actix_web::test]
async fn every_client_authentication_method_works_and_bad_ones_are_refused() {
    let srv = TestServer::start().await;
    let basic = srv
        .register(ClientSpec {
            name: "basic".into(),
            grant_types: vec!["client_credentials".into()],
            ..ClientSpec::default()
        })
        .await;
    let post = srv
        .register(ClientSpec {
            name: "post".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "client_secret_post".into(),
            ..ClientSpec::default()
        })
        .await;
    let kp = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let mut jwk = kp.to_jwk_public_key();
    jwk.set_key_id("k1");
    let jwks = json!({ "keys": [serde_json::Value::Object(jwk.as_ref().clone())] }).to_string();
    let pkj = srv
        .register(ClientSpec {
            name: "pkj".into(),
            grant_types: vec!["client_credentials".into()],
            auth_method: "private_key_jwt".into(),
            jwks,
            ..ClientSpec::default()
        })
        .await;
    assert!(pkj.secret.is_none(), "no secret for private_key_jwt");
    let cc = [("grant_type", "client_credentials")];

    // client_secret_basic
    let (status, _, _) = srv
        .post_form(
            "/token",
            &cc,
            Some((&basic.client_id, basic.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 200);
    let (status, h, e) = srv
        .post_form("/token", &cc, Some((&basic.client_id, "wrong")))
        .await;
    assert_eq!(status, 401);
    assert_eq!(s(&e, "error"), "invalid_client");
    assert!(h["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    // A Basic client may not switch to client_secret_post.
    let (status, _, _) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &basic.client_id),
                ("client_secret", basic.secret.as_deref().unwrap()),
            ],
            None,
        )
        .await;
    assert_eq!(status, 401);

    // client_secret_post
    let (status, _, _) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &post.client_id),
                ("client_secret", post.secret.as_deref().unwrap()),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200);

    // private_key_jwt
    let signer = josekit::jws::RS256
        .signer_from_jwk(&kp.to_jwk_key_pair())
        .unwrap();
    let now = srv.ctx.now();
    let claims = |jti: &str, aud: &str| json!({"iss": pkj.client_id, "sub": pkj.client_id, "aud": aud, "exp": now + 60, "iat": now, "jti": jti});
    let send = |a: String| {
        let srv = &srv;
        async move {
            srv.post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &a),
                ],
                None,
            )
            .await
        }
    };
    let good = assertion(&signer, "k1", &claims("j1", &srv.at("/token")));
    let (status, _, t) = send(good.clone()).await;
    assert_eq!(status, 200, "{t}");
    let (status, _, e) = send(good).await;
    assert_eq!(status, 401, "a replayed jti is refused");
    assert_eq!(s(&e, "error"), "invalid_client");
    let (status, _, _) = send(assertion(&signer, "k1", &claims("j2", &srv.url))).await;
    assert_eq!(status, 200, "aud may be the issuer");
    let (status, _, _) = send(assertion(
        &signer,
        "k1",
        &claims("j3", "https://elsewhere.example.com/token"),
    ))
    .await;
    assert_eq!(status, 401, "wrong audience");
    let other = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let wrong_signer = josekit::jws::RS256
        .signer_from_jwk(&other.to_jwk_key_pair())
        .unwrap();
    let (status, _, _) = send(assertion(
        &wrong_signer,
        "k1",
        &claims("j4", &srv.at("/token")),
    ))
    .await;
    assert_eq!(status, 401, "signed by another key");
    let mut expired = claims("j5", &srv.at("/token"));
    expired["exp"] = json!(now - 1);
    let (status, _, _) = send(assertion(&signer, "k1", &expired)).await;
    assert_eq!(status, 401, "expired assertion");
    let mut long = claims("j6", &srv.at("/token"));
    long["exp"] = json!(now + 86_400);
    let (status, _, _) = send(assertion(&signer, "k1", &long)).await;
    assert_eq!(status, 401, "lifetime too long");
    use base64::Engine as _;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none"})),
        b64(&claims("j7", &srv.at("/token")))
    );
    let (status, _, _) = send(unsigned).await;
    assert_eq!(status, 401, "alg none");
}

#[actix_web::test]
async fn userinfo_releases_claims_by_scope_and_the_claims_parameter() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "claims@example.com").await;
    // Fill in a profile on the account page.
    let (_, page) = srv.get(&b, "/account/profile").await;
    let r = b
        .post(srv.at("/account/profile"))
        .form(&[
            ("csrf_token", testkit::html::csrf(&page).as_str()),
            ("name", "Claire Claims"),
            ("given_name", "Claire"),
            ("family_name", "Claims"),
            ("phone_number", "+44 20 7946 0000"),
            ("locality", "London"),
            ("country", "UK"),
            ("website", "https://claire.example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let claims_param =
        r#"{"userinfo":{"phone_number":{"essential":true}},"id_token":{"given_name":null}}"#;
    let (c, v) = code(
        &srv,
        &b,
        &app,
        &[
            ("scope", "openid profile address"),
            ("claims", claims_param),
            ("nonce", "n-1"),
        ],
    )
    .await;
    let (_, t) = exchange(&srv, &app, &c, &v).await;
    let id = jwt_claims(&s(&t, "id_token"));
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["given_name"], "Claire");
    assert_eq!(id["azp"], app.client_id.as_str());
    assert!(id["sid"].is_string() && id["amr"] == json!(["pwd"]));
    let info: Value = reqwest::Client::new()
        .get(srv.at("/userinfo"))
        .bearer_auth(s(&t, "access_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "Claire Claims");
    assert_eq!(info["family_name"], "Claims");
    assert_eq!(info["website"], "https://claire.example.com");
    assert_eq!(info["address"]["locality"], "London");
    assert_eq!(
        info["phone_number"], "+44 20 7946 0000",
        "asked for by the claims parameter"
    );
    assert!(info.get("email").is_none(), "email scope not granted");
    assert_eq!(info["acr"], "0", "the session was reused for this request");
    // POST with the token in a form body works the same.
    let via_post: Value = reqwest::Client::new()
        .post(srv.at("/userinfo"))
        .form(&[("access_token", s(&t, "access_token"))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(via_post["sub"], info["sub"]);
    // An invalid profile value is refused with the typed values kept.
    let (_, page) = srv.get(&b, "/account/profile").await;
    let r = b
        .post(srv.at("/account/profile"))
        .form(&[
            ("csrf_token", testkit::html::csrf(&page).as_str()),
            ("name", "Claire"),
            ("birthdate", "yesterday"),
            ("nickname", "cc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("birthdate-error"));
    assert_eq!(
        testkit::html::input_value(&body, "nickname").as_deref(),
        Some("cc")
    );
}

#[actix_web::test]
async fn access_tokens_carry_the_rfc_9068_claims_and_expire() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "at@example.com").await;
    let (c, v) = code(&srv, &b, &app, &[]).await;
    let (_, t) = exchange(&srv, &app, &c, &v).await;
    let at = s(&t, "access_token");
    let claims = jwt_claims(&at);
    for k in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
    ] {
        assert!(claims.get(k).is_some(), "{k} in {claims}");
    }
    assert_eq!(
        t["expires_in"],
        srv.ctx.config.tokens.access_token_lifetime_secs
    );
    assert_eq!(t["token_type"], "Bearer");
    srv.clock
        .advance(srv.ctx.config.tokens.access_token_lifetime_secs + 1);
    let r = reqwest::Client::new()
        .get(srv.at("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
}
