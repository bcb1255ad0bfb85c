//! `GET|POST /login/upstream/confirm`: an account already has the address
//! the provider gave, and the provider is not trusted to vouch for it, so
//! the person proves the account is theirs with its password; then the
//! link is made and they are signed in.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::federation::login::{self, Confirmed};
use core_auth::federation::pending::PendingLink;
use core_auth::secret::Secret;
use core_auth::signin::Refusal;
use core_auth::{users, CoreError};
use serde::Deserialize;

use super::pages::{back_to, error_page};
use super::{load_link, provider, LINK};
use crate::auditing;
use crate::context::AppContext;
use crate::csrf;
use crate::errors::PageError;
use crate::form::Form;
use crate::identity;
use crate::pages::Layout;
use crate::util::{render, see_other};

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

fn expired() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "Too much time has passed since you signed in with the provider. Please start again.",
        back_to("", false),
    )
}

async fn page(
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

pub async fn show(ctx: web::Data<AppContext>, session: Session) -> Result<HttpResponse, PageError> {
    match load_link(&session).filter(|l| l.is_live(ctx.now())) {
        Some(link) => page(&ctx, &session, &link, StatusCode::OK, None).await,
        None => Ok(expired()),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    csrf_token: String,
    password: Secret,
}

/// Checks the password (the account's sign-in throttle, as the sign-in
/// form does), makes the link, signs in: `federation::login::confirm_with_password`.
pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let now = ctx.now();
    let Some(link) = load_link(&session).filter(|l| l.is_live(now)) else {
        return Ok(expired());
    };
    let Some(p) = provider(&ctx, &link.provider).await? else {
        return Ok(expired());
    };
    let who = link.identity();
    let password = form.into_inner().password;
    let actor = auditing::meta(&req, None);
    let (p2, who2, uid) = (p.clone(), who.clone(), link.user_id.clone());
    let result = ctx
        .call(move |core| {
            login::confirm_with_password(core, &actor, &p2, &who2, &uid, &password, now)
        })
        .await;
    match result {
        Ok(Confirmed::Linked { user_id }) => {
            session.remove(LINK);
            let mut amr = vec!["pwd".to_string()];
            for a in who.session_amr() {
                if !amr.contains(&a) {
                    amr.push(a);
                }
            }
            let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
            identity::sign_in(&session, &req, &user_id, &identity::new_sid(), now, &amr)?;
            ctx.metrics.sign_in("success");
            Ok(see_other(if link.next.is_empty() {
                "/account"
            } else {
                &link.next
            }))
        }
        Ok(Confirmed::Refused(r)) => {
            session.remove(LINK);
            Ok(error_page(
                StatusCode::FORBIDDEN,
                "Sign-in refused",
                &r.message(&p.display_name),
                back_to(&link.next, false),
            ))
        }
        Ok(Confirmed::Password(r)) => {
            ctx.metrics.sign_in(r.reason());
            let (status, message) = match r {
                Refusal::Disabled => {
                    return Ok(error_page(
                        StatusCode::FORBIDDEN,
                        "Account disabled",
                        "This account is disabled. Contact your administrator if you think this is a mistake.",
                        back_to("", false),
                    ))
                }
                Refusal::Wrong => (
                    StatusCode::UNAUTHORIZED,
                    "That is not the password of this account.".to_string(),
                ),
                Refusal::Throttled { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    identity::throttled_message("this account", retry_after),
                ),
            };
            let mut resp = page(&ctx, &session, &link, status, Some(message)).await?;
            identity::retry_after(&mut resp, r);
            Ok(resp)
        }
        Err(CoreError::NotFound(_)) => Ok(expired()),
        Err(e) => Err(e.into()),
    }
}
