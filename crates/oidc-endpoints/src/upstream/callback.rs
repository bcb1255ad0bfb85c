//! `GET /login/upstream/{id}/callback`: the provider sends the browser back.
//! The `state` must be one this session started (each works once); then
//! the code is exchanged, the identity validated, and the decision of
//! `federation::login::resolve` carried out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::actor::Actor;
use core_auth::audit::Event;
use core_auth::audit::EventKind;
use core_auth::federation::login::{self, Mode, Resolution};
use core_auth::federation::pending::PendingLink;
use serde::Deserialize;

use super::client::UpstreamError;
use super::pages::{back_to, error_page};
use super::{load_logins, provider, save_logins, session_err, LINK};
use crate::auditing;
use crate::context::AppContext;
use crate::errors::PageError;
use crate::identity::{self, MaybeUser};
use crate::util::{local_path, see_other, urlencode};

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    state: String,
    code: String,
    error: String,
    error_description: String,
    iss: Option<String>,
}

/// A sign-in through `provider` that did not happen, for the audit log.
fn failed(provider: &str, reason: &str) -> Event {
    Event::failure(EventKind::SignIn)
        .with("method", "upstream")
        .with("provider", provider)
        .with("reason", reason)
}

/// A provider's error code, shown only when it is a plain token.
fn plain(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(s)
}

pub async fn callback(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    id: web::Path<String>,
    q: web::Query<CallbackQuery>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let now = ctx.now();
    let mut list = load_logins(&session);
    let pending = list.take(&q.state, now);
    save_logins(&session, &list)?;
    let Some(pending) = pending.filter(|p| p.provider == id) else {
        let e = failed(&id, "bad_state");
        auditing::record(&ctx, auditing::meta(&req, user.0.as_ref()), e).await;
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "The answer from the sign-in provider does not belong to a sign-in started in this browser, or it was already used or is too old. Please start again.",
            back_to("", false),
        ));
    };
    let linking = !pending.link_user_id.is_empty();
    let next = local_path(&pending.next).unwrap_or_default();
    let reauth = pending.is_reauth();
    let back = || {
        if reauth {
            (next.clone(), "Back")
        } else {
            back_to(&next, linking)
        }
    };
    let Some(p) = provider(&ctx, &id).await? else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Sign-in provider unavailable",
            "This sign-in provider is no longer available here. Please sign in another way.",
            back(),
        ));
    };
    let name = p.display_name.clone();
    if !q.error.is_empty() || q.code.is_empty() {
        let code = plain(&q.error).unwrap_or("no_code");
        let e = failed(&p.id, "provider_error").with("error", code);
        auditing::record(&ctx, auditing::meta(&req, user.0.as_ref()), e).await;
        let message = match code {
            "access_denied" => format!("You did not allow {name} to sign you in here, so you are not signed in."),
            "no_code" => format!("{name} sent you back without a sign-in. Please try again."),
            other => format!("{name} could not sign you in (it reported \u{201c}{other}\u{201d}). Please try again."),
        };
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Sign-in cancelled",
            &message,
            back(),
        ));
    }
    let redirect_uri = p.redirect_uri(&ctx.config.issuer);
    let found = ctx
        .upstream
        .identify(&p, &redirect_uri, &pending, &q.code, q.iss.as_deref(), now)
        .await;
    let who = match found {
        Ok(who) => who,
        Err(e) => {
            tracing::warn!(target: "upstream", provider = %p.id, error = %e, "upstream sign-in failed");
            let ev = failed(&p.id, e.code());
            auditing::record(&ctx, auditing::meta(&req, user.0.as_ref()), ev).await;
            let (status, heading, message) = match &e {
                UpstreamError::Unreachable(_) => (
                    StatusCode::BAD_GATEWAY,
                    format!("{name} could not be reached"),
                    format!("We could not finish signing you in because {name} did not answer. Please try again in a moment."),
                ),
                UpstreamError::CodeRejected(_) => (
                    StatusCode::BAD_REQUEST,
                    "This sign-in has expired".to_string(),
                    format!("{name} no longer accepts this sign-in (it took too long, or it was already used). Please start again."),
                ),
                UpstreamError::InvalidIdToken(_) | UpstreamError::BadResponse(_) => (
                    StatusCode::BAD_GATEWAY,
                    "Sign-in could not be verified".to_string(),
                    format!("The answer from {name} could not be verified, so you are not signed in. Please try again, or sign in another way."),
                ),
            };
            return Ok(error_page(status, &heading, &message, back()));
        }
    };
    if reauth {
        return confirm_identity(&req, &ctx, &session, &user, &p, &who, &pending).await;
    }
    let mode = if linking {
        match &user.0 {
            Some(u) if u.id() == pending.link_user_id => Mode::Link {
                user_id: u.id().to_string(),
            },
            _ => {
                return Ok(error_page(
                    StatusCode::FORBIDDEN,
                    "Signed out",
                    "You were signed out before the link was made. Sign in and try again.",
                    back_to("/account", false),
                ))
            }
        }
    } else {
        Mode::SignIn
    };
    let (p2, who2, mode2) = (p.clone(), who.clone(), mode);
    let sid = identity::new_sid();
    let actor = Actor {
        session_id: Some(sid.clone()),
        ..auditing::meta(&req, user.0.as_ref())
    };
    let resolution = ctx
        .db(move |c| login::resolve(c, &actor, &p2, &who2, &mode2, now))
        .await?;
    match resolution {
        Resolution::SignIn { user_id, .. } => {
            let amr = who.session_amr();
            let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
            identity::sign_in(&session, &req, &user_id, &sid, now, &amr)?;
            ctx.metrics.sign_in("success");
            Ok(see_other(if next.is_empty() { "/account" } else { &next }))
        }
        Resolution::Linked => Ok(see_other(&format!("/account?linked={}", urlencode(&p.id)))),
        Resolution::ConfirmWithPassword { user_id } => {
            let link = PendingLink::new(&p.id, &who, &user_id, &next, now);
            session.insert(LINK, &link).map_err(session_err)?;
            Ok(see_other("/login/upstream/confirm"))
        }
        Resolution::Refused(r) => {
            let e = if linking {
                Event::failure(EventKind::UpstreamLinkCreated)
                    .subject(&pending.link_user_id)
                    .with("provider", p.id.as_str())
                    .with("reason", r.code())
            } else {
                failed(&p.id, r.code())
            };
            auditing::record(&ctx, auditing::meta(&req, user.0.as_ref()), e).await;
            Ok(error_page(
                StatusCode::FORBIDDEN,
                "Sign-in refused",
                &r.message(&name),
                back(),
            ))
        }
    }
}

