//! Tokens: refresh rotation and reuse, scopes, key rotation, client
//! authentication methods, client credentials, userinfo claims, discovery.

use core_auth::clients::ClientSpec;
use serde_json::{json, Value};
use testkit::oidc::TestClient;
use testkit::TestServer;

use crate::oidc_support::*;

async fn offline_tokens(srv: &TestServer, app: &TestClient, email: &str) -> Value {
    let b = signed_in(srv, email).await;
    let (c, v) = code(srv, &b, app, &[("scope", "openid email offline_access")]).await;
    let (status, t) = exchange(srv, app, &c, &v).await;
    assert_eq!(status, 200, "{t}");
    t
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "family@example.com").await;
    let rt0 = s(&t0, "refresh_token");
    assert_eq!(jwt_header(&rt0)["typ"], "refresh+jwt");
    assert_eq!(jwt_header(&s(&t0, "access_token"))["typ"], "at+jwt");
    let (status, t1) = refresh(&srv, &app, &rt0, None).await;
    assert_eq!(status, 200, "{t1}");
    let rt1 = s(&t1, "refresh_token");
    assert_ne!(rt0, rt1);
    let at1 = s(&t1, "access_token");
    assert_eq!(userinfo_status(&srv, &at1).await, 200);
    // The rotated token again: reuse. The family dies, with its access tokens.
    let (status, e) = refresh(&srv, &app, &rt0, None).await;
    assert_eq!(status, 400);
    assert_eq!(s(&e, "error"), "invalid_grant");
    assert_eq!(
        refresh(&srv, &app, &rt1, None).await.0,
        400,
        "the newest token of the family is revoked too"
    );
    assert_eq!(userinfo_status(&srv, &at1).await, 401);
    assert_eq!(userinfo_status(&srv, &s(&t0, "access_token")).await, 401);
}

#[actix_web::test]
async fn concurrent_refresh_with_one_token_has_exactly_one_winner() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "race@example.com").await;
    let rt = s(&t0, "refresh_token");
    let attempts = (0..4).map(|_| refresh(&srv, &app, &rt, None));
    let results = futures_util::future::join_all(attempts).await;
    let winners = results.iter().filter(|(status, _)| *status == 200).count();
    let losers = results
        .iter()
        .filter(|(status, b)| *status == 400 && s(b, "error") == "invalid_grant")
        .count();
    assert_eq!(winners, 1, "{results:?}");
    assert_eq!(losers, 3, "{results:?}");
}

#[actix_web::test]
async fn a_narrower_refresh_scope_works_and_a_wider_one_fails() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "narrow@example.com").await;
    let (status, wide) = refresh(
        &srv,
        &app,
        &s(&t0, "refresh_token"),
        Some("openid email phone"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(s(&wide, "error"), "invalid_scope");
    // A refused request does not use the token up.
    let (status, narrow) = refresh(&srv, &app, &s(&t0, "refresh_token"), Some("openid")).await;
    assert_eq!(status, 200, "{narrow}");
    assert_eq!(s(&narrow, "scope"), "openid");
    assert_eq!(jwt_claims(&s(&narrow, "access_token"))["scope"], "openid");
    // The grant keeps its original scope: the next refresh may ask for email again.
    let (status, back) = refresh(
        &srv,
        &app,
        &s(&narrow, "refresh_token"),
        Some("openid email"),
    )
    .await;
    assert_eq!(status, 200, "{back}");
}

#[actix_web::test]
async fn refresh_tokens_are_bound_to_their_client_and_expire_when_idle() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let other = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "bound@example.com").await;
    let (status, e) = refresh(&srv, &other, &s(&t0, "refresh_token"), None).await;
    assert_eq!(status, 400);
    assert_eq!(s(&e, "error"), "invalid_grant");
    srv.clock
        .advance(srv.ctx.config.tokens.refresh_token_idle_secs + 1);
    let (status, e) = refresh(&srv, &app, &s(&t0, "refresh_token"), None).await;
    assert_eq!(status, 400, "idle lifetime passed: {e}");
}

#[actix_web::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let t0 = offline_tokens(&srv, &app, "revoke@example.com").await;
    let secret = app.secret.clone().unwrap();
    let (status, _, intro) = srv
        .post_form(
            "/introspect",
            &[("token", &s(&t0, "refresh_token"))],
            Some((&app.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(intro["active"], true);
    assert_eq!(intro["token_type"], "refresh_token");
    let (status, _, _) = srv
        .post_form(
            "/revoke",
            &[("token", &s(&t0, "refresh_token"))],
            Some((&app.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        refresh(&srv, &app, &s(&t0, "refresh_token"), None).await.0,
        400
    );
    assert_eq!(
        userinfo_status(&srv, &s(&t0, "access_token")).await,
        401,
        "its access tokens too"
    );
    let (_, _, intro) = srv
        .post_form(
            "/introspect",
            &[("token", &s(&t0, "refresh_token"))],
            Some((&app.client_id, &secret)),
        )
        .await;
    assert_eq!(intro, json!({"active": false}));
}

mod claims;
mod client_auth;
mod client_tokens;
mod introspection;
mod keys_and_discovery;
mod native_apps;
mod par;
mod request_objects;
