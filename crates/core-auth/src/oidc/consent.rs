//! Remembered consent, per user and client.

use diesel::prelude::*;
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::schema::{clients, consents};
use crate::db::DbConn;
use crate::error::{CoreError, CoreResult};
use crate::oidc::scopes::ScopeSet;

/// The scopes `user_id` has granted `client_id`.
pub fn granted(conn: &mut DbConn, user_id: &str, client_id: &str) -> CoreResult<ScopeSet> {
    let s: Option<String> = consents::table
        .find((user_id, client_id))
        .select(consents::scopes)
        .get_result(conn)
        .optional()?;
    Ok(s.map(|s| ScopeSet::parse(&s)).unwrap_or_default())
}

/// The signed-in person (`actor`) allows `client_id` the `scopes` it asked
/// for: added to what they granted it before, with the `consent_granted`
/// audit row, in one transaction.
pub fn grant(
    conn: &mut DbConn,
    actor: &Actor,
    client_id: &str,
    scopes: &ScopeSet,
    now: UnixTime,
) -> CoreResult<()> {
    let user_id = actor
        .actor_user_id
        .as_deref()
        .ok_or(CoreError::NotFound("user"))?;
    crate::db::write_tx(conn, |c| {
        let existing = granted(c, user_id, client_id)?;
        let all = existing.union(scopes).to_string();
        let n = diesel::update(consents::table.find((user_id, client_id)))
            .set((consents::scopes.eq(&all), consents::updated_at.eq(now)))
            .execute(c)?;
        if n == 0 {
            diesel::insert_into(consents::table)
                .values((
                    consents::user_id.eq(user_id),
                    consents::client_id.eq(client_id),
                    consents::scopes.eq(&all),
                    consents::granted_at.eq(now),
                    consents::updated_at.eq(now),
                ))
                .execute(c)?;
        }
        audit::record(
            c,
            actor,
            Event::success(EventKind::ConsentGranted)
                .subject(user_id)
                .client(client_id)
                .with("scope", scopes.to_string()),
            now,
        )
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentInfo {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub granted_at: UnixTime,
}

/// Every application the user has consented to, by name.
pub fn list_for_user(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<ConsentInfo>> {
    let rows: Vec<(String, String, String, i64)> = consents::table
        .inner_join(clients::table)
        .filter(consents::user_id.eq(user_id))
        .select((
            consents::client_id,
            clients::name,
            consents::scopes,
            consents::granted_at,
        ))
        .order(clients::name.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(client_id, client_name, scopes, granted_at)| ConsentInfo {
            client_id,
            client_name,
            scopes: ScopeSet::parse(&scopes).0,
            granted_at,
        })
        .collect())
}

/// Withdraws consent and ends every token the client holds for the user.
/// Returns false when there was no consent.
pub fn withdraw(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
    now: UnixTime,
) -> CoreResult<bool> {
    crate::db::write_tx(conn, |c| {
        let n = diesel::delete(consents::table.find((user_id, client_id))).execute(c)?;
        crate::oidc::tokens::revoke_for_user_client(c, user_id, client_id, now)?;
        Ok(n > 0)
    })
}
