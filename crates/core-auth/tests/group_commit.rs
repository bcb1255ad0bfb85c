//! The group commit: concurrent writes share a transaction, each is
//! reported only after the commit that holds it, and one write's error
//! rolls back that write alone. And the grants that go through it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use core_auth::actor::Actor;
use core_auth::clients::{self, ClientSpec};
use core_auth::db::group::GroupCommit;
use core_auth::db::schema::{revoked_tokens, server_secrets, token_issuance};
use core_auth::oidc::grant::client_credentials::add_issued;
use core_auth::oidc::grant::{self, Params, Prepared};
use core_auth::oidc::{introspect, revoke, tokens};
use core_auth::CoreError;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use support::Env;

/// A row the writes below make: `server_secrets` is a plain key/value table.
fn put(c: &mut core_auth::DbConn, name: &str) -> core_auth::CoreResult<()> {
    diesel::insert_into(server_secrets::table)
        .values((
            server_secrets::name.eq(name),
            server_secrets::value.eq("v"),
            server_secrets::created_at.eq(0i64),
        ))
        .execute(c)?;
    Ok(())
}

fn names(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = server_secrets::table
        .select(server_secrets::name)
        .filter(server_secrets::name.like("gc-%"))
        .load(&mut env.conn())
        .unwrap();
    v.sort();
    v
}

#[test]
fn writes_that_wait_share_one_commit_and_each_is_told_after_it() {
    let env = Env::new();
    let gc = GroupCommit::start(env.pool.clone(), 128, add_issued).unwrap();
    // Hold the writer inside its first batch until the others queued.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<(String, bool, Vec<String>)>();
    let pool = env.pool.clone();
    let visible = move |name: &str| -> bool {
        server_secrets::table
            .filter(server_secrets::name.eq(name))
            .count()
            .get_result::<i64>(&mut pool.get().unwrap())
            .unwrap()
            == 1
    };
    let first_done = done_tx.clone();
    let v0 = visible.clone();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    gc.submit(
        move |c| {
            started_tx.send(()).unwrap();
            release_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            put(c, "gc-0")
        },
        move |r| {
            first_done
                .send(("gc-0".into(), r.is_ok() && v0("gc-0"), vec![]))
                .unwrap()
        },
    );
    // The first batch runs (alone); the next 20 queue behind it.
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    for i in 1..=20 {
        let name = format!("gc-{i:02}");
        let d = done_tx.clone();
        let v = visible.clone();
        let n2 = name.clone();
        gc.submit(
            move |c| put(c, &n2),
            move |r| {
                let seen = r.is_ok() && v(&name);
                d.send((name, seen, vec![])).unwrap()
            },
        );
    }
    release_tx.send(()).unwrap();
    let mut reported = Vec::new();
    for _ in 0..21 {
        let (name, committed_when_told, _) = done_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(committed_when_told, "{name} was told before it was visible");
        reported.push(name);
    }
    assert_eq!(names(&env).len(), 21);
    let st = gc.stats();
    assert_eq!(st.writes.load(Ordering::Relaxed), 21);
    assert_eq!(
        st.batches.load(Ordering::Relaxed),
        2,
        "the 20 that waited for the first commit went in one"
    );
}

#[test]
fn one_writes_error_rolls_back_that_write_only() {
    let env = Env::new();
    let gc = GroupCommit::start(env.pool.clone(), 128, add_issued).unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<(), String>)>();
    let d0 = done_tx.clone();
    gc.submit(
        move |c| {
            release_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            put(c, "gc-a")
        },
        move |r| d0.send((0, r.map_err(|e| e.to_string()))).unwrap(),
    );
    // Whether these share the first batch or form the next, each write
    // is on its own: that is what is checked.
    // Writes a row, then fails: the row must not survive.
    let d1 = done_tx.clone();
    gc.submit(
        move |c| {
            put(c, "gc-b")?;
            Err::<(), _>(CoreError::Unavailable("refused".into()))
        },
        move |r| d1.send((1, r.map_err(|e| e.to_string()))).unwrap(),
    );
    // A database error (a duplicate key) in the same batch.
    let d2 = done_tx.clone();
    gc.submit(
        move |c| put(c, "gc-a"),
        move |r| d2.send((2, r.map_err(|e| e.to_string()))).unwrap(),
    );
    let d3 = done_tx.clone();
    gc.submit(
        move |c| put(c, "gc-c"),
        move |r| d3.send((3, r.map_err(|e| e.to_string()))).unwrap(),
    );
    release_tx.send(()).unwrap();
    let mut results = vec![None; 4];
    for _ in 0..4 {
        let (i, r) = done_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        results[i] = Some(r);
    }
    assert!(results[0].as_ref().unwrap().is_ok());
    assert!(results[1].as_ref().unwrap().is_err());
    assert!(results[2].as_ref().unwrap().is_err(), "duplicate key");
    assert!(results[3].as_ref().unwrap().is_ok());
    assert_eq!(names(&env), vec!["gc-a", "gc-c"]);
}

#[test]
fn a_failed_write_alone_in_its_batch_leaves_nothing() {
    let env = Env::new();
    let gc = GroupCommit::start(env.pool.clone(), 128, add_issued).unwrap();
    let r = gc.run(|c| {
        put(c, "gc-alone")?;
        Err::<(), _>(CoreError::Unavailable("refused".into()))
    });
    assert!(r.is_err());
    assert!(names(&env).is_empty());
    gc.run(|c| put(c, "gc-next")).unwrap();
    assert_eq!(names(&env), vec!["gc-next"]);
}

