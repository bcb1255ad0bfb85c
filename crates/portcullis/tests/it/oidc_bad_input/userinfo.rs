//! `/userinfo`: missing, garbage, unsigned and foreign tokens, tokens in
//! the wrong place, malformed requests.

use super::*;

#[actix_web::test]
async fn userinfo_without_a_token_answers_401_with_a_bare_bearer_challenge() {
    let srv = TestServer::start().await;
    let replies = vec![
        ("GET", get(&srv, "/userinfo").await),
        (
            "POST, empty form",
            Req::form("").post(&srv, "/userinfo").await,
        ),
        (
            "POST, empty access_token",
            Req::form("access_token=").post(&srv, "/userinfo").await,
        ),
        (
            "POST, no body",
            Req::untyped("").post(&srv, "/userinfo").await,
        ),
    ];
    for (case, r) in replies {
        assert_eq!(r.status, 401, "{case}: {}", r.body);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm="),
            "{case}: challenge {challenge:?}"
        );
        // RFC 6750 §3.1: no error code when the request had no token.
        assert!(
            !challenge.contains("error="),
            "{case}: a bare challenge, got {challenge:?}"
        );
    }
}

#[actix_web::test]
async fn userinfo_answers_invalid_token_for_garbage_unsigned_and_foreign_tokens() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let user = srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let sub = user.user.id.clone();
    let kid = srv.ctx.keys.active_kid();
    let claims = at_claims(&srv, &client.client_id, &sub);
    let forger = Forger::new();
    let mut expired = claims.clone();
    expired["exp"] = json!(srv.ctx.now() - 10);
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://evil.example.com");
    let tokens: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        ("three dots", "...".into()),
        (
            "alg none",
            unsigned_jwt(json!({"alg": "none", "typ": "at+jwt"}), claims.clone()),
        ),
        (
            "alg none with our kid",
            unsigned_jwt(
                json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "a foreign RSA key under our kid",
            forger.sign("at+jwt", Some(&kid), &claims),
        ),
        (
            "a foreign RSA key, its own kid",
            forger.sign("at+jwt", Some("evil"), &claims),
        ),
        (
            "a foreign RSA key, no kid",
            forger.sign("at+jwt", None, &claims),
        ),
        ("HS256 under our kid", hs256_jwt("at+jwt", &kid, &claims)),
        ("8000 bytes", "A".repeat(8000)),
        // Signed by this server but not genuine access tokens.
        (
            "our key, an unknown jti",
            srv.ctx.keys.sign(Some("at+jwt"), &claims).unwrap(),
        ),
        (
            "our key, expired",
            srv.ctx.keys.sign(Some("at+jwt"), &expired).unwrap(),
        ),
        (
            "our key, another issuer",
            srv.ctx.keys.sign(Some("at+jwt"), &other_issuer).unwrap(),
        ),
        (
            "our key, an ID token type",
            srv.ctx.keys.sign(Some("JWT"), &claims).unwrap(),
        ),
    ];
    for (case, token) in &tokens {
        let r = Reply::from(
            http()
                .get(srv.at("/userinfo"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_bearer_error(&format!("header: {case}"), &r, 401, "invalid_token");
        let r = Req::form(encode(&[("access_token", token)]))
            .post(&srv, "/userinfo")
            .await;
        assert_bearer_error(&format!("form body: {case}"), &r, 401, "invalid_token");
    }
}

#[actix_web::test]
async fn userinfo_refuses_tokens_in_the_query_sent_twice_or_in_a_malformed_request() {
    let srv = TestServer::start().await;
    let limit = srv.ctx.config.max_body_bytes;
    let oversized = format!("access_token={}", "a".repeat(limit));
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "access_token in the query (GET)",
            http().get(srv.at("/userinfo?access_token=abc")),
        ),
        (
            "access_token in the query with a header token",
            http()
                .get(srv.at("/userinfo?x=1&access_token=abc"))
                .bearer_auth("abc"),
        ),
        (
            "access_token in the query (POST)",
            http()
                .post(srv.at("/userinfo?access_token=abc"))
                .header("content-type", FORM)
                .body(""),
        ),
        (
            "header and form body",
            http()
                .post(srv.at("/userinfo"))
                .bearer_auth("abc")
                .header("content-type", FORM)
                .body("access_token=abc"),
        ),
        (
            "access_token twice in the body",
            http()
                .post(srv.at("/userinfo"))
                .header("content-type", FORM)
                .body("access_token=abc&access_token=def"),
        ),
        (
            "body over max_body_bytes",
            http()
                .post(srv.at("/userinfo"))
                .header("content-type", FORM)
                .body(oversized),
        ),
        (
            "invalid UTF-8 body",
            http()
                .post(srv.at("/userinfo"))
                .header("content-type", FORM)
                .body(b"access_token=%FF%FE".to_vec()),
        ),
        (
            "Bearer with no token",
            http()
                .get(srv.at("/userinfo"))
                .header("authorization", "Bearer "),
        ),
        (
            "Authorization header that is not visible ASCII",
            http().get(srv.at("/userinfo")).header(
                "authorization",
                reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            ),
        ),
    ];
    for (case, req) in cases {
        let r = Reply::from(req.send().await.unwrap()).await;
        assert_bearer_error(case, &r, 400, "invalid_request");
    }
}

#[actix_web::test]
async fn real_tokens_used_in_the_wrong_place_are_refused() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let tokens = real_tokens(&srv, &client).await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let id = tokens["id_token"].as_str().unwrap();
    let userinfo = |t: &str| {
        let req = http().get(srv.at("/userinfo")).bearer_auth(t);
        async move { Reply::from(req.send().await.unwrap()).await }
    };

    // The control: the access token itself works.
    let r = userinfo(at).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = userinfo(rt).await;
    assert_bearer_error(
        "a refresh token as an access token",
        &r,
        401,
        "invalid_token",
    );
    let r = userinfo(id).await;
    assert_bearer_error("an ID token as an access token", &r, 401, "invalid_token");

    // An access token or ID token is not a refresh token.
    let auth = basic_for(&client);
    for (case, t) in [("access token", at), ("ID token", id)] {
        let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", t)]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(
            &format!("{case} as a refresh token"),
            &r,
            400,
            "invalid_grant",
        );
    }
    // Nor is anything a code.
    for (case, t) in [
        ("access token", at),
        ("refresh token", rt),
        ("ID token", id),
    ] {
        let body = encode(&[
            ("grant_type", "authorization_code"),
            ("code", t),
            ("redirect_uri", CALLBACK),
        ]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(&format!("{case} as a code"), &r, 400, "invalid_grant");
    }

    // Another client's refresh token.
    let other = srv.web_client().await;
    let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    let r = Req::form(body)
        .auth(&basic_for(&other))
        .post(&srv, "/token")
        .await;
    assert_oauth_error("another client's refresh token", &r, 400, "invalid_grant");

    // An access or refresh token is not an id_token_hint.
    for (case, t) in [("access token", at), ("refresh token", rt)] {
        let q = encode(&[
            ("id_token_hint", t),
            ("client_id", &client.client_id),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "st"),
        ]);
        let r = get(&srv, &format!("/end_session?{q}")).await;
        assert_error_page(&format!("end_session: {case} as id_token_hint"), &r, 400);
    }

    // The refresh token still works after all that (none of it touched it).
    let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // An expired access token.
    srv.clock
        .advance(srv.ctx.config.tokens.access_token_lifetime_secs + 1);
    let r = userinfo(at).await;
    assert_bearer_error("an expired access token", &r, 401, "invalid_token");
}

// ----------------------------------------------------------- /introspect
