//! Roles and groups: create, rename, delete; a group's roles and members.
//! Every change here is sensitive: the domain refuses it when the
//! administrator's sign-in is older than `admin.reauth_window_secs`, and
//! the console then asks for the password (see `crate::reauth`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::directory::{self, GroupDetail};
use core_auth::roles::{self, GroupInfo, Role};
use core_auth::CoreError;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, PageError};

use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome};

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct RolesPage {
    layout: Layout,
    admin: Chrome,
    roles: Vec<Role>,
    groups: Vec<GroupInfo>,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let (roles, groups) = ctx
        .db(|c| Ok((roles::list_roles(c)?, roles::list_groups(c)?)))
        .await?;
    let (layout, chrome) = frame(&session, &admin, "Roles and groups", "roles")?;
    Ok(render(
        StatusCode::OK,
        &RolesPage {
            layout,
            admin: chrome,
            roles,
            groups,
        },
    ))
}

/// Shows a refusal (validation) as the next page's notice; a stale sign-in
/// gets the password page, which posts the same form again.
async fn done(
    ctx: &AppContext,
    session: &Session,
    form: &AdminForm,
    r: Result<String, CoreError>,
    back: &str,
    what: &str,
) -> Result<HttpResponse, PageError> {
    match r {
        Ok(msg) => {
            flash(session, msg);
            Ok(see_other(back))
        }
        Err(CoreError::ReauthRequired { .. }) => form.reauth_page(ctx, session, what).await,
        Err(CoreError::Validation(v)) => {
            flash(
                session,
                v.0.iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            Ok(see_other(back))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn create_role(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let actor = form.actor();
    let (name, desc, now) = (
        form.get("name").to_string(),
        form.get("description").to_string(),
        ctx.now(),
    );
    let r = ctx
        .call(move |core| {
            directory::create_role(core, &actor, &name, &desc, now)
                .map(|r| format!("Role {} created.", r.name))
        })
        .await;
    done(&ctx, &session, &form, r, "/admin/roles", "create a role").await
}

pub async fn rename_role(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let actor = form.actor();
    let (name, new_name, now) = (
        path.into_inner(),
        form.get("new_name").to_string(),
        ctx.now(),
    );
    let r = ctx
        .call(move |core| {
            directory::rename_role(core, &actor, &name, &new_name, now)
                .map(|r| format!("Role renamed to {}.", r.name))
        })
        .await;
    done(&ctx, &session, &form, r, "/admin/roles", "rename this role").await
}

pub async fn delete_role(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let actor = form.actor();
    let (name, now) = (path.into_inner(), ctx.now());
    let r = ctx
        .call(move |core| {
            directory::delete_role(core, &actor, &name, now)
                .map(|()| format!("Role {name} deleted."))
        })
        .await;
    done(&ctx, &session, &form, r, "/admin/roles", "delete this role").await
}

pub async fn create_group(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let actor = form.actor();
    let (name, desc, roles, now) = (
        form.get("name").to_string(),
        form.get("description").to_string(),
        form.fields.ticked("role."),
        ctx.now(),
    );
    let r = ctx
        .call(move |core| directory::create_group(core, &actor, &name, &desc, &roles, now))
        .await;
    match r {
        Ok(g) => {
            flash(&session, format!("Group {} created.", g.info.group.name));
            Ok(see_other(&format!("/admin/groups/{}", g.info.group.id)))
        }
        Err(e) => {
            done(
                &ctx,
                &session,
                &form,
                Err(e),
                "/admin/roles",
                "create a group",
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/group.html")]
struct GroupPage {
    layout: Layout,
    admin: Chrome,
    g: GroupDetail,
    roles: Vec<(String, bool)>,
}

pub async fn show_group(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let (g, all) = ctx
        .db(move |c| Ok((directory::group_detail(c, &id)?, roles::list_roles(c)?)))
        .await?;
    let (layout, chrome) = frame(&session, &admin, &g.info.group.name, "roles")?;
    let roles = all
        .into_iter()
        .map(|r| {
            let on = g.info.roles.contains(&r.name);
            (r.name, on)
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &GroupPage {
            layout,
            admin: chrome,
            g,
            roles,
        },
    ))
}

/// `POST /admin/groups/{id}`: rename and set the roles.
pub async fn update_group(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let actor = form.actor();
    let wanted = form.fields.ticked("role.");
    let (name, now, gid) = (form.get("name").to_string(), ctx.now(), id.clone());
    let r = ctx
        .call(move |core| {
            directory::update_group(core, &actor, &gid, Some(&name), Some(&wanted), now)
                .map(|_| "Changes saved.".to_string())
        })
        .await;
    let back = format!("/admin/groups/{id}");
    done(&ctx, &session, &form, r, &back, "change this group").await
}

pub async fn delete_group(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let actor = form.actor();
    let (now, gid) = (ctx.now(), id.clone());
    match ctx
        .call(move |core| directory::delete_group(core, &actor, &gid, now))
        .await
    {
        Ok(()) => {
            flash(&session, "Group deleted.");
            Ok(see_other("/admin/roles"))
        }
        Err(e) => {
            let back = format!("/admin/groups/{id}");
            done(&ctx, &session, &form, Err(e), &back, "delete this group").await
        }
    }
}

/// `POST /admin/groups/{id}/members`: adds the user with this address.
pub async fn add_member(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let back = format!("/admin/groups/{id}");
    let who = form.get("user").trim().to_string();
    let w = who.clone();
    let Some(user) = ctx.db(move |c| core_auth::users::find(c, &w)).await? else {
        let r = Err(core_auth::admin::invalid_input(
            "user",
            format!("There is no user {who}."),
        ));
        return done(&ctx, &session, &form, r, &back, "add a member").await;
    };
    let actor = form.actor();
    let (now, gid) = (ctx.now(), id.clone());
    let r = ctx
        .call(move |core| {
            directory::set_member(core, &actor, &gid, &user.id, true, now)
                .map(|()| format!("{} added.", user.email))
        })
        .await;
    done(
        &ctx,
        &session,
        &form,
        r,
        &back,
        "add a member to this group",
    )
    .await
}

/// `POST /admin/groups/{id}/members/{user}/remove`.
pub async fn remove_member(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<(String, String)>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let (id, user) = path.into_inner();
    let actor = form.actor();
    let (now, gid) = (ctx.now(), id.clone());
    let r = ctx
        .call(move |core| {
            directory::set_member(core, &actor, &gid, &user, false, now)
                .map(|()| "Member removed.".to_string())
        })
        .await;
    let back = format!("/admin/groups/{id}");
    done(
        &ctx,
        &session,
        &form,
        r,
        &back,
        "remove a member from this group",
    )
    .await
}
