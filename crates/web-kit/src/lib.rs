//! What every HTTP face of Portcullis shares: the one context
//! ([`AppContext`]), page errors and the page layout, strict forms, CSRF,
//! who is signed in, the route table and its per-IP limits, the session
//! store, the cross-cutting middleware and metrics. The protocol and its
//! pages (`oidc-endpoints`) and the console (`admin-ui`) build on it and
//! not on each other.
//!
//! Its own routes are the server's, not a face's: health, static files
//! and `/metrics`.

pub mod auditing;
pub mod context;
pub mod csrf;
pub mod errors;
pub mod form;
pub mod health;
pub mod identity;
pub mod layout;
pub mod metrics;
pub mod middleware;
pub mod ratelimit;
pub mod routes;
pub mod session_store;
pub mod slow_clients;
pub mod static_files;
pub mod util;

use actix_web::web;

pub use context::AppContext;
pub use errors::PageError;
pub use identity::{CurrentUser, MaybeUser};

/// Mounts the server's own routes: health, static files, metrics.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut t = routes::Table::new(cfg);
    mount(&mut t);
    t.finish();
}

/// The server's own routes, as mounted (see [`routes`]).
pub fn route_table() -> Vec<routes::RouteInfo> {
    let mut t = routes::Table::listing();
    mount(&mut t);
    t.finish()
}

fn mount(t: &mut routes::Table) {
    health::mount(t);
    static_files::mount(t);
    metrics::mount(t);
}
