//! The second step of a re-authentication, for an administrator whose
//! account has a second factor: after the right password, a code from the
//! authenticator app, a recovery code, or a passkey
//! (`core_auth::mfa::verify_code` and `core_auth::mfa::passkeys`, with
//! `Step::Reauth`: throttled with the account's sign-ins, audited as
//! `second_factor`). Only then does the session's `auth_time` move.
//!
//! Between the steps the session holds a [`Pending`] mark (whose account,
//! since when) for five minutes; a code without it is refused and the
//! password asked again.

use actix_session::Session;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::mfa::{self, passkeys, Code, Refusal, Step};
use core_auth::sessions::keys;
use serde::{Deserialize, Serialize};
use web_kit::identity::CurrentUser;
use web_kit::{auditing, AppContext, PageError};

use super::password::{ip_limited, minutes};
use super::{CODE_FIELD, PASSKEY_HANDLE, PASSKEY_RESPONSE, RECOVERY_FIELD};
use crate::fields::Fields;
use crate::guard::RequireAdmin;

/// The session key of a password step waiting for its second factor.
const PENDING: &str = "admin_reauth_factor";
/// How long the second step may take, in seconds.
const PENDING_SECS: i64 = 300;

#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    user_id: String,
    at: i64,
}

fn session_err(e: impl std::fmt::Display) -> PageError {
    PageError::BadRequest(format!("session: {e}"))
}

/// The password was right: the second factor is asked next.
pub(super) fn begin(session: &Session, user_id: &str, now: i64) -> Result<(), PageError> {
    session
        .insert(
            PENDING,
            Pending {
                user_id: user_id.to_string(),
                at: now,
            },
        )
        .map_err(session_err)
}

/// True while `user_id`'s password step waits for its second factor.
pub(super) fn pending(session: &Session, user_id: &str, now: i64) -> bool {
    session
        .get::<Pending>(PENDING)
        .ok()
        .flatten()
        .is_some_and(|p| p.user_id == user_id && now >= p.at && now - p.at <= PENDING_SECS)
}

/// A second factor as a form sends it.
pub(super) enum Proof {
    App(String),
    Recovery(String),
    Passkey { handle: String, response: String },
}

impl Proof {
    /// The second factor among the fields, if any. One code field takes
    /// both kinds: six digits are the app's, anything else a recovery code.
    pub(super) fn from_fields(f: &Fields) -> Option<Proof> {
        let recovery = f.get(RECOVERY_FIELD).trim();
        if !recovery.is_empty() {
            return Some(Proof::Recovery(recovery.to_string()));
        }
        let code = f.get(CODE_FIELD).trim();
        if !code.is_empty() {
            let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
            let app = digits.len() == 6 && digits.iter().all(char::is_ascii_digit);
            return Some(if app {
                Proof::App(code.to_string())
            } else {
                Proof::Recovery(code.to_string())
            });
        }
        let (handle, response) = (f.get(PASSKEY_HANDLE), f.get(PASSKEY_RESPONSE));
        if !handle.is_empty() && !response.is_empty() {
            return Some(Proof::Passkey {
                handle: handle.to_string(),
                response: response.to_string(),
            });
        }
        None
    }
}

fn code_refusal(r: Refusal) -> (StatusCode, String) {
    match r {
        Refusal::Wrong => (
            StatusCode::UNAUTHORIZED,
            "That code is not right. Check your app (or the recovery code) and try again.".into(),
        ),
        Refusal::Replayed => (
            StatusCode::UNAUTHORIZED,
            "That code was just used. Wait for the next one in your app.".into(),
        ),
        Refusal::Throttled { retry_after } => throttled(retry_after),
    }
}

fn passkey_refusal(r: passkeys::Refusal) -> (StatusCode, String) {
    match r {
        passkeys::Refusal::Throttled { retry_after } => throttled(retry_after),
        passkeys::Refusal::Expired => (
            StatusCode::UNAUTHORIZED,
            "The passkey request expired. Try again.".into(),
        ),
        passkeys::Refusal::Disabled
        | passkeys::Refusal::Invalid
        | passkeys::Refusal::UnknownPasskey => (
            StatusCode::UNAUTHORIZED,
            "That passkey could not be verified for your account.".into(),
        ),
    }
}

