//! Registration and address verification: a new account with its
//! verification link, a new link on request, and following a mailed link
//! (a verification, or the confirmation of an email change).

use super::Mailer;
use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbPool};
use crate::email_tokens::{self, Purpose};
use crate::error::{CoreError, CoreResult};
use crate::mail::{self, outbox};
use crate::service::Core;
use crate::users::{self, NewUser, User};

/// A registration either created an account or mailed the owner of an
/// existing one; the person sees the same page either way.
#[derive(Debug)]
pub enum Registered {
    Created(User),
    AlreadyExists,
}

/// Registers an account and mails a verification link; for an address that
/// already has an account, mails its owner a notice and creates nothing.
/// Both paths hash the password (bcrypt) and write one message and one
/// `registration` row (success, or failure `address_in_use`).
pub fn register(
    core: &Core<'_>,
    actor: &Actor,
    input: &NewUser,
    now: UnixTime,
) -> CoreResult<Registered> {
    let (pw, m) = (core.passwords, core.mailer());
    let (email, key, name) = users::validate_new_user(pw, input)?;
    let hash = pw.hash(input.password.expose())?;
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        if let Some(existing) = users::find_by_email(c, &key)? {
            outbox::enqueue(
                c,
                m.kek,
                &mail::already_registered(m.config, &existing.email, &existing.name)?,
                now,
            )?;
            audit::record(
                c,
                actor,
                Event::failure(EventKind::Registration).with("reason", "address_in_use"),
                now,
            )?;
            return Ok(Registered::AlreadyExists);
        }
        let created = users::insert_user(
            c,
            &email,
            &key,
            &name,
            Some(&hash),
            input.email_verified,
            &input.roles,
            now,
        )?;
        if !created.user.email_verified {
            let token = email_tokens::issue(
                c,
                &created.user.id,
                Purpose::Verify,
                &email,
                m.config.accounts.verification_link_lifetime_secs,
                now,
            )?;
            outbox::enqueue(
                c,
                m.kek,
                &mail::verify_email(m.config, &email, &name, &m.link("/verify-email", &token))?,
                now,
            )?;
        }
        audit::record(
            c,
            actor,
            Event::success(EventKind::Registration).subject(&created.user.id),
            now,
        )?;
        Ok(Registered::Created(created.user))
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resend {
    Sent,
    TooSoon,
    AlreadyVerified,
}

/// A new verification link for a signed-in user, at most one per
/// `accounts.resend_interval_secs`.
pub fn resend_verification(
    pool: &DbPool,
    m: Mailer<'_>,
    user_id: &str,
    now: UnixTime,
) -> CoreResult<Resend> {
    let mut conn = pool.get()?;
    write_tx(&mut conn, |c| {
        let user = users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        if user.email_verified {
            return Ok(Resend::AlreadyVerified);
        }
        if email_tokens::last_issued(c, user_id, Purpose::Verify)?
            .is_some_and(|t| now - t < m.config.accounts.resend_interval_secs)
        {
            return Ok(Resend::TooSoon);
        }
        let token = email_tokens::issue(
            c,
            user_id,
            Purpose::Verify,
            &user.email,
            m.config.accounts.verification_link_lifetime_secs,
            now,
        )?;
        outbox::enqueue(
            c,
            m.kek,
            &mail::verify_email(
                m.config,
                &user.email,
                &user.name,
                &m.link("/verify-email", &token),
            )?,
            now,
        )?;
        Ok(Resend::Sent)
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verify {
    /// The account's address is verified.
    Verified { user_id: String },
    /// The account moved to the new address.
    EmailChanged { user_id: String, email: String },
    /// Unknown, used, voided or expired link; or the address changed since.
    Invalid,
    /// The new address was taken by another account meanwhile.
    Taken,
}

/// Follows a verification or email-change link (each works once), with
/// its `email_verified` or `email_changed` row.
pub fn verify(core: &Core<'_>, actor: &Actor, token: &str, now: UnixTime) -> CoreResult<Verify> {
    let m = core.mailer();
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        if let Some(row) = email_tokens::consume(c, token, Purpose::Verify, now)? {
            let Some(user) = users::find_by_id(c, &row.user_id)? else {
                return Ok(Verify::Invalid);
            };
            if user.email_key != row.email.to_lowercase() {
                return Ok(Verify::Invalid);
            }
            users::mark_email_verified(c, &user.id, now)?;
            audit::record(
                c,
                actor,
                Event::success(EventKind::EmailVerified).subject(&user.id),
                now,
            )?;
            return Ok(Verify::Verified { user_id: user.id });
        }
        if let Some(row) = email_tokens::consume(c, token, Purpose::ChangeEmail, now)? {
            let Some(user) = users::find_by_id(c, &row.user_id)? else {
                return Ok(Verify::Invalid);
            };
            match users::set_email(c, &user.id, &row.email, now) {
                Ok(()) => {}
                Err(CoreError::EmailTaken) => return Ok(Verify::Taken),
                Err(e) => return Err(e),
            }
            outbox::enqueue(
                c,
                m.kek,
                &mail::email_changed(m.config, &user.email, &user.name, &row.email)?,
                now,
            )?;
            audit::record(
                c,
                actor,
                Event::success(EventKind::EmailChanged).subject(&user.id),
                now,
            )?;
            return Ok(Verify::EmailChanged {
                user_id: user.id,
                email: row.email,
            });
        }
        Ok(Verify::Invalid)
    })
}
