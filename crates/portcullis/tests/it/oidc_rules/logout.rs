//! ID token hints and RP-initiated logout.

use super::*;

#[actix_web::test]
async fn id_token_hints_with_alg_none_or_a_foreign_key_are_refused() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "hint@example.com").await;
    let (c, v) = code(&srv, &b, &app, &[]).await;
    let (_, tokens) = exchange(&srv, &app, &c, &v).await;
    let genuine = s(&tokens, "id_token");
    let claims = jwt_claims(&genuine);
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    let foreign = {
        let kp = josekit::jws::RS256.generate_key_pair(2048).unwrap();
        let signer = josekit::jws::RS256
            .signer_from_der(kp.to_der_private_key())
            .unwrap();
        let mut h = josekit::jws::JwsHeader::new();
        h.set_key_id(jwt_header(&genuine)["kid"].as_str().unwrap());
        josekit::jws::serialize_compact(&serde_json::to_vec(&claims).unwrap(), &h, &signer).unwrap()
    };
    for (name, hint) in [
        ("alg none", none.as_str()),
        ("foreign key", foreign.as_str()),
    ] {
        let (_, challenge) = pkce();
        let url = authorize_url(
            &srv,
            &app,
            &[
                ("prompt", "none"),
                ("id_token_hint", hint),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let o = srv.drive(&b, &url, None, true).await;
        assert_eq!(
            o.params()["error"],
            "invalid_request",
            "{name} at /authorize"
        );
        let mut u = url::Url::parse(&srv.at("/end_session")).unwrap();
        u.query_pairs_mut()
            .append_pair("id_token_hint", hint)
            .append_pair(
                "post_logout_redirect_uri",
                "https://app.example.com/signed-out",
            );
        let r = b.get(u.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 400, "{name} at /end_session");
        assert!(location(&r).is_none());
    }
    // The genuine hint works with prompt=none.
    let (_, challenge) = pkce();
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("prompt", "none"),
            ("id_token_hint", &genuine),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert!(srv
        .drive(&b, &url, None, true)
        .await
        .params()
        .contains_key("code"));
    let (_, page) = srv.get(&b, "/account").await;
    assert_eq!(
        srv.get(&b, "/account").await.0,
        200,
        "still signed in: {}",
        page.len()
    );
}

#[actix_web::test]
async fn post_logout_redirect_uri_with_an_added_query_is_not_followed() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "bye@example.com").await;
    let (c, v) = code(&srv, &b, &app, &[]).await;
    let (_, tokens) = exchange(&srv, &app, &c, &v).await;
    let mut u = url::Url::parse(&srv.at("/end_session")).unwrap();
    u.query_pairs_mut()
        .append_pair("id_token_hint", &s(&tokens, "id_token"))
        .append_pair(
            "post_logout_redirect_uri",
            "https://app.example.com/signed-out?evil=1",
        )
        .append_pair("state", "z");
    let r = b.get(u.as_str()).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "signed out, but shown our page instead of redirecting"
    );
    assert!(location(&r).is_none());
    assert!(r.text().await.unwrap().contains("You have signed out"));
    assert_eq!(srv.get(&b, "/account").await.0, 303, "the session is over");
}

#[actix_web::test]
async fn end_session_without_a_hint_asks_for_confirmation() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "confirm@example.com").await;
    let mut u = url::Url::parse(&srv.at("/end_session")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", &app.client_id)
        .append_pair(
            "post_logout_redirect_uri",
            "https://app.example.com/signed-out",
        )
        .append_pair("state", "q");
    let r = b.get(u.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Sign out?"));
    assert_eq!(srv.get(&b, "/account").await.0, 200, "nothing happened yet");
    // Without the CSRF token: refused, still signed in.
    let r = b
        .post(srv.at("/end_session/confirm"))
        .form(&[
            ("decision", "sign_out"),
            ("client_id", app.client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(srv.get(&b, "/account").await.0, 200);
    let form = [
        ("csrf_token", testkit::html::csrf(&page)),
        ("client_id", app.client_id.clone()),
        (
            "post_logout_redirect_uri",
            "https://app.example.com/signed-out".to_string(),
        ),
        ("state", "q".to_string()),
        ("decision", "sign_out".to_string()),
    ];
    let r = b
        .post(srv.at("/end_session/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&r).as_deref(),
        Some("https://app.example.com/signed-out?state=q")
    );
    assert_eq!(srv.get(&b, "/account").await.0, 303);
}

#[actix_web::test]
async fn logout_ends_the_session_refresh_tokens_but_not_offline_grants() {
    let srv = TestServer::start().await;
    let app = srv
        .register(ClientSpec {
            name: "Sessiony".into(),
            redirect_uris: vec!["https://s.example.com/cb".into()],
            always_issue_refresh: true,
            ..ClientSpec::default()
        })
        .await;
    let b = signed_in(&srv, "sessions@example.com").await;
    let (c, v) = code(&srv, &b, &app, &[("scope", "openid")]).await;
    let (_, online) = exchange(&srv, &app, &c, &v).await;
    let (c, v) = code(&srv, &b, &app, &[("scope", "openid offline_access")]).await;
    let (_, offline) = exchange(&srv, &app, &c, &v).await;
    assert!(!s(&online, "refresh_token").is_empty() && !s(&offline, "refresh_token").is_empty());
    let mut u = url::Url::parse(&srv.at("/end_session")).unwrap();
    u.query_pairs_mut()
        .append_pair("id_token_hint", &s(&online, "id_token"));
    assert_eq!(b.get(u.as_str()).send().await.unwrap().status(), 200);
    assert_eq!(
        refresh(&srv, &app, &s(&online, "refresh_token"), None)
            .await
            .0,
        400,
        "session-bound refresh token ended"
    );
    assert_eq!(
        userinfo_status(&srv, &s(&online, "access_token")).await,
        401
    );
    assert_eq!(
        refresh(&srv, &app, &s(&offline, "refresh_token"), None)
            .await
            .0,
        200,
        "offline grant survives"
    );
}
