//! Rules of the authorization endpoint and the code grant, each proven.

use core_auth::clients::ClientSpec;
use testkit::oidc::{authorize_url, pkce, Outcome};
use testkit::TestServer;

use crate::oidc_support::*;
use crate::util::PASSWORD;

#[actix_web::test]
async fn code_replay_is_refused_and_revokes_the_first_access_token() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "replay@example.com").await;
    let (code, verifier) = code(&srv, &b, &app, &[]).await;
    let (status, first) = exchange(&srv, &app, &code, &verifier).await;
    assert_eq!(status, 200, "{first}");
    let at = s(&first, "access_token");
    assert_eq!(userinfo_status(&srv, &at).await, 200);
    let (status, again) = exchange(&srv, &app, &code, &verifier).await;
    assert_eq!(status, 400);
    assert_eq!(s(&again, "error"), "invalid_grant");
    assert_eq!(
        userinfo_status(&srv, &at).await,
        401,
        "tokens from a replayed code are revoked"
    );
}

#[actix_web::test]
async fn redirect_uri_with_an_added_suffix_or_query_shows_an_error_page_and_never_redirects() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "redir@example.com").await;
    let (_, challenge) = pkce();
    for bad in [
        "https://app.example.com/callback/extra",
        "https://app.example.com/callbackx",
        "https://app.example.com/callback?next=evil",
        "https://app.example.com/callback#frag",
        "https://evil.example.com/callback",
    ] {
        let mut u = url::Url::parse(&srv.at("/authorize")).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &app.client_id)
            .append_pair("redirect_uri", bad)
            .append_pair("scope", "openid")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let r = b.get(u.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert!(location(&r).is_none(), "no redirect for {bad}");
        assert!(
            r.text().await.unwrap().contains("not one registered"),
            "{bad}"
        );
    }
}

#[actix_web::test]
async fn unknown_client_shows_an_error_page_and_never_redirects() {
    let srv = TestServer::start().await;
    let b = srv.client();
    let r = b
        .get(srv.at("/authorize?response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(location(&r).is_none());
    assert!(r.text().await.unwrap().contains("not registered"));
}

#[actix_web::test]
async fn several_redirect_uris_make_redirect_uri_required() {
    let srv = TestServer::start().await;
    let app = srv
        .register(ClientSpec {
            name: "Two".into(),
            redirect_uris: vec![
                "https://a.example.com/cb".into(),
                "https://b.example.com/cb".into(),
            ],
            ..ClientSpec::default()
        })
        .await;
    let r = srv
        .client()
        .get(srv.at(&format!(
            "/authorize?response_type=code&client_id={}&scope=openid",
            app.client_id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(location(&r).is_none());
}

#[actix_web::test]
async fn pkce_downgrade_is_refused() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "pkce@example.com").await;
    // A challenge was sent: the token request must carry the verifier.
    let (c, _verifier) = code(&srv, &b, &app, &[]).await;
    let (status, _, body) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &c),
                ("redirect_uri", &app.redirect_uri),
            ],
            Some((&app.client_id, app.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(s(&body, "error"), "invalid_grant");
    // No challenge was sent: a verifier is refused too.
    let url = authorize_url(&srv, &app, &[("state", "x")]);
    let c = srv.drive(&b, &url, None, true).await.code();
    let (status, body) = exchange(&srv, &app, &c, &"v".repeat(50)).await;
    assert_eq!(status, 400);
    assert_eq!(s(&body, "error"), "invalid_grant");
    // A wrong verifier.
    let (c, _) = code(&srv, &b, &app, &[]).await;
    let (status, _) = exchange(&srv, &app, &c, &"w".repeat(50)).await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn plain_pkce_is_refused_and_public_clients_must_use_pkce() {
    let srv = TestServer::start().await;
    let spa = srv
        .register(ClientSpec {
            name: "SPA".into(),
            public: true,
            redirect_uris: vec!["http://127.0.0.1:3000/cb".into()],
            ..ClientSpec::default()
        })
        .await;
    let b = signed_in(&srv, "plain@example.com").await;
    let (verifier, _) = pkce();
    let url = authorize_url(
        &srv,
        &spa,
        &[
            ("code_challenge", &verifier),
            ("code_challenge_method", "plain"),
            ("state", "s1"),
        ],
    );
    let o = srv.drive(&b, &url, None, true).await;
    assert_eq!(o.params()["error"], "invalid_request");
    assert_eq!(o.params()["state"], "s1");
    assert_eq!(o.params()["iss"], srv.url);
    let url = authorize_url(&srv, &spa, &[("state", "s2")]);
    let o = srv.drive(&b, &url, None, true).await;
    assert_eq!(
        o.params()["error"],
        "invalid_request",
        "public client without PKCE"
    );
    // With S256 the public client gets tokens with auth method `none`.
    let (c, verifier) = code(&srv, &b, &spa, &[]).await;
    let (status, _, body) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &c),
                ("redirect_uri", &spa.redirect_uri),
                ("code_verifier", &verifier),
                ("client_id", &spa.client_id),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn a_code_redeemed_by_another_client_is_refused() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let other = srv.web_client().await;
    let b = signed_in(&srv, "other@example.com").await;
    let (c, verifier) = code(&srv, &b, &app, &[]).await;
    let stolen = testkit::oidc::TestClient {
        redirect_uri: app.redirect_uri.clone(),
        ..other.clone()
    };
    let (status, body) = exchange(&srv, &stolen, &c, &verifier).await;
    assert_eq!(status, 400);
    assert_eq!(s(&body, "error"), "invalid_grant");
    // The rightful client can still redeem it.
    let (status, _) = exchange(&srv, &app, &c, &verifier).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn codes_expire_after_their_lifetime() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "expire@example.com").await;
    let (c, verifier) = code(&srv, &b, &app, &[]).await;
    srv.clock
        .advance(srv.ctx.config.tokens.authorization_code_lifetime_secs + 1);
    let (status, body) = exchange(&srv, &app, &c, &verifier).await;
    assert_eq!(status, 400);
    assert_eq!(s(&body, "error"), "invalid_grant");
}

#[actix_web::test]
async fn prompt_none_without_a_session_gives_login_required() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let (_, challenge) = pkce();
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("prompt", "none"),
            ("state", "silent"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let o = srv.drive(&srv.client(), &url, None, true).await;
    let p = o.params();
    assert_eq!(p["error"], "login_required");
    assert_eq!(p["state"], "silent");
    assert_eq!(p["iss"], srv.url);
}

#[actix_web::test]
async fn prompt_none_without_consent_gives_consent_required() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "none@example.com").await;
    let url = authorize_url(&srv, &app, &[("prompt", "none")]);
    let o = srv.drive(&b, &url, None, true).await;
    assert_eq!(o.params()["error"], "consent_required");
}

