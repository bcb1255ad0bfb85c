//! Pruning in bounded batches: a backlog drains over runs, live rows stay.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use core_auth::db::schema::webauthn_ceremonies as w;
use core_auth::prune::{self, Horizons, Limits};
use diesel::prelude::*;
use support::Env;

fn horizons(env: &Env) -> Horizons {
    Horizons {
        sessions: core_auth::sessions::Timeouts::from(&env.config.session),
        audit_retention_days: 90,
        throttle_window: 900,
        outbox_keep: 7 * 86_400,
    }
}

#[test]
fn a_backlog_drains_in_bounded_batches_and_live_rows_stay() {
    let env = Env::new();
    let now = env.now();
    let mut c = env.conn();
    let rows: Vec<_> = (0..2510)
        .map(|i| {
            (
                w::id_hash.eq(format!("h{i:05}")),
                w::purpose.eq("register"),
                w::state.eq("{}"),
                // The last ten are still live.
                w::expires_at.eq(if i < 2500 { now - 1 } else { now + 300 }),
            )
        })
        .collect();
    core_auth::db::write_tx(&mut c, |c| {
        for r in &rows {
            diesel::insert_into(w::table).values(r.clone()).execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    let limits = Limits {
        batch: 1000,
        max_batches: 2,
    };
    let first = prune::run(&mut c, now, horizons(&env), limits).unwrap();
    let of = |r: &prune::Report| {
        r.0.iter()
            .find(|(t, _)| *t == "webauthn_ceremonies")
            .unwrap()
            .1
    };
    assert_eq!(of(&first), 2000, "two batches this run");
    let second = prune::run(&mut c, now, horizons(&env), limits).unwrap();
    assert_eq!(of(&second), 500);
    assert_eq!(second.total(), 500);
    let left: i64 = w::table.count().get_result(&mut c).unwrap();
    assert_eq!(left, 10, "live ceremonies stay");
    let third = prune::run(&mut c, now, horizons(&env), limits).unwrap();
    assert_eq!(third.total(), 0);
}

#[test]
fn pruning_leaves_every_live_token_working_and_reuse_still_detected() {
    use core_auth::oidc::{introspect, userinfo};
    use support::oidc;
    let env = Env::new();
    let user = env.user("live@example.com", &[]);
    let app = oidc::client(&env, false);
    let code = oidc::code(&env, &app, &user, "openid offline_access", "sid-live");
    let t1 = oidc::redeem(&env, &app, &code).unwrap();
    // t1's access token expires; a refresh gives live ones.
    env.advance(env.config.tokens.access_token_lifetime_secs + 10);
    let t2 = oidc::refresh(&env, &app, t1.refresh_token.as_deref().unwrap()).unwrap();
    let limits = Limits {
        batch: 1,
        max_batches: 1000,
    };
    let report = prune::run(&mut env.conn(), env.now(), horizons(&env), limits).unwrap();
    let of = |t: &str| report.0.iter().find(|(n, _)| *n == t).unwrap().1;
    assert_eq!(
        of("access_tokens"),
        1,
        "t1's expired access token: {report:?}"
    );
    assert_eq!(of("refresh_tokens"), 0, "the family lives on");
    let now = env.now();
    let v = introspect::introspect(env.core().oidc(), &app, &t2.access_token, None, now).unwrap();
    assert_eq!(v["active"], true, "{v}");
    assert!(userinfo::userinfo(env.core().oidc(), &t2.access_token, now).is_ok());
    // The rotated refresh token's record was kept: presenting it again is
    // still reuse, and revokes the family.
    oidc::refused(
        oidc::refresh(&env, &app, t1.refresh_token.as_deref().unwrap()),
        "already used",
    );
    oidc::refused(
        oidc::refresh(&env, &app, t2.refresh_token.as_deref().unwrap()),
        "revoked",
    );
}

#[test]
fn on_sqlite_the_pages_pruning_frees_go_back_to_the_file_system() {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let env = Env::new();
    let mut c = env.conn();
    if !matches!(&mut *c, core_auth::DbConn::Sqlite(_)) {
        return; // PostgreSQL's autovacuum makes the space reusable itself.
    }
    let pragma = |c: &mut core_auth::DbConn, p: &str| -> i64 {
        let core_auth::DbConn::Sqlite(s) = c else {
            unreachable!()
        };
        diesel::sql_query(format!("SELECT {p} AS n FROM pragma_{p}"))
            .get_result::<N>(s)
            .unwrap()
            .n
    };
    assert_eq!(
        pragma(&mut c, "auto_vacuum"),
        2,
        "a new database is incremental"
    );
    let now = env.now();
    let rows: Vec<_> = (0..5000)
        .map(|i| {
            (
                w::id_hash.eq(format!("big{i:05}")),
                w::purpose.eq("register"),
                w::state.eq("x".repeat(400)),
                w::expires_at.eq(now - 1),
            )
        })
        .collect();
    core_auth::db::write_tx(&mut c, |c| {
        for r in &rows {
            diesel::insert_into(w::table).values(r.clone()).execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    let pages_full = pragma(&mut c, "page_count");
    let limits = Limits {
        batch: 1000,
        max_batches: 100,
    };
    prune::run(&mut c, now, horizons(&env), limits).unwrap();
    assert_eq!(
        pragma(&mut c, "freelist_count"),
        0,
        "every freed page given back"
    );
    assert!(
        pragma(&mut c, "page_count") < pages_full / 2,
        "the file shrank from {pages_full} pages"
    );
}
