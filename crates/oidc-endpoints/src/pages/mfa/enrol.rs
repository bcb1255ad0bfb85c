//! Enrolment during a sign-in: an account that must have a second factor
//! (`mfa.required_for_roles`, or an administrator's flag) and has none
//! sets one up right after its first factor, before any session or code
//! is issued. Then it sees its recovery codes once and continues.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::mfa::{passkeys, totp, NewRecoveryCodes};
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};

use super::{ceremony_json, complete, pending, unavailable_json, Pending, PENDING};

#[derive(Template)]
#[template(path = "mfa_enrol.html")]
struct EnrolPage {
    layout: Layout,
    csrf: String,
    secret: String,
    uri: String,
    qr_svg: String,
    /// Why passkeys cannot be used here, if they cannot.
    passkeys_unavailable: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "mfa_recovery_codes.html")]
pub(super) struct RecoveryCodesPage {
    pub layout: Layout,
    pub csrf: String,
    pub codes: Vec<String>,
    /// Where "Continue" posts (the sign-in's last step), or `None` for a
    /// link back to the account's two-factor page.
    pub continue_action: Option<String>,
}

impl RecoveryCodesPage {
    pub fn new(
        layout: Layout,
        csrf: String,
        codes: NewRecoveryCodes,
        action: Option<&str>,
    ) -> Self {
        RecoveryCodesPage {
            layout,
            csrf,
            codes: codes.0.into_iter().map(|c| c.into_inner()).collect(),
            continue_action: action.map(str::to_string),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    code: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PasskeyForm {
    handle: String,
    response: String,
    name: String,
}

fn pending_enrolment(session: &Session, now: i64) -> Result<Pending, Box<HttpResponse>> {
    match pending(session, now) {
        Ok(p) if p.enrol => Ok(p),
        Ok(_) => Err(Box::new(see_other("/login/second-factor"))),
        Err(resp) => Err(resp),
    }
}

async fn page(
    ctx: &AppContext,
    session: &Session,
    p: &Pending,
    error: Option<String>,
) -> Result<EnrolPage, PageError> {
    let now = ctx.now();
    let uid = p.user_id.clone();
    let e = ctx
        .call(move |core| totp::enrolment(core, &uid, now))
        .await?;
    Ok(EnrolPage {
        layout: Layout::anonymous("Set up two-step verification"),
        csrf: web_kit::csrf::token(session)?,
        secret: e.secret.into_inner(),
        uri: e.uri.into_inner(),
        qr_svg: e.qr_svg,
        passkeys_unavailable: passkeys::availability(&ctx.config).err(),
        error,
    })
}

pub async fn show(ctx: web::Data<AppContext>, session: Session) -> Result<HttpResponse, PageError> {
    let p = match pending_enrolment(&session, ctx.now()) {
        Ok(p) => p,
        Err(resp) => return Ok(*resp),
    };
    if p.enrolled.is_some() {
        return Ok(see_other("/login/enrol/done"));
    }
    let page = page(&ctx, &session, &p, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Remembers that the factor is set up and shows the recovery codes.
fn enrolled(
    session: &Session,
    mut p: Pending,
    method: &str,
    codes: Option<NewRecoveryCodes>,
) -> Result<HttpResponse, PageError> {
    p.enrolled = Some(method.to_string());
    session
        .insert(PENDING, &p)
        .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
    let csrf = web_kit::csrf::token(session)?;
    match codes {
        Some(codes) => {
            let page = RecoveryCodesPage::new(
                Layout::anonymous("Your recovery codes"),
                csrf,
                codes,
                Some("/login/enrol/done"),
            );
            Ok(render(StatusCode::OK, &page))
        }
        None => Ok(see_other("/login/enrol/done")),
    }
}

pub async fn confirm_totp(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let p = match pending_enrolment(&session, now) {
        Ok(p) => p,
        Err(resp) => return Ok(*resp),
    };
    let actor = auditing::meta(&req, None);
    let uid = p.user_id.clone();
    let code = form.into_inner().code;
    let done = ctx
        .call(move |core| totp::confirm(core, &actor, &uid, &code, now))
        .await?;
    match done {
        Ok(codes) => enrolled(&session, p, "otp", codes),
        Err(_) => {
            let msg = "That code is not right. Check the time on your phone and enter the code the app shows now.";
            let page = page(&ctx, &session, &p, Some(msg.into())).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

pub async fn passkey_options(
    ctx: web::Data<AppContext>,
    session: Session,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let Ok(p) = pending_enrolment(&session, now) else {
        return Ok(unavailable_json("The sign-in expired. Start again."));
    };
    if let Err(why) = passkeys::availability(&ctx.config) {
        return Ok(unavailable_json(&why));
    }
    let uid = p.user_id.clone();
    let ch = ctx
        .call(move |core| passkeys::begin_registration(core, &uid, now))
        .await?;
    Ok(ceremony_json(&ch))
}

pub async fn passkey_submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<PasskeyForm>,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let p = match pending_enrolment(&session, now) {
        Ok(p) => p,
        Err(resp) => return Ok(*resp),
    };
    let form = form.into_inner();
    let actor = auditing::meta(&req, None);
    let uid = p.user_id.clone();
    let name = if form.name.trim().is_empty() {
        "Passkey".to_string()
    } else {
        form.name
    };
    let done = ctx
        .call(move |core| {
            passkeys::finish_registration(
                core,
                &actor,
                &uid,
                &form.handle,
                &name,
                &form.response,
                now,
            )
        })
        .await;
    match done {
        Ok(Ok(codes)) => enrolled(&session, p, "hwk", codes),
        Ok(Err(_)) | Err(core_auth::CoreError::Validation(_)) => {
            let msg = "The passkey could not be added. Try again, or use an authenticator app.";
            let page = page(&ctx, &session, &p, Some(msg.into())).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// The last step: the factor is set up, the codes were shown.
pub async fn done(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let p = match pending_enrolment(&session, now) {
        Ok(p) => p,
        Err(resp) => return Ok(*resp),
    };
    let Some(method) = p.enrolled.clone() else {
        return Ok(see_other("/login/enrol"));
    };
    complete(&session, &req, &p, &method, now)
}