/// The end of a re-authentication round trip: the identity must be the
/// provider's link to the signed-in user who started it; then the
/// session's sign-in time is now. Audited either way (`reauth`).
async fn confirm_identity(
    req: &HttpRequest,
    ctx: &web::Data<AppContext>,
    session: &Session,
    user: &MaybeUser,
    p: &core_auth::federation::UpstreamProvider,
    who: &core_auth::federation::identity::UpstreamIdentity,
    pending: &core_auth::federation::pending::PendingLogin,
) -> Result<HttpResponse, PageError> {
    let next = local_path(&pending.next).unwrap_or_default();
    let back = (next.clone(), "Back");
    let Some(current) = user.0.as_ref().filter(|u| u.id() == pending.reauth_user_id) else {
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Signed out",
            "You were signed out before you came back. Sign in and try again.",
            back_to("", false),
        ));
    };
    let (pid, subject) = (p.id.clone(), who.subject.clone());
    let link = ctx
        .db(move |c| core_auth::federation::links::find(c, &pid, &subject))
        .await?;
    let meta = auditing::meta(req, Some(current));
    if link.is_none_or(|l| l.user_id != current.id()) {
        let e = Event::failure(EventKind::Reauth)
            .subject(current.id())
            .with("method", "upstream")
            .with("provider", p.id.as_str())
            .with("reason", "other_account");
        auditing::record(ctx, meta, e).await;
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Not your linked account",
            &format!(
                "You signed in to {} as someone whose account is not linked to yours here, so nothing was confirmed.",
                p.display_name
            ),
            back,
        ));
    }
    session
        .insert(core_auth::sessions::keys::AUTH_TIME, ctx.now())
        .map_err(super::session_err)?;
    let e = Event::success(EventKind::Reauth)
        .subject(current.id())
        .with("method", "upstream")
        .with("provider", p.id.as_str());
    auditing::record(ctx, meta, e).await;
    Ok(see_other(if next.is_empty() { "/account" } else { &next }))
}
