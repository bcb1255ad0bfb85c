//! One-time codes from an authenticator app (RFC 6238): a 160-bit secret,
//! 30-second steps, 6 digits, HMAC-SHA-1 (what every app reads), one step
//! of drift either way. A code is accepted once: the step it matched is
//! remembered and that step or an earlier one is refused. The secret is
//! stored encrypted with the key-encryption key, bound to the account.
//!
//! Enrolment is two steps: [`begin`] makes a secret (shown as a QR code,
//! an `otpauth://` URI and as text), [`confirm`] turns it on with a first
//! right code.

use diesel::prelude::*;
use qrcode::render::svg;
use qrcode::QrCode;
use serde::Serialize;
use totp_rs::{Algorithm, Builder, Totp};

use super::{recovery, Factor, NewRecoveryCodes, Refusal};
use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::schema::mfa_totp;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::keys::kek::Kek;
use crate::secret::{random_bytes, Secret};
use crate::service::Core;
use crate::users;

const STEP_SECS: u64 = 30;
const DIGITS: u8 = 6;

/// An account's authenticator app, for its security page.
#[derive(Debug, Clone, Serialize)]
pub struct TotpInfo {
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// What the person needs to add the account to their app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: Secret,
    /// `otpauth://totp/...`: what the QR code holds.
    pub uri: Secret,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = mfa_totp)]
struct Row {
    user_id: String,
    secret_enc: String,
    confirmed_at: Option<UnixTime>,
    created_at: UnixTime,
    last_used_at: Option<UnixTime>,
}

fn aad(user_id: &str) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}

/// The name apps show above the code: `mfa.totp_issuer`, else the
/// issuer's host. A colon would break the URI's label, so none is kept.
fn issuer_name(core: &Core<'_>) -> String {
    let configured = core.config.mfa.totp_issuer.trim();
    let name = if configured.is_empty() {
        url::Url::parse(&core.config.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "Portcullis".into())
    } else {
        configured.to_owned()
    };
    name.replace(':', " ")
}

fn build(secret: Vec<u8>, issuer: Option<String>, account: &str) -> CoreResult<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .with_issuer(issuer)
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| CoreError::Crypto(format!("one-time code setup: {e}")))
}

fn load(conn: &mut DbConn, user_id: &str) -> CoreResult<Option<Row>> {
    Ok(mfa_totp::table
        .find(user_id)
        .select(Row::as_select())
        .get_result(conn)
        .optional()?)
}

/// The confirmed authenticator app of the account, if any.
pub fn info(conn: &mut DbConn, user_id: &str) -> CoreResult<Option<TotpInfo>> {
    Ok(load(conn, user_id)?
        .filter(|r| r.confirmed_at.is_some())
        .map(|r| TotpInfo {
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }))
}

fn already() -> CoreError {
    let mut v = ValidationErrors::default();
    v.add(
        "code",
        "An authenticator app is already set up. Remove it first to set up another.",
    );
    CoreError::Validation(v)
}

