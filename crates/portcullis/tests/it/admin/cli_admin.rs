//! The command line's administration: every change goes through the
//! domain's use case (the rules of `core_auth::admin`) and leaves the same
//! audit row as in the console and the API, with the command line as its
//! actor. (The rules face by face: `super::faces`.)

use std::process::Output;

use core_auth::audit::Row;
use testkit::TestServer;

use super::faces::{cli, cli_with_input, rows};
use crate::util::PASSWORD;

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output, what: &str, fragment: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} should fail");
    assert!(err.contains(fragment), "{what}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
}

/// The newest row of `event`, written by the command line.
async fn by_cli(srv: &TestServer, event: &'static str) -> Row {
    let all = rows(srv, event).await;
    let row = all.first().unwrap_or_else(|| panic!("no {event} row"));
    assert_eq!(row.actor_user_id, None, "{event}");
    assert_eq!(row.user_agent, "portcullis-cli", "{event}");
    assert_eq!(row.outcome, "success", "{event}");
    row.clone()
}

#[actix_web::test]
async fn accounts_and_roles_from_the_command_line() {
    let srv = TestServer::start().await;
    let out = cli_with_input(
        &srv,
        &[
            "users",
            "create",
            "--email",
            "root@example.com",
            "--name",
            "Root",
            "--role",
            "admin",
            "--password-stdin",
            "--verified",
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    let created: serde_json::Value = serde_json::from_str(&ok(&out, "create")).unwrap();
    let root = created["id"].as_str().unwrap().to_string();
    let row = by_cli(&srv, "admin_user_created").await;
    assert_eq!(row.subject_user_id.as_deref(), Some(root.as_str()));
    assert!(row.detail.contains("\"invitation\":false"), "{row:?}");
    // The password works.
    srv.sign_in(&srv.client(), "root@example.com", PASSWORD)
        .await;

    ok(&cli(&srv, &["roles", "create", "editor"]).await, "role");
    by_cli(&srv, "admin_role_created").await;
    let out = cli(&srv, &["users", "grant-role", "root@example.com", "editor"]).await;
    assert_eq!(
        ok(&out, "grant"),
        "root@example.com now has the role editor\n"
    );
    let row = by_cli(&srv, "admin_user_updated").await;
    assert_eq!(row.subject_user_id.as_deref(), Some(root.as_str()));
    assert!(row.detail.contains("roles_added"), "{row:?}");
    refused(
        &cli(&srv, &["users", "grant-role", &root, "wizard"]).await,
        "unknown role",
        "no role named wizard",
    );
    refused(
        &cli(&srv, &["users", "revoke-role", &root, "user"]).await,
        "the user role",
        "keeps the user role",
    );
    refused(
        &cli(&srv, &["users", "disable", "nobody@example.com"]).await,
        "unknown user",
        "no user nobody@example.com",
    );
    ok(
        &cli(&srv, &["roles", "rename", "editor", "writer"]).await,
        "rename",
    );
    by_cli(&srv, "admin_role_renamed").await;
    ok(&cli(&srv, &["roles", "delete", "writer"]).await, "delete");
    by_cli(&srv, "admin_role_deleted").await;
    refused(
        &cli(&srv, &["roles", "delete", "admin"]).await,
        "built-in",
        "built-in",
    );

    // Disable and enable someone else.
    let bob = srv
        .create_user("bob@example.com", "Bob", PASSWORD, &[])
        .await
        .user
        .id;
    ok(&cli(&srv, &["users", "disable", &bob]).await, "disable");
    assert_eq!(
        by_cli(&srv, "admin_user_disabled").await.subject_user_id,
        Some(bob.clone())
    );
    ok(&cli(&srv, &["users", "enable", &bob]).await, "enable");
    by_cli(&srv, "admin_user_enabled").await;
    let out = cli(&srv, &["users", "clear-throttle", "bob@example.com"]).await;
    assert_eq!(ok(&out, "throttle"), "no throttle for that address\n");
    let row = by_cli(&srv, "admin_throttle_cleared").await;
    assert_eq!(row.subject_user_id, Some(bob));
}

#[actix_web::test]
async fn groups_from_the_command_line_keep_the_last_administrator() {
    let srv = TestServer::start().await;
    let root = srv
        .create_user("root@example.com", "Root", PASSWORD, &["admin"])
        .await
        .user
        .id;
    let out = cli(&srv, &["groups", "create", "team"]).await;
    let g: serde_json::Value = serde_json::from_str(&ok(&out, "create")).unwrap();
    assert_eq!(g["name"], "team");
    by_cli(&srv, "admin_group_created").await;
    ok(
        &cli(&srv, &["groups", "add-user", "team", "root@example.com"]).await,
        "add",
    );
    assert_eq!(
        by_cli(&srv, "admin_group_member_added")
            .await
            .subject_user_id,
        Some(root.clone())
    );
    ok(
        &cli(&srv, &["groups", "grant", "team", "admin"]).await,
        "grant",
    );
    assert!(by_cli(&srv, "admin_group_updated")
        .await
        .detail
        .contains("roles_added"));
    // The role still comes from the group: the direct one may go.
    ok(
        &cli(&srv, &["users", "revoke-role", &root, "admin"]).await,
        "revoke the direct role",
    );
    let before = rows(&srv, "admin_group_updated").await.len();
    refused(
        &cli(&srv, &["groups", "revoke", "team", "admin"]).await,
        "the last administrator's group role",
        "would leave no administrator",
    );
    refused(
        &cli(&srv, &["groups", "remove-user", "team", &root]).await,
        "the last administrator's membership",
        "would leave no administrator",
    );
    refused(
        &cli(&srv, &["groups", "delete", "team"]).await,
        "the last administrator's group",
        "would leave no administrator",
    );
    assert_eq!(
        rows(&srv, "admin_group_updated").await.len(),
        before,
        "refused: nothing recorded"
    );
    assert!(rows(&srv, "admin_group_deleted").await.is_empty());
    ok(
        &cli(&srv, &["users", "grant-role", &root, "admin"]).await,
        "grant again",
    );
    ok(
        &cli(&srv, &["groups", "rename", "team", "crew"]).await,
        "rename",
    );
    assert!(by_cli(&srv, "admin_group_updated")
        .await
        .detail
        .contains("crew"));
    ok(
        &cli(&srv, &["groups", "revoke", "crew", "admin"]).await,
        "revoke",
    );
    ok(
        &cli(&srv, &["groups", "remove-user", "crew", &root]).await,
        "remove",
    );
    by_cli(&srv, "admin_group_member_removed").await;
    ok(&cli(&srv, &["groups", "delete", "crew"]).await, "delete");
    by_cli(&srv, "admin_group_deleted").await;
    refused(
        &cli(&srv, &["groups", "delete", "crew"]).await,
        "gone",
        "no group crew",
    );
}

#[actix_web::test]
async fn clients_and_keys_from_the_command_line_are_audited_as_the_cli() {
    let srv = TestServer::start().await;
    let out = cli(
        &srv,
        &[
            "clients",
            "create",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example.com/cb",
        ],
    )
    .await;
    let c: serde_json::Value = serde_json::from_str(&ok(&out, "create")).unwrap();
    let id = c["client_id"].as_str().unwrap().to_string();
    assert_eq!(
        by_cli(&srv, "client_created").await.client_id.as_deref(),
        Some(id.as_str())
    );
    ok(
        &cli(&srv, &["clients", "rotate-secret", &id]).await,
        "rotate",
    );
    by_cli(&srv, "client_secret_rotated").await;
    ok(&cli(&srv, &["clients", "delete", &id]).await, "delete");
    by_cli(&srv, "client_deleted").await;
    refused(
        &cli(&srv, &["clients", "rotate-secret", &id]).await,
        "gone",
        "no client",
    );
    ok(&cli(&srv, &["keys", "rotate"]).await, "keys");
    by_cli(&srv, "key_rotated").await;
}
