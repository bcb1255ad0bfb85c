//! Server-side sessions without HTTP: create, load, update, delete; idle
//! and absolute timeouts on a manual clock; pruning; the per-account cap;
//! anonymous state sealed with the shared cookie key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;

use core_auth::actor::Actor;
use core_auth::sealed_state::{self, Sealer};
use core_auth::secret::random_token;
use core_auth::server_secrets;
use core_auth::sessions::{self, State, Timeouts};
use support::oidc::{at_revoked, client, code, redeem, rt_row};
use support::{signed_in_state, Env};

const T: Timeouts = Timeouts {
    idle: 1_800,
    absolute: 43_200,
};

#[test]
fn a_session_is_stored_loaded_updated_and_deleted() {
    let env = Env::new();
    let user = env.user("s@example.com", &[]);
    let mut c = env.conn();
    let anon: State = HashMap::from([("csrf".to_string(), "\"t1\"".to_string())]);
    let key = sessions::create(&mut c, &anon, env.now(), 25).unwrap();
    assert_eq!(
        sessions::load(&mut c, key.expose(), env.now(), T).unwrap(),
        Some(anon.clone())
    );
    assert!(sessions::list_for_user(&mut c, &user.id)
        .unwrap()
        .is_empty());
    assert!(env.audit("session_started").is_empty(), "anonymous: no row");

    // Signing in in the same session.
    let state = signed_in_state(&user.id, "sid-1", env.now());
    assert!(sessions::update(&mut c, key.expose(), &state, env.now(), 25).unwrap());
    let listed = sessions::list_for_user(&mut c, &user.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].sid.as_str(), listed[0].ip.as_str()),
        ("sid-1", "192.0.2.4")
    );
    assert_eq!(listed[0].auth_time, Some(env.now()));
    assert_eq!(
        sessions::load(&mut c, key.expose(), env.now(), T).unwrap(),
        Some(state.clone())
    );
    // The cookie key is not stored: only its hash.
    assert_ne!(listed[0].id_hash, key.expose());

    sessions::delete(&mut c, key.expose()).unwrap();
    assert_eq!(
        sessions::load(&mut c, key.expose(), env.now(), T).unwrap(),
        None
    );
    // An update does not bring a deleted session back.
    assert!(!sessions::update(&mut c, key.expose(), &state, env.now(), 25).unwrap());
    assert_eq!(
        sessions::load(&mut c, key.expose(), env.now(), T).unwrap(),
        None
    );
    // An unknown key is no session.
    let unknown = random_token();
    assert_eq!(
        sessions::load(&mut c, unknown.expose(), env.now(), T).unwrap(),
        None
    );
}

#[test]
fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    let env = Env::new();
    let user = env.user("t@example.com", &[]);
    let mut c = env.conn();
    let start = env.now();
    let key = sessions::create(
        &mut c,
        &signed_in_state(&user.id, "sid-a", start),
        start,
        25,
    )
    .unwrap();
    assert!(sessions::is_alive(&mut c, "sid-a", start, T).unwrap());

    // Idle: exactly the timeout still counts; one second more does not.
    env.advance(T.idle);
    assert!(sessions::load(&mut c, key.expose(), env.now(), T)
        .unwrap()
        .is_some());
    // That load touched last-seen, so the idle time starts again.
    env.advance(T.idle);
    assert!(sessions::is_alive(&mut c, "sid-a", env.now(), T).unwrap());
    env.advance(1);
    assert!(!sessions::is_alive(&mut c, "sid-a", env.now(), T).unwrap());
    assert_eq!(
        sessions::load(&mut c, key.expose(), env.now(), T).unwrap(),
        None
    );
    assert!(
        sessions::list_for_user(&mut c, &user.id)
            .unwrap()
            .is_empty(),
        "an expired session met on load is deleted"
    );

    // Absolute: a session used every few minutes still ends.
    let start = env.now();
    let key = sessions::create(
        &mut c,
        &signed_in_state(&user.id, "sid-b", start),
        start,
        25,
    )
    .unwrap();
    while env.now() + 1_200 <= start + T.absolute {
        env.advance(1_200);
        assert!(
            sessions::load(&mut c, key.expose(), env.now(), T)
                .unwrap()
                .is_some(),
            "alive at +{}",
            env.now() - start
        );
    }
    env.clock.set(start + T.absolute + 1);
    assert_eq!(
        sessions::load(&mut c, key.expose(), env.now(), T).unwrap(),
        None
    );
}

