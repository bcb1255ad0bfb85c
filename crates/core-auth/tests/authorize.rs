//! The authorization endpoint's changes without HTTP: a consent and a code,
//! each stored with its audit row by its use case.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::actor::Actor;
use core_auth::oidc::{consent, ScopeSet};
use core_auth::CoreError;
use support::oidc::{client, code, redeem};
use support::Env;

#[test]
fn a_consent_is_stored_with_its_row_and_adds_to_the_earlier_one() {
    let env = Env::new();
    let user = env.user("co@example.com", &[]);
    let c = client(&env, false);
    let actor = Actor::anonymous("192.0.2.30", "test").signed_in(&user.id, "sid-co", env.now());
    let grant = |scope: &str| {
        consent::grant(
            &mut env.conn(),
            &actor,
            &c.client_id,
            &ScopeSet::parse(scope),
            env.now(),
        )
    };
    grant("openid").unwrap();
    env.advance(10);
    grant("openid offline_access").unwrap();
    let granted = consent::granted(&mut env.conn(), &user.id, &c.client_id).unwrap();
    assert_eq!(granted, ScopeSet::parse("openid offline_access"));

    let rows = env.audit("consent_granted");
    assert_eq!(rows.len(), 2);
    assert_eq!(Env::detail(&rows[0])["scope"], "openid offline_access");
    assert_eq!(Env::detail(&rows[1])["scope"], "openid");
    for r in &rows {
        assert_eq!(r.subject_user_id.as_deref(), Some(user.id.as_str()));
        assert_eq!(r.actor_user_id.as_deref(), Some(user.id.as_str()));
        assert_eq!(r.client_id.as_deref(), Some(c.client_id.as_str()));
        assert_eq!(r.session_id.as_deref(), Some("sid-co"));
    }

    // Nobody signed in grants nothing.
    let nobody = Actor::anonymous("192.0.2.30", "test");
    let r = consent::grant(
        &mut env.conn(),
        &nobody,
        &c.client_id,
        &ScopeSet::parse("openid"),
        env.now(),
    );
    assert!(matches!(r, Err(CoreError::NotFound(_))), "{r:?}");
    assert_eq!(env.audit("consent_granted").len(), 2);
}

#[test]
fn a_code_is_stored_with_its_row() {
    let env = Env::new();
    let user = env.user("cd@example.com", &[]);
    let c = client(&env, false);
    let issued = code(&env, &c, &user, "openid", "sid-cd");
    let rows = env.audit("code_issued");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "success");
    assert_eq!(rows[0].subject_user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(rows[0].client_id.as_deref(), Some(c.client_id.as_str()));
    assert_eq!(rows[0].session_id.as_deref(), Some("sid-cd"));
    assert_eq!(Env::detail(&rows[0])["scope"], "openid");
    // The row is of the code that works.
    assert!(redeem(&env, &c, &issued).is_ok());
}
