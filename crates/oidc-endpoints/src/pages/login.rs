//! Sign-in with a password: `core_auth::signin::with_password` checks it
//! (throttle, bcrypt or the same time on a dummy hash, audit); this page
//! starts the session or shows the form again.

mod form;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::secret::Secret;
use core_auth::signin;
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::{self, MaybeUser};
use web_kit::util::{local_path, see_other};

use self::form::Filled;

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
    let mut f = Filled {
        email: q.login_hint.clone(),
        notice: q.signed_out.as_ref().map(|_| "You have signed out.".into()),
        next,
        error: if q.passkey_failed.is_some() {
            Some("Signing in with that passkey did not work. Try again, or sign in with your password.".into())
        } else if q.expired.is_some() {
            Some("That took too long. Please sign in again.".into())
        } else {
            None
        },
    };
    if let Some(u) = &user.0 {
        if q.prompt != "login" {
            return Ok(see_other(if f.next.is_empty() {
                "/account"
            } else {
                &f.next
            }));
        }
        if f.email.is_empty() {
            f.email = u.user.user.email.clone();
        }
        f.notice = Some("Please enter your password again to continue.".into());
    }
    form::page(&ctx, &session, StatusCode::OK, f).await
}

pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let LoginForm {
        email,
        password,
        next,
        ..
    } = form.into_inner();
    let next = local_path(&next).unwrap_or_default();
    let (now, actor, address) = (ctx.now(), auditing::meta(&req, None), email.clone());
    let checked = ctx
        .call(move |core| signin::with_password(core, &actor, &address, &password, now))
        .await?;
    match checked {
        Ok(user) => {
            ctx.metrics.sign_in("success");
            let sid = identity::new_sid();
            crate::pages::mfa::after_first_factor(
                &ctx,
                &session,
                &req,
                &user.id,
                &sid,
                &["pwd"],
                &next,
                false,
            )
            .await
        }
        Err(r) => form::refused(&ctx, &session, r, email, next).await,
    }
}
