//! `GET|POST /login/upstream/confirm`: an account already has the address
//! the provider gave, and the provider is not trusted to vouch for it, so
//! the person proves the account is theirs with its password
//! (`core_auth::federation::confirm`); then they are signed in.

mod page;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::federation::confirm::{confirm_with_password, Confirmed};
use core_auth::secret::Secret;
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity;

use super::pages::{back_to, error_page};
use super::{load_link, LINK};

pub async fn show(ctx: web::Data<AppContext>, session: Session) -> Result<HttpResponse, PageError> {
    match load_link(&session).filter(|l| l.is_live(ctx.now())) {
        Some(link) => page::form(&ctx, &session, &link, StatusCode::OK, None).await,
        None => Ok(page::expired()),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    csrf_token: String,
    password: Secret,
}

pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let Some(link) = load_link(&session) else {
        return Ok(page::expired());
    };
    let (now, actor, password) = (
        ctx.now(),
        auditing::meta(&req, None),
        form.into_inner().password,
    );
    let pending = link.clone();
    let done = ctx
        .call(move |core| confirm_with_password(core, &actor, &pending, &password, now))
        .await?;
    match done {
        Confirmed::Linked { user_id, amr } => {
            session.remove(LINK);
            ctx.metrics.sign_in("success");
            let sid = identity::new_sid();
            let next = web_kit::util::local_path(&link.next).unwrap_or_default();
            let trusted = trusted_mfa(&ctx, &link.provider, &amr).await?;
            let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
            crate::pages::mfa::after_first_factor(
                &ctx, &session, &req, &user_id, &sid, &amr, &next, trusted,
            )
            .await
        }
        Confirmed::Refused { refusal, provider } => {
            session.remove(LINK);
            let (message, back) = (refusal.message(&provider), back_to(&link.next, false));
            Ok(error_page(
                StatusCode::FORBIDDEN,
                "Sign-in refused",
                &message,
                back,
            ))
        }
        Confirmed::Password(r) => page::password_refused(&ctx, &session, &link, r).await,
        Confirmed::Expired => Ok(page::expired()),
    }
}

/// Whether the provider's own multi-factor sign-in stands for the second
/// factor here: its `trust_mfa` is on and its ID token's `amr` said `mfa`.
async fn trusted_mfa(ctx: &AppContext, provider: &str, amr: &[String]) -> Result<bool, PageError> {
    if !amr.iter().any(|a| a == "mfa") {
        return Ok(false);
    }
    Ok(super::provider(ctx, provider)
        .await?
        .is_some_and(|p| p.trust_mfa))
}
