//! Server-side sessions. The cookie holds a 256-bit random key; the table
//! holds only its SHA-256, the session state (JSON) and what the admin
//! console shows (user, IP, user agent, started, last seen). Idle and
//! absolute timeouts are enforced here, against the `now` the caller passes.

use crate::audit::EventKind;
use std::collections::HashMap;

use diesel::prelude::*;

use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::SessionConfig;
use crate::db::schema::sessions;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::secret::{random_token, sha256_hex, Secret};

/// Keys of the session state the domain understands. Values are JSON, as
/// actix-session stores them.
pub mod keys {
    /// Signed-in user id.
    pub const USER_ID: &str = "uid";
    /// Stable public session id (the OIDC `sid`).
    pub const SID: &str = "sid";
    /// Unix time of the last authentication.
    pub const AUTH_TIME: &str = "auth_time";
    /// Authentication methods (`amr`), e.g. `["pwd"]`.
    pub const AMR: &str = "amr";
    /// CSRF synchronizer token.
    pub const CSRF: &str = "csrf";
    /// Client IP and user agent at sign-in.
    pub const IP: &str = "ip";
    pub const USER_AGENT: &str = "ua";
}

/// Last-seen is written at most this often, so a busy session does not turn
/// every request into a write.
const TOUCH_INTERVAL: i64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: i64,
    pub absolute: i64,
}

impl From<&SessionConfig> for Timeouts {
    fn from(c: &SessionConfig) -> Self {
        Self {
            idle: c.idle_timeout_secs,
            absolute: c.absolute_timeout_secs,
        }
    }
}

pub type State = HashMap<String, String>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub sid: String,
    pub user_id: Option<String>,
    pub state: String,
    pub ip: String,
    pub user_agent: String,
    pub auth_time: Option<i64>,
    pub created_at: UnixTime,
    pub last_seen_at: UnixTime,
}

/// The columns derived from a state map.
struct Derived {
    sid: String,
    user_id: Option<String>,
    ip: String,
    user_agent: String,
    auth_time: Option<i64>,
    json: String,
}

fn json_str(state: &State, key: &str) -> Option<String> {
    state
        .get(key)
        .and_then(|v| serde_json::from_str::<String>(v).ok())
}

fn derive(state: &State) -> Derived {
    Derived {
        sid: json_str(state, keys::SID).unwrap_or_else(|| random_token().into_inner()),
        user_id: json_str(state, keys::USER_ID),
        ip: json_str(state, keys::IP).unwrap_or_default(),
        user_agent: json_str(state, keys::USER_AGENT)
            .map(|ua| ua.chars().take(512).collect())
            .unwrap_or_default(),
        auth_time: state.get(keys::AUTH_TIME).and_then(|v| v.parse().ok()),
        json: serde_json::to_string(state).unwrap_or_else(|_| "{}".into()),
    }
}

fn expired(row: &SessionRow, now: UnixTime, t: Timeouts) -> bool {
    now - row.last_seen_at > t.idle || now - row.created_at > t.absolute
}

/// The state of the session whose cookie key is `key`, or `None` when there
/// is none or it has expired (an expired one is deleted).
pub fn load(conn: &mut DbConn, key: &str, now: UnixTime, t: Timeouts) -> CoreResult<Option<State>> {
    let hash = sha256_hex(key);
    let row: Option<SessionRow> = sessions::table
        .find(&hash)
        .select(SessionRow::as_select())
        .get_result(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    if expired(&row, now, t) {
        diesel::delete(sessions::table.find(&hash)).execute(conn)?;
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_INTERVAL {
        diesel::update(sessions::table.find(&hash))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(serde_json::from_str(&row.state).unwrap_or_default()))
}

/// Stores a new session; returns the key for the cookie. A signed-in
/// session is audited as `session_started` in the same transaction, and
/// beyond the account's `max_per_user` it ends the oldest ones.
pub fn create(
    conn: &mut DbConn,
    state: &State,
    now: UnixTime,
    max_per_user: i64,
) -> CoreResult<Secret> {
    let key = random_token();
    let d = derive(state);
    write_tx(conn, |c| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::id_hash.eq(sha256_hex(key.expose())),
                sessions::sid.eq(&d.sid),
                sessions::user_id.eq(&d.user_id),
                sessions::state.eq(&d.json),
                sessions::ip.eq(&d.ip),
                sessions::user_agent.eq(&d.user_agent),
                sessions::auth_time.eq(d.auth_time),
                sessions::created_at.eq(now),
                sessions::last_seen_at.eq(now),
            ))
            .execute(c)?;
        if let Some(uid) = &d.user_id {
            cap(c, uid, &d.sid, max_per_user, now)?;
            started(c, &d, uid, now)?;
        }
        Ok::<_, CoreError>(())
    })?;
    Ok(key)
}

/// The `session_started` row of a signed-in session, written with the row
/// itself (whichever way the person signed in).
fn started(c: &mut DbConn, d: &Derived, user_id: &str, now: UnixTime) -> CoreResult<()> {
    let actor = Actor::anonymous(&d.ip, &d.user_agent).signed_in(
        user_id,
        &d.sid,
        d.auth_time.unwrap_or(now),
    );
    audit::record(
        c,
        &actor,
        Event::success(EventKind::SessionStarted).subject(user_id),
        now,
    )
}

