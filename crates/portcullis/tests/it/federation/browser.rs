//! The upstream sign-in in a real browser (headless Chromium): cookies of
//! two servers on one host, the provider's pages, the redirects back, the
//! link list on the account page, and linking from it.

use core_auth::federation::UpstreamProvider;
use fantoccini::{Client, Locator};
use testkit::browser::see;
use testkit::{Browser, TestServer};

use super::two_servers::upstream;
use crate::util::PASSWORD;

async fn click(b: &Client, css: &str) {
    b.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn fill(b: &Client, css: &str, value: &str) {
    b.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(value)
        .await
        .unwrap();
}

async fn text(b: &Client, css: &str) -> String {
    b.wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn at(b: &Client, url: &str) {
    let arrived = b.wait().for_url(&url::Url::parse(url).unwrap()).await;
    if arrived.is_err() {
        let now = b.current_url().await.unwrap();
        let page = b.source().await.unwrap_or_default();
        panic!("expected {url}, at {now}: {page}");
    }
}

#[actix_web::test]
async fn signing_in_and_linking_through_an_upstream_portcullis_in_a_browser() {
    let (up, client) = upstream("up").await;
    let provider = |id: &str, name: &str| UpstreamProvider {
        id: id.into(),
        display_name: name.into(),
        issuer: up.url.clone(),
        client_id: client.client_id.clone(),
        client_secret: client.secret.clone().unwrap(),
        trust_email: true,
        dangerous_allow_http: true,
        ..UpstreamProvider::default()
    };
    let down = TestServer::start_with(|c| {
        // The same upstream client under a second id, to link it too.
        c.upstream = vec![provider("up", "Upstream"), provider("again", "Again")]
    })
    .await;
    up.with_db({
        let id = client.client_id.clone();
        move |c| {
            use core_auth::db::schema::clients;
            use diesel::prelude::*;
            diesel::update(clients::table.find(id))
                .set((
                    clients::skip_consent.eq(true),
                    clients::redirect_uris.eq(serde_json::to_string(&[
                        "http://127.0.0.1/login/upstream/up/callback",
                        "http://127.0.0.1/login/upstream/again/callback",
                    ])
                    .unwrap()),
                ))
                .execute(c)
                .unwrap();
        }
    })
    .await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;

    // The button leads to the upstream's sign-in page; its form's answer
    // redirects through /authorize/resume to the downstream (another
    // origin), which the pages' CSP must let the browser follow.
    b.goto(&down.at("/login?next=%2Faccount")).await.unwrap();
    click(b, "a[data-provider=up]").await;
    let up_port = url::Url::parse(&up.url).unwrap().port();
    let mut tries = 0;
    while b.current_url().await.unwrap().port() != up_port {
        tries += 1;
        assert!(tries < 100, "never reached the upstream's sign-in page");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(b.current_url().await.unwrap().path(), "/login");
    fill(b, "#email", "fed@example.com").await;
    fill(b, "#password", PASSWORD).await;
    click(b, "main button[type=submit]").await;
    // Back at the downstream, signed in as a new account.
    at(b, &down.at("/account")).await;
    assert_eq!(see(b, "h1", "Fed Person").await, "Fed Person");
    let ways = text(b, ".link-list").await;
    assert!(ways.contains("Upstream"), "{ways}");
    assert!(ways.contains("Your only way to sign in"), "{ways}");

    // Link "again" from the account page: a page on, then the provider
    // (already signed in there) sends the browser straight back.
    click(b, "form[action='/account/links/add'] button").await;
    click(b, "a[data-continue]").await;
    b.wait()
        .for_element(Locator::Css(".alert.success"))
        .await
        .unwrap();
    see(b, ".alert.success", "Your Again account is linked").await;
    assert_eq!(
        b.find_all(Locator::Css("form[action='/account/links/remove']"))
            .await
            .unwrap()
            .len(),
        2,
        "with two links, each can go"
    );

    // Signed out, the button signs in again without a new account.
    click(b, "header button[type=submit]").await;
    b.goto(&down.at("/login")).await.unwrap();
    click(b, "a[data-provider=up]").await;
    at(b, &down.at("/account")).await;
    assert_eq!(see(b, "h1", "Fed Person").await, "Fed Person");
    assert_eq!(crate::util::user_count(&down).await, 1);
    browser.close().await;
}
