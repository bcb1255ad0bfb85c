//! The numbers of the admin dashboard: accounts, sessions, sign-ins and
//! failures over time (from the audit log), throttled addresses, keys due
//! for rotation, the mail backlog.

use crate::audit::EventKind;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;

use crate::actor::Actor;
use crate::admin_stats::{self, Overview};
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::keys::store::{self, KeyInfo, KeyState};
use crate::service::Core;
use crate::sessions::Timeouts;
use crate::throttle;

/// Sign-ins in one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub start: UnixTime,
    pub success: i64,
    pub failure: i64,
}

#[derive(QueryableByName)]
struct Grouped {
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `count` buckets of `secs` seconds, the last one holding `now`: the
/// successful and the other sign-ins in each. Grouped in SQL by integer
/// division of the time (the same on both backends), through the
/// `(event, at)` index.
pub fn sign_ins(c: &mut DbConn, now: UnixTime, secs: i64, count: i64) -> CoreResult<Vec<Bucket>> {
    let secs = secs.max(1);
    let first = (now / secs - (count - 1)) * secs;
    let sql = format!(
        "SELECT at / {secs} AS b, outcome, COUNT(*) AS n FROM audit_log \
         WHERE event = 'sign_in' AND at >= $1 GROUP BY at / {secs}, outcome"
    );
    let rows: Vec<Grouped> = match c {
        DbConn::Sqlite(c) => diesel::sql_query(sql).bind::<BigInt, _>(first).load(c)?,
        DbConn::Postgresql(c) => diesel::sql_query(sql).bind::<BigInt, _>(first).load(c)?,
    };
    let mut out: Vec<Bucket> = (0..count)
        .map(|i| Bucket {
            start: first + i * secs,
            success: 0,
            failure: 0,
        })
        .collect();
    for r in rows {
        let i = r.b - first / secs;
        if let Some(bucket) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            if r.outcome == "success" {
                bucket.success += r.n;
            } else {
                bucket.failure += r.n;
            }
        }
    }
    Ok(out)
}

/// The active key and when it is due to be replaced.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    pub kid: String,
    pub due_at: UnixTime,
    /// Due within a week (or overdue).
    pub due_soon: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub users: i64,
    pub admins: i64,
    pub active_sessions: i64,
    /// 24 hourly buckets.
    pub last_day: Vec<Bucket>,
    /// 30 daily buckets.
    pub last_month: Vec<Bucket>,
    pub throttled: Vec<throttle::Row>,
    pub rotation: Option<Rotation>,
    pub keys: Vec<KeyInfo>,
    pub outbox_backlog: i64,
    /// The newest accounts.
    pub newest: Vec<crate::users::User>,
}

pub fn load(c: &mut DbConn, cfg: &Config, now: UnixTime, t: Timeouts) -> CoreResult<Dashboard> {
    let Overview {
        users,
        admins,
        active_sessions,
    } = admin_stats::overview(c, now, t)?;
    let keys = store::list(c, cfg)?;
    let rotation = keys
        .iter()
        .find(|k| k.state == KeyState::Active)
        .and_then(|k| {
            k.until.map(|due_at| Rotation {
                kid: k.kid.clone(),
                due_at,
                due_soon: due_at <= now + 7 * 86_400,
            })
        });
    Ok(Dashboard {
        users,
        admins,
        active_sessions,
        last_day: sign_ins(c, now, 3600, 24)?,
        last_month: sign_ins(c, now, 86_400, 30)?,
        throttled: throttled(c, cfg, now)?,
        rotation,
        keys,
        outbox_backlog: crate::mail::outbox::backlog(c)?,
        newest: newest(c, 8)?,
    })
}

/// Addresses throttled right now.
pub fn throttled(c: &mut DbConn, cfg: &Config, now: UnixTime) -> CoreResult<Vec<throttle::Row>> {
    throttle::active(
        c,
        throttle::Rule::sign_in(&cfg.throttle),
        throttle::Rule::reset(&cfg.throttle),
        now,
    )
}

/// The `n` newest accounts (through the `created_at` index).
pub fn newest(c: &mut DbConn, n: i64) -> CoreResult<Vec<crate::users::User>> {
    use crate::db::schema::users;
    Ok(users::table
        .select(crate::users::User::as_select())
        .order(users::created_at.desc())
        .limit(n)
        .load(c)?)
}

/// Lifts one throttle the dashboard lists (by its kind and stored key; the
/// address itself is not kept). Not found when there is none (any more).
pub fn clear_throttle(
    core: &Core<'_>,
    actor: &Actor,
    kind: &str,
    key: &str,
    now: UnixTime,
) -> CoreResult<()> {
    let mut pooled = core.conn()?;
    write_tx(&mut pooled, |c| {
        if !throttle::clear_key(c, kind, key)? {
            return Err(CoreError::NotFound("throttle"));
        }
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminThrottleCleared)
                .with("kind", kind)
                .with("key", key),
            now,
        )
    })
}
