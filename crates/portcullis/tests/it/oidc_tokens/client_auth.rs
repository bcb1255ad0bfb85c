//! Client credentials and every client authentication method.

use super::*;

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
