//! `/authorize`: an error page when the client or redirect URI is in
//! doubt, errors sent to a trusted redirect URI with `state` and `iss`.

use super::*;

#[actix_web::test]
async fn authorize_shows_an_error_page_and_never_redirects_when_the_client_or_redirect_uri_is_in_doubt(
) {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.as_str();
    let cb = urlencode(CALLBACK);
    let common = "response_type=code&scope=openid&state=st";
    // Under the 64 KiB an HTTP client library will put in a URL.
    let big = "x".repeat(60 * 1024);
    let long_id = "c".repeat(5000);
    let queries: Vec<(&str, String)> = vec![
        ("no parameters", String::new()),
        ("missing client_id", format!("{common}&redirect_uri={cb}")),
        (
            "empty client_id",
            format!("{common}&client_id=&redirect_uri={cb}"),
        ),
        (
            "unknown client_id",
            format!("{common}&client_id=no-such-client&redirect_uri={cb}"),
        ),
        (
            "duplicated client_id",
            format!("{common}&client_id={id}&client_id={id}&redirect_uri={cb}"),
        ),
        (
            "duplicated client_id, one unknown",
            format!("{common}&client_id={id}&client_id=evil&redirect_uri={cb}"),
        ),
        (
            "duplicated redirect_uri",
            format!(
                "{common}&client_id={id}&redirect_uri={cb}&redirect_uri={}",
                urlencode("https://evil.example.com/cb")
            ),
        ),
        (
            "an unregistered redirect_uri",
            format!(
                "{common}&client_id={id}&redirect_uri={}",
                urlencode("https://evil.example.com/callback")
            ),
        ),
        (
            "a registered redirect_uri with a path suffix",
            format!("{common}&client_id={id}&redirect_uri={cb}%2F..%2Fevil"),
        ),
        (
            "a redirect_uri that is not a URL",
            format!("{common}&client_id={id}&redirect_uri=not%20a%20url"),
        ),
        (
            "invalid UTF-8 in client_id",
            format!("{common}&client_id=%FF%FE&redirect_uri={cb}"),
        ),
        (
            "invalid UTF-8 in another parameter",
            format!("response_type=code&scope=%C3%28&client_id={id}&redirect_uri={cb}"),
        ),
        (
            "an oversized client_id",
            format!("{common}&client_id={long_id}&redirect_uri={cb}"),
        ),
        (
            "an oversized query without a client",
            format!("{common}&junk={big}&redirect_uri={cb}"),
        ),
    ];
    for (case, q) in queries {
        let r = get(&srv, &format!("/authorize?{q}")).await;
        assert_error_page(case, &r, 400);
    }

    // The same by POST, plus the wrong content types.
    let posts: Vec<(&str, Req)> = vec![
        (
            "POST: unknown client_id",
            Req::form(format!("{common}&client_id=nope&redirect_uri={cb}")),
        ),
        (
            "POST: duplicated client_id",
            Req::form(format!(
                "{common}&client_id={id}&client_id={id}&redirect_uri={cb}"
            )),
        ),
        (
            "POST: JSON",
            Req::typed(
                "application/json",
                format!(
                    r#"{{"client_id":"{id}","response_type":"code","redirect_uri":"{CALLBACK}"}}"#
                ),
            ),
        ),
        (
            "POST: no content type",
            Req::untyped(format!("{common}&client_id={id}&redirect_uri={cb}")),
        ),
        (
            "POST: invalid UTF-8",
            Req::form(format!(
                "{common}&client_id={id}&redirect_uri={cb}&state=%FF"
            )),
        ),
    ];
    for (case, req) in posts {
        let r = req.post(&srv, "/authorize").await;
        assert_error_page(case, &r, 400);
    }
    let limit = srv.ctx.config.max_body_bytes;
    let r = Req::form(format!(
        "{common}&client_id={id}&redirect_uri={cb}&nonce={}",
        "n".repeat(limit)
    ))
    .post(&srv, "/authorize")
    .await;
    assert_error_page("POST: body over max_body_bytes", &r, 400);

    // A request head beyond what the HTTP server reads at all: refused
    // before the application sees it (431), and still no redirect.
    let q = format!(
        "{common}&client_id={id}&redirect_uri={cb}&nonce={}",
        "n".repeat(140 * 1024)
    );
    let (status, head) = raw_get(&srv, &format!("/authorize?{q}")).await;
    assert_eq!(status, 431, "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("\r\nlocation:"),
        "never a redirect: {head}"
    );
}

