//! Per-account throttles and the one password check, without HTTP: counts
//! up to the limit, refusal with the time left, the window on a manual
//! clock, clearing; wrong passwords counting, a throttled account refused
//! even with the right password, success clearing, the audit rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::actor::Actor;
use core_auth::secret::Secret;
use core_auth::signin::{self, Refusal};
use core_auth::throttle::{self, Kind, Rule};
use core_auth::CoreError;
use support::{Env, PASSWORD};

fn env() -> Env {
    Env::with(|c| {
        c.throttle.sign_in_max_failures = 3;
        c.throttle.sign_in_window_secs = 300;
    })
}

fn visitor() -> Actor {
    Actor::anonymous("198.51.100.9", "test browser")
}

fn sign_in(env: &Env, email: &str, password: &str) -> Result<String, Refusal> {
    let pw = Secret::new(password);
    signin::with_password(&env.core(), &visitor(), email, &pw, env.now())
        .expect("no infrastructure error")
        .map(|u| u.id)
}

#[test]
fn the_rule_counts_to_its_limit_then_refuses_until_the_window_ends() {
    let env = env();
    let rule = Rule::sign_in(&env.config.throttle);
    assert_eq!((rule.max, rule.window), (3, 300));
    let mut c = env.conn();
    let start = env.now();
    let addr = "Someone@Example.com";
    for n in 1..=3 {
        assert_eq!(
            throttle::retry_after(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap(),
            None,
            "below the limit after {} hits",
            n - 1
        );
        assert_eq!(
            throttle::hit(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap(),
            n
        );
        env.advance(10);
    }
    // Case and spaces do not make another address.
    let same = "  someone@example.COM ";
    assert_eq!(
        throttle::retry_after(&mut c, Kind::SignIn, same, rule, env.now()).unwrap(),
        Some(start + 300 - env.now())
    );
    // Another kind, another address: not throttled.
    let reset = Rule::reset(&env.config.throttle);
    assert_eq!(
        throttle::retry_after(&mut c, Kind::Reset, addr, reset, env.now()).unwrap(),
        None
    );
    assert_eq!(
        throttle::retry_after(&mut c, Kind::SignIn, "x@example.com", rule, env.now()).unwrap(),
        None
    );
    // The admin console sees it, masked.
    let active = throttle::active(&mut c, rule, reset, env.now()).unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(
        (active[0].label.as_str(), active[0].count),
        ("s***@example.com", 3)
    );

    env.clock.set(start + 299);
    assert_eq!(
        throttle::retry_after(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap(),
        Some(1)
    );
    env.clock.set(start + 300);
    assert_eq!(
        throttle::retry_after(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap(),
        None
    );
    assert!(throttle::active(&mut c, rule, reset, env.now())
        .unwrap()
        .is_empty());
    // A hit after the window starts a new one.
    assert_eq!(
        throttle::hit(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap(),
        1
    );

    // Clearing forgets the count.
    throttle::hit(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap();
    throttle::hit(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap();
    assert!(
        throttle::retry_after(&mut c, Kind::SignIn, addr, rule, env.now())
            .unwrap()
            .is_some()
    );
    assert!(throttle::clear(&mut c, Kind::SignIn, same).unwrap());
    assert!(!throttle::clear(&mut c, Kind::SignIn, addr).unwrap());
    assert_eq!(
        throttle::retry_after(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap(),
        None
    );
    assert_eq!(
        throttle::hit(&mut c, Kind::SignIn, addr, rule, env.now()).unwrap(),
        1
    );
}

#[test]
fn wrong_passwords_count_and_a_throttled_account_refuses_the_right_one() {
    let env = env();
    let user = env.user("alice@example.com", &[]);
    for n in 1..=3 {
        assert_eq!(
            sign_in(&env, "alice@example.com", "wrong password!"),
            Err(Refusal::Wrong)
        );
        let rows = env.audit("sign_in");
        assert_eq!(rows.len(), n);
        assert_eq!(rows[0].outcome, "failure");
        assert_eq!(rows[0].subject_user_id.as_deref(), Some(user.id.as_str()));
        assert_eq!(rows[0].ip, "198.51.100.9");
        let d = Env::detail(&rows[0]);
        assert_eq!(d["reason"], "bad_credentials");
        assert_eq!(d["failures_in_window"], n);
        assert_eq!(d["method"], "pwd");
        env.advance(20);
    }
    let throttled = env.audit("throttled");
    assert_eq!(throttled.len(), 1, "written when the limit is reached");
    assert_eq!(throttled[0].outcome, "denied");

    // Now even the right password is refused, with the time left.
    let left = 300 - 60;
    assert_eq!(
        sign_in(&env, "ALICE@example.com", PASSWORD),
        Err(Refusal::Throttled { retry_after: left })
    );
    let last = &env.audit("sign_in")[0];
    assert_eq!(
        (last.outcome.as_str(), Env::detail(last)["reason"].as_str()),
        ("failure", Some("throttled"))
    );
    assert_eq!(env.audit("sign_in").len(), 4);

    // After the window the right password works and clears the count.
    env.advance(left);
    assert_eq!(
        sign_in(&env, "alice@example.com", PASSWORD),
        Ok(user.id.clone())
    );
    let ok = &env.audit("sign_in")[0];
    assert_eq!(ok.outcome, "success");
    assert_eq!(ok.subject_user_id.as_deref(), Some(user.id.as_str()));
    let rule = Rule::sign_in(&env.config.throttle);
    assert!(throttle::active(&mut env.conn(), rule, rule, env.now())
        .unwrap()
        .is_empty());
}

#[test]
fn a_success_clears_the_failures_so_far() {
    let env = env();
    let user = env.user("bob@example.com", &[]);
    for _ in 0..2 {
        assert_eq!(
            sign_in(&env, "bob@example.com", "not it at all"),
            Err(Refusal::Wrong)
        );
    }
    assert_eq!(
        sign_in(&env, "bob@example.com", PASSWORD),
        Ok(user.id.clone())
    );
    // Counting starts again: two more failures do not reach the limit.
    for _ in 0..2 {
        assert_eq!(
            sign_in(&env, "bob@example.com", "not it at all"),
            Err(Refusal::Wrong)
        );
    }
    assert_eq!(
        Env::detail(&env.audit("sign_in")[0])["failures_in_window"],
        2
    );
    assert_eq!(sign_in(&env, "bob@example.com", PASSWORD), Ok(user.id));
    assert!(env.audit("throttled").is_empty());
}

#[test]
fn unknown_addresses_and_disabled_accounts_count_alike() {
    let env = env();
    for _ in 0..3 {
        assert_eq!(
            sign_in(&env, "nobody@example.com", PASSWORD),
            Err(Refusal::Wrong)
        );
    }
    assert!(matches!(
        sign_in(&env, "nobody@example.com", PASSWORD),
        Err(Refusal::Throttled { .. })
    ));
    assert!(env
        .audit("sign_in")
        .iter()
        .all(|r| r.subject_user_id.is_none()));

    let user = env.user("carol@example.com", &[]);
    core_auth::users::set_disabled(&mut env.conn(), &user.id, true, env.now()).unwrap();
    assert_eq!(
        sign_in(&env, "carol@example.com", PASSWORD),
        Err(Refusal::Disabled)
    );
    let row = &env.audit("sign_in")[0];
    assert_eq!(Env::detail(row)["reason"], "disabled");
    assert_eq!(Env::detail(row)["failures_in_window"], 1);
}

#[test]
fn reauthentication_is_the_same_check_for_the_actor_only() {
    let env = env();
    let user = env.user("dave@example.com", &[]);
    let actor = visitor().signed_in(&user.id, "sid-dave", env.now());
    let reauth = |pw: &str| {
        signin::reauthenticate(&env.core(), &actor, &Secret::new(pw), env.now())
            .unwrap()
            .map(|u| u.id)
    };
    assert_eq!(reauth("guess one two"), Err(Refusal::Wrong));
    let row = &env.audit("admin_reauth")[0];
    assert_eq!(row.outcome, "failure");
    assert_eq!(row.actor_user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(row.session_id.as_deref(), Some("sid-dave"));

    assert_eq!(reauth(PASSWORD), Ok(user.id.clone()));
    let row = &env.audit("admin_reauth")[0];
    assert_eq!(row.outcome, "success");
    assert_eq!(row.subject_user_id.as_deref(), Some(user.id.as_str()));

    // Failed sign-ins and re-authentications share one throttle.
    for _ in 0..2 {
        assert_eq!(
            sign_in(&env, "dave@example.com", "nope nope nope"),
            Err(Refusal::Wrong)
        );
    }
    assert_eq!(reauth("still wrong!!"), Err(Refusal::Wrong));
    assert!(matches!(
        reauth(PASSWORD),
        Err(Refusal::Throttled { retry_after: 300 })
    ));

    // Nobody signed in: nobody to re-authenticate.
    let e = signin::reauthenticate(&env.core(), &visitor(), &Secret::new(PASSWORD), env.now());
    assert!(matches!(e, Err(CoreError::NotFound("user"))), "{e:?}");
}
