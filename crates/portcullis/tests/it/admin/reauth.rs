//! Sensitive administration asks for a fresh proof of who you are, on
//! every face: the console answers with the password page (posting the
//! same form back), the API with 401 `insufficient_user_authentication`
//! (RFC 9470). The confirmation is throttled like a sign-in.

use core_auth::audit::{self, Filter, Row};
use serde_json::{json, Value};
use testkit::{html, TestServer};

use super::api::V1;
use super::{admin_browser, admin_token, call, service_token, user_token};
use crate::util::{location, PASSWORD};

async fn all_rows(srv: &TestServer) -> Vec<Row> {
    srv.with_db(|c| audit::query(c, &Filter::default(), 10_000).unwrap())
        .await
}

async fn events(srv: &TestServer, event: &'static str) -> Vec<Row> {
    srv.with_db(move |c| {
        audit::query(
            c,
            &Filter {
                event: Some(event.into()),
                ..Default::default()
            },
            100,
        )
        .unwrap()
    })
    .await
}

async fn post(
    srv: &TestServer,
    c: &reqwest::Client,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, page) = srv.get(c, "/admin").await;
    let token = html::csrf(&page);
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    c.post(srv.at(action)).form(&form).send().await.unwrap()
}

/// The directory the console tests act on: (victim id, client id, group id).
async fn directory(srv: &TestServer) -> (String, String, String) {
    let victim = srv
        .create_user("victim@example.com", "Victim", PASSWORD, &[])
        .await;
    let app = srv.web_client().await;
    let now = srv.ctx.now();
    let group = srv
        .with_db(move |c| {
            core_auth::roles::create_role(c, "editor", "", now).unwrap();
            core_auth::roles::create_group(c, "team", "", now)
                .unwrap()
                .id
        })
        .await;
    (victim.user.id, app.client_id, group)
}

/// A console action: its path, its fields, the words its password page uses.
type Action = (String, Vec<(&'static str, String)>, &'static str);

/// Every sensitive console action, with the words its password page uses.
fn sensitive_actions(uid: &str, cid: &str, gid: &str) -> Vec<Action> {
    let none = Vec::new;
    vec![
        (
            "/admin/users".into(),
            vec![("email", "new@example.com".into()), ("name", "New".into())],
            "create an account",
        ),
        (
            format!("/admin/users/{uid}/edit"),
            vec![("email", "victim@example.com".into()), ("name", "V".into())],
            "change this account",
        ),
        (
            format!("/admin/users/{uid}/disable"),
            none(),
            "disable this account",
        ),
        (
            format!("/admin/users/{uid}/enable"),
            none(),
            "enable this account",
        ),
        (
            format!("/admin/users/{uid}/delete"),
            none(),
            "delete this account",
        ),
        (
            "/admin/clients".into(),
            vec![
                ("name", "New app".into()),
                ("auth_method", "client_secret_basic".into()),
                ("redirect_uris", "https://new.example.com/cb".into()),
                ("grant.authorization_code", "on".into()),
            ],
            "register a client",
        ),
        (
            format!("/admin/clients/{cid}"),
            vec![("name", "Renamed".into())],
            "change this client",
        ),
        (
            format!("/admin/clients/{cid}/rotate-secret"),
            none(),
            "rotate this client",
        ),
        (
            format!("/admin/clients/{cid}/delete"),
            none(),
            "delete this client",
        ),
        (
            "/admin/roles".into(),
            vec![("name", "ops".into())],
            "create a role",
        ),
        (
            "/admin/roles/editor/rename".into(),
            vec![("new_name", "writer".into())],
            "rename this role",
        ),
        (
            "/admin/roles/editor/delete".into(),
            none(),
            "delete this role",
        ),
        (
            "/admin/groups".into(),
            vec![("name", "g2".into())],
            "create a group",
        ),
        (
            format!("/admin/groups/{gid}"),
            vec![("name", "team2".into()), ("role.admin", "on".into())],
            "change this group",
        ),
        (
            format!("/admin/groups/{gid}/members"),
            vec![("user", "victim@example.com".into())],
            "add a member to this group",
        ),
        (
            format!("/admin/groups/{gid}/members/{uid}/remove"),
            none(),
            "remove a member from this group",
        ),
        (
            format!("/admin/groups/{gid}/delete"),
            none(),
            "delete this group",
        ),
        (
            "/admin/keys/rotate".into(),
            none(),
            "rotate the signing key",
        ),
    ]
}

#[actix_web::test]
async fn every_sensitive_console_action_asks_when_the_sign_in_is_stale() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let (uid, cid, gid) = directory(&srv).await;
    let window = srv.ctx.config.admin.reauth_window_secs;
    assert_eq!(window, 600, "the default window");
    srv.clock.advance(window + 1);
    let before = all_rows(&srv).await.len();
    for (action, fields, what) in sensitive_actions(&uid, &cid, &gid) {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post(&srv, &admin, &action, &f).await;
        assert_eq!(r.status(), 200, "{action}");
        let page = r.text().await.unwrap();
        assert!(
            page.contains("Confirm your password") && page.contains(what),
            "{action}: {page}"
        );
        assert!(
            page.contains(&format!("action=\"{action}\"")),
            "{action}: posts back to the action"
        );
        for (k, v) in &fields {
            assert!(
                page.contains(&format!("name=\"{k}\" value=\"{v}\"")),
                "{action}: keeps {k}"
            );
        }
    }
    assert_eq!(
        all_rows(&srv).await.len(),
        before,
        "nothing was changed, so nothing was recorded"
    );
    assert_eq!(super::super::util::user_count(&srv).await, 2);
    assert_eq!(srv.get(&admin, &format!("/admin/users/{uid}")).await.0, 200);
    assert_eq!(
        srv.get(&admin, &format!("/admin/clients/{cid}")).await.0,
        200
    );
    assert_eq!(
        srv.get(&admin, &format!("/admin/groups/{gid}")).await.0,
        200
    );

    // Actions that take power away or only notify never ask.
    for action in [
        format!("/admin/users/{uid}/revoke-sessions"),
        format!("/admin/users/{uid}/reset-password"),
        format!("/admin/users/{uid}/clear-throttle"),
    ] {
        let r = post(&srv, &admin, &action, &[]).await;
        assert_eq!(r.status(), 303, "{action}");
    }
}

