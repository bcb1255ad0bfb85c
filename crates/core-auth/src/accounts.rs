//! Account flows that send mail: registration with verification, password
//! reset, password and email change. Each writes its mail to the outbox in
//! the same transaction as the change the mail reports, and none of them
//! reveals whether an address has an account. The reset flow is in
//! `accounts/reset.rs`.

mod reset;

pub use reset::{
    check_reset_link, request_reset, reset_password, resolve_reset_requests, Reset, ResetRequest,
};

use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::{write_tx, DbPool};
use crate::email_tokens::{self, Purpose};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::keys::Kek;
use crate::mail::{self, outbox};
use crate::password::{Passwords, Verified};
use crate::secret::Secret;
use crate::sessions;
use crate::users::{self, NewUser, User};

/// What mail needs: configuration and the key that encrypts the outbox.
#[derive(Clone, Copy)]
pub struct Mailer<'a> {
    pub config: &'a Config,
    pub kek: &'a Kek,
}

impl Mailer<'_> {
    fn link(&self, path: &str, token: &Secret) -> String {
        format!("{}{path}?token={}", self.config.issuer, token.expose())
    }
}

/// A registration either created an account or mailed the owner of an
/// existing one; the person sees the same page either way.
#[derive(Debug)]
pub enum Registered {
    Created(User),
    AlreadyExists,
}

/// Registers an account and mails a verification link; for an address that
/// already has an account, mails its owner a notice and creates nothing.
/// Both paths hash the password (bcrypt) and write one message.
pub fn register(
    pool: &DbPool,
    pw: &Passwords,
    m: Mailer<'_>,
    input: &NewUser,
    now: UnixTime,
) -> CoreResult<Registered> {
    let (email, key, name) = users::validate_new_user(pw, input)?;
    let hash = pw.hash(input.password.expose())?;
    let mut conn = pool.get()?;
    write_tx(&mut conn, |c| {
        if let Some(existing) = users::find_by_email(c, &key)? {
            outbox::enqueue(
                c,
                m.kek,
                &mail::already_registered(m.config, &existing.email, &existing.name)?,
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

/// Follows a verification or email-change link (each works once).
pub fn verify(pool: &DbPool, m: Mailer<'_>, token: &str, now: UnixTime) -> CoreResult<Verify> {
    let mut conn = pool.get()?;
    write_tx(&mut conn, |c| {
        if let Some(row) = email_tokens::consume(c, token, Purpose::Verify, now)? {
            let Some(user) = users::find_by_id(c, &row.user_id)? else {
                return Ok(Verify::Invalid);
            };
            if user.email_key != row.email.to_lowercase() {
                return Ok(Verify::Invalid);
            }
            users::mark_email_verified(c, &user.id, now)?;
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
            return Ok(Verify::EmailChanged {
                user_id: user.id,
                email: row.email,
            });
        }
        Ok(Verify::Invalid)
    })
}

/// How the person showed it is them before an account change.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// Their current password.
    Password(&'a Secret),
    /// A fresh sign-in (the caller checked how recent): only for an
    /// account without a password, which signs in through a provider.
    RecentSignIn,
}

fn check_proof(
    pw: &Passwords,
    user: &User,
    proof: Proof<'_>,
    field: &'static str,
) -> CoreResult<()> {
    match proof {
        Proof::Password(p) => check_current_password(pw, user, p, field),
        Proof::RecentSignIn if user.password_hash.is_none() => Ok(()),
        Proof::RecentSignIn => {
            let mut v = ValidationErrors::default();
            v.add(field, "Enter your password.");
            Err(CoreError::Validation(v))
        }
    }
}

fn check_current_password(
    pw: &Passwords,
    user: &User,
    current: &Secret,
    field: &'static str,
) -> CoreResult<()> {
    let ok = user
        .password_hash
        .as_deref()
        .is_some_and(|h| matches!(pw.verify(current.expose(), h), Verified::Yes { .. }));
    if ok {
        Ok(())
    } else {
        let mut v = ValidationErrors::default();
        v.add(field, "Your current password is not right.");
        Err(CoreError::Validation(v))
    }
}

/// Changes the password of a signed-in user who gave the current one. Other
/// sessions end (`keep_sid` stays), reset links void, a notice is mailed.
#[allow(clippy::too_many_arguments)]
pub fn change_password(
    pool: &DbPool,
    pw: &Passwords,
    m: Mailer<'_>,
    user_id: &str,
    current: &Secret,
    new_password: &Secret,
    keep_sid: &str,
    now: UnixTime,
) -> CoreResult<()> {
    let user = users::find_by_id(&mut *pool.get()?, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let mut v = ValidationErrors::default();
    if let Err(CoreError::Validation(e)) =
        check_current_password(pw, &user, current, "current_password")
    {
        v = e;
    }
    if let Some(msg) = pw.policy_violation(new_password.expose(), &user.email) {
        v.add("new_password", msg);
    }
    v.into_result()?;
    let hash = pw.hash(new_password.expose())?;
    let mut conn = pool.get()?;
    write_tx(&mut conn, |c| {
        users::set_password_hash(c, &user.id, &hash, now)?;
        email_tokens::void(c, &user.id, Purpose::Reset, now)?;
        sessions::delete_for_user_except(c, &user.id, keep_sid)?;
        outbox::enqueue(
            c,
            m.kek,
            &mail::password_changed(m.config, &user.email, &user.name)?,
            now,
        )?;
        Ok(())
    })
}

/// Asks to move a signed-in user's account to `new_email`: a link goes to
/// the new address and the change happens only when it is followed. When
/// the address belongs to another account, its owner gets a notice instead
/// (the person asking sees the same answer).
pub fn request_email_change(
    pool: &DbPool,
    pw: &Passwords,
    m: Mailer<'_>,
    user_id: &str,
    proof: Proof<'_>,
    new_email: &str,
    now: UnixTime,
) -> CoreResult<()> {
    let user = users::find_by_id(&mut *pool.get()?, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let mut v = ValidationErrors::default();
    let new = match users::normalize_email(new_email) {
        Ok((_, key)) if key == user.email_key => {
            v.add("new_email", "That is already your address.");
            None
        }
        Ok(pair) => Some(pair),
        Err(msg) => {
            v.add("new_email", msg);
            None
        }
    };
    if let Err(CoreError::Validation(e)) = check_proof(pw, &user, proof, "password") {
        v.0.extend(e.0);
    }
    v.into_result()?;
    let Some((email, key)) = new else {
        return Err(CoreError::Validation(ValidationErrors::default()));
    };
    let mut conn = pool.get()?;
    write_tx(&mut conn, |c| {
        if users::find_by_email(c, &key)?.is_some() {
            outbox::enqueue(c, m.kek, &mail::email_in_use(m.config, &email)?, now)?;
        } else {
            let token = email_tokens::issue(
                c,
                &user.id,
                Purpose::ChangeEmail,
                &email,
                m.config.accounts.verification_link_lifetime_secs,
                now,
            )?;
            outbox::enqueue(
                c,
                m.kek,
                &mail::confirm_new_email(
                    m.config,
                    &email,
                    &user.name,
                    &m.link("/verify-email", &token),
                )?,
                now,
            )?;
        }
        Ok(())
    })
}
