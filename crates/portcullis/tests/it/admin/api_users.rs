//! The admin API's user endpoints: search, create with an invitation,
//! read, update, delete, the account actions, throttles (checked against
//! the OpenAPI document; 401 and 403 for every operation: `openapi.rs`).

use serde_json::json;
use testkit::TestServer;

use super::api::{events, V1};
use super::{admin_token, assert_documented, assert_problem, call, field_errors, openapi};
use crate::util::PASSWORD;

#[actix_web::test]
async fn users_create_search_read_update_and_delete() {
    let srv = TestServer::start().await;
    let doc = openapi(&srv).await;
    let t = admin_token(&srv).await;
    let group = call(
        &srv,
        "POST",
        &format!("{V1}/groups"),
        Some(&t),
        Some(json!({"name": "staff", "roles": []})),
    )
    .await;
    assert_eq!(group.0, 201, "{:?}", group.2);
    let gid = group.2["id"].as_str().unwrap().to_string();

    // Create: invitation mailed, link sets the password and verifies the address.
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users"),
        Some(&t),
        Some(json!({"email": "Grace.Hopper@Example.com", "name": "Grace Hopper", "groups": [gid]})),
    )
    .await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_documented(&doc, "post", "/admin/api/v1/users", 201, &r.2);
    assert_eq!(r.2["has_password"], false);
    assert_eq!(r.2["email_verified"], false);
    let id = r.2["id"].as_str().unwrap().to_string();
    let mail = srv
        .mails_to("Grace.Hopper@Example.com")
        .await
        .pop()
        .expect("an invitation");
    assert!(
        mail.subject.contains("account is ready"),
        "{}",
        mail.subject
    );
    let link = mail.link("/reset-password").expect("a set-password link");
    let b = srv.client();
    let reset_path = link.trim_start_matches(&srv.url).to_string();
    let r = srv
        .submit(
            &b,
            &reset_path,
            "/reset-password",
            &[
                ("token", link.split("token=").nth(1).unwrap()),
                ("password", "hopper's new passphrase"),
            ],
        )
        .await;
    assert!(r.status().as_u16() < 400, "{}", r.text().await.unwrap());
    srv.sign_in(
        &srv.client(),
        "grace.hopper@example.com",
        "hopper's new passphrase",
    )
    .await;
    let created = events(&srv, "admin_user_created").await;
    assert_eq!(created[0].subject_user_id.as_deref(), Some(id.as_str()));
    assert!(
        created[0].client_id.is_some(),
        "the acting service client is recorded"
    );

    // Validation, per field; a taken address.
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users"),
        Some(&t),
        Some(json!({"email": "not-an-address", "name": "", "roles": ["nope"]})),
    )
    .await;
    assert_problem(&r, 422);
    assert_eq!(r.2["code"], "PC-VA01");
    assert!(!field_errors(&r.2, "email").is_empty(), "{:?}", r.2);
    assert!(!field_errors(&r.2, "name").is_empty(), "{:?}", r.2);
    assert!(field_errors(&r.2, "roles")[0].contains("nope"), "{:?}", r.2);
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users"),
        Some(&t),
        Some(json!({"email": "grace.hopper@example.com", "name": "Again"})),
    )
    .await;
    assert_problem(&r, 422);
    assert!(!field_errors(&r.2, "email").is_empty());
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users"),
        Some(&t),
        Some(json!({"email": "x@example.com", "name": "X", "colour": "red"})),
    )
    .await;
    assert_problem(&r, 400);

    // Search by a word prefix, by address, with filters; keyset pages.
    for i in 0..5 {
        srv.create_user(
            &format!("pager{i}@example.com"),
            &format!("Pager Person {i}"),
            PASSWORD,
            &[],
        )
        .await;
    }
    let r = call(&srv, "GET", &format!("{V1}/users?q=hop"), Some(&t), None).await;
    assert_eq!(r.0, 200);
    assert_documented(&doc, "get", "/admin/api/v1/users", 200, &r.2);
    assert_eq!(r.2["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.2["items"][0]["id"], id.as_str());
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/users?q=grace.hopper%40ex&group={gid}&unverified=false"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(r.2["items"].as_array().unwrap().len(), 1, "{:?}", r.2);
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/users?q=pager&limit=2"),
        Some(&t),
        None,
    )
    .await;
    let mut seen: Vec<String> = r.2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_string())
        .collect();
    let mut cursor = r.2["next_cursor"].as_str().unwrap().to_string();
    loop {
        let r = call(
            &srv,
            "GET",
            &format!("{V1}/users?q=pager&limit=2&cursor={cursor}"),
            Some(&t),
            None,
        )
        .await;
        seen.extend(
            r.2["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_string()),
        );
        match r.2["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..5)
            .map(|i| format!("pager{i}@example.com"))
            .collect::<Vec<_>>()
    );
    let r = call(&srv, "GET", &format!("{V1}/users?limit=0"), Some(&t), None).await;
    assert_problem(&r, 422);
    assert!(!field_errors(&r.2, "limit").is_empty());
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/users?cursor=%25%25"),
        Some(&t),
        None,
    )
    .await;
    assert_problem(&r, 422);
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/users?disabled=maybe"),
        Some(&t),
        None,
    )
    .await;
    assert_problem(&r, 400);

    // Read.
    let r = call(&srv, "GET", &format!("{V1}/users/{id}"), Some(&t), None).await;
    assert_eq!(r.0, 200);
    assert_documented(&doc, "get", "/admin/api/v1/users/{id}", 200, &r.2);
    assert_eq!(
        r.2["email_verified"], true,
        "the invitation link verified the address"
    );
    assert_eq!(r.2["groups"][0]["name"], "staff");
    assert_problem(
        &call(&srv, "GET", &format!("{V1}/users/nobody"), Some(&t), None).await,
        404,
    );

    // Update: rename, new roles, disable; then search finds the new name.
    call(
        &srv,
        "POST",
        &format!("{V1}/roles"),
        Some(&t),
        Some(json!({"name": "auditor"})),
    )
    .await;
    let r = call(&srv, "PATCH", &format!("{V1}/users/{id}"), Some(&t),
        Some(json!({"name": "Rear Admiral Hopper", "roles": ["auditor"], "groups": [], "disabled": true}))).await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    assert_documented(&doc, "patch", "/admin/api/v1/users/{id}", 200, &r.2);
    assert_eq!(r.2["disabled"], true);
    assert!(r.2["roles"].as_array().unwrap().contains(&json!("auditor")));
    let upd = events(&srv, "admin_user_updated").await;
    assert!(
        upd[0].detail.contains("Rear Admiral Hopper") && upd[0].detail.contains("auditor"),
        "{}",
        upd[0].detail
    );
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/users?q=admiral&disabled=true"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(r.2["items"][0]["id"], id.as_str());
    let r = call(
        &srv,
        "PATCH",
        &format!("{V1}/users/{id}"),
        Some(&t),
        Some(json!({"email": "bad", "roles": ["ghost"]})),
    )
    .await;
    assert_problem(&r, 422);
    assert!(!field_errors(&r.2, "email").is_empty() && !field_errors(&r.2, "roles").is_empty());
    assert_problem(
        &call(
            &srv,
            "PATCH",
            &format!("{V1}/users/nobody"),
            Some(&t),
            Some(json!({"name": "X"})),
        )
        .await,
        404,
    );

    // Actions.
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users/{id}/password-reset"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(r.0, 202);
    assert_documented(
        &doc,
        "post",
        "/admin/api/v1/users/{id}/password-reset",
        202,
        &r.2,
    );
    assert!(srv
        .mails_to("grace.hopper@example.com")
        .await
        .iter()
        .any(|m| m.subject == "Reset your password"));
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users/{id}/revoke-sessions"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(r.0, 200);
    assert_documented(
        &doc,
        "post",
        "/admin/api/v1/users/{id}/revoke-sessions",
        200,
        &r.2,
    );
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users/{id}/clear-throttle"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!((r.0, r.2["cleared"].clone()), (200, json!(false)));
    for a in ["password-reset", "revoke-sessions", "clear-throttle"] {
        assert_problem(
            &call(
                &srv,
                "POST",
                &format!("{V1}/users/nobody/{a}"),
                Some(&t),
                None,
            )
            .await,
            404,
        );
    }

    // Delete.
    assert_eq!(
        call(&srv, "DELETE", &format!("{V1}/users/{id}"), Some(&t), None)
            .await
            .0,
        204
    );
    assert_problem(
        &call(&srv, "GET", &format!("{V1}/users/{id}"), Some(&t), None).await,
        404,
    );
    assert_problem(
        &call(&srv, "DELETE", &format!("{V1}/users/{id}"), Some(&t), None).await,
        404,
    );
}

