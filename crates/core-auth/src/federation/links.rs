//! Federated identities: a person's account at an upstream provider
//! (provider, subject) linked to one local user. A user has at most one link
//! per provider; an upstream account links to at most one user.

use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, Event, EventKind, Outcome};
use crate::clock::UnixTime;
use crate::db::schema::{federated_identities, users};
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::service::Core;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = federated_identities)]
pub struct FederatedIdentity {
    pub provider: String,
    pub subject: String,
    pub user_id: String,
    /// The address the provider gave at the last sign-in (may be empty).
    pub email: String,
    pub created_at: UnixTime,
    pub last_used_at: UnixTime,
}

/// What [`create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linked {
    Created(FederatedIdentity),
    /// This upstream account is already linked to another user.
    LinkedToAnotherUser,
    /// The user already has a link with this provider.
    ProviderAlreadyLinked,
}

/// What [`unlink`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    Removed,
    /// Refused: the user would have no way left to sign in.
    LastSignInMethod,
    NotFound,
}

pub fn find(
    conn: &mut DbConn,
    provider: &str,
    subject: &str,
) -> CoreResult<Option<FederatedIdentity>> {
    Ok(federated_identities::table
        .find((provider, subject))
        .select(FederatedIdentity::as_select())
        .get_result(conn)
        .optional()?)
}

/// The user's links, by provider id.
pub fn for_user(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<FederatedIdentity>> {
    Ok(federated_identities::table
        .filter(federated_identities::user_id.eq(user_id))
        .select(FederatedIdentity::as_select())
        .order(federated_identities::provider.asc())
        .load(conn)?)
}

/// The links of several users at once (an admin list page).
pub fn for_users(conn: &mut DbConn, user_ids: &[&str]) -> CoreResult<Vec<FederatedIdentity>> {
    Ok(federated_identities::table
        .filter(federated_identities::user_id.eq_any(user_ids))
        .select(FederatedIdentity::as_select())
        .order((
            federated_identities::user_id.asc(),
            federated_identities::provider.asc(),
        ))
        .load(conn)?)
}

/// Every link with one provider, oldest first (an admin's provider page).
pub fn for_provider(
    conn: &mut DbConn,
    provider: &str,
    limit: i64,
) -> CoreResult<Vec<FederatedIdentity>> {
    Ok(federated_identities::table
        .filter(federated_identities::provider.eq(provider))
        .select(FederatedIdentity::as_select())
        .order(federated_identities::created_at.asc())
        .limit(limit)
        .load(conn)?)
}

/// Links (provider, subject) to `user_id`, unless either side is taken.
pub fn create(
    conn: &mut DbConn,
    provider: &str,
    subject: &str,
    user_id: &str,
    email: &str,
    now: UnixTime,
) -> CoreResult<Linked> {
    write_tx(conn, |c| {
        if let Some(existing) = find(c, provider, subject)? {
            return Ok(if existing.user_id == user_id {
                Linked::Created(existing)
            } else {
                Linked::LinkedToAnotherUser
            });
        }
        let taken: i64 = federated_identities::table
            .filter(federated_identities::user_id.eq(user_id))
            .filter(federated_identities::provider.eq(provider))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Ok(Linked::ProviderAlreadyLinked);
        }
        let row = FederatedIdentity {
            provider: provider.to_string(),
            subject: subject.to_string(),
            user_id: user_id.to_string(),
            email: email.to_string(),
            created_at: now,
            last_used_at: now,
        };
        diesel::insert_into(federated_identities::table)
            .values((
                federated_identities::provider.eq(&row.provider),
                federated_identities::subject.eq(&row.subject),
                federated_identities::user_id.eq(&row.user_id),
                federated_identities::email.eq(&row.email),
                federated_identities::created_at.eq(now),
                federated_identities::last_used_at.eq(now),
            ))
            .execute(c)?;
        Ok(Linked::Created(row))
    })
}

