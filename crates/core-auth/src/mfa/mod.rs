//! Second factors: one-time codes from an authenticator app (`totp`),
//! passkeys and security keys (`passkeys`, WebAuthn), and recovery codes
//! (`recovery`). What an account has, whether it must have one
//! (`mfa.required_for_roles`, an administrator's flag), and the check of a
//! second factor after the first, with the per-account throttle and the
//! audit row in one transaction.
//!
//! How the factors show in tokens (`amr`, `acr`) is [`Strength`].

pub mod passkeys;
pub mod policy;
pub mod recovery;
pub mod totp;

mod ceremonies;

use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, Event, EventKind, Outcome};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::service::Core;
use crate::throttle::{self, Kind, Rule};
use crate::users;

pub use policy::{after_first_factor, Next};

/// A kind of second factor, named as in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Totp,
    Passkey,
    RecoveryCode,
}

impl Factor {
    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Totp => "totp",
            Factor::Passkey => "passkey",
            Factor::RecoveryCode => "recovery_code",
        }
    }

    /// Its RFC 8176 authentication method reference.
    pub fn amr(self) -> &'static str {
        match self {
            Factor::Totp => "otp",
            // A passkey asks for user verification (PIN or biometric) and
            // is bound to hardware or a platform keychain.
            Factor::Passkey => "hwk",
            Factor::RecoveryCode => "otp",
        }
    }
}

/// Why a second factor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not the right code (or no such code).
    Wrong,
    /// The code of a time step already used (RFC 6238 §5.2).
    Replayed,
    /// Too many failures for this account: try again in this many seconds.
    Throttled { retry_after: i64 },
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Wrong => "wrong_code",
            Refusal::Replayed => "replayed",
            Refusal::Throttled { .. } => "throttled",
        }
    }
}

/// Where a second factor is being asked for (the audit row's `step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SignIn,
    Reauth,
    StepUp,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::SignIn => "sign_in",
            Step::Reauth => "reauth",
            Step::StepUp => "step_up",
        }
    }
}

/// What an account has, for its security page and the sign-in's choice.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Factors {
    pub totp: Option<totp::TotpInfo>,
    pub passkeys: Vec<passkeys::PasskeyInfo>,
    pub recovery_codes_left: i64,
}

impl Factors {
    /// True when the account has a factor that can be asked for after the
    /// password (recovery codes alone do not count: they back a factor up).
    pub fn any(&self) -> bool {
        self.totp.is_some() || !self.passkeys.is_empty()
    }
}

/// The account's factors (an unconfirmed authenticator app does not count).
pub fn factors(conn: &mut DbConn, user_id: &str) -> CoreResult<Factors> {
    Ok(Factors {
        totp: totp::info(conn, user_id)?,
        passkeys: passkeys::list(conn, user_id)?,
        recovery_codes_left: recovery::remaining(conn, user_id)?,
    })
}

/// A code typed after the password: from the authenticator app or one of
/// the recovery codes.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Totp(&'a str),
    Recovery(&'a str),
}

/// Checks a typed second factor of `user_id`. Refused at once while the
/// account's sign-in throttle is over its limit; a wrong code counts
/// against that throttle like a wrong password; a right one clears it.
/// The audit row (`second_factor`) is written in the same transaction as
/// the code's use and the throttle's change.
pub fn verify_code(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    code: Code<'_>,
    step: Step,
    now: UnixTime,
) -> CoreResult<Result<Factor, Refusal>> {
    let mut conn = core.conn()?;
    let user = users::find_by_id(&mut conn, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let rule = Rule::sign_in(&core.config.throttle);
    let factor = match code {
        Code::Totp(_) => Factor::Totp,
        Code::Recovery(_) => Factor::RecoveryCode,
    };
    let base = |outcome: Outcome| {
        Event::new(EventKind::SecondFactor, outcome)
            .with("factor", factor.as_str())
            .with("step", step.as_str())
            .subject(&user.id)
    };
    if let Some(wait) = throttle::retry_after(&mut conn, Kind::SignIn, &user.email, rule, now)? {
        audit::record(
            &mut conn,
            actor,
            base(Outcome::Failure).with("reason", "throttled"),
            now,
        )?;
        return Ok(Err(Refusal::Throttled { retry_after: wait }));
    }
    let kek = core.kek();
    write_tx(&mut conn, |c| {
        let checked = match code {
            Code::Totp(t) => totp::check(c, kek, &user.id, t, now)?,
            Code::Recovery(r) => recovery::redeem(c, &user.id, r, now)?,
        };
        match checked {
            Ok(()) => {
                throttle::clear(c, Kind::SignIn, &user.email)?;
                let mut e = base(Outcome::Success);
                if factor == Factor::RecoveryCode {
                    e = e.with("recovery_codes_left", recovery::remaining(c, &user.id)?);
                }
                audit::record(c, actor, e, now)?;
                Ok(Ok(factor))
            }
            Err(refusal) => {
                let count = throttle::hit(c, Kind::SignIn, &user.email, rule, now)?;
                audit::record(
                    c,
                    actor,
                    base(Outcome::Failure)
                        .with("reason", refusal.reason())
                        .with("failures_in_window", count),
                    now,
                )?;
                if count == rule.max {
                    audit::record(
                        c,
                        actor,
                        Event::new(EventKind::Throttled, Outcome::Denied)
                            .with("kind", "sign_in")
                            .subject(&user.id),
                        now,
                    )?;
                }
                Ok(Err(refusal))
            }
        }
    })
}

/// The one-time codes a person reads once: recovery codes, shown when the
/// first factor is added or when regenerated.
#[derive(Debug, Clone)]
pub struct NewRecoveryCodes(pub Vec<crate::secret::Secret>);
