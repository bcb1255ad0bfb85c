//! Second factors without HTTP: enrolling an authenticator app, codes
//! accepted once per step with one step of drift, wrong codes counting
//! against the account's sign-in throttle, recovery codes single use and
//! voided by a new set, who must enrol, the last factor, the admin's
//! reset, when passkeys can work, and ceremonies single use and expiring.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::actor::Actor;
use core_auth::mfa::{self, passkeys, policy, recovery, totp, Code, Factor, Next, Refusal, Step};
use core_auth::secret::Secret;
use core_auth::signin;
use core_auth::CoreError;
use support::{admin_actor, Env, PASSWORD};

fn env() -> Env {
    Env::with(|c| {
        c.issuer = "http://localhost:9".into();
        c.throttle.sign_in_max_failures = 3;
        c.mfa.required_for_roles = vec!["admin".into()];
    })
}

/// Enrols an app for `user_id`; returns its base32 secret and the codes.
fn enrol(env: &Env, actor: &Actor, user_id: &str) -> (String, Vec<Secret>) {
    let e = totp::begin(&env.core(), user_id, env.now()).unwrap();
    assert!(e.uri.expose().starts_with("otpauth://totp/"));
    assert!(e.uri.expose().contains("issuer=localhost"));
    assert!(e.qr_svg.starts_with("<?xml") && e.qr_svg.contains("<svg"));
    let secret = e.secret.expose().to_string();
    let code = totp::code_at(&secret, env.now()).unwrap();
    let codes = totp::confirm(&env.core(), actor, user_id, &code, env.now())
        .unwrap()
        .expect("first code confirms")
        .expect("first factor: recovery codes");
    (secret, codes.0)
}

fn verify(env: &Env, user_id: &str, code: Code<'_>) -> Result<Factor, Refusal> {
    let visitor = Actor::anonymous("198.51.100.9", "test browser");
    mfa::verify_code(
        &env.core(),
        &visitor,
        user_id,
        code,
        Step::SignIn,
        env.now(),
    )
    .unwrap()
}

#[test]
fn an_app_is_on_only_after_a_first_right_code_and_then_codes_work_once_per_step() {
    let env = env();
    let u = env.user("ada@example.com", &[]);
    let me = admin_actor(&u, env.now());
    let e = totp::begin(&env.core(), &u.id, env.now()).unwrap();
    assert!(mfa::factors(&mut env.conn(), &u.id).unwrap().totp.is_none());
    let wrong = totp::confirm(&env.core(), &me, &u.id, "000000", env.now()).unwrap();
    assert!(matches!(wrong, Err(Refusal::Wrong)), "{wrong:?}");
    assert!(!mfa::factors(&mut env.conn(), &u.id).unwrap().any());
    let code = totp::code_at(e.secret.expose(), env.now()).unwrap();
    let codes = totp::confirm(&env.core(), &me, &u.id, &code, env.now())
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(codes.0.len(), recovery::SET_SIZE);
    assert_eq!(env.audit("mfa_factor_added").len(), 1);
    assert_eq!(env.audit("recovery_codes_generated").len(), 1);

    // The confirming code's step is used: the same code again is a replay.
    assert_eq!(
        verify(&env, &u.id, Code::Totp(&code)),
        Err(Refusal::Replayed)
    );
    env.advance(30);
    let next = totp::code_at(e.secret.expose(), env.now()).unwrap();
    assert_eq!(verify(&env, &u.id, Code::Totp(&next)), Ok(Factor::Totp));
    assert_eq!(
        verify(&env, &u.id, Code::Totp(&next)),
        Err(Refusal::Replayed)
    );
    // One step of drift either way; two is too many.
    env.advance(60);
    let late = totp::code_at(e.secret.expose(), env.now() - 30).unwrap();
    assert_eq!(verify(&env, &u.id, Code::Totp(&late)), Ok(Factor::Totp));
    env.advance(30);
    let stale = totp::code_at(e.secret.expose(), env.now() - 60).unwrap();
    assert_eq!(verify(&env, &u.id, Code::Totp(&stale)), Err(Refusal::Wrong));
    // Spaces as apps show them are fine.
    env.advance(30);
    let now = totp::code_at(e.secret.expose(), env.now()).unwrap();
    let spaced = format!("{} {}", &now[..3], &now[3..]);
    assert_eq!(verify(&env, &u.id, Code::Totp(&spaced)), Ok(Factor::Totp));
    let rows = env.audit("second_factor");
    assert_eq!(
        rows.iter().filter(|r| r.outcome == "success").count(),
        3,
        "{rows:?}"
    );
}

