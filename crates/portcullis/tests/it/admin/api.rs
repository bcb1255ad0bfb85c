//! The admin API, endpoint by endpoint: the happy path (checked against
//! the OpenAPI document), invalid input with per-field messages, unknown
//! ids. (401 and 403 for every operation: `openapi.rs`.)

use core_auth::audit::{self, Filter};
use serde_json::{json, Value};
use testkit::TestServer;

use super::{
    admin_token, assert_documented, assert_problem, call, field_errors, openapi, user_token,
};
use crate::util::PASSWORD;

const V1: &str = "/admin/api/v1";

async fn events(srv: &TestServer, event: &'static str) -> Vec<audit::Row> {
    srv.with_db(move |c| {
        audit::query(
            c,
            &Filter {
                event: Some(event.into()),
                ..Default::default()
            },
            100,
        )
        .unwrap()
    })
    .await
}

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
async fn clients_register_read_replace_rotate_and_delete() {
    let srv = TestServer::start().await;
    let doc = openapi(&srv).await;
    let t = admin_token(&srv).await;
    let r = call(&srv, "POST", &format!("{V1}/clients"), Some(&t), Some(json!({
        "name": "Reports", "grant_types": ["client_credentials"], "scopes": ["reports"], "access_token_lifetime_secs": 120
    }))).await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_documented(&doc, "post", "/admin/api/v1/clients", 201, &r.2);
    let id = r.2["client_id"].as_str().unwrap().to_string();
    let secret = r.2["client_secret"].as_str().unwrap().to_string();
    let token = |secret: String| {
        let (srv, id) = (&srv, id.clone());
        async move {
            srv.post_form(
                "/token",
                &[("grant_type", "client_credentials")],
                Some((&id, &secret)),
            )
            .await
        }
    };
    let (status, _, json) = token(secret.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(json["expires_in"], 120, "the client's own token lifetime");

    let r = call(&srv, "GET", &format!("{V1}/clients/{id}"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/clients/{id}", 200, &r.2);
    assert!(
        r.2.get("client_secret").is_none(),
        "the secret is never shown again"
    );
    let r = call(&srv, "GET", &format!("{V1}/clients"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/clients", 200, &r.2);
    assert!(r.2["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["client_id"] == id.as_str()));

    let r = call(
        &srv,
        "PUT",
        &format!("{V1}/clients/{id}"),
        Some(&t),
        Some(json!({
            "name": "Reports v2", "redirect_uris": ["https://reports.example.com/cb"],
            "post_logout_redirect_uris": ["https://reports.example.com/bye"],
            "grant_types": ["authorization_code", "client_credentials"], "skip_consent": true,
            "auth_method": "client_secret_post"
        })),
    )
    .await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    assert_documented(&doc, "put", "/admin/api/v1/clients/{id}", 200, &r.2);
    assert_eq!(
        (
            r.2["name"].clone(),
            r.2["auth_method"].clone(),
            r.2["skip_consent"].clone()
        ),
        (
            json!("Reports v2"),
            json!("client_secret_post"),
            json!(true)
        )
    );
    let r = call(&srv, "PUT", &format!("{V1}/clients/{id}"), Some(&t), Some(json!({
        "name": "", "redirect_uris": ["http://evil.example.com/cb"], "grant_types": ["implicit"], "access_token_lifetime_secs": -5
    }))).await;
    assert_problem(&r, 422);
    for f in [
        "name",
        "redirect_uris",
        "grant_types",
        "access_token_lifetime_secs",
    ] {
        assert!(!field_errors(&r.2, f).is_empty(), "{f}: {:?}", r.2);
    }
    assert_problem(
        &call(
            &srv,
            "PUT",
            &format!("{V1}/clients/nope"),
            Some(&t),
            Some(json!({"name": "x"})),
        )
        .await,
        404,
    );

    let r = call(
        &srv,
        "POST",
        &format!("{V1}/clients/{id}/rotate-secret"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(r.0, 200);
    assert_documented(
        &doc,
        "post",
        "/admin/api/v1/clients/{id}/rotate-secret",
        200,
        &r.2,
    );
    let new_secret = r.2["client_secret"].as_str().unwrap().to_string();
    let post = |secret: String| {
        let (srv, id) = (&srv, id.clone());
        async move {
            srv.post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                ],
                None,
            )
            .await
            .0
        }
    };
    assert_eq!(post(secret).await, 401, "the old secret stops working");
    assert_eq!(post(new_secret).await, 200);
    assert!(!events(&srv, "client_secret_rotated").await.is_empty());
    assert_problem(
        &call(
            &srv,
            "POST",
            &format!("{V1}/clients/nope/rotate-secret"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
    let public = call(
        &srv,
        "POST",
        &format!("{V1}/clients"),
        Some(&t),
        Some(
            json!({"name": "SPA", "public": true, "redirect_uris": ["https://spa.example.com/cb"]}),
        ),
    )
    .await;
    assert!(public.2["client_secret"].is_null());
    let r = call(
        &srv,
        "POST",
        &format!(
            "{V1}/clients/{}/rotate-secret",
            public.2["client_id"].as_str().unwrap()
        ),
        Some(&t),
        None,
    )
    .await;
    assert_problem(&r, 422);

    assert_eq!(
        call(
            &srv,
            "DELETE",
            &format!("{V1}/clients/{id}"),
            Some(&t),
            None
        )
        .await
        .0,
        204
    );
    assert_problem(
        &call(&srv, "GET", &format!("{V1}/clients/{id}"), Some(&t), None).await,
        404,
    );
    assert_problem(
        &call(
            &srv,
            "DELETE",
            &format!("{V1}/clients/{id}"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
}

#[actix_web::test]
async fn roles_and_groups_and_the_last_admin_rules() {
    let srv = TestServer::start().await;
    let doc = openapi(&srv).await;
    let t = user_token(&srv, "root@example.com", &["admin"], "openid admin").await;
    let me = srv
        .with_db(|c| {
            core_auth::users::find_by_email(c, "root@example.com")
                .unwrap()
                .unwrap()
                .id
        })
        .await;

    let r = call(
        &srv,
        "POST",
        &format!("{V1}/roles"),
        Some(&t),
        Some(json!({"name": "editor", "description": "Edits"})),
    )
    .await;
    assert_eq!(r.0, 201);
    assert_documented(&doc, "post", "/admin/api/v1/roles", 201, &r.2);
    assert_problem(
        &call(
            &srv,
            "POST",
            &format!("{V1}/roles"),
            Some(&t),
            Some(json!({"name": "editor"})),
        )
        .await,
        422,
    );
    let r = call(
        &srv,
        "POST",
        &format!("{V1}/roles"),
        Some(&t),
        Some(json!({"name": "no spaces"})),
    )
    .await;
    assert!(!field_errors(&r.2, "name").is_empty());
    let r = call(
        &srv,
        "PATCH",
        &format!("{V1}/roles/editor"),
        Some(&t),
        Some(json!({"name": "writer"})),
    )
    .await;
    assert_eq!((r.0, r.2["name"].clone()), (200, json!("writer")));
    assert_documented(&doc, "patch", "/admin/api/v1/roles/{name}", 200, &r.2);
    assert_problem(
        &call(
            &srv,
            "PATCH",
            &format!("{V1}/roles/admin"),
            Some(&t),
            Some(json!({"name": "boss"})),
        )
        .await,
        422,
    );
    assert_problem(
        &call(
            &srv,
            "PATCH",
            &format!("{V1}/roles/ghost"),
            Some(&t),
            Some(json!({"name": "boo"})),
        )
        .await,
        404,
    );
    let r = call(&srv, "GET", &format!("{V1}/roles"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/roles", 200, &r.2);
    assert_eq!(r.2["items"].as_array().unwrap().len(), 3);

    let r = call(
        &srv,
        "POST",
        &format!("{V1}/groups"),
        Some(&t),
        Some(json!({"name": "ops", "roles": ["writer", "admin"]})),
    )
    .await;
    assert_eq!(r.0, 201);
    assert_documented(&doc, "post", "/admin/api/v1/groups", 201, &r.2);
    let gid = r.2["id"].as_str().unwrap().to_string();
    assert_problem(
        &call(
            &srv,
            "POST",
            &format!("{V1}/groups"),
            Some(&t),
            Some(json!({"name": "x", "roles": ["ghost"]})),
        )
        .await,
        422,
    );
    let other = srv
        .create_user("bob@example.com", "Bob", PASSWORD, &[])
        .await
        .user
        .id;
    assert_eq!(
        call(
            &srv,
            "PUT",
            &format!("{V1}/groups/{gid}/members/{other}"),
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
            "PUT",
            &format!("{V1}/groups/{gid}/members/nobody"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
    let r = call(&srv, "GET", &format!("{V1}/users/{other}"), Some(&t), None).await;
    assert!(
        r.2["roles"].as_array().unwrap().contains(&json!("writer")),
        "roles through the group: {:?}",
        r.2
    );
    let r = call(&srv, "GET", &format!("{V1}/groups/{gid}"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/groups/{id}", 200, &r.2);
    assert_eq!(r.2["member_list"][0]["email"], "bob@example.com");
    let r = call(
        &srv,
        "PATCH",
        &format!("{V1}/groups/{gid}"),
        Some(&t),
        Some(json!({"name": "operations", "roles": ["writer"]})),
    )
    .await;
    assert_eq!((r.0, r.2["name"].clone()), (200, json!("operations")));
    assert_documented(&doc, "patch", "/admin/api/v1/groups/{id}", 200, &r.2);
    let r = call(&srv, "GET", &format!("{V1}/groups"), Some(&t), None).await;
    assert_documented(&doc, "get", "/admin/api/v1/groups", 200, &r.2);

    // The caller cannot take their own admin role, directly or by group.
    let r = call(
        &srv,
        "PATCH",
        &format!("{V1}/users/{me}"),
        Some(&t),
        Some(json!({"roles": []})),
    )
    .await;
    assert_problem(&r, 422);
    assert!(
        field_errors(&r.2, "roles")[0].contains("own admin role"),
        "{:?}",
        r.2
    );
    assert_problem(
        &call(&srv, "DELETE", &format!("{V1}/users/{me}"), Some(&t), None).await,
        422,
    );
    let r = call(
        &srv,
        "PATCH",
        &format!("{V1}/users/{me}"),
        Some(&t),
        Some(json!({"disabled": true})),
    )
    .await;
    assert_problem(&r, 422);
    // Another administrator: then the caller may delete themselves.
    assert_eq!(
        call(
            &srv,
            "PATCH",
            &format!("{V1}/users/{other}"),
            Some(&t),
            Some(json!({"roles": ["admin"]}))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &srv,
            "DELETE",
            &format!("{V1}/groups/{gid}/members/{other}"),
            Some(&t),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &srv,
            "DELETE",
            &format!("{V1}/roles/writer"),
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
            &format!("{V1}/roles/writer"),
            Some(&t),
            None,
        )
        .await,
        404,
    );
    assert_problem(
        &call(&srv, "DELETE", &format!("{V1}/roles/admin"), Some(&t), None).await,
        422,
    );
    assert_eq!(
        call(
            &srv,
            "DELETE",
            &format!("{V1}/groups/{gid}"),
            Some(&t),
            None
        )
        .await
        .0,
        204
    );
    assert_problem(
        &call(&srv, "GET", &format!("{V1}/groups/{gid}"), Some(&t), None).await,
        404,
    );
    assert_eq!(
        call(&srv, "DELETE", &format!("{V1}/users/{me}"), Some(&t), None)
            .await
            .0,
        204
    );
    let r = call(&srv, "GET", &format!("{V1}/roles"), Some(&t), None).await;
    assert_problem(&r, 401);
}

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
    assert_eq!(r.2.as_array().unwrap().len(), 1);
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
