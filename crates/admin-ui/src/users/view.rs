//! `GET /admin/users/{id}`: profile, roles, groups, sessions, consents,
//! linked identities, second factors, the latest audit events, and the
//! actions.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::users::{self, UserDetail};
use web_kit::layout::Layout;
use web_kit::util::render;
use web_kit::{AppContext, PageError};

use super::mfa::Section;
use crate::api::mfa::summary;
use crate::guard::RequireAdmin;
use crate::view::{frame, Chrome, Time};

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    layout: Layout,
    admin: Chrome,
    d: UserDetail,
    created: Time,
    updated: Time,
    sessions: Vec<(String, String, String, Time, Time, String)>,
    consents: Vec<(String, String, String, Time)>,
    identities: Vec<(String, String, String, Time)>,
    events: Vec<(Time, String, String, String)>,
    profile: Vec<(String, String)>,
    is_self: bool,
    mfa: Section,
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let (now, t, cfg) = (ctx.now(), ctx.session_timeouts(), ctx.config.clone());
    let (d, mfa) = ctx
        .db(move |c| {
            let d = users::detail(c, &cfg, &id, now, t)?;
            let mfa = summary(c, &cfg, &id)?;
            Ok((d, mfa))
        })
        .await?;
    let (layout, chrome) = frame(&session, &admin, &d.user.user.name, "users")?;
    let profile =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&d.user.user.profile)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
    let page = UserPage {
        layout,
        admin: chrome,
        created: Time(d.user.user.created_at),
        updated: Time(d.user.user.updated_at),
        sessions: d
            .sessions
            .iter()
            .map(|s| {
                (
                    s.sid.clone(),
                    s.ip.clone(),
                    s.user_agent.clone(),
                    Time(s.created_at),
                    Time(s.last_seen_at),
                    s.clients.join(", "),
                )
            })
            .collect(),
        consents: d
            .consents
            .iter()
            .map(|c| {
                (
                    c.client_id.clone(),
                    c.client_name.clone(),
                    c.scopes.join(" "),
                    Time(c.granted_at),
                )
            })
            .collect(),
        identities: d
            .identities
            .iter()
            .map(|i| {
                (
                    i.provider.clone(),
                    i.subject.clone(),
                    i.email.clone(),
                    Time(i.last_used_at),
                )
            })
            .collect(),
        events: d
            .recent_events
            .iter()
            .map(|e| {
                (
                    Time(e.at),
                    e.event.clone(),
                    e.outcome.clone(),
                    e.detail.clone(),
                )
            })
            .collect(),
        profile,
        is_self: d.user.user.id == admin.id(),
        mfa: Section::new(mfa),
        d,
    };
    Ok(render(StatusCode::OK, &page))
}
