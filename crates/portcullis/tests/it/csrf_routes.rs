//! CSRF by construction: the test walks the application's own route table
//! (every route is mounted through `oidc_endpoints::routes::Table`) and
//! proves that no state-changing route answers without this session's
//! token, except the exempt ones, each with its reason.

use oidc_endpoints::routes::Csrf;
use testkit::TestServer;

use crate::util::PASSWORD;

/// A concrete path for a route pattern (`{id}` becomes `x`).
fn concrete(pattern: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for ch in pattern.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push('x');
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

#[actix_web::test]
async fn no_state_changing_route_answers_without_the_token() {
    let srv = TestServer::start().await;
    srv.create_user("admin@example.com", "Admin", PASSWORD, &["admin"])
        .await;
    let signed_in = srv.client();
    srv.sign_in(&signed_in, "admin@example.com", PASSWORD).await;
    let before = super::util::user_count(&srv).await;

    let table = portcullis::server::route_table();
    let guarded: Vec<_> = table.iter().filter(|r| r.csrf == Csrf::Guarded).collect();
    assert!(
        guarded.len() >= 15,
        "the table lists the form routes: {guarded:?}"
    );
    for r in &guarded {
        let path = concrete(r.path);
        for (who, c) in [
            ("anonymous", srv.client()),
            ("signed in", signed_in.clone()),
        ] {
            for token in [None, Some("forged")] {
                let mut form = vec![("name", "x"), ("email", "x@example.com")];
                if let Some(t) = token {
                    form.push(("csrf_token", t));
                }
                let resp = c
                    .request(
                        reqwest::Method::from_bytes(r.method.as_str().as_bytes()).unwrap(),
                        srv.at(&path),
                    )
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    resp.status(),
                    403,
                    "{} {} ({who}, token {token:?})",
                    r.method,
                    r.path
                );
            }
        }
    }
    assert_eq!(super::util::user_count(&srv).await, before);

    // Every exemption is a state-changing protocol route with its reason.
    for r in table.iter().filter(|r| r.method.as_str() != "GET") {
        if let Csrf::Exempt(why) = r.csrf {
            assert!(!why.is_empty());
            assert!(
                [
                    "/token",
                    "/userinfo",
                    "/revoke",
                    "/introspect",
                    "/authorize",
                    "/end_session"
                ]
                .contains(&r.path),
                "{} {} is exempt ({why}): is it really not a cookie-authenticated form?",
                r.method,
                r.path
            );
        }
    }
}
