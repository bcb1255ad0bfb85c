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
