//! /account/two-factor: the person's own second factors. They see their
//! authenticator app, passkeys (name, added, last used) and how many
//! recovery codes are left; they add, rename and remove them, and make a
//! new set of recovery codes. Every change needs a sign-in within the last
//! ten minutes (someone who found an open session cannot add their own
//! passkey or remove the owner's); otherwise the page asks to sign in again.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::error::ValidationErrors;
use core_auth::mfa::{self, passkeys, recovery, totp, Factors};
use core_auth::CoreError;
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::CurrentUser;
use web_kit::layout::{human_date, Layout};
use web_kit::util::{render, see_other};

use super::enrol::RecoveryCodesPage;
use super::{ceremony_json, unavailable_json};

/// How recent a sign-in must be to change second factors.
const RECENT_SECS: i64 = 600;
const HERE: &str = "/account/two-factor";

#[derive(Template)]
#[template(path = "mfa_settings.html")]
struct SettingsPage {
    layout: Layout,
    f: Factors,
    recent: bool,
    required: bool,
    passkeys_unavailable: Option<String>,
    notice: Option<String>,
    errors: ValidationErrors,
}

impl SettingsPage {
    fn date(&self, t: &i64) -> String {
        human_date(*t)
    }

    fn last_used(&self, t: &Option<i64>) -> String {
        t.map(human_date).unwrap_or_else(|| "never".into())
    }
}

