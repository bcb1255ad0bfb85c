//! Changing the password and the email address (both need the password).
//! An account without a password (it signs in through a provider) changes
//! its address after a fresh sign-in at a provider linked to it: the page
//! offers "Confirm with …", and for ten minutes after that no password is
//! asked.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::accounts::{self, Change};
use core_auth::error::ValidationErrors;
use core_auth::secret::Secret;
use core_auth::signin::Refusal;
use core_auth::CoreError;
use serde::Deserialize;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::CurrentUser;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};

#[derive(Template)]
#[template(path = "account_security.html")]
struct SecurityPage {
    layout: Layout,
    email: String,
    new_email: String,
    errors: ValidationErrors,
    notice: Option<String>,
    min_length: usize,
    max_length: usize,
    has_password: bool,
    /// No password, and a sign-in recent enough to change the address.
    confirmed: bool,
    /// Linked, enabled providers: (id, display name).
    providers: Vec<(String, String)>,
}

/// Whether the sign-in is recent enough to change the address without a
/// password (the use case checks it again).
fn recently_signed_in(ctx: &AppContext, user: &CurrentUser) -> bool {
    ctx.now() - user.auth_time <= accounts::RECENT_SIGN_IN_SECS
}

impl SecurityPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

async fn page(
    ctx: &AppContext,
    user: &CurrentUser,
    csrf: &str,
    new_email: String,
    errors: ValidationErrors,
    notice: Option<String>,
) -> Result<SecurityPage, PageError> {
    let has_password = user.user.user.password_hash.is_some();
    let providers = if has_password {
        vec![]
    } else {
        crate::upstream::linked_providers(ctx, user.id()).await?
    };
    Ok(SecurityPage {
        layout: Layout::for_user("Password and email", user, csrf),
        email: user.user.user.email.clone(),
        new_email,
        errors,
        notice,
        min_length: ctx.config.password.min_length,
        max_length: ctx.config.password.max_length,
        has_password,
        confirmed: !has_password && recently_signed_in(ctx, user),
        providers,
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct SecurityQuery {
    done: String,
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    q: web::Query<SecurityQuery>,
) -> Result<HttpResponse, PageError> {
    let csrf = csrf::token(&session)?;
    let notice = match q.done.as_str() {
        "password" => {
            Some("Your password was changed. Your other sessions were signed out.".to_string())
        }
        "email" => Some(
            "Check the inbox of your new address and follow the link there to finish the change."
                .to_string(),
        ),
        _ => None,
    };
    Ok(render(
        StatusCode::OK,
        &page(
            &ctx,
            &user,
            &csrf,
            String::new(),
            ValidationErrors::default(),
            notice,
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    csrf_token: String,
    current_password: Secret,
    new_password: Secret,
}

pub async fn change_password(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    form: Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    let (current, new, now) = (form.current_password, form.new_password, ctx.now());
    let actor = web_kit::auditing::meta(&req, Some(&user));
    let r = ctx
        .call(move |core| accounts::change_password(core, &actor, &current, &new, now))
        .await;
    match r {
        Ok(Change::Done) => {
            // A new cookie for this browser too (the old one was seen with
            // the old password); the session itself, and its sid, go on.
            session.renew();
            csrf::rotate(&session)?;
            Ok(see_other("/account/security?done=password"))
        }
        Ok(Change::Throttled { retry_after }) => {
            refused(
                &ctx,
                &session,
                &user,
                String::new(),
                "current_password",
                retry_after,
            )
            .await
        }
        Err(CoreError::Validation(v)) => {
            let csrf = csrf::token(&session)?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&ctx, &user, &csrf, String::new(), v, None).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The page again, 429 with `Retry-After`: the account's sign-in throttle
/// refused the password check (`field`'s).
async fn refused(
    ctx: &AppContext,
    session: &Session,
    user: &CurrentUser,
    new_email: String,
    field: &'static str,
    retry_after: i64,
) -> Result<HttpResponse, PageError> {
    let minutes = (retry_after + 59) / 60;
    let mut v = ValidationErrors::default();
    v.add(
        field,
        format!(
            "Too many attempts with a wrong password for your account. For your security, try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        ),
    );
    let csrf = csrf::token(session)?;
    let mut resp = render(
        StatusCode::TOO_MANY_REQUESTS,
        &page(ctx, user, &csrf, new_email, v, None).await?,
    );
    web_kit::identity::retry_after(&mut resp, Refusal::Throttled { retry_after });
    Ok(resp)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    csrf_token: String,
    new_email: String,
    password: Secret,
}

pub async fn change_email(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    form: Form<EmailForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    let (password, new_email, now) = (form.password, form.new_email.clone(), ctx.now());
    let has_password = user.user.user.password_hash.is_some();
    let actor = web_kit::auditing::meta(&req, Some(&user));
    let r = ctx
        .call(move |core| {
            let proof = if has_password {
                accounts::Proof::Password(&password)
            } else {
                accounts::Proof::RecentSignIn
            };
            accounts::request_email_change(core, &actor, proof, &new_email, now)
        })
        .await;
    let typed = form.new_email.chars().take(254).collect();
    match r {
        Ok(Change::Done) => Ok(see_other("/account/security?done=email")),
        Ok(Change::Throttled { retry_after }) => {
            refused(&ctx, &session, &user, typed, "password", retry_after).await
        }
        Err(CoreError::Validation(v)) => {
            let csrf = csrf::token(&session)?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&ctx, &user, &csrf, typed, v, None).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