#[actix_web::test]
async fn authorize_sends_errors_for_a_trusted_client_to_its_redirect_uri_with_state_and_iss() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.clone();
    let user = srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let kid = srv.ctx.keys.active_kid();
    let claims = id_claims(&srv, &id, &user.user.id);
    let forger = Forger::new();
    let none_hint = unsigned_jwt(
        json!({"alg": "none", "typ": "JWT", "kid": kid}),
        claims.clone(),
    );
    let foreign_hint = forger.sign("JWT", Some(&kid), &claims);
    let hs_hint = hs256_jwt("JWT", &kid, &claims);
    let mut other_aud = claims.clone();
    other_aud["aud"] = json!("another-client");
    let other_aud_hint = srv.ctx.keys.sign(Some("JWT"), &other_aud).unwrap();
    let big = "n".repeat(5000);
    let (_, challenge) = pkce();
    let state = "xyz-state";
    // Each case: extra parameters over a valid base (client_id,
    // redirect_uri, state), whether to add response_type=code, the error.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing response_type",
            vec![("scope", "openid")],
            false,
            "invalid_request",
        ),
        (
            "empty response_type",
            vec![("scope", "openid"), ("response_type", "")],
            false,
            "invalid_request",
        ),
        (
            "response_type=token",
            vec![("scope", "openid"), ("response_type", "token")],
            false,
            "unsupported_response_type",
        ),
        (
            "response_type=id_token token",
            vec![("scope", "openid"), ("response_type", "id_token token")],
            false,
            "unsupported_response_type",
        ),
        (
            "scope with a quote",
            vec![("scope", "openid \"x\"")],
            true,
            "invalid_scope",
        ),
        (
            "scope with a backslash",
            vec![("scope", "openid\\")],
            true,
            "invalid_scope",
        ),
        (
            "scope with a control character",
            vec![("scope", "openid\u{7}")],
            true,
            "invalid_scope",
        ),
        (
            "scope with non-ASCII",
            vec![("scope", "openid é")],
            true,
            "invalid_scope",
        ),
        ("no scope at all", vec![], true, "invalid_scope"),
        (
            "garbage id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", "garbage")],
            true,
            "invalid_request",
        ),
        (
            "JWT-lookalike id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", JWT_LOOKALIKE)],
            true,
            "invalid_request",
        ),
        (
            "alg none id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", &none_hint)],
            true,
            "invalid_request",
        ),
        (
            "id_token_hint signed by a foreign key under our kid",
            vec![("scope", "openid"), ("id_token_hint", &foreign_hint)],
            true,
            "invalid_request",
        ),
        (
            "HS256 id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", &hs_hint)],
            true,
            "invalid_request",
        ),
        (
            "id_token_hint issued to another client",
            vec![("scope", "openid"), ("id_token_hint", &other_aud_hint)],
            true,
            "invalid_request",
        ),
        (
            // Request objects are supported (RFC 9101); this client has no
            // keys to sign one with.
            "request object",
            vec![("scope", "openid"), ("request", JWT_LOOKALIKE)],
            true,
            "invalid_request_object",
        ),
        (
            // By reference: not supported (only PAR's own request_uri).
            "request_uri",
            vec![
                ("scope", "openid"),
                ("request_uri", "https://app.example.com/req.jwt"),
            ],
            true,
            "request_uri_not_supported",
        ),
        (
            "an oversized parameter",
            vec![("scope", "openid"), ("nonce", &big)],
            true,
            "invalid_request",
        ),
        (
            "unknown response_mode",
            vec![("scope", "openid"), ("response_mode", "fragment")],
            true,
            "invalid_request",
        ),
        (
            "PKCE plain",
            vec![
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            true,
            "invalid_request",
        ),
        (
            "a malformed code_challenge",
            vec![
                ("scope", "openid"),
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            true,
            "invalid_request",
        ),
        (
            "code_challenge_method alone",
            vec![("scope", "openid"), ("code_challenge_method", "S256")],
            true,
            "invalid_request",
        ),
        (
            "unknown prompt",
            vec![("scope", "openid"), ("prompt", "dance")],
            true,
            "invalid_request",
        ),
        (
            "prompt=none with login",
            vec![("scope", "openid"), ("prompt", "none login")],
            true,
            "invalid_request",
        ),
        (
            "negative max_age",
            vec![("scope", "openid"), ("max_age", "-1")],
            true,
            "invalid_request",
        ),
        (
            "non-numeric max_age",
            vec![("scope", "openid"), ("max_age", "soon")],
            true,
            "invalid_request",
        ),
        (
            "claims that are not JSON",
            vec![("scope", "openid"), ("claims", "{not json")],
            true,
            "invalid_request",
        ),
    ];
    for (case, extra, with_type, error) in cases {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("client_id", &id),
            ("redirect_uri", CALLBACK),
            ("state", state),
        ];
        if with_type {
            pairs.push(("response_type", "code"));
        }
        pairs.extend(extra.iter().copied());
        let r = get(&srv, &format!("/authorize?{}", encode(&pairs))).await;
        assert_error_redirect(&srv, case, &r, error, state);
        // And by POST.
        let r = Req::form(encode(&pairs)).post(&srv, "/authorize").await;
        assert_error_redirect(&srv, &format!("POST: {case}"), &r, error, state);
    }

    // The redirect URI may be left out when it is the client's only one.
    let q = encode(&[("client_id", &id), ("state", state), ("scope", "openid")]);
    let r = get(&srv, &format!("/authorize?{q}")).await;
    assert_error_redirect(&srv, "implicit redirect_uri", &r, "invalid_request", state);
}

// ---------------------------------------------------------- /end_session
