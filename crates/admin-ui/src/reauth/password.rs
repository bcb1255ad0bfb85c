//! The first step of a re-authentication: the administrator's password,
//! throttled and audited like a sign-in (`core_auth::signin::reauthenticate`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use core_auth::mfa;
use core_auth::sessions::keys;
use core_auth::signin::{self, Refusal};
use core_auth::Secret;
use web_kit::identity::CurrentUser;
use web_kit::ratelimit::Group;
use web_kit::util::client_addr;
use web_kit::{auditing, AppContext, PageError};

use super::factor;

/// What a right password leads to.
pub(super) enum Passed {
    /// Confirmed: the session's `auth_time` is now this.
    Confirmed(i64),
    /// The account has a second factor: it is asked next.
    FactorNext,
}

pub(super) fn minutes(secs: i64) -> String {
    let m = (secs + 59) / 60;
    format!("{m} minute{}", if m == 1 { "" } else { "s" })
}

/// The per-IP sign-in limit, shared by both steps: `Some` when over it.
pub(super) fn ip_limited(req: &HttpRequest, ctx: &AppContext) -> Option<(StatusCode, String)> {
    let ip = client_addr(req)?;
    let wait = ctx.limits.check(Group::SignIn, ip).err()?;
    ctx.metrics.rate_limited(Group::SignIn.name());
    Some((
        StatusCode::TOO_MANY_REQUESTS,
        format!("Too many attempts from your network. Try again in {wait} seconds."),
    ))
}

/// Checks `password` as the administrator's, against the per-IP sign-in
/// limit and the account's throttle. Right, for an account without a
/// second factor: the session's `auth_time` becomes now. Right, for an
/// account with one: the second step starts ([`factor::begin`]).
/// Refused: the status and message to show.
pub(super) async fn confirm(
    req: &HttpRequest,
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    password: &str,
) -> Result<Result<Passed, (StatusCode, String)>, PageError> {
    if let Some(limited) = ip_limited(req, ctx) {
        return Ok(Err(limited));
    }
    let actor = auditing::meta(req, Some(admin));
    let secret = Secret::new(password.to_string());
    let now = ctx.now();
    let checked = ctx
        .call(move |core| signin::reauthenticate(core, &actor, &secret, now))
        .await?;
    Ok(match checked {
        Ok(_) => {
            let uid = admin.id().to_string();
            let has_factor = ctx.db(move |c| mfa::factors(c, &uid)).await?.any();
            if has_factor {
                factor::begin(session, admin.id(), now)?;
                Ok(Passed::FactorNext)
            } else {
                session
                    .insert(keys::AUTH_TIME, now)
                    .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
                Ok(Passed::Confirmed(now))
            }
        }
        Err(Refusal::Throttled { retry_after }) => Err((
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many wrong passwords for your account. For your security, try again in {}.",
                minutes(retry_after)
            ),
        )),
        Err(Refusal::Wrong | Refusal::Disabled) => Err((
            StatusCode::UNAUTHORIZED,
            "That password is not right.".to_string(),
        )),
    })
}
