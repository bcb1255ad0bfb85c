//! The password-reset flow through core-auth's account use cases, without
//! HTTP: the request (queued for the mail worker, the same for every
//! address, throttled), the worker's half (a link mailed, or nothing),
//! and following the link (password changed, sessions and tokens ended,
//! the link single use and expiring on a manual clock).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::accounts::{self, Reset, ResetRequest};
use core_auth::actor::Actor;
use core_auth::mail::outbox;
use core_auth::secret::Secret;
use core_auth::sessions;
use core_auth::users::{self, User};
use core_auth::CoreError;
use support::oidc::{at_revoked, client, code, redeem, refresh, refused, rt_row};
use support::{signed_in_state, Env, PASSWORD};

const NEW_PASSWORD: &str = "another quite long passphrase 7";

fn visitor() -> Actor {
    Actor::anonymous("203.0.113.5", "test browser")
}

fn request(env: &Env, email: &str) -> ResetRequest {
    accounts::request_reset(&env.pool, env.core().mailer(), email, &visitor(), env.now()).unwrap()
}

/// Runs the mail worker's half; returns how many requests it resolved.
fn resolve(env: &Env) -> usize {
    accounts::resolve_reset_requests(&env.pool, env.core().mailer(), env.now(), 10).unwrap()
}

/// The messages due now, claimed and marked sent as the delivery worker
/// does.
fn mails(env: &Env) -> Vec<core_auth::mail::Message> {
    let mut c = env.conn();
    let claimed = outbox::claim_due(&mut c, env.keys.kek(), "test", env.now(), 100).unwrap();
    for m in &claimed {
        assert!(outbox::mark_sent(&mut c, m.id, "test", env.now()).unwrap());
    }
    claimed.into_iter().map(|c| c.message).collect()
}

/// The token of the reset link in a mail.
fn link_token(m: &core_auth::mail::Message) -> String {
    let at = m.text.find("/reset-password?token=").expect("a reset link") + 22;
    m.text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Requests a reset for `user` and runs the worker: the link's token.
fn reset_link(env: &Env, user: &User) -> String {
    assert_eq!(request(env, &user.email), ResetRequest::Done);
    assert_eq!(resolve(env), 1);
    let m = mails(env);
    assert_eq!(m.len(), 1, "one mail");
    assert_eq!(
        (m[0].kind.as_str(), m[0].to.as_str()),
        ("reset_password", user.email.as_str())
    );
    link_token(&m[0])
}

fn complete(env: &Env, token: &str, password: &str) -> Reset {
    accounts::reset_password(
        &env.core(),
        &visitor(),
        token,
        &Secret::new(password),
        env.now(),
    )
    .unwrap()
}

fn password_works(env: &Env, email: &str, password: &str) -> bool {
    users::authenticate(
        &env.pool,
        &env.passwords,
        email,
        &Secret::new(password),
        env.now(),
    )
    .is_ok()
}

#[test]
fn a_request_is_queued_and_the_worker_mails_a_link_only_for_an_account() {
    let env = Env::new();
    let user = env.user("erin@example.com", &[]);
    // Known and unknown addresses: the same answer, the same rows.
    assert_eq!(request(&env, "Erin@Example.com"), ResetRequest::Done);
    assert_eq!(request(&env, "nobody@example.com"), ResetRequest::Done);
    let asked = env.audit("password_reset_requested");
    assert_eq!(asked.len(), 2);
    assert!(asked
        .iter()
        .all(|r| r.outcome == "success" && r.subject_user_id.is_none()));
    assert!(
        mails(&env).is_empty(),
        "nothing is mailed by the request itself"
    );
    assert!(accounts::check_reset_link(&env.pool, "x", env.now())
        .unwrap()
        .is_none());

    assert_eq!(resolve(&env), 2);
    assert_eq!(resolve(&env), 0, "each request is resolved once");
    let m = mails(&env);
    assert_eq!(m.len(), 1, "no mail for the unknown address");
    assert_eq!(m[0].to, "erin@example.com");
    let token = link_token(&m[0]);
    assert_eq!(token.len(), 43);
    let row = accounts::check_reset_link(&env.pool, &token, env.now())
        .unwrap()
        .expect("the link works");
    assert_eq!(row.user_id, user.id);

    let mailed = env.audit("password_reset_mailed");
    assert_eq!(mailed.len(), 2);
    let ok = mailed
        .iter()
        .find(|r| r.outcome == "success")
        .expect("success row");
    assert_eq!(ok.subject_user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(ok.ip, "203.0.113.5", "the worker's row names the requester");
    let unknown = mailed
        .iter()
        .find(|r| r.outcome == "failure")
        .expect("failure row");
    assert_eq!(Env::detail(unknown)["reason"], "unknown_address");
    assert_eq!(unknown.subject_user_id, None);
}

#[test]
fn requests_per_address_are_throttled() {
    let env = Env::with(|c| {
        c.throttle.reset_max_requests = 2;
        c.throttle.reset_window_secs = 600;
    });
    assert_eq!(request(&env, "frank@example.com"), ResetRequest::Done);
    env.advance(100);
    assert_eq!(request(&env, "FRANK@example.com"), ResetRequest::Done);
    env.advance(100);
    assert_eq!(
        request(&env, "frank@example.com"),
        ResetRequest::Throttled(400)
    );
    let denied = &env.audit("password_reset_requested")[0];
    assert_eq!(denied.outcome, "denied");
    assert_eq!(resolve(&env), 2, "the refused one was not queued");
    // Another address is not affected; the window ends.
    assert_eq!(request(&env, "grace@example.com"), ResetRequest::Done);
    env.advance(400);
    assert_eq!(request(&env, "frank@example.com"), ResetRequest::Done);
}

#[test]
fn following_the_link_sets_the_password_and_ends_sessions_and_grants() {
    let env = Env::new();
    let user = env.user("heidi@example.com", &[]);
    let other = env.user("ivan@example.com", &[]);
    let mut c = env.conn();
    let state = signed_in_state(&user.id, "sid-h", env.now());
    sessions::create(&mut c, &state, env.now(), 25).unwrap();
    let state = signed_in_state(&other.id, "sid-i", env.now());
    sessions::create(&mut c, &state, env.now(), 25).unwrap();
    drop(c);
    let app = client(&env, true);
    let online = redeem(&env, &app, &code(&env, &app, &user, "openid", "sid-h")).unwrap();
    let scope = "openid offline_access";
    let offline = redeem(&env, &app, &code(&env, &app, &user, scope, "sid-h")).unwrap();
    let others = redeem(&env, &app, &code(&env, &app, &other, scope, "sid-i")).unwrap();

    let token = reset_link(&env, &user);
    env.advance(60);
    match complete(&env, &token, NEW_PASSWORD) {
        Reset::Done { user_id } => assert_eq!(user_id, user.id),
        Reset::InvalidLink => panic!("the link should work"),
    }
    assert!(password_works(&env, &user.email, NEW_PASSWORD));
    assert!(!password_works(&env, &user.email, PASSWORD));
    let mut c = env.conn();
    assert!(sessions::list_for_user(&mut c, &user.id)
        .unwrap()
        .is_empty());
    assert_eq!(sessions::list_for_user(&mut c, &other.id).unwrap().len(), 1);
    drop(c);
    // Offline grants too (accounts.reset_revokes_offline_grants = true).
    for t in [&online, &offline] {
        let rt = t.refresh_token.as_deref().unwrap();
        assert_eq!(rt_row(&env, rt).revoked_at, Some(env.now()));
        assert!(at_revoked(&env, &t.access_token));
        refused(refresh(&env, &app, rt), "revoked");
    }
    assert!(refresh(&env, &app, others.refresh_token.as_deref().unwrap()).is_ok());
    let m = mails(&env);
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].kind.as_str(), m[0].to.as_str()),
        ("password_changed", "heidi@example.com")
    );

    // The link works once.
    assert!(matches!(
        complete(&env, &token, "yet another passphrase 99"),
        Reset::InvalidLink
    ));
    assert!(password_works(&env, &user.email, NEW_PASSWORD));
}

