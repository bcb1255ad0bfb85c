//! The console's re-authentication of an administrator who has a second
//! factor: the password, then the factor; only both together let the
//! sensitive action go ahead.

use fantoccini::{Client, Locator};
use testkit::browser::see;
use testkit::{Browser, TestServer};

use super::{disabled, factors, post, submit_form};
use crate::admin::admin_browser;
use crate::admin::faces::rows;
use crate::admin::providers::oidc_form;
use crate::mfa::{code_now, set_up_app};
use crate::util::{location, PASSWORD};

fn window(c: &mut core_auth::Config) {
    c.admin.reauth_window_secs = 300;
}

/// The second-step rows (`second_factor`) of re-authentications.
async fn reauth_factor_rows(srv: &TestServer) -> Vec<(String, String)> {
    rows(srv, "second_factor")
        .await
        .into_iter()
        .filter(|r| r.detail.contains("\"step\":\"reauth\""))
        .map(|r| (r.outcome, r.detail))
        .collect()
}

#[actix_web::test]
async fn an_admin_with_an_app_is_asked_for_the_code_after_the_password() {
    let srv = TestServer::start_with(window).await;
    let (admin, admin_id) = admin_browser(&srv, "ada@example.com").await;
    let (secret, _) = set_up_app(&srv, &admin).await;
    let victim = srv
        .create_user("victim@example.com", "Victim", PASSWORD, &[])
        .await
        .user
        .id;
    srv.clock.advance(301);
    let action = format!("/admin/users/{victim}/disable");
    let r = post(&srv, &admin, &action, &[]).await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Confirm your password"), "{page}");
    assert!(
        page.contains("then confirm with your second factor"),
        "{page}"
    );

    // The right password alone does not do it.
    let r = post(&srv, &admin, &action, &[("reauth_password", PASSWORD)]).await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Confirm with your second factor"), "{page}");
    assert!(page.contains("autocomplete=\"one-time-code\""));
    assert!(!page.contains("id=\"reauth-passkey-form\""), "no passkey");
    assert!(!disabled(&srv, &victim).await, "not yet");

    // A wrong code is refused, and asked again.
    let r = submit_form(
        &srv,
        &admin,
        &page,
        "reauth-code-form",
        &[("reauth_code", "000000")],
    )
    .await;
    assert_eq!(r.status().as_u16(), 401);
    let page = r.text().await.unwrap();
    assert!(page.contains("That code is not right."), "{page}");
    assert!(page.contains("id=\"reauth-code-form\""), "{page}");
    assert!(!disabled(&srv, &victim).await);
    assert_eq!(rows(&srv, "admin_user_disabled").await.len(), 0);
    let got = reauth_factor_rows(&srv).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "failure");
    assert!(got[0].1.contains("wrong_code"), "{got:?}");

    // The right one: the action goes ahead in that request.
    srv.clock.advance(30);
    let code = code_now(&srv, &secret);
    let r = submit_form(
        &srv,
        &admin,
        &page,
        "reauth-code-form",
        &[("reauth_code", &code)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(disabled(&srv, &victim).await);
    let done = rows(&srv, "admin_user_disabled").await;
    assert_eq!(done[0].actor_user_id.as_deref(), Some(admin_id.as_str()));
    let got = reauth_factor_rows(&srv).await;
    assert_eq!(got[0].0, "success", "{got:?}");
    assert!(got[0].1.contains("totp"), "{got:?}");

    // Confirmed now: the next sensitive action goes ahead at once.
    let r = post(&srv, &admin, &format!("/admin/users/{victim}/enable"), &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(!disabled(&srv, &victim).await);
}

#[actix_web::test]
async fn the_second_step_waits_five_minutes_and_takes_a_recovery_code() {
    let srv = TestServer::start_with(window).await;
    let (admin, admin_id) = admin_browser(&srv, "ada@example.com").await;
    let (secret, codes) = set_up_app(&srv, &admin).await;
    let victim = srv
        .create_user("victim@example.com", "Victim", PASSWORD, &[])
        .await
        .user
        .id;
    srv.clock.advance(301);
    let action = format!("/admin/users/{victim}/disable");
    let r = post(&srv, &admin, &action, &[("reauth_password", PASSWORD)]).await;
    let page = r.text().await.unwrap();
    assert!(page.contains("Confirm with your second factor"), "{page}");

    // Too late: the right code is refused and the password asked again.
    srv.clock.advance(301);
    let code = code_now(&srv, &secret);
    let r = submit_form(
        &srv,
        &admin,
        &page,
        "reauth-code-form",
        &[("reauth_code", &code)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 401);
    let again = r.text().await.unwrap();
    assert!(again.contains("Enter your password again"), "{again}");
    assert!(again.contains("id=\"reauth_password\""), "{again}");
    assert!(!disabled(&srv, &victim).await);

    // A code without the password step is refused the same way.
    let r = post(&srv, &admin, &action, &[("reauth_code", &code)]).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(!disabled(&srv, &victim).await);

    // Password, then a recovery code (its own form).
    let r = post(&srv, &admin, &action, &[("reauth_password", PASSWORD)]).await;
    let page = r.text().await.unwrap();
    assert!(page.contains("10 left"), "{page}");
    let r = submit_form(
        &srv,
        &admin,
        &page,
        "reauth-recovery-form",
        &[("reauth_recovery_code", &codes[0])],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(disabled(&srv, &victim).await);
    assert_eq!(factors(&srv, &admin_id).await.recovery_codes_left, 9);
    let got = reauth_factor_rows(&srv).await;
    assert!(got[0].1.contains("recovery_code"), "{got:?}");
}

#[actix_web::test]
async fn the_confirmation_page_and_a_form_that_asks_inline_take_both_at_once() {
    let srv = TestServer::start_with(window).await;
    let (admin, _) = admin_browser(&srv, "ada@example.com").await;
    let (secret, _) = set_up_app(&srv, &admin).await;
    srv.clock.advance(301);

    // /admin/reauth (for forms that ask inline): password, then the code,
    // then on to `next`.
    let r = post(
        &srv,
        &admin,
        "/admin/reauth",
        &[("next", "/admin/keys"), ("reauth_password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    srv.clock.advance(30);
    let code = code_now(&srv, &secret);
    let r = submit_form(
        &srv,
        &admin,
        &page,
        "reauth-code-form",
        &[("reauth_code", &code)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/admin/keys");

    // A provider form carries the password and the code fields itself.
    srv.clock.advance(301);
    let (_, form_page) = srv.get(&admin, "/admin/providers/new").await;
    assert!(
        form_page.contains("name=\"reauth_password\""),
        "{form_page}"
    );
    assert!(form_page.contains("name=\"reauth_code\""), "{form_page}");
    let mut form = oidc_form("corp", "https://idp.example.com", "s3cret-upstream");
    form.push(("reauth_password", PASSWORD));
    let r = post(&srv, &admin, "/admin/providers", &form).await;
    assert_eq!(r.status().as_u16(), 200, "the password alone is not enough");
    let page = r.text().await.unwrap();
    assert!(page.contains("Now enter a code"), "{page}");
    assert!(!page.contains("s3cret-upstream"), "the secret stays out");
    assert_eq!(srv.get(&admin, "/admin/providers/corp").await.0, 404);
    srv.clock.advance(30);
    let code = code_now(&srv, &secret);
    let mut form = oidc_form("corp", "https://idp.example.com", "s3cret-upstream");
    form.push(("reauth_code", &code));
    let r = post(&srv, &admin, "/admin/providers", &form).await;
    assert_eq!(r.status().as_u16(), 303, "saved");
    assert_eq!(srv.get(&admin, "/admin/providers/corp").await.0, 200);
}

fn localhost(srv: &TestServer, path: &str) -> String {
    srv.at(path).replace("127.0.0.1", "localhost")
}

async fn click(b: &Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn fill(b: &Client, css: &str, value: &str) {
    let e = b.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

#[actix_web::test]
async fn an_admin_with_a_passkey_confirms_with_it_in_a_browser() {
    let srv = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("127.0.0.1", "localhost");
        c.admin.reauth_window_secs = 300;
    })
    .await;
    srv.create_user("grace@example.com", "Grace", PASSWORD, &["admin"])
        .await;
    let victim = srv
        .create_user("victim@example.com", "Victim", PASSWORD, &[])
        .await
        .user
        .id;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;
    b.goto(&localhost(&srv, "/login")).await.unwrap();
    browser.add_virtual_authenticator().await;
    fill(b, "#email", "grace@example.com").await;
    fill(b, "#password", PASSWORD).await;
    click(b, "form[action='/login'] button[type=submit]").await;
    see(b, "main h1", "Grace").await;
    b.goto(&localhost(&srv, "/account/two-factor"))
        .await
        .unwrap();
    fill(b, "#passkey-name", "Laptop").await;
    click(b, "#add-passkey").await;
    see(b, "main h1", "recovery codes").await;

    srv.clock.advance(301);
    b.goto(&localhost(&srv, &format!("/admin/users/{victim}")))
        .await
        .unwrap();
    click(b, "#disable").await;
    see(b, "main h1", "Confirm your password").await;
    fill(b, "#reauth_password", PASSWORD).await;
    click(b, "main form.stack button[type=submit]").await;
    see(b, "main h1", "Confirm with your second factor").await;
    assert!(!disabled(&srv, &victim).await, "not after the password");
    click(b, "#reauth-passkey").await;
    see(b, "main .alert.success", "disabled").await;
    assert!(disabled(&srv, &victim).await);
    let got = reauth_factor_rows(&srv).await;
    assert!(
        got.iter()
            .any(|(o, d)| o == "success" && d.contains("passkey")),
        "{got:?}"
    );
    browser.close().await;
}
