//! Single-use links sent by email: 256 random bits, stored as SHA-256,
//! with an expiry. Issuing a new link of a purpose voids the older ones.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::db::schema::email_tokens;
use crate::db::DbConn;
use crate::error::CoreResult;
use crate::secret::{random_token, sha256_hex, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Verify the account's address.
    Verify,
    /// Reset the password.
    Reset,
    /// Move the account to a new address (the token's `email`).
    ChangeEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::ChangeEmail => "change_email",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_tokens)]
pub struct TokenRow {
    pub token_hash: String,
    pub user_id: String,
    pub purpose: String,
    pub email: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// A new link token for `user_id`; older unused ones of the same purpose
/// stop working.
pub fn issue(
    conn: &mut DbConn,
    user_id: &str,
    purpose: Purpose,
    email: &str,
    lifetime: i64,
    now: UnixTime,
) -> CoreResult<Secret> {
    void(conn, user_id, purpose, now)?;
    let token = random_token();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::token_hash.eq(sha256_hex(token.expose())),
            email_tokens::user_id.eq(user_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::email.eq(email),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(now + lifetime),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The token's row when it is of `purpose`, unused and unexpired.
pub fn peek(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
    now: UnixTime,
) -> CoreResult<Option<TokenRow>> {
    if token.is_empty() || token.len() > 128 || token.contains('\0') {
        return Ok(None);
    }
    Ok(email_tokens::table
        .find(sha256_hex(token))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .filter(email_tokens::used_at.is_null())
        .filter(email_tokens::expires_at.gt(now))
        .select(TokenRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Uses the token up, atomically: of two concurrent uses one wins.
pub fn consume(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
    now: UnixTime,
) -> CoreResult<Option<TokenRow>> {
    let Some(row) = peek(conn, token, purpose, now)? else {
        return Ok(None);
    };
    let n = diesel::update(
        email_tokens::table
            .find(&row.token_hash)
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok((n == 1).then_some(row))
}

/// Voids every unused token of `purpose` for the user.
pub fn void(
    conn: &mut DbConn,
    user_id: &str,
    purpose: Purpose,
    now: UnixTime,
) -> CoreResult<usize> {
    Ok(diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(Some(now)))
    .execute(conn)?)
}

/// When the newest token of `purpose` was issued to the user.
pub fn last_issued(
    conn: &mut DbConn,
    user_id: &str,
    purpose: Purpose,
) -> CoreResult<Option<UnixTime>> {
    Ok(email_tokens::table
        .filter(email_tokens::user_id.eq(user_id))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .select(diesel::dsl::max(email_tokens::created_at))
        .first(conn)?)
}
