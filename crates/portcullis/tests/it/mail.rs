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
    // Both paths wrote one outbox row (same work); only one is deliverable.
    let rows: Vec<(String, String)> = srv
        .with_db(|c| {
            use core_auth::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table
                .select((outbox::kind, outbox::status))
                .load(c)
                .unwrap()
        })
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.contains(&("reset_password".into(), "dropped".into())));
}

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

#[actix_web::test]
async fn smtp_transport_delivers_to_a_real_smtp_server_and_survives_an_outage() {
    let Some(mut smtp) = SmtpServer::reserve() else {
        return;
    };
    let port = smtp.port;
    let srv = TestServer::start_with(move |c| {
        c.mail.transport = MailTransport::Smtp;
        c.mail.smtp.host = "127.0.0.1".into();
        c.mail.smtp.port = port;
        c.mail.smtp.tls = SmtpTls::None;
        c.mail.smtp.timeout_secs = 2;
    })
    .await;
    let transport = portcullis::mailer::build(&srv.ctx.config).unwrap();
    // The server is down: the message stays queued.
    register(&srv, "queued@example.com").await;
    let n = portcullis::mailer::deliver_due(&srv.ctx, &transport, "w1")
        .await
        .unwrap();
    assert_eq!(n, 0);
    let backlog = srv
        .with_db(|c| core_auth::mail::outbox::backlog(c).unwrap())
        .await;
    assert_eq!(backlog, 1, "still queued after a failed attempt");
    // Back up: after the backoff it is delivered, exactly once.
    smtp.start();
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w1")
            .await
            .unwrap(),
        0,
        "not before the backoff"
    );
    srv.clock
        .advance(srv.ctx.config.mail.max_retry_interval_secs);
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w1")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w2")
            .await
            .unwrap(),
        0,
        "never twice"
    );
    srv.clock.advance(3600);
    assert_eq!(
        portcullis::mailer::deliver_due(&srv.ctx, &transport, "w2")
            .await
            .unwrap(),
        0
    );
    let got = smtp.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].to, "queued@example.com");
    assert_eq!(got[0].subject, "Confirm your email address");
    let link = got[0].link("/verify-email").unwrap();
    assert_eq!(
        reqwest::get(&link).await.unwrap().status(),
        200,
        "the link read back from the SMTP server works"
    );
    let sent = srv
        .with_db(|c| core_auth::mail::outbox::backlog(c).unwrap())
        .await;
    assert_eq!(sent, 0);
}

#[actix_web::test]
async fn a_crashed_workers_claim_expires_and_the_message_is_sent_by_another() {
    let srv = TestServer::start().await;
    register(&srv, "lease@example.com").await;
    let now = srv.ctx.now();
    // Worker A claims and dies before sending.
    let claimed = srv
        .ctx
        .run(move |ctx| {
            core_auth::mail::outbox::claim_due(
                &mut *ctx.pool.get()?,
                ctx.keys.kek(),
                "dead-worker",
                now,
                10,
            )
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        srv.mails().await.is_empty(),
        "claimed by A: nobody else takes it"
    );
    srv.clock.advance(core_auth::mail::outbox::LEASE_SECS + 1);
    assert_eq!(
        srv.mails_to("lease@example.com").await.len(),
        1,
        "the lease ran out: delivered"
    );
    // Stored payloads are encrypted and emptied once sent.
    let payloads: Vec<String> = srv
        .with_db(|c| {
            use core_auth::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table.select(outbox::payload).load(c).unwrap()
        })
        .await;
    assert!(payloads.iter().all(|p| p.is_empty()), "{payloads:?}");
}

#[actix_web::test]
async fn outbox_payloads_are_encrypted_at_rest() {
    let srv = TestServer::start().await;
    register(&srv, "secret@example.com").await;
    let payload: String = srv
        .with_db(|c| {
            use core_auth::db::schema::outbox;
            use diesel::prelude::*;
            outbox::table.select(outbox::payload).first(c).unwrap()
        })
        .await;
    assert!(payload.starts_with("v1."));
    assert!(
        !payload.contains("verify-email"),
        "the link is not readable in the database"
    );
}
