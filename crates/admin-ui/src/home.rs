//! The admin landing page: the numbers that matter and the newest accounts.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::users::{self, UserWithRoles};
use oidc_endpoints::pages::{human_date, Layout};
use oidc_endpoints::util::render;
use oidc_endpoints::{csrf, AppContext, PageError};

use crate::guard::RequireAdmin;

#[derive(Template)]
#[template(path = "admin/index.html")]
struct AdminHome {
    layout: Layout,
    user_count: i64,
    admin_count: i64,
    session_count: i64,
    users: Vec<Row>,
    backend: &'static str,
}

struct Row {
    id: String,
    email: String,
    name: String,
    roles: Vec<String>,
    disabled: bool,
    created: String,
}

impl From<UserWithRoles> for Row {
    fn from(u: UserWithRoles) -> Self {
        Row {
            created: human_date(u.user.created_at),
            id: u.user.id,
            email: u.user.email,
            name: u.user.name,
            roles: u.roles,
            disabled: u.user.disabled,
        }
    }
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let t = ctx.session_timeouts();
    let (stats, list, backend) = ctx
        .db(move |c| {
            let stats = core_auth::admin_stats::overview(c, now, t)?;
            let list = users::list(c, None, 50)?;
            Ok((stats, list, c.backend()))
        })
        .await?;
    let csrf = csrf::token(&session)?;
    let page = AdminHome {
        layout: Layout::for_user("Admin", &admin, &csrf),
        user_count: stats.users,
        admin_count: stats.admins,
        session_count: stats.active_sessions,
        users: list.into_iter().map(Row::from).collect(),
        backend,
    };
    Ok(render(StatusCode::OK, &page))
}
