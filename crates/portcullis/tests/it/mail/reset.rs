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
