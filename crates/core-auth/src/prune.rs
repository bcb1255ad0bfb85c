//! Keeping the database small: expired codes, tokens, refresh families,
//! sessions, mailed links, WebAuthn ceremonies, client assertions, old
//! outbox messages, throttle windows, revoked-token deny-list entries, and
//! audit rows and issuance counters past their retention
//! are deleted in bounded batches. Each batch is one short statement of
//! its own (the keys of up to n rows, then a delete of those keys), so SQLite's
//! write lock and PostgreSQL's transactions stay short while a backlog of
//! millions drains over a few runs; a run stops after `max_batches` per
//! table and the next run goes on.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::db::schema::{
    access_tokens, audit_log, authorization_codes, client_assertions, email_tokens, outbox,
    pushed_requests, refresh_tokens, revoked_tokens, sessions, token_issuance, webauthn_ceremonies,
};
use crate::db::DbConn;
use crate::error::CoreResult;
use crate::sessions::Timeouts;

/// How much one run may delete.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows per statement.
    pub batch: i64,
    /// Statements per table and run.
    pub max_batches: u32,
}

/// What one run deleted, per table (the names are the metric's labels).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report(pub Vec<(&'static str, usize)>);

impl Report {
    pub fn total(&self) -> usize {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// What is kept how long, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Horizons {
    pub sessions: Timeouts,
    /// Audit rows are kept this many days.
    pub audit_retention_days: i64,
    /// The longest throttle window, in seconds.
    pub throttle_window: i64,
    /// Sent or dropped outbox messages are kept this long, in seconds.
    pub outbox_keep: i64,
}

impl Horizons {
    /// What the configuration keeps.
    pub fn from_config(cfg: &crate::config::Config) -> Horizons {
        Horizons {
            sessions: Timeouts::from(&cfg.session),
            audit_retention_days: cfg.audit.retention_days,
            throttle_window: cfg
                .throttle
                .sign_in_window_secs
                .max(cfg.throttle.reset_window_secs),
            outbox_keep: cfg.prune.outbox_keep_secs,
        }
    }
}

impl Limits {
    /// `[prune]`'s batch size and batches per run.
    pub fn from_config(cfg: &crate::config::Config) -> Limits {
        Limits {
            batch: cfg.prune.batch_size.max(1),
            max_batches: cfg.prune.max_batches.max(1),
        }
    }
}

/// Deletes in batches of `limits.batch` until a batch comes back short or
/// `limits.max_batches` ran; `one` deletes one batch and says how many.
fn drain(limits: Limits, mut one: impl FnMut(i64) -> CoreResult<usize>) -> CoreResult<usize> {
    let mut total = 0;
    for _ in 0..limits.max_batches {
        let n = one(limits.batch)?;
        total += n;
        if i64::try_from(n).unwrap_or(i64::MAX) < limits.batch {
            break;
        }
    }
    Ok(total)
}

/// One batch: the keys of up to `n` rows matching `cond`, then a delete
/// of exactly those keys (two short statements; a row past its expiry
/// stays past it, so nothing changes in between that matters).
macro_rules! batch_delete {
    ($conn:expr, $table:ident, $key:ident: $ty:ty, $cond:expr, $n:expr) => {{
        let keys: Vec<$ty> = $table::table
            .select($table::$key)
            .filter($cond)
            .limit($n)
            .load($conn)?;
        if keys.is_empty() {
            Ok::<usize, diesel::result::Error>(0)
        } else {
            diesel::delete($table::table.filter($table::$key.eq_any(&keys))).execute($conn)
        }
    }};
}

/// One pruning run.
pub fn run(conn: &mut DbConn, now: UnixTime, h: Horizons, limits: Limits) -> CoreResult<Report> {
    let mut r = Report::default();
    // Codes are kept an hour past expiry: a replay within it still finds
    // the code and revokes what it issued.
    let codes = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            authorization_codes,
            code_hash: String,
            authorization_codes::expires_at.lt(now - 3600),
            n
        )?)
    })?;
    r.0.push(("authorization_codes", codes));
    let access = drain(limits, |n| {
        Ok(batch_delete!(conn, access_tokens, jti: String, access_tokens::expires_at.lt(now), n)?)
    })?;
    r.0.push(("access_tokens", access));
    let denied = drain(limits, |n| {
        Ok(batch_delete!(conn, revoked_tokens, jti: String, revoked_tokens::expires_at.lt(now), n)?)
    })?;
    r.0.push(("revoked_tokens", denied));
    let refresh = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            refresh_tokens,
            jti_hash: String,
            refresh_tokens::family_expires_at.lt(now),
            n
        )?)
    })?;
    r.0.push(("refresh_tokens", refresh));
    let assertions = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            client_assertions,
            jti_hash: String,
            client_assertions::expires_at.lt(now),
            n
        )?)
    })?;
    r.0.push(("client_assertions", assertions));
    let pushed = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            pushed_requests,
            uri_hash: String,
            pushed_requests::expires_at.lt(now),
            n
        )?)
    })?;
    r.0.push(("pushed_requests", pushed));
    let t = h.sessions;
    let sess = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            sessions,
            id_hash: String,
            sessions::last_seen_at
                .lt(now - t.idle)
                .or(sessions::created_at.lt(now - t.absolute)),
            n
        )?)
    })?;
    r.0.push(("sessions", sess));
    let links = drain(limits, |n| {
        Ok(
            batch_delete!(conn, email_tokens, token_hash: String, email_tokens::expires_at.lt(now), n)?,
        )
    })?;
    r.0.push(("email_tokens", links));
    let ceremonies = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            webauthn_ceremonies,
            id_hash: String,
            webauthn_ceremonies::expires_at.le(now),
            n
        )?)
    })?;
    r.0.push(("webauthn_ceremonies", ceremonies));
    let mail = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            outbox,
            id: i64,
            outbox::status
                .eq_any(["sent", "dropped"])
                .and(outbox::sent_at.lt(now - h.outbox_keep)),
            n
        )?)
    })?;
    r.0.push(("outbox", mail));
    let audit = drain(limits, |n| {
        Ok(batch_delete!(
            conn,
            audit_log,
            id: i64,
            audit_log::at.lt(now - h.audit_retention_days * 86_400),
            n
        )?)
    })?;
    r.0.push(("audit_log", audit));
    // The client_credentials issuance counters are audit too, kept as long.
    // One row per client, scope and minute: a run deletes what aged out
    // since the last one in one short statement.
    let counters = diesel::delete(
        token_issuance::table
            .filter(token_issuance::minute.lt(now - h.audit_retention_days * 86_400)),
    )
    .execute(conn)?;
    r.0.push(("token_issuance", counters));
    // Throttle rows are one per address with recent failures: few.
    r.0.push((
        "throttles",
        crate::throttle::prune(conn, now, h.throttle_window)?,
    ));
    if r.total() > 0 {
        give_back_space(conn, limits)?;
    }
    Ok(r)
}

