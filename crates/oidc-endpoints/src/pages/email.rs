//! Pages behind the mailed links: verification, forgotten password, reset.
//! None of them tells whether an address has an account.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::accounts::{self, Resend, Reset, Verify};
use core_auth::secret::Secret;
use core_auth::CoreError;
use serde::Deserialize;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::CurrentUser;
use web_kit::layout::Layout;
use web_kit::util::{local_path, render, see_other, urlencode};

#[derive(Template)]
#[template(path = "notice.html")]
pub struct Notice {
    pub layout: Layout,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub link: Option<(String, String)>,
    pub primary: bool,
}

pub fn notice(
    status: StatusCode,
    heading: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> HttpResponse {
    render(
        status,
        &Notice {
            layout: Layout::anonymous(heading),
            heading: heading.to_string(),
            paragraphs: paragraphs.iter().map(|p| p.to_string()).collect(),
            link: link.map(|(l, h)| (l.to_string(), h.to_string())),
            primary: true,
        },
    )
}

/// "Check your inbox": what registration answers, whoever the address
/// belongs to.
pub fn check_inbox(email: &str, next: &str) -> HttpResponse {
    let sign_in = if next.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?next={}", urlencode(next))
    };
    let first =
        format!("We've sent a message to {email}. Follow the link in it to confirm your address.");
    notice(
        StatusCode::OK,
        "Check your inbox",
        &[
            &first,
            "It can take a minute to arrive; look in your spam folder too. Then sign in.",
        ],
        Some(("Sign in", &sign_in)),
    )
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

/// `GET /verify-email?token=…`: verifies the address (or completes an email
/// change). Works once.
pub async fn verify(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let (token, now) = (q.token.clone(), ctx.now());
    let actor = web_kit::auditing::meta(&req, None);
    let outcome = ctx
        .call(move |core| accounts::verify(core, &actor, &token, now))
        .await?;
    Ok(match outcome {
        Verify::Verified { .. } => notice(StatusCode::OK, "Email address confirmed", &["Thank you: your email address is verified."], Some(("Continue", "/account"))),
        Verify::EmailChanged { .. } => notice(StatusCode::OK, "Email address changed", &["Your account now uses your new email address."], Some(("Continue", "/account"))),
        Verify::Taken => notice(
            StatusCode::CONFLICT,
            "Address already in use",
            &["Another account now uses this address, so your address was not changed."],
            Some(("Back to your account", "/account")),
        ),
        Verify::Invalid => notice(
            StatusCode::GONE,
            "This link no longer works",
            &["The link has expired, was already used, or was replaced by a newer one. Sign in and ask for a new link from your account page."],
            Some(("Sign in", "/login")),
        ),
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ResendForm {
    csrf_token: String,
    next: String,
}

/// `POST /verify-email/resend`: a new link for the signed-in user.
pub async fn resend(
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    form: Form<ResendForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let (uid, now) = (user.id().to_string(), ctx.now());
    let r = ctx
        .run(move |ctx| accounts::resend_verification(&ctx.pool, ctx.mailer(), &uid, now))
        .await?;
    let flag = match r {
        Resend::Sent => "sent",
        Resend::TooSoon => "wait",
        Resend::AlreadyVerified => "verified",
    };
    let back = local_path(&form.next).unwrap_or_else(|| "/account".into());
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{back}{sep}verification={flag}")))
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    layout: Layout,
    csrf: String,
    email: String,
    error: Option<String>,
}

pub async fn forgot_show(session: Session) -> Result<HttpResponse, PageError> {
    let page = ForgotPage {
        layout: Layout::anonymous("Forgot your password?"),
        csrf: csrf::token(&session)?,
        email: String::new(),
        error: None,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    csrf_token: String,
    email: String,
}

/// `POST /forgot-password`: the same answer, in the same time, for every
/// well-formed address.
pub async fn forgot_submit(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<ForgotForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    if core_auth::users::normalize_email(&form.email).is_err() {
        let page = ForgotPage {
            layout: Layout::anonymous("Forgot your password?"),
            csrf: csrf::token(&session)?,
            email: form.email.chars().take(254).collect(),
            error: Some("Enter a valid email address, like name@example.com.".into()),
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let (email, now) = (form.email.clone(), ctx.now());
    let meta = web_kit::auditing::meta(&req, None);
    let r = ctx
        .run(move |ctx| accounts::request_reset(&ctx.pool, ctx.mailer(), &email, &meta, now))
        .await?;
    if let accounts::ResetRequest::Throttled(wait) = r {
        return Err(PageError::TooManyRequests {
            retry_after: u64::try_from(wait).unwrap_or(1),
        });
    }
    let first = format!(
        "If {} has an account, we've sent it a link to choose a new password.",
        form.email.trim()
    );
    Ok(notice(
        StatusCode::OK,
        "Check your inbox",
        &[
            &first,
            "The link works for a limited time and only once. Look in your spam folder too.",
        ],
        Some(("Back to sign in", "/login")),
    ))
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    layout: Layout,
    csrf: String,
    token: String,
    email: String,
    error: Option<String>,
    min_length: usize,
    max_length: usize,
}

fn link_expired() -> HttpResponse {
    notice(
        StatusCode::GONE,
        "This link no longer works",
        &["The link has expired, was already used, or was replaced by a newer one."],
        Some(("Ask for a new link", "/forgot-password")),
    )
}

/// `GET /reset-password?token=…`: the form, if the link still works. The
/// link is used up only when the new password is set.
pub async fn reset_show(
    ctx: web::Data<AppContext>,
    session: Session,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, PageError> {
    let (token, now) = (q.token.clone(), ctx.now());
    let row = ctx
        .run(move |ctx| accounts::check_reset_link(&ctx.pool, &token, now))
        .await?;
    let Some(row) = row else {
        return Ok(link_expired());
    };
    let page = ResetPage {
        layout: Layout::anonymous("Choose a new password"),
        csrf: csrf::token(&session)?,
        token: q.token.clone(),
        email: row.email,
        error: None,
        min_length: ctx.config.password.min_length,
        max_length: ctx.config.password.max_length,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    csrf_token: String,
    token: String,
    password: Secret,
}

pub async fn reset_submit(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<ResetForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    let (token, password, now) = (form.token.clone(), form.password, ctx.now());
    let actor = web_kit::auditing::meta(&req, None);
    let result = ctx
        .call(move |core| accounts::reset_password(core, &actor, &token, &password, now))
        .await;
    match result {
        Ok(Reset::Done { .. }) => {
            // This browser's session (if any) was one of those ended.
            session.purge();
            Ok(notice(
                StatusCode::OK,
                "Password changed",
                &["Your new password is set. Every session was signed out; sign in with the new password."],
                Some(("Sign in", "/login")),
            ))
        }
        Ok(Reset::InvalidLink) => Ok(link_expired()),
        Err(CoreError::Validation(v)) => {
            let (token, now) = (form.token.clone(), ctx.now());
            let row = ctx
                .run(move |ctx| accounts::check_reset_link(&ctx.pool, &token, now))
                .await?;
            let Some(row) = row else {
                return Ok(link_expired());
            };
            let page = ResetPage {
                layout: Layout::anonymous("Choose a new password"),
                csrf: csrf::token(&session)?,
                token: form.token,
                email: row.email,
                error: v.get("password").map(str::to_string),
                min_length: ctx.config.password.min_length,
                max_length: ctx.config.password.max_length,
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}
