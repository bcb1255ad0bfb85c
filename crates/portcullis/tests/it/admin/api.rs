//! The admin API, endpoint by endpoint: the happy path (checked against
//! the OpenAPI document), invalid input with per-field messages, unknown
//! ids. (401 and 403 for every operation: `openapi.rs`.)

use core_auth::audit::{self, Filter};
use serde_json::json;
use testkit::TestServer;

use super::{
    admin_token, assert_documented, assert_problem, call, field_errors, openapi, user_token,
};
use crate::util::PASSWORD;

pub const V1: &str = "/admin/api/v1";

pub async fn events(srv: &TestServer, event: &'static str) -> Vec<audit::Row> {
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
    // Nobody deletes their own account (as nobody disables it).
    assert_problem(
        &call(&srv, "DELETE", &format!("{V1}/users/{me}"), Some(&t), None).await,
        422,
    );
    let r = call(&srv, "GET", &format!("{V1}/roles"), Some(&t), None).await;
    assert_eq!(r.0, 200, "still there, still an administrator");
}