#[test]
fn prune_deletes_only_expired_sessions() {
    let env = Env::new();
    let user = env.user("p@example.com", &[]);
    let mut c = env.conn();
    let start = env.now();
    let old =
        sessions::create(&mut c, &signed_in_state(&user.id, "old", start), start, 25).unwrap();
    env.advance(T.idle);
    let fresh = sessions::create(
        &mut c,
        &signed_in_state(&user.id, "new", env.now()),
        env.now(),
        25,
    )
    .unwrap();
    assert_eq!(sessions::prune_expired(&mut c, env.now(), T).unwrap(), 0);
    env.advance(1);
    assert_eq!(sessions::prune_expired(&mut c, env.now(), T).unwrap(), 1);
    let left: Vec<String> = sessions::list_for_user(&mut c, &user.id)
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(left, vec!["new".to_string()]);
    assert!(sessions::load(&mut c, fresh.expose(), env.now(), T)
        .unwrap()
        .is_some());
    assert!(sessions::load(&mut c, old.expose(), env.now(), T)
        .unwrap()
        .is_none());
}

#[test]
fn beyond_the_cap_the_oldest_other_sessions_end() {
    let env = Env::new();
    let user = env.user("cap@example.com", &[]);
    let other = env.user("other@example.com", &[]);
    let mut c = env.conn();
    let mut keys = Vec::new();
    for i in 0..3 {
        let st = signed_in_state(&user.id, &format!("sid-{i}"), env.now());
        keys.push(sessions::create(&mut c, &st, env.now(), 3).unwrap());
        env.advance(10);
    }
    let st = signed_in_state(&other.id, "sid-other", env.now());
    sessions::create(&mut c, &st, env.now(), 3).unwrap();
    assert_eq!(sessions::list_for_user(&mut c, &user.id).unwrap().len(), 3);
    assert!(env.audit("session_ended").is_empty());

    // A fourth session of the same account, with a cap of 3: sid-0 ends.
    let st = signed_in_state(&user.id, "sid-3", env.now());
    let newest = sessions::create(&mut c, &st, env.now(), 3).unwrap();
    let mut sids: Vec<String> = sessions::list_for_user(&mut c, &user.id)
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    sids.sort();
    assert_eq!(sids, ["sid-1", "sid-2", "sid-3"]);
    assert!(sessions::load(&mut c, keys[0].expose(), env.now(), T)
        .unwrap()
        .is_none());
    assert!(sessions::load(&mut c, newest.expose(), env.now(), T)
        .unwrap()
        .is_some());
    assert_eq!(
        sessions::list_for_user(&mut c, &other.id).unwrap().len(),
        1,
        "another account's sessions do not count"
    );
    let ended = env.audit("session_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].subject_user_id.as_deref(), Some(user.id.as_str()));
    let d = Env::detail(&ended[0]);
    assert_eq!(
        (d["how"].as_str(), d["session"].as_str()),
        (Some("session_limit"), Some("sid-0"))
    );
    assert_eq!(env.audit("session_started").len(), 5);

    // A cap of 1 keeps only the session being written (via update).
    assert!(sessions::update(&mut c, newest.expose(), &st, env.now(), 1).unwrap());
    let left = sessions::list_for_user(&mut c, &user.id).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].sid, "sid-3");
    assert_eq!(env.audit("session_ended").len(), 3);
}

