//! Forgotten passwords, reset links and password changes.

use super::*;

async fn reset_link(srv: &TestServer, email: &str) -> String {
    let c = srv.client();
    srv.submit(
        &c,
        "/forgot-password",
        "/forgot-password",
        &[("email", email)],
    )
    .await;
    srv.mails_to(email)
        .await
        .pop()
        .unwrap()
        .link("/reset-password")
        .unwrap()
}

async fn set_password(srv: &TestServer, link: &str, password: &str) -> reqwest::Response {
    let c = srv.client();
    let page = c.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200, "the reset form");
    let body = page.text().await.unwrap();
    c.post(srv.at("/reset-password"))
        .form(&[
            ("csrf_token", html::csrf(&body).as_str()),
            ("token", html::input_value(&body, "token").unwrap().as_str()),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn reset_links_are_single_use_expire_and_are_voided_by_newer_links_and_password_changes() {
    let srv = TestServer::start().await;
    srv.create_user("reset@example.com", "Reset", PASSWORD, &[])
        .await;
    // Single use, and the policy applies.
    let link = reset_link(&srv, "reset@example.com").await;
    let r = set_password(&srv, &link, "password1").await;
    assert_eq!(r.status(), 422, "a common password is refused");
    assert_eq!(
        set_password(&srv, &link, "first new passphrase")
            .await
            .status(),
        200
    );
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 410, "used up");
    let notice = srv.mails_to("reset@example.com").await.pop().unwrap();
    assert_eq!(notice.subject, "Your password was changed");
    // Expiry.
    let link = reset_link(&srv, "reset@example.com").await;
    srv.clock
        .advance(srv.ctx.config.accounts.reset_link_lifetime_secs + 1);
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 410, "expired");
    // A newer link voids the older one.
    let older = reset_link(&srv, "reset@example.com").await;
    let newer = reset_link(&srv, "reset@example.com").await;
    assert_eq!(
        reqwest::get(&older).await.unwrap().status(),
        410,
        "voided by a newer link"
    );
    // Changing the password voids outstanding links.
    let b = srv.client();
    srv.sign_in(&b, "reset@example.com", "first new passphrase")
        .await;
    let (_, page) = srv.get(&b, "/account/security").await;
    let r = b
        .post(srv.at("/account/password"))
        .form(&[
            ("csrf_token", html::csrf(&page).as_str()),
            ("current_password", "first new passphrase"),
            ("new_password", "second new passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        reqwest::get(&newer).await.unwrap().status(),
        410,
        "voided by the password change"
    );
}

#[actix_web::test]
async fn a_reset_ends_every_session_and_refresh_token() {
    let srv = TestServer::start().await;
    srv.create_user("victim@example.com", "Victim", PASSWORD, &[])
        .await;
    let app = srv.web_client().await;
    let b = srv.client();
    srv.sign_in(&b, "victim@example.com", PASSWORD).await;
    let (c, v) = code(&srv, &b, &app, &[("scope", "openid offline_access")]).await;
    let (_, t) = exchange(&srv, &app, &c, &v).await;
    let link = reset_link(&srv, "victim@example.com").await;
    assert_eq!(
        set_password(&srv, &link, "a completely new passphrase")
            .await
            .status(),
        200
    );
    assert_eq!(srv.get(&b, "/account").await.0, 303, "the session is gone");
    assert_eq!(
        refresh(&srv, &app, &s(&t, "refresh_token"), None).await.0,
        400,
        "offline grant revoked too"
    );
    assert_eq!(userinfo_status(&srv, &s(&t, "access_token")).await, 401);
    let r = srv
        .submit(
            &srv.client(),
            "/login",
            "/login",
            &[("email", "victim@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 401, "the old password is dead");
    srv.sign_in(
        &srv.client(),
        "victim@example.com",
        "a completely new passphrase",
    )
    .await;
}

#[actix_web::test]
async fn password_change_needs_the_current_password_and_ends_other_sessions() {
    let srv = TestServer::start().await;
    srv.create_user("pc@example.com", "PC", PASSWORD, &[]).await;
    let here = srv.client();
    let elsewhere = srv.client();
    srv.sign_in(&here, "pc@example.com", PASSWORD).await;
    srv.sign_in(&elsewhere, "pc@example.com", PASSWORD).await;
    let (_, page) = srv.get(&here, "/account/security").await;
    let r = here
        .post(srv.at("/account/password"))
        .form(&[
            ("csrf_token", html::csrf(&page).as_str()),
            ("current_password", "wrong"),
            ("new_password", "another good passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("current_password-error"));
    let (_, page) = srv.get(&here, "/account/security").await;
    let r = here
        .post(srv.at("/account/password"))
        .form(&[
            ("csrf_token", html::csrf(&page).as_str()),
            ("current_password", PASSWORD),
            ("new_password", "another good passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        srv.get(&here, "/account").await.0,
        200,
        "this session goes on"
    );
    assert_eq!(
        srv.get(&elsewhere, "/account").await.0,
        303,
        "the other session ended"
    );
    assert_eq!(
        srv.mails_to("pc@example.com").await.pop().unwrap().subject,
        "Your password was changed"
    );
}

/// Rows per table (every table of the schema).
async fn row_counts(srv: &TestServer) -> std::collections::BTreeMap<String, i64> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    srv.with_db(|c| {
        let tables = match &mut *c {
            core_auth::DbConn::Sqlite(c) => diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .load::<Name>(c),
            core_auth::DbConn::Postgresql(c) => diesel::sql_query(
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()",
            )
            .load::<Name>(c),
        }
        .unwrap();
        assert!(tables.len() > 10, "every table");
        tables
            .into_iter()
            .map(|t| {
                let q = format!("SELECT count(*) AS n FROM {}", t.name);
                let n = match &mut *c {
                    core_auth::DbConn::Sqlite(c) => diesel::sql_query(q).get_result::<Count>(c),
                    core_auth::DbConn::Postgresql(c) => diesel::sql_query(q).get_result::<Count>(c),
                }
                .unwrap()
                .n;
                (t.name, n)
            })
            .collect()
    })
    .await
}

/// The request does not look the address up: a known and an unknown
/// address write the same rows to the same tables (so they cost the same);
/// the mail worker then sends the known one its link and nothing to the
/// unknown one.
#[actix_web::test]
async fn a_reset_request_writes_the_same_rows_for_known_and_unknown_addresses() {
    use core_auth::accounts::{self, ResetRequest};
    let srv = TestServer::start().await;
    srv.create_user("known@example.com", "Known", PASSWORD, &[])
        .await;
    assert!(srv.mails().await.is_empty(), "no mail before");
    let mut written = Vec::new();
    for email in ["known@example.com", "unknown@example.com"] {
        let before = row_counts(&srv).await;
        let (e, now) = (email.to_string(), srv.ctx.now());
        let meta = core_auth::Actor::anonymous("192.0.2.7", "test");
        let r = srv
            .ctx
            .run(move |ctx| accounts::request_reset(&ctx.pool, ctx.mailer(), &e, &meta, now))
            .await
            .unwrap();
        assert_eq!(r, ResetRequest::Done);
        let after = row_counts(&srv).await;
        let delta: Vec<(String, i64)> = after
            .iter()
            .map(|(t, n)| (t.clone(), n - before.get(t).copied().unwrap_or(0)))
            .filter(|(_, d)| *d != 0)
            .collect();
        written.push(delta);
    }
    assert!(!written[0].is_empty(), "the request writes something");
    assert_eq!(written[0], written[1], "the same rows for both addresses");
    // The worker: one mail, to the known address, with a working link.
    let mails = srv.mails().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, "known@example.com");
    assert_eq!(mails[0].subject, "Reset your password");
    let link = mails[0].link("/reset-password").expect("a reset link");
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 200);
    assert!(srv.mails().await.len() == 1, "nothing more, ever");
}
