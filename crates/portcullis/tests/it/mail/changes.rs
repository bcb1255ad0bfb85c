//! Email changes, verification resends, links and required verification.

use super::*;

#[actix_web::test]
async fn an_email_change_takes_effect_only_after_the_link() {
    let srv = TestServer::start().await;
    srv.create_user("old@example.com", "Mover", PASSWORD, &[])
        .await;
    srv.create_user("taken@example.com", "Other", PASSWORD, &[])
        .await;
    let b = srv.client();
    srv.sign_in(&b, "old@example.com", PASSWORD).await;
    let change = |to: &'static str, password: &'static str| {
        let (b, srv) = (&b, &srv);
        async move {
            let (_, page) = srv.get(b, "/account/security").await;
            b.post(srv.at("/account/email"))
                .form(&[
                    ("csrf_token", html::csrf(&page).as_str()),
                    ("new_email", to),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        change("new@example.com", "wrong").await.status(),
        422,
        "needs the password"
    );
    assert_eq!(change("new@example.com", PASSWORD).await.status(), 303);
    let e = "old@example.com".to_string();
    let still = srv
        .with_db(move |c| core_auth::users::find_by_email(c, &e).unwrap())
        .await;
    assert!(still.is_some(), "nothing changed before the link");
    let link = srv
        .mails_to("new@example.com")
        .await
        .pop()
        .unwrap()
        .link("/verify-email")
        .unwrap();
    let r = reqwest::get(&link).await.unwrap();
    assert!(r.text().await.unwrap().contains("Email address changed"));
    let e = "new@example.com".to_string();
    let moved = srv
        .with_db(move |c| core_auth::users::find_by_email(c, &e).unwrap())
        .await
        .unwrap();
    assert!(moved.email_verified);
    assert_eq!(
        srv.mails_to("old@example.com").await.pop().unwrap().subject,
        "Your email address was changed"
    );
    // An address that belongs to someone else: the same answer, its owner told.
    assert_eq!(change("taken@example.com", PASSWORD).await.status(), 303);
    assert_eq!(
        srv.mails_to("taken@example.com")
            .await
            .pop()
            .unwrap()
            .subject,
        "Your email address is already in use"
    );
}

#[actix_web::test]
async fn verification_resend_is_rate_limited() {
    let srv = TestServer::start().await;
    register(&srv, "resend@example.com").await;
    let b = srv.client();
    srv.sign_in(&b, "resend@example.com", PASSWORD).await;
    let resend = || async {
        let (_, page) = srv.get(&b, "/account").await;
        let r = b
            .post(srv.at("/verify-email/resend"))
            .form(&[("csrf_token", html::csrf(&page))])
            .send()
            .await
            .unwrap();
        r.headers()["location"].to_str().unwrap().to_string()
    };
    assert!(
        resend().await.ends_with("verification=wait"),
        "one was just sent at registration"
    );
    srv.clock
        .advance(srv.ctx.config.accounts.resend_interval_secs + 1);
    assert!(resend().await.ends_with("verification=sent"));
    assert_eq!(srv.mails_to("resend@example.com").await.len(), 2);
    let links: Vec<String> = srv
        .mails_to("resend@example.com")
        .await
        .iter()
        .map(|m| m.link("/verify-email").unwrap())
        .collect();
    assert_eq!(
        reqwest::get(&links[0]).await.unwrap().status(),
        410,
        "the older link is void"
    );
    assert_eq!(reqwest::get(&links[1]).await.unwrap().status(), 200);
}

#[actix_web::test]
async fn links_use_the_issuer_never_the_host_header() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let (_, page) = srv.get(&c, "/forgot-password").await;
    srv.create_user("host@example.com", "Host", PASSWORD, &[])
        .await;
    c.post(srv.at("/forgot-password"))
        .header("host", "evil.example.com")
        .header("x-forwarded-host", "evil.example.com")
        .form(&[
            ("csrf_token", html::csrf(&page).as_str()),
            ("email", "host@example.com"),
        ])
        .send()
        .await
        .unwrap();
    let mail = srv.mails_to("host@example.com").await.pop().expect("mail");
    assert!(!mail.body.contains("evil.example.com"));
    assert!(mail.link("/reset-password").unwrap().starts_with(&srv.url));
}

#[actix_web::test]
async fn require_verified_email_stops_an_oidc_sign_in_and_offers_a_link() {
    let srv = TestServer::start_with(|c| c.accounts.require_verified_email = true).await;
    register(&srv, "strict@example.com").await;
    let app = srv.web_client().await;
    let b = srv.client();
    srv.sign_in(&b, "strict@example.com", PASSWORD).await;
    let url = testkit::oidc::authorize_url(&srv, &app, &[]);
    let o = srv.drive(&b, &url, None, true).await;
    let testkit::oidc::Outcome::Page { status, body } = o else {
        panic!("expected the verify page")
    };
    assert_eq!(status, 403);
    assert!(body.contains("Confirm your email address first"));
    assert!(body.contains("action=\"/verify-email/resend\""));
    let link = srv
        .mails_to("strict@example.com")
        .await
        .pop()
        .unwrap()
        .link("/verify-email")
        .unwrap();
    reqwest::get(&link).await.unwrap();
    let (c, _) = code(&srv, &b, &app, &[]).await;
    assert!(!c.is_empty(), "verified: the sign-in finishes");
}
