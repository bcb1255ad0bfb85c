//! The pages in a real browser (headless Chromium).

use fantoccini::{Client, Locator};
use testkit::browser::see;
use testkit::{Browser, TestServer};

use crate::util::PASSWORD;

async fn fill(b: &Client, css: &str, value: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(value)
        .await
        .unwrap();
}

async fn submit(b: &Client) {
    b.find(Locator::Css("main button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn at(b: &Client, srv: &TestServer, path: &str) {
    b.wait()
        .for_url(&url::Url::parse(&srv.at(path)).unwrap())
        .await
        .unwrap();
}

/// Register (with a refused attempt first), confirm the address from the
/// mail, sign in, sign out; then forget the password, reset it from the
/// mail and sign in with the new one.
#[actix_web::test]
async fn register_verify_reset_and_sign_in_in_a_browser() {
    let srv = TestServer::start().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;
    b.goto(&srv.at("/register")).await.unwrap();
    fill(b, "#name", "Katherine Johnson").await;
    fill(b, "#email", "katherine@example.com").await;
    fill(b, "#password", "short").await;
    submit(b).await;
    // Refused: the error is shown and the typed values are still there.
    see(b, "#password-error", "at least 8").await;
    let name = b
        .find(Locator::Css("#name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("Katherine Johnson"));
    fill(b, "#password", PASSWORD).await;
    submit(b).await;
    assert_eq!(see(b, "h1", "Check your inbox").await, "Check your inbox");

    // The mailed link verifies the address.
    let mail = srv
        .mails_to("katherine@example.com")
        .await
        .pop()
        .expect("a verification mail");
    assert_eq!(mail.subject, "Confirm your email address");
    b.goto(&mail.link("/verify-email").unwrap()).await.unwrap();
    assert_eq!(
        see(b, "h1", "Email address confirmed").await,
        "Email address confirmed"
    );

    b.goto(&srv.at("/login")).await.unwrap();
    fill(b, "#email", "katherine@example.com").await;
    fill(b, "#password", PASSWORD).await;
    submit(b).await;
    at(b, &srv, "/account").await;
    assert_eq!(see(b, "h1", "Katherine Johnson").await, "Katherine Johnson");
    see(b, "dl.details", "verified").await;
    b.find(Locator::Css("header button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    see(b, ".alert.success", "signed out").await;

    // Forgot the password: the mailed link sets a new one.
    b.goto(&srv.at("/login")).await.unwrap();
    b.find(Locator::LinkText("Forgot your password?"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    at(b, &srv, "/forgot-password").await;
    fill(b, "#email", "katherine@example.com").await;
    submit(b).await;
    assert_eq!(see(b, "h1", "Check your inbox").await, "Check your inbox");
    let mail = srv
        .mails_to("katherine@example.com")
        .await
        .pop()
        .expect("a reset mail");
    assert_eq!(mail.subject, "Reset your password");
    b.goto(&mail.link("/reset-password").unwrap())
        .await
        .unwrap();
    fill(b, "#password", "a brand new passphrase").await;
    submit(b).await;
    assert_eq!(see(b, "h1", "Password changed").await, "Password changed");

    b.goto(&srv.at("/account")).await.unwrap();
    b.wait()
        .for_element(Locator::Css("#password"))
        .await
        .unwrap();
    assert!(b
        .current_url()
        .await
        .unwrap()
        .as_str()
        .contains("/login?next=%2Faccount"));
    fill(b, "#email", "katherine@example.com").await;
    fill(b, "#password", "a brand new passphrase").await;
    submit(b).await;
    at(b, &srv, "/account").await;
    browser.close().await;
}
