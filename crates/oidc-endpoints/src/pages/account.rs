//! The account page and sign-out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use core_auth::sessions::keys;
use serde::Deserialize;

use crate::csrf;
use crate::errors::PageError;
use crate::form::Form;
use crate::identity::CurrentUser;
use crate::pages::{human_date, Layout};
use crate::util::{render, see_other};

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
}

pub async fn show(session: Session, user: CurrentUser) -> Result<HttpResponse, PageError> {
    let csrf = csrf::token(&session)?;
    let u = &user.user.user;
    let page = AccountPage {
        layout: Layout::for_user("Your account", &user, &csrf),
        id: u.id.clone(),
        email: u.email.clone(),
        email_verified: u.email_verified,
        name: u.name.clone(),
        roles: user.user.roles.clone(),
        member_since: human_date(u.created_at),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LogoutForm {
    csrf_token: String,
}

/// Ends the server-side session: the old cookie no longer works.
pub async fn logout(session: Session, form: Form<LogoutForm>) -> Result<HttpResponse, PageError> {
    if !matches!(session.get::<String>(keys::USER_ID), Ok(Some(_))) {
        // Nobody to sign out (the session already ended): nothing changes.
        return Ok(see_other("/login"));
    }
    csrf::verify(&session, &form.csrf_token)?;
    session.purge();
    Ok(see_other("/login?signed_out=1"))
}
