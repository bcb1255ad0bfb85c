//! Shared steps of the OIDC tests.

use serde_json::Value;
use testkit::oidc::{authorize_url, pkce, TestClient};
use testkit::TestServer;

use crate::util::PASSWORD;

/// A browser signed in as a new user `email`.
pub async fn signed_in(srv: &TestServer, email: &str) -> reqwest::Client {
    srv.create_user(email, "Test Person", PASSWORD, &[]).await;
    let b = srv.client();
    srv.sign_in(&b, email, PASSWORD).await;
    b
}

/// Runs the authorization request (with PKCE) in `browser`, allowing
/// consent; returns the code and the verifier.
pub async fn code(
    srv: &TestServer,
    browser: &reqwest::Client,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut params: Vec<(&str, &str)> = vec![
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("state", "st"),
    ];
    params.extend_from_slice(extra);
    let url = authorize_url(srv, client, &params);
    let outcome = srv.drive(browser, &url, None, true).await;
    (outcome.code(), verifier)
}

/// Exchanges a code at /token with client_secret_basic.
pub async fn exchange(
    srv: &TestServer,
    client: &TestClient,
    code: &str,
    verifier: &str,
) -> (u16, Value) {
    let (status, _, json) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &client.redirect_uri),
                ("code_verifier", verifier),
            ],
            Some((
                &client.client_id,
                client.secret.as_deref().unwrap_or_default(),
            )),
        )
        .await;
    (status, json)
}

/// Refreshes with client_secret_basic.
pub async fn refresh(
    srv: &TestServer,
    client: &TestClient,
    rt: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let (status, _, json) = srv
        .post_form(
            "/token",
            &form,
            Some((
                &client.client_id,
                client.secret.as_deref().unwrap_or_default(),
            )),
        )
        .await;
    (status, json)
}

/// GET /userinfo with a bearer token; the status.
pub async fn userinfo_status(srv: &TestServer, at: &str) -> u16 {
    reqwest::Client::new()
        .get(srv.at("/userinfo"))
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The claims of a JWT (no verification: the server's own tests check it).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

pub fn jwt_header(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').next().expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON header")
}

/// A location header.
pub fn location(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
}
