//! Authorization codes: 256 random bits, stored as SHA-256, single use,
//! bound to everything the token request must match.

use diesel::prelude::*;

use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::schema::authorization_codes;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::secret::{random_token, sha256_hex, Secret};

/// What a code is bound to.
#[derive(Debug, Clone)]
pub struct CodeBinding {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub claims: Option<String>,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub acr: String,
    pub sid: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub claims: Option<String>,
    pub auth_time: UnixTime,
    pub amr: String,
    pub acr: String,
    pub sid: String,
    pub family_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// Issues a code to the application for the signed-in person (`actor`):
/// stores it with its `code_issued` audit row in one transaction, and
/// returns it (the only time it exists in clear).
pub fn issue(
    conn: &mut DbConn,
    actor: &Actor,
    b: &CodeBinding,
    lifetime: i64,
    now: UnixTime,
) -> CoreResult<Secret> {
    write_tx(conn, |c| {
        let code = store(c, b, lifetime, now)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::CodeIssued)
                .subject(&b.user_id)
                .client(&b.client_id)
                .with("scope", b.scope.as_str()),
            now,
        )?;
        Ok::<_, CoreError>(code)
    })
}

/// Stores a new code.
fn store(conn: &mut DbConn, b: &CodeBinding, lifetime: i64, now: UnixTime) -> CoreResult<Secret> {
    let code = random_token();
    diesel::insert_into(authorization_codes::table)
        .values((
            authorization_codes::code_hash.eq(sha256_hex(code.expose())),
            authorization_codes::client_id.eq(&b.client_id),
            authorization_codes::user_id.eq(&b.user_id),
            authorization_codes::redirect_uri.eq(&b.redirect_uri),
            authorization_codes::redirect_uri_given.eq(b.redirect_uri_given),
            authorization_codes::scope.eq(&b.scope),
            authorization_codes::nonce.eq(&b.nonce),
            authorization_codes::code_challenge.eq(&b.code_challenge),
            authorization_codes::claims.eq(&b.claims),
            authorization_codes::auth_time.eq(b.auth_time),
            authorization_codes::amr
                .eq(serde_json::to_string(&b.amr).unwrap_or_else(|_| "[]".into())),
            authorization_codes::acr.eq(&b.acr),
            authorization_codes::sid.eq(&b.sid),
            authorization_codes::family_id.eq(uuid::Uuid::new_v4().to_string()),
            authorization_codes::created_at.eq(now),
            authorization_codes::expires_at.eq(now + lifetime),
        ))
        .execute(conn)?;
    Ok(code)
}

pub fn find(conn: &mut DbConn, code: &str) -> CoreResult<Option<CodeRow>> {
    Ok(authorization_codes::table
        .find(sha256_hex(code))
        .select(CodeRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Marks the code used; false when it already was (a replay).
pub fn mark_used(conn: &mut DbConn, code_hash: &str, now: UnixTime) -> CoreResult<bool> {
    let n = diesel::update(
        authorization_codes::table
            .find(code_hash)
            .filter(authorization_codes::used_at.is_null()),
    )
    .set(authorization_codes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}
