//! Active sign-in sessions for administrators: who, from where, since when,
//! which applications got tokens in them; and ending one.

use crate::audit::EventKind;
use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::db::schema::{access_tokens, clients, refresh_tokens, sessions, users};
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::service::Core;
use crate::sessions::Timeouts;

/// A signed-in session as the console and the API show it (never its
/// cookie key or state).
#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    /// The public session id (the OpenID Connect `sid`).
    pub sid: String,
    pub user_id: String,
    pub user_email: String,
    pub user_name: String,
    pub ip: String,
    pub user_agent: String,
    pub auth_time: Option<UnixTime>,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
    /// Names of the applications that received tokens in this session.
    pub clients: Vec<String>,
}

/// A page of sessions, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct SessionPage {
    pub items: Vec<SessionInfo>,
    pub next: Option<String>,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    i64,
    i64,
);

fn parse_cursor(c: &str) -> Option<(i64, String)> {
    let (t, sid) = c.split_once('.')?;
    Some((t.parse().ok()?, sid.to_string()))
}

fn with_clients(c: &mut DbConn, rows: Vec<Row>) -> CoreResult<Vec<SessionInfo>> {
    let sids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut pairs: Vec<(Option<String>, String)> = refresh_tokens::table
        .filter(refresh_tokens::sid.eq_any(&sids))
        .select((refresh_tokens::sid, refresh_tokens::client_id))
        .distinct()
        .load(c)?;
    pairs.extend(
        access_tokens::table
            .filter(access_tokens::sid.eq_any(&sids))
            .select((access_tokens::sid, access_tokens::client_id))
            .distinct()
            .load::<(Option<String>, String)>(c)?,
    );
    let ids: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
    let names: HashMap<String, String> = clients::table
        .filter(clients::id.eq_any(&ids))
        .select((clients::id, clients::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut cl: Vec<String> = pairs
                .iter()
                .filter(|(sid, _)| sid.as_deref() == Some(r.0.as_str()))
                .filter_map(|(_, id)| names.get(id).cloned())
                .collect();
            cl.sort();
            cl.dedup();
            SessionInfo {
                sid: r.0,
                user_id: r.1,
                user_email: r.2,
                user_name: r.3,
                ip: r.4,
                user_agent: r.5,
                auth_time: r.6,
                created_at: r.7,
                last_seen_at: r.8,
                clients: cl,
            }
        })
        .collect())
}

/// Signed-in sessions within both timeouts, newest first, keyset-paged by
/// the cursor `created_at.sid` of the previous page's last row.
pub fn list_active(
    c: &mut DbConn,
    now: UnixTime,
    t: Timeouts,
    user_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> CoreResult<SessionPage> {
    let limit = limit.clamp(1, 500);
    let mut q = sessions::table
        .inner_join(users::table)
        .filter(sessions::last_seen_at.ge(now - t.idle))
        .filter(sessions::created_at.ge(now - t.absolute))
        .select((
            sessions::sid,
            users::id,
            users::email,
            users::name,
            sessions::ip,
            sessions::user_agent,
            sessions::auth_time,
            sessions::created_at,
            sessions::last_seen_at,
        ))
        .order((sessions::created_at.desc(), sessions::sid.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(sessions::user_id.eq(u.to_string()));
    }
    if let Some((at, sid)) = after.and_then(parse_cursor) {
        q = q.filter(
            sessions::created_at
                .lt(at)
                .or(sessions::created_at.eq(at).and(sessions::sid.lt(sid))),
        );
    }
    let mut rows: Vec<Row> = q.load(c)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more
        .then(|| rows.last().map(|r| format!("{}.{}", r.7, r.0)))
        .flatten();
    Ok(SessionPage {
        items: with_clients(c, rows)?,
        next,
    })
}

/// A user's active sessions, newest first.
pub fn for_user(
    c: &mut DbConn,
    user_id: &str,
    now: UnixTime,
    t: Timeouts,
) -> CoreResult<Vec<SessionInfo>> {
    Ok(list_active(c, now, t, Some(user_id), None, 100)?.items)
}

/// Ends the session with public id `sid` and the tokens issued in it
/// (offline grants survive, as at sign-out).
pub fn revoke(core: &Core<'_>, actor: &Actor, sid: &str, now: UnixTime) -> CoreResult<()> {
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let user: Option<Option<String>> = sessions::table
            .filter(sessions::sid.eq(sid))
            .select(sessions::user_id)
            .first(c)
            .optional()?;
        let Some(user) = user else {
            return Err(CoreError::NotFound("session"));
        };
        crate::sessions::delete_by_sid(c, sid)?;
        crate::oidc::tokens::revoke_for_session(c, sid, now)?;
        let mut e = Event::success(EventKind::AdminSessionRevoked).with("session", sid);
        if let Some(u) = user {
            e = e.subject(u);
        }
        audit::record(c, actor, e, now)
    })
}
