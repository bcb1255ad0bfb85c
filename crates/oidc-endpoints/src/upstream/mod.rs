//! Sign-in through upstream providers, the HTTP side:
//!
//! - `GET /login/upstream/{id}?next=` sends the browser to the provider
//!   (`state`, `nonce` and PKCE verifier kept in the server-side session);
//! - `GET /login/upstream/{id}/callback` checks `state`, exchanges the code,
//!   validates the identity and signs the person in (or links, or asks for a
//!   password first), then continues to `next`;
//! - `GET|POST /login/upstream/confirm`: the password that confirms a link
//!   to an existing account;
//! - `POST /account/links/add` and `POST /account/links/remove` on the
//!   account page.
//!
//! The decisions are `core_auth::federation`'s; this module talks HTTP.

mod callback;
pub mod client;
mod confirm;
pub mod links;
pub mod pages;
mod start;

use actix_session::Session;
use actix_web::web;
use core_auth::federation::pending::{PendingLink, PendingLogins};
use core_auth::federation::{store, UpstreamProvider};

use crate::context::AppContext;
use crate::errors::PageError;
use crate::ratelimit::{Group, RateLimit};

pub use client::Upstreams;

/// Session keys.
const LOGINS: &str = "upstream_logins";
const LINK: &str = "upstream_link";

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The password check is limited as the sign-in form is; the round
    // trips to a provider as /authorize is.
    cfg.service(
        web::resource("/login/upstream/confirm")
            .wrap(RateLimit(Group::SignIn))
            .route(web::get().to(confirm::show))
            .route(web::post().to(confirm::submit)),
    )
    .service(
        web::resource("/login/upstream/{id}")
            .wrap(RateLimit(Group::Authorize))
            .route(web::get().to(start::sign_in)),
    )
    .service(
        web::resource("/login/upstream/{id}/reauth")
            .wrap(RateLimit(Group::Authorize))
            .route(web::post().to(start::reauth)),
    )
    .service(
        web::resource("/login/upstream/{id}/callback")
            .wrap(RateLimit(Group::Authorize))
            .route(web::get().to(callback::callback)),
    )
    .route("/account/links/add", web::post().to(start::link))
    .route("/account/links/remove", web::post().to(links::remove));
}

fn session_err(e: impl std::fmt::Display) -> PageError {
    PageError::BadRequest(format!("session: {e}"))
}

fn load_logins(session: &Session) -> PendingLogins {
    session
        .get::<PendingLogins>(LOGINS)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn save_logins(session: &Session, list: &PendingLogins) -> Result<(), PageError> {
    session.insert(LOGINS, list).map_err(session_err)
}

fn load_link(session: &Session) -> Option<PendingLink> {
    session.get::<PendingLink>(LINK).ok().flatten()
}

/// The enabled provider `id` (configured or stored), if there is one.
pub async fn provider(ctx: &AppContext, id: &str) -> Result<Option<UpstreamProvider>, PageError> {
    let id = id.to_string();
    let (cfg, keys) = (ctx.config.clone(), ctx.keys.clone());
    Ok(ctx
        .db(move |c| store::find_enabled(c, &cfg, keys.kek(), &id))
        .await?)
}

/// Every enabled provider, in configuration order.
pub async fn enabled(ctx: &AppContext) -> Result<Vec<UpstreamProvider>, PageError> {
    let (cfg, keys) = (ctx.config.clone(), ctx.keys.clone());
    Ok(ctx
        .db(move |c| store::all(c, &cfg, keys.kek()))
        .await?
        .into_iter()
        .filter(|p| p.enabled)
        .collect())
}

/// The enabled providers linked to the user `user_id`: (id, display name),
/// for "Confirm with …" buttons (`POST /login/upstream/{id}/reauth`).
pub async fn linked_providers(
    ctx: &AppContext,
    user_id: &str,
) -> Result<Vec<(String, String)>, PageError> {
    let uid = user_id.to_string();
    let links = ctx
        .db(move |c| core_auth::federation::links::for_user(c, &uid))
        .await?;
    Ok(enabled(ctx)
        .await?
        .into_iter()
        .filter(|p| links.iter().any(|l| l.provider == p.id))
        .map(|p| (p.id, p.display_name))
        .collect())
}
