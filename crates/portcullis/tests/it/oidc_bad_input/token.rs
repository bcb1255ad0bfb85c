//! `/token`: missing, duplicated, oversized and malformed parameters, bad
//! client authentication, garbage codes, refresh tokens and assertions.

use super::*;

#[actix_web::test]
async fn token_endpoint_answers_rfc6749_errors_for_missing_duplicated_oversized_and_malformed_parameters(
) {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let auth = basic_for(&client);
    let limit = srv.ctx.config.max_body_bytes;
    let oversized = format!("grant_type=authorization_code&code={}", "a".repeat(limit));
    assert!(oversized.len() > limit);
    let mut invalid_utf8 = b"grant_type=authorization_code&code=".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    let cases: Vec<(&str, Req, u16, &str)> = vec![
        ("empty body", Req::form(""), 400, "invalid_request"),
        ("no grant_type", Req::form("code=abc"), 400, "invalid_request"),
        ("empty grant_type", Req::form("grant_type=&code=abc"), 400, "invalid_request"),
        (
            "unknown grant_type",
            Req::form("grant_type=urn%3Aexample%3Amagic"),
            400,
            "unsupported_grant_type",
        ),
        (
            "password grant_type",
            Req::form("grant_type=password&username=a&password=b"),
            400,
            "unsupported_grant_type",
        ),
        (
            "implicit-looking grant_type",
            Req::form("grant_type=token"),
            400,
            "unsupported_grant_type",
        ),
        (
            "missing code",
            Req::form(encode(&[
                ("grant_type", "authorization_code"),
                ("redirect_uri", CALLBACK),
            ])),
            400,
            "invalid_request",
        ),
        (
            "empty code",
            Req::form("grant_type=authorization_code&code="),
            400,
            "invalid_request",
        ),
        (
            "missing refresh_token",
            Req::form("grant_type=refresh_token"),
            400,
            "invalid_request",
        ),
        (
            "code twice",
            Req::form("grant_type=authorization_code&code=one&code=two"),
            400,
            "invalid_request",
        ),
        (
            "grant_type twice",
            Req::form("grant_type=authorization_code&grant_type=refresh_token&code=x"),
            400,
            "invalid_request",
        ),
        (
            "grant_type twice, same value",
            Req::form("grant_type=authorization_code&grant_type=authorization_code&code=x"),
            400,
            "invalid_request",
        ),
        (
            "body over max_body_bytes",
            Req::form(oversized),
            400,
            "invalid_request",
        ),
        (
            "JSON instead of a form",
            Req::typed(
                "application/json",
                r#"{"grant_type":"authorization_code","code":"x"}"#,
            ),
            400,
            "invalid_request",
        ),
        (
            "text/plain",
            Req::typed("text/plain", "grant_type=authorization_code&code=x"),
            400,
            "invalid_request",
        ),
        (
            "multipart",
            Req::typed(
                "multipart/form-data; boundary=XyZ",
                "--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nauthorization_code\r\n--XyZ--\r\n",
            ),
            400,
            "invalid_request",
        ),
        (
            "no content type",
            Req::untyped("grant_type=authorization_code&code=x"),
            400,
            "invalid_request",
        ),
        ("raw invalid UTF-8", Req::form(invalid_utf8), 400, "invalid_request"),
        (
            "percent-encoded invalid UTF-8",
            Req::form("grant_type=authorization_code&code=%FF%FE"),
            400,
            "invalid_request",
        ),
        (
            "invalid UTF-8 in a parameter name",
            Req::form("grant_type=authorization_code&%C3%28=x"),
            400,
            "invalid_request",
        ),
        (
            "a grant this client may not use",
            Req::form("grant_type=client_credentials"),
            400,
            "unauthorized_client",
        ),
    ];
    for (case, req, status, error) in cases {
        let r = req.auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(case, &r, status, error);
    }
}

