//! Proving who you are: the one password check that every face uses
//! (sign-in, re-authentication, account-link confirmation, password
//! change), with the per-account throttle and the audit rows.

use crate::audit::EventKind;
use serde_json::Value;

use crate::actor::Actor;
use crate::audit::{self, Event, Outcome};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::secret::Secret;
use crate::service::Core;
use crate::throttle::{self, Kind, Rule};
use crate::users::{self, User};

/// Why a password check did not let someone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown address or wrong password (indistinguishable).
    Wrong,
    /// The right password of a disabled account.
    Disabled,
    /// Too many failures for this account: try again in this many seconds.
    Throttled { retry_after: i64 },
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Wrong => "bad_credentials",
            Refusal::Disabled => "disabled",
            Refusal::Throttled { .. } => "throttled",
        }
    }
}

/// What a password check is for, and how its audit rows read.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: &'a Secret,
    /// The event of the audit rows (`sign_in`, `reauth`, ...).
    pub event: EventKind,
    /// Added to the detail of both the success and the failure rows.
    pub detail: Vec<(&'static str, Value)>,
}

fn with_detail(mut e: Event, detail: &[(&'static str, Value)]) -> Event {
    for (k, v) in detail {
        e = e.with(k, v.clone());
    }
    e
}

/// The one password check. A throttled account is refused before any
/// password is compared; an unknown address costs the same as a known one
/// (see [`users::authenticate`]); each failure counts against the
/// account's throttle, a success clears it. Every outcome has its audit
/// row, written in the same transaction as the throttle's change.
pub fn check_password(
    core: &Core<'_>,
    actor: &Actor,
    a: &Attempt<'_>,
    now: UnixTime,
) -> CoreResult<Result<User, Refusal>> {
    check_password_then(core, actor, a, now, |c, user| {
        audit::record(
            c,
            actor,
            with_detail(Event::success(a.event), &a.detail).subject(&user.id),
            now,
        )?;
        Ok(user.clone())
    })
}

/// The one password check ([`check_password`]: the same throttle, refusals
/// and failure rows) for a password asked before a change: on success,
/// `then` makes the change and writes its audit row (event `a.event`,
/// success) in the transaction that clears the throttle, so the change
/// and its row happen together or not at all. An error from `then` undoes
/// the whole transaction.
pub fn check_password_then<T>(
    core: &Core<'_>,
    actor: &Actor,
    a: &Attempt<'_>,
    now: UnixTime,
    then: impl FnOnce(&mut DbConn, &User) -> CoreResult<T>,
) -> CoreResult<Result<T, Refusal>> {
    let rule = Rule::sign_in(&core.config.throttle);
    {
        let mut conn = core.conn()?;
        if let Some(wait) = throttle::retry_after(&mut conn, Kind::SignIn, a.email, rule, now)? {
            let subject = users::find_by_email(&mut conn, a.email)?.map(|u| u.id);
            let mut e = with_detail(Event::failure(a.event), &a.detail).with("reason", "throttled");
            if let Some(s) = subject {
                e = e.subject(s);
            }
            audit::record(&mut conn, actor, e, now)?;
            return Ok(Err(Refusal::Throttled { retry_after: wait }));
        }
    }
    let result = users::authenticate(core.pool, core.passwords, a.email, a.password, now);
    let mut conn = core.conn()?;
    match result {
        Ok(user) => {
            let done = write_tx(&mut conn, |c| {
                throttle::clear(c, Kind::SignIn, a.email)?;
                then(c, &user)
            })?;
            Ok(Ok(done))
        }
        Err(e @ (CoreError::InvalidCredentials | CoreError::AccountDisabled)) => {
            let refusal = if matches!(e, CoreError::AccountDisabled) {
                Refusal::Disabled
            } else {
                Refusal::Wrong
            };
            write_tx(&mut conn, |c| {
                let count = throttle::hit(c, Kind::SignIn, a.email, rule, now)?;
                let mut ev = with_detail(Event::failure(a.event), &a.detail)
                    .with("reason", refusal.reason())
                    .with("failures_in_window", count);
                if let Some(u) = users::find_by_email(c, a.email)? {
                    ev = ev.subject(u.id);
                }
                audit::record(c, actor, ev, now)?;
                if count == rule.max {
                    audit::record(
                        c,
                        actor,
                        Event::new(EventKind::Throttled, Outcome::Denied).with("kind", "sign_in"),
                        now,
                    )?;
                }
                Ok::<_, CoreError>(())
            })?;
            Ok(Err(refusal))
        }
        Err(e) => Err(e),
    }
}

/// A signed-in person confirms who they are again (before a sensitive
/// action) with their password: the same check, throttle and audit as a
/// sign-in, as event `reauth`. Only the actor's own account counts.
pub fn reauthenticate(
    core: &Core<'_>,
    actor: &Actor,
    password: &Secret,
    now: UnixTime,
) -> CoreResult<Result<User, Refusal>> {
    let user_id = actor
        .actor_user_id
        .as_deref()
        .ok_or(CoreError::NotFound("user"))?;
    let user =
        users::find_by_id(&mut *core.conn()?, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let attempt = Attempt {
        email: &user.email,
        password,
        event: EventKind::AdminReauth,
        detail: vec![("method", "pwd".into())],
    };
    match check_password(core, actor, &attempt, now)? {
        Ok(u) if u.id == user.id => Ok(Ok(u)),
        Ok(_) => Ok(Err(Refusal::Wrong)),
        Err(r) => Ok(Err(r)),
    }
}

/// Signing in on the sign-in page: the password check as event `sign_in`,
/// method `pwd`. (The session, and its `session_started` row, are written
/// when the signed-in session is stored: `sessions::create`.)
pub fn with_password(
    core: &Core<'_>,
    actor: &Actor,
    email: &str,
    password: &Secret,
    now: UnixTime,
) -> CoreResult<Result<User, Refusal>> {
    let attempt = Attempt {
        email,
        password,
        event: EventKind::SignIn,
        detail: vec![("method", "pwd".into())],
    };
    check_password(core, actor, &attempt, now)
}
