//! Password reset: the request, the worker's half, and following the link.
//!
//! The request does the same work for every address: it checks the
//! per-address throttle, queues one request in the outbox and writes one
//! audit row, without looking the address up. The mail worker then
//! resolves the request in one transaction: for an enabled account, a new
//! link (older ones void) and the reset mail; for any other address,
//! nothing. Both outcomes are audited there (`password_reset_mailed`).

use crate::audit::EventKind;
use serde::{Deserialize, Serialize};

use super::Mailer;
use crate::actor::Actor;
use crate::audit::{self, Event, Outcome};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbPool};
use crate::email_tokens::{self, Purpose, TokenRow};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::mail::{self, outbox};
use crate::oidc::tokens;
use crate::secret::Secret;
use crate::service::Core;
use crate::{sessions, throttle, users};

/// What a password-reset request did (the person sees the same page for
/// `Done` whoever the address belongs to).
#[derive(Debug, PartialEq, Eq)]
pub enum ResetRequest {
    Done,
    /// Too many requests for this address in the window: retry after.
    Throttled(i64),
}

/// Who asked, carried (encrypted) in the queued request so that the
/// worker's audit row names the same requester as the request's.
#[derive(Serialize, Deserialize, Default)]
struct Requester {
    actor_user_id: Option<String>,
    ip: String,
    user_agent: String,
    session_id: Option<String>,
}

impl Requester {
    fn of(a: &Actor) -> Self {
        Requester {
            actor_user_id: a.actor_user_id.clone(),
            ip: a.ip.clone(),
            user_agent: a.user_agent.clone(),
            session_id: a.session_id.clone(),
        }
    }

    fn actor(self) -> Actor {
        Actor {
            actor_user_id: self.actor_user_id,
            ip: self.ip,
            user_agent: self.user_agent,
            session_id: self.session_id,
            ..Actor::default()
        }
    }
}

/// Asks for a password reset for `email`. Requests per address are
/// throttled (`throttle.reset_*`), known or not. The address is not looked
/// up here: one request is queued for the mail worker
/// ([`resolve_reset_requests`]), so a known and an unknown address cost
/// the same and write the same rows.
pub fn request_reset(
    pool: &DbPool,
    m: Mailer<'_>,
    email: &str,
    meta: &Actor,
    now: UnixTime,
) -> CoreResult<ResetRequest> {
    let key = email.trim().to_lowercase();
    let rule = throttle::Rule::reset(&m.config.throttle);
    let mut conn = pool.get()?;
    if let Some(wait) = throttle::retry_after(&mut conn, throttle::Kind::Reset, &key, rule, now)? {
        audit::record(
            &mut conn,
            meta,
            Event::new(EventKind::PasswordResetRequested, Outcome::Denied)
                .with("reason", "throttled"),
            now,
        )?;
        return Ok(ResetRequest::Throttled(wait));
    }
    throttle::hit(&mut conn, throttle::Kind::Reset, &key, rule, now)?;
    let requester = serde_json::to_vec(&Requester::of(meta))?;
    write_tx(&mut conn, |c| {
        outbox::enqueue_request(c, m.kek, outbox::RESET_REQUEST, &key, &requester, now)?;
        audit::record(
            c,
            meta,
            Event::success(EventKind::PasswordResetRequested),
            now,
        )?;
        Ok(ResetRequest::Done)
    })
}

