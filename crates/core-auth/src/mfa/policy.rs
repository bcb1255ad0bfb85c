//! Who must use a second factor, what comes after the first, and the
//! administrator's actions on someone's factors.
//!
//! An account must have a second factor when it holds a role listed in
//! `mfa.required_for_roles` (directly or through a group) or an
//! administrator required it of that account. An account that has a
//! factor is always asked for it, however it signed in first.

use diesel::prelude::*;

use super::{factors, recovery, Factor, Factors};
use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::{mfa_enrolment_required, mfa_totp, passkeys};
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::roles;
use crate::service::Core;
use crate::users;

/// What a sign-in does after its first factor.
#[derive(Debug, Clone)]
pub enum Next {
    /// Nothing more: the session may be issued.
    Done,
    /// Ask for one of the account's factors.
    SecondFactor(Factors),
    /// The account must have a factor and has none: enrol one before any
    /// session or code is issued.
    Enrol,
}

/// True when the account must have a second factor.
pub fn required(conn: &mut DbConn, config: &Config, user_id: &str) -> CoreResult<bool> {
    let flagged: i64 = mfa_enrolment_required::table
        .find(user_id)
        .count()
        .get_result(conn)?;
    if flagged > 0 {
        return Ok(true);
    }
    if config.mfa.required_for_roles.is_empty() {
        return Ok(false);
    }
    let held = roles::effective_roles(conn, user_id)?;
    Ok(config
        .mfa
        .required_for_roles
        .iter()
        .any(|r| held.iter().any(|h| h == r)))
}

/// What comes after the first factor. `upstream_mfa`: the first factor was
/// an upstream provider whose own multi-factor sign-in this server trusts
/// (the provider's `trust_mfa` and `amr` containing `mfa`).
pub fn after_first_factor(
    conn: &mut DbConn,
    config: &Config,
    user_id: &str,
    upstream_mfa: bool,
) -> CoreResult<Next> {
    if upstream_mfa {
        return Ok(Next::Done);
    }
    let f = factors(conn, user_id)?;
    if f.any() {
        Ok(Next::SecondFactor(f))
    } else if required(conn, config, user_id)? {
        Ok(Next::Enrol)
    } else {
        Ok(Next::Done)
    }
}

fn count_factors(c: &mut DbConn, user_id: &str) -> CoreResult<i64> {
    let totp: i64 = mfa_totp::table
        .find(user_id)
        .filter(mfa_totp::confirmed_at.is_not_null())
        .count()
        .get_result(c)?;
    let keys: i64 = passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(c)?;
    Ok(totp + keys)
}

/// A person may not remove their own last factor when their account must
/// have one (an administrator may: the person then enrols again at their
/// next sign-in).
pub(super) fn may_remove_factor(
    c: &mut DbConn,
    config: &Config,
    actor: &Actor,
    user_id: &str,
) -> CoreResult<()> {
    let own = actor.actor_user_id.as_deref() == Some(user_id);
    if own && count_factors(c, user_id)? <= 1 && required(c, config, user_id)? {
        let mut v = ValidationErrors::default();
        v.add(
            "factor",
            "Your account must have a second factor: add another before removing this one.",
        );
        return Err(CoreError::Validation(v));
    }
    Ok(())
}

/// After a factor went: with none left, the recovery codes go too.
pub(super) fn after_factor_removed(c: &mut DbConn, user_id: &str) -> CoreResult<()> {
    if count_factors(c, user_id)? == 0 {
        recovery::clear(c, user_id)?;
    }
    Ok(())
}

/// An administrator requires (or stops requiring) an account to have a
/// second factor. Audited as `admin_mfa_requirement_set`.
pub fn set_required(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    required: bool,
    now: UnixTime,
) -> CoreResult<()> {
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        let changed = if required && !flagged(c, user_id)? {
            diesel::insert_into(mfa_enrolment_required::table)
                .values((
                    mfa_enrolment_required::user_id.eq(user_id),
                    mfa_enrolment_required::set_at.eq(now),
                ))
                .execute(c)?
        } else if required {
            0
        } else {
            diesel::delete(mfa_enrolment_required::table.find(user_id)).execute(c)?
        };
        if changed > 0 {
            audit::record(
                c,
                actor,
                Event::success(EventKind::MfaRequirementSet)
                    .with("required", required)
                    .subject(user_id),
                now,
            )?;
        }
        Ok(())
    })
}

