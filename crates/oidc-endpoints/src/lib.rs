//! The HTTP face of Portcullis: protocol endpoints and the sign-in,
//! registration and account pages. Handlers are thin: extract, authorize,
//! call `core-auth` inside `web::block`, map the error.

pub mod auditing;
pub mod authorize;
pub mod context;
pub mod csrf;
pub mod discovery;
pub mod end_session;
pub mod errors;
pub mod form;
pub mod health;
pub mod identity;
pub mod jwks_fetch;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod protocol;
pub mod ratelimit;
pub mod routes;
pub mod session_store;
pub mod slow_clients;
pub mod static_files;
pub mod upstream;
pub mod util;

use actix_web::web;

pub use context::AppContext;
pub use errors::PageError;
pub use identity::{CurrentUser, MaybeUser};

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
    health::mount(t);
    static_files::mount(t);
    discovery::mount(t);
    protocol::mount(t);
    authorize::mount(t);
    end_session::mount(t);
    pages::mount(t);
    upstream::mount(t);
    metrics::mount(t);
}
