//! CSRF by construction: the test walks the application's own route table
//! (every route is mounted through `web_kit::routes::Table`) and
//! proves that no state-changing route answers without this session's
//! token, except the exempt ones, each with its reason. The admin console
//! is in the table like the pages; the admin JSON API is the one exempt
//! scope (bearer tokens, never cookies). That the guard fails closed for a
//! route missing from the table is unit-tested in `web_kit::routes`
//! (every mounted route is in the table, so no request here can reach one).

use actix_web::http::Method;
use diesel::prelude::*;
use testkit::TestServer;
use web_kit::routes::{is_safe, Csrf};

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

/// Row counts of everything a form could create, change the membership of
/// or delete.
async fn store(srv: &TestServer) -> Vec<i64> {
    srv.with_db(|c| {
        use core_auth::db::schema::*;
        vec![
            users::table.count().get_result(c).unwrap(),
            user_roles::table.count().get_result(c).unwrap(),
            roles::table.count().get_result(c).unwrap(),
            groups::table.count().get_result(c).unwrap(),
            group_roles::table.count().get_result(c).unwrap(),
            user_groups::table.count().get_result(c).unwrap(),
            clients::table.count().get_result(c).unwrap(),
            upstream_providers::table.count().get_result(c).unwrap(),
            signing_keys::table.count().get_result(c).unwrap(),
            email_tokens::table.count().get_result(c).unwrap(),
            outbox::table.count().get_result(c).unwrap(),
        ]
    })
    .await
}

#[test]
fn every_console_post_is_in_the_table_and_guarded() {
    let all = portcullis::server::route_table();
    let console: Vec<_> = admin_ui::route_table()
        .into_iter()
        .filter(|r| {
            r.method == Method::POST && r.csrf != Csrf::ExemptScope(admin_ui::API_CSRF_EXEMPT)
        })
        .collect();
    assert!(console.len() >= 25, "the console's forms: {console:?}");
    let guarded = portcullis::server::csrf_guarded();
    for r in &console {
        assert!(r.path.starts_with("/admin"), "{}", r.path);
        assert!(!r.path.starts_with("/admin/api/"), "{}", r.path);
        assert_eq!(r.csrf, Csrf::Guarded, "POST {}", r.path);
        assert!(guarded.guards(&Method::POST, r.path), "POST {}", r.path);
        assert!(
            all.iter()
                .any(|a| a.method == r.method && a.path == r.path && a.csrf == r.csrf),
            "POST {} is in the server's table",
            r.path
        );
    }
    // The API is not checked: its callers send bearer tokens, not cookies.
    for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        assert!(!guarded.guards(&m, "/admin/api/v1/users/{id}"), "{m}");
    }
}

#[actix_web::test]
async fn the_admin_api_is_not_checked_and_ignores_the_session() {
    let srv = TestServer::start().await;
    srv.create_user("admin@example.com", "Admin", PASSWORD, &["admin"])
        .await;
    let c = srv.client();
    srv.sign_in(&c, "admin@example.com", PASSWORD).await;
    let before = store(&srv).await;
    // No CSRF token, and the administrator's session cookie is no
    // credential: the API's own authentication answers.
    let r = c
        .post(srv.at("/admin/api/v1/roles"))
        .json(&serde_json::json!({"name": "editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(store(&srv).await, before);
}

#[actix_web::test]
async fn no_state_changing_route_answers_without_the_token() {
    let srv = TestServer::start().await;
    srv.create_user("admin@example.com", "Admin", PASSWORD, &["admin"])
        .await;
    let signed_in = srv.client();
    srv.sign_in(&signed_in, "admin@example.com", PASSWORD).await;
    let before = store(&srv).await;

    let table = portcullis::server::route_table();
    let guarded: Vec<_> = table.iter().filter(|r| r.csrf == Csrf::Guarded).collect();
    assert!(
        guarded.len() >= 30,
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
    assert_eq!(store(&srv).await, before, "nothing changed");

    // Every exemption is a state-changing protocol route with its reason,
    // or the admin API's scope (every state-changing method under it).
    let mut api_methods = Vec::new();
    for r in table.iter().filter(|r| !is_safe(&r.method)) {
        match r.csrf {
            Csrf::Guarded => {}
            Csrf::Exempt(why) => {
                assert!(!why.is_empty());
                assert!(
                    [
                        "/token",
                        "/userinfo",
                        "/revoke",
                        "/introspect",
                        "/par",
                        "/authorize",
                        "/end_session"
                    ]
                    .contains(&r.path),
                    "{} {} is exempt ({why}): is it really not a cookie-authenticated form?",
                    r.method,
                    r.path
                );
            }
            Csrf::ExemptScope(why) => {
                assert_eq!(
                    (r.path, why),
                    (
                        "/admin/api/v1",
                        "the admin JSON API authenticates by bearer token only, never by cookie"
                    ),
                    "{} {} is an exempt scope: is it really not cookie-authenticated?",
                    r.method,
                    r.path
                );
                api_methods.push(r.method.clone());
            }
        }
    }
    assert_eq!(
        api_methods,
        [Method::POST, Method::PUT, Method::PATCH, Method::DELETE]
    );
}
