//! `/introspect` and `/revoke`: client authentication and garbage tokens.

use super::*;

#[actix_web::test]
async fn introspection_requires_a_confidential_client_and_answers_inactive_for_garbage() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let public = public_client(&srv).await;
    let auth = basic_for(&client);
    let kid = srv.ctx.keys.active_kid();
    let claims = at_claims(&srv, &client.client_id, "someone");
    let limit = srv.ctx.config.max_body_bytes;

    let r = Req::form("token=abc").post(&srv, "/introspect").await;
    assert_oauth_error("no client authentication", &r, 401, "invalid_client");
    let r = Req::form("token=abc")
        .auth(&basic(&client.client_id, "wrong"))
        .post(&srv, "/introspect")
        .await;
    assert_oauth_error("wrong secret", &r, 401, "invalid_client");
    let r = Req::form(format!("token=abc&client_id={}", public.client_id))
        .post(&srv, "/introspect")
        .await;
    assert_oauth_error("a public client", &r, 401, "invalid_client");

    let cases: Vec<(&str, Req)> = vec![
        ("missing token", Req::form("")),
        ("empty token", Req::form("token=")),
        ("token twice", Req::form("token=a&token=b")),
        (
            "JSON body",
            Req::typed("application/json", r#"{"token":"abc"}"#),
        ),
        ("no content type", Req::untyped("token=abc")),
        ("invalid UTF-8", Req::form("token=%FF%FE")),
        (
            "body over max_body_bytes",
            Req::form(format!("token={}", "a".repeat(limit))),
        ),
    ];
    for (case, req) in cases {
        let r = req.auth(&auth).post(&srv, "/introspect").await;
        assert_oauth_error(case, &r, 400, "invalid_request");
    }

    let forger = Forger::new();
    let tokens: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        (
            "alg none access token",
            unsigned_jwt(
                json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "alg none refresh token",
            unsigned_jwt(
                json!({"alg": "none", "typ": "refresh+jwt", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "a foreign key under our kid",
            forger.sign("at+jwt", Some(&kid), &claims),
        ),
        ("8000 bytes", "A".repeat(8000)),
    ];
    for hint in [
        None,
        Some("access_token"),
        Some("refresh_token"),
        Some("bogus_hint"),
    ] {
        for (case, token) in &tokens {
            let mut pairs = vec![("token", token.as_str())];
            if let Some(h) = hint {
                pairs.push(("token_type_hint", h));
            }
            let r = Req::form(encode(&pairs))
                .auth(&auth)
                .post(&srv, "/introspect")
                .await;
            assert_eq!(r.status, 200, "{case} (hint {hint:?}): {}", r.body);
            assert_eq!(r.json(), json!({"active": false}), "{case} (hint {hint:?})");
        }
    }
}

// --------------------------------------------------------------- /revoke

#[actix_web::test]
async fn revocation_answers_invalid_request_for_bad_requests_and_200_for_garbage_tokens() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let auth = basic_for(&client);
    let kid = srv.ctx.keys.active_kid();
    let limit = srv.ctx.config.max_body_bytes;

    let cases: Vec<(&str, Req)> = vec![
        ("missing token", Req::form("")),
        (
            "empty token",
            Req::form("token=&token_type_hint=access_token"),
        ),
        ("token twice", Req::form("token=a&token=b")),
        (
            "JSON body",
            Req::typed("application/json", r#"{"token":"abc"}"#),
        ),
        ("text/plain", Req::typed("text/plain", "token=abc")),
        ("no content type", Req::untyped("token=abc")),
        ("invalid UTF-8", Req::form(b"token=\xff\xfe".to_vec())),
        (
            "body over max_body_bytes",
            Req::form(format!("token={}", "a".repeat(limit))),
        ),
    ];
    for (case, req) in cases {
        let r = req.auth(&auth).post(&srv, "/revoke").await;
        assert_oauth_error(case, &r, 400, "invalid_request");
    }
    let r = Req::form("token=abc").post(&srv, "/revoke").await;
    assert_oauth_error("no client authentication", &r, 401, "invalid_client");
    let r = Req::form("token=abc")
        .auth(&basic(&client.client_id, "wrong"))
        .post(&srv, "/revoke")
        .await;
    assert_oauth_error("wrong secret", &r, 401, "invalid_client");

    // RFC 7009 §2.2: an invalid token is not an error.
    let now = srv.ctx.now();
    let rt_claims = json!({
        "iss": srv.url, "sub": "x", "client_id": client.client_id, "jti": "forged",
        "iat": now, "exp": now + 60,
    });
    let tokens: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        (
            "alg none refresh token",
            unsigned_jwt(
                json!({"alg": "none", "typ": "refresh+jwt", "kid": kid}),
                rt_claims.clone(),
            ),
        ),
        (
            "a foreign key under our kid",
            Forger::new().sign("refresh+jwt", Some(&kid), &rt_claims),
        ),
        ("8000 bytes", "A".repeat(8000)),
    ];
    for hint in [None, Some("refresh_token"), Some("bogus_hint")] {
        for (case, token) in &tokens {
            let mut pairs = vec![("token", token.as_str())];
            if let Some(h) = hint {
                pairs.push(("token_type_hint", h));
            }
            let r = Req::form(encode(&pairs))
                .auth(&auth)
                .post(&srv, "/revoke")
                .await;
            assert_eq!(r.status, 200, "{case} (hint {hint:?}): {}", r.body);
        }
    }
}

// ------------------------------------------------------------ /authorize