/// Ends the oldest signed-in sessions of `user_id` beyond `max` (with
/// their session-bound tokens, audited as `session_ended`, `how`
/// `session_limit`), keeping `keep`; returns how many.
fn cap(c: &mut DbConn, user_id: &str, keep: &str, max: i64, now: UnixTime) -> CoreResult<usize> {
    // The session being written always stays; of the others, the newest
    // `max - 1` do.
    let over: Vec<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::sid.ne(keep))
        .select(sessions::sid)
        .order((
            sessions::created_at.desc(),
            sessions::last_seen_at.desc(),
            sessions::sid.desc(),
        ))
        .offset(max.max(1) - 1)
        .load(c)?;
    for sid in &over {
        delete_by_sid(c, sid)?;
        crate::oidc::tokens::revoke_for_session(c, sid, now)?;
        audit::record(
            c,
            &Actor::system(),
            Event::success(EventKind::SessionEnded)
                .subject(user_id)
                .with("how", "session_limit")
                .with("session", sid.as_str()),
            now,
        )?;
    }
    Ok(over.len())
}

/// Replaces the state of an existing session. A session that no longer
/// exists (signed out elsewhere, revoked by an admin) is not brought back:
/// the call changes nothing and returns false. A session that became
/// signed in counts against the account's `max_per_user`.
pub fn update(
    conn: &mut DbConn,
    key: &str,
    state: &State,
    now: UnixTime,
    max_per_user: i64,
) -> CoreResult<bool> {
    let d = derive(state);
    write_tx(conn, |c| {
        let n = diesel::update(sessions::table.find(sha256_hex(key)))
            .set((
                sessions::sid.eq(&d.sid),
                sessions::user_id.eq(&d.user_id),
                sessions::state.eq(&d.json),
                sessions::ip.eq(&d.ip),
                sessions::user_agent.eq(&d.user_agent),
                sessions::auth_time.eq(d.auth_time),
                sessions::last_seen_at.eq(now),
            ))
            .execute(c)?;
        if let (true, Some(uid)) = (n > 0, &d.user_id) {
            cap(c, uid, &d.sid, max_per_user, now)?;
        }
        Ok(n > 0)
    })
}

/// The signed-in person (`actor`, in their session `sid`) ends that
/// session: the session row, the tokens issued in it (offline grants
/// survive) and the `session_ended` audit row (`how`: `sign_out`,
/// `rp_initiated`), in one transaction. The cookie is the caller's.
pub fn sign_out(conn: &mut DbConn, actor: &Actor, how: &str, now: UnixTime) -> CoreResult<()> {
    write_tx(conn, |c| {
        let sid = actor.session_id.as_deref().unwrap_or_default();
        if !sid.is_empty() {
            let mine = sessions::table
                .filter(sessions::sid.eq(sid))
                .filter(sessions::user_id.eq(&actor.actor_user_id));
            if diesel::delete(mine).execute(c)? > 0 {
                crate::oidc::tokens::revoke_for_session(c, sid, now)?;
            }
        }
        let mut e = Event::success(EventKind::SessionEnded).with("how", how);
        if let Some(u) = &actor.actor_user_id {
            e = e.subject(u);
        }
        audit::record(c, actor, e, now)
    })
}

pub fn delete(conn: &mut DbConn, key: &str) -> CoreResult<()> {
    diesel::delete(sessions::table.find(sha256_hex(key))).execute(conn)?;
    Ok(())
}

/// Ends every session of a user; returns how many.
pub fn delete_for_user(conn: &mut DbConn, user_id: &str) -> CoreResult<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

/// Ends the session with public id `sid`.
pub fn delete_by_sid(conn: &mut DbConn, sid: &str) -> CoreResult<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::sid.eq(sid))).execute(conn)?)
}

/// True when the session with public id `sid` exists and is within both
/// timeouts (session-bound refresh tokens live only as long as it).
pub fn is_alive(conn: &mut DbConn, sid: &str, now: UnixTime, t: Timeouts) -> CoreResult<bool> {
    let rows: Vec<SessionRow> = sessions::table
        .filter(sessions::sid.eq(sid))
        .select(SessionRow::as_select())
        .load(conn)?;
    Ok(rows.iter().any(|r| !expired(r, now, t)))
}

/// Deletes sessions past either timeout; returns how many.
pub fn prune_expired(conn: &mut DbConn, now: UnixTime, t: Timeouts) -> CoreResult<usize> {
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::last_seen_at
                .lt(now - t.idle)
                .or(sessions::created_at.lt(now - t.absolute)),
        ),
    )
    .execute(conn)?)
}

/// Signed-in sessions of a user, newest first.
pub fn list_for_user(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<SessionRow>> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(SessionRow::as_select())
        .order(sessions::last_seen_at.desc())
        .load(conn)?)
}

/// Ends every session of a user but the one with public id `keep_sid`.
pub fn delete_for_user_except(
    conn: &mut DbConn,
    user_id: &str,
    keep_sid: &str,
) -> CoreResult<usize> {
    Ok(diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::sid.ne(keep_sid)),
    )
    .execute(conn)?)
}
