//! The user page's "Two-step verification": what the account has, the
//! requirement flag, removing one factor, and the reset; the dashboard's
//! count of administrators without a second factor.

use testkit::TestServer;

use super::{factors, insert_passkey, post, submit_form};
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

#[actix_web::test]
async fn an_admin_removes_one_factor_at_a_time_after_a_fresh_confirmation() {
    let srv = TestServer::start_with(|c| c.admin.reauth_window_secs = 300).await;
    let (admin, admin_id) = admin_browser(&srv, "ada@example.com").await;
    let bob = srv
        .create_user("bob@example.com", "Bob", PASSWORD, &[])
        .await
        .user
        .id;
    let b = srv.client();
    srv.sign_in(&b, "bob@example.com", PASSWORD).await;
    set_up_app(&srv, &b).await;
    let yubikey = insert_passkey(&srv, &bob, "YubiKey").await;
    let phone = insert_passkey(&srv, &bob, "Old phone").await;

    let page = format!("/admin/users/{bob}");
    let (_, html) = srv.get(&admin, &page).await;
    assert!(html.contains("id=\"mfa-remove-app\""), "{html}");
    for pk in [&yubikey, &phone] {
        assert!(
            html.contains(&format!("id=\"mfa-remove-passkey-{pk}\"")),
            "{html}"
        );
        assert!(html.contains(&format!(
            "action=\"/admin/users/{bob}/mfa/passkeys/{pk}/remove\""
        )));
    }
    assert!(
        html.contains("class=\"danger\" id=\"mfa-remove-app\""),
        "destructive"
    );

    // A sign-in older than the window: the password first.
    srv.clock.advance(301);
    let r = submit_form(
        &srv,
        &admin,
        &html,
        &format!("mfa-remove-passkey-{yubikey}"),
        &[],
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let reauth = r.text().await.unwrap();
    assert!(reauth.contains("Confirm your password"), "{reauth}");
    assert!(
        reauth.contains("remove the passkey \u{201c}YubiKey\u{201d} of bob@example.com"),
        "{reauth}"
    );
    assert_eq!(
        factors(&srv, &bob).await.passkeys.len(),
        2,
        "nothing removed yet"
    );
    assert!(rows(&srv, "mfa_factor_removed").await.is_empty());

    let action = format!("{page}/mfa/passkeys/{yubikey}/remove");
    let r = post(&srv, &admin, &action, &[("reauth_password", PASSWORD)]).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), format!("{page}#mfa"));
    let (_, html) = srv.get(&admin, &location(&r)).await;
    assert!(
        html.contains("The passkey \u{201c}YubiKey\u{201d} of bob@example.com was removed."),
        "{html}"
    );
    assert!(!html.contains(&format!("mfa-remove-passkey-{yubikey}")));
    let f = factors(&srv, &bob).await;
    assert_eq!(f.passkeys.len(), 1);
    assert_eq!(f.passkeys[0].id, phone);
    assert!(f.totp.is_some(), "the others stay");
    assert_eq!(f.recovery_codes_left, 10);
    let removed = rows(&srv, "mfa_factor_removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].actor_user_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(removed[0].subject_user_id.as_deref(), Some(bob.as_str()));
    assert!(
        removed[0].detail.contains("\"name\":\"YubiKey\""),
        "{:?}",
        removed[0]
    );

    // Gone already, or someone else's: not found.
    let r = post(&srv, &admin, &action, &[]).await;
    assert_eq!(r.status().as_u16(), 404);
    let ada_key = insert_passkey(&srv, &admin_id, "Ada's key").await;
    let r = post(
        &srv,
        &admin,
        &format!("{page}/mfa/passkeys/{ada_key}/remove"),
        &[],
    )
    .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(factors(&srv, &admin_id).await.passkeys.len(), 1);

    // Within the window now: the app goes at once.
    let r = submit_form(&srv, &admin, &html, "mfa-remove-app", &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = srv.get(&admin, &location(&r)).await;
    assert!(
        html.contains("The authenticator app of bob@example.com was removed."),
        "{html}"
    );
    assert!(html.contains("id=\"mfa-app\">off"), "{html}");
    let r = post(&srv, &admin, &format!("{page}/mfa/app/remove"), &[]).await;
    assert_eq!(r.status().as_u16(), 404, "no app left");

    // The last one, of an account that must have one.
    post(
        &srv,
        &admin,
        &format!("{page}/mfa-requirement"),
        &[("required", "true")],
    )
    .await;
    let (_, html) = srv.get(&admin, &page).await;
    let r = submit_form(
        &srv,
        &admin,
        &html,
        &format!("mfa-remove-passkey-{phone}"),
        &[],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, html) = srv.get(&admin, &location(&r)).await;
    assert!(
        html.contains("It was their last second factor: their recovery codes were removed too. They must set up a new one at their next sign-in."),
        "{html}"
    );
    let f = factors(&srv, &bob).await;
    assert!(!f.any());
    assert_eq!(f.recovery_codes_left, 0);
    assert_eq!(rows(&srv, "mfa_factor_removed").await.len(), 3);
    let b = srv.client();
    assert_eq!(
        password_step(&srv, &b, "bob@example.com").await,
        "/login/enrol"
    );
}

#[actix_web::test]
async fn the_dashboard_counts_enabled_administrators_without_a_second_factor() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "ada@example.com").await;
    let mo = srv
        .create_user("mo@example.com", "Mo", PASSWORD, &["admin"])
        .await
        .user
        .id;
    let off = srv
        .create_user("off@example.com", "Off", PASSWORD, &["admin"])
        .await
        .user
        .id;
    srv.create_user("bob@example.com", "Bob", PASSWORD, &[])
        .await;
    srv.with_db(move |c| {
        use core_auth::db::schema::users;
        use diesel::prelude::*;
        diesel::update(users::table.find(&off))
            .set(users::disabled.eq(true))
            .execute(c)
            .unwrap();
    })
    .await;

    let (status, html) = srv.get(&admin, "/admin").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"stat-admins-without-factor\">2<"),
        "{html}"
    );
    assert!(
        html.contains("2 enabled administrators have no second factor."),
        "{html}"
    );
    let link = "/admin/users?role=admin&amp;status=active";
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(
        html.contains("mfa.required_for_roles = [\"admin\"]"),
        "{html}"
    );

    // The link lists the enabled administrators.
    let (status, list) = srv.get(&admin, &testkit::html::decode(link)).await;
    assert_eq!(status, 200);
    assert!(list.contains("ada@example.com") && list.contains("mo@example.com"));
    assert!(!list.contains("bob@example.com") && !list.contains("off@example.com"));

    // Ada sets up an app: one left, and the wording follows.
    set_up_app(&srv, &admin).await;
    let (_, html) = srv.get(&admin, "/admin").await;
    assert!(
        html.contains("id=\"stat-admins-without-factor\">1<"),
        "{html}"
    );
    assert!(
        html.contains("1 enabled administrator has no second factor."),
        "{html}"
    );

    // Mo adds a passkey: no warning.
    insert_passkey(&srv, &mo, "MacBook").await;
    let (_, html) = srv.get(&admin, "/admin").await;
    assert!(
        html.contains("id=\"stat-admins-without-factor\">0<"),
        "{html}"
    );
    assert!(!html.contains("id=\"admins-without-factor\""), "{html}");
}

#[actix_web::test]
async fn the_dashboard_says_when_the_policy_already_requires_it() {
    let srv = TestServer::start_with(|c| c.mfa.required_for_roles = vec!["admin".into()]).await;
    // Ada signs in before she is an administrator (else she would enrol
    // first), then becomes one: two administrators without a factor.
    let ada = srv
        .create_user("ada@example.com", "Ada", PASSWORD, &[])
        .await
        .user
        .id;
    let admin = srv.client();
    srv.sign_in(&admin, "ada@example.com", PASSWORD).await;
    srv.with_db(move |c| core_auth::roles::grant_role(c, &ada, "admin").unwrap())
        .await;
    srv.create_user("mo@example.com", "Mo", PASSWORD, &["admin"])
        .await;
    let (_, html) = srv.get(&admin, "/admin").await;
    assert!(
        html.contains("2 enabled administrators have no second factor."),
        "{html}"
    );
    assert!(
        html.contains("takes them through setting one up at their next sign-in"),
        "{html}"
    );
}
