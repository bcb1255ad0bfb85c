//! The admin console over HTTP: every page, CSRF on every form, the
//! account lifecycle with its audit rows, the last-admin rules. (The
//! password asked again for sensitive actions: `super::reauth`.)

use core_auth::audit::{self, Filter, Row};
use testkit::{html, TestServer};

use super::admin_browser;
use crate::util::{location, PASSWORD};

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

#[actix_web::test]
async fn every_console_page_renders_for_admins_only() {
    let srv = TestServer::start().await;
    let (admin, admin_id) = admin_browser(&srv, "admin@example.com").await;
    let u = srv
        .create_user("user@example.com", "Ursula User", PASSWORD, &[])
        .await;
    let app = srv.web_client().await;
    let now = srv.ctx.now();
    let group = srv
        .with_db(move |c| {
            core_auth::roles::create_group(c, "team", "", now)
                .unwrap()
                .id
        })
        .await;
    let pages = [
        ("/admin".to_string(), "Sign-ins"),
        ("/admin/users".to_string(), "user@example.com"),
        ("/admin/users?q=urs".to_string(), "Ursula User"),
        ("/admin/users/new".to_string(), "Create and send invitation"),
        (format!("/admin/users/{}", u.user.id), "Ursula User"),
        (format!("/admin/users/{}/edit", u.user.id), "Save changes"),
        (
            format!("/admin/users/{}/delete", u.user.id),
            "cannot be undone",
        ),
        ("/admin/clients".to_string(), "Test App"),
        ("/admin/clients/new".to_string(), "Register a client"),
        (
            format!("/admin/clients/{}", app.client_id),
            "Rotate the secret",
        ),
        (
            format!("/admin/clients/{}/delete", app.client_id),
            "cannot be undone",
        ),
        ("/admin/roles".to_string(), "team"),
        (format!("/admin/groups/{group}"), "Members"),
        ("/admin/keys".to_string(), "active"),
        ("/admin/sessions".to_string(), "admin@example.com"),
        ("/admin/audit".to_string(), "session_started"),
    ];
    for (path, text) in &pages {
        let (status, body) = srv.get(&admin, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(body.contains(text), "{path} should show {text:?}");
        assert!(
            !body.contains(" style="),
            "{path}: inline styles break the CSP"
        );
    }
    assert!(srv
        .get(&admin, &format!("/admin/users/{admin_id}"))
        .await
        .1
        .contains("admin@example.com"));
    assert_eq!(srv.get(&admin, "/admin/users/nobody").await.0, 404);
    assert_eq!(srv.get(&admin, "/admin/clients/nobody").await.0, 404);
    assert_eq!(srv.get(&admin, "/admin/groups/nobody").await.0, 404);

    let user = srv.client();
    srv.sign_in(&user, "user@example.com", PASSWORD).await;
    let anon = srv.client();
    for (path, _) in &pages {
        assert_eq!(srv.get(&user, path).await.0, 403, "{path} for a non-admin");
        let r = anon.get(srv.at(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path} for nobody");
        assert!(location(&r).starts_with("/login?next="));
    }
}

#[actix_web::test]
async fn every_console_form_needs_the_csrf_token() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let u = srv
        .create_user("user@example.com", "User", PASSWORD, &[])
        .await;
    let id = u.user.id;
    let app = srv.web_client().await;
    let cid = app.client_id;
    let actions = [
        "/admin/users".to_string(),
        format!("/admin/users/{id}/edit"),
        format!("/admin/users/{id}/disable"),
        format!("/admin/users/{id}/enable"),
        format!("/admin/users/{id}/delete"),
        format!("/admin/users/{id}/reset-password"),
        format!("/admin/users/{id}/revoke-sessions"),
        format!("/admin/users/{id}/clear-throttle"),
        "/admin/clients".to_string(),
        format!("/admin/clients/{cid}"),
        format!("/admin/clients/{cid}/rotate-secret"),
        format!("/admin/clients/{cid}/delete"),
        "/admin/roles".to_string(),
        "/admin/roles/x/rename".to_string(),
        "/admin/roles/x/delete".to_string(),
        "/admin/groups".to_string(),
        "/admin/groups/g/delete".to_string(),
        "/admin/keys/rotate".to_string(),
        "/admin/sessions/s/revoke".to_string(),
        "/admin/throttles/sign_in/k/clear".to_string(),
    ];
    for a in &actions {
        let r = admin
            .post(srv.at(a))
            .form(&[
                ("csrf_token", "forged"),
                ("name", "X"),
                ("email", "x@example.com"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{a}");
    }
    assert_eq!(
        super::super::util::user_count(&srv).await,
        2,
        "nothing was created or deleted"
    );
    assert!(events(&srv, "admin_user_disabled").await.is_empty());
}

#[actix_web::test]
async fn the_account_lifecycle_from_the_console_is_audited() {
    let srv = TestServer::start().await;
    let (admin, admin_id) = admin_browser(&srv, "admin@example.com").await;
    let now = srv.ctx.now();
    srv.with_db(move |c| core_auth::roles::create_role(c, "editor", "", now).unwrap())
        .await;

    // Create: refused input is shown with the fields, then the invitation.
    let r = post(
        &srv,
        &admin,
        "/admin/users",
        &[("email", "nope"), ("name", "")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"email-error\"") && page.contains("id=\"name-error\""));
    let r = post(
        &srv,
        &admin,
        "/admin/users",
        &[
            ("email", "lin@example.com"),
            ("name", "Lin Clark"),
            ("role.editor", "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let user_page = location(&r);
    let id = user_page.trim_start_matches("/admin/users/").to_string();
    let (_, page) = srv.get(&admin, &user_page).await;
    assert!(page.contains("invitation was sent to lin@example.com"));
    assert!(page.contains("editor"));
    let mail = srv
        .mails_to("lin@example.com")
        .await
        .pop()
        .expect("invitation");
    assert!(mail.link("/reset-password").is_some());
    let created = events(&srv, "admin_user_created").await;
    assert_eq!(created[0].actor_user_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(created[0].subject_user_id.as_deref(), Some(id.as_str()));

    // Edit: name, address, roles; recorded old and new.
    let r = post(
        &srv,
        &admin,
        &format!("/admin/users/{id}/edit"),
        &[("name", "Lin C."), ("email", "lin.clark@example.com")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let e = &events(&srv, "admin_user_updated").await[0];
    assert!(
        e.detail.contains("Lin C.")
            && e.detail.contains("lin.clark@example.com")
            && e.detail.contains("roles_removed"),
        "{}",
        e.detail
    );
    assert!(
        srv.get(&admin, "/admin/users?q=clark")
            .await
            .1
            .contains("lin.clark@example.com"),
        "search follows the new address"
    );
    assert!(!srv
        .get(&admin, "/admin/users?q=lin%40example")
        .await
        .1
        .contains("lin.clark@example.com"));

    // Disable ends sessions; enable; reset; revoke; clear throttle.
    let hash = srv.ctx.passwords.hash(PASSWORD).unwrap();
    srv.with_db({
        let id = id.clone();
        move |c| core_auth::users::set_password_hash(c, &id, &hash, 0).unwrap()
    })
    .await;
    let lin = srv.client();
    srv.sign_in(&lin, "lin.clark@example.com", PASSWORD).await;
    assert_eq!(
        post(&srv, &admin, &format!("/admin/users/{id}/disable"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(srv.get(&lin, "/account").await.0, 303, "signed out");
    let r = srv
        .submit(
            &srv.client(),
            "/login",
            "/login",
            &[("email", "lin.clark@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 403, "a disabled account cannot sign in");
    assert!(srv
        .get(&admin, "/admin/users?status=disabled")
        .await
        .1
        .contains("lin.clark@example.com"));
    assert!(!srv
        .get(&admin, "/admin/users?status=active")
        .await
        .1
        .contains("lin.clark@example.com"));
    assert_eq!(
        post(&srv, &admin, &format!("/admin/users/{id}/enable"), &[])
            .await
            .status(),
        303
    );
    srv.sign_in(&lin, "lin.clark@example.com", PASSWORD).await;
    assert_eq!(
        post(
            &srv,
            &admin,
            &format!("/admin/users/{id}/revoke-sessions"),
            &[]
        )
        .await
        .status(),
        303
    );
    assert_eq!(
        srv.get(&lin, "/account").await.0,
        303,
        "signed out everywhere"
    );
    assert_eq!(
        post(
            &srv,
            &admin,
            &format!("/admin/users/{id}/reset-password"),
            &[]
        )
        .await
        .status(),
        303
    );
    assert!(srv
        .mails_to("lin.clark@example.com")
        .await
        .iter()
        .any(|m| m.subject == "Reset your password"));
    assert_eq!(
        post(
            &srv,
            &admin,
            &format!("/admin/users/{id}/clear-throttle"),
            &[]
        )
        .await
        .status(),
        303
    );
    for e in [
        "admin_user_disabled",
        "admin_user_enabled",
        "admin_sessions_revoked",
        "admin_password_reset_sent",
        "admin_throttle_cleared",
    ] {
        let rows = events(&srv, e).await;
        assert_eq!(rows.len(), 1, "{e}");
        assert_eq!(
            rows[0].actor_user_id.as_deref(),
            Some(admin_id.as_str()),
            "{e}"
        );
        assert_eq!(rows[0].subject_user_id.as_deref(), Some(id.as_str()), "{e}");
    }

    // The dashboard counts the sign-ins of the day.
    let (_, dash) = srv.get(&admin, "/admin").await;
    assert!(
        dash.contains("<svg class=\"chart\""),
        "the chart is inline SVG"
    );
    assert!(
        dash.contains("3 sign-ins, 1 failures"),
        "{}",
        &dash[dash.find("day-totals").unwrap()..][..80]
    );
    // The audit log filters and exports.
    let (_, log) = srv
        .get(
            &admin,
            &format!("/admin/audit?event=admin_user_disabled&user={id}"),
        )
        .await;
    assert_eq!(log.matches("data-event=\"admin_user_disabled\"").count(), 1);
    assert!(!log.contains("data-event=\"admin_user_enabled\""));
    let csv = admin
        .get(srv.at("/admin/audit/export?format=csv&event=admin_user_created"))
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("audit-log.csv"));
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains("lin@example.com"));
    let (status, _) = srv.get(&admin, "/admin/audit?from=someday").await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn an_admin_cannot_remove_their_own_role_or_delete_the_last_admin() {
    let srv = TestServer::start().await;
    let (admin, admin_id) = admin_browser(&srv, "admin@example.com").await;
    let r = post(
        &srv,
        &admin,
        &format!("/admin/users/{admin_id}/edit"),
        &[("name", "Ada"), ("email", "admin@example.com")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("cannot remove your own admin role"));
    let r = post(
        &srv,
        &admin,
        &format!("/admin/users/{admin_id}/delete"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("cannot delete your own account"));
    let r = post(
        &srv,
        &admin,
        &format!("/admin/users/{admin_id}/disable"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(
        srv.get(&admin, "/admin").await.0 == 200,
        "still an enabled admin"
    );
    // Through a group: removing the group that carries the role is refused too.
    let r = post(
        &srv,
        &admin,
        "/admin/groups",
        &[("name", "admins"), ("role.admin", "on")],
    )
    .await;
    let gid = location(&r)
        .trim_start_matches("/admin/groups/")
        .to_string();
    let r = post(
        &srv,
        &admin,
        &format!("/admin/groups/{gid}/members"),
        &[("user", "admin@example.com")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post(
        &srv,
        &admin,
        &format!("/admin/users/{admin_id}/edit"),
        &[
            ("name", "Ada"),
            ("email", "admin@example.com"),
            (&format!("group.{gid}"), "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303, "the role still comes from the group");
    let r = post(&srv, &admin, &format!("/admin/groups/{gid}/delete"), &[]).await;
    assert_eq!(r.status(), 303);
    assert!(
        srv.get(&admin, &format!("/admin/groups/{gid}")).await.0 == 200,
        "the group stays"
    );
    assert!(events(&srv, "admin_group_deleted").await.is_empty());
}
