//! The actions of a user's page: disable, enable, delete (after a
//! confirmation page), send a reset link, end every session, clear the
//! throttle. Each is a CSRF-protected POST, audited by the domain.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::users;
use core_auth::CoreError;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, PageError};

use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome};

/// A refused action shows the reason on the user's page.
fn refused(session: &Session, id: &str, e: CoreError) -> Result<HttpResponse, PageError> {
    match e {
        CoreError::Validation(v) => {
            let msg = v.0.first().map(|e| e.message.clone()).unwrap_or_default();
            flash(session, msg);
            Ok(see_other(&format!("/admin/users/{id}")))
        }
        other => Err(other.into()),
    }
}

async fn set_disabled(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
    id: String,
    disabled: bool,
) -> Result<HttpResponse, PageError> {
    let meta = form.actor();
    let now = ctx.now();
    let uid = id.clone();
    match ctx
        .call(move |core| users::set_disabled(core, &meta, &uid, disabled, now))
        .await
    {
        Ok(()) => {
            flash(
                &session,
                if disabled {
                    "The account is disabled; its sessions and tokens have ended."
                } else {
                    "The account is enabled."
                },
            );
            Ok(see_other(&format!("/admin/users/{id}")))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            let what = if disabled {
                "disable this account"
            } else {
                "enable this account"
            };
            form.reauth_page(&ctx, &session, what).await
        }
        Err(e) => refused(&session, &id, e),
    }
}

pub async fn disable(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    set_disabled(ctx, session, form, path.into_inner(), true).await
}

pub async fn enable(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    set_disabled(ctx, session, form, path.into_inner(), false).await
}

#[derive(Template)]
#[template(path = "admin/user_delete.html")]
struct ConfirmDelete {
    layout: Layout,
    admin: Chrome,
    id: String,
    email: String,
    name: String,
}

/// `GET /admin/users/{id}/delete`: the confirmation page.
pub async fn confirm_delete(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let uid = id.clone();
    let u = ctx
        .db(move |c| core_auth::users::find_by_id(c, &uid)?.ok_or(CoreError::NotFound("user")))
        .await?;
    let (layout, chrome) = frame(&session, &admin, "Delete user", "users")?;
    Ok(render(
        StatusCode::OK,
        &ConfirmDelete {
            layout,
            admin: chrome,
            id,
            email: u.email,
            name: u.name,
        },
    ))
}

/// `POST /admin/users/{id}/delete`.
pub async fn delete(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let meta = form.actor();
    let now = ctx.now();
    let uid = id.clone();
    match ctx
        .call(move |core| users::delete(core, &meta, &uid, now))
        .await
    {
        Ok(u) => {
            flash(&session, format!("The account {} was deleted.", u.email));
            Ok(see_other("/admin/users"))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "delete this account")
                .await
        }
        Err(CoreError::Validation(v)) => Err(PageError::Forbidden(
            v.0.first().map(|e| e.message.clone()).unwrap_or_default(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users/{id}/reset-password`.
pub async fn send_reset(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let meta = form.actor();
    let now = ctx.now();
    let uid = id.clone();
    ctx.call(move |core| users::send_reset(core, &meta, &uid, now))
        .await?;
    flash(&session, "A password reset link was mailed to the user.");
    Ok(see_other(&format!("/admin/users/{id}")))
}

/// `POST /admin/users/{id}/revoke-sessions`.
pub async fn revoke_sessions(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let meta = form.actor();
    let now = ctx.now();
    let uid = id.clone();
    let n = ctx
        .call(move |core| users::revoke_all(core, &meta, &uid, now))
        .await?;
    flash(
        &session,
        format!("{n} sessions ended; every token of the user is revoked."),
    );
    Ok(see_other(&format!("/admin/users/{id}")))
}

/// `POST /admin/users/{id}/clear-throttle`.
pub async fn clear_throttle(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let meta = form.actor();
    let now = ctx.now();
    let uid = id.clone();
    let cleared = ctx
        .call(move |core| users::clear_throttles(core, &meta, &uid, now))
        .await?;
    flash(
        &session,
        if cleared {
            "The sign-in throttle was cleared."
        } else {
            "This address was not throttled."
        },
    );
    Ok(see_other(&format!("/admin/users/{id}")))
}