#[test]
fn a_batch_that_cannot_commit_fails_every_write_in_it() {
    let env = Env::new();
    if !matches!(&mut *env.conn(), core_auth::DbConn::Sqlite(_)) {
        // The lock below is SQLite's; PostgreSQL's failure path is the
        // same code.
        return;
    }
    let gc = GroupCommit::start(env.pool.clone(), 128, add_issued).unwrap();
    // Another connection holds the write lock past the busy timeout.
    let mut holder = env.conn();
    holder.batch_execute("BEGIN IMMEDIATE").unwrap();
    let r = gc.run(|c| put(c, "gc-locked"));
    holder.batch_execute("ROLLBACK").unwrap();
    assert!(r.is_err(), "{r:?}");
    assert_eq!(gc.stats().failed_commits.load(Ordering::Relaxed), 1);
    gc.run(|c| put(c, "gc-after")).unwrap();
    assert_eq!(names(&env), vec!["gc-after"]);
}

fn service(env: &Env) -> clients::Client {
    let spec = ClientSpec {
        name: "svc".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["api".into()],
        ..ClientSpec::default()
    };
    let (c, _) = clients::create(&mut env.conn(), &spec, env.now()).unwrap();
    c
}

#[test]
fn a_group_committed_client_token_introspects_and_revokes_exactly() {
    let env = Env::new();
    let gc = GroupCommit::start(env.pool.clone(), 128, add_issued).unwrap();
    let svc = service(&env);
    let p: Params = [("grant_type".to_string(), "client_credentials".to_string())].into();
    let now = env.now();
    let prepared = grant::prepare(env.core().oidc(), &svc, &p, &Actor::system(), now).unwrap();
    let Prepared::Counted {
        response: t,
        issued,
    } = prepared
    else {
        panic!("client_credentials is signed before its issuance is counted")
    };
    let (tx, rx) = mpsc::channel();
    gc.count(issued.key(), move |r| tx.send(r).unwrap());
    rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    let counted: i64 = token_issuance::table
        .select(token_issuance::count)
        .first(&mut env.conn())
        .unwrap();
    assert_eq!(counted, 1);
    let active =
        introspect::introspect(env.core().oidc(), &svc, &t.access_token, None, now).unwrap();
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["scope"], "api");
    revoke::revoke(&env.core(), &Actor::system(), &svc, &t.access_token, now).unwrap();
    let gone = introspect::introspect(env.core().oidc(), &svc, &t.access_token, None, now).unwrap();
    assert_eq!(gone, serde_json::json!({"active": false}));
    // Pruning keeps the deny-list entry while the token could be presented.
    let h = core_auth::prune::Horizons {
        sessions: core_auth::sessions::Timeouts::from(&env.config.session),
        audit_retention_days: 90,
        throttle_window: 900,
        outbox_keep: 86_400,
    };
    let limits = core_auth::prune::Limits {
        batch: 100,
        max_batches: 10,
    };
    core_auth::prune::run(&mut env.conn(), now, h, limits).unwrap();
    let gone = introspect::introspect(env.core().oidc(), &svc, &t.access_token, None, now).unwrap();
    assert_eq!(gone["active"], false);
    let listed: i64 = revoked_tokens::table
        .count()
        .get_result(&mut env.conn())
        .unwrap();
    assert_eq!(listed, 1);
    // Once expired it goes, and the token is refused for its expiry.
    let later = now + env.config.tokens.access_token_lifetime_secs + 1;
    core_auth::prune::run(&mut env.conn(), later, h, limits).unwrap();
    let listed: i64 = revoked_tokens::table
        .count()
        .get_result(&mut env.conn())
        .unwrap();
    assert_eq!(listed, 0);
    assert!(tokens::verify_access_jwt(&env.keys, &env.config, &t.access_token, later).is_err());
}

#[test]
fn the_counts_of_a_batch_are_added_up_and_written_once_per_counter() {
    let env = Env::new();
    let gc = GroupCommit::start(env.pool.clone(), 128, add_issued).unwrap();
    let svc = service(&env);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    gc.submit(
        move |_c| {
            started_tx.send(()).unwrap();
            release_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            Ok(())
        },
        |_r: core_auth::CoreResult<()>| {},
    );
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    for i in 0..30 {
        let scope = if i % 3 == 0 { "a" } else { "b" };
        let d = done_tx.clone();
        gc.count((svc.client_id.clone(), 60, scope.into()), move |r| {
            d.send(r.is_ok()).unwrap()
        });
    }
    release_tx.send(()).unwrap();
    for _ in 0..30 {
        assert!(done_rx.recv_timeout(Duration::from_secs(20)).unwrap());
    }
    let rows: Vec<(String, i64)> = token_issuance::table
        .select((token_issuance::scope, token_issuance::count))
        .order(token_issuance::scope)
        .load(&mut env.conn())
        .unwrap();
    assert_eq!(rows, vec![("a".to_string(), 10), ("b".to_string(), 20)]);
    assert_eq!(gc.stats().batches.load(Ordering::Relaxed), 2);
}