#[actix_web::test]
async fn the_password_page_confirms_and_the_action_goes_ahead() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let (uid, _, _) = directory(&srv).await;
    let action = format!("/admin/users/{uid}/delete");
    srv.clock.advance(11 * 60);
    let r = post(&srv, &admin, &action, &[]).await;
    let page = r.text().await.unwrap();
    let csrf = html::csrf(&page);

    let r = admin
        .post(srv.at(&action))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("reauth_password", "not my password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("That password is not right."));
    assert_eq!(events(&srv, "admin_reauth").await[0].outcome, "failure");
    assert_eq!(srv.get(&admin, &format!("/admin/users/{uid}")).await.0, 200);

    let r = admin
        .post(srv.at(&action))
        .form(&[("csrf_token", csrf.as_str()), ("reauth_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/users");
    assert_eq!(srv.get(&admin, &format!("/admin/users/{uid}")).await.0, 404);
    let confirmed = events(&srv, "admin_reauth").await;
    assert_eq!(confirmed[0].outcome, "success");
    // Confirmed now: the next sensitive action goes ahead at once.
    let r = post(&srv, &admin, "/admin/keys/rotate", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        events(&srv, "key_rotated").await.len(),
        srv.ctx.config.keys.algorithms.len(),
        "one rotation per algorithm"
    );
}

#[actix_web::test]
async fn a_window_of_zero_asks_every_time() {
    let srv = TestServer::start_with(|c| c.admin.reauth_window_secs = 0).await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    srv.clock.advance(1);
    let r = post(&srv, &admin, "/admin/roles", &[("name", "ops")]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Confirm your password"));
    // With the password in the same request it goes ahead; the next one
    // asks again.
    let r = post(
        &srv,
        &admin,
        "/admin/roles",
        &[("name", "ops"), ("reauth_password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(events(&srv, "admin_role_created").await.len(), 1);
    srv.clock.advance(1);
    let r = post(&srv, &admin, "/admin/roles", &[("name", "dev")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(events(&srv, "admin_role_created").await.len(), 1);
}

#[actix_web::test]
async fn confirming_is_throttled_like_a_sign_in() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let (uid, _, _) = directory(&srv).await;
    let action = format!("/admin/users/{uid}/delete");
    srv.clock.advance(11 * 60);
    let mut statuses = Vec::new();
    for i in 0..30 {
        let guess = format!("guess number {i}");
        let r = post(&srv, &admin, &action, &[("reauth_password", &guess)]).await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses[0], 401, "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 401).count() <= 5,
        "at most the sign-in limit of wrong guesses is checked: {statuses:?}"
    );
    // While throttled, even the right password does not go through.
    let r = post(&srv, &admin, &action, &[("reauth_password", PASSWORD)]).await;
    assert_eq!(r.status(), 429);
    assert_eq!(srv.get(&admin, &format!("/admin/users/{uid}")).await.0, 200);
    assert!(!events(&srv, "throttled").await.is_empty());
}

fn www_authenticate(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Each sensitive API call: (method, path, body).
fn sensitive_api_calls(
    uid: &str,
    cid: &str,
    gid: &str,
) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        (
            "POST",
            format!("{V1}/users"),
            Some(json!({"email": "n@example.com", "name": "N"})),
        ),
        (
            "PATCH",
            format!("{V1}/users/{uid}"),
            Some(json!({"name": "V"})),
        ),
        ("DELETE", format!("{V1}/users/{uid}"), None),
        (
            "POST",
            format!("{V1}/clients"),
            Some(json!({"name": "x", "redirect_uris": ["https://x.example.com/cb"]})),
        ),
        (
            "PUT",
            format!("{V1}/clients/{cid}"),
            Some(json!({"name": "y", "redirect_uris": ["https://x.example.com/cb"]})),
        ),
        ("POST", format!("{V1}/clients/{cid}/rotate-secret"), None),
        ("DELETE", format!("{V1}/clients/{cid}"), None),
        ("POST", format!("{V1}/roles"), Some(json!({"name": "ops"}))),
        (
            "PATCH",
            format!("{V1}/roles/editor"),
            Some(json!({"name": "writer"})),
        ),
        ("DELETE", format!("{V1}/roles/editor"), None),
        ("POST", format!("{V1}/groups"), Some(json!({"name": "g2"}))),
        (
            "PATCH",
            format!("{V1}/groups/{gid}"),
            Some(json!({"roles": ["admin"]})),
        ),
        ("PUT", format!("{V1}/groups/{gid}/members/{uid}"), None),
        ("DELETE", format!("{V1}/groups/{gid}/members/{uid}"), None),
        ("DELETE", format!("{V1}/groups/{gid}"), None),
        ("POST", format!("{V1}/keys/rotate"), None),
        (
            "POST",
            format!("{V1}/upstream-providers"),
            Some(
                json!({"id": "corp", "display_name": "Corp", "issuer": "https://corp.example.com", "client_id": "c", "client_secret": "s"}),
            ),
        ),
    ]
}

async fn send(
    srv: &TestServer,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new()
        .request(m, srv.at(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn an_old_client_token_gets_insufficient_user_authentication() {
    // Access tokens live ten minutes by default: a shorter window shows a
    // token that is valid but too old for sensitive changes.
    let srv = TestServer::start_with(|c| c.admin.reauth_window_secs = 300).await;
    let (uid, cid, gid) = directory(&srv).await;
    let (_, old) = service_token(&srv, &["admin"]).await;
    srv.clock.advance(301);
    let before = all_rows(&srv).await.len();
    for (method, path, body) in sensitive_api_calls(&uid, &cid, &gid) {
        let r = send(&srv, method, &path, &old, body).await;
        assert_eq!(r.status(), 401, "{method} {path}");
        let challenge = www_authenticate(&r);
        assert!(
            challenge.starts_with("Bearer ")
                && challenge.contains("error=\"insufficient_user_authentication\"")
                && challenge.contains("max_age=300"),
            "{method} {path}: {challenge}"
        );
        let problem: Value = r.json().await.unwrap();
        assert_eq!(
            problem["type"], "urn:portcullis:problem:reauth-required",
            "{method} {path}"
        );
    }
    assert_eq!(all_rows(&srv).await.len(), before, "nothing changed");
    // Reading and the non-sensitive actions still work with it.
    let r = call(&srv, "GET", &format!("{V1}/users/{uid}"), Some(&old), None).await;
    assert_eq!(r.0, 200);
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users/{uid}/revoke-sessions"),
        Some(&old),
        None,
    )
    .await;
    assert!(r.0 == 200 || r.0 == 204, "{r:?}");
    // A fresh token may.
    let fresh = admin_token(&srv).await;
    let r = send(
        &srv,
        "POST",
        &format!("{V1}/roles"),
        &fresh,
        Some(json!({"name": "ops"})),
    )
    .await;
    assert_eq!(r.status(), 201);
}

#[actix_web::test]
async fn a_user_token_counts_from_the_sign_in() {
    let srv = TestServer::start_with(|c| c.admin.reauth_window_secs = 300).await;
    let t = user_token(&srv, "ops@example.com", &["admin"], "openid admin").await;
    let r = send(
        &srv,
        "POST",
        &format!("{V1}/roles"),
        &t,
        Some(json!({"name": "ops"})),
    )
    .await;
    assert_eq!(r.status(), 201, "fresh from the sign-in");
    srv.clock.advance(301);
    let r = send(
        &srv,
        "POST",
        &format!("{V1}/roles"),
        &t,
        Some(json!({"name": "dev"})),
    )
    .await;
    assert_eq!(r.status(), 401);
    let w = www_authenticate(&r);
    let body = r.text().await.unwrap();
    assert!(w.contains("insufficient_user_authentication"), "{w} {body}");
}
