//! WebAuthn ceremonies in progress, in the database so that any node can
//! finish what another began. The browser holds a 256-bit handle; the
//! table its SHA-256, the ceremony's purpose, the account (when known) and
//! the library's state (which holds the challenge). A ceremony is taken
//! once and lives five minutes.

use diesel::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::db::schema::webauthn_ceremonies;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::secret::{random_token, sha256_hex, Secret};

/// How long a ceremony may take, in seconds.
pub const LIFETIME_SECS: i64 = 300;

/// What a ceremony is for; a handle of one purpose cannot finish another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    SecondFactor,
    Discoverable,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SecondFactor => "second_factor",
            Purpose::Discoverable => "discoverable",
        }
    }
}

/// Stores a new ceremony; returns the handle for the browser.
pub fn put<S: Serialize>(
    conn: &mut DbConn,
    purpose: Purpose,
    user_id: Option<&str>,
    state: &S,
    now: UnixTime,
) -> CoreResult<Secret> {
    let handle = random_token();
    let state = serde_json::to_string(state)
        .map_err(|e| CoreError::Crypto(format!("WebAuthn state: {e}")))?;
    write_tx(conn, |c| {
        // Expired ceremonies go as new ones come.
        diesel::delete(webauthn_ceremonies::table.filter(webauthn_ceremonies::expires_at.le(now)))
            .execute(c)?;
        diesel::insert_into(webauthn_ceremonies::table)
            .values((
                webauthn_ceremonies::id_hash.eq(sha256_hex(handle.expose())),
                webauthn_ceremonies::user_id.eq(user_id),
                webauthn_ceremonies::purpose.eq(purpose.as_str()),
                webauthn_ceremonies::state.eq(&state),
                webauthn_ceremonies::expires_at.eq(now + LIFETIME_SECS),
            ))
            .execute(c)?;
        Ok::<_, CoreError>(())
    })?;
    Ok(handle)
}

/// Takes (and deletes) a live ceremony of `purpose`: its account and state.
/// `None` for an unknown, used, expired or other-purpose handle.
pub fn take<S: DeserializeOwned>(
    conn: &mut DbConn,
    purpose: Purpose,
    handle: &str,
    now: UnixTime,
) -> CoreResult<Option<(Option<String>, S)>> {
    let key = sha256_hex(handle);
    let row: Option<(Option<String>, String, String, i64)> = write_tx(conn, |c| {
        let row = webauthn_ceremonies::table
            .find(&key)
            .select((
                webauthn_ceremonies::user_id,
                webauthn_ceremonies::purpose,
                webauthn_ceremonies::state,
                webauthn_ceremonies::expires_at,
            ))
            .get_result(c)
            .optional()?;
        // Only the transaction that deletes the row may use it.
        let deleted = diesel::delete(webauthn_ceremonies::table.find(&key)).execute(c)?;
        Ok::<_, CoreError>(row.filter(|_| deleted == 1))
    })?;
    let Some((user_id, p, state, expires_at)) = row else {
        return Ok(None);
    };
    if p != purpose.as_str() || expires_at <= now {
        return Ok(None);
    }
    Ok(serde_json::from_str(&state).ok().map(|s| (user_id, s)))
}