/// True when an administrator required a second factor of this account.
pub fn flagged(conn: &mut DbConn, user_id: &str) -> CoreResult<bool> {
    let n: i64 = mfa_enrolment_required::table
        .find(user_id)
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// An administrator removes every second factor of an account (a lost
/// phone): the authenticator app, the passkeys and the recovery codes. A
/// sensitive action (re-authentication within the window). One
/// `mfa_factor_removed` row per factor, in one transaction.
pub fn reset(core: &Core<'_>, actor: &Actor, user_id: &str, now: UnixTime) -> CoreResult<usize> {
    crate::admin::sensitive(core, actor, now)?;
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        let mut removed = 0;
        let had_totp = diesel::delete(mfa_totp::table.find(user_id)).execute(c)? > 0;
        if had_totp {
            removed += 1;
            audit::record(
                c,
                actor,
                Event::success(EventKind::FactorRemoved)
                    .with("factor", Factor::Totp.as_str())
                    .subject(user_id),
                now,
            )?;
        }
        let names: Vec<String> = passkeys::table
            .filter(passkeys::user_id.eq(user_id))
            .select(passkeys::name)
            .load(c)?;
        diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(c)?;
        for name in names {
            removed += 1;
            audit::record(
                c,
                actor,
                Event::success(EventKind::FactorRemoved)
                    .with("factor", Factor::Passkey.as_str())
                    .with("name", name)
                    .subject(user_id),
                now,
            )?;
        }
        recovery::clear(c, user_id)?;
        Ok(removed)
    })
}

/// One factor of an account, as an administrator names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorRef {
    /// The authenticator app.
    App,
    /// The passkey with this id.
    Passkey(String),
}

/// An administrator removes one factor of an account (a lost security
/// key, an old phone). A sensitive action; audited as `mfa_factor_removed`.
/// With no factor left, the recovery codes go too.
pub fn remove_one(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    which: &FactorRef,
    now: UnixTime,
) -> CoreResult<()> {
    crate::admin::sensitive(core, actor, now)?;
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        let event = match which {
            FactorRef::App => {
                let n = diesel::delete(
                    mfa_totp::table
                        .find(user_id)
                        .filter(mfa_totp::confirmed_at.is_not_null()),
                )
                .execute(c)?;
                if n == 0 {
                    return Err(CoreError::NotFound("authenticator app"));
                }
                Event::success(EventKind::FactorRemoved).with("factor", Factor::Totp.as_str())
            }
            FactorRef::Passkey(id) => {
                let name: String = passkeys::table
                    .find(id)
                    .filter(passkeys::user_id.eq(user_id))
                    .select(passkeys::name)
                    .get_result(c)
                    .optional()?
                    .ok_or(CoreError::NotFound("passkey"))?;
                diesel::delete(passkeys::table.find(id)).execute(c)?;
                Event::success(EventKind::FactorRemoved)
                    .with("factor", Factor::Passkey.as_str())
                    .with("name", name)
            }
        };
        audit::record(c, actor, event.subject(user_id), now)?;
        after_factor_removed(c, user_id)
    })
}

/// How many enabled administrators have no second factor (the console's
/// dashboard shows it).
pub fn admins_without_factor(conn: &mut DbConn) -> CoreResult<i64> {
    let mut n = 0;
    for id in roles::users_with_role(conn, crate::users::ROLE_ADMIN)? {
        let enabled = users::find_by_id(conn, &id)?.is_some_and(|u| !u.disabled);
        if enabled && count_factors(conn, &id)? == 0 {
            n += 1;
        }
    }
    Ok(n)
}