/// The worker's half: resolves up to `limit` queued reset requests, each in
/// its own transaction. For an address with an enabled account: a new link
/// (older ones void), the reset mail queued, `password_reset_mailed`
/// success. For any other address: nothing but `password_reset_mailed`
/// failure (`unknown_address` or `disabled`). Returns how many were
/// resolved.
pub fn resolve_reset_requests(
    pool: &DbPool,
    m: Mailer<'_>,
    now: UnixTime,
    limit: usize,
) -> CoreResult<usize> {
    let mut conn = pool.get()?;
    let mut resolved = 0;
    while resolved < limit {
        let took = write_tx(&mut conn, |c| -> CoreResult<bool> {
            let Some(req) = outbox::take_request(c, m.kek, outbox::RESET_REQUEST, now)? else {
                return Ok(false);
            };
            let meta = req
                .payload
                .as_deref()
                .and_then(|p| serde_json::from_slice::<Requester>(p).ok())
                .unwrap_or_default()
                .actor();
            let user = users::find_by_email(c, &req.subject)?;
            match user {
                Some(user) if !user.disabled => {
                    let token = email_tokens::issue(
                        c,
                        &user.id,
                        Purpose::Reset,
                        &user.email,
                        m.config.accounts.reset_link_lifetime_secs,
                        now,
                    )?;
                    outbox::enqueue(
                        c,
                        m.kek,
                        &mail::reset_password(
                            m.config,
                            &user.email,
                            &user.name,
                            &m.link("/reset-password", &token),
                        )?,
                        now,
                    )?;
                    outbox::close_request(c, req.id, true, now)?;
                    audit::record(
                        c,
                        &meta,
                        Event::success(EventKind::PasswordResetMailed).subject(&user.id),
                        now,
                    )?;
                }
                other => {
                    outbox::close_request(c, req.id, false, now)?;
                    let (reason, event) = match other {
                        Some(u) => (
                            "disabled",
                            Event::failure(EventKind::PasswordResetMailed).subject(&u.id),
                        ),
                        None => (
                            "unknown_address",
                            Event::failure(EventKind::PasswordResetMailed),
                        ),
                    };
                    audit::record(c, &meta, event.with("reason", reason), now)?;
                }
            }
            Ok(true)
        })?;
        if !took {
            break;
        }
        resolved += 1;
    }
    Ok(resolved)
}

/// The reset link's token row, if the link still works.
pub fn check_reset_link(pool: &DbPool, token: &str, now: UnixTime) -> CoreResult<Option<TokenRow>> {
    email_tokens::peek(&mut *pool.get()?, token, Purpose::Reset, now)
}

#[derive(Debug)]
pub enum Reset {
    Done { user_id: String },
    InvalidLink,
}

/// Sets a new password from a reset link: the link is used up, every other
/// link voided, every session and refresh token of the user ended (offline
/// grants too unless configured otherwise), a notice mailed, and the
/// `password_reset_completed` row written, in one transaction.
pub fn reset_password(
    core: &Core<'_>,
    actor: &Actor,
    token: &str,
    new_password: &Secret,
    now: UnixTime,
) -> CoreResult<Reset> {
    let (pw, m) = (core.passwords, core.mailer());
    let Some(row) = check_reset_link(core.pool, token, now)? else {
        return Ok(Reset::InvalidLink);
    };
    if let Some(msg) = pw.policy_violation(new_password.expose(), &row.email) {
        let mut v = ValidationErrors::default();
        v.add("password", msg);
        return Err(CoreError::Validation(v));
    }
    let hash = pw.hash(new_password.expose())?;
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        let Some(row) = email_tokens::consume(c, token, Purpose::Reset, now)? else {
            return Ok(Reset::InvalidLink);
        };
        let Some(user) = users::find_by_id(c, &row.user_id)? else {
            return Ok(Reset::InvalidLink);
        };
        users::set_password_hash(c, &user.id, &hash, now)?;
        // The link reached the address: it is verified (an invitation's
        // set-password link is a reset link).
        if !user.email_verified && user.email_key == row.email.to_lowercase() {
            users::mark_email_verified(c, &user.id, now)?;
        }
        email_tokens::void(c, &user.id, Purpose::Reset, now)?;
        sessions::delete_for_user(c, &user.id)?;
        tokens::revoke_for_user(
            c,
            &user.id,
            !m.config.accounts.reset_revokes_offline_grants,
            now,
        )?;
        outbox::enqueue(
            c,
            m.kek,
            &mail::password_changed(m.config, &user.email, &user.name)?,
            now,
        )?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::PasswordResetCompleted).subject(&user.id),
            now,
        )?;
        Ok(Reset::Done { user_id: user.id })
    })
}
