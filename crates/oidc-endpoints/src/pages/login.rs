//! Sign-in. One message and one status for an unknown email and a wrong
//! password, and the same time spent on both (see `users::authenticate`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::secret::Secret;
use core_auth::signin::{self, Refusal};
use serde::Deserialize;

use crate::auditing;
use crate::context::AppContext;
use crate::csrf;
use crate::errors::PageError;
use crate::form::Form;
use crate::identity::{self, MaybeUser};
use crate::pages::Layout;
use crate::util::{local_path, render, see_other};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    /// "Sign in with ..." buttons, one per enabled upstream provider.
    providers: Vec<crate::upstream::pages::ProviderButton>,
    /// Passkeys work with this issuer: offer "Sign in with a passkey".
    passkeys: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
    signed_out: Option<String>,
    /// A passkey sign-in did not succeed.
    passkey_failed: Option<String>,
    /// The second step of a sign-in took too long.
    expired: Option<String>,
    login_hint: String,
    /// `login`: show the form even to someone signed in (re-authentication).
    prompt: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: Secret,
    next: String,
    csrf_token: String,
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let next = local_path(&q.next).unwrap_or_default();
    let reauth = q.prompt == "login";
    let mut email: String = q.login_hint.chars().take(254).collect();
    let mut notice = q
        .signed_out
        .as_ref()
        .map(|_| "You have signed out.".to_string());
    let mut error = None;
    if q.passkey_failed.is_some() {
        error = Some(
            "Signing in with that passkey did not work. Try again, or sign in with your password."
                .to_string(),
        );
    } else if q.expired.is_some() {
        error = Some("That took too long. Please sign in again.".to_string());
    }
    if let Some(u) = &user.0 {
        if !reauth {
            return Ok(see_other(if next.is_empty() { "/account" } else { &next }));
        }
        if email.is_empty() {
            email = u.user.user.email.clone();
        }
        notice = Some("Please enter your password again to continue.".into());
    }
    let providers = crate::upstream::pages::buttons(&crate::upstream::enabled(&ctx).await?, &next);
    let page = LoginPage {
        layout: Layout::anonymous("Sign in"),
        csrf: csrf::token(&session)?,
        email,
        next,
        error,
        notice,
        providers,
        passkeys: core_auth::mfa::passkeys::availability(&ctx.config).is_ok(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Checks the password (`core_auth::signin::with_password`: throttle,
/// bcrypt, audit) and signs in, or shows the form again with the email.
pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    let next = local_path(&form.next).unwrap_or_default();
    let now = ctx.now();
    let actor = auditing::meta(&req, None);
    let (email, password) = (form.email.clone(), form.password);
    let checked = ctx
        .call(move |core| signin::with_password(core, &actor, &email, &password, now))
        .await?;
    let refusal = match checked {
        Ok(user) => {
            ctx.metrics.sign_in("success");
            return crate::pages::mfa::after_first_factor(
                &ctx,
                &session,
                &req,
                &user.id,
                &["pwd"],
                &next,
                false,
            )
            .await;
        }
        Err(r) => r,
    };
    ctx.metrics.sign_in(refusal.reason());
    let (status, message) = match refusal {
        Refusal::Disabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled. Contact your administrator if you think this is a mistake."
                .to_string(),
        ),
        Refusal::Wrong => (
            StatusCode::UNAUTHORIZED,
            "Incorrect email or password.".to_string(),
        ),
        Refusal::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            identity::throttled_message("this address", retry_after),
        ),
    };
    let providers = crate::upstream::pages::buttons(&crate::upstream::enabled(&ctx).await?, &next);
    let page = LoginPage {
        layout: Layout::anonymous("Sign in"),
        csrf: csrf::token(&session)?,
        email: form.email.chars().take(254).collect(),
        next,
        error: Some(message),
        notice: None,
        providers,
        passkeys: core_auth::mfa::passkeys::availability(&ctx.config).is_ok(),
    };
    let mut resp = render(status, &page);
    identity::retry_after(&mut resp, refusal);
    Ok(resp)
}
