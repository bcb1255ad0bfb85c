//! The admin API and the command line give the same answers about a
//! user's second factors: both call `core_auth::mfa::policy` and show the
//! same summary (names and dates, never a secret).

use serde_json::{json, Value};
use testkit::TestServer;

use super::factors;
use crate::admin::api::V1;
use crate::admin::faces::{cli, rows};
use crate::admin::{admin_token, assert_problem, call, user_token};
use crate::mfa::set_up_app;
use crate::util::PASSWORD;

/// `portcullis users mfa WHO`, parsed.
async fn cli_mfa(srv: &TestServer, who: &str) -> Value {
    let out = cli(srv, &["users", "mfa", who]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Bob, with an authenticator app set up through the pages; his id, his
/// signed-in browser and the app's secret.
async fn bob_with_an_app(srv: &TestServer) -> (String, reqwest::Client, String) {
    let id = srv
        .create_user("bob@example.com", "Bob", PASSWORD, &[])
        .await
        .user
        .id;
    let b = srv.client();
    srv.sign_in(&b, "bob@example.com", PASSWORD).await;
    let (secret, _) = set_up_app(srv, &b).await;
    (id, b, secret)
}

#[actix_web::test]
async fn the_api_and_the_command_line_say_the_same_about_second_factors() {
    let srv = TestServer::start().await;
    let token = admin_token(&srv).await;
    let (bob, b, secret) = bob_with_an_app(&srv).await;
    let user_path = format!("{V1}/users/{bob}");

    let (status, _, user) = call(&srv, "GET", &user_path, Some(&token), None).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["mfa_required"], false);
    assert!(
        user["mfa"]["authenticator_app"]["created_at"].is_i64(),
        "{user}"
    );
    assert_eq!(user["mfa"]["passkeys"], json!([]));
    assert_eq!(user["mfa"]["recovery_codes_left"], 10);
    assert!(!user.to_string().contains(&secret), "never the secret");
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, user["mfa"]);

    // Required through the API: both say so.
    let path = format!("{user_path}/mfa-requirement");
    let got = call(
        &srv,
        "POST",
        &path,
        Some(&token),
        Some(json!({"required": true})),
    )
    .await;
    assert_eq!(got.0, 200, "{:?}", got.2);
    assert_eq!(got.2["required"], true);
    assert_eq!(got.2["required_by_admin"], true);
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, got.2);

    // Lifted from the command line: both say so.
    let out = cli(&srv, &["users", "require-mfa", "bob@example.com", "--off"]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no longer required"));
    let (_, _, user) = call(&srv, "GET", &user_path, Some(&token), None).await;
    assert_eq!(user["mfa_required"], false);
    assert_eq!(user["mfa"]["required_by_admin"], false);
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, user["mfa"]);
    let set = rows(&srv, "admin_mfa_requirement_set").await;
    assert_eq!(set.len(), 2);
    assert_eq!(set[0].user_agent, "portcullis-cli");
    assert!(set[0].detail.contains("\"required\":false"));
    assert!(
        set[1].client_id.is_some(),
        "the API's service: {:?}",
        set[1]
    );

    // Bad bodies are problems.
    for body in [
        json!({"required": "yes"}),
        json!({"required": true, "x": 1}),
        json!({}),
    ] {
        assert_problem(
            &call(&srv, "POST", &path, Some(&token), Some(body)).await,
            400,
        );
    }

    // An unknown account: refused by both.
    for action in ["mfa-requirement", "mfa-reset"] {
        let body = (action == "mfa-requirement").then(|| json!({"required": true}));
        let got = call(
            &srv,
            "POST",
            &format!("{V1}/users/nobody/{action}"),
            Some(&token),
            body,
        )
        .await;
        assert_problem(&got, 404);
    }
    for args in [
        ["users", "require-mfa", "nobody@example.com"],
        ["users", "reset-mfa", "nobody@example.com"],
    ] {
        let out = cli(&srv, &args).await;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("no user nobody@example.com"));
    }

    // Reset through the API.
    let got = call(
        &srv,
        "POST",
        &format!("{user_path}/mfa-reset"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(got.0, 200, "{:?}", got.2);
    assert_eq!(got.2["removed"], 1);
    assert!(got.2["mfa"]["authenticator_app"].is_null());
    assert_eq!(got.2["mfa"]["recovery_codes_left"], 0);
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, got.2["mfa"]);

    // Bob sets up a new app; the command line resets it.
    set_up_app(&srv, &b).await;
    assert!(factors(&srv, &bob).await.any());
    let out = cli(&srv, &["users", "reset-mfa", "bob@example.com"]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 second factor(s) removed"));
    assert!(!factors(&srv, &bob).await.any());
    let removed = rows(&srv, "mfa_factor_removed").await;
    assert_eq!(removed.len(), 2);
    assert_eq!(removed[0].user_agent, "portcullis-cli");
    assert!(removed[1].client_id.is_some());
    assert!(removed
        .iter()
        .all(|r| r.subject_user_id.as_deref() == Some(bob.as_str())));
}

#[actix_web::test]
async fn an_old_token_cannot_reset_and_the_command_line_can() {
    let srv = TestServer::start_with(|c| c.admin.reauth_window_secs = 300).await;
    let service = admin_token(&srv).await;
    let person = user_token(&srv, "ada@example.com", &["admin"], "openid admin").await;
    let (bob, _, _) = bob_with_an_app(&srv).await;
    srv.clock.advance(301);
    let path = format!("{V1}/users/{bob}/mfa-reset");
    for token in [&service, &person] {
        let got = call(&srv, "POST", &path, Some(token), None).await;
        assert_problem(&got, 401);
        assert_eq!(got.2["type"], "urn:portcullis:problem:reauth-required");
    }
    assert!(factors(&srv, &bob).await.any(), "nothing removed");
    assert!(rows(&srv, "mfa_factor_removed").await.is_empty());
    // Requiring is not a sensitive action.
    let got = call(
        &srv,
        "POST",
        &format!("{V1}/users/{bob}/mfa-requirement"),
        Some(&person),
        Some(json!({"required": true})),
    )
    .await;
    assert_eq!(got.0, 200, "{:?}", got.2);

    let out = cli(&srv, &["users", "reset-mfa", "bob@example.com"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!factors(&srv, &bob).await.any());
}