/// On SQLite, returns the pages the deletes freed to the file system, a
/// bounded number per statement (`PRAGMA incremental_vacuum`), so the file
/// shrinks back after a backlog drained. Only databases created with
/// `auto_vacuum = INCREMENTAL` (every database this version creates) can;
/// on older ones SQLite reuses the free pages for new rows instead.
/// PostgreSQL's autovacuum makes deleted rows' space reusable on its own.
/// Returns the pages given back.
pub fn give_back_space(conn: &mut DbConn, limits: Limits) -> CoreResult<i64> {
    #[derive(QueryableByName)]
    struct Pages {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Sqlite(c) = conn else {
        return Ok(0);
    };
    let free = |c: &mut diesel::SqliteConnection| -> CoreResult<i64> {
        let p: Pages = diesel::sql_query("SELECT freelist_count AS n FROM pragma_freelist_count")
            .get_result(c)?;
        Ok(p.n)
    };
    let mode: Pages =
        diesel::sql_query("SELECT auto_vacuum AS n FROM pragma_auto_vacuum").get_result(c)?;
    if mode.n != 2 {
        return Ok(0);
    }
    let mut given = 0;
    // A statement frees at most `batch` pages (4 MB at the default 1000
    // and 4 KB pages): the write lock is held as briefly as a delete's.
    for _ in 0..limits.max_batches {
        let before = free(c)?;
        if before == 0 {
            break;
        }
        // sqlite3_exec steps the pragma to its end (one step frees one
        // page; a prepared statement stepped once would free one).
        c.batch_execute(&format!(
            "PRAGMA incremental_vacuum({})",
            limits.batch.max(1)
        ))?;
        let after = free(c)?;
        given += before - after;
        if after >= before {
            break;
        }
    }
    Ok(given)
}
