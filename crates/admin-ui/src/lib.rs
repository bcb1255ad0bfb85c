//! The admin console (HTML, `/admin`) and the admin JSON API
//! (`/admin/api/v1`). Console routes are behind [`RequireAdmin`] (a signed-in
//! administrator); API routes behind [`api::auth::ApiAdmin`] (a bearer token).
//!
//! Every route is mounted through `web_kit::routes::Table`, so the
//! CSRF guard (`web_kit::csrf::guard`) checks every console POST
//! before its handler runs. The API's scope is the one exemption, recorded
//! in the table with its reason ([`API_CSRF_EXEMPT`]).

pub mod api;
pub mod audit;
mod chart;
mod clients;
mod dashboard;
mod fields;
mod guard;
mod keys;
mod providers;
mod reauth;
mod roles;
mod sessions;
mod users;
mod view;

use actix_web::http::Method;
use actix_web::web;
use web_kit::ratelimit::Group;
use web_kit::routes::{Opts, RouteInfo, Table};

pub use guard::RequireAdmin;

/// Why the admin JSON API is not CSRF-checked.
pub const API_CSRF_EXEMPT: &str =
    "the admin JSON API authenticates by bearer token only, never by cookie";

/// Mounts the console and the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut t = Table::new(cfg);
    mount(&mut t);
    t.finish();
}

/// Every route of this crate, as mounted (see `web_kit::routes`).
pub fn route_table() -> Vec<RouteInfo> {
    let mut t = Table::listing();
    mount(&mut t);
    t.finish()
}

fn mount(t: &mut Table) {
    t.exempt_scope(api::BASE, API_CSRF_EXEMPT, api::configure);
    t.get("/admin", dashboard::show);
    t.get("/admin/reauth", reauth::show);
    t.post("/admin/reauth", reauth::submit);
    t.add(
        Method::POST,
        "/admin/reauth/passkey/options",
        Opts::limit(Group::SignIn),
        reauth::passkey_options,
    );
    t.post(
        "/admin/throttles/{kind}/{key}/clear",
        dashboard::clear_throttle,
    );
    t.get("/admin/users", users::list);
    t.post("/admin/users", users::edit::create);
    t.get("/admin/users/new", users::edit::new_form);
    t.get("/admin/users/{id}", users::view::show);
    t.get("/admin/users/{id}/edit", users::edit::edit_form);
    t.post("/admin/users/{id}/edit", users::edit::update);
    t.post("/admin/users/{id}/disable", users::actions::disable);
    t.post("/admin/users/{id}/enable", users::actions::enable);
    t.get("/admin/users/{id}/delete", users::actions::confirm_delete);
    t.post("/admin/users/{id}/delete", users::actions::delete);
    t.post(
        "/admin/users/{id}/reset-password",
        users::actions::send_reset,
    );
    t.post(
        "/admin/users/{id}/revoke-sessions",
        users::actions::revoke_sessions,
    );
    t.post(
        "/admin/users/{id}/clear-throttle",
        users::actions::clear_throttle,
    );
    t.post(
        "/admin/users/{id}/mfa-requirement",
        users::mfa::set_requirement,
    );
    t.get("/admin/users/{id}/mfa-reset", users::mfa::confirm_reset);
    t.post("/admin/users/{id}/mfa-reset", users::mfa::reset);
    t.post("/admin/users/{id}/mfa/app/remove", users::mfa::remove_app);
    t.post(
        "/admin/users/{id}/mfa/passkeys/{passkey_id}/remove",
        users::mfa::remove_passkey,
    );
    t.get("/admin/clients", clients::list);
    t.post("/admin/clients", clients::create);
    t.get("/admin/clients/new", clients::new_form);
    t.get("/admin/clients/{id}", clients::show);
    t.post("/admin/clients/{id}", clients::update);
    t.post("/admin/clients/{id}/rotate-secret", clients::rotate_secret);
    t.get("/admin/clients/{id}/delete", clients::confirm_delete);
    t.post("/admin/clients/{id}/delete", clients::delete);
    t.get("/admin/providers", providers::list);
    t.post("/admin/providers", providers::form::create);
    t.get("/admin/providers/new", providers::form::new_form);
    t.get("/admin/providers/{id}", providers::show);
    t.post("/admin/providers/{id}", providers::form::update);
    t.get("/admin/providers/{id}/delete", providers::confirm_delete);
    t.post("/admin/providers/{id}/delete", providers::delete);
    t.get("/admin/roles", roles::list);
    t.post("/admin/roles", roles::create_role);
    t.post("/admin/roles/{name}/rename", roles::rename_role);
    t.post("/admin/roles/{name}/delete", roles::delete_role);
    t.post("/admin/groups", roles::create_group);
    t.get("/admin/groups/{id}", roles::show_group);
    t.post("/admin/groups/{id}", roles::update_group);
    t.post("/admin/groups/{id}/delete", roles::delete_group);
    t.post("/admin/groups/{id}/members", roles::add_member);
    t.post(
        "/admin/groups/{id}/members/{user}/remove",
        roles::remove_member,
    );
    t.get("/admin/keys", keys::list);
    t.post("/admin/keys/rotate", keys::rotate);
    t.get("/admin/sessions", sessions::list);
    t.post("/admin/sessions/{sid}/revoke", sessions::revoke);
    t.get("/admin/audit", audit::list);
    t.get("/admin/audit/export", audit::export);
}
