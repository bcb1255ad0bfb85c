//! Confirming who you are through a linked provider instead of a password:
//! an administrator who signed up through a provider (no password) meets
//! the console's ten-minute check, signs in again at the provider (asked
//! for `prompt=login`), and only the identity linked to them counts. The
//! same fresh sign-in lets such an account change its email address.

use super::*;

async fn csrf_of(srv: &TestServer, b: &reqwest::Client, path: &str) -> String {
    html::csrf(&srv.get(b, path).await.1)
}

async fn rotate(srv: &TestServer, b: &reqwest::Client) -> reqwest::Response {
    let token = csrf_of(srv, b, "/admin/keys").await;
    b.post(srv.at("/admin/keys/rotate"))
        .header("Referer", srv.at("/admin/keys"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap()
}

async fn reauth_events(srv: &TestServer) -> Vec<core_auth::audit::Row> {
    srv.with_db(|c| {
        let f = core_auth::audit::Filter {
            event: Some("reauth".into()),
            ..Default::default()
        };
        core_auth::audit::query(c, &f, 100).unwrap()
    })
    .await
}

/// Starts the round trip from the password page's button; returns the
/// provider's authorization URL.
async fn confirm_with(srv: &TestServer, b: &reqwest::Client, next: &str) -> String {
    let token = csrf_of(srv, b, "/account/security").await;
    let r = b
        .post(srv.at("/login/upstream/corp/reauth"))
        .form(&[("csrf_token", token.as_str()), ("next", next)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    location(&r)
}

#[actix_web::test]
async fn an_administrator_without_a_password_confirms_through_the_linked_provider() {
    let fake = Fake::start();
    let srv = TestServer::start_with(|c| {
        c.upstream.push(UpstreamProvider {
            display_name: "Corp".into(),
            allow_registration: true,
            ..fake_provider("corp", &fake)
        })
    })
    .await;
    // Signs up through the provider (no password), then becomes an admin.
    let b = srv.client();
    let r = through_fake(
        &srv,
        &fake,
        &b,
        "corp",
        json!({"email": "boss@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(location(&r), "/account");
    srv.with_db(|c| {
        let u = core_auth::users::find_by_email(c, "boss@example.com")
            .unwrap()
            .unwrap();
        assert!(u.password_hash.is_none());
        core_auth::roles::grant_role(c, &u.id, "admin").unwrap();
    })
    .await;
    let keys_before = srv.get(&b, "/jwks").await.1;

    // Eleven minutes later a sensitive action asks who it is: no password
    // field, a button for the linked provider.
    srv.clock.advance(11 * 60);
    let r = rotate(&srv, &b).await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Confirm it is you"), "{page}");
    assert!(page.contains("Your account has no password"), "{page}");
    assert!(!page.contains("name=\"reauth_password\""), "{page}");
    assert!(
        page.contains("action=\"/login/upstream/corp/reauth\""),
        "{page}"
    );
    assert!(
        page.contains("value=\"/admin/keys\""),
        "back to the page: {page}"
    );

    // Another person's account at the provider confirms nothing.
    let url = confirm_with(&srv, &b, "/admin/keys").await;
    let q = query(&url);
    assert_eq!(q["prompt"], "login", "{url}");
    assert_eq!(q["max_age"], "0", "{url}");
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        srv.ctx.now(),
        json!({"sub": "someone-else", "email": "boss@example.com", "email_verified": true}),
    );
    let r = callback(&srv, &b, "corp", &q["state"]).await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("Not your linked account"));
    assert_eq!(rotate(&srv, &b).await.status().as_u16(), 200, "still asked");
    let events = reauth_events(&srv).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, "failure");

    // The linked identity, freshly signed in: back to the page, and the
    // action goes ahead.
    let url = confirm_with(&srv, &b, "/admin/keys").await;
    let q = query(&url);
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        srv.ctx.now(),
        json!({"email": "boss@example.com", "email_verified": true}),
    );
    let r = callback(&srv, &b, "corp", &q["state"]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/admin/keys");
    let r = rotate(&srv, &b).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    assert_ne!(srv.get(&b, "/jwks").await.1, keys_before, "rotated");
    let events = reauth_events(&srv).await;
    assert_eq!(events.len(), 2);
    assert!(events.iter().any(|e| e.outcome == "success"
        && e.detail.contains("\"method\":\"upstream\"")
        && e.detail.contains("\"provider\":\"corp\"")));

    // Only a linked provider can be used, and only by a signed-in user.
    let token = csrf_of(&srv, &b, "/admin/keys").await;
    let r = b
        .post(srv.at("/login/upstream/nope/reauth"))
        .form(&[("csrf_token", token.as_str()), ("next", "/admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let stranger = srv.client();
    let r = stranger
        .post(srv.at("/login/upstream/corp/reauth"))
        .form(&[("csrf_token", "x"), ("next", "/admin")])
        .send()
        .await
        .unwrap();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(!to.starts_with(&fake.url), "{} {to}", r.status());
    fake.stop().await;
}

#[actix_web::test]
async fn an_account_without_a_password_changes_its_address_after_a_fresh_sign_in() {
    let fake = Fake::start();
    let srv = TestServer::start_with(|c| {
        c.upstream.push(UpstreamProvider {
            display_name: "Corp".into(),
            allow_registration: true,
            ..fake_provider("corp", &fake)
        })
    })
    .await;
    let b = srv.client();
    let r = through_fake(
        &srv,
        &fake,
        &b,
        "corp",
        json!({"email": "ida@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(location(&r), "/account");
    let change = |to: &'static str| {
        let (srv, b) = (&srv, &b);
        async move {
            let token = csrf_of(srv, b, "/account/security").await;
            b.post(srv.at("/account/email"))
                .form(&[("csrf_token", token.as_str()), ("new_email", to)])
                .send()
                .await
                .unwrap()
        }
    };

    // Just signed in: no password asked (the account has none).
    let (_, page) = srv.get(&b, "/account/security").await;
    assert!(page.contains("id=\"confirmed\""), "{page}");
    assert!(!page.contains("name=\"password\""), "{page}");
    assert!(page.contains("id=\"no-password\""), "{page}");
    let r = change("ida.new@example.com").await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    assert_eq!(srv.mails_to("ida.new@example.com").await.len(), 1);

    // Eleven minutes later: refused, with the way to confirm.
    srv.clock.advance(11 * 60);
    let r = change("ida.other@example.com").await;
    assert_eq!(r.status().as_u16(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Your account has no password"), "{page}");
    assert!(
        page.contains("value=\"ida.other@example.com\""),
        "typed value kept"
    );
    assert!(
        page.contains("action=\"/login/upstream/corp/reauth\""),
        "{page}"
    );
    assert!(srv.mails_to("ida.other@example.com").await.is_empty());

    // A fresh sign-in at the linked provider, back to the page, and it goes.
    let url = confirm_with(&srv, &b, "/account/security").await;
    let q = query(&url);
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        srv.ctx.now(),
        json!({"email": "ida@example.com", "email_verified": true}),
    );
    let r = callback(&srv, &b, "corp", &q["state"]).await;
    assert_eq!(location(&r), "/account/security");
    let r = change("ida.other@example.com").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(srv.mails_to("ida.other@example.com").await.len(), 1);
    fake.stop().await;
}

#[actix_web::test]
async fn the_confirmation_page_takes_the_password_and_goes_on_to_a_local_page() {
    let srv = TestServer::start().await;
    let (admin, _) = crate::admin::admin_browser(&srv, "pat@example.com").await;
    srv.clock.advance(11 * 60);
    let (status, page) = srv.get(&admin, "/admin/reauth?next=%2Fadmin%2Fkeys").await;
    assert_eq!(status, 200);
    assert!(page.contains("action=\"/admin/reauth\""), "{page}");
    assert!(page.contains("name=\"reauth_password\""), "{page}");
    let post = |password: &'static str, next: &'static str| {
        let (srv, admin, page) = (&srv, &admin, page.clone());
        async move {
            let token = html::csrf(&page);
            admin
                .post(srv.at("/admin/reauth"))
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("next", next),
                    ("reauth_password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = post("not the password", "/admin/keys").await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("That password is not right."));
    // Still asked: a sensitive action shows the password page.
    let (_, keys) = srv.get(&admin, "/admin/keys").await;
    let r = admin
        .post(srv.at("/admin/keys/rotate"))
        .form(&[("csrf_token", html::csrf(&keys).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = post(PASSWORD, "https://elsewhere.example/").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/admin", "only local pages");
    let r = post(PASSWORD, "/admin/keys").await;
    assert_eq!(location(&r), "/admin/keys");
    let (_, keys) = srv.get(&admin, "/admin/keys").await;
    let r = admin
        .post(srv.at("/admin/keys/rotate"))
        .form(&[("csrf_token", html::csrf(&keys).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "no longer asked");
}

/// An account with a second factor confirms with it too after the linked
/// provider, and only then counts as freshly signed in.
#[actix_web::test]
async fn confirming_through_a_provider_also_asks_for_the_second_factor() {
    let fake = Fake::start();
    let srv = TestServer::start_with(|c| {
        c.upstream.push(UpstreamProvider {
            display_name: "Corp".into(),
            allow_registration: true,
            ..fake_provider("corp", &fake)
        })
    })
    .await;
    let b = srv.client();
    let r = through_fake(
        &srv,
        &fake,
        &b,
        "corp",
        json!({"email": "kim@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(location(&r), "/account");
    let (secret, _) = crate::mfa::set_up_app(&srv, &b).await;
    srv.clock.advance(11 * 60);
    let (_, page) = srv.get(&b, "/account/security").await;
    assert!(!page.contains("id=\"confirmed\""), "the sign-in is old");

    let url = confirm_with(&srv, &b, "/account/security").await;
    let q = query(&url);
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        srv.ctx.now(),
        json!({"email": "kim@example.com", "email_verified": true}),
    );
    let r = callback(&srv, &b, "corp", &q["state"]).await;
    assert_eq!(location(&r), "/login/second-factor");
    let (_, page) = srv.get(&b, "/account/security").await;
    assert!(!page.contains("id=\"confirmed\""), "not before the factor");
    let r = srv
        .submit(
            &b,
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &crate::mfa::code_now(&srv, &secret))],
        )
        .await;
    assert_eq!(location(&r), "/account/security");
    let (_, page) = srv.get(&b, "/account/security").await;
    assert!(page.contains("id=\"confirmed\""), "{page}");
    fake.stop().await;
}
