//! Server-side sessions: renewal at sign-in, death at sign-out, idle and
//! absolute timeouts on the injected clock (no sleeping).

use testkit::{html, TestServer};

use crate::util::{client_with_cookie, location, session_cookie, PASSWORD};

async fn account_status_with_cookie(srv: &TestServer, cookie: &str) -> u16 {
    client_with_cookie()
        .get(srv.at("/account"))
        .header("cookie", format!("portcullis_session={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn sign_in_renews_the_session_id() {
    let srv = TestServer::start().await;
    srv.create_user("renew@example.com", "Renew", PASSWORD, &[])
        .await;
    let c = srv.client();
    let page = c.get(srv.at("/login")).send().await.unwrap();
    let before =
        session_cookie(&page).expect("the sign-in page starts a session (for its CSRF token)");
    let token = html::csrf(&page.text().await.unwrap());
    let r = c
        .post(srv.at("/login"))
        .form(&[
            ("email", "renew@example.com"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let after = session_cookie(&r).expect("sign-in sets a new cookie");
    assert_ne!(before, after, "the session id changes at sign-in");
    assert_eq!(account_status_with_cookie(&srv, &after).await, 200);
    // The pre-sign-in id is dead: an attacker who planted it gains nothing.
    assert_eq!(account_status_with_cookie(&srv, &before).await, 303);
    let n: i64 = srv
        .with_db(|c| {
            use diesel::prelude::*;
            core_auth::db::schema::sessions::table
                .count()
                .get_result(c)
                .unwrap()
        })
        .await;
    assert_eq!(n, 1, "the old session row is gone");
}

#[actix_web::test]
async fn the_old_cookie_is_rejected_after_sign_out() {
    let srv = TestServer::start().await;
    srv.create_user("out@example.com", "Out", PASSWORD, &[])
        .await;
    let c = srv.client();
    let page = c.get(srv.at("/login")).send().await.unwrap();
    let token = html::csrf(&page.text().await.unwrap());
    let r = c
        .post(srv.at("/login"))
        .form(&[
            ("email", "out@example.com"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&r).unwrap();
    let (_, body) = srv.get(&c, "/account").await;
    let r = c
        .post(srv.at("/logout"))
        .form(&[("csrf_token", html::csrf(&body).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cleared = r.headers().get_all("set-cookie").iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("portcullis_session=")
            && (v.contains("Max-Age=0") || v.contains("expires=Thu, 01 Jan 1970"))
    });
    assert!(cleared, "the browser is told to drop the cookie");
    // A copy of the cookie kept by an attacker no longer works.
    assert_eq!(account_status_with_cookie(&srv, &cookie).await, 303);
}

#[actix_web::test]
async fn session_cookie_attributes() {
    let srv = TestServer::start().await;
    srv.create_user("attr@example.com", "Attr", PASSWORD, &[])
        .await;
    let c = srv.client();
    let r = srv
        .submit(
            &c,
            "/login",
            "/login",
            &[("email", "attr@example.com"), ("password", PASSWORD)],
        )
        .await;
    let set = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "http issuer: not Secure ({set})");
    assert!(!set.contains("Max-Age"), "a browser-session cookie: {set}");
}

#[actix_web::test]
async fn https_issuer_makes_the_cookie_secure_and_host_prefixed() {
    let srv = TestServer::start_with(|cfg| {
        cfg.issuer = cfg.issuer.replace("http://", "https://");
    })
    .await;
    let r = srv.client().get(srv.at("/login")).send().await.unwrap();
    let set = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.starts_with("__Host-portcullis_session="), "{set}");
    assert!(set.contains("Secure"), "{set}");
}

#[actix_web::test]
async fn idle_timeout_ends_the_session() {
    let srv = TestServer::start().await;
    srv.create_user("idle@example.com", "Idle", PASSWORD, &[])
        .await;
    let idle = srv.ctx.config.session.idle_timeout_secs;
    let c = srv.client();
    srv.sign_in(&c, "idle@example.com", PASSWORD).await;
    // Activity just inside the idle window keeps it alive, twice over.
    for _ in 0..2 {
        srv.clock.advance(idle - 5);
        let (status, _) = srv.get(&c, "/account").await;
        assert_eq!(status, 200, "used within the idle timeout");
    }
    srv.clock.advance(idle + 1);
    let r = c.get(srv.at("/account")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login"));
}

#[actix_web::test]
async fn absolute_timeout_ends_even_an_active_session() {
    let srv = TestServer::start_with(|cfg| {
        cfg.session.idle_timeout_secs = 600;
        cfg.session.absolute_timeout_secs = 3_000;
    })
    .await;
    srv.create_user("abs@example.com", "Abs", PASSWORD, &[])
        .await;
    let c = srv.client();
    srv.sign_in(&c, "abs@example.com", PASSWORD).await;
    let mut elapsed = 0;
    while elapsed + 500 <= 3_000 {
        srv.clock.advance(500);
        elapsed += 500;
        let (status, _) = srv.get(&c, "/account").await;
        assert_eq!(status, 200, "active at {elapsed}s");
    }
    srv.clock.advance(1);
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 303, "past the absolute timeout despite activity");
}

#[actix_web::test]
async fn pruning_deletes_expired_sessions() {
    let srv = TestServer::start().await;
    srv.create_user("prune@example.com", "Prune", PASSWORD, &[])
        .await;
    let c = srv.client();
    srv.sign_in(&c, "prune@example.com", PASSWORD).await;
    let t = srv.ctx.session_timeouts();
    let now = srv.ctx.now();
    let kept = srv
        .with_db(move |c| core_auth::sessions::prune_expired(c, now, t).unwrap())
        .await;
    assert_eq!(kept, 0);
    let later = now + t.idle + 1;
    let pruned = srv
        .with_db(move |c| core_auth::sessions::prune_expired(c, later, t).unwrap())
        .await;
    assert_eq!(pruned, 1);
}

async fn session_rows(srv: &TestServer) -> i64 {
    srv.with_db(|c| {
        use core_auth::db::schema::sessions::dsl::sessions;
        use diesel::prelude::*;
        sessions.count().get_result::<i64>(c).unwrap()
    })
    .await
}

#[actix_web::test]
async fn anonymous_visits_write_no_rows() {
    let srv = TestServer::start().await;
    srv.create_user("anon@example.com", "Anon", PASSWORD, &[])
        .await;
    let app = srv.web_client().await;
    let authorize = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeKT8sJDjGpMRGz4Q6mc&code_challenge_method=S256",
        app.client_id,
        url::form_urlencoded::byte_serialize(app.redirect_uri.as_bytes()).collect::<String>()
    );
    for _ in 0..20 {
        for path in [
            "/login",
            "/register",
            "/forgot-password",
            authorize.as_str(),
        ] {
            let r = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(srv.at(path))
                .send()
                .await
                .unwrap();
            assert!(
                r.status().is_success() || r.status().is_redirection(),
                "{path}"
            );
            assert!(
                session_cookie(&r).is_some(),
                "{path} sets its state in a cookie"
            );
        }
    }
    assert_eq!(session_rows(&srv).await, 0, "rows per anonymous GET: 0");

    // The sealed state works: the authorization request survives to the
    // sign-in form, the CSRF tokens check, and signing in makes the row.
    let c = srv.client();
    let (_, challenge) = testkit::oidc::pkce();
    let url = testkit::oidc::authorize_url(
        &srv,
        &app,
        &[
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    );
    let out = srv
        .drive(&c, &url, Some(("anon@example.com", PASSWORD)), true)
        .await;
    assert!(!out.code().is_empty());
    assert_eq!(session_rows(&srv).await, 1);

    // A forged or foreign sealed cookie is a fresh anonymous session.
    let r = client_with_cookie()
        .get(srv.at("/account"))
        .header("cookie", "portcullis_session=a.AAAA")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login"));
}

#[actix_web::test]
async fn sessions_per_account_are_capped_oldest_first() {
    let srv = TestServer::start_with(|c| c.session.max_per_user = 3).await;
    srv.create_user("many@example.com", "Many", PASSWORD, &[])
        .await;
    let mut browsers = Vec::new();
    for _ in 0..5 {
        let c = srv.client();
        srv.sign_in(&c, "many@example.com", PASSWORD).await;
        browsers.push(c);
        srv.clock.advance(1);
    }
    assert_eq!(session_rows(&srv).await, 3);
    let mut statuses = Vec::new();
    for c in &browsers {
        statuses.push(srv.get(c, "/account").await.0);
    }
    assert_eq!(statuses, [303, 303, 200, 200, 200], "the two oldest ended");
    let ended = srv
        .with_db(|c| {
            core_auth::audit::query(
                c,
                &core_auth::audit::Filter {
                    event: Some("session_ended".into()),
                    ..Default::default()
                },
                100,
            )
            .unwrap()
        })
        .await;
    let capped = ended
        .iter()
        .filter(|r| r.detail.contains("session_limit"))
        .count();
    assert_eq!(capped, 2);
}
