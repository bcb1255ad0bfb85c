//! Consent: asked once, remembered, withdrawn, skipped; form_post answers.

use super::*;

#[actix_web::test]
async fn consent_is_asked_once_remembered_and_can_be_withdrawn() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "consent@example.com").await;
    let url = authorize_url(&srv, &app, &[]);
    let first = srv.drive(&b, &url, None, false).await;
    assert_eq!(first.params()["error"], "access_denied", "denying consent");
    let (c, v) = code(&srv, &b, &app, &[]).await;
    let (_, tokens) = exchange(&srv, &app, &c, &v).await;
    let at = s(&tokens, "access_token");
    // Remembered: prompt=none now succeeds.
    let (_, challenge) = pkce();
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("prompt", "none"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert!(srv
        .drive(&b, &url, None, true)
        .await
        .params()
        .contains_key("code"));
    // A wider scope asks again.
    let url = authorize_url(&srv, &app, &[("prompt", "none"), ("scope", "openid phone")]);
    assert_eq!(
        srv.drive(&b, &url, None, true).await.params()["error"],
        "consent_required"
    );
    // prompt=consent shows the page even when remembered.
    let url = authorize_url(&srv, &app, &[("prompt", "consent")]);
    let r = b.get(&url).send().await.unwrap();
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("action=\"/authorize/consent\""));
    // Withdraw on the account page: listed, then gone, tokens dead.
    let (_, page) = srv.get(&b, "/account").await;
    assert!(page.contains("Test App"));
    let r = b
        .post(srv.at("/account/consents/withdraw"))
        .form(&[
            ("csrf_token", testkit::html::csrf(&page).as_str()),
            ("client_id", app.client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        userinfo_status(&srv, &at).await,
        401,
        "withdrawing consent revokes tokens"
    );
    let url = authorize_url(&srv, &app, &[("prompt", "none")]);
    assert_eq!(
        srv.drive(&b, &url, None, true).await.params()["error"],
        "consent_required"
    );
}

#[actix_web::test]
async fn skip_consent_clients_go_straight_to_the_code() {
    let srv = TestServer::start().await;
    let app = srv
        .register(ClientSpec {
            name: "First party".into(),
            redirect_uris: vec!["https://first.example.com/cb".into()],
            skip_consent: true,
            ..ClientSpec::default()
        })
        .await;
    let b = signed_in(&srv, "skip@example.com").await;
    let (_, challenge) = pkce();
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("prompt", "none"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert!(srv
        .drive(&b, &url, None, true)
        .await
        .params()
        .contains_key("code"));
}

#[actix_web::test]
async fn form_post_answers_with_an_auto_submitting_form() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "formpost@example.com").await;
    let (_, challenge) = pkce();
    // Consent first, then a form_post request.
    code(&srv, &b, &app, &[]).await;
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("response_mode", "form_post"),
            ("state", "fp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let r = b.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("form-action https://app.example.com"), "{csp}");
    let body = r.text().await.unwrap();
    assert!(body.contains("action=\"https://app.example.com/callback\""));
    assert!(testkit::html::input_value(&body, "code").is_some());
    assert_eq!(
        testkit::html::input_value(&body, "state").as_deref(),
        Some("fp")
    );
    assert_eq!(
        testkit::html::input_value(&body, "iss").as_deref(),
        Some(srv.url.as_str())
    );
}
