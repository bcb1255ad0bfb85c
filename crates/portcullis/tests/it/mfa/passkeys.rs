//! Passkeys in headless Chromium with a virtual authenticator (the
//! WebDriver WebAuthn extension). WebAuthn needs a secure context and a
//! domain: the server's issuer is `http://localhost:PORT`.

use fantoccini::{Client, Locator};
use testkit::browser::see;
use testkit::{Browser, TestServer};

use crate::util::PASSWORD;

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

async fn sign_out(b: &Client) {
    click(b, "header form[action='/logout'] button").await;
}

/// The heading of the page once it is one of `choices`.
async fn one_of(b: &Client, choices: &[&str]) -> String {
    for _ in 0..600 {
        if let Ok(e) = b.find(Locator::Css("main h1")).await {
            if let Ok(t) = e.text().await {
                if let Some(c) = choices.iter().find(|c| t.contains(*c)) {
                    return c.to_string();
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the page never showed one of {choices:?}");
}

async fn password(b: &Client, srv: &TestServer) {
    b.goto(&localhost(srv, "/login")).await.unwrap();
    fill(b, "#email", "grace@example.com").await;
    fill(b, "#password", PASSWORD).await;
    click(b, "form[action='/login'] button[type=submit]").await;
}

async fn events(srv: &TestServer, event: &'static str) -> Vec<(String, String)> {
    srv.with_db(move |c| {
        let f = core_auth::audit::Filter {
            event: Some(event.into()),
            ..Default::default()
        };
        core_auth::audit::query(c, &f, 100)
            .unwrap()
            .into_iter()
            .map(|r| (r.outcome, r.detail))
            .collect()
    })
    .await
}

#[actix_web::test]
async fn add_a_passkey_then_sign_in_with_it_alone_and_as_the_second_factor() {
    let srv = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    srv.create_user("grace@example.com", "Grace", PASSWORD, &[])
        .await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;
    // A page first, so the authenticator belongs to this origin's tab.
    b.goto(&localhost(&srv, "/login")).await.unwrap();
    let authenticator = browser.add_virtual_authenticator().await;
    password(b, &srv).await;
    see(b, "main h1", "Grace").await;

    b.goto(&localhost(&srv, "/account/two-factor"))
        .await
        .unwrap();
    fill(b, "#passkey-name", "Laptop").await;
    click(b, "#add-passkey").await;
    // The first factor: its recovery codes, shown once.
    see(b, "main h1", "recovery codes").await;
    let codes = b
        .find(Locator::Css("#recovery-codes"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        codes.lines().filter(|l| l.contains('-')).count(),
        10,
        "{codes}"
    );
    click(b, "main a.button").await;
    see(b, "#passkeys", "Laptop").await;
    let creds = browser.credentials(&authenticator).await;
    assert_eq!(creds.len(), 1);
    assert_eq!(
        creds[0]["isResidentCredential"], true,
        "a discoverable credential"
    );

    // Without a password. The sign-in page offers the passkey in the
    // email field's autofill (conditional mediation), which Chromium's
    // virtual authenticator may answer at once; else the button.
    sign_out(b).await;
    if one_of(b, &["Sign in", "Grace"]).await == "Sign in" {
        click(b, "#passkey-sign-in").await;
        see(b, "main h1", "Grace").await;
    }
    let rows = events(&srv, "passkey_sign_in").await;
    assert!(
        rows.iter()
            .any(|(o, d)| o == "success" && d.contains("Laptop")),
        "{rows:?}"
    );

    // After a password: the second step offers the passkey. (The device
    // is away while the password is typed, so that autofill cannot answer.)
    // (Its counter as it is now: an older one would be a cloned key.)
    let credential = browser.credentials(&authenticator).await[0].clone();
    browser.remove_virtual_authenticator(&authenticator).await;
    sign_out(b).await;
    see(b, "main h1", "Sign in").await;
    password(b, &srv).await;
    see(b, "main h1", "Two-step verification").await;
    let authenticator = browser.add_virtual_authenticator().await;
    browser.add_credential(&authenticator, &credential).await;
    click(b, "#use-passkey").await;
    if one_of(b, &["Grace", "Two-step"]).await != "Grace" {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let page = b.source().await.unwrap();
        let rows = events(&srv, "second_factor").await;
        panic!("the passkey was refused: {rows:?}\n{page}");
    }
    let rows = events(&srv, "second_factor").await;
    assert!(
        rows.iter()
            .any(|(o, d)| o == "success" && d.contains("passkey")),
        "{rows:?}"
    );

    // Rename, then remove (the account then has no factor and no codes).
    b.goto(&localhost(&srv, "/account/two-factor"))
        .await
        .unwrap();
    click(b, "#passkeys details summary").await;
    let rename = "#passkeys form[action$='/rename'] input[name=name]";
    fill(b, rename, "Work laptop").await;
    click(b, "#passkeys form[action$='/rename'] button").await;
    see(b, "#passkeys", "Work laptop").await;
    click(b, "#passkeys form[action$='/remove'] button").await;
    see(b, "main .alert.success", "removed").await;
    let (left, keys) = srv
        .with_db(|c| {
            let uid = uid_of(c, "grace@example.com");
            let f = core_auth::mfa::factors(c, &uid).unwrap();
            (f.recovery_codes_left, f.passkeys.len())
        })
        .await;
    assert_eq!((left, keys), (0, 0));
    browser.close().await;
}

fn uid_of(c: &mut core_auth::DbConn, email: &str) -> String {
    core_auth::users::find_by_email(c, email)
        .unwrap()
        .unwrap()
        .id
}
