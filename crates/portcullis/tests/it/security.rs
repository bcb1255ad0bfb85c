//! Abuse resistance, roles and the audit log (issue 6).

use core_auth::audit::{self, Filter, Row};
use core_auth::config::Quota;
use core_auth::{roles, throttle};
use testkit::{html, TestServer};

use crate::oidc_support::{code, exchange, jwt_claims, refresh, s, signed_in};
use crate::util::PASSWORD;

async fn events(srv: &TestServer, event: &str) -> Vec<Row> {
    let f = Filter {
        event: Some(event.to_string()),
        ..Filter::default()
    };
    srv.with_db(move |c| audit::query(c, &f, 1000).unwrap())
        .await
}

async fn try_sign_in(srv: &TestServer, email: &str, password: &str) -> reqwest::Response {
    let c = srv.client();
    srv.submit(
        &c,
        "/login",
        "/login",
        &[("email", email), ("password", password)],
    )
    .await
}

#[actix_web::test]
async fn the_sixth_failed_sign_in_answers_429_for_known_and_unknown_addresses_alike() {
    // The per-IP limit would step in first (every attempt comes from
    // 127.0.0.1): this test is about the per-account throttle.
    let srv = TestServer::start_with(|c| c.rate_limits.enabled = false).await;
    srv.create_user("target@example.com", "Target", PASSWORD, &[])
        .await;
    for email in ["target@example.com", "ghost@example.com"] {
        for i in 1..=5 {
            let r = try_sign_in(&srv, email, "wrong password").await;
            assert_eq!(r.status(), 401, "{email} attempt {i}");
        }
        // Now even the right password is refused until the window ends.
        let r = try_sign_in(&srv, email, PASSWORD).await;
        assert_eq!(r.status(), 429, "{email}");
        let retry: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0 && retry <= 900, "{retry}");
        assert!(r.text().await.unwrap().contains("Too many failed sign-ins"));
    }
    assert!(
        !events(&srv, "throttled").await.is_empty(),
        "throttling is audited"
    );
    // The window passes: sign-in works again (and resets the count).
    srv.clock
        .advance(srv.ctx.config.throttle.sign_in_window_secs + 1);
    assert_eq!(
        try_sign_in(&srv, "target@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    for _ in 1..=4 {
        assert_eq!(
            try_sign_in(&srv, "target@example.com", "wrong")
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        try_sign_in(&srv, "target@example.com", PASSWORD)
            .await
            .status(),
        303,
        "success reset the count"
    );
}

#[actix_web::test]
async fn an_admin_can_clear_a_throttle() {
    let srv = TestServer::start().await;
    srv.create_user("locked@example.com", "Locked", PASSWORD, &[])
        .await;
    for _ in 0..5 {
        try_sign_in(&srv, "locked@example.com", "nope nope").await;
    }
    assert_eq!(
        try_sign_in(&srv, "locked@example.com", PASSWORD)
            .await
            .status(),
        429
    );
    let cleared = srv
        .with_db(|c| throttle::clear(c, throttle::Kind::SignIn, "LOCKED@example.com").unwrap())
        .await;
    assert!(cleared);
    assert_eq!(
        try_sign_in(&srv, "locked@example.com", PASSWORD)
            .await
            .status(),
        303
    );
}

#[actix_web::test]
async fn two_nodes_on_one_database_share_the_account_throttle() {
    let a = TestServer::start().await;
    let b = a.start_sibling(|_| {}).await;
    assert_ne!(a.url, b.url);
    a.create_user("shared@example.com", "Shared", PASSWORD, &[])
        .await;
    for _ in 0..3 {
        assert_eq!(
            try_sign_in(&a, "shared@example.com", "bad").await.status(),
            401
        );
    }
    for _ in 0..2 {
        assert_eq!(
            try_sign_in(&b, "shared@example.com", "bad").await.status(),
            401
        );
    }
    // Five failures across two nodes: both refuse now.
    assert_eq!(
        try_sign_in(&a, "shared@example.com", PASSWORD)
            .await
            .status(),
        429
    );
    assert_eq!(
        try_sign_in(&b, "shared@example.com", PASSWORD)
            .await
            .status(),
        429
    );
}

#[actix_web::test]
async fn the_ip_limiter_answers_429_past_its_quota_with_json_on_protocol_endpoints() {
    let srv = TestServer::start_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.sign_in = Quota {
            per_minute: 1,
            burst: 3,
        };
        c.rate_limits.token = Quota {
            per_minute: 1,
            burst: 2,
        };
    })
    .await;
    let c = srv.client();
    let (_, page) = srv.get(&c, "/login").await;
    let token = html::csrf(&page);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = c
            .post(srv.at("/login"))
            .form(&[
                ("email", "x@example.com"),
                ("password", "whatever it is"),
                ("csrf_token", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        statuses.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    assert_eq!(statuses[..3], [(401, false), (401, false), (401, false)]);
    assert_eq!(
        statuses[3],
        (429, true),
        "the fourth submission is over the burst"
    );
    // GET of the page is not limited.
    assert_eq!(srv.get(&c, "/login").await.0, 200);
    // Protocol endpoints answer JSON.
    let mut last = None;
    for _ in 0..3 {
        last = Some(
            srv.post_form(
                "/token",
                &[("grant_type", "client_credentials")],
                Some(("nobody", "nothing")),
            )
            .await,
        );
    }
    let (status, headers, body) = last.unwrap();
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_some());
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(!events(&srv, "sign_in").await.is_empty());
}

#[actix_web::test]
async fn a_spoofed_x_forwarded_for_is_ignored_without_trusted_proxies() {
    let limited = |trusted: bool| async move {
        let srv = TestServer::start_with(move |c| {
            c.rate_limits.enabled = true;
            c.rate_limits.sign_in = Quota {
                per_minute: 1,
                burst: 2,
            };
            if trusted {
                c.trusted_proxies = vec!["127.0.0.1".into()];
            }
        })
        .await;
        let c = srv.client();
        let (_, page) = srv.get(&c, "/login").await;
        let token = html::csrf(&page);
        let mut statuses = Vec::new();
        for i in 0..4 {
            let r = c
                .post(srv.at("/login"))
                .header("x-forwarded-for", format!("198.51.100.{i}"))
                .form(&[
                    ("email", "x@example.com"),
                    ("password", "whatever it is"),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
        }
        let ips: Vec<String> = events(&srv, "sign_in")
            .await
            .into_iter()
            .map(|r| r.ip)
            .collect();
        (statuses, ips)
    };
    let (spoofed, ips) = limited(false).await;
    assert!(
        spoofed.contains(&429),
        "one peer, one bucket, whatever the header says: {spoofed:?}"
    );
    assert!(
        ips.iter().all(|ip| ip == "127.0.0.1"),
        "the audit log records the peer: {ips:?}"
    );
    let (proxied, ips) = limited(true).await;
    assert!(
        !proxied.contains(&429),
        "behind a trusted proxy each client has its own bucket: {proxied:?}"
    );
    assert!(
        ips.iter().any(|ip| ip.starts_with("198.51.100.")),
        "{ips:?}"
    );
}

#[actix_web::test]
async fn a_non_admin_gets_403_on_admin_routes_and_the_denial_is_audited() {
    let srv = TestServer::start().await;
    srv.create_user("admin@example.com", "Admin", PASSWORD, &["admin"])
        .await;
    let victim = srv
        .create_user("victim@example.com", "Victim", PASSWORD, &[])
        .await;
    let b = signed_in(&srv, "mallory@example.com").await;
    assert_eq!(srv.get(&b, "/admin").await.0, 403);
    let (_, page) = srv.get(&b, "/account").await;
    let r = b
        .post(srv.at(&format!("/admin/users/{}/delete", victim.user.id)))
        .form(&[("csrf_token", html::csrf(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let denied = events(&srv, "permission_denied").await;
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0].outcome, "denied");
    assert!(denied.iter().any(|r| r.detail.contains("/delete")));
    // The admin can delete; the last admin cannot be deleted.
    let admin = srv.client();
    srv.sign_in(&admin, "admin@example.com", PASSWORD).await;
    let (_, page) = srv.get(&admin, "/admin").await;
    let r = admin
        .post(srv.at(&format!("/admin/users/{}/delete", victim.user.id)))
        .form(&[("csrf_token", html::csrf(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let deleted = events(&srv, "admin_user_deleted").await;
    assert_eq!(
        deleted[0].subject_user_id.as_deref(),
        Some(victim.user.id.as_str())
    );
    assert!(deleted[0].actor_user_id.is_some(), "the actor is recorded");
    let admin_id = srv
        .with_db(|c| {
            core_auth::users::find_by_email(c, "admin@example.com")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    let r = admin
        .post(srv.at(&format!("/admin/users/{admin_id}/delete")))
        .form(&[("csrf_token", html::csrf(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the last admin stays");
}

#[actix_web::test]
async fn the_roles_claim_appears_with_the_roles_scope_only() {
    let srv = TestServer::start_with(|c| c.tokens.roles_claim = "portcullis_roles".into()).await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "roles@example.com").await;
    let now = srv.ctx.now();
    srv.with_db(move |c| {
        let u = core_auth::users::find_by_email(c, "roles@example.com")
            .unwrap()
            .unwrap();
        roles::create_role(c, "editor", "", now).unwrap();
        roles::create_role(c, "auditor", "", now).unwrap();
        roles::grant_role(c, &u.id, "editor").unwrap();
        let g = roles::create_group(c, "compliance", "", now).unwrap();
        roles::grant_group_role(c, &g.id, "auditor").unwrap();
        roles::add_member(c, &g.id, &u.id).unwrap();
    })
    .await;
    let (c1, v1) = code(&srv, &b, &app, &[("scope", "openid email")]).await;
    let (_, without) = exchange(&srv, &app, &c1, &v1).await;
    assert!(jwt_claims(&s(&without, "id_token"))
        .get("portcullis_roles")
        .is_none());
    assert!(jwt_claims(&s(&without, "access_token"))
        .get("portcullis_roles")
        .is_none());
    let (c2, v2) = code(&srv, &b, &app, &[("scope", "openid roles offline_access")]).await;
    let (_, with) = exchange(&srv, &app, &c2, &v2).await;
    let expected = serde_json::json!(["auditor", "editor", "user"]);
    assert_eq!(
        jwt_claims(&s(&with, "id_token"))["portcullis_roles"],
        expected,
        "direct and group roles"
    );
    assert_eq!(
        jwt_claims(&s(&with, "access_token"))["portcullis_roles"],
        expected
    );
    let info: serde_json::Value = reqwest::Client::new()
        .get(srv.at("/userinfo"))
        .bearer_auth(s(&with, "access_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["portcullis_roles"], expected);
    let (_, refreshed) = refresh(&srv, &app, &s(&with, "refresh_token"), Some("openid")).await;
    assert!(
        jwt_claims(&s(&refreshed, "access_token"))
            .get("portcullis_roles")
            .is_none(),
        "narrowed without roles"
    );
}

/// Posts an account form of the signed-in `client` (`/account/password` or
/// `/account/email`) with the security page's CSRF token.
async fn account_form(
    srv: &TestServer,
    client: &reqwest::Client,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    srv.submit(client, "/account/security", action, fields)
        .await
}

/// The password asked by an account form counts against the account's
/// sign-in throttle: `max` wrong ones lock the form and `/login` alike,
/// and the form says so in words, with `Retry-After`.
async fn wrong_passwords_lock_the_account(action: &str, field: &str, other: (&str, &str)) {
    let srv = TestServer::start().await;
    let email = "careful@example.com";
    srv.create_user(email, "Careful", PASSWORD, &[]).await;
    let b = srv.client();
    srv.sign_in(&b, email, PASSWORD).await;
    let max = srv.ctx.config.throttle.sign_in_max_failures;
    for i in 1..=max {
        let r = account_form(&srv, &b, action, &[(field, "not my password"), other]).await;
        assert_eq!(r.status(), 422, "attempt {i}");
        assert!(r.text().await.unwrap().contains("is not right"));
    }
    // Locked: even the right password is refused, and /login is too.
    let r = account_form(&srv, &b, action, &[(field, PASSWORD), other]).await;
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= srv.ctx.config.throttle.sign_in_window_secs);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Too many attempts") && body.contains("try again in 15 minutes"),
        "{body}"
    );
    let r = try_sign_in(&srv, email, PASSWORD).await;
    assert_eq!(r.status(), 429, "the sign-in page shares the throttle");
    assert!(r.text().await.unwrap().contains("Too many failed sign-ins"));
    // Nothing changed, and every refusal has its row.
    assert!(srv.mails_to("elsewhere@example.com").await.is_empty());
    assert!(srv.mails_to(email).await.is_empty(), "no notice mailed");
    let event = if action == "/account/password" {
        "password_changed"
    } else {
        "email_change_requested"
    };
    let rows = events(&srv, event).await;
    assert!(rows.iter().all(|r| r.outcome == "failure"), "{rows:?}");
    assert_eq!(rows.len(), max as usize + 1);
    assert!(rows[0].detail.contains("throttled"));
    assert!(rows[1].detail.contains("bad_credentials"));
    assert!(rows[1]
        .detail
        .contains(&format!("\"failures_in_window\":{max}")));
    assert_eq!(events(&srv, "throttled").await.len(), 1);
    // The window passes: the right password works again.
    srv.clock
        .advance(srv.ctx.config.throttle.sign_in_window_secs + 1);
    let r = account_form(&srv, &b, action, &[(field, PASSWORD), other]).await;
    assert_eq!(r.status(), 303);
}

#[actix_web::test]
async fn wrong_current_passwords_on_the_password_form_throttle_the_account() {
    wrong_passwords_lock_the_account(
        "/account/password",
        "current_password",
        ("new_password", "a brand new passphrase"),
    )
    .await;
}

#[actix_web::test]
async fn wrong_passwords_proving_an_email_change_throttle_the_account() {
    wrong_passwords_lock_the_account(
        "/account/email",
        "password",
        ("new_email", "elsewhere@example.com"),
    )
    .await;
}

#[actix_web::test]
async fn failed_sign_ins_lock_the_password_form_too() {
    let srv = TestServer::start().await;
    srv.create_user("both@example.com", "Both", PASSWORD, &[])
        .await;
    let b = srv.client();
    srv.sign_in(&b, "both@example.com", PASSWORD).await;
    for _ in 0..srv.ctx.config.throttle.sign_in_max_failures {
        try_sign_in(&srv, "both@example.com", "guessing away").await;
    }
    let r = account_form(
        &srv,
        &b,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(r.status(), 429);
}

#[actix_web::test]
async fn the_account_password_forms_share_the_sign_in_ip_limit() {
    let srv = TestServer::start_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.sign_in = Quota {
            per_minute: 1,
            burst: 3,
        };
    })
    .await;
    srv.create_user("ip@example.com", "IP", PASSWORD, &[]).await;
    let b = srv.client();
    srv.sign_in(&b, "ip@example.com", PASSWORD).await;
    let pw = [
        ("current_password", "not it"),
        ("new_password", "a brand new passphrase"),
    ];
    let email = [("password", "not it"), ("new_email", "x@example.com")];
    assert_eq!(
        account_form(&srv, &b, "/account/password", &pw)
            .await
            .status(),
        422
    );
    assert_eq!(
        account_form(&srv, &b, "/account/email", &email)
            .await
            .status(),
        422
    );
    // The sign-in above and these two used the burst of three.
    for (action, fields) in [("/account/password", &pw), ("/account/email", &email)] {
        let r = account_form(&srv, &b, action, fields).await;
        assert_eq!(r.status(), 429, "{action}");
        assert!(r.headers().get("retry-after").is_some());
    }
    assert_eq!(
        events(&srv, "password_changed").await.len(),
        1,
        "the limited request never reached the password check"
    );
}
