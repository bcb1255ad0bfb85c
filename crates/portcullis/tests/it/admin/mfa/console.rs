//! The user page's "Two-step verification": what the account has, the
//! requirement flag, and the reset.

use testkit::TestServer;

use super::{factors, post};
use crate::admin::admin_browser;
use crate::admin::faces::rows;
use crate::mfa::{password_step, set_up_app};
use crate::util::{location, PASSWORD};

#[actix_web::test]
async fn the_console_flag_makes_the_user_enrol_at_the_next_sign_in() {
    let srv = TestServer::start().await;
    let (admin, admin_id) = admin_browser(&srv, "ada@example.com").await;
    let bob = srv
        .create_user("bob@example.com", "Bob", PASSWORD, &[])
        .await
        .user
        .id;
    let page = format!("/admin/users/{bob}");
    let (status, html) = srv.get(&admin, &page).await;
    assert_eq!(status, 200);
    assert!(html.contains("Two-step verification"), "{html}");
    assert!(html.contains("id=\"mfa-required\">not required"), "{html}");
    assert!(html.contains("id=\"mfa-app\">off"), "{html}");
    assert!(html.contains("id=\"mfa-require-on\""));
    assert!(!html.contains("id=\"mfa-reset\""), "nothing to reset");

    let action = format!("/admin/users/{bob}/mfa-requirement");
    let r = post(&srv, &admin, &action, &[("required", "maybe")]).await;
    assert_eq!(r.status().as_u16(), 400, "neither true nor false");
    let r = post(&srv, &admin, &action, &[("required", "true")]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("{page}#mfa"));
    let (_, html) = srv.get(&admin, &page).await;
    assert!(
        html.contains("must now use a second factor: they set one up at their next sign-in"),
        "{html}"
    );
    assert!(html.contains("by an administrator"), "{html}");
    assert!(html.contains("none set up yet"), "{html}");
    assert!(html.contains("id=\"mfa-require-off\""));
    let set = rows(&srv, "admin_mfa_requirement_set").await;
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].actor_user_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(set[0].subject_user_id.as_deref(), Some(bob.as_str()));
    assert!(set[0].detail.contains("\"required\":true"), "{:?}", set[0]);

    // Bob's next sign-in goes through enrolment, without a session first.
    let b = srv.client();
    assert_eq!(
        password_step(&srv, &b, "bob@example.com").await,
        "/login/enrol"
    );
    assert_eq!(srv.get(&b, "/account").await.0, 303);

    // Lifted: the password alone signs him in again.
    let r = post(&srv, &admin, &action, &[("required", "false")]).await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = srv.get(&admin, &page).await;
    assert!(
        html.contains("A second factor is no longer required of bob@example.com."),
        "{html}"
    );
    assert!(html.contains("id=\"mfa-required\">not required"), "{html}");
    let b = srv.client();
    assert_eq!(password_step(&srv, &b, "bob@example.com").await, "/account");
    assert_eq!(rows(&srv, "admin_mfa_requirement_set").await.len(), 2);
}

#[actix_web::test]
async fn a_role_requirement_shows_and_outlives_the_flag() {
    let srv = TestServer::start_with(|c| c.mfa.required_for_roles = vec!["auditor".into()]).await;
    let (admin, _) = admin_browser(&srv, "ada@example.com").await;
    srv.with_db(|c| {
        core_auth::roles::create_role(c, "auditor", "", 0).unwrap();
    })
    .await;
    let dee = srv
        .create_user("dee@example.com", "Dee", PASSWORD, &["auditor"])
        .await
        .user
        .id;
    let (_, html) = srv.get(&admin, &format!("/admin/users/{dee}")).await;
    assert!(
        html.contains("by role <span class=\"mono\">auditor</span>"),
        "{html}"
    );
    let action = format!("/admin/users/{dee}/mfa-requirement");
    post(&srv, &admin, &action, &[("required", "true")]).await;
    let r = post(&srv, &admin, &action, &[("required", "false")]).await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = srv.get(&admin, &format!("/admin/users/{dee}")).await;
    assert!(
        html.contains("their roles (auditor) still do"),
        "the role still requires it: {html}"
    );
}

#[actix_web::test]
async fn reset_removes_every_factor_after_a_fresh_confirmation() {
    let srv = TestServer::start_with(|c| c.admin.reauth_window_secs = 300).await;
    let (admin, admin_id) = admin_browser(&srv, "ada@example.com").await;
    let bob = srv
        .create_user("bob@example.com", "Bob", PASSWORD, &[])
        .await
        .user
        .id;
    let b = srv.client();
    srv.sign_in(&b, "bob@example.com", PASSWORD).await;
    let (secret, _) = set_up_app(&srv, &b).await;

    let page = format!("/admin/users/{bob}");
    let (_, html) = srv.get(&admin, &page).await;
    assert!(html.contains("id=\"mfa-app\"><span class=\"badge ok\">on</span> since"));
    assert!(html.contains("id=\"mfa-recovery\">10 left"), "{html}");
    assert!(!html.contains(&secret), "never the secret");
    assert!(html.contains("id=\"mfa-reset\""));
    let (status, confirm) = srv.get(&admin, &format!("{page}/mfa-reset")).await;
    assert_eq!(status, 200);
    assert!(confirm.contains("the authenticator app"), "{confirm}");
    assert!(confirm.contains("10 recovery codes"), "{confirm}");
    assert!(confirm.contains("id=\"confirm-mfa-reset\""));

    // A sign-in older than the window: the password first.
    srv.clock.advance(301);
    let action = format!("{page}/mfa-reset");
    let r = post(&srv, &admin, &action, &[]).await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Confirm your password"), "{html}");
    assert!(html.contains("second factors"), "{html}");
    assert!(factors(&srv, &bob).await.any(), "nothing removed yet");
    assert!(rows(&srv, "mfa_factor_removed").await.is_empty());

    let r = post(&srv, &admin, &action, &[("reauth_password", PASSWORD)]).await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = srv.get(&admin, &location(&r)).await;
    assert!(
        html.contains(
            "The second factor of bob@example.com was removed, with their recovery codes."
        ),
        "{html}"
    );
    let f = factors(&srv, &bob).await;
    assert!(!f.any());
    assert_eq!(f.recovery_codes_left, 0);
    let removed = rows(&srv, "mfa_factor_removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].actor_user_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(removed[0].subject_user_id.as_deref(), Some(bob.as_str()));
    assert!(removed[0].detail.contains("totp"), "{:?}", removed[0]);

    // Bob signs in with his password alone again.
    let b = srv.client();
    assert_eq!(password_step(&srv, &b, "bob@example.com").await, "/account");
}
