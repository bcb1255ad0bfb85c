//! Codes and refresh tokens through the domain's grants, without HTTP:
//! rotation, reuse detection, idle and absolute expiry on a manual clock,
//! a code redeemed twice, a session-bound grant ending with its session.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::sessions;
use support::oidc::{at_revoked, client, code, redeem, refresh, refused, rt_row};
use support::{signed_in_state, Env};

#[test]
fn every_refresh_rotates_and_a_rotated_token_revokes_the_family() {
    let env = Env::new();
    let user = env.user("rot@example.com", &[]);
    let c = client(&env, false);
    let t1 = redeem(
        &env,
        &c,
        &code(&env, &c, &user, "openid offline_access", "s1"),
    )
    .unwrap();
    let rt1 = t1
        .refresh_token
        .clone()
        .expect("offline_access gives a refresh token");
    assert!(t1.id_token.is_some());

    env.advance(30);
    let t2 = refresh(&env, &c, &rt1).unwrap();
    let rt2 = t2.refresh_token.clone().expect("a new refresh token");
    assert_ne!(rt1, rt2);
    let (row1, row2) = (rt_row(&env, &rt1), rt_row(&env, &rt2));
    assert_eq!(
        row1.used_at,
        Some(env.now()),
        "the presented token is used up"
    );
    assert_eq!(row1.family_id, row2.family_id, "same family");
    assert!(row2.used_at.is_none() && row2.revoked_at.is_none());
    assert_eq!(env.audit("token_refreshed").len(), 1);
    assert!(!at_revoked(&env, &t1.access_token));

    // The rotated token again: reuse. The whole family goes.
    env.advance(5);
    refused(refresh(&env, &c, &rt1), "already used");
    assert_eq!(rt_row(&env, &rt2).revoked_at, Some(env.now()));
    assert!(
        at_revoked(&env, &t1.access_token),
        "access tokens of the family too"
    );
    assert!(at_revoked(&env, &t2.access_token));
    refused(refresh(&env, &c, &rt2), "revoked");

    let reuse = env.audit("refresh_reuse_detected");
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0].outcome, "failure");
    assert_eq!(reuse[0].subject_user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(reuse[0].client_id.as_deref(), Some(c.client_id.as_str()));
    assert_eq!(Env::detail(&reuse[0])["family_revoked"], 2);
    assert_eq!(
        env.audit("token_refreshed").len(),
        1,
        "no refresh succeeded"
    );
}

#[test]
fn a_refresh_token_expires_after_the_idle_time() {
    let env = Env::with(|c| {
        c.tokens.refresh_token_idle_secs = 600;
        c.tokens.refresh_token_absolute_secs = 3_600;
    });
    let user = env.user("idle@example.com", &[]);
    let c = client(&env, false);
    let t1 = redeem(
        &env,
        &c,
        &code(&env, &c, &user, "openid offline_access", "s1"),
    )
    .unwrap();
    let rt1 = t1.refresh_token.unwrap();
    assert_eq!(rt_row(&env, &rt1).expires_at, env.now() + 600);

    // Used within the idle time: works, and the new token has its own.
    env.advance(599);
    let rt2 = refresh(&env, &c, &rt1).unwrap().refresh_token.unwrap();
    assert_eq!(rt_row(&env, &rt2).expires_at, env.now() + 600);

    env.advance(600);
    refused(refresh(&env, &c, &rt2), "expired");
    // Expiry is not reuse: nothing is marked or revoked.
    let row = rt_row(&env, &rt2);
    assert!(row.used_at.is_none() && row.revoked_at.is_none());
    assert!(env.audit("refresh_reuse_detected").is_empty());
}

#[test]
fn rotation_never_outlives_the_absolute_lifetime() {
    let env = Env::with(|c| {
        c.tokens.refresh_token_idle_secs = 600;
        c.tokens.refresh_token_absolute_secs = 1_000;
    });
    let start = env.now();
    let user = env.user("abs@example.com", &[]);
    let c = client(&env, false);
    let t1 = redeem(
        &env,
        &c,
        &code(&env, &c, &user, "openid offline_access", "s1"),
    )
    .unwrap();
    let mut rt = t1.refresh_token.unwrap();
    for _ in 0..2 {
        env.advance(450);
        rt = refresh(&env, &c, &rt).unwrap().refresh_token.unwrap();
    }
    // At start + 900 the idle time would reach 1500: capped at 1000.
    let row = rt_row(&env, &rt);
    assert_eq!(row.family_expires_at, start + 1_000);
    assert_eq!(row.expires_at, start + 1_000);

    env.advance(99);
    rt = refresh(&env, &c, &rt).unwrap().refresh_token.unwrap();
    env.advance(1);
    assert_eq!(env.now(), start + 1_000);
    refused(refresh(&env, &c, &rt), "expired");
}

#[test]
fn a_code_works_once_and_its_replay_revokes_what_it_gave() {
    let env = Env::new();
    let user = env.user("code@example.com", &[]);
    let c = client(&env, false);
    let code1 = code(&env, &c, &user, "openid offline_access", "s1");
    let t1 = redeem(&env, &c, &code1).unwrap();
    let rt1 = t1.refresh_token.clone().unwrap();

    env.advance(2);
    refused(redeem(&env, &c, &code1), "already been used");
    assert!(at_revoked(&env, &t1.access_token));
    assert_eq!(rt_row(&env, &rt1).revoked_at, Some(env.now()));
    refused(refresh(&env, &c, &rt1), "revoked");
    let replay = env.audit("code_replayed");
    assert_eq!(replay.len(), 1);
    assert_eq!(Env::detail(&replay[0])["tokens_revoked"], 1);
    assert_eq!(replay[0].subject_user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(env.audit("token_issued").len(), 1);

    // A code not redeemed within its lifetime is refused.
    let code2 = code(&env, &c, &user, "openid", "s1");
    env.advance(env.config.tokens.authorization_code_lifetime_secs);
    refused(redeem(&env, &c, &code2), "expired");

    // Another client cannot redeem someone else's code.
    let other = client(&env, false);
    let code3 = code(&env, &c, &user, "openid", "s1");
    refused(redeem(&env, &other, &code3), "another client");
    assert!(
        redeem(&env, &c, &code3).is_ok(),
        "the attempt did not use it up"
    );
}

#[test]
fn a_grant_without_offline_access_ends_with_its_session() {
    let env = Env::new();
    let user = env.user("online@example.com", &[]);
    let c = client(&env, true);
    let state = signed_in_state(&user.id, "sid-online", env.now());
    let key = sessions::create(&mut env.conn(), &state, env.now(), 10).unwrap();
    let t1 = redeem(&env, &c, &code(&env, &c, &user, "openid", "sid-online")).unwrap();
    let rt1 = t1.refresh_token.expect("always_issue_refresh");
    assert!(!rt_row(&env, &rt1).offline);

    env.advance(60);
    let rt2 = refresh(&env, &c, &rt1).unwrap().refresh_token.unwrap();

    sessions::delete(&mut env.conn(), key.expose()).unwrap();
    env.advance(60);
    refused(refresh(&env, &c, &rt2), "session");
    assert!(rt_row(&env, &rt2).used_at.is_none(), "not used up");
}
