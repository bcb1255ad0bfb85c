//! `GET /login/upstream/{id}/callback`: the provider sends the browser back.
//! The `state` must be one this session started (each works once); then
//! the code is exchanged and the identity validated (`answers::identify`),
//! and `core_auth::federation::finish` decides and writes what it leads
//! to. This handler carries the decision out in the browser session.

mod answers;

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::federation::finish::{finish, Finished};
use core_auth::federation::login::failed;
use core_auth::sessions::keys;
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::errors::PageError;
use web_kit::identity::{self, MaybeUser};
use web_kit::util::{local_path, see_other, urlencode};

use super::{load_logins, provider, save_logins, session_err, LINK};
use crate::pages::mfa::after_first_factor;
use crate::ProtocolState;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    state: String,
    code: String,
    error: String,
    error_description: String,
    iss: Option<String>,
}

pub async fn callback(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    session: Session,
    user: MaybeUser,
    id: web::Path<String>,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let (id, now) = (id.into_inner(), ctx.now());
    let actor = auditing::meta(&req, user.0.as_ref());
    let mut list = load_logins(&session);
    let pending = list.take(&q.state, now).filter(|p| p.provider == id);
    save_logins(&session, &list)?;
    let Some(pending) = pending else {
        auditing::record(&ctx, actor, failed(&id, "bad_state")).await;
        return Ok(answers::bad_state());
    };
    let Some(p) = provider(&ctx, &id).await? else {
        return Ok(answers::unavailable(answers::back(&pending)));
    };
    let who = match answers::identify(&ctx, &state.upstream, &p, &pending, &q, now).await {
        Ok(who) => who,
        Err(f) => {
            auditing::record(&ctx, actor, f.event(&p.id)).await;
            return Ok(f.page(&p.display_name, answers::back(&pending)));
        }
    };
    let upstream_mfa = p.trust_mfa && who.amr.iter().any(|a| a == "mfa");
    let sid = identity::new_sid();
    let (pending2, p2, sid2) = (pending.clone(), p.clone(), sid.clone());
    let done = ctx
        .db(move |c| finish(c, &actor, &pending2, &p2, &who, &sid2, now))
        .await?;
    let next = local_path(&pending.next).unwrap_or_default();
    match done {
        Finished::SignIn { user_id, amr } => {
            ctx.metrics.sign_in("success");
            let trusted = p.trust_mfa && amr.iter().any(|a| a == "mfa");
            let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
            after_first_factor(&ctx, &session, &req, &user_id, &sid, &amr, &next, trusted).await
        }
        Finished::Linked => Ok(see_other(&format!("/account?linked={}", urlencode(&p.id)))),
        Finished::ConfirmWithPassword(link) => {
            session.insert(LINK, &link).map_err(session_err)?;
            Ok(see_other("/login/upstream/confirm"))
        }
        Finished::Reauthenticated => {
            // An account with a second factor confirms with it too, unless
            // this provider is trusted for its own (and used it).
            if let Some(u) = user.0.as_ref().filter(|_| !upstream_mfa) {
                if let Some(step) =
                    crate::pages::mfa::reauth_second_factor(&ctx, &session, u, &next).await?
                {
                    return Ok(step);
                }
            }
            session.insert(keys::AUTH_TIME, now).map_err(session_err)?;
            Ok(see_other(if next.is_empty() { "/account" } else { &next }))
        }
        Finished::NotLinkedToYou => Ok(answers::not_linked(&pending, &p.display_name)),
        Finished::SignedOut => Ok(answers::signed_out(&pending)),
        Finished::Refused(r) => Ok(answers::refused(r, &pending, &p.display_name)),
    }
}