#[test]
fn signing_out_ends_the_session_its_tokens_and_writes_its_row() {
    let env = Env::new();
    let user = env.user("out@example.com", &[]);
    let other = env.user("other@example.com", &[]);
    let c = client(&env, true);
    let mut conn = env.conn();
    let here = sessions::create(
        &mut conn,
        &signed_in_state(&user.id, "sid-here", env.now()),
        env.now(),
        10,
    )
    .unwrap();
    let there = sessions::create(
        &mut conn,
        &signed_in_state(&user.id, "sid-there", env.now()),
        env.now(),
        10,
    )
    .unwrap();
    let t = redeem(&env, &c, &code(&env, &c, &user, "openid", "sid-here")).unwrap();
    let kept = redeem(&env, &c, &code(&env, &c, &user, "openid", "sid-there")).unwrap();

    // Someone else naming this session ends nothing of it.
    let stranger = Actor::anonymous("192.0.2.9", "t").signed_in(&other.id, "sid-here", env.now());
    sessions::sign_out(&mut conn, &stranger, "sign_out", env.now()).unwrap();
    assert!(sessions::load(&mut conn, here.expose(), env.now(), T)
        .unwrap()
        .is_some());
    assert!(!at_revoked(&env, &t.access_token));

    env.advance(30);
    let me =
        Actor::anonymous("192.0.2.4", "test browser").signed_in(&user.id, "sid-here", env.now());
    sessions::sign_out(&mut conn, &me, "rp_initiated", env.now()).unwrap();
    assert_eq!(
        sessions::load(&mut conn, here.expose(), env.now(), T).unwrap(),
        None
    );
    let rt = t.refresh_token.expect("always_issue_refresh");
    assert_eq!(rt_row(&env, &rt).revoked_at, Some(env.now()));
    assert!(at_revoked(&env, &t.access_token));
    // The account's other session and its tokens stay.
    assert!(sessions::load(&mut conn, there.expose(), env.now(), T)
        .unwrap()
        .is_some());
    assert!(!at_revoked(&env, &kept.access_token));

    let ended = env.audit("session_ended");
    assert_eq!(ended.len(), 2);
    assert_eq!(ended[0].subject_user_id.as_deref(), Some(user.id.as_str()));
    assert_eq!(ended[0].session_id.as_deref(), Some("sid-here"));
    assert_eq!(
        Env::detail(&ended[0]),
        serde_json::json!({"how": "rp_initiated"})
    );
    assert_eq!(ended[1].subject_user_id.as_deref(), Some(other.id.as_str()));
}

#[test]
fn anonymous_state_is_sealed_with_the_shared_cookie_key() {
    let env = Env::new();
    let mut c = env.conn();
    // Two nodes ask for the cookie key; the second gets the first's.
    let make = || random_token().into_inner();
    let a = server_secrets::get_or_create(&mut c, "test_cookie_key", make, env.now()).unwrap();
    let b = server_secrets::get_or_create(&mut c, "test_cookie_key", make, env.now()).unwrap();
    assert_eq!(a, b);
    let (node1, node2) = (Sealer::derive(a.as_bytes()), Sealer::derive(b.as_bytes()));

    let state: sealed_state::State = HashMap::from([("csrf".to_string(), "\"tok\"".to_string())]);
    let sealed = node1.seal(&state, env.now()).expect("fits in a cookie");
    assert!(sealed_state::is_sealed(&sealed));
    assert_eq!(node2.open(&sealed, env.now(), T.idle), Some(state.clone()));
    env.advance(T.idle);
    assert_eq!(node2.open(&sealed, env.now(), T.idle), Some(state));
    env.advance(1);
    assert_eq!(
        node2.open(&sealed, env.now(), T.idle),
        None,
        "past the idle time"
    );
    let stranger = Sealer::derive(b"some other server");
    assert_eq!(stranger.open(&sealed, env.now() - 1, T.idle), None);
}
