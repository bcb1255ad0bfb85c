//! The audit log: filters (event, user, client, outcome, time range),
//! paging by id, export as CSV or JSON (the same filters; at most
//! [`EXPORT_MAX`] rows).

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::audit::{self, EventKind, Filter, Row};
use core_auth::{CoreResult, DbConn};
use serde::Deserialize;
use web_kit::layout::Layout;
use web_kit::util::{render, urlencode};
use web_kit::{AppContext, PageError};

use crate::api::types::AuditEvent;

use crate::guard::RequireAdmin;
use crate::view::{frame, Chrome, Time};

pub const EXPORT_MAX: i64 = 100_000;
const PAGE: i64 = 50;

/// The filter as a query string carries it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Query {
    pub event: String,
    /// A user id or email address (as actor or subject).
    pub user: String,
    pub client: String,
    pub outcome: String,
    /// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` (UTC) or Unix seconds.
    pub from: String,
    pub to: String,
    /// Rows with an id below this (the next page's cursor).
    pub before: String,
    pub format: String,
}

/// Parses a time bound; a bare date is the start of that day (UTC), or its
/// end when `end` is set.
pub fn parse_time(s: &str, end: bool) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(Some(n));
    }
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    let dt_fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    if let Ok(d) = time::Date::parse(s, &date_fmt) {
        let t = d.midnight().assume_utc().unix_timestamp();
        return Ok(Some(if end { t + 86_399 } else { t }));
    }
    if let Ok(d) = time::PrimitiveDateTime::parse(s, &dt_fmt) {
        let t = d.assume_utc().unix_timestamp();
        return Ok(Some(if end { t + 59 } else { t }));
    }
    Err(format!(
        "{s:?} is not a date (YYYY-MM-DD, YYYY-MM-DDTHH:MM) or Unix time."
    ))
}

impl Query {
    /// The filter, with a user given by address resolved to its id.
    pub fn filter(
        &self,
        c: &mut DbConn,
    ) -> CoreResult<Result<Filter, Vec<(&'static str, String)>>> {
        let mut errors = vec![];
        let from = parse_time(&self.from, false).unwrap_or_else(|m| {
            errors.push(("from", m));
            None
        });
        let to = parse_time(&self.to, true).unwrap_or_else(|m| {
            errors.push(("to", m));
            None
        });
        let before_id = match self.before.trim() {
            "" => None,
            b => match b.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(("before", "The cursor is not valid.".to_string()));
                    None
                }
            },
        };
        let event = self.event.trim();
        if !event.is_empty() && EventKind::parse(event).is_none() {
            errors.push((
                "event",
                "Not an event Portcullis writes: pick one from the list.".to_string(),
            ));
        }
        if !matches!(self.outcome.as_str(), "" | "success" | "failure" | "denied") {
            errors.push(("outcome", "Use success, failure or denied.".to_string()));
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let user = self.user.trim();
        let user_id = if user.is_empty() {
            None
        } else {
            Some(
                core_auth::users::find(c, user)?
                    .map(|u| u.id)
                    .unwrap_or_else(|| user.to_string()),
            )
        };
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(Ok(Filter {
            event: opt(&self.event),
            user_id,
            client_id: opt(&self.client),
            outcome: opt(&self.outcome),
            from,
            to,
            before_id,
        }))
    }

    fn link(&self, before: Option<i64>, format: &str) -> String {
        let mut s = format!(
            "?event={}&user={}&client={}&outcome={}&from={}&to={}",
            urlencode(&self.event),
            urlencode(&self.user),
            urlencode(&self.client),
            urlencode(&self.outcome),
            urlencode(&self.from),
            urlencode(&self.to)
        );
        if let Some(b) = before {
            s.push_str(&format!("&before={b}"));
        }
        if !format.is_empty() {
            s.push_str(&format!("&format={format}"));
        }
        s
    }
}

pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// One CSV field: quoted when needed; a leading `= + - @` (a formula in a
/// spreadsheet) is defused with a `'`.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "id,time,event,outcome,actor_user_id,subject_user_id,client_id,ip,user_agent,session_id,detail\r\n",
    );
    for r in rows {
        let fields = [
            r.id.to_string(),
            rfc3339(r.at),
            r.event.clone(),
            r.outcome.clone(),
            r.actor_user_id.clone().unwrap_or_default(),
            r.subject_user_id.clone().unwrap_or_default(),
            r.client_id.clone().unwrap_or_default(),
            r.ip.clone(),
            r.user_agent.clone(),
            r.session_id.clone().unwrap_or_default(),
            r.detail.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The export response for `format` (`csv` or `json`).
pub fn export_response(rows: &[Row], format: &str) -> HttpResponse {
    if format == "json" {
        let body: Vec<AuditEvent> = rows.iter().cloned().map(AuditEvent::from).collect();
        HttpResponse::Ok()
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.json\"",
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body)
    } else {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(to_csv(rows))
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    admin: Chrome,
    q: Query,
    /// The catalogue of events (name, meaning), for the filter's list.
    events: &'static [EventKind],
    rows: Vec<(Row, Time)>,
    errors: Vec<(&'static str, String)>,
    next: Option<String>,
    csv: String,
    json: String,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    query: web::Query<Query>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let q2 = q.clone();
    let result = ctx
        .db(move |c| match q2.filter(c)? {
            Ok(f) => Ok(Ok(audit::query(c, &f, PAGE + 1)?)),
            Err(e) => Ok(Err(e)),
        })
        .await?;
    let (mut rows, errors) = match result {
        Ok(rows) => (rows, vec![]),
        Err(e) => (vec![], e),
    };
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let next = more.then(|| format!("/admin/audit{}", q.link(rows.last().map(|r| r.id), "")));
    let (layout, chrome) = frame(&session, &admin, "Audit log", "audit")?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render(
        status,
        &AuditPage {
            layout,
            admin: chrome,
            csv: format!("/admin/audit/export{}", q.link(None, "csv")),
            json: format!("/admin/audit/export{}", q.link(None, "json")),
            events: EventKind::ALL,
            rows: rows
                .into_iter()
                .map(|r| {
                    let t = Time(r.at);
                    (r, t)
                })
                .collect(),
            errors,
            next,
            q,
        },
    ))
}

/// `GET /admin/audit/export?format=csv|json&…filters`.
pub async fn export(
    ctx: web::Data<AppContext>,
    RequireAdmin(_admin): RequireAdmin,
    query: web::Query<Query>,
) -> Result<HttpResponse, PageError> {
    let q = query.into_inner();
    let format = q.format.clone();
    let rows = ctx
        .db(move |c| match q.filter(c)? {
            Ok(f) => Ok(Some(audit::query(c, &f, EXPORT_MAX)?)),
            Err(_) => Ok(None),
        })
        .await?
        .ok_or_else(|| PageError::BadRequest("The filter is not valid.".into()))?;
    Ok(export_response(&rows, &format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
    }

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("", false), Ok(None));
        assert_eq!(parse_time("1700000000", false), Ok(Some(1_700_000_000)));
        assert_eq!(parse_time("2026-11-27", false), Ok(Some(1_795_737_600)));
        assert_eq!(
            parse_time("2026-11-27", true),
            Ok(Some(1_795_737_600 + 86_399))
        );
        assert_eq!(
            parse_time("2026-11-27T12:00", false),
            Ok(Some(1_795_780_800))
        );
        assert!(parse_time("yesterday", false).is_err());
    }
}
