//! Sign-in through an upstream provider without HTTP: what a validated
//! answer leads to (`federation::finish`: sign in, create the account,
//! link, ask for a password, confirm who you are, refuse), the password
//! confirmation of a link, and removing a link, each with its audit rows
//! written by the use case.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::actor::Actor;
use core_auth::federation::confirm::{confirm_with_password, Confirmed};
use core_auth::federation::finish::{finish, Finished};
use core_auth::federation::links::{self, Unlinked};
use core_auth::federation::login::Refusal;
use core_auth::federation::pending::{PendingLink, PendingLogin, LOGIN_MAX_AGE};
use core_auth::federation::{UpstreamIdentity, UpstreamProvider};
use core_auth::secret::Secret;
use core_auth::{signin, users};
use support::{Env, PASSWORD};

/// A provider as `[[upstream]]` configures it (validated by the config).
fn provider(id: &str, trust_email: bool, allow_registration: bool) -> UpstreamProvider {
    UpstreamProvider {
        id: id.into(),
        display_name: format!("The {id}"),
        kind: "oidc".into(),
        issuer: "http://127.0.0.1:9/upstream".into(),
        client_id: "portcullis".into(),
        client_secret: "upstream-secret".into(),
        dangerous_allow_http: true,
        trust_email,
        allow_registration,
        ..UpstreamProvider::default()
    }
}

fn env_with(providers: Vec<UpstreamProvider>) -> Env {
    Env::with(|c| c.upstream = providers)
}

fn who(subject: &str, email: &str) -> UpstreamIdentity {
    UpstreamIdentity {
        subject: subject.into(),
        email: email.into(),
        email_verified: true,
        name: String::new(),
        amr: vec!["mfa".into()],
    }
}

/// Nobody signed in, at a browser.
fn browser() -> Actor {
    Actor::anonymous("192.0.2.20", "test browser")
}

/// `user_id` signed in at a browser, in session `sid`.
fn signed_in(user_id: &str, sid: &str, env: &Env) -> Actor {
    browser().signed_in(user_id, sid, env.now())
}

fn run(
    env: &Env,
    actor: &Actor,
    pending: &PendingLogin,
    p: &UpstreamProvider,
    id: &UpstreamIdentity,
) -> Finished {
    finish(&mut env.conn(), actor, pending, p, id, "sid-new", env.now()).unwrap()
}

#[test]
fn a_first_sign_in_makes_the_account_and_its_link_and_audits_them_in_the_new_session() {
    let env = env_with(vec![provider("corp", true, true)]);
    let p = env.config.upstream[0].clone();
    let pending = PendingLogin::new("corp", "/authorize/resume?rid=1", "", env.now());
    let id = who("s-1", "al@example.com");

    let Finished::SignIn { user_id, amr } = run(&env, &browser(), &pending, &p, &id) else {
        panic!("a new account signs in");
    };
    assert_eq!(amr, ["fed", "mfa"]);
    let user = users::find_by_id(&mut env.conn(), &user_id)
        .unwrap()
        .unwrap();
    assert_eq!(user.email, "al@example.com");
    assert!(user.email_verified, "the trusted provider vouches for it");
    assert!(user.password_hash.is_none());
    for event in ["registration", "upstream_link_created", "sign_in"] {
        let rows = env.audit(event);
        assert_eq!(rows.len(), 1, "{event}: {rows:?}");
        let r = &rows[0];
        assert_eq!(r.outcome, "success");
        assert_eq!(r.subject_user_id.as_deref(), Some(user_id.as_str()));
        assert_eq!(r.actor_user_id.as_deref(), Some(user_id.as_str()));
        assert_eq!(r.session_id.as_deref(), Some("sid-new"), "{event}");
        assert_eq!(Env::detail(r)["provider"], "corp");
    }
    assert_eq!(
        Env::detail(&env.audit("upstream_link_created")[0])["how"],
        "new_account"
    );
    assert_eq!(Env::detail(&env.audit("sign_in")[0])["method"], "upstream");
    assert_eq!(
        Env::detail(&env.audit("registration")[0])["email_verified"],
        true
    );

    // The next time, the link signs the same person in: nothing new made.
    env.advance(60);
    let again = PendingLogin::new("corp", "", "", env.now());
    let Finished::SignIn { user_id: same, .. } = run(&env, &browser(), &again, &p, &id) else {
        panic!("the link signs in");
    };
    assert_eq!(same, user_id);
    assert_eq!(env.audit("registration").len(), 1);
    assert_eq!(env.audit("upstream_link_created").len(), 1);
    assert_eq!(env.audit("sign_in").len(), 2);
    let link = links::find(&mut env.conn(), "corp", "s-1")
        .unwrap()
        .unwrap();
    assert_eq!(link.last_used_at, env.now());
}

