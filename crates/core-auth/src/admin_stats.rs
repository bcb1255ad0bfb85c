//! Counts for the admin console.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::db::schema::{sessions, user_roles, users};
use crate::db::DbConn;
use crate::error::CoreResult;
use crate::sessions::Timeouts;
use crate::users::ROLE_ADMIN;

#[derive(Debug, Clone, Copy)]
pub struct Overview {
    pub users: i64,
    pub admins: i64,
    /// Signed-in sessions within both timeouts.
    pub active_sessions: i64,
}

pub fn overview(conn: &mut DbConn, now: UnixTime, t: Timeouts) -> CoreResult<Overview> {
    Ok(Overview {
        users: users::table.count().get_result(conn)?,
        admins: user_roles::table
            .filter(user_roles::role.eq(ROLE_ADMIN))
            .count()
            .get_result(conn)?,
        active_sessions: sessions::table
            .filter(sessions::user_id.is_not_null())
            .filter(sessions::last_seen_at.ge(now - t.idle))
            .filter(sessions::created_at.ge(now - t.absolute))
            .count()
            .get_result(conn)?,
    })
}
