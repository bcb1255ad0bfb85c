//! Active sessions: user, applications, IP address, browser, started, last
//! seen; ending one.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::sessions::{self, SessionInfo};
use serde::Deserialize;
use web_kit::layout::Layout;
use web_kit::util::{local_path, render, see_other, urlencode};
use web_kit::{AppContext, PageError};

use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome, Time};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Query {
    pub after: String,
}

#[derive(Template)]
#[template(path = "admin/sessions.html")]
struct SessionsPage {
    layout: Layout,
    admin: Chrome,
    rows: Vec<(SessionInfo, Time, Time)>,
    next: Option<String>,
    first: bool,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    query: web::Query<Query>,
) -> Result<HttpResponse, PageError> {
    let (now, t) = (ctx.now(), ctx.session_timeouts());
    let after = Some(query.after.clone()).filter(|a| !a.is_empty());
    let first = after.is_none();
    let page = ctx
        .db(move |c| sessions::list_active(c, now, t, None, after.as_deref(), 50))
        .await?;
    let (layout, chrome) = frame(&session, &admin, "Sessions", "sessions")?;
    Ok(render(
        StatusCode::OK,
        &SessionsPage {
            layout,
            admin: chrome,
            next: page
                .next
                .map(|n| format!("/admin/sessions?after={}", urlencode(&n))),
            rows: page
                .items
                .into_iter()
                .map(|s| {
                    let (a, b) = (Time(s.created_at), Time(s.last_seen_at));
                    (s, a, b)
                })
                .collect(),
            first,
        },
    ))
}

/// `POST /admin/sessions/{sid}/revoke`: ends the session and its tokens.
pub async fn revoke(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let sid = path.into_inner();
    let actor = form.actor();
    let now = ctx.now();
    ctx.call(move |core| sessions::revoke(core, &actor, &sid, now))
        .await?;
    flash(&session, "The session has ended.");
    let back = local_path(form.get("next")).unwrap_or_else(|| "/admin/sessions".into());
    Ok(see_other(&back))
}
