//! Each audited event family produces its row; no row and no log line
//! carries a password, code, token or secret.

use core_auth::audit::{self, Filter, Row};
use diesel::prelude::*;
use testkit::{html, TestServer};

use crate::oidc_support::{code, exchange, refresh, s, signed_in};
use crate::util::PASSWORD;

async fn all_events(srv: &TestServer) -> Vec<Row> {
    srv.with_db(|c| audit::query(c, &Filter::default(), 10_000).unwrap())
        .await
}

async fn has(srv: &TestServer, event: &str, outcome: &str) -> Row {
    let rows = all_events(srv).await;
    rows.iter()
        .find(|r| r.event == event && r.outcome == outcome)
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no {event}/{outcome} row in {:?}",
                rows.iter()
                    .map(|r| (&r.event, &r.outcome))
                    .collect::<Vec<_>>()
            )
        })
}

#[actix_web::test]
async fn sign_in_and_session_events() {
    let srv = TestServer::start().await;
    let u = srv
        .create_user("audit@example.com", "Audit", PASSWORD, &[])
        .await;
    let c = srv.client();
    srv.submit(
        &c,
        "/login",
        "/login",
        &[("email", "audit@example.com"), ("password", "wrong one")],
    )
    .await;
    srv.submit(
        &c,
        "/login",
        "/login",
        &[("email", "nobody@example.com"), ("password", "wrong one")],
    )
    .await;
    srv.sign_in(&c, "audit@example.com", PASSWORD).await;
    let (_, page) = srv.get(&c, "/account").await;
    c.post(srv.at("/logout"))
        .form(&[("csrf_token", html::csrf(&page))])
        .send()
        .await
        .unwrap();
    let ok = has(&srv, "sign_in", "success").await;
    assert_eq!(ok.subject_user_id.as_deref(), Some(u.user.id.as_str()));
    assert_eq!(ok.ip, "127.0.0.1");
    assert!(ok.user_agent.is_empty() || !ok.user_agent.contains("password"));
    let fails: Vec<Row> = all_events(&srv)
        .await
        .into_iter()
        .filter(|r| r.event == "sign_in" && r.outcome == "failure")
        .collect();
    assert_eq!(fails.len(), 2);
    assert!(fails.iter().all(|r| r.detail.contains("bad_credentials")));
    assert!(
        fails.iter().any(|r| r.subject_user_id.is_none()),
        "an unknown address has no subject"
    );
    let started = has(&srv, "session_started", "success").await;
    let ended = has(&srv, "session_ended", "success").await;
    assert!(started.session_id.is_some());
    assert_eq!(
        started.session_id, ended.session_id,
        "the same session, by its public id"
    );
}