/// Records a sign-in through the link (and the address given this time).
pub fn touch(
    conn: &mut DbConn,
    provider: &str,
    subject: &str,
    email: &str,
    now: UnixTime,
) -> CoreResult<()> {
    diesel::update(federated_identities::table.find((provider, subject)))
        .set((
            federated_identities::email.eq(email),
            federated_identities::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Locks the user's row until the transaction ends (PostgreSQL; SQLite's
/// write transaction already excludes other writers), so that two removals
/// at once cannot both see the other link.
fn lock_user(conn: &mut DbConn, user_id: &str) -> CoreResult<()> {
    if let DbConn::Postgresql(c) = conn {
        diesel::sql_query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind::<Text, _>(user_id)
            .execute(c)?;
    }
    Ok(())
}

/// How a user can sign in: whether they have a password, and their links
/// to providers in `usable` (configured and enabled).
pub fn sign_in_methods(
    conn: &mut DbConn,
    user_id: &str,
    usable: &[String],
) -> CoreResult<(bool, Vec<FederatedIdentity>)> {
    let hash: Option<Option<String>> = users::table
        .find(user_id)
        .select(users::password_hash)
        .get_result(conn)
        .optional()?;
    let Some(hash) = hash else {
        return Err(CoreError::NotFound("user"));
    };
    let links = for_user(conn, user_id)?
        .into_iter()
        .filter(|l| usable.contains(&l.provider))
        .collect();
    Ok((hash.is_some(), links))
}

/// The signed-in person (`actor`) removes their link with `provider`, on
/// their account page, unless it is their last way to sign in: without a
/// password, another link to an enabled provider must remain. (A link to a
/// provider that is gone or disabled can always be removed: it signs
/// nobody in.) The removal and its `upstream_link_removed` row (or the
/// refusal's, outcome `denied`) are one transaction.
pub fn unlink(
    core: &Core<'_>,
    actor: &Actor,
    provider: &str,
    now: UnixTime,
) -> CoreResult<Unlinked> {
    let user_id = actor
        .actor_user_id
        .as_deref()
        .ok_or(CoreError::NotFound("user"))?;
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        let usable = super::store::usable_ids(c, core.config, core.kek())?;
        let done = remove(c, user_id, provider, &usable)?;
        let e = match done {
            Unlinked::Removed => Event::success(EventKind::UpstreamLinkRemoved),
            Unlinked::LastSignInMethod => {
                Event::new(EventKind::UpstreamLinkRemoved, Outcome::Denied)
                    .with("reason", "last_sign_in_method")
            }
            Unlinked::NotFound => return Ok(done),
        };
        let e = e.subject(user_id).with("provider", provider);
        audit::record(c, actor, e, now)?;
        Ok(done)
    })
}

/// [`unlink`]'s rule and change, inside its transaction.
fn remove(
    c: &mut DbConn,
    user_id: &str,
    provider: &str,
    usable: &[String],
) -> CoreResult<Unlinked> {
    lock_user(c, user_id)?;
    let (has_password, links) = sign_in_methods(c, user_id, usable)?;
    let exists: i64 = federated_identities::table
        .filter(federated_identities::user_id.eq(user_id))
        .filter(federated_identities::provider.eq(provider))
        .count()
        .get_result(c)?;
    if exists == 0 {
        return Ok(Unlinked::NotFound);
    }
    let others = links.iter().filter(|l| l.provider != provider).count();
    let this_usable = usable.iter().any(|p| p == provider);
    if this_usable && !has_password && others == 0 {
        return Ok(Unlinked::LastSignInMethod);
    }
    diesel::delete(
        federated_identities::table
            .filter(federated_identities::user_id.eq(user_id))
            .filter(federated_identities::provider.eq(provider)),
    )
    .execute(c)?;
    Ok(Unlinked::Removed)
}

/// Removes a link whatever remains (an administrator's action; the user
/// can still set a password through a reset link).
pub fn remove_any(conn: &mut DbConn, user_id: &str, provider: &str) -> CoreResult<bool> {
    let n = diesel::delete(
        federated_identities::table
            .filter(federated_identities::user_id.eq(user_id))
            .filter(federated_identities::provider.eq(provider)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Removes every link to `provider` (the provider is being deleted);
/// returns how many.
pub fn remove_all_for_provider(conn: &mut DbConn, provider: &str) -> CoreResult<usize> {
    Ok(diesel::delete(
        federated_identities::table.filter(federated_identities::provider.eq(provider)),
    )
    .execute(conn)?)
}

/// How many links each provider has (an admin overview), by provider id.
pub fn count_by_provider(conn: &mut DbConn) -> CoreResult<Vec<(String, i64)>> {
    Ok(federated_identities::table
        .group_by(federated_identities::provider)
        .select((federated_identities::provider, diesel::dsl::count_star()))
        .order(federated_identities::provider.asc())
        .load(conn)?)
}
