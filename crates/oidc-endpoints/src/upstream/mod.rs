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
use core_auth::federation::pending::{PendingLink, PendingLogins};
use core_auth::federation::{store, UpstreamProvider};

pub use client::Upstreams;
use web_kit::context::AppContext;
use web_kit::errors::PageError;
use web_kit::ratelimit::Group;

/// Session keys.
const LOGINS: &str = "upstream_logins";
const LINK: &str = "upstream_link";

pub fn mount(t: &mut web_kit::routes::Table) {
    use actix_web::http::Method;
    use web_kit::routes::Opts;
    // The password check is limited as the sign-in form is; the round
    // trips to a provider as /authorize is.
    let sign_in = Opts::limit(Group::SignIn);
    let round_trip = Opts::limit(Group::Authorize);
    t.add(
        Method::GET,
        "/login/upstream/confirm",
        sign_in,
        confirm::show,
    )
    .add(
        Method::POST,
        "/login/upstream/confirm",
        sign_in,
        confirm::submit,
    )
    .add(
        Method::GET,
        "/login/upstream/{id}",
        round_trip,
        start::sign_in,
    )
    .add(
        Method::POST,
        "/login/upstream/{id}/reauth",
        round_trip,
        start::reauth,
    )
    .add(
        Method::GET,
        "/login/upstream/{id}/callback",
        round_trip,
        callback::callback,
    )
    .post("/account/links/add", start::link)
    .post("/account/links/remove", links::remove);
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
    let (cfg, keys, uid) = (ctx.config.clone(), ctx.keys.clone(), user_id.to_string());
    Ok(ctx
        .db(move |c| store::linked_enabled(c, &cfg, keys.kek(), &uid))
        .await?)
}
