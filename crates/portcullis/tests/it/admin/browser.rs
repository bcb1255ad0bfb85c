//! The admin console's main journeys in headless Chromium: sign in as an
//! administrator, create a user, find them, disable them and see their
//! sign-in refused; register a client and see its secret once; rotate the
//! signing key and see the JWKS change; filter the audit log.

use std::collections::HashSet;

use fantoccini::{Client, Locator};
use serde_json::Value;
use testkit::browser::see;
use testkit::{Browser, TestServer};

use crate::util::PASSWORD;

/// The element, waiting up to a minute (a loaded machine runs the whole
/// suite beside the browser); a timeout names the selector and the page.
async fn find(b: &Client, css: &str) -> fantoccini::elements::Element {
    match b
        .wait()
        .at_most(std::time::Duration::from_secs(60))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let url = b
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page = b.source().await.unwrap_or_default();
            panic!("waiting for {css} on {url}: {e}\n{page}");
        }
    }
}

async fn fill(b: &Client, css: &str, value: &str) {
    let e = find(b, css).await;
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn click(b: &Client, css: &str) {
    find(b, css).await.click().await.unwrap();
}

async fn text(b: &Client, css: &str) -> String {
    find(b, css).await.text().await.unwrap()
}

async fn kids(srv: &TestServer) -> HashSet<String> {
    let jwks: Value = reqwest::get(srv.at("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

async fn active_kid(b: &Client) -> String {
    text(b, "#keys tr[data-state=active] td.mono").await
}

#[actix_web::test]
async fn admin_journeys_in_a_browser() {
    let srv = TestServer::start().await;
    srv.create_user("root@example.com", "Root Admin", PASSWORD, &["admin"])
        .await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;

    // Sign in and reach the console.
    b.goto(&srv.at("/login?next=/admin")).await.unwrap();
    fill(b, "#email", "root@example.com").await;
    fill(b, "#password", PASSWORD).await;
    click(b, "main button[type=submit]").await;
    assert_eq!(see(b, "h1", "Dashboard").await, "Dashboard");

    // Create a user: the invitation lets them choose a password.
    click(b, "a[href='/admin/users']").await;
    click(b, "a[href='/admin/users/new']").await;
    fill(b, "#name", "Marie Curie").await;
    fill(b, "#email", "marie@example.com").await;
    click(b, "#save").await;
    assert_eq!(see(b, "#user-name", "Marie Curie").await, "Marie Curie");
    see(b, ".alert.success", "invitation was sent").await;
    let link = srv
        .mails_to("marie@example.com")
        .await
        .pop()
        .unwrap()
        .link("/reset-password")
        .unwrap();
    let marie = srv.client();
    let path = link.trim_start_matches(&srv.url).to_string();
    let token = link.split("token=").nth(1).unwrap().to_string();
    let r = srv
        .submit(
            &marie,
            &path,
            "/reset-password",
            &[("token", &token), ("password", "radium and polonium")],
        )
        .await;
    assert!(r.status().as_u16() < 400);
    srv.sign_in(&srv.client(), "marie@example.com", "radium and polonium")
        .await;

    // Find her by search, open her page, disable the account.
    b.goto(&srv.at("/admin/users")).await.unwrap();
    fill(b, "#q", "curi").await;
    click(b, "#search-button").await;
    see(b, "#users tbody", "marie@example.com").await;
    b.find(Locator::LinkText("Marie Curie"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(b, "#disable").await;
    assert_eq!(see(b, "#status", "disabled").await, "disabled");
    let r = srv
        .submit(
            &srv.client(),
            "/login",
            "/login",
            &[
                ("email", "marie@example.com"),
                ("password", "radium and polonium"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("disabled"));

    // Register a client: the secret is shown once, and it works.
    b.goto(&srv.at("/admin/clients")).await.unwrap();
    click(b, "#new-client").await;
    fill(b, "#name", "Lab Notebook").await;
    fill(b, "#redirect_uris", "https://lab.example.com/callback").await;
    click(b, "#grant-client_credentials").await;
    click(b, "#save").await;
    let secret = text(b, "#client-secret").await;
    let client_id = text(b, "#client-id").await;
    assert!(secret.len() >= 40, "{secret}");
    let (status, _, _) = srv
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((&client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200, "the shown secret authenticates the client");
    b.goto(&srv.at(&format!("/admin/clients/{client_id}")))
        .await
        .unwrap();
    assert_eq!(see(b, "#client-id", &client_id).await, client_id);
    assert!(
        b.find(Locator::Css("#client-secret")).await.is_err(),
        "never shown again"
    );
    assert!(!b.source().await.unwrap().contains(&secret));

    // Rotate the signing key: the JWKS changes.
    let before = kids(&srv).await;
    b.goto(&srv.at("/admin/keys")).await.unwrap();
    let old_active = active_kid(b).await;
    click(b, "#rotate").await;
    see(b, ".alert.success", "now the active keys").await;
    let new_active = active_kid(b).await;
    assert_ne!(new_active, old_active);
    let after = kids(&srv).await;
    assert_ne!(before, after, "the JWKS changed");
    assert!(
        after.contains(&new_active) && after.contains(&old_active),
        "both keys are published"
    );

    // Filter the audit log.
    b.goto(&srv.at("/admin/audit")).await.unwrap();
    fill(b, "#event", "admin_user_disabled").await;
    click(b, "#filter").await;
    b.wait()
        .for_url(
            &url::Url::parse(
                &srv.at("/admin/audit?event=admin_user_disabled&user=&client=&outcome=&from=&to="),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let rows = b.find_all(Locator::Css("#audit tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].attr("data-event").await.unwrap().as_deref(),
        Some("admin_user_disabled")
    );
    browser.close().await;
}