#[test]
fn a_second_app_needs_the_first_removed_and_the_secret_is_stored_encrypted() {
    let env = env();
    let u = env.user("bo@example.com", &[]);
    let me = admin_actor(&u, env.now());
    let (secret, _) = enrol(&env, &me, &u.id);
    let again = totp::begin(&env.core(), &u.id, env.now());
    assert!(matches!(again, Err(CoreError::Validation(_))));
    use diesel::prelude::*;
    let stored: String = core_auth::db::schema::mfa_totp::table
        .find(&u.id)
        .select(core_auth::db::schema::mfa_totp::secret_enc)
        .get_result(&mut env.conn())
        .unwrap();
    assert!(
        !stored.contains(&secret),
        "the secret is not stored in clear"
    );
    assert!(totp::remove(&env.core(), &me, &u.id, env.now()).unwrap());
    assert!(!mfa::factors(&mut env.conn(), &u.id).unwrap().any());
    assert_eq!(
        mfa::factors(&mut env.conn(), &u.id)
            .unwrap()
            .recovery_codes_left,
        0,
        "the last factor's recovery codes go with it"
    );
}

#[test]
fn wrong_codes_count_against_the_accounts_sign_in_throttle() {
    let env = env();
    let u = env.user("cy@example.com", &[]);
    let me = admin_actor(&u, env.now());
    let (secret, _) = enrol(&env, &me, &u.id);
    env.advance(30);
    for _ in 0..3 {
        assert_eq!(
            verify(&env, &u.id, Code::Totp("123456")),
            Err(Refusal::Wrong)
        );
    }
    let right = totp::code_at(&secret, env.now()).unwrap();
    assert!(matches!(
        verify(&env, &u.id, Code::Totp(&right)),
        Err(Refusal::Throttled { .. })
    ));
    // The password is throttled too: it is the same rule.
    let visitor = Actor::anonymous("198.51.100.9", "test browser");
    let pw = Secret::new(PASSWORD);
    let r = signin::with_password(&env.core(), &visitor, &u.email, &pw, env.now()).unwrap();
    assert!(matches!(r, Err(signin::Refusal::Throttled { .. })), "{r:?}");
    assert!(!env.audit("throttled").is_empty());
}

#[test]
fn recovery_codes_work_once_and_a_new_set_voids_the_old() {
    let env = env();
    let u = env.user("di@example.com", &[]);
    let me = admin_actor(&u, env.now());
    let (_, codes) = enrol(&env, &me, &u.id);
    let first = codes[0].expose().to_uppercase();
    assert_eq!(
        verify(&env, &u.id, Code::Recovery(&first)),
        Ok(Factor::RecoveryCode)
    );
    assert_eq!(
        verify(&env, &u.id, Code::Recovery(&first)),
        Err(Refusal::Wrong)
    );
    let left = mfa::factors(&mut env.conn(), &u.id)
        .unwrap()
        .recovery_codes_left;
    assert_eq!(left, 9);
    let fresh = recovery::regenerate(&env.core(), &me, &u.id, env.now()).unwrap();
    assert_eq!(
        verify(&env, &u.id, Code::Recovery(codes[1].expose())),
        Err(Refusal::Wrong),
        "the old set is void"
    );
    assert_eq!(
        verify(&env, &u.id, Code::Recovery(fresh.0[1].expose())),
        Ok(Factor::RecoveryCode)
    );
    // Another account's code is no code.
    let other = env.user("eve@example.com", &[]);
    assert_eq!(
        verify(&env, &other.id, Code::Recovery(fresh.0[2].expose())),
        Err(Refusal::Wrong)
    );
}

