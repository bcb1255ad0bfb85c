//! Starting a round trip to a provider: from the sign-in page (GET, keeps
//! `next`), from the account page to add a link (POST with CSRF, for the
//! signed-in user), or to confirm who the signed-in user is through a
//! provider they linked (POST with CSRF; the admin console's password
//! check offers it).

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::federation::pending::PendingLogin;
use core_auth::federation::UpstreamProvider;
use serde::Deserialize;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::CurrentUser;
use web_kit::layout::Layout;
use web_kit::util::{local_path, render, see_other};

use super::pages::{back_to, error_page};
use super::{load_logins, provider, save_logins, Upstreams};
use crate::ProtocolState;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct StartQuery {
    next: String,
}

/// `GET /login/upstream/{id}?next=`: off to the provider.
pub async fn sign_in(
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    session: Session,
    id: web::Path<String>,
    q: web::Query<StartQuery>,
) -> Result<HttpResponse, PageError> {
    let next = local_path(&q.next).unwrap_or_default();
    let Some(p) = provider(&ctx, &id).await? else {
        return Err(PageError::NotFound);
    };
    begin(&ctx, &state.upstream, &session, &p, &next, "").await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LinkForm {
    csrf_token: String,
    provider: String,
}

#[derive(Template)]
#[template(path = "upstream_redirect.html")]
struct ContinuePage {
    layout: Layout,
    provider: String,
    url: String,
}

/// `POST /account/links/add`: link another provider to this account. The
/// answer is a page with a link to the provider rather than a redirect,
/// so the account holder sees where they are sent before they leave.
pub async fn link(
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    session: Session,
    user: CurrentUser,
    form: Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let Some(p) = provider(&ctx, &form.provider).await? else {
        return Err(PageError::NotFound);
    };
    let resp = begin(&ctx, &state.upstream, &session, &p, "/account", user.id()).await?;
    let to_provider = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .filter(|_| resp.status() == StatusCode::SEE_OTHER)
        .map(str::to_string);
    Ok(match to_provider {
        Some(url) => {
            let csrf = csrf::token(&session)?;
            render(
                StatusCode::OK,
                &ContinuePage {
                    layout: Layout::for_user("Link an account", &user, &csrf),
                    provider: p.display_name.clone(),
                    url,
                },
            )
        }
        None => resp,
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ReauthForm {
    csrf_token: String,
    next: String,
}

/// `POST /login/upstream/{id}/reauth`: the signed-in user confirms who they
/// are with a fresh sign-in at provider `id` (OpenID Connect providers are
/// asked for `prompt=login` and `max_age=0`), instead of their password.
/// Only a provider linked to their account will do; the callback checks
/// that the identity is that link, then the session's sign-in time is now.
pub async fn reauth(
    ctx: web::Data<AppContext>,
    state: web::Data<ProtocolState>,
    session: Session,
    user: CurrentUser,
    id: web::Path<String>,
    form: Form<ReauthForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let Some(p) = provider(&ctx, &id).await? else {
        return Err(PageError::NotFound);
    };
    let (uid, pid) = (user.id().to_string(), p.id.clone());
    let linked = ctx
        .db(move |c| core_auth::federation::links::for_user(c, &uid))
        .await?
        .iter()
        .any(|l| l.provider == pid);
    if !linked {
        return Err(PageError::NotFound);
    }
    let next = local_path(&form.next).unwrap_or_else(|| "/account".into());
    let now = ctx.now();
    let pending = PendingLogin::for_reauth(&p.id, &next, user.id(), now);
    redirect(&ctx, &state.upstream, &session, &p, pending).await
}

async fn begin(
    ctx: &AppContext,
    upstreams: &Upstreams,
    session: &Session,
    p: &UpstreamProvider,
    next: &str,
    link_user_id: &str,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let pending = PendingLogin::new(&p.id, next, link_user_id, now);
    redirect(ctx, upstreams, session, p, pending).await
}

/// Off to the provider with `pending` kept in the session; or, when the
/// provider cannot be reached, a page with the way back.
async fn redirect(
    ctx: &AppContext,
    upstreams: &Upstreams,
    session: &Session,
    p: &UpstreamProvider,
    pending: PendingLogin,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    // A signed-in user (adding a link, confirming who they are) goes back
    // to their account, not to the sign-in page.
    let back = back_to(
        &pending.next,
        !pending.link_user_id.is_empty() || pending.is_reauth(),
    );
    let redirect_uri = p.redirect_uri(&ctx.config.issuer);
    match upstreams
        .authorize_url(p, &redirect_uri, &pending, now)
        .await
    {
        Ok(url) => {
            let mut list = load_logins(session);
            list.put(pending, now);
            save_logins(session, &list)?;
            Ok(see_other(&url))
        }
        Err(e) => {
            tracing::warn!(target: "upstream", provider = %p.id, reason = e.code(), error = %e, "upstream sign-in could not start");
            Ok(error_page(
                StatusCode::BAD_GATEWAY,
                &format!("{} is not available", p.display_name),
                &format!(
                    "We could not reach {} to sign you in. Please try again in a moment, or sign in another way.",
                    p.display_name
                ),
                back,
            ))
        }
    }
}