#[actix_web::test]
async fn a_throttled_address_is_listed_and_cleared() {
    let srv = TestServer::start().await;
    let t = admin_token(&srv).await;
    let u = srv
        .create_user("slow@example.com", "Slow", PASSWORD, &[])
        .await;
    let c = srv.client();
    for _ in 0..5 {
        srv.submit(
            &c,
            "/login",
            "/login",
            &[
                ("email", "slow@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    }
    let r = call(&srv, "GET", &format!("{V1}/throttles"), Some(&t), None).await;
    assert_eq!(r.2["items"].as_array().unwrap().len(), 1, "{:?}", r.2);
    assert_eq!(r.2["items"][0]["label"], "s***@example.com");
    let r = call(
        &srv,
        "GET",
        &format!("{V1}/users/{}", u.user.id),
        Some(&t),
        None,
    )
    .await;
    assert!(r.2["throttled_for"].as_i64().unwrap() > 0);
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/users/{}/clear-throttle", u.user.id),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(r.2["cleared"], true);
    srv.sign_in(&srv.client(), "slow@example.com", PASSWORD)
        .await;
    for _ in 0..5 {
        srv.submit(
            &c,
            "/login",
            "/login",
            &[
                ("email", "slow@example.com"),
                ("password", "wrong password!"),
            ],
        )
        .await;
    }
    let r = call(&srv, "GET", &format!("{V1}/throttles"), Some(&t), None).await;
    let (kind, key) = (
        r.2["items"][0]["kind"].as_str().unwrap().to_string(),
        r.2["items"][0]["key"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        call(
            &srv,
            "DELETE",
            &format!("{V1}/throttles/{kind}/{key}"),
            Some(&t),
            None
        )
        .await
        .0,
        204
    );
    assert_problem(
        &call(
            &srv,
            "DELETE",
            &format!("{V1}/throttles/{kind}/{key}"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
    srv.sign_in(&srv.client(), "slow@example.com", PASSWORD)
        .await;
}

#[actix_web::test]
async fn users_from_before_the_search_table_are_indexed_by_the_backfill() {
    let srv = TestServer::start().await;
    let t = admin_token(&srv).await;
    srv.create_user("old.timer@example.com", "Old Timer", PASSWORD, &[])
        .await;
    let found = |srv: &TestServer, t: &str| {
        let (srv, t) = (srv.url.clone(), t.to_string());
        async move {
            let r = reqwest::Client::new()
                .get(format!("{srv}{V1}/users?q=timer"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap();
            r.json::<serde_json::Value>().await.unwrap()["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(found(&srv, &t).await, 1);
    // As if the user existed before migration 000006: no terms.
    let n = srv
        .with_db(|c| {
            use diesel::prelude::*;
            diesel::delete(core_auth::db::schema::user_search_terms::table)
                .execute(c)
                .unwrap()
        })
        .await;
    assert!(n > 0);
    assert_eq!(found(&srv, &t).await, 0);
    let indexed = srv
        .with_db(|c| core_auth::admin::search::backfill(c).unwrap())
        .await;
    assert!(indexed >= 1);
    assert_eq!(found(&srv, &t).await, 1);
    assert_eq!(
        srv.with_db(|c| core_auth::admin::search::backfill(c).unwrap())
            .await,
        0
    );
}