/// Starts adding an authenticator app: a new secret replaces any earlier
/// unconfirmed one. Nothing is asked for at sign-in until [`confirm`].
pub fn begin(core: &Core<'_>, user_id: &str, now: UnixTime) -> CoreResult<Enrolment> {
    let mut conn = core.conn()?;
    let user = users::find_by_id(&mut conn, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let secret = random_bytes::<20>().to_vec();
    let totp = build(secret.clone(), Some(issuer_name(core)), &user.email)?;
    let enc = core.kek().encrypt(&aad(&user.id), &secret)?;
    write_tx(&mut conn, |c| {
        if load(c, &user.id)?.is_some_and(|r| r.confirmed_at.is_some()) {
            return Err(already());
        }
        diesel::delete(mfa_totp::table.find(&user.id)).execute(c)?;
        diesel::insert_into(mfa_totp::table)
            .values((
                mfa_totp::user_id.eq(&user.id),
                mfa_totp::secret_enc.eq(&enc),
                mfa_totp::last_step.eq(0),
                mfa_totp::created_at.eq(now),
            ))
            .execute(c)?;
        Ok(())
    })?;
    let uri = totp
        .to_url()
        .map_err(|e| CoreError::Crypto(format!("one-time code URI: {e}")))?;
    Ok(Enrolment {
        secret: Secret::new(totp.secret().to_base32()),
        qr_svg: qr_svg(&uri)?,
        uri: Secret::new(uri),
    })
}

/// The app being set up (its secret decrypted again, so a page shown anew
/// after a wrong first code shows the same QR code), or a new one.
pub fn enrolment(core: &Core<'_>, user_id: &str, now: UnixTime) -> CoreResult<Enrolment> {
    let mut conn = core.conn()?;
    let user = users::find_by_id(&mut conn, user_id)?.ok_or(CoreError::NotFound("user"))?;
    match load(&mut conn, user_id)? {
        Some(row) if row.confirmed_at.is_none() => {
            let secret = core.kek().decrypt(&aad(&user.id), &row.secret_enc)?;
            let totp = build(secret, Some(issuer_name(core)), &user.email)?;
            let uri = totp
                .to_url()
                .map_err(|e| CoreError::Crypto(format!("one-time code URI: {e}")))?;
            Ok(Enrolment {
                secret: Secret::new(totp.secret().to_base32()),
                qr_svg: qr_svg(&uri)?,
                uri: Secret::new(uri),
            })
        }
        Some(_) => Err(already()),
        None => {
            drop(conn);
            begin(core, user_id, now)
        }
    }
}

/// An SVG QR code of `text`, sized for a phone's camera.
pub fn qr_svg(text: &str) -> CoreResult<String> {
    let code =
        QrCode::new(text.as_bytes()).map_err(|e| CoreError::Crypto(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Checks `code` against the account's app (confirmed or being set up)
/// and, when right, remembers its step so it cannot be used again. Runs
/// inside the caller's transaction.
pub(super) fn check(
    conn: &mut DbConn,
    kek: &Kek,
    user_id: &str,
    code: &str,
    now: UnixTime,
) -> CoreResult<Result<(), Refusal>> {
    let Some(row) = load(conn, user_id)? else {
        return Ok(Err(Refusal::Wrong));
    };
    let secret = kek.decrypt(&aad(&row.user_id), &row.secret_enc)?;
    let totp = build(secret, None, "account")?;
    let typed: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if typed.len() != usize::from(DIGITS) || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Err(Refusal::Wrong));
    }
    let Some(step) = u64::try_from(now)
        .ok()
        .and_then(|t| totp.check(&typed, t))
        .and_then(|s| i64::try_from(s).ok())
    else {
        return Ok(Err(Refusal::Wrong));
    };
    // One winner per step, on every node: only a step later than the last
    // accepted one moves it.
    let moved = diesel::update(
        mfa_totp::table
            .find(&row.user_id)
            .filter(mfa_totp::last_step.lt(step)),
    )
    .set((mfa_totp::last_step.eq(step), mfa_totp::last_used_at.eq(now)))
    .execute(conn)?;
    Ok(if moved == 1 {
        Ok(())
    } else {
        Err(Refusal::Replayed)
    })
}

/// Turns the app being set up on with its first right code. When it is the
/// account's first factor, recovery codes are made and returned (shown
/// once). Audited as `mfa_factor_added`.
pub fn confirm(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    code: &str,
    now: UnixTime,
) -> CoreResult<Result<Option<NewRecoveryCodes>, Refusal>> {
    let mut conn = core.conn()?;
    let kek = core.kek();
    write_tx(&mut conn, |c| {
        let Some(row) = load(c, user_id)? else {
            return Err(CoreError::NotFound("authenticator app being set up"));
        };
        if row.confirmed_at.is_some() {
            return Err(already());
        }
        if let Err(r) = check(c, kek, user_id, code, now)? {
            return Ok(Err(r));
        }
        let first = !super::factors(c, user_id)?.any();
        diesel::update(mfa_totp::table.find(user_id))
            .set(mfa_totp::confirmed_at.eq(now))
            .execute(c)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::FactorAdded)
                .with("factor", Factor::Totp.as_str())
                .subject(user_id),
            now,
        )?;
        let codes = if first && recovery::remaining(c, user_id)? == 0 {
            Some(recovery::replace(c, actor, user_id, now)?)
        } else {
            None
        };
        Ok(Ok(codes))
    })
}

/// Removes the account's app (confirmed or not). Audited when one was on.
pub fn remove(core: &Core<'_>, actor: &Actor, user_id: &str, now: UnixTime) -> CoreResult<bool> {
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        let was_on = load(c, user_id)?.is_some_and(|r| r.confirmed_at.is_some());
        if was_on {
            super::policy::may_remove_factor(c, core.config, actor, user_id)?;
        }
        diesel::delete(mfa_totp::table.find(user_id)).execute(c)?;
        if was_on {
            audit::record(
                c,
                actor,
                Event::success(EventKind::FactorRemoved)
                    .with("factor", Factor::Totp.as_str())
                    .subject(user_id),
                now,
            )?;
            super::policy::after_factor_removed(c, user_id)?;
        }
        Ok(was_on)
    })
}

/// The code an app would show at `now` for a base32 `secret` (tests and
/// the documentation's examples).
pub fn code_at(secret_base32: &str, now: UnixTime) -> Option<String> {
    let bytes = totp_rs::Secret::try_from_base32(secret_base32).ok()?;
    let totp = build(bytes.as_ref().to_vec(), None, "account").ok()?;
    Some(totp.generate(u64::try_from(now).ok()?).to_string())
}