#[actix_web::test]
async fn max_age_forces_a_new_sign_in_with_a_later_auth_time() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "maxage@example.com").await;
    let (c, v) = code(&srv, &b, &app, &[]).await;
    let (_, first) = exchange(&srv, &app, &c, &v).await;
    let t1 = jwt_claims(&s(&first, "id_token"))["auth_time"]
        .as_i64()
        .unwrap();
    srv.clock.advance(5);
    // max_age=1 has passed: the sign-in page appears, then a later auth_time.
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("max_age", "1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let without_password = srv.drive(&b, &url, None, true).await;
    assert!(
        matches!(without_password, Outcome::Page { status: 200, ref body } if body.contains("action=\"/login\"")),
        "sign-in page shown"
    );
    let o = srv
        .drive(&b, &url, Some(("maxage@example.com", PASSWORD)), true)
        .await;
    let (_, second) = exchange(&srv, &app, &o.code(), &verifier).await;
    let t2 = jwt_claims(&s(&second, "id_token"))["auth_time"]
        .as_i64()
        .unwrap();
    assert!(t2 >= t1 + 5, "auth_time {t2} must be later than {t1}");
    // max_age large enough: no sign-in needed.
    let (c, v) = code(&srv, &b, &app, &[("max_age", "3600")]).await;
    assert_eq!(exchange(&srv, &app, &c, &v).await.0, 200);
}

#[actix_web::test]
async fn prompt_login_forces_a_fresh_sign_in() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "login@example.com").await;
    srv.clock.advance(3);
    let url = authorize_url(&srv, &app, &[("prompt", "login")]);
    let o = srv.drive(&b, &url, None, true).await;
    assert!(
        matches!(o, Outcome::Page { ref body, .. } if body.contains("action=\"/login\"")),
        "form shown although signed in"
    );
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("prompt", "login"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let o = srv
        .drive(&b, &url, Some(("login@example.com", PASSWORD)), true)
        .await;
    let (_, t) = exchange(&srv, &app, &o.code(), &verifier).await;
    let claims = jwt_claims(&s(&t, "id_token"));
    assert_eq!(claims["auth_time"].as_i64(), Some(srv.ctx.now()));
    assert_eq!(
        claims["acr"], "1",
        "credentials were entered for this request"
    );
}

mod consent;
mod logout;
