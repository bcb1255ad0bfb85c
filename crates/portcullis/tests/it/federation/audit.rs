//! Upstream sign-ins in the audit log (registration, sign-in, session,
//! links made and removed, refusals) and the password confirmation of a
//! link under the account's sign-in throttle.

use core_auth::audit::{self, Filter, Row};
use serde_json::{json, Value};
use testkit::TestServer;

use super::fake::Fake;
use super::{account_post, begin, callback, fake_provider, start_link, through_fake, CLIENT_ID};
use crate::util::{location, PASSWORD};

async fn rows(srv: &TestServer, event: &str) -> Vec<Row> {
    let f = Filter {
        event: Some(event.to_string()),
        ..Filter::default()
    };
    srv.with_db(move |c| audit::query(c, &f, 1_000).unwrap())
        .await
}

fn detail(r: &Row) -> Value {
    serde_json::from_str(&r.detail).unwrap()
}

/// The one row of `event` with `outcome` whose detail has `key` = `value`.
async fn one(srv: &TestServer, event: &str, outcome: &str, key: &str, value: &str) -> Row {
    let found: Vec<Row> = rows(srv, event)
        .await
        .into_iter()
        .filter(|r| r.outcome == outcome && detail(r)[key] == value)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{event}/{outcome} with {key}={value}: {found:?}"
    );
    found.into_iter().next().unwrap()
}

#[actix_web::test]
async fn upstream_sign_ins_links_and_refusals_are_audited() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| {
        c.upstream = vec![fake_provider("one", &fake), fake_provider("two", &fake)]
    })
    .await;

    // A state this browser never started.
    let b = down.client();
    let (state, _, _) = begin(&down, &b, "one", "/account").await;
    let r = callback(&down, &b, "one", &format!("{state}x")).await;
    assert_eq!(r.status().as_u16(), 400);
    let bad = one(&down, "sign_in", "failure", "reason", "bad_state").await;
    assert_eq!(detail(&bad)["provider"], "one");
    assert_eq!(detail(&bad)["method"], "upstream");

    // A new account through "one".
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "one",
        json!({"sub": "a-1", "email": "al@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(location(&r), "/account");
    let reg = one(&down, "registration", "success", "provider", "one").await;
    let user_id = reg.subject_user_id.clone().unwrap();
    // The link came with the new account: no address was matched, so it
    // says so (not `verified_email`).
    let made = one(&down, "upstream_link_created", "success", "provider", "one").await;
    assert_eq!(detail(&made)["how"], "new_account");
    assert_eq!(made.subject_user_id.as_deref(), Some(user_id.as_str()));
    let signed_in = one(&down, "sign_in", "success", "method", "upstream").await;
    assert_eq!(signed_in.subject_user_id.as_deref(), Some(user_id.as_str()));
    assert_eq!(detail(&signed_in)["provider"], "one");
    let started = rows(&down, "session_started").await;
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(
        started[0].subject_user_id.as_deref(),
        Some(user_id.as_str())
    );
    assert!(started[0].session_id.is_some());
    assert_eq!(started[0].session_id, signed_in.session_id);

    // The only way in cannot be removed; the refusal is a row.
    let r = account_post(&down, &b, "/account/links/remove", "one").await;
    assert_eq!(location(&r), "/account?link_error=last");
    let denied = one(&down, "upstream_link_removed", "denied", "provider", "one").await;
    assert_eq!(detail(&denied)["reason"], "last_sign_in_method");
    assert_eq!(denied.actor_user_id.as_deref(), Some(user_id.as_str()));

    // Linking "two" from the account page, then removing "one".
    let q = super::query(&start_link(&down, &b, "two").await);
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        down.ctx.now(),
        json!({"sub": "a-2"}),
    );
    assert_eq!(
        location(&callback(&down, &b, "two", &q["state"]).await),
        "/account?linked=two"
    );
    let linked = one(&down, "upstream_link_created", "success", "provider", "two").await;
    assert_eq!(detail(&linked)["how"], "account_page");
    assert_eq!(linked.subject_user_id.as_deref(), Some(user_id.as_str()));
    let r = account_post(&down, &b, "/account/links/remove", "one").await;
    assert_eq!(location(&r), "/account?unlinked=one");
    one(&down, "upstream_link_removed", "success", "provider", "one").await;

    // The provider answers with an error.
    let b = down.client();
    let (state, _, _) = begin(&down, &b, "two", "/account").await;
    let r = b
        .get(down.at(&format!(
            "/login/upstream/two/callback?error=access_denied&state={}",
            super::urlencode(&state)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let refused = one(&down, "sign_in", "failure", "reason", "provider_error").await;
    assert_eq!(detail(&refused)["error"], "access_denied");
    fake.stop().await;
}

#[actix_web::test]
async fn the_password_confirmation_of_a_link_is_throttled_per_account() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| {
        c.upstream = vec![fake_provider("untrusted", &fake)];
        c.throttle.sign_in_max_failures = 2;
    })
    .await;
    let user = down
        .create_user("cy@example.com", "Cy", PASSWORD, &[])
        .await;
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "untrusted",
        json!({"sub": "s-cy", "email": "cy@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(location(&r), "/login/upstream/confirm");
    let confirm = |password: &'static str| {
        let (down, b) = (&down, &b);
        async move {
            down.submit(
                b,
                "/login/upstream/confirm",
                "/login/upstream/confirm",
                &[("password", password)],
            )
            .await
        }
    };
    assert_eq!(confirm("wrong one").await.status().as_u16(), 401);
    assert_eq!(confirm("wrong two").await.status().as_u16(), 401);
    let failures = rows(&down, "sign_in").await;
    assert_eq!(
        failures
            .iter()
            .filter(|r| r.outcome == "failure" && detail(r)["reason"] == "bad_credentials")
            .count(),
        2
    );
    assert!(failures.iter().all(
        |r| r.subject_user_id.as_deref() == Some(user.user.id.as_str())
            && detail(r)["method"] == "upstream_link"
    ));
    assert_eq!(rows(&down, "throttled").await.len(), 1);

    // Now even the right password waits, and says how long.
    let r = confirm(PASSWORD).await;
    assert_eq!(r.status().as_u16(), 429);
    let wait: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    let body = r.text().await.unwrap();
    assert!(body.contains("Too many failed sign-ins"), "{body}");
    one(&down, "sign_in", "failure", "reason", "throttled").await;

    // The sign-in form counts the same failures for this account.
    let b2 = down.client();
    let r = down
        .submit(
            &b2,
            "/login",
            "/login",
            &[("email", "cy@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 429);
    fake.stop().await;
}
