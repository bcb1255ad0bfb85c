//! Creating (with an invitation) and editing accounts.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::users::{self, Changes, NewAccount};
use core_auth::error::ValidationErrors;
use core_auth::{roles, CoreError};
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, PageError};

use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome};

/// A role or group checkbox: (value, label, ticked).
pub type Choice = (String, String, bool);

#[derive(Template)]
#[template(path = "admin/user_form.html")]
struct UserForm {
    layout: Layout,
    admin: Chrome,
    /// `None`: a new account.
    id: Option<String>,
    email: String,
    name: String,
    email_verified: bool,
    roles: Vec<Choice>,
    groups: Vec<Choice>,
    errors: ValidationErrors,
}

async fn choices(
    ctx: &AppContext,
    roles_ticked: Vec<String>,
    groups_ticked: Vec<String>,
) -> Result<(Vec<Choice>, Vec<Choice>), PageError> {
    Ok(ctx
        .db(move |c| {
            let r = roles::list_roles(c)?
                .into_iter()
                .filter(|r| r.name != core_auth::users::ROLE_USER)
                .map(|r| {
                    (
                        r.name.clone(),
                        r.name.clone(),
                        roles_ticked.contains(&r.name),
                    )
                })
                .collect();
            let g = roles::list_groups(c)?
                .into_iter()
                .map(|g| {
                    let t = groups_ticked.contains(&g.group.id);
                    (g.group.id, g.group.name, t)
                })
                .collect();
            Ok((r, g))
        })
        .await?)
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    ctx: &AppContext,
    session: &Session,
    admin: &web_kit::CurrentUser,
    id: Option<String>,
    email: String,
    name: String,
    email_verified: bool,
    roles_ticked: Vec<String>,
    groups_ticked: Vec<String>,
    errors: ValidationErrors,
) -> Result<HttpResponse, PageError> {
    let (roles, groups) = choices(ctx, roles_ticked, groups_ticked).await?;
    let title = if id.is_some() {
        "Edit user"
    } else {
        "Create user"
    };
    let (layout, chrome) = frame(session, admin, title, "users")?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(
        status,
        &UserForm {
            layout,
            admin: chrome,
            id,
            email,
            name,
            email_verified,
            roles,
            groups,
            errors,
        },
    ))
}

/// `GET /admin/users/new`.
pub async fn new_form(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    form_page(
        &ctx,
        &session,
        &admin,
        None,
        String::new(),
        String::new(),
        false,
        vec![],
        vec![],
        ValidationErrors::default(),
    )
    .await
}

/// `POST /admin/users`: creates the account and mails the invitation.
pub async fn create(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let input = NewAccount {
        email: form.get("email").to_string(),
        name: form.get("name").to_string(),
        roles: form.fields.ticked("role."),
        groups: form.fields.ticked("group."),
    };
    let meta = form.actor();
    let now = ctx.now();
    let i = input.clone();
    let r = ctx
        .call(move |core| users::create(core, &meta, &i, now))
        .await;
    let admin = &form.admin;
    match r {
        Ok(u) => {
            flash(
                &session,
                format!(
                    "Account created; an invitation was sent to {}.",
                    u.user.email
                ),
            );
            Ok(see_other(&format!("/admin/users/{}", u.user.id)))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "create an account").await
        }
        Err(CoreError::Validation(v)) => {
            form_page(
                &ctx,
                &session,
                admin,
                None,
                input.email,
                input.name,
                false,
                input.roles,
                input.groups,
                v,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/users/{id}/edit`.
pub async fn edit_form(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let uid = id.clone();
    let (user, direct, groups) = ctx
        .db(move |c| {
            let u = core_auth::users::find_by_id(c, &uid)?.ok_or(CoreError::NotFound("user"))?;
            let direct = roles::direct_roles(c, &uid)?;
            let groups: Vec<String> = roles::groups_of(c, &uid)?
                .into_iter()
                .map(|g| g.id)
                .collect();
            Ok((u, direct, groups))
        })
        .await?;
    form_page(
        &ctx,
        &session,
        &admin,
        Some(id),
        user.email,
        user.name,
        user.email_verified,
        direct,
        groups,
        ValidationErrors::default(),
    )
    .await
}

/// `POST /admin/users/{id}/edit`. Every change to an account is sensitive
/// (the domain asks for a fresh sign-in, see `crate::reauth`).
pub async fn update(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let mut wanted_roles = form.fields.ticked("role.");
    wanted_roles.push(core_auth::users::ROLE_USER.to_string());
    let changes = Changes {
        name: Some(form.get("name").to_string()),
        email: Some(form.get("email").to_string()),
        email_verified: Some(form.fields.checked("email_verified")),
        roles: Some(wanted_roles),
        groups: Some(form.fields.ticked("group.")),
        disabled: None,
    };
    let meta = form.actor();
    let now = ctx.now();
    let (uid, ch) = (id.clone(), changes.clone());
    match ctx
        .call(move |core| users::update(core, &meta, &uid, &ch, now))
        .await
    {
        Ok(_) => {
            flash(&session, "Changes saved.");
            Ok(see_other(&format!("/admin/users/{id}")))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "change this account")
                .await
        }
        Err(CoreError::Validation(v)) => {
            form_page(
                &ctx,
                &session,
                &form.admin,
                Some(id),
                changes.email.unwrap_or_default(),
                changes.name.unwrap_or_default(),
                changes.email_verified.unwrap_or(false),
                changes.roles.unwrap_or_default(),
                changes.groups.unwrap_or_default(),
                v,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
