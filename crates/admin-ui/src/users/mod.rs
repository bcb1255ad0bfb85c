//! Users: the searchable list (`GET /admin/users`), one user's page, the
//! create and edit forms, the actions on an account, and its second
//! factors.

pub mod actions;
pub mod edit;
pub mod mfa;
pub mod view;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::search::{self, UserQuery};
use core_auth::roles;
use core_auth::users::UserWithRoles;
use serde::Deserialize;
use web_kit::layout::Layout;
use web_kit::util::{render, urlencode};
use web_kit::{AppContext, PageError};

use crate::guard::RequireAdmin;
use crate::view::{frame, Chrome, Time};

pub const PAGE_SIZE: i64 = 50;

/// The list's query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub role: String,
    pub group: String,
    /// "", "active", "disabled" or "unverified".
    pub status: String,
    pub after: String,
}

impl ListQuery {
    pub fn to_query(&self, limit: i64) -> UserQuery {
        UserQuery {
            q: self.q.clone(),
            role: Some(self.role.clone()).filter(|s| !s.is_empty()),
            group: Some(self.group.clone()).filter(|s| !s.is_empty()),
            disabled: match self.status.as_str() {
                "disabled" => Some(true),
                "active" => Some(false),
                _ => None,
            },
            unverified: self.status == "unverified",
            after: Some(self.after.clone()).filter(|s| !s.is_empty()),
            limit,
        }
    }

    /// The query string of the same search from `after`.
    fn link(&self, after: &str) -> String {
        format!(
            "/admin/users?q={}&role={}&group={}&status={}&after={}",
            urlencode(&self.q),
            urlencode(&self.role),
            urlencode(&self.group),
            urlencode(&self.status),
            urlencode(after)
        )
    }
}

pub struct Row {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    pub verified: bool,
    pub invited: bool,
    pub created: Time,
}

impl From<UserWithRoles> for Row {
    fn from(u: UserWithRoles) -> Self {
        Row {
            invited: u.user.password_hash.is_none(),
            created: Time(u.user.created_at),
            id: u.user.id,
            email: u.user.email,
            name: u.user.name,
            roles: u.roles,
            disabled: u.user.disabled,
            verified: u.user.email_verified,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    admin: Chrome,
    f: ListQuery,
    roles: Vec<String>,
    groups: Vec<(String, String)>,
    rows: Vec<Row>,
    next: Option<String>,
    first: Option<String>,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let f = query.into_inner();
    let uq = f.to_query(PAGE_SIZE);
    let (page, roles, groups) = ctx
        .db(move |c| {
            let page = search::search(c, &uq)?;
            let roles: Vec<String> = roles::list_roles(c)?.into_iter().map(|r| r.name).collect();
            let groups = roles::list_groups(c)?
                .into_iter()
                .map(|g| (g.group.id, g.group.name))
                .collect::<Vec<_>>();
            Ok((page, roles, groups))
        })
        .await?;
    let (layout, chrome) = frame(&session, &admin, "Users", "users")?;
    let next = page.next.as_deref().map(|n| f.link(n));
    let first = (!f.after.is_empty()).then(|| f.link(""));
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            layout,
            admin: chrome,
            roles,
            groups,
            rows: page.users.into_iter().map(Row::from).collect(),
            next,
            first,
            f,
        },
    ))
}
