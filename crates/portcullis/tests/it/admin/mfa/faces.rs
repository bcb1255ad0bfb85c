//! The admin API and the command line give the same answers about a
//! user's second factors (`users mfa list|require|remove|reset`): both
//! call `core_auth::mfa::policy` and show the same summary (names and
//! dates, never a secret).

use serde_json::{json, Value};
use testkit::TestServer;

use super::{factors, insert_passkey};
use crate::admin::api::V1;
use crate::admin::faces::{cli, rows};
use crate::admin::{admin_token, assert_documented, assert_problem, call, openapi, user_token};
use crate::mfa::set_up_app;
use crate::util::PASSWORD;

/// `portcullis users mfa list WHO`, parsed.
async fn cli_mfa(srv: &TestServer, who: &str) -> Value {
    let out = cli(srv, &["users", "mfa", "list", who]).await;
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
    let out = cli(
        &srv,
        &["users", "mfa", "require", "bob@example.com", "--off"],
    )
    .await;
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
        &["users", "mfa", "list", "nobody@example.com"][..],
        &["users", "mfa", "require", "nobody@example.com"],
        &["users", "mfa", "reset", "nobody@example.com"],
        &["users", "mfa", "remove", "nobody@example.com", "--app"],
    ] {
        let out = cli(&srv, args).await;
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
    let out = cli(&srv, &["users", "mfa", "reset", "bob@example.com"]).await;
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
    // Nor remove one factor, even one that does not exist: the token's
    // age is checked first.
    let passkey = insert_passkey(&srv, &bob, "YubiKey").await;
    for token in [&service, &person] {
        for path in [
            format!("{V1}/users/{bob}/mfa/app"),
            format!("{V1}/users/{bob}/mfa/passkeys/{passkey}"),
            format!("{V1}/users/{bob}/mfa/passkeys/nope"),
        ] {
            let got = call(&srv, "DELETE", &path, Some(token), None).await;
            assert_problem(&got, 401);
            assert_eq!(got.2["type"], "urn:portcullis:problem:reauth-required");
            assert_eq!(got.2["code"], "PC-AU01");
        }
    }
    let f = factors(&srv, &bob).await;
    assert!(f.totp.is_some() && f.passkeys.len() == 1, "nothing removed");
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

    let out = cli(
        &srv,
        &[
            "users",
            "mfa",
            "remove",
            "bob@example.com",
            "--passkey",
            &passkey,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(factors(&srv, &bob).await.passkeys.len(), 0);
    let out = cli(&srv, &["users", "mfa", "reset", "bob@example.com"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!factors(&srv, &bob).await.any());
}

/// `portcullis users mfa remove ARGS`: its output, or its error.
async fn cli_remove(srv: &TestServer, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["users", "mfa", "remove"];
    all.extend_from_slice(args);
    let out = cli(srv, &all).await;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[actix_web::test]
async fn one_factor_at_a_time_through_the_api_and_the_command_line() {
    let srv = TestServer::start().await;
    let token = admin_token(&srv).await;
    let (bob, _, _) = bob_with_an_app(&srv).await;
    let yubikey = insert_passkey(&srv, &bob, "YubiKey").await;
    let phone = insert_passkey(&srv, &bob, "Old phone").await;
    let carol = srv
        .create_user("carol@example.com", "Carol", PASSWORD, &[])
        .await
        .user
        .id;
    let c = srv.client();
    srv.sign_in(&c, "carol@example.com", PASSWORD).await;
    set_up_app(&srv, &c).await;
    let hers = insert_passkey(&srv, &carol, "Carol's key").await;
    let user_path = format!("{V1}/users/{bob}");

    // Both list the passkeys with their ids.
    let (_, _, user) = call(&srv, "GET", &user_path, Some(&token), None).await;
    let keys = user["mfa"]["passkeys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "{user}");
    assert_eq!(keys[0]["id"], json!(yubikey));
    assert_eq!(keys[0]["name"], "YubiKey");
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, user["mfa"]);

    // The API removes one passkey; the rest stays, and both say so.
    let path = format!("{user_path}/mfa/passkeys/{yubikey}");
    let got = call(&srv, "DELETE", &path, Some(&token), None).await;
    assert_eq!(got.0, 200, "{:?}", got.2);
    assert_eq!(got.2["passkeys"].as_array().unwrap().len(), 1);
    assert_eq!(got.2["passkeys"][0]["id"], json!(phone));
    assert!(got.2["authenticator_app"].is_object());
    assert_eq!(got.2["recovery_codes_left"], 10);
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, got.2);
    let doc = openapi(&srv).await;
    let documented = "/admin/api/v1/users/{id}/mfa/passkeys/{passkey_id}";
    assert_documented(&doc, "delete", documented, 200, &got.2);

    // Gone already, someone else's, an unknown account: 404, nothing removed.
    for path in [
        path.clone(),
        format!("{user_path}/mfa/passkeys/{hers}"),
        format!("{V1}/users/nobody/mfa/passkeys/{phone}"),
        format!("{V1}/users/nobody/mfa/app"),
    ] {
        let got = call(&srv, "DELETE", &path, Some(&token), None).await;
        assert_problem(&got, 404);
        assert_eq!(got.2["code"], "PC-NF01", "{path}");
        assert_documented(&doc, "delete", documented, 404, &got.2);
    }
    assert_eq!(factors(&srv, &carol).await.passkeys.len(), 1);
    // So does the command line.
    for (args, says) in [
        (
            vec!["bob@example.com", "--passkey", yubikey.as_str()],
            format!("bob@example.com has no passkey {yubikey}"),
        ),
        (
            vec!["bob@example.com", "--passkey", hers.as_str()],
            format!("bob@example.com has no passkey {hers}"),
        ),
    ] {
        let err = cli_remove(&srv, &args).await.unwrap_err();
        assert!(err.contains(&says), "{err}");
    }

    // The command line removes the app.
    let out = cli_remove(&srv, &["bob@example.com", "--app"])
        .await
        .unwrap();
    assert!(
        out.contains("bob@example.com: authenticator app removed"),
        "{out}"
    );
    let (_, _, user) = call(&srv, "GET", &user_path, Some(&token), None).await;
    assert!(user["mfa"]["authenticator_app"].is_null(), "{user}");
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, user["mfa"]);
    let got = call(
        &srv,
        "DELETE",
        &format!("{user_path}/mfa/app"),
        Some(&token),
        None,
    )
    .await;
    assert_problem(&got, 404);
    assert_documented(
        &doc,
        "delete",
        "/admin/api/v1/users/{id}/mfa/app",
        404,
        &got.2,
    );
    let err = cli_remove(&srv, &["bob@example.com", "--app"])
        .await
        .unwrap_err();
    assert!(
        err.contains("bob@example.com has no authenticator app"),
        "{err}"
    );

    // The last one: the recovery codes go with it.
    let out = cli_remove(&srv, &["bob@example.com", "--passkey", &phone])
        .await
        .unwrap();
    assert!(out.contains("passkey \"Old phone\""), "{out}");
    assert!(out.contains("no second factor left"), "{out}");
    let (_, _, user) = call(&srv, "GET", &user_path, Some(&token), None).await;
    assert_eq!(user["mfa"]["passkeys"], json!([]));
    assert_eq!(user["mfa"]["recovery_codes_left"], 0);
    assert_eq!(cli_mfa(&srv, "bob@example.com").await, user["mfa"]);

    // The API removes Carol's app; her passkey and codes stay.
    let app_path = "/admin/api/v1/users/{id}/mfa/app";
    let got = call(
        &srv,
        "DELETE",
        &format!("{V1}/users/{carol}/mfa/app"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(got.0, 200, "{:?}", got.2);
    assert_documented(&doc, "delete", app_path, 200, &got.2);
    assert!(got.2["authenticator_app"].is_null());
    assert_eq!(got.2["passkeys"][0]["id"], json!(hers));
    assert_eq!(got.2["recovery_codes_left"], 10);
    assert_eq!(cli_mfa(&srv, "carol@example.com").await, got.2);

    // One row per factor, naming who removed it and through which face.
    let removed = rows(&srv, "mfa_factor_removed").await;
    assert_eq!(removed.len(), 4);
    assert!(removed[0].client_id.is_some(), "the API's service");
    assert_eq!(removed[0].subject_user_id.as_deref(), Some(carol.as_str()));
    let removed = &removed[1..];
    assert_eq!(removed[0].user_agent, "portcullis-cli");
    assert!(removed[0].detail.contains("Old phone"), "{:?}", removed[0]);
    assert_eq!(removed[1].user_agent, "portcullis-cli");
    assert!(removed[1].detail.contains("totp"), "{:?}", removed[1]);
    assert!(removed[2].client_id.is_some(), "the API's service");
    assert!(removed[2].detail.contains("YubiKey"), "{:?}", removed[2]);
    assert!(removed
        .iter()
        .all(|r| r.subject_user_id.as_deref() == Some(bob.as_str())));
}
