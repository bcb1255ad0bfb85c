//! client_credentials access tokens are not recorded one row each (issue
//! 16): they introspect, revoke and authenticate at the admin API exactly
//! as recorded tokens did, through the client's `tokens_not_before` and the
//! deny list; their issuance is audited as counters per client and minute.

use super::*;
use crate::admin::{admin_token, call, service_token};
use core_auth::db::schema::{access_tokens, audit_log, revoked_tokens, token_issuance};
use diesel::prelude::*;

async fn introspect(srv: &TestServer, who: &TestClient, token: &str) -> Value {
    let secret = who.secret.clone().unwrap();
    let (status, _, v) = srv
        .post_form(
            "/introspect",
            &[("token", token)],
            Some((&who.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn token(srv: &TestServer, c: &TestClient, scope: Option<&str>) -> Value {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let (status, _, t) = srv
        .post_form(
            "/token",
            &form,
            Some((&c.client_id, c.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    t
}

async fn service(srv: &TestServer) -> TestClient {
    srv.register(ClientSpec {
        name: "Reports".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["reports:read".into(), "reports:write".into()],
        ..ClientSpec::default()
    })
    .await
}

#[actix_web::test]
async fn an_unrecorded_token_introspects_as_before_and_its_issuance_is_counted() {
    let srv = TestServer::start().await;
    let svc = service(&srv).await;
    let t = token(&srv, &svc, Some("reports:read")).await;
    let at = s(&t, "access_token");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "reports:read");
    let claims = jwt_claims(&at);
    assert_eq!(claims["gty"], "client_credentials");
    let v = introspect(&srv, &svc, &at).await;
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["token_type"], "access_token");
    assert_eq!(v["scope"], "reports:read");
    assert_eq!(v["client_id"], svc.client_id.as_str());
    for k in ["sub", "iss", "aud", "jti"] {
        assert_eq!(v[k], claims[k], "{k}: {v}");
    }
    for k in ["exp", "iat"] {
        assert_eq!(v[k], claims[k], "{k}: {v}");
    }
    // Another client sees an unknown token.
    let other = service(&srv).await;
    assert_eq!(
        introspect(&srv, &other, &at).await,
        json!({"active": false})
    );
    // Not at /userinfo: it names no user.
    assert_eq!(userinfo_status(&srv, &at).await, 401);

    for _ in 0..2 {
        token(&srv, &svc, None).await;
    }
    let id = svc.client_id.clone();
    let (rows, counted, audited) = srv
        .with_db(move |c| {
            let rows: i64 = access_tokens::table
                .filter(access_tokens::client_id.eq(&id))
                .count()
                .get_result(c)
                .unwrap();
            let counted: Vec<(String, i64)> = token_issuance::table
                .filter(token_issuance::client_id.eq(&id))
                .select((token_issuance::scope, token_issuance::count))
                .order(token_issuance::scope)
                .load(c)
                .unwrap();
            let audited: i64 = audit_log::table
                .filter(audit_log::event.eq("token_issued"))
                .filter(audit_log::client_id.eq(&id))
                .count()
                .get_result(c)
                .unwrap();
            (rows, counted, audited)
        })
        .await;
    assert_eq!(rows, 0, "no row per client_credentials token");
    assert_eq!(audited, 0, "no audit row per client_credentials token");
    // The minute may have turned between the requests: sum per scope.
    let sum = |scope: &str| -> i64 {
        counted
            .iter()
            .filter(|(s, _)| s == scope)
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(sum("reports:read"), 1, "{counted:?}");
    assert_eq!(sum("reports:read reports:write"), 2, "{counted:?}");

    // The command line lists them.
    let out =
        crate::admin::faces::cli(&srv, &["audit", "--issuance", "--client", &svc.client_id]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let total: i64 = listed.iter().map(|v| v["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 3, "{listed:?}");
    assert!(listed
        .iter()
        .all(|v| v["client_id"] == svc.client_id.as_str()));
}

#[actix_web::test]
async fn revoking_an_unrecorded_token_ends_it_exactly_once() {
    let srv = TestServer::start().await;
    let svc = service(&srv).await;
    let at = s(&token(&srv, &svc, None).await, "access_token");
    let kept = s(&token(&srv, &svc, None).await, "access_token");
    let form = [("token", at.as_str())];
    let basic = Some((svc.client_id.as_str(), svc.secret.as_deref().unwrap()));
    // Another client cannot revoke it.
    let other = service(&srv).await;
    let (status, _, _) = srv
        .post_form(
            "/revoke",
            &form,
            Some((&other.client_id, other.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(introspect(&srv, &svc, &at).await["active"], true);
    for _ in 0..2 {
        let (status, _, _) = srv.post_form("/revoke", &form, basic).await;
        assert_eq!(status, 200);
    }
    assert_eq!(introspect(&srv, &svc, &at).await, json!({"active": false}));
    assert_eq!(introspect(&srv, &svc, &kept).await["active"], true);
    let id = svc.client_id.clone();
    let jti = s(&jwt_claims(&at), "jti");
    let exp = jwt_claims(&at)["exp"].as_i64().unwrap();
    let (listed, revocations) = srv
        .with_db(move |c| {
            let listed: Vec<(String, i64)> = revoked_tokens::table
                .select((revoked_tokens::jti, revoked_tokens::expires_at))
                .load(c)
                .unwrap();
            let revocations: i64 = audit_log::table
                .filter(audit_log::event.eq("token_revoked"))
                .filter(audit_log::client_id.eq(&id))
                .count()
                .get_result(c)
                .unwrap();
            (listed, revocations)
        })
        .await;
    assert_eq!(
        listed,
        vec![(jti, exp)],
        "on the deny list until it expires"
    );
    assert_eq!(revocations, 1, "one audit row for the revocation");
}

#[actix_web::test]
async fn a_new_secret_ends_the_tokens_issued_before_it_even_in_the_same_second() {
    let srv = TestServer::start().await;
    let admin = admin_token(&srv).await;
    let svc = service(&srv).await;
    let old = s(&token(&srv, &svc, None).await, "access_token");
    let r = call(
        &srv,
        "POST",
        &format!("/admin/api/v1/clients/{}/rotate-secret", svc.client_id),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    let rotated = TestClient {
        secret: Some(s(&r.2, "client_secret")),
        ..svc.clone()
    };
    // At once, very likely within the same second as the rotation.
    let new = s(&token(&srv, &rotated, None).await, "access_token");
    assert_eq!(
        introspect(&srv, &rotated, &old).await,
        json!({"active": false})
    );
    assert_eq!(introspect(&srv, &rotated, &new).await["active"], true);
}

#[actix_web::test]
async fn a_deleted_and_recreated_client_does_not_revive_old_tokens() {
    let srv = TestServer::start().await;
    let admin = admin_token(&srv).await;
    let (svc, at) = service_token(&srv, &[]).await;
    let r = call(
        &srv,
        "DELETE",
        &format!("/admin/api/v1/clients/{}", svc.client_id),
        Some(&admin),
        None,
    )
    .await;
    assert!(r.0 == 200 || r.0 == 204, "{:?}", r.2);
    // The same client id registered again, a second later.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let id = svc.client_id.clone();
    srv.with_db(move |c| {
        use core_auth::db::schema::clients;
        diesel::insert_into(clients::table)
            .values((
                clients::id.eq(&id),
                clients::name.eq("Recreated"),
                clients::secret_hash.eq(Some(core_auth::secret::sha256_hex("s"))),
                clients::auth_method.eq("client_secret_basic"),
                clients::redirect_uris.eq("[]"),
                clients::post_logout_redirect_uris.eq("[]"),
                clients::grant_types.eq("[\"client_credentials\"]"),
                clients::scopes.eq("[]"),
                clients::skip_consent.eq(false),
                clients::always_issue_refresh.eq(false),
                clients::created_at.eq(chrono_now()),
                clients::updated_at.eq(chrono_now()),
                clients::resource_server_audiences.eq("[]"),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
    let again = TestClient {
        secret: Some("s".into()),
        ..svc.clone()
    };
    assert_eq!(
        introspect(&srv, &again, &at).await,
        json!({"active": false})
    );
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[actix_web::test]
async fn the_admin_api_refuses_a_revoked_client_token() {
    let srv = TestServer::start().await;
    let (svc, at) = service_token(&srv, &["admin"]).await;
    assert_eq!(
        call(&srv, "GET", "/admin/api/v1/clients", Some(&at), None)
            .await
            .0,
        200
    );
    let (status, _, _) = srv
        .post_form(
            "/revoke",
            &[("token", at.as_str())],
            Some((&svc.client_id, svc.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(&srv, "GET", "/admin/api/v1/clients", Some(&at), None)
            .await
            .0,
        401
    );
}
