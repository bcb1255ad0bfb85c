//! `/end_session` hints, NUL bytes in identifiers, wrong HTTP methods.

use super::*;

#[actix_web::test]
async fn end_session_refuses_garbage_and_unsigned_id_token_hints_without_redirecting() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.clone();
    let user = srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let kid = srv.ctx.keys.active_kid();
    let claims = id_claims(&srv, &id, &user.user.id);
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://evil.example.com");
    let hints: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        ("two dots", "..".into()),
        (
            "alg none",
            unsigned_jwt(json!({"alg": "none", "typ": "JWT"}), claims.clone()),
        ),
        (
            "alg none with our kid",
            unsigned_jwt(
                json!({"alg": "none", "typ": "JWT", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "a foreign RSA key under our kid",
            Forger::new().sign("JWT", Some(&kid), &claims),
        ),
        ("HS256 under our kid", hs256_jwt("JWT", &kid, &claims)),
        (
            "our key, another issuer",
            srv.ctx.keys.sign(Some("JWT"), &other_issuer).unwrap(),
        ),
        ("8000 bytes", "A".repeat(8000)),
    ];
    for (case, hint) in &hints {
        let with_client = encode(&[
            ("id_token_hint", hint),
            ("client_id", &id),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "st"),
        ]);
        let r = get(&srv, &format!("/end_session?{with_client}")).await;
        assert_error_page(&format!("GET: {case}"), &r, 400);
        let bare = encode(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", SIGNED_OUT),
        ]);
        let r = get(&srv, &format!("/end_session?{bare}")).await;
        assert_error_page(&format!("GET without client_id: {case}"), &r, 400);
        let r = Req::form(with_client).post(&srv, "/end_session").await;
        assert_error_page(&format!("POST: {case}"), &r, 400);
    }

    // A valid hint for another client than the client_id named.
    let genuine = srv.ctx.keys.sign(Some("JWT"), &claims).unwrap();
    let q = encode(&[
        ("id_token_hint", &genuine),
        ("client_id", "another-client"),
        ("post_logout_redirect_uri", SIGNED_OUT),
    ]);
    let r = get(&srv, &format!("/end_session?{q}")).await;
    assert_error_page("client_id does not match the hint", &r, 400);

    // Malformed requests.
    let cb = urlencode(SIGNED_OUT);
    let cases: Vec<(&str, Reply)> = vec![
        (
            "duplicated post_logout_redirect_uri",
            get(
                &srv,
                &format!(
                    "/end_session?client_id={id}&post_logout_redirect_uri={cb}&post_logout_redirect_uri={}",
                    urlencode("https://evil.example.com/")
                ),
            )
            .await,
        ),
        (
            "duplicated id_token_hint",
            get(&srv, "/end_session?id_token_hint=a&id_token_hint=b").await,
        ),
        (
            "invalid UTF-8",
            get(&srv, &format!("/end_session?client_id=%FF&post_logout_redirect_uri={cb}")).await,
        ),
        (
            "POST: JSON",
            Req::typed(
                "application/json",
                format!(r#"{{"client_id":"{id}","post_logout_redirect_uri":"{SIGNED_OUT}"}}"#),
            )
            .post(&srv, "/end_session")
            .await,
        ),
        (
            "POST: duplicated client_id",
            Req::form(format!("client_id={id}&client_id={id}&post_logout_redirect_uri={cb}"))
                .post(&srv, "/end_session")
                .await,
        ),
    ];
    for (case, r) in cases {
        assert_error_page(case, &r, 400);
    }

    // The control: the same request without a hint does go back to the
    // client (nobody is signed in here), so the refusals above are real.
    let q = encode(&[
        ("client_id", &id),
        ("post_logout_redirect_uri", SIGNED_OUT),
        ("state", "st"),
    ]);
    let r = get(&srv, &format!("/end_session?{q}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location").as_deref(),
        Some("https://app.example.com/signed-out?state=st")
    );
}

// ----------------------------------------------------------- everywhere