#[test]
fn who_must_enrol_and_what_comes_after_the_password() {
    let env = env();
    let plain = env.user("fay@example.com", &[]);
    let admin = env.user("gus@example.com", &["admin"]);
    let cfg = &env.config;
    let next = |id: &str, upstream: bool| {
        policy::after_first_factor(&mut env.conn(), cfg, id, upstream).unwrap()
    };
    assert!(matches!(next(&plain.id, false), Next::Done));
    assert!(
        matches!(next(&admin.id, false), Next::Enrol),
        "a required role"
    );
    assert!(
        matches!(next(&admin.id, true), Next::Done),
        "trusted upstream MFA"
    );

    let boss = admin_actor(&admin, env.now());
    policy::set_required(&env.core(), &boss, &plain.id, true, env.now()).unwrap();
    assert!(
        matches!(next(&plain.id, false), Next::Enrol),
        "the admin's flag"
    );
    assert_eq!(env.audit("admin_mfa_requirement_set").len(), 1);
    // Setting it again changes nothing and writes nothing.
    policy::set_required(&env.core(), &boss, &plain.id, true, env.now()).unwrap();
    assert_eq!(env.audit("admin_mfa_requirement_set").len(), 1);

    let me = admin_actor(&plain, env.now());
    enrol(&env, &me, &plain.id);
    assert!(matches!(next(&plain.id, false), Next::SecondFactor(f) if f.totp.is_some()));
    // Required: the owner cannot remove the last factor...
    let r = totp::remove(&env.core(), &me, &plain.id, env.now());
    assert!(matches!(r, Err(CoreError::Validation(_))), "{r:?}");
    // ...an administrator can (a lost phone); enrolment is asked again.
    assert_eq!(
        policy::reset(&env.core(), &boss, &plain.id, env.now()).unwrap(),
        1
    );
    assert!(matches!(next(&plain.id, false), Next::Enrol));
    assert_eq!(
        mfa::factors(&mut env.conn(), &plain.id)
            .unwrap()
            .recovery_codes_left,
        0
    );
    policy::set_required(&env.core(), &boss, &plain.id, false, env.now()).unwrap();
    assert!(matches!(next(&plain.id, false), Next::Done));
}

#[test]
fn the_admins_reset_asks_for_a_recent_sign_in() {
    let env = env();
    let admin = env.user("hal@example.com", &["admin"]);
    let plain = env.user("ivy@example.com", &[]);
    let stale = admin_actor(&admin, env.now() - 3600);
    let r = policy::reset(&env.core(), &stale, &plain.id, env.now());
    assert!(matches!(r, Err(CoreError::ReauthRequired { .. })), "{r:?}");
}

#[test]
fn passkeys_need_a_domain_and_a_secure_context() {
    let ok = |issuer: &str| {
        let c = core_auth::Config {
            issuer: issuer.into(),
            ..core_auth::Config::default()
        };
        passkeys::availability(&c)
    };
    assert!(ok("https://id.example.com").is_ok());
    assert!(ok("http://localhost:8080").is_ok());
    let ip = ok("http://127.0.0.1:8080").unwrap_err();
    assert!(ip.contains("IP address"), "{ip}");
    assert!(ok("https://[::1]:8443").is_err());
    let plain = ok("http://id.example.com").unwrap_err();
    assert!(plain.contains("https"), "{plain}");
}

