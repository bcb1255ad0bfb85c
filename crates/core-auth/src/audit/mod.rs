//! The security audit log: an append-only table of security events, each
//! also written to tracing under target `audit` as one structured line.
//! Never a password, secret, code or token: details are small JSON objects
//! of identifiers and reasons.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::actor::Actor;
use crate::clock::UnixTime;
use crate::db::schema::audit_log;
use crate::db::DbConn;
use crate::error::CoreResult;

mod kind;
pub use kind::EventKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One event.
#[derive(Debug, Clone)]
pub struct Event {
    pub event: EventKind,
    pub outcome: Outcome,
    pub subject_user_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: Value,
}

impl Event {
    pub fn new(event: EventKind, outcome: Outcome) -> Self {
        Event {
            event,
            outcome,
            subject_user_id: None,
            client_id: None,
            detail: Value::Object(Default::default()),
        }
    }

    pub fn success(event: EventKind) -> Self {
        Self::new(event, Outcome::Success)
    }

    pub fn failure(event: EventKind) -> Self {
        Self::new(event, Outcome::Failure)
    }

    pub fn subject(mut self, user_id: impl Into<String>) -> Self {
        self.subject_user_id = Some(user_id.into());
        self
    }

    pub fn client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Adds `key: value` to the detail object. `key` must be one of the
    /// event's declared fields ([`EventKind::fields`]; checked in debug builds).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        debug_assert!(
            self.event.fields().contains(&key),
            "audit event {} declares no field {key}",
            self.event
        );
        if let Value::Object(m) = &mut self.detail {
            m.insert(key.to_string(), value.into());
        }
        self
    }
}

/// Appends `e` to the audit log (in the caller's transaction, if any) and
/// logs it.
pub fn record(conn: &mut DbConn, meta: &Actor, e: Event, now: UnixTime) -> CoreResult<()> {
    let detail = e.detail.to_string();
    let client_id = e.client_id.as_ref().or(meta.actor_client_id.as_ref());
    tracing::info!(
        target: "audit",
        event = e.event.as_str(),
        outcome = e.outcome.as_str(),
        actor = meta.actor_user_id.as_deref().unwrap_or(""),
        subject = e.subject_user_id.as_deref().unwrap_or(""),
        client = client_id.map(String::as_str).unwrap_or(""),
        ip = %meta.ip,
        session = meta.session_id.as_deref().unwrap_or(""),
        detail = %detail,
        "audit"
    );
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(now),
            audit_log::event.eq(e.event.as_str()),
            audit_log::outcome.eq(e.outcome.as_str()),
            audit_log::actor_user_id.eq(&meta.actor_user_id),
            audit_log::subject_user_id.eq(&e.subject_user_id),
            audit_log::client_id.eq(client_id),
            audit_log::ip.eq(&meta.ip),
            audit_log::user_agent.eq(meta.user_agent.chars().take(512).collect::<String>()),
            audit_log::session_id.eq(&meta.session_id),
            audit_log::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct Row {
    pub id: i64,
    pub at: UnixTime,
    pub event: String,
    pub outcome: String,
    pub actor_user_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub session_id: Option<String>,
    pub detail: String,
}

/// Filters for reading the log, newest first, keyset-paged by id.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub event: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<UnixTime>,
    pub to: Option<UnixTime>,
    /// Only rows with an id below this (the cursor of the previous page).
    pub before_id: Option<i64>,
}

pub fn query(conn: &mut DbConn, f: &Filter, limit: i64) -> CoreResult<Vec<Row>> {
    let mut q = audit_log::table.select(Row::as_select()).into_boxed();
    if let Some(e) = &f.event {
        q = q.filter(audit_log::event.eq(e.clone()));
    }
    if let Some(u) = &f.user_id {
        q = q.filter(
            audit_log::subject_user_id
                .eq(u.clone())
                .or(audit_log::actor_user_id.eq(u.clone())),
        );
    }
    if let Some(c) = &f.client_id {
        q = q.filter(audit_log::client_id.eq(c.clone()));
    }
    if let Some(o) = &f.outcome {
        q = q.filter(audit_log::outcome.eq(o.clone()));
    }
    if let Some(t) = f.from {
        q = q.filter(audit_log::at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(audit_log::at.le(t));
    }
    if let Some(b) = f.before_id {
        q = q.filter(audit_log::id.lt(b));
    }
    Ok(q.order(audit_log::id.desc()).limit(limit).load(conn)?)
}