fn throttled(retry_after: i64) -> (StatusCode, String) {
    (
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "Too many failed attempts for your account. For your security, try again in {}.",
            minutes(retry_after)
        ),
    )
}

/// Checks the second factor after a right password (in this request or
/// within the last five minutes). Right: the session's `auth_time` becomes
/// now (returned). Refused: the status and message to show.
pub(super) async fn confirm(
    req: &HttpRequest,
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    proof: Proof,
) -> Result<Result<i64, (StatusCode, String)>, PageError> {
    if let Some(limited) = ip_limited(req, ctx) {
        return Ok(Err(limited));
    }
    let now = ctx.now();
    if !pending(session, admin.id(), now) {
        session.remove(PENDING);
        return Ok(Err((
            StatusCode::UNAUTHORIZED,
            "Enter your password again, then your second factor (the second step waits five minutes at most).".into(),
        )));
    }
    let actor = auditing::meta(req, Some(admin));
    let uid = admin.id().to_string();
    let checked = match proof {
        Proof::App(code) => ctx
            .call(move |core| {
                mfa::verify_code(core, &actor, &uid, Code::Totp(&code), Step::Reauth, now)
            })
            .await?
            .map(|_| ())
            .map_err(code_refusal),
        Proof::Recovery(code) => ctx
            .call(move |core| {
                mfa::verify_code(core, &actor, &uid, Code::Recovery(&code), Step::Reauth, now)
            })
            .await?
            .map(|_| ())
            .map_err(code_refusal),
        Proof::Passkey { handle, response } => ctx
            .call(move |core| {
                passkeys::finish_for_account(
                    core,
                    &actor,
                    &uid,
                    &handle,
                    &response,
                    Step::Reauth,
                    now,
                )
            })
            .await?
            .map(|_| ())
            .map_err(passkey_refusal),
    };
    Ok(match checked {
        Ok(()) => {
            session.remove(PENDING);
            session.insert(keys::AUTH_TIME, now).map_err(session_err)?;
            Ok(now)
        }
        Err(r) => Err(r),
    })
}

/// What the second step offers the administrator.
#[derive(Debug, Clone)]
pub struct Offer {
    pub has_app: bool,
    pub has_passkey: bool,
    pub recovery_left: i64,
}

impl Offer {
    /// A code can be typed (from the app, or a recovery code).
    pub fn takes_code(&self) -> bool {
        self.has_app || self.recovery_left > 0
    }
}

/// The administrator's factors as a second step would offer them; `None`
/// when the account has no second factor.
pub(super) async fn factors_of(
    ctx: &AppContext,
    admin: &CurrentUser,
) -> Result<Option<Offer>, PageError> {
    let uid = admin.id().to_string();
    let f = ctx.db(move |c| mfa::factors(c, &uid)).await?;
    Ok(f.any().then(|| Offer {
        has_app: f.totp.is_some(),
        has_passkey: !f.passkeys.is_empty(),
        recovery_left: f.recovery_codes_left,
    }))
}

fn json_refusal(why: &str) -> HttpResponse {
    HttpResponse::Conflict()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": why }))
}

/// `POST /admin/reauth/passkey/options`: the options to ask the signed-in
/// administrator for one of their passkeys, once the password step passed
/// (for `static/webauthn.js`).
pub async fn passkey_options(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    if !pending(&session, admin.id(), now) {
        return Ok(json_refusal(
            "Enter your password again first: the second step waits five minutes at most.",
        ));
    }
    if let Err(why) = passkeys::availability(&ctx.config) {
        return Ok(json_refusal(&why));
    }
    let uid = admin.id().to_string();
    match ctx
        .call(move |core| passkeys::begin_for_account(core, &uid, now))
        .await?
    {
        Some(ch) => Ok(HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "handle": ch.handle.expose(),
                "options": ch.options,
            }))),
        None => Ok(json_refusal("Your account has no passkey.")),
    }
}
