//! Changes a signed-in person makes to their own account: the password,
//! the email address (a link to the new one), the consents given to
//! applications. The account is always the actor's own.
//!
//! A password asked before a change is checked by the one password check
//! ([`signin::check_password_then`]): it counts against the account's
//! sign-in throttle like `/login`, and a throttled account is refused
//! whatever the password. The change, its mail and its audit row are one
//! transaction.

use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::email_tokens::{self, Purpose};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::mail::{self, outbox};
use crate::oidc::consent;
use crate::secret::Secret;
use crate::service::Core;
use crate::sessions;
use crate::signin::{self, Attempt, Refusal};
use crate::users::{self, User};

/// How recent a sign-in must be to change the address of an account
/// without a password (it signs in through a provider).
pub const RECENT_SIGN_IN_SECS: i64 = 600;

const WRONG_PASSWORD: &str = "Your current password is not right.";

/// How the person showed it is them before an account change.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// Their current password.
    Password(&'a Secret),
    /// A sign-in within [`RECENT_SIGN_IN_SECS`] (the actor's
    /// `authenticated_at`): only for an account without a password.
    RecentSignIn,
}

/// What a change asked with a password came to. A wrong password, like
/// any other problem with the input, is a [`CoreError::Validation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Done,
    /// Too many wrong passwords for the account (the sign-in throttle):
    /// nothing was checked; try again in this many seconds.
    Throttled {
        retry_after: i64,
    },
}

/// The actor's own account.
fn own_account(c: &mut DbConn, actor: &Actor) -> CoreResult<User> {
    let id = actor
        .actor_user_id
        .as_deref()
        .ok_or(CoreError::NotFound("user"))?;
    users::find_by_id(c, id)?.ok_or(CoreError::NotFound("user"))
}

/// Checks `password` as `user`'s with the one password check (audited as
/// `event`); on success runs `then` in the check's transaction. A wrong
/// password adds its message at `field` to the errors `v` so far.
#[allow(clippy::too_many_arguments)]
fn with_password<T>(
    core: &Core<'_>,
    actor: &Actor,
    user: &User,
    password: &Secret,
    event: EventKind,
    (field, mut v): (&'static str, ValidationErrors),
    now: UnixTime,
    then: impl FnOnce(&mut DbConn) -> CoreResult<T>,
) -> CoreResult<Result<T, Change>> {
    let attempt = Attempt {
        email: &user.email,
        password,
        event,
        detail: vec![],
    };
    let checked = signin::check_password_then(core, actor, &attempt, now, |c, u| {
        if u.id != user.id {
            // The address moved to another account meanwhile.
            return Err(CoreError::InvalidCredentials);
        }
        then(c)
    });
    match checked {
        Ok(Ok(done)) => Ok(Ok(done)),
        Ok(Err(Refusal::Throttled { retry_after })) => Ok(Err(Change::Throttled { retry_after })),
        Ok(Err(Refusal::Wrong | Refusal::Disabled)) | Err(CoreError::InvalidCredentials) => {
            v.add(field, WRONG_PASSWORD);
            Err(CoreError::Validation(v))
        }
        Err(e) => Err(e),
    }
}

/// Changes the actor's password, given the current one (the one password
/// check, audited as `password_changed`). In one transaction: the new
/// hash, reset links voided, the actor's other sessions ended (theirs
/// goes on), a notice mailed, the `password_changed` row.
pub fn change_password(
    core: &Core<'_>,
    actor: &Actor,
    current: &Secret,
    new_password: &Secret,
    now: UnixTime,
) -> CoreResult<Change> {
    let user = own_account(&mut *core.conn()?, actor)?;
    let keep_sid = actor.session_id.clone().unwrap_or_default();
    let m = core.mailer();
    let mut v = ValidationErrors::default();
    let hash = match core
        .passwords
        .policy_violation(new_password.expose(), &user.email)
    {
        Some(msg) => {
            v.add("new_password", msg);
            None
        }
        None => Some(core.passwords.hash(new_password.expose())?),
    };
    let policy = v.clone();
    let event = EventKind::PasswordChanged;
    let done = with_password(
        core,
        actor,
        &user,
        current,
        event,
        ("current_password", v),
        now,
        |c| {
            // The right password, a new one the policy refuses: nothing
            // changes (and the throttle's clearing is undone with it).
            let hash = hash.ok_or(CoreError::Validation(policy))?;
            users::set_password_hash(c, &user.id, &hash, now)?;
            email_tokens::void(c, &user.id, Purpose::Reset, now)?;
            sessions::delete_for_user_except(c, &user.id, &keep_sid)?;
            outbox::enqueue(
                c,
                m.kek,
                &mail::password_changed(m.config, &user.email, &user.name)?,
                now,
            )?;
            audit::record(c, actor, Event::success(event).subject(&user.id), now)
        },
    )?;
    Ok(done.err().unwrap_or(Change::Done))
}

/// Asks to move the actor's account to `new_email`: a link goes to the new
/// address and the change happens only when it is followed
/// ([`super::verify`]). When the address belongs to another account, its
/// owner gets a notice instead (the person asking sees the same answer).
/// The proof is the password (the one password check, audited as
/// `email_change_requested`) or, for an account without one, a recent
/// sign-in.
pub fn request_email_change(
    core: &Core<'_>,
    actor: &Actor,
    proof: Proof<'_>,
    new_email: &str,
    now: UnixTime,
) -> CoreResult<Change> {
    let user = own_account(&mut *core.conn()?, actor)?;
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
    let event = EventKind::EmailChangeRequested;
    let m = core.mailer();
    let request = |c: &mut DbConn, (email, key): (String, String)| -> CoreResult<()> {
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
        audit::record(c, actor, Event::success(event).subject(&user.id), now)
    };
    match proof {
        Proof::Password(password) => {
            let errors = v.clone();
            let done = with_password(
                core,
                actor,
                &user,
                password,
                event,
                ("password", v),
                now,
                |c| request(c, new.ok_or(CoreError::Validation(errors))?),
            )?;
            Ok(done.err().unwrap_or(Change::Done))
        }
        Proof::RecentSignIn => {
            if user.password_hash.is_some() {
                v.add("password", "Enter your password.");
            } else if actor.require_fresh(RECENT_SIGN_IN_SECS, now).is_err() {
                v.add(
                    "password",
                    "Your account has no password: first confirm it is you with an account linked to yours, below.",
                );
            }
            v.into_result()?;
            let Some(new) = new else {
                return Err(CoreError::Validation(ValidationErrors::default()));
            };
            write_tx(&mut *core.conn()?, |c| request(c, new))?;
            Ok(Change::Done)
        }
    }
}

/// Withdraws the actor's consent for `client_id` and ends every token the
/// application holds for them, with the `consent_withdrawn` row. Returns
/// false (and writes nothing) when there was no consent.
pub fn withdraw_consent(
    core: &Core<'_>,
    actor: &Actor,
    client_id: &str,
    now: UnixTime,
) -> CoreResult<bool> {
    let mut conn = core.conn()?;
    let user = own_account(&mut conn, actor)?;
    write_tx(&mut conn, |c| {
        let existed = consent::withdraw(c, &user.id, client_id, now)?;
        if existed {
            audit::record(
                c,
                actor,
                Event::success(EventKind::ConsentWithdrawn)
                    .subject(&user.id)
                    .client(client_id),
                now,
            )?;
        }
        Ok(existed)
    })
}