#[actix_web::test]
async fn token_endpoint_answers_401_invalid_client_with_a_challenge_for_bad_client_authentication()
{
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.as_str();
    let secret = client.secret.clone().unwrap();
    let body = "grant_type=authorization_code&code=abc";
    let cases: Vec<(&str, Req)> = vec![
        (
            "wrong secret",
            Req::form(body).auth(&basic(id, "not-the-secret")),
        ),
        ("empty secret", Req::form(body).auth(&basic(id, ""))),
        (
            "unknown client (Basic)",
            Req::form(body).auth(&basic("no-such-client", &secret)),
        ),
        (
            "unknown client (client_id only)",
            Req::form(format!("{body}&client_id=no-such-client")),
        ),
        (
            "unknown client (client_secret_post)",
            Req::form(format!("{body}&client_id=no-such-client&client_secret=x")),
        ),
        ("no client authentication at all", Req::form(body)),
        ("Basic without credentials", Req::form(body).auth("Basic")),
        ("Basic with an empty value", Req::form(body).auth("Basic ")),
        (
            "Basic that is not base64",
            Req::form(body).auth("Basic !!!not*base64!!!"),
        ),
        (
            "Basic without a colon",
            Req::form(body).auth(&format!("Basic {}", STANDARD.encode(id))),
        ),
        (
            "Basic that decodes to invalid UTF-8",
            Req::form(body).auth(&format!("Basic {}", STANDARD.encode([0xff, b':', 0xfe]))),
        ),
        (
            "Basic with invalid percent-encoded UTF-8",
            Req::form(body).auth(&basic(id, "%FF%FE")),
        ),
        (
            "a Bearer token instead of client credentials",
            Req::form(body).auth("Bearer abc"),
        ),
        (
            "client_secret_post by a client_secret_basic client",
            Req::form(format!("{body}&client_id={id}&client_secret={secret}")),
        ),
        (
            "a confidential client presenting no secret",
            Req::form(format!("{body}&client_id={id}")),
        ),
        (
            "a garbage client assertion",
            Req::form(format!(
                "{body}&client_assertion_type={}&client_assertion=garbage",
                "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            )),
        ),
    ];
    for (case, req) in cases {
        let r = req.post(&srv, "/token").await;
        assert_oauth_error(case, &r, 401, "invalid_client");
    }

    // Malformed in a different way: two methods, or ids that disagree.
    let cases: Vec<(&str, Req)> = vec![
        (
            "Basic and client_secret at once",
            Req::form(format!("{body}&client_id={id}&client_secret={secret}"))
                .auth(&basic(id, &secret)),
        ),
        (
            "client_secret and client_assertion at once",
            Req::form(format!(
                "{body}&client_id={id}&client_secret={secret}&client_assertion=x.y.z&client_assertion_type={}",
                "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            )),
        ),
        (
            "client_id disagrees with the Basic header",
            Req::form(format!("{body}&client_id=someone-else")).auth(&basic(id, &secret)),
        ),
        (
            "client_secret without client_id",
            Req::form(format!("{body}&client_secret={secret}")),
        ),
        (
            "client_assertion without its type",
            Req::form(format!("{body}&client_assertion=x.y.z")),
        ),
        (
            "client_id twice",
            Req::form(format!("{body}&client_id={id}&client_id={id}")).auth(&basic(id, &secret)),
        ),
    ];
    for (case, req) in cases {
        let r = req.post(&srv, "/token").await;
        assert_oauth_error(case, &r, 400, "invalid_request");
    }

    // The control: the same credentials, right, get past authentication.
    let r = Req::form(body)
        .auth(&basic(id, &secret))
        .post(&srv, "/token")
        .await;
    assert_oauth_error(
        "correct credentials, garbage code",
        &r,
        400,
        "invalid_grant",
    );
}

#[actix_web::test]
async fn token_endpoint_answers_invalid_grant_for_garbage_codes_and_refresh_tokens() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let auth = basic_for(&client);
    let kid = srv.ctx.keys.active_kid();
    let forger = Forger::new();
    let now = srv.ctx.now();
    let rt_claims = json!({
        "iss": srv.url, "sub": "someone", "aud": srv.url, "client_id": client.client_id,
        "jti": "forged", "iat": now, "exp": now + 3600,
    });
    let none_rt = unsigned_jwt(
        json!({"alg": "none", "typ": "refresh+jwt"}),
        rt_claims.clone(),
    );
    let none_rt_with_kid = unsigned_jwt(
        json!({"alg": "none", "typ": "refresh+jwt", "kid": kid}),
        rt_claims.clone(),
    );
    let none_rt_no_sig = none_rt.trim_end_matches('.').to_string();
    let foreign_rt = forger.sign("refresh+jwt", Some(&kid), &rt_claims);
    let foreign_rt_unknown_kid = forger.sign("refresh+jwt", Some("not-our-key"), &rt_claims);
    let hs_rt = hs256_jwt("refresh+jwt", &kid, &rt_claims);
    let long_garbage = "A".repeat(8000);
    let refresh_tokens: Vec<(&str, &str)> = vec![
        ("garbage", "garbage"),
        ("JWT lookalike", JWT_LOOKALIKE),
        ("two dots", ".."),
        ("alg none", &none_rt),
        ("alg none with our kid", &none_rt_with_kid),
        ("alg none without the trailing dot", &none_rt_no_sig),
        ("signed by a foreign key under our kid", &foreign_rt),
        (
            "signed by a foreign key, unknown kid",
            &foreign_rt_unknown_kid,
        ),
        ("HS256 under our kid", &hs_rt),
        ("8000 bytes of garbage", &long_garbage),
        ("non-ASCII", "ñ.ñ.ñ"),
    ];
    for (case, token) in refresh_tokens {
        let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(&format!("refresh_token: {case}"), &r, 400, "invalid_grant");
    }

    let codes: Vec<(&str, &str)> = vec![
        ("garbage", "garbage"),
        ("JWT lookalike", JWT_LOOKALIKE),
        ("alg none JWT", &none_rt),
        ("8000 bytes", &long_garbage),
        ("non-ASCII", "ç%&=?"),
    ];
    for (case, code) in codes {
        let body = encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(&format!("code: {case}"), &r, 400, "invalid_grant");
    }

    // A form with a charset parameter or an odd-case media type is still a
    // form: the strictness is about the media type, not its spelling.
    for ct in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        let r = Req::typed(ct, "grant_type=authorization_code&code=garbage")
            .auth(&auth)
            .post(&srv, "/token")
            .await;
        assert_oauth_error(ct, &r, 400, "invalid_grant");
    }
}

#[actix_web::test]
async fn garbage_and_unsigned_client_assertions_are_invalid_client() {
    let srv = TestServer::start().await;
    let owner = Forger::new();
    let client = srv
        .register(ClientSpec {
            name: "JWT App".into(),
            redirect_uris: vec![CALLBACK.into()],
            auth_method: "private_key_jwt".into(),
            jwks: owner.jwks("client-key"),
            ..ClientSpec::default()
        })
        .await;
    let id = client.client_id.as_str();
    let now = srv.ctx.now();
    let claims = json!({
        "iss": id, "sub": id, "aud": srv.at("/token"), "jti": "j1", "iat": now, "exp": now + 60,
    });
    let none = unsigned_jwt(json!({"alg": "none", "kid": "client-key"}), claims.clone());
    let foreign = Forger::new().sign("JWT", Some("client-key"), &claims);
    let hs = hs256_jwt("JWT", "client-key", &claims);
    let no_sub = unsigned_jwt(json!({"alg": "none"}), json!({"iss": id}));
    let assertions: Vec<(&str, &str)> = vec![
        ("garbage", "garbage"),
        ("JWT lookalike", JWT_LOOKALIKE),
        ("alg none", &none),
        ("signed by another key under the client's kid", &foreign),
        ("HS256", &hs),
        ("no sub", &no_sub),
    ];
    let ty = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    for (case, assertion) in assertions {
        let body = encode(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", id),
            ("client_assertion_type", ty),
            ("client_assertion", assertion),
        ]);
        let r = Req::form(body).post(&srv, "/token").await;
        assert_oauth_error(case, &r, 401, "invalid_client");
    }
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_assertion_type", "urn:example:not-jwt-bearer"),
        ("client_assertion", &none),
    ]);
    let r = Req::form(body).post(&srv, "/token").await;
    assert_oauth_error("wrong client_assertion_type", &r, 400, "invalid_request");

    // The control: a properly signed assertion gets past authentication.
    let good = owner.sign("JWT", Some("client-key"), &claims);
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_assertion_type", ty),
        ("client_assertion", &good),
    ]);
    let r = Req::form(body).post(&srv, "/token").await;
    assert_oauth_error("a good assertion, garbage code", &r, 400, "invalid_grant");
}

// ------------------------------------------------------------- /userinfo
