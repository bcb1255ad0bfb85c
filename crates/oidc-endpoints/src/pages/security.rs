//! Changing the password and the email address (both need the password).
//! An account without a password (it signs in through a provider) changes
//! its address after a fresh sign-in at a provider linked to it: the page
//! offers "Confirm with …", and for ten minutes after that no password is
//! asked.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::accounts;
use core_auth::audit::EventKind;
use core_auth::error::ValidationErrors;
use core_auth::secret::Secret;
use core_auth::CoreError;
use serde::Deserialize;

use crate::context::AppContext;
use crate::csrf;
use crate::errors::PageError;
use crate::form::Form;
use crate::identity::CurrentUser;
use crate::pages::Layout;
use crate::util::{render, see_other};

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

/// How recent a sign-in must be to change the address without a password.
const RECENT_SECS: i64 = 600;

fn recently_signed_in(ctx: &AppContext, user: &CurrentUser) -> bool {
    ctx.now() - user.auth_time <= RECENT_SECS
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
    let (uid, sid, now) = (user.id().to_string(), user.sid.clone(), ctx.now());
    let (current, new) = (form.current_password, form.new_password);
    let r = ctx
        .run(move |ctx| {
            accounts::change_password(
                &ctx.pool,
                &ctx.passwords,
                ctx.mailer(),
                &uid,
                &current,
                &new,
                &sid,
                now,
            )
        })
        .await;
    match r {
        Ok(()) => {
            crate::auditing::record(
                &ctx,
                crate::auditing::meta(&req, Some(&user)),
                core_auth::audit::Event::success(EventKind::PasswordChanged).subject(user.id()),
            )
            .await;
            // A new cookie for this browser too (the old one was seen with
            // the old password); the session itself, and its sid, go on.
            session.renew();
            csrf::rotate(&session)?;
            Ok(see_other("/account/security?done=password"))
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
    let (uid, now) = (user.id().to_string(), ctx.now());
    let (password, new_email) = (form.password, form.new_email.clone());
    let has_password = user.user.user.password_hash.is_some();
    if !has_password && !recently_signed_in(&ctx, &user) {
        let mut v = ValidationErrors::default();
        v.add(
            "password",
            "Your account has no password: first confirm it is you with an account linked to yours, below.",
        );
        let csrf = csrf::token(&session)?;
        let typed = form.new_email.chars().take(254).collect();
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&ctx, &user, &csrf, typed, v, None).await?,
        ));
    }
    let r = ctx
        .run(move |ctx| {
            let proof = if has_password {
                accounts::Proof::Password(&password)
            } else {
                accounts::Proof::RecentSignIn
            };
            accounts::request_email_change(
                &ctx.pool,
                &ctx.passwords,
                ctx.mailer(),
                &uid,
                proof,
                &new_email,
                now,
            )
        })
        .await;
    match r {
        Ok(()) => {
            crate::auditing::record(
                &ctx,
                crate::auditing::meta(&req, Some(&user)),
                core_auth::audit::Event::success(EventKind::EmailChangeRequested)
                    .subject(user.id()),
            )
            .await;
            Ok(see_other("/account/security?done=email"))
        }
        Err(CoreError::Validation(v)) => {
            let csrf = csrf::token(&session)?;
            let typed = form.new_email.chars().take(254).collect();
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(&ctx, &user, &csrf, typed, v, None).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
