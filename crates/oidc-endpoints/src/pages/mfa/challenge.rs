//! The second step of a sign-in (a code from the app, a recovery code or a
//! passkey), and the sign-in with a passkey alone.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::mfa::{self, passkeys, Code, Refusal};
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity;
use web_kit::layout::Layout;
use web_kit::util::{local_path, render, see_other};

use super::{ceremony_json, complete, pending, unavailable_json, Pending};

#[derive(Template)]
#[template(path = "mfa_challenge.html")]
struct ChallengePage {
    layout: Layout,
    csrf: String,
    has_app: bool,
    has_passkey: bool,
    /// An application asked for a phishing-resistant sign-in.
    passkey_only: bool,
    /// A signed-in person stepping up (not a sign-in).
    step_up: bool,
    recovery_left: i64,
    /// Show the recovery-code form open (it was used, or there is no app).
    recovery_open: bool,
    error: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    recovery_code: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PasskeyForm {
    handle: String,
    response: String,
    next: String,
}

async fn page(
    ctx: &AppContext,
    session: &Session,
    p: &Pending,
    recovery_open: bool,
    error: Option<String>,
) -> Result<ChallengePage, PageError> {
    let uid = p.user_id.clone();
    let f = ctx.db(move |c| mfa::factors(c, &uid)).await?;
    Ok(ChallengePage {
        layout: Layout::anonymous("Two-step verification"),
        csrf: web_kit::csrf::token(session)?,
        has_app: f.totp.is_some() && !p.passkey_only(),
        has_passkey: !f.passkeys.is_empty(),
        passkey_only: p.passkey_only(),
        step_up: p.min_level > 0,
        recovery_left: f.recovery_codes_left,
        recovery_open: recovery_open || f.totp.is_none() && f.passkeys.is_empty(),
        error,
    })
}

pub async fn show(ctx: web::Data<AppContext>, session: Session) -> Result<HttpResponse, PageError> {
    let p = match pending(&session, ctx.now()) {
        Ok(p) if !p.enrol => p,
        Ok(_) => return Ok(see_other("/login/enrol")),
        Err(resp) => return Ok(*resp),
    };
    let page = page(&ctx, &session, &p, false, None).await?;
    Ok(render(StatusCode::OK, &page))
}

fn refusal_message(r: Refusal) -> (StatusCode, String) {
    match r {
        Refusal::Wrong => (
            StatusCode::UNAUTHORIZED,
            "That code is not right. Check your app (or the recovery code) and try again.".into(),
        ),
        Refusal::Replayed => (
            StatusCode::UNAUTHORIZED,
            "That code was just used. Wait for the next one in your app.".into(),
        ),
        Refusal::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            identity::throttled_message("this account", retry_after),
        ),
    }
}

