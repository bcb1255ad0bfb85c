//! Secrets the server makes for itself and every node must share (the
//! session cookie key, for one). The first node to need one creates it; the
//! rest read it.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::db::schema::server_secrets;
use crate::db::DbConn;
use crate::error::CoreResult;

/// The secret called `name`, created with `make` when there is none yet.
/// Two nodes racing here end with the same value.
pub fn get_or_create(
    conn: &mut DbConn,
    name: &str,
    make: impl FnOnce() -> String,
    now: UnixTime,
) -> CoreResult<String> {
    let existing: Option<String> = server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .get_result(conn)
        .optional()?;
    if let Some(v) = existing {
        return Ok(v);
    }
    let row = (
        server_secrets::name.eq(name),
        server_secrets::value.eq(make()),
        server_secrets::created_at.eq(now),
    );
    match conn {
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(server_secrets::table)
            .values(row)
            .execute(c)?,
        DbConn::Postgresql(c) => diesel::insert_into(server_secrets::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .get_result(conn)?)
}
