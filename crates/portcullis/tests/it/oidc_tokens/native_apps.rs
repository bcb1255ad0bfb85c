//! Native apps (RFC 8252): a public client with a private-use URI scheme
//! redirect (`com.example.app:/…`) or a loopback redirect on any port,
//! PKCE, no secret. Confidential clients may not register such schemes.

use super::*;
use crate::admin::faces::cli;
use crate::admin::{admin_token, call, field_errors};

const NATIVE: &str = "com.example.notes:/oauth2redirect";

async fn flow_to(srv: &TestServer, app: &TestClient, redirect: &str) -> Value {
    let b = signed_in(srv, &format!("native{}@example.com", redirect.len())).await;
    let native = TestClient {
        redirect_uri: redirect.to_string(),
        ..app.clone()
    };
    let (verifier, challenge) = testkit::oidc::pkce();
    let url = testkit::oidc::authorize_url(
        srv,
        &native,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "native-state"),
            ("scope", "openid"),
        ],
    );
    let outcome = srv.drive(&b, &url, None, true).await;
    let testkit::oidc::Outcome::Redirect { url: to, params } = outcome else {
        panic!("expected a redirect to the app: {outcome:?}");
    };
    assert!(to.starts_with(&format!("{redirect}?")), "{to}");
    assert_eq!(params["state"], "native-state");
    assert_eq!(params["iss"], srv.at(""));
    let (status, _, t) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &params["code"]),
                ("redirect_uri", redirect),
                ("code_verifier", &verifier),
                ("client_id", &app.client_id),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{t}");
    t
}

#[actix_web::test]
async fn a_native_app_signs_in_through_its_private_use_scheme_and_a_loopback_port() {
    let srv = TestServer::start().await;
    let app = srv
        .register(ClientSpec {
            name: "Notes for Android".into(),
            public: true,
            redirect_uris: vec![NATIVE.into(), "http://127.0.0.1/callback".into()],
            ..ClientSpec::default()
        })
        .await;
    let t = flow_to(&srv, &app, NATIVE).await;
    assert!(t["id_token"].is_string(), "{t}");
    // A loopback redirect registered without a port matches any port.
    let t = flow_to(&srv, &app, "http://127.0.0.1:51234/callback").await;
    assert!(t["access_token"].is_string(), "{t}");
    // The rest of the URI is matched exactly.
    let b = signed_in(&srv, "exact@example.com").await;
    let other = TestClient {
        redirect_uri: "com.example.notes:/elsewhere".into(),
        ..app.clone()
    };
    let url = testkit::oidc::authorize_url(&srv, &other, &[("scope", "openid")]);
    let testkit::oidc::Outcome::Page { status, .. } = srv.drive(&b, &url, None, true).await else {
        panic!("an unregistered path must not be redirected to");
    };
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn private_use_schemes_are_for_public_clients_on_every_face() {
    let srv = TestServer::start().await;
    let admin = admin_token(&srv).await;
    let r = call(
        &srv,
        "POST",
        "/admin/api/v1/clients",
        Some(&admin),
        Some(json!({"name": "Notes", "public": true, "redirect_uris": [NATIVE]})),
    )
    .await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    let r = call(
        &srv,
        "POST",
        "/admin/api/v1/clients",
        Some(&admin),
        Some(json!({"name": "Notes server", "redirect_uris": [NATIVE]})),
    )
    .await;
    assert_eq!(r.0, 422, "{:?}", r.2);
    assert!(
        field_errors(&r.2, "redirect_uris")
            .iter()
            .any(|m| m.contains("native apps")),
        "{:?}",
        r.2
    );
    for bad in [
        "notes:/cb",
        "javascript:alert(1)",
        "com.example.notes:/cb#x",
    ] {
        let r = call(
            &srv,
            "POST",
            "/admin/api/v1/clients",
            Some(&admin),
            Some(json!({"name": "Bad", "public": true, "redirect_uris": [bad]})),
        )
        .await;
        assert_eq!(r.0, 422, "{bad}: {:?}", r.2);
    }
    let out = cli(
        &srv,
        &[
            "clients",
            "create",
            "--name",
            "Notes CLI",
            "--public",
            "--redirect-uri",
            NATIVE,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(
        &srv,
        &[
            "clients",
            "create",
            "--name",
            "Notes CLI",
            "--redirect-uri",
            NATIVE,
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("native apps"));
}