#[test]
fn refusals_change_nothing_and_say_why() {
    let mut only_org = provider("org", true, true);
    only_org.allowed_email_domains = vec!["example.org".into()];
    let env = env_with(vec![provider("closed", true, false), only_org]);
    let (closed, org) = (
        env.config.upstream[0].clone(),
        env.config.upstream[1].clone(),
    );

    let pending = PendingLogin::new("closed", "", "", env.now());
    let id = who("s-2", "new@example.com");
    assert_eq!(
        run(&env, &browser(), &pending, &closed, &id),
        Finished::Refused(Refusal::RegistrationClosed)
    );
    let pending = PendingLogin::new("org", "", "", env.now());
    assert_eq!(
        run(&env, &browser(), &pending, &org, &id),
        Finished::Refused(Refusal::DomainNotAllowed)
    );

    assert!(users::find_by_email(&mut env.conn(), "new@example.com")
        .unwrap()
        .is_none());
    assert!(env.audit("registration").is_empty());
    let rows = env.audit("sign_in");
    let reasons: Vec<_> = rows
        .iter()
        .map(|r| Env::detail(r)["reason"].clone())
        .collect();
    assert_eq!(reasons, ["domain_not_allowed", "registration_closed"]);
    for r in &rows {
        assert_eq!(r.outcome, "failure");
        assert_eq!(Env::detail(r)["method"], "upstream");
        assert_eq!(r.session_id, None, "no session was started");
        assert_eq!(r.subject_user_id, None);
    }
}

#[test]
fn a_link_is_made_for_the_person_who_asked_while_they_are_signed_in() {
    let env = env_with(vec![provider("corp", false, false)]);
    let p = env.config.upstream[0].clone();
    let bo = env.user("bo@example.com", &[]);
    let cy = env.user("cy@example.com", &[]);
    let id = who("s-bo", "bo@corp.example");

    // Signed out meanwhile (or someone else at the browser): nothing.
    let pending = PendingLogin::new("corp", "", &bo.id, env.now());
    assert_eq!(
        run(&env, &browser(), &pending, &p, &id),
        Finished::SignedOut
    );
    let cy_here = signed_in(&cy.id, "sid-cy", &env);
    assert_eq!(run(&env, &cy_here, &pending, &p, &id), Finished::SignedOut);
    assert!(links::find(&mut env.conn(), "corp", "s-bo")
        .unwrap()
        .is_none());

    let bo_here = signed_in(&bo.id, "sid-bo", &env);
    assert_eq!(run(&env, &bo_here, &pending, &p, &id), Finished::Linked);
    let made = env.audit("upstream_link_created");
    assert_eq!(made.len(), 1);
    assert_eq!(Env::detail(&made[0])["how"], "account_page");
    assert_eq!(made[0].subject_user_id.as_deref(), Some(bo.id.as_str()));
    assert_eq!(
        made[0].session_id.as_deref(),
        Some("sid-bo"),
        "the session it was asked from"
    );

    // The same upstream account for somebody else: refused, and audited.
    let pending = PendingLogin::new("corp", "", &cy.id, env.now());
    assert_eq!(
        run(&env, &cy_here, &pending, &p, &id),
        Finished::Refused(Refusal::LinkedToAnotherUser)
    );
    let failed: Vec<_> = env
        .audit("upstream_link_created")
        .into_iter()
        .filter(|r| r.outcome == "failure")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].subject_user_id.as_deref(), Some(cy.id.as_str()));
    assert_eq!(Env::detail(&failed[0])["reason"], "linked_to_another_user");
    assert_eq!(links::for_user(&mut env.conn(), &cy.id).unwrap().len(), 0);
}

#[test]
fn a_confirmation_counts_only_with_the_identity_linked_to_you() {
    let env = env_with(vec![provider("corp", false, false)]);
    let p = env.config.upstream[0].clone();
    let bo = env.user("bo@example.com", &[]);
    links::create(&mut env.conn(), "corp", "s-bo", &bo.id, "", env.now()).unwrap();
    let bo_here = signed_in(&bo.id, "sid-bo", &env);
    let pending = PendingLogin::for_reauth("corp", "/admin/keys", &bo.id, env.now());

    assert_eq!(
        run(&env, &browser(), &pending, &p, &who("s-bo", "")),
        Finished::SignedOut
    );
    assert_eq!(
        run(&env, &bo_here, &pending, &p, &who("s-someone-else", "")),
        Finished::NotLinkedToYou
    );
    assert_eq!(
        run(&env, &bo_here, &pending, &p, &who("s-bo", "")),
        Finished::Reauthenticated
    );
    let rows = env.audit("reauth");
    let outcomes: Vec<_> = rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["success", "failure"]);
    assert_eq!(Env::detail(&rows[1])["reason"], "other_account");
    for r in &rows {
        assert_eq!(r.subject_user_id.as_deref(), Some(bo.id.as_str()));
        assert_eq!(r.session_id.as_deref(), Some("sid-bo"));
        assert_eq!(Env::detail(r)["method"], "upstream");
        assert_eq!(Env::detail(r)["provider"], "corp");
    }
    assert!(env.audit("sign_in").is_empty(), "no sign-in happened");
}

