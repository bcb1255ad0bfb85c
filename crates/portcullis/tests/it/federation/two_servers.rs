//! Two Portcullis servers on 127.0.0.1: "up" is the upstream provider of
//! "down", and a person signs in to a relying party of "down" through "up":
//! discovery, code + PKCE, ID token validation (kind = oidc) or the
//! userinfo mapping (kind = oauth2); the first sign-in creates the user,
//! the second reuses it.

use core_auth::clients::ClientSpec;
use core_auth::federation::UpstreamProvider;
use diesel::prelude::*;
use testkit::oidc::{authorize_url, pkce, Outcome};
use testkit::TestServer;

use super::{button_href, links_of, query};
use crate::oidc_support::{exchange, jwt_claims};
use crate::util::{location, user_count, PASSWORD};

/// The upstream server (its own cookie name: both servers are 127.0.0.1,
/// and cookies do not tell ports apart) with a person and a client for the
/// downstream provider `id` (loopback redirect URI: any port).
pub(super) async fn upstream(id: &str) -> (TestServer, testkit::oidc::TestClient) {
    let up = TestServer::start_with(|c| c.session.cookie_name = "upstream_session".into()).await;
    up.create_user("fed@example.com", "Fed Person", PASSWORD, &[])
        .await;
    let client = up
        .register(ClientSpec {
            name: "Downstream Portcullis".into(),
            redirect_uris: vec![format!("http://127.0.0.1/login/upstream/{id}/callback")],
            ..ClientSpec::default()
        })
        .await;
    (up, client)
}

/// Signs in to `app` (a client of `down`) through provider `id` of `down`,
/// with a fresh browser; returns the ID token claims `app` receives.
async fn sign_in_through(
    up: &TestServer,
    down: &TestServer,
    app: &testkit::oidc::TestClient,
    id: &str,
    expect_upstream_consent: bool,
) -> serde_json::Value {
    let browser = down.client();
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        down,
        app,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "app-state"),
            ("nonce", "app-nonce"),
        ],
    );
    // The downstream sign-in page offers the provider, carrying `next`.
    let Outcome::Page { status, body } = down.drive(&browser, &url, None, true).await else {
        panic!("expected the sign-in page")
    };
    assert_eq!(status, 200);
    let href = button_href(&body, id);
    assert!(
        href.starts_with(&format!(
            "/login/upstream/{id}?next=%2Fauthorize%2Fresume%3Frid%3D"
        )),
        "{href}"
    );
    let r = browser.get(down.at(&href)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let to_up = location(&r);
    assert!(to_up.starts_with(&up.at("/authorize?")), "{to_up}");
    let q = query(&to_up);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"],
        down.at(&format!("/login/upstream/{id}/callback"))
    );

    // At the upstream: its own sign-in (and consent the first time).
    let consented_before = up
        .with_db(|c| {
            core_auth::db::schema::consents::table
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(consented_before == 0, expect_upstream_consent);
    let back = up
        .drive(&browser, &to_up, Some(("fed@example.com", PASSWORD)), true)
        .await;
    let Outcome::Redirect { url: cb, params } = back else {
        panic!("upstream did not send the browser back: {back:?}")
    };
    assert!(cb.starts_with(&down.at(&format!("/login/upstream/{id}/callback?"))));
    assert!(params.contains_key("code"));

    // Back downstream: signed in, and the original request goes on.
    let done = down.drive(&browser, &cb, None, true).await;
    let code = done.code();
    assert_eq!(done.params()["state"], "app-state");
    let (status, tokens) = exchange(down, app, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    jwt_claims(tokens["id_token"].as_str().unwrap())
}

fn amr(claims: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(claims["amr"].clone()).unwrap()
}

async fn check_user(down: &TestServer, id: &str, sub: &str) {
    assert_eq!(user_count(down).await, 1);
    assert_eq!(links_of(down, "fed@example.com").await, [id]);
    let sub = sub.to_string();
    let (email, hash, name): (String, Option<String>, String) = down
        .with_db(move |c| {
            use core_auth::db::schema::users as u;
            u::table
                .find(sub)
                .select((u::email, u::password_hash, u::name))
                .first(c)
                .unwrap()
        })
        .await;
    assert_eq!(email, "fed@example.com");
    assert_eq!(name, "Fed Person");
    assert!(hash.is_none(), "created through the upstream: no password");
}

#[actix_web::test]
async fn an_upstream_portcullis_signs_people_in_with_kind_oidc() {
    let (up, client) = upstream("up").await;
    let down = TestServer::start_with(|c| {
        c.upstream = vec![UpstreamProvider {
            id: "up".into(),
            display_name: "Upstream".into(),
            issuer: up.url.clone(),
            client_id: client.client_id.clone(),
            client_secret: client.secret.clone().unwrap(),
            trust_email: true,
            dangerous_allow_http: true,
            ..UpstreamProvider::default()
        }]
    })
    .await;
    let app = down.web_client().await;

    let first = sign_in_through(&up, &down, &app, "up", true).await;
    assert_eq!(first["email"], "fed@example.com");
    assert_eq!(
        first["email_verified"], true,
        "trusted and verified upstream"
    );
    assert_eq!(first["nonce"], "app-nonce");
    // How the person signed in: through a federation, with a password there.
    assert_eq!(amr(&first), ["fed", "pwd"]);
    let sub = first["sub"].as_str().unwrap().to_string();
    check_user(&down, "up", &sub).await;

    let second = sign_in_through(&up, &down, &app, "up", false).await;
    assert_eq!(second["sub"], first["sub"], "the same user again");
    check_user(&down, "up", &sub).await;
}

#[actix_web::test]
async fn an_upstream_portcullis_signs_people_in_with_kind_oauth2() {
    let (up, client) = upstream("up2").await;
    let down = TestServer::start_with(|c| {
        c.upstream = vec![UpstreamProvider {
            id: "up2".into(),
            kind: "oauth2".into(),
            display_name: "Upstream OAuth".into(),
            authorization_url: up.at("/authorize"),
            token_url: up.at("/token"),
            userinfo_url: up.at("/userinfo"),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            subject_field: "sub".into(),
            email_field: "email".into(),
            email_verified_field: "email_verified".into(),
            name_field: "name".into(),
            client_id: client.client_id.clone(),
            client_secret: client.secret.clone().unwrap(),
            dangerous_allow_http: true,
            ..UpstreamProvider::default()
        }]
    })
    .await;
    let app = down.web_client().await;

    let first = sign_in_through(&up, &down, &app, "up2", true).await;
    assert_eq!(first["email"], "fed@example.com");
    assert_eq!(
        first["email_verified"], false,
        "trust_email is off: the address still needs confirming here"
    );
    assert_eq!(amr(&first), ["fed"]);
    let sub = first["sub"].as_str().unwrap().to_string();
    check_user(&down, "up2", &sub).await;

    let second = sign_in_through(&up, &down, &app, "up2", false).await;
    assert_eq!(second["sub"], first["sub"]);
    check_user(&down, "up2", &sub).await;
}
