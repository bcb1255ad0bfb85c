//! The sign-in form as the page shows it: filled in again after a refusal,
//! with what the refusal says and the provider buttons.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use core_auth::signin::Refusal;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::identity;
use web_kit::layout::Layout;
use web_kit::util::render;

use crate::upstream::pages::{buttons, ProviderButton};

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
    providers: Vec<ProviderButton>,
    /// Passkeys work with this issuer: offer "Sign in with a passkey".
    passkeys: bool,
}

/// What the form shows besides its fields' labels.
#[derive(Debug, Default)]
pub struct Filled {
    pub email: String,
    /// A local path to continue to after signing in.
    pub next: String,
    pub error: Option<String>,
    pub notice: Option<String>,
}

/// The sign-in page with `f`, answered with `status`.
pub async fn page(
    ctx: &AppContext,
    session: &Session,
    status: StatusCode,
    f: Filled,
) -> Result<HttpResponse, PageError> {
    let providers = buttons(&crate::upstream::enabled(ctx).await?, &f.next);
    let page = LoginPage {
        layout: Layout::anonymous("Sign in"),
        csrf: csrf::token(session)?,
        email: f.email.chars().take(254).collect(),
        next: f.next,
        error: f.error,
        notice: f.notice,
        providers,
        passkeys: core_auth::mfa::passkeys::availability(&ctx.config).is_ok(),
    };
    Ok(render(status, &page))
}

/// A refused password: counted in `/metrics`, and the form again with
/// what the refusal says (one message and one status for an unknown
/// address and a wrong password; `Retry-After` when throttled).
pub async fn refused(
    ctx: &AppContext,
    session: &Session,
    r: Refusal,
    email: String,
    next: String,
) -> Result<HttpResponse, PageError> {
    ctx.metrics.sign_in(r.reason());
    let (status, message) = match r {
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
    let f = Filled {
        email,
        next,
        error: Some(message),
        notice: None,
    };
    let mut resp = page(ctx, session, status, f).await?;
    identity::retry_after(&mut resp, r);
    Ok(resp)
}