#[test]
fn offline_grants_may_survive_a_reset() {
    let env = Env::with(|c| c.accounts.reset_revokes_offline_grants = false);
    let user = env.user("judy@example.com", &[]);
    let state = signed_in_state(&user.id, "sid-j", env.now());
    sessions::create(&mut env.conn(), &state, env.now(), 25).unwrap();
    let app = client(&env, true);
    let online = redeem(&env, &app, &code(&env, &app, &user, "openid", "sid-j")).unwrap();
    let scope = "openid offline_access";
    let offline = redeem(&env, &app, &code(&env, &app, &user, scope, "sid-j")).unwrap();

    let token = reset_link(&env, &user);
    assert!(matches!(
        complete(&env, &token, NEW_PASSWORD),
        Reset::Done { .. }
    ));
    refused(
        refresh(&env, &app, online.refresh_token.as_deref().unwrap()),
        "revoked",
    );
    assert!(refresh(&env, &app, offline.refresh_token.as_deref().unwrap()).is_ok());
}

#[test]
fn a_link_expires_and_a_newer_one_voids_it() {
    let env = Env::new();
    let user = env.user("mallory@example.com", &[]);
    let lifetime = env.config.accounts.reset_link_lifetime_secs;

    let first = reset_link(&env, &user);
    env.advance(10);
    let second = reset_link(&env, &user);
    assert_ne!(first, second);
    assert!(matches!(
        complete(&env, &first, NEW_PASSWORD),
        Reset::InvalidLink
    ));

    // A password the policy refuses does not use the link up.
    let e = accounts::reset_password(
        &env.core(),
        &visitor(),
        &second,
        &Secret::new("short"),
        env.now(),
    );
    assert!(matches!(e, Err(CoreError::Validation(_))), "{e:?}");

    env.advance(lifetime - 1);
    assert!(accounts::check_reset_link(&env.pool, &second, env.now())
        .unwrap()
        .is_some());
    env.advance(1);
    assert!(accounts::check_reset_link(&env.pool, &second, env.now())
        .unwrap()
        .is_none());
    assert!(matches!(
        complete(&env, &second, NEW_PASSWORD),
        Reset::InvalidLink
    ));
    assert!(password_works(&env, &user.email, PASSWORD), "unchanged");

    // A disabled account gets no link at all.
    users::set_disabled(&mut env.conn(), &user.id, true, env.now()).unwrap();
    assert_eq!(request(&env, &user.email), ResetRequest::Done);
    assert_eq!(resolve(&env), 1);
    assert!(mails(&env).is_empty());
    let row = &env.audit("password_reset_mailed")[0];
    assert_eq!(
        (row.outcome.as_str(), Env::detail(row)["reason"].as_str()),
        ("failure", Some("disabled"))
    );
}
