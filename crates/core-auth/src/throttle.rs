//! Per-account throttling in the database, so every node sees the same
//! counts: failed sign-ins per address (and password-reset requests per
//! address) within a fixed window. Past the limit the address answers 429
//! until the window ends, whatever the password. Keys are SHA-256 of the
//! normalized address, so unknown addresses behave exactly like known ones
//! and the table holds no addresses in clear.

use diesel::prelude::*;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::config::ThrottleConfig;
use crate::db::schema::throttles;
use crate::db::{write_tx, DbConn};
use crate::error::CoreResult;
use crate::secret::sha256_hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SignIn,
    Reset,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignIn => "sign_in",
            Kind::Reset => "reset",
        }
    }
}

/// Limit and window of one kind.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub max: i32,
    pub window: i64,
}

impl Rule {
    /// The one rule for every password check of an account (sign-in,
    /// re-authentication, link confirmation, password change).
    pub fn sign_in(t: &ThrottleConfig) -> Self {
        Rule {
            max: t.sign_in_max_failures,
            window: t.sign_in_window_secs,
        }
    }

    /// Password-reset requests per address.
    pub fn reset(t: &ThrottleConfig) -> Self {
        Rule {
            max: t.reset_max_requests,
            window: t.reset_window_secs,
        }
    }

    pub fn of(kind: Kind, t: &ThrottleConfig) -> Self {
        match kind {
            Kind::SignIn => Self::sign_in(t),
            Kind::Reset => Self::reset(t),
        }
    }
}

fn key(address: &str) -> String {
    sha256_hex(&address.trim().to_lowercase())
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = throttles)]
pub struct Row {
    pub kind: String,
    pub key_hash: String,
    /// The address, masked (`a***@example.com`), for the admin console.
    pub label: String,
    pub count: i32,
    pub window_start: UnixTime,
}

fn mask(address: &str) -> String {
    let a = address.trim().to_lowercase();
    match a.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('?')),
        None => "***".into(),
    }
}

fn current(conn: &mut DbConn, kind: Kind, k: &str) -> CoreResult<Option<Row>> {
    Ok(throttles::table
        .find((kind.as_str(), k))
        .select(Row::as_select())
        .get_result(conn)
        .optional()?)
}

/// Seconds until `address` may try again, or `None` when it may now.
pub fn retry_after(
    conn: &mut DbConn,
    kind: Kind,
    address: &str,
    rule: Rule,
    now: UnixTime,
) -> CoreResult<Option<i64>> {
    let Some(row) = current(conn, kind, &key(address))? else {
        return Ok(None);
    };
    let ends = row.window_start + rule.window;
    Ok((row.count >= rule.max && ends > now).then_some(ends - now))
}

/// Counts one failure (or request); returns the count in the current window.
pub fn hit(
    conn: &mut DbConn,
    kind: Kind,
    address: &str,
    rule: Rule,
    now: UnixTime,
) -> CoreResult<i32> {
    let k = key(address);
    write_tx(conn, |c| match current(c, kind, &k)? {
        Some(row) if row.window_start + rule.window > now => {
            diesel::update(throttles::table.find((kind.as_str(), &k)))
                .set(throttles::count.eq(row.count + 1))
                .execute(c)?;
            Ok(row.count + 1)
        }
        Some(_) => {
            diesel::update(throttles::table.find((kind.as_str(), &k)))
                .set((throttles::count.eq(1), throttles::window_start.eq(now)))
                .execute(c)?;
            Ok(1)
        }
        None => {
            diesel::insert_into(throttles::table)
                .values((
                    throttles::kind.eq(kind.as_str()),
                    throttles::key_hash.eq(&k),
                    throttles::label.eq(mask(address)),
                    throttles::count.eq(1),
                    throttles::window_start.eq(now),
                ))
                .execute(c)?;
            Ok(1)
        }
    })
}

/// Forgets the count (a successful sign-in; an admin clearing a throttle).
pub fn clear(conn: &mut DbConn, kind: Kind, address: &str) -> CoreResult<bool> {
    Ok(diesel::delete(throttles::table.find((kind.as_str(), key(address)))).execute(conn)? > 0)
}

/// Clears by stored key (the admin console lists keys, not addresses).
pub fn clear_key(conn: &mut DbConn, kind: &str, key_hash: &str) -> CoreResult<bool> {
    Ok(diesel::delete(throttles::table.find((kind, key_hash))).execute(conn)? > 0)
}

/// Addresses at or over their limit right now.
pub fn active(
    conn: &mut DbConn,
    sign_in: Rule,
    reset: Rule,
    now: UnixTime,
) -> CoreResult<Vec<Row>> {
    let rows: Vec<Row> = throttles::table.select(Row::as_select()).load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            let rule = if r.kind == Kind::SignIn.as_str() {
                sign_in
            } else {
                reset
            };
            r.count >= rule.max && r.window_start + rule.window > now
        })
        .collect())
}

/// Deletes counts whose window ended long ago.
pub fn prune(conn: &mut DbConn, now: UnixTime, longest_window: i64) -> CoreResult<usize> {
    Ok(
        diesel::delete(throttles::table.filter(throttles::window_start.lt(now - longest_window)))
            .execute(conn)?,
    )
}