#[test]
fn a_ceremony_asks_for_a_discoverable_key_and_is_single_use_and_expires() {
    let env = env();
    let u = env.user("jo@example.com", &[]);
    let me = admin_actor(&u, env.now());
    let ch = passkeys::begin_registration(&env.core(), &u.id, env.now()).unwrap();
    let pk = &ch.options["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    // A garbage answer fails and uses the ceremony up.
    let r = passkeys::finish_registration(
        &env.core(),
        &me,
        &u.id,
        ch.handle.expose(),
        "Laptop",
        "{}",
        env.now(),
    )
    .unwrap();
    assert_eq!(r.unwrap_err(), passkeys::Refusal::Invalid);
    let again = passkeys::finish_registration(
        &env.core(),
        &me,
        &u.id,
        ch.handle.expose(),
        "Laptop",
        "{}",
        env.now(),
    )
    .unwrap();
    assert_eq!(again.unwrap_err(), passkeys::Refusal::Expired);
    // Another account cannot finish someone's ceremony; none lives past 5 minutes.
    let other = env.user("kit@example.com", &[]);
    let ch = passkeys::begin_registration(&env.core(), &u.id, env.now()).unwrap();
    let theirs = passkeys::finish_registration(
        &env.core(),
        &admin_actor(&other, env.now()),
        &other.id,
        ch.handle.expose(),
        "Phone",
        "{}",
        env.now(),
    )
    .unwrap();
    assert_eq!(theirs.unwrap_err(), passkeys::Refusal::Expired);
    let ch = passkeys::begin_sign_in(&env.core(), env.now()).unwrap();
    assert_eq!(ch.options["mediation"], "conditional");
    env.advance(301);
    let late = passkeys::finish_sign_in(
        &env.core(),
        &Actor::anonymous("198.51.100.9", "b"),
        ch.handle.expose(),
        "{}",
        env.now(),
    )
    .unwrap();
    assert_eq!(late.unwrap_err(), passkeys::Refusal::Expired);
    // An empty name is refused before anything else.
    let ch = passkeys::begin_registration(&env.core(), &u.id, env.now()).unwrap();
    let unnamed = passkeys::finish_registration(
        &env.core(),
        &me,
        &u.id,
        ch.handle.expose(),
        "  ",
        "{}",
        env.now(),
    );
    assert!(matches!(unnamed, Err(CoreError::Validation(_))));
    // An account without passkeys has nothing to ask for.
    assert!(passkeys::begin_for_account(&env.core(), &u.id, env.now())
        .unwrap()
        .is_none());
}

#[test]
fn an_admin_removes_one_factor_and_counts_admins_without_one() {
    let env = env();
    let admin = env.user("lee@example.com", &["admin"]);
    let other = env.user("mo@example.com", &["admin"]);
    let boss = admin_actor(&admin, env.now());
    assert_eq!(policy::admins_without_factor(&mut env.conn()).unwrap(), 2);
    enrol(&env, &admin_actor(&other, env.now()), &other.id);
    assert_eq!(policy::admins_without_factor(&mut env.conn()).unwrap(), 1);
    // A passkey that is not theirs is not found; the app is removed.
    let r = policy::remove_one(
        &env.core(),
        &boss,
        &other.id,
        &policy::FactorRef::Passkey("nope".into()),
        env.now(),
    );
    assert!(matches!(r, Err(CoreError::NotFound(_))), "{r:?}");
    policy::remove_one(
        &env.core(),
        &boss,
        &other.id,
        &policy::FactorRef::App,
        env.now(),
    )
    .unwrap();
    let f = mfa::factors(&mut env.conn(), &other.id).unwrap();
    assert!(!f.any());
    assert_eq!(f.recovery_codes_left, 0);
    assert_eq!(env.audit("mfa_factor_removed").len(), 1);
    let stale = admin_actor(&admin, env.now() - 3600);
    let r = policy::remove_one(
        &env.core(),
        &stale,
        &other.id,
        &policy::FactorRef::App,
        env.now(),
    );
    assert!(matches!(r, Err(CoreError::ReauthRequired { .. })), "{r:?}");
}
