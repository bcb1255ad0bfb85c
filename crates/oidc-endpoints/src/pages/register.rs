//! Registration. Every validation problem is shown at once, next to its
//! field, with what the person typed (never the password).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::accounts;
use core_auth::error::ValidationErrors;
use core_auth::secret::Secret;
use core_auth::users::NewUser;
use core_auth::CoreError;
use serde::Deserialize;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::MaybeUser;
use web_kit::layout::Layout;
use web_kit::util::{local_path, render, see_other};

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    csrf: String,
    email: String,
    name: String,
    next: String,
    errors: ValidationErrors,
    min_length: usize,
    max_length: usize,
    /// Providers through which a new account can be made.
    providers: Vec<crate::upstream::pages::ProviderButton>,
}

/// The buttons of the enabled providers that allow registration.
async fn sign_up_buttons(
    ctx: &AppContext,
    next: &str,
) -> Result<Vec<crate::upstream::pages::ProviderButton>, PageError> {
    let open: Vec<_> = crate::upstream::enabled(ctx)
        .await?
        .into_iter()
        .filter(|p| p.allow_registration)
        .collect();
    Ok(crate::upstream::pages::buttons(&open, next))
}

impl RegisterPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct RegisterQuery {
    next: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct RegisterForm {
    email: String,
    name: String,
    password: Secret,
    next: String,
    csrf_token: String,
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    q: web::Query<RegisterQuery>,
) -> Result<HttpResponse, PageError> {
    let next = local_path(&q.next).unwrap_or_default();
    if user.0.is_some() {
        return Ok(see_other(if next.is_empty() { "/account" } else { &next }));
    }
    let providers = sign_up_buttons(&ctx, &next).await?;
    let page = RegisterPage {
        layout: Layout::anonymous("Create your account"),
        csrf: csrf::token(&session)?,
        email: String::new(),
        name: String::new(),
        next,
        errors: ValidationErrors::default(),
        min_length: ctx.config.password.min_length,
        max_length: ctx.config.password.max_length,
        providers,
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn submit(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<RegisterForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    let next = local_path(&form.next).unwrap_or_default();
    let now = ctx.now();
    let input = NewUser {
        email: form.email.clone(),
        name: form.name.clone(),
        password: form.password,
        roles: vec![],
        email_verified: false,
    };
    let actor = web_kit::auditing::meta(&req, None);
    let result = ctx
        .call(move |core| accounts::register(core, &actor, &input, now))
        .await;
    let (status, errors) = match result {
        // A new account and an address that already has one get the same
        // page: registration does not reveal who has an account.
        Ok(_) => return Ok(super::email::check_inbox(form.email.trim(), &next)),
        Err(CoreError::Validation(v)) => (StatusCode::UNPROCESSABLE_ENTITY, v),
        Err(e) => return Err(e.into()),
    };
    let providers = sign_up_buttons(&ctx, &next).await?;
    let page = RegisterPage {
        layout: Layout::anonymous("Create your account"),
        csrf: csrf::token(&session)?,
        email: form.email.chars().take(254).collect(),
        name: form.name.chars().take(200).collect(),
        next,
        errors,
        min_length: ctx.config.password.min_length,
        max_length: ctx.config.password.max_length,
        providers,
    };
    Ok(render(status, &page))
}
