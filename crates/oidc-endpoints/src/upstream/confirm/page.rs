//! What the password confirmation of a link shows: its form (again, after
//! a wrong password), and the pages it can end on instead.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use core_auth::federation::pending::PendingLink;
use core_auth::signin::Refusal;
use core_auth::users;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::identity;
use web_kit::layout::Layout;
use web_kit::util::render;

use crate::upstream::pages::{back_to, error_page};
use crate::upstream::provider;

#[derive(Template)]
#[template(path = "upstream_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    csrf: String,
    provider: String,
    email: String,
    has_password: bool,
    error: Option<String>,
}

/// Too late, or the provider or account is gone: start again.
pub fn expired() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "Too much time has passed since you signed in with the provider. Please start again.",
        back_to("", false),
    )
}

/// The form for `link`, answered with `status`, with `error` above it.
pub async fn form(
    ctx: &AppContext,
    session: &Session,
    link: &PendingLink,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let Some(p) = provider(ctx, &link.provider).await? else {
        return Ok(expired());
    };
    let uid = link.user_id.clone();
    let Some(user) = ctx.db(move |c| users::find_by_id(c, &uid)).await? else {
        return Ok(expired());
    };
    let page = ConfirmPage {
        layout: Layout::anonymous("Link your account"),
        csrf: csrf::token(session)?,
        provider: p.display_name,
        email: user.email,
        has_password: user.password_hash.is_some(),
        error,
    };
    Ok(render(status, &page))
}

/// A refused password: the form again with what went wrong (and
/// `Retry-After` when throttled), or, for a disabled account, a page
/// that ends the attempt.
pub async fn password_refused(
    ctx: &AppContext,
    session: &Session,
    link: &PendingLink,
    r: Refusal,
) -> Result<HttpResponse, PageError> {
    ctx.metrics.sign_in(r.reason());
    let (status, message) = match r {
        Refusal::Disabled => return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Account disabled",
            "This account is disabled. Contact your administrator if you think this is a mistake.",
            back_to("", false),
        )),
        Refusal::Wrong => (
            StatusCode::UNAUTHORIZED,
            "That is not the password of this account.".to_string(),
        ),
        Refusal::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            identity::throttled_message("this account", retry_after),
        ),
    };
    let mut resp = form(ctx, session, link, status, Some(message)).await?;
    identity::retry_after(&mut resp, r);
    Ok(resp)
}
