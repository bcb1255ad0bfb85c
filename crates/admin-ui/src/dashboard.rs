//! `GET /admin`: the dashboard (with a warning when enabled administrators
//! have no second factor). `POST /admin/throttles/{kind}/{key}/clear`
//! lifts one throttle listed there.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::dashboard::{self, Dashboard};
use core_auth::mfa::policy;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, PageError};

use crate::chart;
use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome, Time};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    admin: Chrome,
    d: Dashboard,
    day_chart: String,
    month_chart: String,
    day_totals: (i64, i64),
    month_totals: (i64, i64),
    rotation_due: String,
    throttled: Vec<(String, String, String, Time)>,
    backend: &'static str,
    /// Enabled administrators with no second factor.
    admins_without_factor: i64,
    /// `mfa.required_for_roles` holds `admin`: they enrol at their next sign-in.
    admins_required: bool,
}

fn totals(b: &[dashboard::Bucket]) -> (i64, i64) {
    b.iter()
        .fold((0, 0), |(s, f), x| (s + x.success, f + x.failure))
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let t = ctx.session_timeouts();
    let cfg = ctx.config.clone();
    let (d, backend, admins_without_factor) = ctx
        .db(move |c| {
            Ok((
                dashboard::load(c, &cfg, now, t)?,
                c.backend(),
                policy::admins_without_factor(c)?,
            ))
        })
        .await?;
    let (layout, chrome) = frame(&session, &admin, "Admin", "dashboard")?;
    let window = ctx.config.throttle.sign_in_window_secs;
    let page = DashboardPage {
        layout,
        admin: chrome,
        day_chart: chart::svg(&d.last_day, true, "Sign-ins, last 24 hours"),
        month_chart: chart::svg(&d.last_month, false, "Sign-ins, last 30 days"),
        day_totals: totals(&d.last_day),
        month_totals: totals(&d.last_month),
        rotation_due: d
            .rotation
            .as_ref()
            .map(|r| Time(r.due_at).to_string())
            .unwrap_or_default(),
        throttled: d
            .throttled
            .iter()
            .map(|r| {
                let window = if r.kind == "sign_in" {
                    window
                } else {
                    ctx.config.throttle.reset_window_secs
                };
                (
                    r.kind.clone(),
                    r.key_hash.clone(),
                    r.label.clone(),
                    Time(r.window_start + window),
                )
            })
            .collect(),
        d,
        backend,
        admins_without_factor,
        admins_required: ctx
            .config
            .mfa
            .required_for_roles
            .iter()
            .any(|r| r == core_auth::users::ROLE_ADMIN),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/throttles/{kind}/{key}/clear`.
pub async fn clear_throttle(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<(String, String)>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let (kind, key) = path.into_inner();
    let actor = form.actor();
    let now = ctx.now();
    ctx.call(move |core| dashboard::clear_throttle(core, &actor, &kind, &key, now))
        .await?;
    flash(&session, "The throttle was lifted.");
    Ok(see_other("/admin"))
}
