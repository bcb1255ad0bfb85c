//! The pages in a real browser (headless Chromium).

use fantoccini::Locator;
use testkit::{Browser, TestServer};

use crate::util::PASSWORD;

#[actix_web::test]
async fn register_sign_out_and_sign_in_in_a_browser() {
    let srv = TestServer::start().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;
    b.goto(&srv.at("/register")).await.unwrap();
    b.find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys("Katherine Johnson")
        .await
        .unwrap();
    b.find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys("katherine@example.com")
        .await
        .unwrap();
    b.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("short")
        .await
        .unwrap();
    b.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Rejected: the error is shown and the typed values are still there.
    let err = b
        .wait()
        .for_element(Locator::Css("#password-error"))
        .await
        .unwrap();
    assert!(err.text().await.unwrap().contains("at least 8"));
    let name = b
        .find(Locator::Css("#name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("Katherine Johnson"));
    b.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_url(&url::Url::parse(&srv.at("/account")).unwrap())
        .await
        .unwrap();
    let h1 = b
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, "Katherine Johnson");

    b.find(Locator::Css("header button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = b
        .wait()
        .for_element(Locator::Css(".alert.success"))
        .await
        .unwrap();
    assert!(notice.text().await.unwrap().contains("signed out"));

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
    b.find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys("katherine@example.com")
        .await
        .unwrap();
    b.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_url(&url::Url::parse(&srv.at("/account")).unwrap())
        .await
        .unwrap();
    browser.close().await;
}
