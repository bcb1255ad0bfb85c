//! Email: verification, forgotten password, password and email change, the
//! durable outbox, and a real SMTP server.

use core_auth::config::{MailTransport, SmtpTls};
use testkit::mail::SmtpServer;
use testkit::{html, TestServer};

use crate::oidc_support::{code, exchange, refresh, s, userinfo_status};
use crate::util::{user_count, PASSWORD};

async fn register(srv: &TestServer, email: &str) -> reqwest::Response {
    let c = srv.client();
    srv.submit(
        &c,
        "/register",
        "/register",
        &[
            ("email", email),
            ("name", "Mail Person"),
            ("password", PASSWORD),
        ],
    )
    .await
}

async fn verified(srv: &TestServer, email: &str) -> bool {
    let e = email.to_string();
    srv.with_db(move |c| {
        core_auth::users::find_by_email(c, &e)
            .unwrap()
            .unwrap()
            .email_verified
    })
    .await
}

#[actix_web::test]
async fn the_verification_link_works_once_and_sets_email_verified() {
    let srv = TestServer::start().await;
    let r = register(&srv, "verify@example.com").await;
    assert_eq!(r.status(), 200);
    let mails = srv.mails_to("verify@example.com").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Confirm your email address");
    let link = mails[0].link("/verify-email").expect("a link");
    assert!(link.starts_with(&srv.url), "links use the issuer: {link}");
    assert!(!verified(&srv, "verify@example.com").await);
    let r = reqwest::get(&link).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Email address confirmed"));
    assert!(verified(&srv, "verify@example.com").await);
    let again = reqwest::get(&link).await.unwrap();
    assert_eq!(again.status(), 410, "single use");
    // email_verified reaches the ID token.
    let app = srv.web_client().await;
    let b = srv.client();
    srv.sign_in(&b, "verify@example.com", PASSWORD).await;
    let (c, v) = code(&srv, &b, &app, &[]).await;
    let (_, t) = exchange(&srv, &app, &c, &v).await;
    assert_eq!(
        crate::oidc_support::jwt_claims(&s(&t, "id_token"))["email_verified"],
        true
    );
}

#[actix_web::test]
async fn an_expired_verification_link_fails() {
    let srv = TestServer::start().await;
    register(&srv, "late@example.com").await;
    let link = srv.mails_to("late@example.com").await[0]
        .link("/verify-email")
        .unwrap();
    srv.clock
        .advance(srv.ctx.config.accounts.verification_link_lifetime_secs + 1);
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 410);
    assert!(!verified(&srv, "late@example.com").await);
}

#[actix_web::test]
async fn duplicate_registration_mails_the_owner_and_creates_nothing() {
    let srv = TestServer::start().await;
    srv.create_user("owner@example.com", "Owner", PASSWORD, &[])
        .await;
    let fresh = register(&srv, "new@example.com")
        .await
        .text()
        .await
        .unwrap();
    let dup = register(&srv, "OWNER@example.com")
        .await
        .text()
        .await
        .unwrap();
    let strip = |b: &str, e: &str| b.replace(e, "EMAIL");
    assert_eq!(
        strip(&fresh, "new@example.com"),
        strip(&dup, "OWNER@example.com"),
        "the same page"
    );
    assert_eq!(user_count(&srv).await, 2);
    let to_owner = srv.mails_to("owner@example.com").await;
    assert_eq!(to_owner.len(), 1);
    assert_eq!(to_owner[0].subject, "You already have an account");
    assert!(to_owner[0].link("/verify-email").is_none());
}

#[actix_web::test]
async fn forgotten_password_answers_the_same_for_known_and_unknown_addresses() {
    let srv = TestServer::start().await;
    srv.create_user("known@example.com", "Known", PASSWORD, &[])
        .await;
    let c = srv.client();
    let mut pages = Vec::new();
    for email in ["known@example.com", "unknown@example.com"] {
        let r = srv
            .submit(
                &c,
                "/forgot-password",
                "/forgot-password",
                &[("email", email)],
            )
            .await;
        assert_eq!(r.status(), 200);
        pages.push(r.text().await.unwrap().replace(email, "EMAIL"));
    }
    assert_eq!(pages[0], pages[1]);
    assert_eq!(srv.mails_to("known@example.com").await.len(), 1);
    assert!(
        srv.mails_to("unknown@example.com").await.is_empty(),
        "nothing is sent to an unknown address"
    );
    // Both requests were queued alike; the worker made a mail of the known
    // one and dropped the other.
    let mut rows: Vec<(String, String)> = srv
        .with_db(|c| {
            use core_auth::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table
                .select((outbox::kind, outbox::status))
                .load(c)
                .unwrap()
        })
        .await;
    rows.sort();
    let row = |k: &str, s: &str| (k.to_string(), s.to_string());
    assert_eq!(
        rows,
        [
            row("reset_password", "sent"),
            row("reset_request", "dropped"),
            row("reset_request", "sent"),
        ]
    );
}

mod changes;
mod delivery;
mod reset;