/// A NUL byte is valid UTF-8 but not storable in PostgreSQL text: it must
/// never reach the database (a 500). A NUL in a form parameter makes the
/// request malformed (400 invalid_request); in the Basic credentials, the
/// client fails to authenticate (401 invalid_client).
/// Every case is tried before the test reports, so one run names them all.
#[actix_web::test]
async fn nul_bytes_in_identifiers_are_refused_not_server_errors() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let secret = client.secret.clone().unwrap();
    let body = "grant_type=authorization_code&code=abc";
    let mut wrong: Vec<String> = Vec::new();
    let cases: Vec<(&str, Req, &str, u16, &str)> = vec![
        (
            "/token, client_id with NUL",
            Req::form(format!("{body}&client_id=a%00b")),
            "/token",
            400,
            "invalid_request",
        ),
        (
            "/token, Basic id with NUL",
            Req::form(body).auth(&basic("a%00b", &secret)),
            "/token",
            401,
            "invalid_client",
        ),
        (
            "/token, client_secret_post id with NUL",
            Req::form(format!("{body}&client_id=a%00b&client_secret=x")),
            "/token",
            400,
            "invalid_request",
        ),
        (
            "/introspect, Basic id with NUL",
            Req::form("token=abc").auth(&basic("a%00b", &secret)),
            "/introspect",
            401,
            "invalid_client",
        ),
        (
            "/revoke, Basic id with NUL",
            Req::form("token=abc").auth(&basic("a%00b", &secret)),
            "/revoke",
            401,
            "invalid_client",
        ),
        (
            "/token, code with NUL",
            Req::form("grant_type=authorization_code&code=a%00b").auth(&basic_for(&client)),
            "/token",
            400,
            "invalid_request",
        ),
    ];
    for (case, req, path, status, error) in cases {
        let r = req.post(&srv, path).await;
        let got = r.json()["error"].as_str().unwrap_or_default().to_string();
        if r.status != status || got != error {
            wrong.push(format!(
                "{case}: {} {} (expected {status} {error})",
                r.status, r.body
            ));
        }
    }
    let cb = urlencode(CALLBACK);
    let pages = [
        (
            "/authorize, client_id with NUL",
            format!("/authorize?response_type=code&scope=openid&client_id=a%00b&redirect_uri={cb}"),
        ),
        (
            "/end_session, client_id with NUL",
            format!(
                "/end_session?client_id=a%00b&post_logout_redirect_uri={}",
                urlencode(SIGNED_OUT)
            ),
        ),
    ];
    for (case, path) in pages {
        let r = get(&srv, &path).await;
        // /authorize: the client is unknown, so an error page; /end_session:
        // nobody is signed in and no client is known, so a page either way.
        if r.status >= 500 || r.header("location").is_some() {
            wrong.push(format!("{case}: {} {:?}", r.status, r.header("location")));
        }
    }
    assert!(
        wrong.is_empty(),
        "NUL bytes reached the database:\n{}",
        wrong.join("\n")
    );
}

/// The same through a whole flow: a NUL in `nonce` (kept with the code).
/// The request is either refused back to the client or completed; it never
/// ends on a server error page.
#[actix_web::test]
async fn a_nul_byte_in_the_nonce_does_not_break_the_flow() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let url = authorize_url(&srv, &client, &[("state", "st"), ("nonce", "a\0b")]);
    let out = srv
        .drive(&srv.client(), &url, Some((EMAIL, PASSWORD)), true)
        .await;
    match out {
        testkit::oidc::Outcome::Redirect { params, .. } => {
            assert_eq!(params.get("state").map(String::as_str), Some("st"));
            assert!(
                params.contains_key("code")
                    || params.get("error").map(String::as_str) == Some("invalid_request"),
                "{params:?}"
            );
        }
        testkit::oidc::Outcome::Page { status, body } => {
            panic!("the flow ended on a page ({status}) instead of at the client: {body}")
        }
    }
}

#[actix_web::test]
async fn wrong_http_methods_are_405_not_500() {
    let srv = TestServer::start().await;
    let c = http();
    for (method, path) in [
        (reqwest::Method::GET, "/token"),
        (reqwest::Method::PUT, "/token"),
        (reqwest::Method::GET, "/revoke"),
        (reqwest::Method::GET, "/introspect"),
        (reqwest::Method::DELETE, "/userinfo"),
        (reqwest::Method::PUT, "/authorize"),
        (reqwest::Method::DELETE, "/end_session"),
    ] {
        let r = c
            .request(method.clone(), srv.at(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
    }
}
