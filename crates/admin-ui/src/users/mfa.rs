//! A user's second factors on the console: the "Two-step verification"
//! section of the user's page (the same [`MfaSummary`] as the API's),
//! requiring a second factor of the account (or not), removing one factor
//! (the app, or a passkey), and removing every factor after a confirmation
//! page. Removing is a sensitive action: re-authentication first. The
//! rules and audit rows are `core_auth::mfa::policy`'s.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::mfa::policy::{self, FactorRef};
use core_auth::CoreError;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, PageError};

use crate::api::mfa::{summary, MfaSummary};
use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome, MaybeTime, Time};

/// The section of the user's page.
pub struct Section {
    pub s: MfaSummary,
    /// The authenticator app: since, last used.
    pub app: Option<(Time, MaybeTime)>,
    /// Passkeys: id, name, added, last used.
    pub passkeys: Vec<(String, String, Time, MaybeTime)>,
}

impl Section {
    pub fn new(s: MfaSummary) -> Section {
        Section {
            app: s
                .authenticator_app
                .as_ref()
                .map(|a| (Time(a.created_at), MaybeTime(a.last_used_at))),
            passkeys: s
                .passkeys
                .iter()
                .map(|p| {
                    (
                        p.id.clone(),
                        p.name.clone(),
                        Time(p.created_at),
                        MaybeTime(p.last_used_at),
                    )
                })
                .collect(),
            s,
        }
    }

    /// Something a reset would remove.
    pub fn resettable(&self) -> bool {
        self.s.has_factor() || self.s.recovery_codes_left > 0
    }
}

/// The account's address and second factors.
async fn load(ctx: &AppContext, id: &str) -> Result<(String, MfaSummary), PageError> {
    let (uid, cfg) = (id.to_string(), ctx.config.clone());
    Ok(ctx
        .db(move |c| {
            let u = core_auth::users::find_by_id(c, &uid)?.ok_or(CoreError::NotFound("user"))?;
            Ok((u.email, summary(c, &cfg, &uid)?))
        })
        .await?)
}

/// `POST /admin/users/{id}/mfa-requirement` (`required`: `true` or `false`).
pub async fn set_requirement(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let required =
        match form.get("required") {
            "true" => true,
            "false" => false,
            _ => return Err(PageError::BadRequest(
                "The form did not say whether to require a second factor. Go back and try again."
                    .into(),
            )),
        };
    let meta = form.actor();
    let now = ctx.now();
    let uid = id.clone();
    ctx.call(move |core| policy::set_required(core, &meta, &uid, required, now))
        .await?;
    let (email, s) = load(&ctx, &id).await?;
    let msg = if required && s.has_factor() {
        format!("{email} must now use a second factor (they already have one).")
    } else if required {
        format!("{email} must now use a second factor: they set one up at their next sign-in.")
    } else if !s.required_by_roles.is_empty() {
        format!(
            "You no longer require a second factor of {email}, but their roles ({}) still do.",
            s.required_by_roles.join(", ")
        )
    } else {
        format!("A second factor is no longer required of {email}.")
    };
    flash(&session, msg);
    Ok(see_other(&format!("/admin/users/{id}#mfa")))
}

#[derive(Template)]
#[template(path = "admin/user_mfa_reset.html")]
struct ConfirmReset {
    layout: Layout,
    admin: Chrome,
    id: String,
    email: String,
    section: Section,
}

/// `GET /admin/users/{id}/mfa-reset`: the confirmation page.
pub async fn confirm_reset(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let (email, s) = load(&ctx, &id).await?;
    let (layout, chrome) = frame(&session, &admin, "Reset second factors", "users")?;
    Ok(render(
        StatusCode::OK,
        &ConfirmReset {
            layout,
            admin: chrome,
            id,
            email,
            section: Section::new(s),
        },
    ))
}

/// `POST /admin/users/{id}/mfa-reset`: removes every second factor.
pub async fn reset(
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
        .call(move |core| policy::reset(core, &meta, &uid, now))
        .await
    {
        Ok(removed) => {
            let (email, s) = load(&ctx, &id).await?;
            let mut msg = match removed {
                0 => format!("{email} had no second factor to remove."),
                1 => {
                    format!("The second factor of {email} was removed, with their recovery codes.")
                }
                n => format!(
                    "The {n} second factors of {email} were removed, with their recovery codes."
                ),
            };
            if s.required {
                msg.push_str(" They must set up a new one at their next sign-in.");
            }
            flash(&session, msg);
            Ok(see_other(&format!("/admin/users/{id}#mfa")))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "reset this account's second factors")
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/users/{id}/mfa/app/remove`: removes the authenticator app.
pub async fn remove_app(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    remove(&ctx, &session, form, id, FactorRef::App).await
}

/// `POST /admin/users/{id}/mfa/passkeys/{passkey_id}/remove`: removes one
/// passkey.
pub async fn remove_passkey(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<(String, String)>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let (id, passkey) = path.into_inner();
    remove(&ctx, &session, form, id, FactorRef::Passkey(passkey)).await
}

async fn remove(
    ctx: &AppContext,
    session: &Session,
    form: AdminForm,
    id: String,
    which: FactorRef,
) -> Result<HttpResponse, PageError> {
    let (email, before) = load(ctx, &id).await?;
    let what = match &which {
        FactorRef::App => "authenticator app".to_string(),
        FactorRef::Passkey(p) => match before.passkeys.iter().find(|k| &k.id == p) {
            Some(k) => format!("passkey \u{201c}{}\u{201d}", k.name),
            None => "passkey".to_string(),
        },
    };
    let (meta, now, uid, asked) = (form.actor(), ctx.now(), id.clone(), which);
    match ctx
        .call(move |core| policy::remove_one(core, &meta, &uid, &asked, now))
        .await
    {
        Ok(()) => {
            let (_, s) = load(ctx, &id).await?;
            let mut msg = format!("The {what} of {email} was removed.");
            if !s.has_factor() && before.recovery_codes_left > 0 {
                msg.push_str(
                    " It was their last second factor: their recovery codes were removed too.",
                );
            }
            if !s.has_factor() && s.required {
                msg.push_str(" They must set up a new one at their next sign-in.");
            }
            flash(session, msg);
            Ok(see_other(&format!("/admin/users/{id}#mfa")))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(ctx, session, &format!("remove the {what} of {email}"))
                .await
        }
        Err(e) => Err(e.into()),
    }
}
