//! The admin API's keys, sessions, audit log and stats, and which tokens
//! it accepts.

use serde_json::Value;
use testkit::TestServer;

use super::api::{events, V1};
use super::{
    admin_token, assert_documented, assert_problem, call, field_errors, openapi, user_token,
};
use crate::util::PASSWORD;

#[actix_web::test]
async fn keys_sessions_audit_and_stats() {
    let srv = TestServer::start().await;
    let doc = openapi(&srv).await;
    let t = admin_token(&srv).await;
    let r = call(&srv, "GET", &format!("{V1}/keys"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/keys", 200, &r.2);
    let active = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["state"] == "active")
            .unwrap()["kid"]
            .clone()
    };
    let before = active(&r.2);
    let r = call(&srv, "POST", &format!("{V1}/keys/rotate"), Some(&t), None).await;
    assert_eq!(r.0, 200);
    assert_documented(&doc, "post", "/admin/api/v1/keys/rotate", 200, &r.2);
    let r = call(&srv, "GET", &format!("{V1}/keys"), Some(&t), None).await;
    assert_ne!(active(&r.2), before);
    let jwks: Value = reqwest::get(srv.at("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == active(&r.2)));
    assert!(!events(&srv, "key_rotated").await.is_empty());

    srv.create_user("sess@example.com", "Sess", PASSWORD, &[])
        .await;
    let b = srv.client();
    srv.sign_in(&b, "sess@example.com", PASSWORD).await;
    let r = call(&srv, "GET", &format!("{V1}/sessions"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/sessions", 200, &r.2);
    let s = &r.2["items"][0];
    assert_eq!(s["user_email"], "sess@example.com");
    assert_eq!(s["ip"], "127.0.0.1");
    let sid = s["sid"].as_str().unwrap().to_string();
    assert_eq!(
        call(
            &srv,
            "DELETE",
            &format!("{V1}/sessions/{sid}"),
            Some(&t),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        srv.get(&b, "/account").await.0,
        303,
        "the browser is signed out"
    );
    assert_problem(
        &call(
            &srv,
            "DELETE",
            &format!("{V1}/sessions/{sid}"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
    assert_problem(
        &call(
            &srv,
            "GET",
            &format!("{V1}/sessions?limit=500"),
            Some(&t),
            None,
        )
        .await,
        422,
    );

    let r = call(
        &srv,
        "GET",
        &format!("{V1}/audit?event=sign_in&outcome=success&limit=1"),
        Some(&t),
        None,
    )
    .await;
    assert_documented(&doc, "get", "/admin/api/v1/audit", 200, &r.2);
    assert_eq!(r.2["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.2["items"][0]["event"], "sign_in");
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/audit?user=sess%40example.com&from=2000-01-01"),
        Some(&t),
        None,
    )
    .await;
    assert!(r.2["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["subject_user_id"].is_string() || e["actor_user_id"].is_string()));
    assert!(!r.2["items"].as_array().unwrap().is_empty());
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/audit?from=yesterday&outcome=maybe"),
        Some(&t),
        None,
    )
    .await;
    assert_problem(&r, 422);
    assert!(!field_errors(&r.2, "from").is_empty() && !field_errors(&r.2, "outcome").is_empty());
    let csv = reqwest::Client::new()
        .get(srv.at(&format!("{V1}/audit/export?event=sign_in")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("id,time,event,outcome"));
    assert_eq!(text.lines().count(), 2, "{text}");
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/audit/export?format=json&event=key_rotated"),
        Some(&t),
        None,
    )
    .await;
    assert_documented(&doc, "get", "/admin/api/v1/audit/export", 200, &r.2);
    assert_eq!(
        r.2.as_array().unwrap().len(),
        srv.ctx.config.keys.algorithms.len(),
        "one rotation per algorithm"
    );
    assert_problem(
        &call(
            &srv,
            "GET",
            &format!("{V1}/audit/export?format=xml"),
            Some(&t),
            None,
        )
        .await,
        422,
    );

    let r = call(&srv, "GET", &format!("{V1}/stats"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/stats", 200, &r.2);
    assert_eq!(r.2["sign_ins_last_day"].as_array().unwrap().len(), 24);
    let day: i64 = r.2["sign_ins_last_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["success"].as_i64().unwrap())
        .sum();
    assert_eq!(day, 1);
}

#[actix_web::test]
async fn tokens_that_are_revoked_expired_or_for_a_removed_admin_are_refused() {
    let srv = TestServer::start().await;
    let t = user_token(&srv, "boss@example.com", &["admin"], "openid admin").await;
    assert_eq!(
        call(&srv, "GET", &format!("{V1}/stats"), Some(&t), None)
            .await
            .0,
        200
    );
    // The admin role taken away: the same token is refused (403).
    let id = srv
        .with_db(|c| {
            core_auth::users::find_by_email(c, "boss@example.com")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    srv.create_user("other-admin@example.com", "Other", PASSWORD, &["admin"])
        .await;
    srv.with_db(move |c| core_auth::roles::revoke_role(c, &id, "admin").unwrap())
        .await;
    assert_problem(
        &call(&srv, "GET", &format!("{V1}/stats"), Some(&t), None).await,
        403,
    );
    // A token without the admin scope, for an admin: 403.
    let plain = user_token(&srv, "boss2@example.com", &["admin"], "openid").await;
    assert_problem(
        &call(&srv, "GET", &format!("{V1}/stats"), Some(&plain), None).await,
        403,
    );
    assert!(!events(&srv, "permission_denied").await.is_empty());
    // Garbage and expired tokens: 401 invalid_token.
    let r = reqwest::Client::new()
        .get(srv.at(&format!("{V1}/stats")))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let svc = admin_token(&srv).await;
    srv.clock.advance(3600);
    assert_problem(
        &call(&srv, "GET", &format!("{V1}/stats"), Some(&svc), None).await,
        401,
    );
    // Unknown API routes answer a problem too.
    let fresh = admin_token(&srv).await;
    assert_problem(
        &call(
            &srv,
            "GET",
            &format!("{V1}/nothing-here"),
            Some(&fresh),
            None,
        )
        .await,
        404,
    );
}

#[actix_web::test]
async fn the_api_is_rate_limited_per_client_ip() {
    let srv = TestServer::start_with(|c| {
        c.rate_limits.enabled = true;
        c.rate_limits.admin_api = core_auth::config::Quota {
            per_minute: 1,
            burst: 3,
        };
    })
    .await;
    let t = admin_token(&srv).await;
    let mut statuses = vec![];
    for _ in 0..5 {
        statuses.push(
            call(&srv, "GET", &format!("{V1}/stats"), Some(&t), None)
                .await
                .0,
        );
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");
    let r = reqwest::Client::new()
        .get(srv.at(&format!("{V1}/stats")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // The console is not in the API's bucket.
    let (admin, _) = super::admin_browser(&srv, "admin@example.com").await;
    assert_eq!(srv.get(&admin, "/admin").await.0, 200);
}