#[test]
fn an_address_nobody_vouches_for_waits_for_the_account_password() {
    let env = env_with(vec![provider("corp", false, true)]);
    let p = env.config.upstream[0].clone();
    let dee = env.user("dee@example.com", &[]);
    let pending = PendingLogin::new("corp", "/next", "", env.now());
    let id = who("s-dee", "dee@example.com");

    let Finished::ConfirmWithPassword(link) = run(&env, &browser(), &pending, &p, &id) else {
        panic!("the untrusted provider's address needs the password");
    };
    assert_eq!(
        link,
        PendingLink::new("corp", &id, &dee.id, "/next", env.now())
    );
    assert!(env.audit("sign_in").is_empty() && env.audit("upstream_link_created").is_empty());

    let confirm = |password: &str| {
        let secret = Secret::new(password.to_string());
        confirm_with_password(&env.core(), &browser(), &link, &secret, env.now()).unwrap()
    };
    assert_eq!(
        confirm("not the password"),
        Confirmed::Password(signin::Refusal::Wrong)
    );
    assert!(links::find(&mut env.conn(), "corp", "s-dee")
        .unwrap()
        .is_none());
    let failed = env.audit("sign_in");
    assert_eq!(failed.len(), 1);
    assert_eq!(Env::detail(&failed[0])["method"], "upstream_link");
    assert_eq!(Env::detail(&failed[0])["reason"], "bad_credentials");

    assert_eq!(
        confirm(PASSWORD),
        Confirmed::Linked {
            user_id: dee.id.clone(),
            amr: vec!["pwd".into(), "fed".into(), "mfa".into()],
        }
    );
    assert_eq!(
        links::find(&mut env.conn(), "corp", "s-dee")
            .unwrap()
            .map(|l| l.user_id),
        Some(dee.id.clone())
    );
    let made = env.audit("upstream_link_created");
    assert_eq!(made.len(), 1);
    assert_eq!(Env::detail(&made[0])["how"], "password");

    // Too late: nothing is checked any more.
    env.advance(LOGIN_MAX_AGE);
    assert_eq!(confirm(PASSWORD), Confirmed::Expired);
    assert_eq!(env.audit("sign_in").len(), 2, "one failure, one success");
}

#[test]
fn the_last_way_to_sign_in_stays_linked() {
    let env = env_with(vec![
        provider("one", true, true),
        provider("two", true, true),
    ]);
    let (one, two) = (
        env.config.upstream[0].clone(),
        env.config.upstream[1].clone(),
    );
    let pending = PendingLogin::new("one", "", "", env.now());
    let Finished::SignIn { user_id, .. } = run(
        &env,
        &browser(),
        &pending,
        &one,
        &who("s-1", "ed@example.com"),
    ) else {
        panic!("a new account");
    };
    let ed = signed_in(&user_id, "sid-ed", &env);
    let unlink = |provider: &str| links::unlink(&env.core(), &ed, provider, env.now()).unwrap();

    assert_eq!(unlink("one"), Unlinked::LastSignInMethod);
    let rows = env.audit("upstream_link_removed");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, "denied");
    assert_eq!(Env::detail(&rows[0])["reason"], "last_sign_in_method");
    assert!(links::find(&mut env.conn(), "one", "s-1")
        .unwrap()
        .is_some());

    let pending = PendingLogin::new("two", "", &user_id, env.now());
    assert_eq!(
        run(&env, &ed, &pending, &two, &who("s-2", "")),
        Finished::Linked
    );
    assert_eq!(unlink("one"), Unlinked::Removed);
    assert!(links::find(&mut env.conn(), "one", "s-1")
        .unwrap()
        .is_none());
    let rows = env.audit("upstream_link_removed");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].outcome, "success");
    assert_eq!(rows[0].subject_user_id.as_deref(), Some(user_id.as_str()));
    assert_eq!(Env::detail(&rows[0])["provider"], "one");

    assert_eq!(unlink("one"), Unlinked::NotFound);
    assert_eq!(
        env.audit("upstream_link_removed").len(),
        2,
        "nothing to record"
    );
}
