//! Keys, sessions, the audit log, throttles and the dashboard numbers.

use actix_web::{web, HttpResponse};
use core_auth::admin::{dashboard, sessions};
use core_auth::audit;
use core_auth::keys::store;
use serde::Deserialize;
use utoipa::IntoParams;
use web_kit::AppContext;

use super::auth::ApiAdmin;
use super::extract::{decode_cursor, encode_cursor, limit, ApiQuery};
use super::problem::{ApiError, Problem};
use super::types::{
    AuditEvent, AuditList, Key, KeyList, Rotation, Session, SessionList, SignInBucket, Stats,
    Throttle, ThrottleList,
};
use crate::audit::{export_response, Query, EXPORT_MAX};

/// Signing keys, newest first.
#[utoipa::path(get, path = "/admin/api/v1/keys", tag = "keys",
    responses(
        (status = 200, description = "The keys", body = KeyList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_keys(_: ApiAdmin, ctx: web::Data<AppContext>) -> Result<HttpResponse, ApiError> {
    let cfg = ctx.config.clone();
    let keys = ctx.db(move |c| store::list(c, &cfg)).await?;
    Ok(HttpResponse::Ok().json(KeyList {
        items: keys.into_iter().map(Key::from).collect(),
    }))
}

/// Rotate now: the published next key becomes active, a new next key is made.
#[utoipa::path(post, path = "/admin/api/v1/keys/rotate", tag = "keys",
    responses(
        (status = 200, description = "Rotated", body = Rotation),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn rotate_keys(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let now = ctx.now();
    let ch = ctx
        .call(move |core| core_auth::admin::keys::rotate(core, &admin.actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(Rotation {
        activated: ch.activated,
        retired: ch.retired,
        created: ch.created,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionParams {
    /// Only this user's sessions.
    pub user: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Active sessions, newest first.
#[utoipa::path(get, path = "/admin/api/v1/sessions", tag = "sessions", params(SessionParams),
    responses(
        (status = 200, description = "A page of sessions", body = SessionList),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_sessions(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiQuery(p): ApiQuery<SessionParams>,
) -> Result<HttpResponse, ApiError> {
    let after = decode_cursor(p.cursor.as_deref())?;
    let n = limit(p.limit)?;
    let (now, t) = (ctx.now(), ctx.session_timeouts());
    let page = ctx
        .db(move |c| sessions::list_active(c, now, t, p.user.as_deref(), after.as_deref(), n))
        .await?;
    Ok(HttpResponse::Ok().json(SessionList {
        items: page.items.into_iter().map(Session::from).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// End a session and the tokens issued in it.
#[utoipa::path(delete, path = "/admin/api/v1/sessions/{sid}", tag = "sessions",
    params(("sid" = String, Path, description = "The session's public id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn revoke_session(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (sid, now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| sessions::revoke(core, &admin.actor, &sid, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Event name, e.g. sign_in.
    pub event: Option<String>,
    /// User id or email address, as actor or subject.
    pub user: Option<String>,
    pub client: Option<String>,
    /// success, failure or denied.
    pub outcome: Option<String>,
    /// From this time: YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or Unix seconds.
    pub from: Option<String>,
    /// Until this time (a bare date includes the whole day).
    pub to: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl AuditParams {
    fn query(&self, before: Option<String>) -> Query {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        Query {
            event: s(&self.event),
            user: s(&self.user),
            client: s(&self.client),
            outcome: s(&self.outcome),
            from: s(&self.from),
            to: s(&self.to),
            before: before.unwrap_or_default(),
            format: String::new(),
        }
    }
}

async fn audit_rows(ctx: &AppContext, q: Query, n: i64) -> Result<Vec<audit::Row>, ApiError> {
    let r = ctx
        .db(move |c| match q.filter(c)? {
            Ok(f) => Ok(Ok(audit::query(c, &f, n)?)),
            Err(e) => Ok(Err(e)),
        })
        .await?;
    r.map_err(|e| ApiError::Invalid(e.into_iter().map(|(f, m)| (f.to_string(), m)).collect()))
}

/// Audit events, newest first.
#[utoipa::path(get, path = "/admin/api/v1/audit", tag = "audit", params(AuditParams),
    responses(
        (status = 200, description = "A page of events", body = AuditList),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_audit(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let n = limit(p.limit)?;
    let before = decode_cursor(p.cursor.as_deref())?;
    let mut rows = audit_rows(&ctx, p.query(before), n + 1).await?;
    let more = rows.len() as i64 > n;
    rows.truncate(n as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| encode_cursor(&r.id.to_string())))
        .flatten();
    Ok(HttpResponse::Ok().json(AuditList {
        items: rows.into_iter().map(AuditEvent::from).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// csv (default) or json.
    pub format: Option<String>,
    pub event: Option<String>,
    pub user: Option<String>,
    pub client: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Export matching events (at most 100,000, newest first) as CSV or JSON.
#[utoipa::path(get, path = "/admin/api/v1/audit/export", tag = "audit", params(ExportParams),
    responses(
        (status = 200, description = "The events", content(
            (String = "text/csv"),
            (Vec<AuditEvent> = "application/json"),
        )),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter or format", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn export_audit(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiQuery(p): ApiQuery<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let format = p.format.clone().unwrap_or_else(|| "csv".into());
    if !matches!(format.as_str(), "csv" | "json") {
        return Err(ApiError::field("format", "Use csv or json."));
    }
    let a = AuditParams {
        event: p.event,
        user: p.user,
        client: p.client,
        outcome: p.outcome,
        from: p.from,
        to: p.to,
        ..AuditParams::default()
    };
    let rows = audit_rows(&ctx, a.query(None), EXPORT_MAX).await?;
    Ok(export_response(&rows, &format))
}

/// Addresses throttled right now.
#[utoipa::path(get, path = "/admin/api/v1/throttles", tag = "throttles",
    responses(
        (status = 200, description = "Throttled addresses", body = ThrottleList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_throttles(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let (cfg, now) = (ctx.config.clone(), ctx.now());
    let rows = ctx.db(move |c| dashboard::throttled(c, &cfg, now)).await?;
    Ok(HttpResponse::Ok().json(ThrottleList {
        items: rows
            .into_iter()
            .map(|r| Throttle {
                kind: r.kind,
                key: r.key_hash,
                label: r.label,
                count: r.count,
                window_start: r.window_start,
            })
            .collect(),
    }))
}

/// Lift one throttle.
#[utoipa::path(delete, path = "/admin/api/v1/throttles/{kind}/{key}", tag = "throttles",
    params(("kind" = String, Path, description = "sign_in or reset"), ("key" = String, Path, description = "The throttle's key")),
    responses(
        (status = 204, description = "Lifted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such throttle", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn clear_throttle(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((kind, key), now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| {
        core_auth::admin::dashboard::clear_throttle(core, &admin.actor, &kind, &key, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The dashboard's numbers.
#[utoipa::path(get, path = "/admin/api/v1/stats", tag = "stats",
    responses(
        (status = 200, description = "Counts and sign-in series", body = Stats),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn stats(_: ApiAdmin, ctx: web::Data<AppContext>) -> Result<HttpResponse, ApiError> {
    let (cfg, now, t) = (ctx.config.clone(), ctx.now(), ctx.session_timeouts());
    let d = ctx.db(move |c| dashboard::load(c, &cfg, now, t)).await?;
    Ok(HttpResponse::Ok().json(Stats {
        users: d.users,
        admins: d.admins,
        active_sessions: d.active_sessions,
        outbox_backlog: d.outbox_backlog,
        throttled: d.throttled.len() as i64,
        rotation_due_at: d.rotation.map(|r| r.due_at),
        sign_ins_last_day: d.last_day.into_iter().map(SignInBucket::from).collect(),
        sign_ins_last_month: d.last_month.into_iter().map(SignInBucket::from).collect(),
    }))
}
