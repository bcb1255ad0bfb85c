//! Who may introspect a token (RFC 7662 §4): the client it was issued to,
//! and a client registered as a resource server for its audience (access
//! tokens only). Everyone else gets `{"active": false}`, like an unknown
//! token. The setting through the admin API and the console.

use super::*;
use crate::admin::{admin_browser, admin_token, assert_problem, call, field_errors};
use testkit::html;

async fn introspect(srv: &TestServer, who: &TestClient, token: &str, hint: Option<&str>) -> Value {
    let mut form = vec![("token", token)];
    if let Some(h) = hint {
        form.push(("token_type_hint", h));
    }
    let secret = who.secret.clone().unwrap();
    let (status, h, v) = srv
        .post_form("/introspect", &form, Some((&who.client_id, &secret)))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(h["cache-control"], "no-store");
    v
}

async fn client_credentials_token(srv: &TestServer, c: &TestClient) -> String {
    let secret = c.secret.clone().unwrap();
    let (status, _, t) = srv
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((&c.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    s(&t, "access_token")
}

#[actix_web::test]
async fn only_the_tokens_client_and_the_resource_servers_of_its_audience_see_it_active() {
    let srv = TestServer::start().await;
    let a = srv.web_client().await;
    let t = offline_tokens(&srv, &a, "owner@example.com").await;
    let (at, rt) = (s(&t, "access_token"), s(&t, "refresh_token"));
    let b = srv
        .register(ClientSpec {
            name: "Another service".into(),
            grant_types: vec!["client_credentials".into()],
            ..ClientSpec::default()
        })
        .await;
    // A resource server for A's tokens, registered through the admin API.
    let admin = admin_token(&srv).await;
    let r = call(
        &srv,
        "POST",
        "/admin/api/v1/clients",
        Some(&admin),
        Some(json!({
            "name": "Orders API",
            "grant_types": ["client_credentials"],
            "resource_server_audiences": [a.client_id],
        })),
    )
    .await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_eq!(r.2["resource_server_audiences"], json!([a.client_id]));
    let rs = TestClient {
        client_id: s(&r.2, "client_id"),
        secret: Some(s(&r.2, "client_secret")),
        redirect_uri: String::new(),
    };

    // The token's own client sees both tokens.
    let v = introspect(&srv, &a, &at, None).await;
    assert_eq!(v["active"], true, "{v}");
    for k in ["sub", "scope", "sid"] {
        assert!(v[k].is_string(), "{k}: {v}");
    }
    let v = introspect(&srv, &a, &rt, None).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["token_type"], "refresh_token");

    // Another client (client_credentials only) learns nothing, whatever the hint.
    for hint in [None, Some("access_token"), Some("refresh_token")] {
        for (kind, tok) in [("access", &at), ("refresh", &rt)] {
            assert_eq!(
                introspect(&srv, &b, tok, hint).await,
                json!({"active": false}),
                "{kind} token, hint {hint:?}"
            );
        }
    }

    // The resource server for the access token's audience sees it...
    let v = introspect(&srv, &rs, &at, None).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["aud"], a.client_id.as_str());
    assert_eq!(v["client_id"], a.client_id.as_str());
    assert!(v["sub"].is_string(), "{v}");
    // ...but never a refresh token: those are only presented to us.
    assert_eq!(
        introspect(&srv, &rs, &rt, Some("refresh_token")).await,
        json!({"active": false})
    );

    // B's own token: B sees it; A and a resource server for A do not.
    let bt = client_credentials_token(&srv, &b).await;
    assert_eq!(introspect(&srv, &b, &bt, None).await["active"], true);
    for who in [&a, &rs] {
        assert_eq!(
            introspect(&srv, who, &bt, None).await,
            json!({"active": false})
        );
    }
}

#[actix_web::test]
async fn resource_server_audiences_are_checked_and_editable_in_the_console() {
    let srv = TestServer::start().await;
    let admin = admin_token(&srv).await;
    let r = call(
        &srv,
        "POST",
        "/admin/api/v1/clients",
        Some(&admin),
        Some(json!({
            "name": "Bad",
            "grant_types": ["client_credentials"],
            "resource_server_audiences": ["has space", ""],
        })),
    )
    .await;
    assert_problem(&r, 422);
    assert_eq!(
        field_errors(&r.2, "resource_server_audiences").len(),
        2,
        "{:?}",
        r.2
    );
    let r = call(
        &srv,
        "POST",
        "/admin/api/v1/clients",
        Some(&admin),
        Some(json!({
            "name": "SPA",
            "public": true,
            "redirect_uris": ["https://spa.example.com/cb"],
            "resource_server_audiences": ["orders"],
        })),
    )
    .await;
    assert_problem(&r, 422);
    assert!(!field_errors(&r.2, "resource_server_audiences").is_empty());

    // The console form shows and saves the setting.
    let (browser, _) = admin_browser(&srv, "admin@example.com").await;
    let svc = srv
        .register(ClientSpec {
            name: "Orders API".into(),
            grant_types: vec!["client_credentials".into()],
            ..ClientSpec::default()
        })
        .await;
    let page = format!("/admin/clients/{}", svc.client_id);
    let (_, body) = srv.get(&browser, &page).await;
    assert!(
        body.contains("name=\"resource_server_audiences\""),
        "{body}"
    );
    let token = html::csrf(&body);
    let r = browser
        .post(srv.at(&page))
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Orders API"),
            ("auth_method", "client_secret_basic"),
            ("grant.client_credentials", "on"),
            (
                "resource_server_audiences",
                "web-app\r\nhttps://api.example.com\r\n",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let id = svc.client_id.clone();
    let saved = srv
        .with_db(move |c| core_auth::clients::find(c, &id).unwrap().unwrap())
        .await;
    assert_eq!(
        saved.resource_server_audiences,
        vec!["web-app".to_string(), "https://api.example.com".to_string()]
    );
    let (_, body) = srv.get(&browser, &page).await;
    assert!(body.contains("web-app\nhttps://api.example.com"), "{body}");
}
