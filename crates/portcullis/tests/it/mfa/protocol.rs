//! Second factors in the protocol: `amr` and `acr` in ID tokens, step-up
//! for `acr_values`, an essential `acr` out of reach, discovery.

use testkit::oidc::{authorize_url, Outcome};
use testkit::TestServer;

use super::{code_now, set_up_app};
use crate::oidc_support::{code, exchange, jwt_claims, s};
use crate::util::{location, PASSWORD};

#[actix_web::test]
async fn acr_values_step_a_password_session_up_to_the_second_factor() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    srv.create_user("eve@example.com", "Eve", PASSWORD, &[])
        .await;
    let b = srv.client();
    srv.sign_in(&b, "eve@example.com", PASSWORD).await;
    // The app is added after this session's sign-in: the session is still
    // one factor.
    let (secret, _) = set_up_app(&srv, &b).await;
    let (c, verifier) = code(&srv, &b, &app, &[]).await;
    let (_, t) = exchange(&srv, &app, &c, &verifier).await;
    let id = jwt_claims(&s(&t, "id_token"));
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    assert_eq!(id["acr"], "0", "a reused session, nothing asked");

    // acr_values=2: the factor is asked for, not the password.
    let (verifier, challenge) = testkit::oidc::pkce();
    let url = authorize_url(
        &srv,
        &app,
        &[
            ("acr_values", "2"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let o = srv.drive(&b, &url, None, true).await;
    let Outcome::Page { body, .. } = o else {
        panic!("expected the second-factor page, got {o:?}");
    };
    assert!(body.contains("asks you to confirm it"), "{body}");
    assert!(!body.contains("name=\"password\""), "no new sign-in");
    srv.clock.advance(30);
    let r = srv
        .submit(
            &b,
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &code_now(&srv, &secret))],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let resume = location(&r);
    assert!(resume.starts_with("/authorize/resume"), "{resume}");
    let o = srv.drive(&b, &srv.at(&resume), None, true).await;
    let (_, t) = exchange(&srv, &app, &o.code(), &verifier).await;
    let id = jwt_claims(&s(&t, "id_token"));
    assert_eq!(id["acr"], "2");
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    let audit = srv
        .with_db(|c| {
            let f = core_auth::audit::Filter {
                event: Some("second_factor".into()),
                ..Default::default()
            };
            core_auth::audit::query(c, &f, 10).unwrap()
        })
        .await;
    assert!(audit[0].detail.contains("step_up"), "{:?}", audit[0]);

    // Now the session is multi-factor: acr 2 is met without a step.
    let (c, verifier) = code(&srv, &b, &app, &[("acr_values", "2")]).await;
    let (_, t) = exchange(&srv, &app, &c, &verifier).await;
    assert_eq!(jwt_claims(&s(&t, "id_token"))["acr"], "2");
}

#[actix_web::test]
async fn an_essential_acr_the_account_cannot_reach_is_an_error() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    srv.create_user("fox@example.com", "Fox", PASSWORD, &[])
        .await;
    let b = srv.client();
    srv.sign_in(&b, "fox@example.com", PASSWORD).await;
    let claims = r#"{"id_token":{"acr":{"essential":true,"values":["3"]}}}"#;
    let url = authorize_url(&srv, &app, &[("claims", claims), ("state", "st")]);
    let o = srv.drive(&b, &url, None, true).await;
    let Outcome::Redirect { params, .. } = &o else {
        panic!("expected an error redirect, got {o:?}");
    };
    assert_eq!(params["error"], "unmet_authentication_requirements");
    assert_eq!(params["state"], "st");

    let (_, doc) = srv
        .get(&srv.client(), "/.well-known/openid-configuration")
        .await;
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        doc["acr_values_supported"],
        serde_json::json!(["0", "1", "2", "3"])
    );
}

#[actix_web::test]
async fn a_sign_in_with_a_second_factor_says_so_in_the_id_token() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    srv.create_user("gil@example.com", "Gil", PASSWORD, &[])
        .await;
    let b = srv.client();
    srv.sign_in(&b, "gil@example.com", PASSWORD).await;
    let (secret, _) = set_up_app(&srv, &b).await;
    // A new sign-in: password, then the app.
    let b = srv.client();
    super::password_step(&srv, &b, "gil@example.com").await;
    srv.clock.advance(30);
    let r = srv
        .submit(
            &b,
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &code_now(&srv, &secret))],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (c, verifier) = code(&srv, &b, &app, &[]).await;
    let (_, t) = exchange(&srv, &app, &c, &verifier).await;
    let id = jwt_claims(&s(&t, "id_token"));
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    let (c, verifier) = code(&srv, &b, &app, &[("acr_values", "1 2")]).await;
    let (_, t) = exchange(&srv, &app, &c, &verifier).await;
    assert_eq!(jwt_claims(&s(&t, "id_token"))["acr"], "2");
}
