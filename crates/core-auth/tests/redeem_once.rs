//! A code or a refresh token is redeemed at most once, however two
//! redeemers interleave: two threads, each with its own pooled connection,
//! present the same code (or refresh token) after delays proptest chooses
//! (one well before the other, both at once, and everything between).
//! Exactly one gets tokens; the other gets `invalid_grant`, and, as a
//! replay, revokes what the first got (RFC 6749 §4.1.2, RFC 9700 §4.14).
//!
//! SQLite by default, PostgreSQL when `PORTCULLIS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Barrier;
use std::time::Duration;

use core_auth::oidc::tokens::TokenResponse;
use core_auth::oidc::{ErrorCode, OAuthError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::oidc::{at_revoked, client, code, redeem, refresh, refused, rt_row};
use support::Env;

type Outcome = Result<TokenResponse, OAuthError>;

/// Runs `redeem` on two threads, each after its delay (microseconds),
/// released together; returns both outcomes.
fn race<F>(delays: (u64, u64), redeem: F) -> (Outcome, Outcome)
where
    F: Fn() -> Outcome + Sync,
{
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let run = |delay: u64| {
            let (start, redeem) = (&start, &redeem);
            s.spawn(move || {
                start.wait();
                std::thread::sleep(Duration::from_micros(delay));
                redeem()
            })
        };
        let (a, b) = (run(delays.0), run(delays.1));
        (a.join().expect("redeemer a"), b.join().expect("redeemer b"))
    })
}

/// Exactly one winner; the loser's refusal is `invalid_grant`.
fn one_winner(a: Outcome, b: Outcome) -> Result<(TokenResponse, OAuthError), TestCaseError> {
    match (a, b) {
        (Ok(t), Err(e)) | (Err(e), Ok(t)) => {
            prop_assert_eq!(e.code, ErrorCode::InvalidGrant, "{}", e);
            Ok((t, e))
        }
        (Ok(_), Ok(_)) => Err(TestCaseError::fail("redeemed twice")),
        (Err(a), Err(b)) => Err(TestCaseError::fail(format!(
            "neither redeemer got tokens: {a}; {b}"
        ))),
    }
}

fn delays() -> impl Strategy<Value = (u64, u64)> {
    // Up to 4 ms apart: from fully sequential to fully overlapping (one
    // redemption takes about a millisecond or two).
    (0u64..4_000, 0u64..4_000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn a_code_is_redeemed_once_under_any_interleaving() {
    let env = Env::new();
    let user = env.user("race-code@example.com", &[]);
    let c = client(&env, false);
    runner()
        .run(&delays(), |d| {
            let secret = code(&env, &c, &user, "openid offline_access", "s-code");
            let replays = env.audit("code_replayed").len();
            let (a, b) = race(d, || redeem(&env, &c, &secret));
            let (won, lost) = one_winner(a, b)?;
            prop_assert!(lost.description.contains("already been used"), "{}", lost);
            // The replay revoked everything the winner got.
            prop_assert!(at_revoked(&env, &won.access_token));
            let rt = won.refresh_token.as_deref().expect("offline_access");
            prop_assert!(rt_row(&env, rt).revoked_at.is_some());
            refused(redeem(&env, &c, &secret), "already been used");
            // One for the loser, one for the presentation just above.
            prop_assert_eq!(env.audit("code_replayed").len(), replays + 2);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_refresh_token_is_redeemed_once_under_any_interleaving() {
    let env = Env::new();
    let user = env.user("race-refresh@example.com", &[]);
    let c = client(&env, false);
    runner()
        .run(&delays(), |d| {
            let secret = code(&env, &c, &user, "openid offline_access", "s-refresh");
            let first = redeem(&env, &c, &secret).expect("a fresh code");
            let rt = first.refresh_token.expect("offline_access");
            let reuses = env.audit("refresh_reuse_detected").len();
            let refreshes = env.audit("token_refreshed").len();
            let (a, b) = race(d, || refresh(&env, &c, &rt));
            let (won, lost) = one_winner(a, b)?;
            // Presented twice: reuse. The family is revoked, the winner's
            // new tokens with it.
            prop_assert!(lost.description.contains("already used"), "{}", lost);
            let new_rt = won.refresh_token.as_deref().expect("rotated");
            prop_assert!(rt_row(&env, new_rt).revoked_at.is_some());
            prop_assert!(at_revoked(&env, &won.access_token));
            prop_assert!(at_revoked(&env, &first.access_token));
            refused(refresh(&env, &c, new_rt), "revoked");
            prop_assert_eq!(env.audit("refresh_reuse_detected").len(), reuses + 1);
            prop_assert_eq!(env.audit("token_refreshed").len(), refreshes + 1);
            Ok(())
        })
        .unwrap();
}
