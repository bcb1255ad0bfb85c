//! An authenticator app and recovery codes, over HTTP.

use testkit::TestServer;

use super::{code_now, password_step, set_up_app};
use crate::util::{location, PASSWORD};

#[actix_web::test]
async fn an_app_is_asked_for_after_the_password_and_codes_work_once() {
    let srv = TestServer::start().await;
    srv.create_user("ada@example.com", "Ada", PASSWORD, &[])
        .await;
    let c = srv.client();
    srv.sign_in(&c, "ada@example.com", PASSWORD).await;
    let (secret, codes) = set_up_app(&srv, &c).await;
    let (_, page) = srv.get(&c, "/account/two-factor").await;
    assert!(page.contains("id=\"totp-on\""), "{page}");
    assert!(page.contains("10 of 10 left"));

    // A new sign-in stops after the password.
    let c = srv.client();
    assert_eq!(
        password_step(&srv, &c, "ada@example.com").await,
        "/login/second-factor"
    );
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 303, "not signed in before the second step");
    // The code that turned the app on was of this step: a replay.
    let used = code_now(&srv, &secret);
    let r = srv
        .submit(
            &c,
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &used)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.text().await.unwrap().contains("just used"));
    srv.clock.advance(30);
    let fresh = code_now(&srv, &secret);
    let r = srv
        .submit(
            &c,
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &fresh)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/account");
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 200);

    // A recovery code, once.
    let c = srv.client();
    password_step(&srv, &c, "ada@example.com").await;
    let r = srv
        .submit(
            &c,
            "/login/second-factor",
            "/login/second-factor",
            &[("recovery_code", &codes[3].to_uppercase())],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let c = srv.client();
    password_step(&srv, &c, "ada@example.com").await;
    let r = srv
        .submit(
            &c,
            "/login/second-factor",
            "/login/second-factor",
            &[("recovery_code", &codes[3])],
        )
        .await;
    assert_eq!(r.status().as_u16(), 401, "a recovery code works once");
    let page = r.text().await.unwrap();
    assert!(page.contains("9 left"), "{page}");
}

#[actix_web::test]
async fn the_second_step_expires_and_wrong_codes_lock_the_account() {
    let srv = TestServer::start_with(|c| c.throttle.sign_in_max_failures = 3).await;
    srv.create_user("bo@example.com", "Bo", PASSWORD, &[]).await;
    let c = srv.client();
    srv.sign_in(&c, "bo@example.com", PASSWORD).await;
    let (secret, _) = set_up_app(&srv, &c).await;

    let c = srv.client();
    password_step(&srv, &c, "bo@example.com").await;
    srv.clock.advance(301);
    let (status, _) = srv.get(&c, "/login/second-factor").await;
    assert_eq!(status, 303, "five minutes for the second step");

    let c = srv.client();
    password_step(&srv, &c, "bo@example.com").await;
    for _ in 0..3 {
        let r = srv
            .submit(
                &c,
                "/login/second-factor",
                "/login/second-factor",
                &[("code", "000000")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    srv.clock.advance(30);
    let right = code_now(&srv, &secret);
    let r = srv
        .submit(
            &c,
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &right)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 429, "the account's throttle");
    assert!(r.headers().get("retry-after").is_some());
}

#[actix_web::test]
async fn changing_factors_needs_a_recent_sign_in_and_the_page_shows_what_is_there() {
    let srv = TestServer::start().await;
    srv.create_user("cy@example.com", "Cy", PASSWORD, &[]).await;
    let c = srv.client();
    srv.sign_in(&c, "cy@example.com", PASSWORD).await;
    let (_, page) = srv.get(&c, "/account/two-factor").await;
    // The test server's issuer is an IP address: the page says why there
    // are no passkeys instead of failing.
    assert!(page.contains("id=\"passkeys-unavailable\""), "{page}");
    assert!(page.contains("IP address"));
    set_up_app(&srv, &c).await;
    srv.clock.advance(601);
    let (status, _) = srv.get(&c, "/account/two-factor/app").await;
    assert_eq!(status, 303);
    let (_, page) = srv.get(&c, "/account/two-factor").await;
    assert!(page.contains("id=\"confirm-first\""));
    let r = srv
        .submit(
            &c,
            "/account/two-factor",
            "/account/two-factor/app/remove",
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).starts_with("/login?prompt=login"));
    let (_, page) = srv.get(&c, "/account/two-factor").await;
    assert!(page.contains("id=\"totp-on\""), "still on");
}