/// A code from the app or a recovery code.
pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let p = match pending(&session, now) {
        Ok(p) if !p.enrol => p,
        Ok(_) => return Ok(see_other("/login/enrol")),
        Err(resp) => return Ok(*resp),
    };
    let form = form.into_inner();
    let recovery = !form.recovery_code.trim().is_empty();
    if p.passkey_only() {
        let msg = "This application asks you to confirm with your passkey.".to_string();
        let page = page(&ctx, &session, &p, false, Some(msg)).await?;
        return Ok(render(StatusCode::FORBIDDEN, &page));
    }
    let actor = auditing::meta(&req, None);
    let uid = p.user_id.clone();
    let step = p.step();
    let checked = ctx
        .call(move |core| {
            let code = if recovery {
                Code::Recovery(&form.recovery_code)
            } else {
                Code::Totp(&form.code)
            };
            mfa::verify_code(core, &actor, &uid, code, step, now)
        })
        .await?;
    match checked {
        Ok(factor) => complete(&session, &req, &p, factor.amr(), now),
        Err(r) => {
            let (status, msg) = refusal_message(r);
            let page = page(&ctx, &session, &p, recovery, Some(msg)).await?;
            let mut resp = render(status, &page);
            if let Refusal::Throttled { retry_after } = r {
                identity::retry_after(
                    &mut resp,
                    core_auth::signin::Refusal::Throttled { retry_after },
                );
            }
            Ok(resp)
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct StepUpQuery {
    level: u8,
    next: String,
}

/// An application asked for a stronger sign-in than the session's
/// (`acr_values`, or `acr` in the `claims` parameter): the signed-in
/// person is asked for a factor (a passkey for level 3), not to sign in
/// anew. Then the session goes on with the stronger methods.
pub async fn step_up(
    ctx: web::Data<AppContext>,
    session: Session,
    user: web_kit::identity::CurrentUser,
    q: web::Query<StepUpQuery>,
) -> Result<HttpResponse, PageError> {
    let p = Pending {
        user_id: user.id().to_string(),
        amr: user.amr.clone(),
        next: local_path(&q.next).unwrap_or_default(),
        started_at: ctx.now(),
        enrol: false,
        enrolled: None,
        min_level: q.level.clamp(2, 3),
        sid: None,
    };
    session
        .insert(super::PENDING, &p)
        .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
    Ok(see_other("/login/second-factor"))
}

/// The options to ask the pending account for one of its passkeys.
pub async fn passkey_options(
    ctx: web::Data<AppContext>,
    session: Session,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let Ok(p) = pending(&session, now) else {
        return Ok(unavailable_json("The sign-in expired. Start again."));
    };
    if let Err(why) = passkeys::availability(&ctx.config) {
        return Ok(unavailable_json(&why));
    }
    let uid = p.user_id.clone();
    match ctx
        .call(move |core| passkeys::begin_for_account(core, &uid, now))
        .await?
    {
        Some(ch) => Ok(ceremony_json(&ch)),
        None => Ok(unavailable_json("This account has no passkey.")),
    }
}

fn passkey_message(r: passkeys::Refusal) -> (StatusCode, String) {
    match r {
        passkeys::Refusal::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            identity::throttled_message("this account", retry_after),
        ),
        passkeys::Refusal::Disabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled. Contact your administrator if you think this is a mistake."
                .into(),
        ),
        passkeys::Refusal::Expired => (
            StatusCode::UNAUTHORIZED,
            "The passkey request expired. Try again.".into(),
        ),
        passkeys::Refusal::Invalid | passkeys::Refusal::UnknownPasskey => (
            StatusCode::UNAUTHORIZED,
            "That passkey could not be verified for this account.".into(),
        ),
    }
}

/// The browser's answer to the passkey request of the second step.
pub async fn passkey_submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<PasskeyForm>,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let p = match pending(&session, now) {
        Ok(p) if !p.enrol => p,
        Ok(_) => return Ok(see_other("/login/enrol")),
        Err(resp) => return Ok(*resp),
    };
    let form = form.into_inner();
    let actor = auditing::meta(&req, None);
    let uid = p.user_id.clone();
    let step = p.step();
    let checked = ctx
        .call(move |core| {
            passkeys::finish_for_account(
                core,
                &actor,
                &uid,
                &form.handle,
                &form.response,
                step,
                now,
            )
        })
        .await?;
    match checked {
        Ok(method) => complete(&session, &req, &p, method, now),
        Err(r) => {
            let (status, msg) = passkey_message(r);
            let page = page(&ctx, &session, &p, false, Some(msg)).await?;
            Ok(render(status, &page))
        }
    }
}

/// The options for a sign-in with any passkey (the sign-in page's button
/// and autofill).
pub async fn sign_in_options(ctx: web::Data<AppContext>) -> Result<HttpResponse, PageError> {
    if let Err(why) = passkeys::availability(&ctx.config) {
        return Ok(unavailable_json(&why));
    }
    let now = ctx.now();
    let ch = ctx
        .call(move |core| passkeys::begin_sign_in(core, now))
        .await?;
    Ok(ceremony_json(&ch))
}

/// A sign-in with a passkey alone: it verifies the person (PIN or
/// biometric) and is bound to the device, so no password and no second
/// factor are asked. A failure goes back to the sign-in page.
pub async fn sign_in_submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<PasskeyForm>,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let form = form.into_inner();
    let next = local_path(&form.next).unwrap_or_default();
    let actor = auditing::meta(&req, None);
    let checked = ctx
        .call(move |core| passkeys::finish_sign_in(core, &actor, &form.handle, &form.response, now))
        .await?;
    match checked {
        Ok((user, method)) => {
            ctx.metrics.sign_in("success");
            session.remove(super::PENDING);
            identity::sign_in(
                &session,
                &req,
                &user.id,
                &identity::new_sid(),
                now,
                &[method, "mfa"],
            )?;
            Ok(see_other(super::destination(&next)))
        }
        Err(r) => {
            ctx.metrics.sign_in(r.reason());
            let mut to = String::from("/login?passkey_failed=1");
            if !next.is_empty() {
                to.push_str("&next=");
                to.push_str(&web_kit::util::urlencode(&next));
            }
            Ok(see_other(&to))
        }
    }
}
