//! Writing audit events from handlers: who (the signed-in user, if any) and
//! from where (client IP, user agent, session) come from the request.

use actix_web::HttpRequest;
use core_auth::actor::Actor;
use core_auth::audit::{self, Event};

use crate::context::AppContext;
use crate::identity::CurrentUser;
use crate::util::{client_ip, user_agent};

/// The request's part of an audit row.
pub fn meta(req: &HttpRequest, actor: Option<&CurrentUser>) -> Actor {
    let base = Actor::anonymous(client_ip(req), user_agent(req));
    match actor {
        Some(u) => base.signed_in(u.id(), &u.sid, u.auth_time),
        None => base,
    }
}

/// Appends an event that has no transaction of its own (a refusal, a
/// denial: nothing changed that the row could join). A failure to write it
/// is logged as an error and counted in `/metrics`
/// (`portcullis_audit_write_failures_total`), never dropped silently; it is
/// not shown to the person. An event that records a change is written by
/// the change's use case in core-auth, in the change's transaction.
pub async fn record(ctx: &AppContext, meta: Actor, e: Event) {
    let now = ctx.now();
    let event = e.event.as_str();
    if let Err(err) = ctx.db(move |c| audit::record(c, &meta, e, now)).await {
        ctx.metrics.audit_write_failed(event);
        tracing::error!(event, error = %err, "could not write an audit event");
    }
}
