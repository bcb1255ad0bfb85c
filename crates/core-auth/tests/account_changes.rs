//! The changes a signed-in person makes to their own account, without
//! HTTP: the password asked before a password or email change is the one
//! password check (the account's sign-in throttle, its audit rows); the
//! change, its notice and its row come together; an account without a
//! password changes its address only after a recent sign-in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::accounts::{self, Change, Proof};
use core_auth::actor::Actor;
use core_auth::mail::outbox;
use core_auth::secret::Secret;
use core_auth::signin::{self, Refusal};
use core_auth::users::User;
use core_auth::CoreError;
use support::{Env, PASSWORD};

const NEW_PASSWORD: &str = "another quite long passphrase 7";

fn env() -> Env {
    Env::with(|c| {
        c.throttle.sign_in_max_failures = 3;
        c.throttle.sign_in_window_secs = 300;
    })
}

/// `user` in their session `sid`, signed in at `at`.
fn me(user: &User, at: i64) -> Actor {
    Actor::anonymous("203.0.113.7", "test browser").signed_in(&user.id, "my-sid", at)
}

fn change(env: &Env, actor: &Actor, current: &str, new: &str) -> Result<Change, CoreError> {
    accounts::change_password(
        &env.core(),
        actor,
        &Secret::new(current),
        &Secret::new(new),
        env.now(),
    )
}

fn sign_in(env: &Env, email: &str, password: &str) -> Result<String, Refusal> {
    let actor = Actor::anonymous("198.51.100.9", "test browser");
    signin::with_password(
        &env.core(),
        &actor,
        email,
        &Secret::new(password),
        env.now(),
    )
    .expect("no infrastructure error")
    .map(|u| u.id)
}

fn field_errors(e: Result<Change, CoreError>) -> Vec<&'static str> {
    match e {
        Err(CoreError::Validation(v)) => v.0.iter().map(|f| f.field).collect(),
        other => panic!("expected field errors, got {other:?}"),
    }
}

fn queued(env: &Env) -> Vec<core_auth::mail::Message> {
    outbox::claim_due(&mut env.conn(), env.keys.kek(), "t", env.now(), 100)
        .unwrap()
        .into_iter()
        .map(|c| c.message)
        .collect()
}

#[test]
fn wrong_current_passwords_lock_the_account_sign_in_too() {
    let env = env();
    let user = env.user("carol@example.com", &[]);
    let actor = me(&user, env.now());
    for n in 1..=3 {
        let e = change(&env, &actor, "not my password", NEW_PASSWORD);
        assert_eq!(field_errors(e), ["current_password"]);
        let row = &env.audit("password_changed")[0];
        assert_eq!(row.outcome, "failure");
        assert_eq!(row.subject_user_id.as_deref(), Some(user.id.as_str()));
        let d = Env::detail(row);
        assert_eq!(d["reason"], "bad_credentials");
        assert_eq!(d["failures_in_window"], n);
    }
    assert_eq!(env.audit("throttled").len(), 1);
    // The right password is refused now, here and at sign-in.
    assert_eq!(
        change(&env, &actor, PASSWORD, NEW_PASSWORD).unwrap(),
        Change::Throttled { retry_after: 300 }
    );
    assert_eq!(
        sign_in(&env, "carol@example.com", PASSWORD),
        Err(Refusal::Throttled { retry_after: 300 })
    );
    // And the other way round: the email change's proof is refused too.
    let r = accounts::request_email_change(
        &env.core(),
        &actor,
        Proof::Password(&Secret::new(PASSWORD)),
        "carol2@example.com",
        env.now(),
    );
    assert_eq!(r.unwrap(), Change::Throttled { retry_after: 300 });
    assert_eq!(
        Env::detail(&env.audit("email_change_requested")[0])["reason"],
        "throttled"
    );
    assert!(queued(&env).is_empty(), "nothing mailed");
    env.advance(300);
    assert_eq!(
        change(&env, &actor, PASSWORD, NEW_PASSWORD).unwrap(),
        Change::Done
    );
    assert_eq!(
        sign_in(&env, "carol@example.com", NEW_PASSWORD),
        Ok(user.id)
    );
}

#[test]
fn a_change_writes_its_row_and_notice_and_keeps_only_this_session() {
    let env = env();
    let user = env.user("dave@example.com", &[]);
    let actor = me(&user, env.now());
    // Every problem at once; nothing changes.
    let e = change(&env, &actor, "not my password", "short");
    assert_eq!(field_errors(e), ["new_password", "current_password"]);
    // The right password and a refused new one: still nothing, no row.
    let e = change(&env, &actor, PASSWORD, "short");
    assert_eq!(field_errors(e), ["new_password"]);
    assert!(env
        .audit("password_changed")
        .iter()
        .all(|r| r.outcome == "failure"));
    assert_eq!(
        change(&env, &actor, PASSWORD, NEW_PASSWORD).unwrap(),
        Change::Done
    );
    let ok = &env.audit("password_changed")[0];
    assert_eq!(
        (ok.outcome.as_str(), ok.subject_user_id.as_deref()),
        ("success", Some(user.id.as_str()))
    );
    assert_eq!(ok.session_id.as_deref(), Some("my-sid"));
    assert_eq!(
        env.audit("password_changed").len(),
        2,
        "one failure, one success"
    );
    let mails = queued(&env);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].kind, "password_changed");
}

#[test]
fn an_account_without_a_password_changes_its_address_after_a_recent_sign_in() {
    let env = env();
    let user = env.user("erin@example.com", &[]);
    {
        use core_auth::db::schema::users::dsl::{id, password_hash, users};
        use diesel::prelude::*;
        diesel::update(users.filter(id.eq(&user.id)))
            .set(password_hash.eq(None::<String>))
            .execute(&mut *env.conn())
            .unwrap();
    }
    let signed_in_at = env.now();
    env.advance(accounts::RECENT_SIGN_IN_SECS + 1);
    let stale = me(&user, signed_in_at);
    let r = accounts::request_email_change(
        &env.core(),
        &stale,
        Proof::RecentSignIn,
        "erin2@example.com",
        env.now(),
    );
    assert_eq!(field_errors(r), ["password"]);
    let fresh = me(&user, env.now());
    let r = accounts::request_email_change(
        &env.core(),
        &fresh,
        Proof::RecentSignIn,
        "erin2@example.com",
        env.now(),
    );
    assert_eq!(r.unwrap(), Change::Done);
    let row = &env.audit("email_change_requested")[0];
    assert_eq!(row.outcome, "success");
    assert_eq!(queued(&env)[0].to, "erin2@example.com");
}