#[actix_web::test]
async fn account_events() {
    let srv = TestServer::start().await;
    let c = srv.client();
    srv.submit(
        &c,
        "/register",
        "/register",
        &[
            ("email", "acct@example.com"),
            ("name", "Acct"),
            ("password", PASSWORD),
        ],
    )
    .await;
    has(&srv, "registration", "success").await;
    srv.submit(
        &c,
        "/register",
        "/register",
        &[
            ("email", "acct@example.com"),
            ("name", "Again"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert!(has(&srv, "registration", "failure")
        .await
        .detail
        .contains("address_in_use"));
    let link = srv.mails_to("acct@example.com").await[0]
        .link("/verify-email")
        .unwrap();
    reqwest::get(&link).await.unwrap();
    has(&srv, "email_verified", "success").await;
    srv.submit(
        &c,
        "/forgot-password",
        "/forgot-password",
        &[("email", "acct@example.com")],
    )
    .await;
    has(&srv, "password_reset_requested", "success").await;
    srv.submit(
        &c,
        "/forgot-password",
        "/forgot-password",
        &[("email", "nope@example.com")],
    )
    .await;
    // The request is recorded alike for both addresses; the mail worker
    // records what it made of each.
    let requested = all_events(&srv)
        .await
        .into_iter()
        .filter(|r| r.event == "password_reset_requested")
        .map(|r| (r.outcome, r.subject_user_id, r.detail, r.ip))
        .collect::<Vec<_>>();
    assert_eq!(requested.len(), 2, "{requested:?}");
    assert_eq!(requested[0], requested[1], "the same row for both");
    let reset = srv
        .mails_to("acct@example.com")
        .await
        .pop()
        .unwrap()
        .link("/reset-password")
        .unwrap();
    assert!(has(&srv, "password_reset_mailed", "success")
        .await
        .subject_user_id
        .is_some());
    let unknown = has(&srv, "password_reset_mailed", "failure").await;
    assert!(unknown.detail.contains("unknown_address"));
    assert!(unknown.subject_user_id.is_none());
    assert_eq!(unknown.ip, requested[0].3, "audited as the requester");
    let page = c.get(&reset).send().await.unwrap().text().await.unwrap();
    c.post(srv.at("/reset-password"))
        .form(&[
            ("csrf_token", html::csrf(&page)),
            ("token", html::input_value(&page, "token").unwrap()),
            ("password", "reset to this phrase".into()),
        ])
        .send()
        .await
        .unwrap();
    has(&srv, "password_reset_completed", "success").await;
    srv.sign_in(&c, "acct@example.com", "reset to this phrase")
        .await;
    let (_, page) = srv.get(&c, "/account/security").await;
    c.post(srv.at("/account/password"))
        .form(&[
            ("csrf_token", html::csrf(&page).as_str()),
            ("current_password", "reset to this phrase"),
            ("new_password", "changed again phrase"),
        ])
        .send()
        .await
        .unwrap();
    has(&srv, "password_changed", "success").await;
    let (_, page) = srv.get(&c, "/account/security").await;
    c.post(srv.at("/account/email"))
        .form(&[
            ("csrf_token", html::csrf(&page).as_str()),
            ("new_email", "moved@example.com"),
            ("password", "changed again phrase"),
        ])
        .send()
        .await
        .unwrap();
    has(&srv, "email_change_requested", "success").await;
    let link = srv
        .mails_to("moved@example.com")
        .await
        .pop()
        .unwrap()
        .link("/verify-email")
        .unwrap();
    reqwest::get(&link).await.unwrap();
    has(&srv, "email_changed", "success").await;
}

#[actix_web::test]
async fn consent_code_and_token_events() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "tokens@example.com").await;
    let url = testkit::oidc::authorize_url(&srv, &app, &[]);
    srv.drive(&b, &url, None, false).await;
    has(&srv, "consent", "denied").await;
    let (c, v) = code(&srv, &b, &app, &[("scope", "openid offline_access")]).await;
    assert_eq!(
        has(&srv, "consent_granted", "success")
            .await
            .client_id
            .as_deref(),
        Some(app.client_id.as_str())
    );
    has(&srv, "code_issued", "success").await;
    let (_, t) = exchange(&srv, &app, &c, &v).await;
    assert!(has(&srv, "token_issued", "success")
        .await
        .detail
        .contains("authorization_code"));
    exchange(&srv, &app, &c, &v).await;
    has(&srv, "code_replayed", "failure").await;
    let (c, v) = code(&srv, &b, &app, &[("scope", "openid offline_access")]).await;
    let (_, t2) = exchange(&srv, &app, &c, &v).await;
    let (_, r) = refresh(&srv, &app, &s(&t2, "refresh_token"), None).await;
    has(&srv, "token_refreshed", "success").await;
    refresh(&srv, &app, &s(&t2, "refresh_token"), None).await;
    has(&srv, "refresh_reuse_detected", "failure").await;
    // Tokens of the replayed code and the reused family are already
    // revoked; revoke a live one.
    let _ = t;
    let (c, v) = code(&srv, &b, &app, &[("scope", "openid")]).await;
    let (_, t3) = exchange(&srv, &app, &c, &v).await;
    srv.post_form(
        "/revoke",
        &[("token", &s(&t3, "access_token"))],
        Some((&app.client_id, app.secret.as_deref().unwrap())),
    )
    .await;
    let revoked = has(&srv, "token_revoked", "success").await;
    assert!(revoked.detail.contains("access_token"));
    let _ = r;
    let (_, page) = srv.get(&b, "/account").await;
    b.post(srv.at("/account/consents/withdraw"))
        .form(&[
            ("csrf_token", html::csrf(&page).as_str()),
            ("client_id", app.client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    has(&srv, "consent_withdrawn", "success").await;
}

#[actix_web::test]
async fn key_rotation_events() {
    let srv = TestServer::start().await;
    let created = has(&srv, "key_created", "success").await;
    assert!(created.detail.contains("kid"));
    let now = srv.ctx.now();
    srv.ctx
        .run(move |ctx| -> core_auth::CoreResult<()> {
            core_auth::keys::store::maintain(
                &ctx.pool,
                ctx.keys.kek(),
                &ctx.config,
                &core_auth::actor::Actor::system(),
                now,
                true,
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    has(&srv, "key_rotated", "success").await;
    has(&srv, "key_retired", "success").await;
}

/// Runs the flows a real deployment sees, then scans the audit table and
/// every captured log line for the secrets the flows used.
#[actix_web::test]
async fn no_audit_row_or_log_line_contains_a_secret() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let svc = srv
        .register(core_auth::clients::ClientSpec {
            name: "svc".into(),
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let mut secrets: Vec<String> = vec![
        PASSWORD.into(),
        app.secret.clone().unwrap(),
        svc.secret.clone().unwrap(),
    ];
    let c = srv.client();
    let unique_password = "zebra quantum saucepan 71";
    secrets.push(unique_password.into());
    srv.submit(
        &c,
        "/register",
        "/register",
        &[
            ("email", "scan@example.com"),
            ("name", "Scan"),
            ("password", unique_password),
        ],
    )
    .await;
    let verify = srv.mails_to("scan@example.com").await[0]
        .link("/verify-email")
        .unwrap();
    secrets.push(verify.split("token=").nth(1).unwrap().to_string());
    reqwest::get(&verify).await.unwrap();
    srv.submit(
        &c,
        "/login",
        "/login",
        &[
            ("email", "scan@example.com"),
            ("password", "wrong but secret-ish 99"),
        ],
    )
    .await;
    secrets.push("wrong but secret-ish 99".into());
    srv.sign_in(&c, "scan@example.com", unique_password).await;
    let (_, page) = srv.get(&c, "/account").await;
    secrets.push(html::csrf(&page));
    let (code_value, verifier) = code(&srv, &c, &app, &[("scope", "openid offline_access")]).await;
    secrets.push(code_value.clone());
    secrets.push(verifier.clone());
    let (_, t) = exchange(&srv, &app, &code_value, &verifier).await;
    let (_, r) = refresh(&srv, &app, &s(&t, "refresh_token"), None).await;
    for tok in [&t, &r] {
        for k in ["access_token", "refresh_token", "id_token"] {
            secrets.push(s(tok, k));
        }
    }
    let (_, _, cc) = srv
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((&svc.client_id, svc.secret.as_deref().unwrap())),
        )
        .await;
    secrets.push(s(&cc, "access_token"));
    srv.post_form(
        "/revoke",
        &[("token", &s(&r, "refresh_token"))],
        Some((&app.client_id, app.secret.as_deref().unwrap())),
    )
    .await;
    srv.submit(
        &srv.client(),
        "/forgot-password",
        "/forgot-password",
        &[("email", "scan@example.com")],
    )
    .await;
    let reset = srv
        .mails_to("scan@example.com")
        .await
        .pop()
        .unwrap()
        .link("/reset-password")
        .unwrap();
    secrets.push(reset.split("token=").nth(1).unwrap().to_string());
    let page = srv
        .client()
        .get(&reset)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let new_password = "freshly minted passphrase 42";
    secrets.push(new_password.into());
    srv.client()
        .post(srv.at("/reset-password"))
        .form(&[
            ("csrf_token", html::csrf(&page)),
            ("token", html::input_value(&page, "token").unwrap()),
            ("password", new_password.into()),
        ])
        .send()
        .await
        .unwrap();

    let rows: Vec<String> = srv
        .with_db(|c| {
            use core_auth::db::schema::audit_log::dsl::*;
            audit_log
                .select((event, outcome, ip, user_agent, detail))
                .load::<(String, String, String, String, String)>(c)
                .unwrap()
                .into_iter()
                .map(|r| format!("{r:?}"))
                .collect()
        })
        .await;
    assert!(rows.len() >= 12, "the flows were audited: {}", rows.len());
    let logs = testkit::captured_logs();
    assert!(
        logs.contains("\"target\":\"audit\""),
        "audit lines reach the logs"
    );
    for secret in &secrets {
        assert!(secret.len() >= 8, "a real secret: {secret}");
        for row in &rows {
            assert!(
                !row.contains(secret.as_str()),
                "audit row contains a secret: {row}"
            );
        }
        assert!(
            !logs.contains(secret.as_str()),
            "a log line contains the secret {}…",
            &secret[..6]
        );
    }
}
