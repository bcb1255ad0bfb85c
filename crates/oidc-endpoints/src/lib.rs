//! The HTTP face of Portcullis: protocol endpoints and the sign-in,
//! registration and account pages. Handlers are thin: extract, authorize,
//! call `core-auth` inside `web::block`, map the error. What they share
//! with the console (context, page errors and layout, forms, CSRF,
//! identity, route table) is `web_kit`'s.

pub mod authorize;
pub mod discovery;
pub mod end_session;
pub mod jwks_fetch;
pub mod pages;
pub mod protocol;
pub mod state;
pub mod upstream;

use actix_web::web;

pub use state::ProtocolState;
use web_kit::routes;

/// Mounts every route of this crate.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut t = routes::Table::new(cfg);
    mount(&mut t);
    t.finish();
}

/// Every route of this crate, as mounted (see [`routes`]).
pub fn route_table() -> Vec<routes::RouteInfo> {
    let mut t = routes::Table::listing();
    mount(&mut t);
    t.finish()
}

fn mount(t: &mut routes::Table) {
    discovery::mount(t);
    protocol::mount(t);
    authorize::mount(t);
    end_session::mount(t);
    pages::mount(t);
    upstream::mount(t);
}
