//! The account page and sign-out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::accounts;
use core_auth::oidc::consent::{self, ConsentInfo};
use core_auth::sessions::keys;
use serde::Deserialize;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::CurrentUser;
use web_kit::layout::{human_date, Layout};
use web_kit::util::{render, see_other};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    id: String,
    email: String,
    email_verified: bool,
    name: String,
    roles: Vec<String>,
    member_since: String,
    consents: Vec<ConsentInfo>,
    notice: Option<String>,
    /// Sign-in methods: password and linked upstream providers.
    links: crate::upstream::links::AccountLinks,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AccountQuery {
    saved: Option<String>,
    withdrawn: Option<String>,
    verification: String,
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    q: web::Query<AccountQuery>,
    links_q: web::Query<crate::upstream::links::Notices>,
) -> Result<HttpResponse, PageError> {
    let csrf = csrf::token(&session)?;
    let links = crate::upstream::links::for_account(&ctx, &user, &links_q).await?;
    let uid = user.id().to_string();
    let consents = ctx.db(move |c| consent::list_for_user(c, &uid)).await?;
    let notice = if q.saved.is_some() {
        Some("Your profile was saved.".to_string())
    } else if q.withdrawn.is_some() {
        Some("Access withdrawn. The application's tokens no longer work.".to_string())
    } else if q.verification == "sent" {
        Some("A new confirmation link is on its way.".to_string())
    } else if q.verification == "wait" {
        Some(
            "We sent a link a moment ago; please wait a minute before asking for another."
                .to_string(),
        )
    } else {
        None
    };
    let u = &user.user.user;
    let page = AccountPage {
        layout: Layout::for_user("Your account", &user, &csrf),
        id: u.id.clone(),
        email: u.email.clone(),
        email_verified: u.email_verified,
        name: u.name.clone(),
        roles: user.user.roles.clone(),
        member_since: human_date(u.created_at),
        consents,
        notice,
        links,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LogoutForm {
    csrf_token: String,
}

/// Ends the server-side session: the old cookie no longer works.
pub async fn logout(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<LogoutForm>,
) -> Result<HttpResponse, PageError> {
    if !matches!(session.get::<String>(keys::USER_ID), Ok(Some(_))) {
        // Nobody to sign out (the session already ended): nothing changes.
        return Ok(see_other("/login"));
    }
    csrf::verify(&session, &form.csrf_token)?;
    let meta = core_auth::actor::Actor {
        actor_user_id: session.get::<String>(keys::USER_ID).ok().flatten(),
        session_id: session.get::<String>(keys::SID).ok().flatten(),
        ..web_kit::auditing::meta(&req, None)
    };
    web_kit::identity::sign_out(&ctx, &session, meta, "sign_out").await?;
    Ok(see_other("/login?signed_out=1"))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct WithdrawForm {
    csrf_token: String,
    client_id: String,
}

/// Withdraws consent for one application and revokes its tokens.
pub async fn withdraw_consent(
    req: actix_web::HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    form: Form<WithdrawForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let (cid, now) = (form.client_id.clone(), ctx.now());
    let actor = web_kit::auditing::meta(&req, Some(&user));
    ctx.call(move |core| accounts::withdraw_consent(core, &actor, &cid, now))
        .await?;
    Ok(see_other("/account?withdrawn=1"))
}
