//! The administrators' rules through the admin use cases, without HTTP:
//! never without an (enabled) administrator, never taking the role from
//! oneself (directly or through a group), the re-authentication window,
//! and audit rows naming the actor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::actor::Actor;
use core_auth::admin::{self, directory, users as admin_users};
use core_auth::roles;
use core_auth::users::{self, User, ROLE_ADMIN};
use core_auth::{CoreError, CoreResult};
use support::{admin_actor, Env};

/// The message of a refusal, or a panic when it was no validation error.
fn refusal<T: std::fmt::Debug>(r: CoreResult<T>) -> String {
    match r {
        Err(CoreError::Validation(v)) => v.to_string(),
        other => panic!("expected a validation refusal, got {other:?}"),
    }
}

fn roles_change(roles: &[&str]) -> admin_users::Changes {
    admin_users::Changes {
        roles: Some(roles.iter().map(|r| r.to_string()).collect()),
        ..Default::default()
    }
}

fn is_admin(env: &Env, u: &User) -> bool {
    admin::is_admin(&mut env.conn(), Some(&u.id)).unwrap()
}

fn disabled(env: &Env, u: &User) -> bool {
    users::find_by_id(&mut env.conn(), &u.id)
        .unwrap()
        .expect("user")
        .disabled
}

#[test]
fn the_last_enabled_administrator_cannot_be_disabled_or_deleted() {
    let env = Env::new();
    let core = env.core();
    let alice = env.user("alice@example.com", &[ROLE_ADMIN]);
    let bob = env.user("bob@example.com", &[]);
    let cli = Actor::cli();
    let now = env.now();

    let msg = refusal(admin_users::set_disabled(&core, &cli, &alice.id, true, now));
    assert!(msg.contains("last enabled administrator"), "{msg}");
    let msg = refusal(admin_users::delete(&core, &cli, &alice.id, now));
    assert!(msg.contains("last administrator"), "{msg}");
    assert!(!disabled(&env, &alice) && is_admin(&env, &alice));
    let refused = env.audit("admin_user_deleted");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].outcome, "failure");
    assert_eq!(Env::detail(&refused[0])["reason"], "last_admin");
    assert_eq!(refused[0].actor_user_id, None, "the command line");
    assert_eq!(refused[0].user_agent, "portcullis-cli");

    // Nor may an administrator disable themselves.
    let a = admin_actor(&alice, now);
    let msg = refusal(admin_users::set_disabled(&core, &a, &alice.id, true, now));
    assert!(msg.contains("your own account"), "{msg}");

    // With a second administrator, the first may go; then the second is
    // the last *enabled* one, although the disabled one still holds the role.
    admin_users::update(&core, &a, &bob.id, &roles_change(&[ROLE_ADMIN]), now).unwrap();
    let b = admin_actor(&bob, now);
    admin_users::set_disabled(&core, &b, &alice.id, true, now).unwrap();
    assert!(disabled(&env, &alice));
    let row = &env.audit("admin_user_disabled")[0];
    assert_eq!(row.actor_user_id.as_deref(), Some(bob.id.as_str()));
    assert_eq!(row.subject_user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(row.session_id.as_deref(), Some("sid-of-admin"));
    let msg = refusal(admin_users::set_disabled(&core, &cli, &bob.id, true, now));
    assert!(msg.contains("last enabled administrator"), "{msg}");
    assert!(!disabled(&env, &bob));
    assert_eq!(env.audit("admin_user_disabled").len(), 1);

    // Deleting an administrator who is not the last one works.
    admin_users::delete(&core, &b, &alice.id, now).unwrap();
    assert!(users::find_by_id(&mut env.conn(), &alice.id)
        .unwrap()
        .is_none());
    let done = &env.audit("admin_user_deleted")[0];
    assert_eq!(done.outcome, "success");
    assert_eq!(done.actor_user_id.as_deref(), Some(bob.id.as_str()));
}

