//! Roles and groups: create, rename, delete; a group's roles and members.
//! Everything that changes who holds a role asks for the password again
//! after ten minutes.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::admin::directory::{self, GroupDetail};
use core_auth::roles::{self, GroupInfo, Role};
use core_auth::CoreError;
use oidc_endpoints::pages::Layout;
use oidc_endpoints::util::{render, see_other};
use oidc_endpoints::{auditing, csrf, AppContext, PageError};

use crate::fields::Fields;
use crate::guard::RequireAdmin;
use crate::reauth;
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

/// Shows a refusal (validation) as the next page's notice.
fn done(
    session: &Session,
    r: Result<String, CoreError>,
    back: &str,
) -> Result<HttpResponse, PageError> {
    match r {
        Ok(msg) => {
            flash(session, msg);
            Ok(see_other(back))
        }
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
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    let meta = auditing::meta(&req, Some(&admin));
    let (name, desc, now) = (
        fields.get("name").to_string(),
        fields.get("description").to_string(),
        ctx.now(),
    );
    let r = ctx
        .db(move |c| {
            directory::create_role(c, &meta, &name, &desc, now)
                .map(|r| format!("Role {} created.", r.name))
        })
        .await;
    done(&session, r, "/admin/roles")
}

pub async fn rename_role(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    if let Some(page) =
        reauth::gate(&req, &ctx, &session, &admin, &fields, "rename this role").await?
    {
        return Ok(page);
    }
    let meta = auditing::meta(&req, Some(&admin));
    let (name, new_name, now) = (
        path.into_inner(),
        fields.get("new_name").to_string(),
        ctx.now(),
    );
    let r = ctx
        .db(move |c| {
            directory::rename_role(c, &meta, &name, &new_name, now)
                .map(|r| format!("Role renamed to {}.", r.name))
        })
        .await;
    done(&session, r, "/admin/roles")
}

pub async fn delete_role(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    if let Some(page) =
        reauth::gate(&req, &ctx, &session, &admin, &fields, "delete this role").await?
    {
        return Ok(page);
    }
    let meta = auditing::meta(&req, Some(&admin));
    let (name, now) = (path.into_inner(), ctx.now());
    let r = ctx
        .db(move |c| {
            directory::delete_role(c, &meta, &name, now).map(|()| format!("Role {name} deleted."))
        })
        .await;
    done(&session, r, "/admin/roles")
}

pub async fn create_group(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    let meta = auditing::meta(&req, Some(&admin));
    let (name, desc, roles, now) = (
        fields.get("name").to_string(),
        fields.get("description").to_string(),
        fields.ticked("role."),
        ctx.now(),
    );
    let r = ctx
        .db(move |c| directory::create_group(c, &meta, &name, &desc, &roles, now))
        .await;
    match r {
        Ok(g) => {
            flash(&session, format!("Group {} created.", g.info.group.name));
            Ok(see_other(&format!("/admin/groups/{}", g.info.group.id)))
        }
        Err(e) => done(&session, Err(e), "/admin/roles"),
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
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    let id = path.into_inner();
    let gid = id.clone();
    let current = ctx.db(move |c| directory::group_detail(c, &gid)).await?;
    let mut wanted = fields.ticked("role.");
    let mut have = current.info.roles.clone();
    wanted.sort();
    have.sort();
    if wanted != have {
        if let Some(page) = reauth::gate(
            &req,
            &ctx,
            &session,
            &admin,
            &fields,
            "change this group's roles",
        )
        .await?
        {
            return Ok(page);
        }
    }
    let meta = auditing::meta(&req, Some(&admin));
    let (name, now, gid) = (fields.get("name").to_string(), ctx.now(), id.clone());
    let r = ctx
        .db(move |c| {
            directory::update_group(c, &meta, &gid, Some(&name), Some(&wanted), now)
                .map(|_| "Changes saved.".to_string())
        })
        .await;
    done(&session, r, &format!("/admin/groups/{id}"))
}

pub async fn delete_group(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    let id = path.into_inner();
    if let Some(page) =
        reauth::gate(&req, &ctx, &session, &admin, &fields, "delete this group").await?
    {
        return Ok(page);
    }
    let meta = auditing::meta(&req, Some(&admin));
    let (now, gid) = (ctx.now(), id.clone());
    match ctx
        .db(move |c| directory::delete_group(c, &meta, &gid, now))
        .await
    {
        Ok(()) => {
            flash(&session, "Group deleted.");
            Ok(see_other("/admin/roles"))
        }
        Err(e) => done(&session, Err(e), &format!("/admin/groups/{id}")),
    }
}

/// `POST /admin/groups/{id}/members`: adds the user with this address.
pub async fn add_member(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    if let Some(page) = reauth::gate(
        &req,
        &ctx,
        &session,
        &admin,
        &fields,
        "add a member to this group",
    )
    .await?
    {
        return Ok(page);
    }
    let id = path.into_inner();
    let meta = auditing::meta(&req, Some(&admin));
    let (who, now, gid) = (fields.get("user").trim().to_string(), ctx.now(), id.clone());
    let r = ctx
        .db(move |c| {
            let u = core_auth::users::find(c, &who)?.ok_or_else(|| {
                core_auth::admin::invalid_input("user", format!("There is no user {who}."))
            })?;
            directory::set_member(c, &meta, &gid, &u.id, true, now)?;
            Ok(format!("{} added.", u.email))
        })
        .await;
    done(&session, r, &format!("/admin/groups/{id}"))
}

/// `POST /admin/groups/{id}/members/{user}/remove`.
pub async fn remove_member(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<(String, String)>,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    if let Some(page) = reauth::gate(
        &req,
        &ctx,
        &session,
        &admin,
        &fields,
        "remove a member from this group",
    )
    .await?
    {
        return Ok(page);
    }
    let (id, user) = path.into_inner();
    let meta = auditing::meta(&req, Some(&admin));
    let (now, gid) = (ctx.now(), id.clone());
    let r = ctx
        .db(move |c| {
            directory::set_member(c, &meta, &gid, &user, false, now)
                .map(|()| "Member removed.".to_string())
        })
        .await;
    done(&session, r, &format!("/admin/groups/{id}"))
}