#[derive(Template)]
#[template(path = "mfa_app_setup.html")]
struct AppSetupPage {
    layout: Layout,
    secret: String,
    uri: String,
    qr_svg: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NoticeQuery {
    done: String,
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

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NameForm {
    name: String,
}

fn recent(ctx: &AppContext, user: &CurrentUser) -> bool {
    ctx.now() - user.auth_time <= RECENT_SECS
}

/// Sends someone whose sign-in is too old to sign in again first.
fn confirm_first() -> HttpResponse {
    see_other("/login?prompt=login&next=%2Faccount%2Ftwo-factor")
}

fn notice_for(done: &str) -> Option<String> {
    Some(
        match done {
            "app" => "Your authenticator app is set up.",
            "app_removed" => "The authenticator app was removed.",
            "passkey" => "Your passkey was added.",
            "renamed" => "The passkey was renamed.",
            "passkey_removed" => "The passkey was removed.",
            _ => return None,
        }
        .to_string(),
    )
}

async fn settings_page(
    ctx: &AppContext,
    user: &CurrentUser,
    session: &Session,
    notice: Option<String>,
    errors: ValidationErrors,
) -> Result<SettingsPage, PageError> {
    let uid = user.id().to_string();
    let config = ctx.config.clone();
    let (f, required) = ctx
        .db(move |c| {
            Ok((
                mfa::factors(c, &uid)?,
                mfa::policy::required(c, &config, &uid)?,
            ))
        })
        .await?;
    Ok(SettingsPage {
        layout: Layout::for_user(
            "Two-step verification",
            user,
            &web_kit::csrf::token(session)?,
        ),
        f,
        recent: recent(ctx, user),
        required,
        passkeys_unavailable: passkeys::availability(&ctx.config).err(),
        notice,
        errors,
    })
}

pub async fn show(
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, PageError> {
    let page = settings_page(
        &ctx,
        &user,
        &session,
        notice_for(&q.done),
        ValidationErrors::default(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// Shows a refused change on the page, with the rule's message.
async fn refused(
    ctx: &AppContext,
    user: &CurrentUser,
    session: &Session,
    e: CoreError,
) -> Result<HttpResponse, PageError> {
    match e {
        CoreError::Validation(v) => {
            let page = settings_page(ctx, user, session, None, v).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        CoreError::NotFound(_) => Err(PageError::NotFound),
        e => Err(e.into()),
    }
}

async fn app_page(
    ctx: &AppContext,
    user: &CurrentUser,
    session: &Session,
    error: Option<String>,
) -> Result<Result<AppSetupPage, CoreError>, PageError> {
    let now = ctx.now();
    let uid = user.id().to_string();
    let e = match ctx.call(move |core| totp::enrolment(core, &uid, now)).await {
        Ok(e) => e,
        Err(e @ CoreError::Validation(_)) => return Ok(Err(e)),
        Err(e) => return Err(e.into()),
    };
    Ok(Ok(AppSetupPage {
        layout: Layout::for_user(
            "Set up an authenticator app",
            user,
            &web_kit::csrf::token(session)?,
        ),
        secret: e.secret.into_inner(),
        uri: e.uri.into_inner(),
        qr_svg: e.qr_svg,
        error,
    }))
}

pub async fn app_show(
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
) -> Result<HttpResponse, PageError> {
    if !recent(&ctx, &user) {
        return Ok(confirm_first());
    }
    match app_page(&ctx, &user, &session, None).await? {
        Ok(page) => Ok(render(StatusCode::OK, &page)),
        Err(e) => refused(&ctx, &user, &session, e).await,
    }
}

/// Shows the new recovery codes once, or goes back to the page.
fn codes_or_back(
    user: &CurrentUser,
    session: &Session,
    codes: Option<core_auth::mfa::NewRecoveryCodes>,
    done: &str,
) -> Result<HttpResponse, PageError> {
    match codes {
        Some(codes) => {
            let csrf = web_kit::csrf::token(session)?;
            let layout = Layout::for_user("Your recovery codes", user, &csrf);
            let page = RecoveryCodesPage::new(layout, csrf, codes, None);
            Ok(render(StatusCode::OK, &page))
        }
        None => Ok(see_other(&format!("{HERE}?done={done}"))),
    }
}

pub async fn app_confirm(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
    form: Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    if !recent(&ctx, &user) {
        return Ok(confirm_first());
    }
    let now = ctx.now();
    let actor = auditing::meta(&req, Some(&user));
    let uid = user.id().to_string();
    let code = form.into_inner().code;
    match ctx
        .call(move |core| totp::confirm(core, &actor, &uid, &code, now))
        .await
    {
        Ok(Ok(codes)) => codes_or_back(&user, &session, codes, "app"),
        Ok(Err(_)) => {
            let msg = "That code is not right. Check the time on your phone and enter the code the app shows now.";
            match app_page(&ctx, &user, &session, Some(msg.into())).await? {
                Ok(page) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page)),
                Err(e) => refused(&ctx, &user, &session, e).await,
            }
        }
        Err(e) => refused(&ctx, &user, &session, e).await,
    }
}

/// A change of the person's own factors that goes back to the page with
/// a notice (`done`): a recent sign-in first, then the use case `f` with
/// the actor and the account; a refusal shows the page with its message.
async fn change<F>(
    req: &HttpRequest,
    ctx: &AppContext,
    user: &CurrentUser,
    session: &Session,
    done: &str,
    f: F,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce(&core_auth::Core<'_>, &core_auth::actor::Actor, &str, i64) -> Result<(), CoreError>
        + Send
        + 'static,
{
    if !recent(ctx, user) {
        return Ok(confirm_first());
    }
    let now = ctx.now();
    let actor = auditing::meta(req, Some(user));
    let uid = user.id().to_string();
    match ctx.call(move |core| f(core, &actor, &uid, now)).await {
        Ok(()) => Ok(see_other(&format!("{HERE}?done={done}"))),
        Err(e) => refused(ctx, user, session, e).await,
    }
}

pub async fn app_remove(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
) -> Result<HttpResponse, PageError> {
    change(
        &req,
        &ctx,
        &user,
        &session,
        "app_removed",
        |core, actor, uid, now| totp::remove(core, actor, uid, now).map(|_| ()),
    )
    .await
}

pub async fn recovery_codes(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
) -> Result<HttpResponse, PageError> {
    if !recent(&ctx, &user) {
        return Ok(confirm_first());
    }
    let now = ctx.now();
    let actor = auditing::meta(&req, Some(&user));
    let uid = user.id().to_string();
    match ctx
        .call(move |core| recovery::regenerate(core, &actor, &uid, now))
        .await
    {
        Ok(codes) => codes_or_back(&user, &session, Some(codes), ""),
        Err(e) => refused(&ctx, &user, &session, e).await,
    }
}

pub async fn passkey_options(
    ctx: web::Data<AppContext>,
    user: CurrentUser,
) -> Result<HttpResponse, PageError> {
    if !recent(&ctx, &user) {
        return Ok(unavailable_json("Sign in again to add a passkey."));
    }
    if let Err(why) = passkeys::availability(&ctx.config) {
        return Ok(unavailable_json(&why));
    }
    let now = ctx.now();
    let uid = user.id().to_string();
    let ch = ctx
        .call(move |core| passkeys::begin_registration(core, &uid, now))
        .await?;
    Ok(ceremony_json(&ch))
}

pub async fn passkey_add(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
    form: Form<PasskeyForm>,
) -> Result<HttpResponse, PageError> {
    if !recent(&ctx, &user) {
        return Ok(confirm_first());
    }
    let now = ctx.now();
    let form = form.into_inner();
    let actor = auditing::meta(&req, Some(&user));
    let uid = user.id().to_string();
    let done = ctx
        .call(move |core| {
            passkeys::finish_registration(
                core,
                &actor,
                &uid,
                &form.handle,
                &form.name,
                &form.response,
                now,
            )
        })
        .await;
    match done {
        Ok(Ok(codes)) => codes_or_back(&user, &session, codes, "passkey"),
        Ok(Err(_)) => {
            let mut v = ValidationErrors::default();
            v.add(
                "passkey",
                "The passkey could not be added (the request expired or the device's answer did not verify). Try again.",
            );
            refused(&ctx, &user, &session, CoreError::Validation(v)).await
        }
        Err(e) => refused(&ctx, &user, &session, e).await,
    }
}

pub async fn passkey_rename(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
    id: web::Path<String>,
    form: Form<NameForm>,
) -> Result<HttpResponse, PageError> {
    let (id, name) = (id.into_inner(), form.into_inner().name);
    change(
        &req,
        &ctx,
        &user,
        &session,
        "renamed",
        move |core, actor, uid, now| passkeys::rename(core, actor, uid, &id, &name, now),
    )
    .await
}

pub async fn passkey_remove(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    user: CurrentUser,
    session: Session,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    change(
        &req,
        &ctx,
        &user,
        &session,
        "passkey_removed",
        move |core, actor, uid, now| passkeys::remove(core, actor, uid, &id, now),
    )
    .await
}
