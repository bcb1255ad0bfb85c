//! `/admin/api/v1/upstream-providers`: create, list, read, replace (the
//! secret kept when absent, a new issuer's discovery used at once), delete,
//! checked against the OpenAPI document; the secret never in an answer;
//! per-field validation, malformed bodies, unknown ids, configured
//! providers read-only, and who may call.

use serde_json::{json, Value};
use testkit::TestServer;

use super::api::{events, V1};
use super::providers::{secret_sent, sign_in_through, start, CLIENT_ID};
use super::{
    admin_token, assert_documented, assert_problem, call, field_errors, openapi, service_token,
    user_token,
};
use crate::federation::fake::Fake;

const SECRET: &str = "api-upstream-secret-4Hd";

fn body(issuer: &str) -> Value {
    json!({
        "id": "corp",
        "kind": "oidc",
        "display_name": "Corp SSO",
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "token_auth_method": "client_secret_post",
        "allowed_email_domains": ["corp.example"],
        "trust_email": true,
        "dangerous_allow_http": true
    })
}

#[actix_web::test]
async fn upstream_providers_are_created_read_replaced_and_deleted() {
    let (a, b) = (Fake::start(), Fake::start());
    let srv = TestServer::start().await;
    let doc = openapi(&srv).await;
    let (service, t) = service_token(&srv, &["admin"]).await;
    let coll = format!("{V1}/upstream-providers");
    let one = format!("{coll}/corp");

    let r = call(&srv, "POST", &coll, Some(&t), Some(body(&a.url))).await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_documented(&doc, "post", "/admin/api/v1/upstream-providers", 201, &r.2);
    assert_eq!(r.2["source"], "stored");
    assert_eq!(r.2["read_only"], false);
    assert_eq!(r.2["has_client_secret"], true);
    assert_eq!(r.2["settings"]["scopes"], json!([]), "as entered");
    assert_eq!(
        r.2["effective"]["scopes"],
        json!(["openid", "email", "profile"]),
        "as used"
    );
    let mut answers = vec![r.2.clone()];
    let (_, login) = srv.get(&srv.client(), "/login").await;
    assert!(login.contains("Sign in with Corp SSO"), "{login}");
    let url = start(&srv, &srv.client(), "corp").await;
    assert!(url.starts_with(&format!("{}/authorize?", a.url)), "{url}");

    let r = call(&srv, "GET", &coll, Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/upstream-providers", 200, &r.2);
    assert_eq!(r.2["items"][0]["id"], "corp");
    answers.push(r.2.clone());
    let r = call(&srv, "GET", &one, Some(&t), None).await;
    assert_documented(
        &doc,
        "get",
        "/admin/api/v1/upstream-providers/{id}",
        200,
        &r.2,
    );
    answers.push(r.2.clone());

    // Replaced without a secret: another issuer, used at once (no stale
    // discovery document), with the stored secret.
    let mut replaced = body(&b.url);
    replaced.as_object_mut().unwrap().remove("client_secret");
    replaced.as_object_mut().unwrap().remove("id");
    replaced["display_name"] = json!("Corp B");
    let r = call(&srv, "PUT", &one, Some(&t), Some(replaced.clone())).await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    assert_documented(
        &doc,
        "put",
        "/admin/api/v1/upstream-providers/{id}",
        200,
        &r.2,
    );
    assert_eq!(r.2["effective"]["issuer"], b.url.as_str());
    assert_eq!(r.2["has_client_secret"], true);
    answers.push(r.2.clone());
    let (resp, form) = sign_in_through(&srv, &b, "corp", "bo@corp.example").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(secret_sent(&form), SECRET, "the secret was kept");
    let updated = events(&srv, "admin_upstream_provider_updated").await;
    assert_eq!(updated.len(), 1);
    assert_eq!(
        updated[0].client_id.as_deref(),
        Some(service.client_id.as_str()),
        "the acting client"
    );
    // An explicit empty secret keeps it too; a new one replaces it.
    replaced["client_secret"] = json!("");
    assert_eq!(
        call(&srv, "PUT", &one, Some(&t), Some(replaced.clone()))
            .await
            .0,
        200
    );
    replaced["client_secret"] = json!("api-new-secret-8Lm");
    assert_eq!(
        call(&srv, "PUT", &one, Some(&t), Some(replaced.clone()))
            .await
            .0,
        200
    );
    let (_, form) = sign_in_through(&srv, &b, "corp", "bo@corp.example").await;
    assert_eq!(secret_sent(&form), "api-new-secret-8Lm");
    let r = call(&srv, "GET", &one, Some(&t), None).await;
    assert_eq!(r.2["linked_identities"], 1);
    answers.push(r.2.clone());

    let all = serde_json::to_string(&answers).unwrap();
    for s in [SECRET, "api-new-secret-8Lm"] {
        assert!(!all.contains(s), "{s} in an answer");
    }
    assert!(
        !all.contains("\"client_secret\""),
        "no such field in answers"
    );

    // The id in the body, when given, is the path's.
    let r = call(&srv, "PUT", &one, Some(&t), Some(json!({"id": "other"}))).await;
    assert_problem(&r, 422);
    assert!(!field_errors(&r.2, "id").is_empty(), "{:?}", r.2);

    let r = call(&srv, "DELETE", &one, Some(&t), None).await;
    assert_eq!(r.0, 204);
    assert_problem(&call(&srv, "GET", &one, Some(&t), None).await, 404);
    let (_, login) = srv.get(&srv.client(), "/login").await;
    assert!(!login.contains("data-provider=\"corp\""));
    assert_eq!(
        events(&srv, "admin_upstream_provider_created").await.len(),
        1
    );
    assert_eq!(
        events(&srv, "admin_upstream_provider_deleted").await.len(),
        1
    );
    a.stop().await;
    b.stop().await;
}

#[actix_web::test]
async fn invalid_provider_input_is_refused_per_field() {
    let srv = TestServer::start().await;
    let t = admin_token(&srv).await;
    let coll = format!("{V1}/upstream-providers");
    let r = call(
        &srv,
        "POST",
        &coll,
        Some(&t),
        Some(json!({
            "id": "Bad Id",
            "kind": "oauth2",
            "authorization_url": "ftp://forge.example/auth",
            "userinfo_url": "http://forge.example/me",
            "scopes": ["two words"],
            "icon": "https://cdn.example/icon.png",
        })),
    )
    .await;
    assert_problem(&r, 422);
    for f in [
        "id",
        "authorization_url",
        "token_url",
        "userinfo_url",
        "client_id",
        "client_secret",
        "scopes",
        "icon",
    ] {
        assert!(!field_errors(&r.2, f).is_empty(), "{f}: {:?}", r.2);
    }
    assert!(field_errors(&r.2, "kind").is_empty());
    assert!(
        field_errors(&r.2, "userinfo_url")[0].contains("must be https"),
        "{:?}",
        r.2
    );
    let r = call(
        &srv,
        "POST",
        &coll,
        Some(&t),
        Some(json!({"kind": "saml", "id": "x"})),
    )
    .await;
    assert_eq!(field_errors(&r.2, "kind").len(), 1, "{:?}", r.2);
    let r = call(
        &srv,
        "POST",
        &coll,
        Some(&t),
        Some(json!({"id": "x", "preset": "facebook"})),
    )
    .await;
    assert!(!field_errors(&r.2, "preset").is_empty(), "{:?}", r.2);

    // Malformed bodies.
    for bad in [
        json!({"id": "x", "bogus": 1}),
        json!({"id": "x", "enabled": "yes"}),
    ] {
        assert_problem(&call(&srv, "POST", &coll, Some(&t), Some(bad)).await, 400);
    }
    // Unknown ids.
    for m in ["GET", "PUT", "DELETE"] {
        let b = (m == "PUT").then(|| json!({"preset": "google", "client_id": "c"}));
        assert_problem(
            &call(&srv, m, &format!("{coll}/nope"), Some(&t), b).await,
            404,
        );
    }
    // Taken ids.
    let ok = json!({"id": "g", "preset": "google", "client_id": "c", "client_secret": "s"});
    assert_eq!(
        call(&srv, "POST", &coll, Some(&t), Some(ok.clone()))
            .await
            .0,
        201
    );
    let r = call(&srv, "POST", &coll, Some(&t), Some(ok)).await;
    assert_problem(&r, 422);
    assert!(field_errors(&r.2, "id")[0].contains("exists already"));
    assert_eq!(
        events(&srv, "admin_upstream_provider_created").await.len(),
        1
    );
}

#[actix_web::test]
async fn configured_providers_are_read_only_and_callers_need_the_admin_scope() {
    let srv = TestServer::start_with(|c| {
        c.upstream = vec![core_auth::federation::UpstreamProvider {
            id: "github".into(),
            preset: "github".into(),
            client_id: "cfg-client".into(),
            client_secret: "config-file-secret-Qw9".into(),
            ..Default::default()
        }]
    })
    .await;
    let t = admin_token(&srv).await;
    let one = format!("{V1}/upstream-providers/github");
    let r = call(&srv, "GET", &one, Some(&t), None).await;
    assert_eq!(r.0, 200);
    assert_eq!(r.2["source"], "config");
    assert_eq!(r.2["read_only"], true);
    assert_eq!(r.2["effective"]["kind"], "oauth2");
    assert!(!r.2.to_string().contains("config-file-secret-Qw9"));
    let r = call(
        &srv,
        "PUT",
        &one,
        Some(&t),
        Some(json!({"preset": "github", "client_id": "x"})),
    )
    .await;
    assert_problem(&r, 422);
    assert!(field_errors(&r.2, "id")[0].contains("configuration file"));
    assert_problem(&call(&srv, "DELETE", &one, Some(&t), None).await, 422);
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/upstream-providers"),
        Some(&t),
        Some(json!({"id": "github", "preset": "github", "client_id": "x", "client_secret": "y"})),
    )
    .await;
    assert_problem(&r, 422);
    let r = call(&srv, "GET", &one, Some(&t), None).await;
    assert_eq!(r.2["settings"]["client_id"], "cfg-client", "unchanged");

    // Who may call (every operation: openapi.rs).
    let coll = format!("{V1}/upstream-providers");
    let r = call(&srv, "GET", &coll, None, None).await;
    assert_problem(&r, 401);
    let user = user_token(&srv, "plain@example.com", &[], "openid admin").await;
    assert_problem(&call(&srv, "GET", &coll, Some(&user), None).await, 403);
    let r = call(
        &srv,
        "POST",
        &coll,
        Some(&user),
        Some(json!({"id": "sneaky", "preset": "google", "client_id": "c", "client_secret": "s"})),
    )
    .await;
    assert_problem(&r, 403);
    assert_problem(
        &call(&srv, "GET", &format!("{coll}/sneaky"), Some(&t), None).await,
        404,
    );
}