#[test]
fn an_administrator_cannot_remove_their_own_admin_role_nor_the_last_one() {
    let env = Env::new();
    let core = env.core();
    let alice = env.user("alice@example.com", &[ROLE_ADMIN]);
    let bob = env.user("bob@example.com", &[ROLE_ADMIN]);
    let now = env.now();
    let a = admin_actor(&alice, now);

    let msg = refusal(admin_users::update(
        &core,
        &a,
        &alice.id,
        &roles_change(&[]),
        now,
    ));
    assert!(msg.contains("your own admin role"), "{msg}");
    assert!(is_admin(&env, &alice), "nothing changed");
    assert!(env.audit("admin_user_updated").is_empty());

    // Another administrator may take it.
    admin_users::update(&core, &a, &bob.id, &roles_change(&[]), now).unwrap();
    assert!(!is_admin(&env, &bob));
    let row = &env.audit("admin_user_updated")[0];
    assert_eq!(row.actor_user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(row.subject_user_id.as_deref(), Some(bob.id.as_str()));
    assert_eq!(
        Env::detail(row)["changes"]["roles_removed"],
        serde_json::json!(["admin"])
    );

    // Not from the last one, not even from the command line.
    let msg = refusal(admin_users::update(
        &core,
        &Actor::cli(),
        &alice.id,
        &roles_change(&[]),
        now,
    ));
    assert!(msg.contains("no administrator"), "{msg}");
    assert!(is_admin(&env, &alice));
}

#[test]
fn admin_through_a_group_is_kept_the_same_way() {
    let env = Env::new();
    let core = env.core();
    let alice = env.user("alice@example.com", &[ROLE_ADMIN]);
    let bob = env.user("bob@example.com", &[ROLE_ADMIN]);
    let now = env.now();
    let a = admin_actor(&alice, now);
    let admins = [ROLE_ADMIN.to_string()];
    let ops = directory::create_group(&core, &a, "ops", "", &admins, now).unwrap();
    let gid = ops.info.group.id.clone();
    directory::set_member(&core, &a, &gid, &alice.id, true, now).unwrap();
    // Alice drops her direct role: she still holds admin through ops.
    admin_users::update(&core, &a, &alice.id, &roles_change(&[]), now).unwrap();
    assert_eq!(
        roles::direct_roles(&mut env.conn(), &alice.id).unwrap(),
        ["user"]
    );
    assert!(is_admin(&env, &alice));

    // Leaving the group, emptying its roles, deleting it, or leaving it
    // through her own account's groups: each would take her role.
    let msg = refusal(directory::set_member(
        &core, &a, &gid, &alice.id, false, now,
    ));
    assert!(msg.contains("your own admin role"), "{msg}");
    let msg = refusal(directory::update_group(
        &core,
        &a,
        &gid,
        None,
        Some(&[][..]),
        now,
    ));
    assert!(msg.contains("your own admin role"), "{msg}");
    let msg = refusal(directory::delete_group(&core, &a, &gid, now));
    assert!(msg.contains("your own admin role"), "{msg}");
    let leave = admin_users::Changes {
        groups: Some(vec![]),
        ..Default::default()
    };
    let msg = refusal(admin_users::update(&core, &a, &alice.id, &leave, now));
    assert!(msg.contains("your own admin role"), "{msg}");
    assert!(is_admin(&env, &alice));
    assert_eq!(
        directory::group_detail(&mut env.conn(), &gid)
            .unwrap()
            .info
            .members,
        1
    );

    // Bob loses his admin role: the group is now the only source.
    admin_users::update(&core, &a, &bob.id, &roles_change(&[]), now).unwrap();
    let msg = refusal(directory::delete_group(&core, &Actor::cli(), &gid, now));
    assert!(msg.contains("no administrator"), "{msg}");
    assert!(roles::find_group(&mut env.conn(), &gid).unwrap().is_some());
    assert!(env.audit("admin_group_deleted").is_empty());

    // With Bob an administrator again, the group may go.
    admin_users::update(
        &core,
        &Actor::cli(),
        &bob.id,
        &roles_change(&[ROLE_ADMIN]),
        now,
    )
    .unwrap();
    directory::delete_group(&core, &Actor::cli(), &gid, now).unwrap();
    assert!(!is_admin(&env, &alice));
    let row = &env.audit("admin_group_deleted")[0];
    assert_eq!(row.actor_user_id, None);
    assert_eq!(Env::detail(row)["name"], "ops");
}

#[test]
fn sensitive_actions_need_a_recent_proof() {
    let env = Env::with(|c| c.admin.reauth_window_secs = 600);
    let core = env.core();
    let alice = env.user("alice@example.com", &[ROLE_ADMIN]);
    let bob = env.user("bob@example.com", &[]);
    let a = admin_actor(&alice, env.now());

    env.advance(600);
    assert!(admin::sensitive(&core, &a, env.now()).is_ok());
    env.advance(1);
    let e = admin_users::set_disabled(&core, &a, &bob.id, true, env.now());
    assert!(
        matches!(e, Err(CoreError::ReauthRequired { max_age: 600 })),
        "{e:?}"
    );
    let e = directory::create_role(&core, &a, "auditor", "", env.now());
    assert!(matches!(e, Err(CoreError::ReauthRequired { .. })), "{e:?}");
    let e = admin_users::update(&core, &a, &bob.id, &roles_change(&[ROLE_ADMIN]), env.now());
    assert!(matches!(e, Err(CoreError::ReauthRequired { .. })), "{e:?}");
    assert!(
        !disabled(&env, &bob) && !is_admin(&env, &bob),
        "nothing changed"
    );
    assert!(env.audit("admin_user_disabled").is_empty());
    assert!(env.audit("admin_role_created").is_empty());

    // A fresh proof (a re-authentication) lets the same person act.
    let again = admin_actor(&alice, env.now());
    admin_users::set_disabled(&core, &again, &bob.id, true, env.now()).unwrap();
    assert!(disabled(&env, &bob));

    // The command line is never asked.
    env.advance(1_000_000);
    admin_users::set_disabled(&core, &Actor::cli(), &bob.id, false, env.now()).unwrap();
    assert!(!disabled(&env, &bob));
    let row = &env.audit("admin_user_enabled")[0];
    assert_eq!(
        (row.actor_user_id.as_deref(), row.user_agent.as_str()),
        (None, "portcullis-cli")
    );
}

#[test]
fn a_window_of_zero_asks_for_a_proof_in_the_same_second() {
    let env = Env::with(|c| c.admin.reauth_window_secs = 0);
    let core = env.core();
    let alice = env.user("alice@example.com", &[ROLE_ADMIN]);
    let a = admin_actor(&alice, env.now());
    let role = directory::create_role(&core, &a, "auditor", "reads the log", env.now()).unwrap();
    assert_eq!(role.name, "auditor");
    let row = &env.audit("admin_role_created")[0];
    assert_eq!(row.actor_user_id.as_deref(), Some(alice.id.as_str()));
    assert_eq!(row.ip, "192.0.2.10");
    env.advance(1);
    let e = directory::delete_role(&core, &a, "auditor", env.now());
    assert!(
        matches!(e, Err(CoreError::ReauthRequired { max_age: 0 })),
        "{e:?}"
    );
    assert!(directory::find_role(&mut env.conn(), "auditor").is_ok());
    directory::delete_role(&core, &Actor::cli(), "auditor", env.now()).unwrap();
    assert!(directory::find_role(&mut env.conn(), "auditor").is_err());
}

#[test]
fn a_disabled_administrator_does_not_count_and_nobody_deletes_themselves() {
    let env = Env::new();
    let core = env.core();
    let now = env.now();
    let alice = env.user("alice@example.com", &[ROLE_ADMIN]);
    let bob = env.user("bob@example.com", &[ROLE_ADMIN]);
    let a = admin_actor(&alice, now);
    admin_users::set_disabled(&core, &a, &bob.id, true, now).unwrap();
    // Bob still holds the role but cannot sign in: Alice is the last one
    // who can, whoever asks.
    let cli = Actor::cli();
    let msg = refusal(admin_users::update(
        &core,
        &cli,
        &alice.id,
        &roles_change(&[]),
        now,
    ));
    assert!(msg.contains("no administrator"), "{msg}");
    let msg = refusal(admin_users::delete(&core, &cli, &alice.id, now));
    assert!(msg.contains("last administrator"), "{msg}");
    assert!(is_admin(&env, &alice));
    // Nobody deletes their own account, even with other administrators.
    admin_users::set_disabled(&core, &a, &bob.id, false, now).unwrap();
    let msg = refusal(admin_users::delete(&core, &a, &alice.id, now));
    assert!(msg.contains("your own account"), "{msg}");
    let rows = env.audit("admin_user_deleted");
    assert_eq!(Env::detail(&rows[0])["reason"], "own_account");
    assert!(users::find_by_id(&mut env.conn(), &alice.id)
        .unwrap()
        .is_some());
}
