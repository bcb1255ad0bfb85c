//! Pushed authorization requests (RFC 9126): the client pushes its
//! request to `/par`, authenticated as at `/token`, and sends the browser
//! to `/authorize` with the `request_uri` it got: used once, by that client
//! only, within `par.lifetime_secs`, on any node; `/authorize` takes the
//! parameters from the pushed request only. Clients (or the server) may
//! require it.

use super::*;
use testkit::oidc::{pkce, Outcome};

fn basic(c: &TestClient) -> Option<(&str, &str)> {
    Some((&c.client_id, c.secret.as_deref().unwrap_or_default()))
}

/// Pushes `extra` (with PKCE, state and the client's redirect URI) for `c`;
/// (status, body, verifier).
async fn push(srv: &TestServer, c: &TestClient, extra: &[(&str, &str)]) -> (u16, Value, String) {
    let (verifier, challenge) = pkce();
    let mut form: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("redirect_uri", &c.redirect_uri),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("state", "pushed-state"),
    ];
    form.extend_from_slice(extra);
    if !extra.iter().any(|(k, _)| *k == "scope") {
        form.push(("scope", "openid email"));
    }
    let (status, h, v) = srv.post_form("/par", &form, basic(c)).await;
    if status == 201 {
        assert_eq!(h["cache-control"], "no-store");
    }
    (status, v, verifier)
}

fn authorize_with(
    srv: &TestServer,
    client_id: &str,
    request_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut u = url::Url::parse(&srv.at("/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri);
    for (k, v) in extra {
        u.query_pairs_mut().append_pair(k, v);
    }
    u.to_string()
}

#[actix_web::test]
async fn a_pushed_request_signs_in_once_and_its_parameters_are_the_only_ones() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let (status, v, verifier) = push(&srv, &app, &[("nonce", "n-pushed")]).await;
    assert_eq!(status, 201, "{v}");
    let uri = s(&v, "request_uri");
    assert!(
        uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{uri}"
    );
    assert_eq!(v["expires_in"], 60);

    let b = signed_in(&srv, "pushed@example.com").await;
    // A scope and state in the query are ignored: the pushed ones count.
    let url = authorize_with(
        &srv,
        &app.client_id,
        &uri,
        &[("scope", "openid profile"), ("state", "other")],
    );
    let params = srv.drive(&b, &url, None, true).await.params().clone();
    assert_eq!(params["state"], "pushed-state");
    let (status, t) = exchange(&srv, &app, &params["code"], &verifier).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["scope"], "openid email");
    assert_eq!(jwt_claims(&s(&t, "id_token"))["nonce"], "n-pushed");

    // Once only.
    let again = srv.drive(&b, &url, None, true).await;
    let Outcome::Page { status, body } = again else {
        panic!("a used request_uri must not be redirected: {again:?}");
    };
    assert_eq!(status, 400);
    assert!(body.contains("already used"), "{body}");
}

#[actix_web::test]
async fn a_request_uri_is_bound_to_its_client_and_expires() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let other = srv.web_client().await;
    let b = signed_in(&srv, "bound@example.com").await;
    let (_, v, _) = push(&srv, &app, &[]).await;
    let uri = s(&v, "request_uri");
    let url = authorize_with(&srv, &other.client_id, &uri, &[]);
    assert!(matches!(
        srv.drive(&b, &url, None, true).await,
        Outcome::Page { status: 400, .. }
    ));
    // Not used up by the other client's attempt, but expired a minute on.
    srv.clock.advance(61);
    let url = authorize_with(&srv, &app.client_id, &uri, &[]);
    assert!(matches!(
        srv.drive(&b, &url, None, true).await,
        Outcome::Page { status: 400, .. }
    ));
    // An unknown one of ours: a page. One by reference to elsewhere: not
    // supported, said to the client's registered redirect URI.
    let url = authorize_with(
        &srv,
        &app.client_id,
        "urn:ietf:params:oauth:request_uri:nope",
        &[("redirect_uri", &app.redirect_uri)],
    );
    assert!(matches!(
        srv.drive(&b, &url, None, true).await,
        Outcome::Page { status: 400, .. }
    ));
    let url = authorize_with(
        &srv,
        &app.client_id,
        "https://evil.example/req",
        &[
            ("redirect_uri", &app.redirect_uri),
            ("response_type", "code"),
        ],
    );
    assert_eq!(
        srv.drive(&b, &url, None, true).await.params()["error"],
        "request_uri_not_supported"
    );
}

