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

/// Appends an event. A failure to write it is logged, not shown to the
/// person (the change it reports has already happened).
pub async fn record(ctx: &AppContext, meta: Actor, e: Event) {
    let now = ctx.now();
    let event = e.event;
    if let Err(err) = ctx.db(move |c| audit::record(c, &meta, e, now)).await {
        tracing::error!(event, error = %err, "could not write an audit event");
    }
}