#[actix_web::test]
async fn a_bad_push_gets_the_json_error_and_no_request_uri() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    // No client authentication.
    let (status, _, v) = srv
        .post_form(
            "/par",
            &[("response_type", "code"), ("client_id", &app.client_id)],
            None,
        )
        .await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"], "invalid_client");
    for (extra, error) in [
        (
            vec![("redirect_uri", "https://evil.example/cb")],
            "invalid_request",
        ),
        (
            vec![("request_uri", "urn:ietf:params:oauth:request_uri:x")],
            "invalid_request",
        ),
        (vec![("client_id", "someone-else")], "invalid_request"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("prompt", "sideways")], "invalid_request"),
    ] {
        let mut form: Vec<(&str, &str)> = vec![("scope", "openid")];
        for (k, v) in &extra {
            form.retain(|(fk, _)| fk != k);
            form.push((k, v));
        }
        if !form.iter().any(|(k, _)| *k == "response_type") {
            form.push(("response_type", "code"));
        }
        if !form.iter().any(|(k, _)| *k == "redirect_uri") {
            form.push(("redirect_uri", &app.redirect_uri));
        }
        let (status, _, v) = srv.post_form("/par", &form, basic(&app)).await;
        assert_eq!(status, 400, "{extra:?}: {v}");
        assert_eq!(v["error"], error, "{extra:?}: {v}");
        assert!(v.get("request_uri").is_none());
    }
}

#[actix_web::test]
async fn clients_or_the_server_can_require_pushed_requests() {
    let srv = TestServer::start().await;
    let strict = srv
        .register(ClientSpec {
            name: "Bank".into(),
            redirect_uris: vec!["https://bank.example.com/cb".into()],
            require_pushed_authorization_requests: true,
            ..ClientSpec::default()
        })
        .await;
    let b = signed_in(&srv, "strict@example.com").await;
    let (_, challenge) = pkce();
    let plain = testkit::oidc::authorize_url(
        &srv,
        &strict,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "s1"),
        ],
    );
    let out = srv.drive(&b, &plain, None, true).await;
    let p = out.params();
    assert_eq!(p["error"], "invalid_request");
    assert!(p["error_description"].contains("PAR"), "{p:?}");
    assert_eq!(p["state"], "s1");
    let (status, v, verifier) = push(&srv, &strict, &[]).await;
    assert_eq!(status, 201, "{v}");
    let url = authorize_with(&srv, &strict.client_id, &s(&v, "request_uri"), &[]);
    let code = srv.drive(&b, &url, None, true).await.code();
    assert_eq!(exchange(&srv, &strict, &code, &verifier).await.0, 200);

    // Server-wide, and said so in discovery.
    let strict_server = TestServer::start_with(|c| c.par.required = true).await;
    let (_, _, d) = strict_server.post_form("/par", &[], None).await;
    assert_eq!(d["error"], "invalid_client");
    let doc: Value = reqwest::get(strict_server.at("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["require_pushed_authorization_requests"], true);
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        strict_server.at("/par")
    );
    let app = strict_server.web_client().await;
    let b = signed_in(&strict_server, "everyone@example.com").await;
    let plain = testkit::oidc::authorize_url(
        &strict_server,
        &app,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(
        strict_server.drive(&b, &plain, None, true).await.params()["error"],
        "invalid_request"
    );
}

#[actix_web::test]
async fn a_request_pushed_to_one_node_is_used_once_across_nodes() {
    let n0 = TestServer::start().await;
    let n1 = n0.start_sibling(|_| {}).await;
    let app = n0.web_client().await;
    let (_, v, verifier) = push(&n0, &app, &[]).await;
    let uri = s(&v, "request_uri");
    let b1 = signed_in(&n1, "nodes@example.com").await;
    let code = n1
        .drive(
            &b1,
            &authorize_with(&n1, &app.client_id, &uri, &[]),
            None,
            true,
        )
        .await
        .code();
    assert_eq!(exchange(&n0, &app, &code, &verifier).await.0, 200);
    let b0 = n0.client();
    n0.sign_in(&b0, "nodes@example.com", crate::util::PASSWORD)
        .await;
    let again = n0
        .drive(
            &b0,
            &authorize_with(&n0, &app.client_id, &uri, &[]),
            None,
            true,
        )
        .await;
    assert!(
        matches!(again, Outcome::Page { status: 400, .. }),
        "{again:?}"
    );
}

#[actix_web::test]
async fn the_requirements_are_set_from_the_api_and_the_command_line() {
    use crate::admin::{admin_token, call};
    let srv = TestServer::start().await;
    let admin = admin_token(&srv).await;
    let r = call(
        &srv,
        "POST",
        "/admin/api/v1/clients",
        Some(&admin),
        Some(json!({
            "name": "Bank app",
            "redirect_uris": ["https://bank.example.com/cb"],
            "require_pushed_authorization_requests": true,
        })),
    )
    .await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_eq!(r.2["require_pushed_authorization_requests"], true);
    assert_eq!(r.2["require_signed_request_object"], false);
    let id = s(&r.2, "client_id");
    // Signed request objects need the client's keys.
    let r = call(
        &srv,
        "POST",
        "/admin/api/v1/clients",
        Some(&admin),
        Some(json!({
            "name": "Keyless",
            "redirect_uris": ["https://bank.example.com/cb"],
            "require_signed_request_object": true,
        })),
    )
    .await;
    assert_eq!(r.0, 422, "{:?}", r.2);
    let out =
        crate::admin::faces::cli(&srv, &["clients", "update", &id, "--require-par", "false"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = call(
        &srv,
        "GET",
        &format!("/admin/api/v1/clients/{id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        r.2["require_pushed_authorization_requests"], false,
        "{:?}",
        r.2
    );
}
