//! The admin console (HTML, `/admin`) and the admin JSON API
//! (`/admin/api/v1`). Console routes are behind [`RequireAdmin`] (a signed-in
//! administrator); API routes behind [`api::auth::ApiAdmin`] (a bearer token).

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

use actix_web::web;

pub use guard::RequireAdmin;

pub fn configure(cfg: &mut web::ServiceConfig) {
    api::configure(cfg);
    cfg.route("/admin", web::get().to(dashboard::show))
        .route("/admin/reauth", web::get().to(reauth::show))
        .route("/admin/reauth", web::post().to(reauth::submit))
        .route(
            "/admin/throttles/{kind}/{key}/clear",
            web::post().to(dashboard::clear_throttle),
        )
        .route("/admin/users", web::get().to(users::list))
        .route("/admin/users", web::post().to(users::edit::create))
        .route("/admin/users/new", web::get().to(users::edit::new_form))
        .route("/admin/users/{id}", web::get().to(users::view::show))
        .route(
            "/admin/users/{id}/edit",
            web::get().to(users::edit::edit_form),
        )
        .route(
            "/admin/users/{id}/edit",
            web::post().to(users::edit::update),
        )
        .route(
            "/admin/users/{id}/disable",
            web::post().to(users::actions::disable),
        )
        .route(
            "/admin/users/{id}/enable",
            web::post().to(users::actions::enable),
        )
        .route(
            "/admin/users/{id}/delete",
            web::get().to(users::actions::confirm_delete),
        )
        .route(
            "/admin/users/{id}/delete",
            web::post().to(users::actions::delete),
        )
        .route(
            "/admin/users/{id}/reset-password",
            web::post().to(users::actions::send_reset),
        )
        .route(
            "/admin/users/{id}/revoke-sessions",
            web::post().to(users::actions::revoke_sessions),
        )
        .route(
            "/admin/users/{id}/clear-throttle",
            web::post().to(users::actions::clear_throttle),
        )
        .route("/admin/clients", web::get().to(clients::list))
        .route("/admin/clients", web::post().to(clients::create))
        .route("/admin/clients/new", web::get().to(clients::new_form))
        .route("/admin/clients/{id}", web::get().to(clients::show))
        .route("/admin/clients/{id}", web::post().to(clients::update))
        .route(
            "/admin/clients/{id}/rotate-secret",
            web::post().to(clients::rotate_secret),
        )
        .route(
            "/admin/clients/{id}/delete",
            web::get().to(clients::confirm_delete),
        )
        .route(
            "/admin/clients/{id}/delete",
            web::post().to(clients::delete),
        )
        .route("/admin/providers", web::get().to(providers::list))
        .route("/admin/providers", web::post().to(providers::form::create))
        .route(
            "/admin/providers/new",
            web::get().to(providers::form::new_form),
        )
        .route("/admin/providers/{id}", web::get().to(providers::show))
        .route(
            "/admin/providers/{id}",
            web::post().to(providers::form::update),
        )
        .route(
            "/admin/providers/{id}/delete",
            web::get().to(providers::confirm_delete),
        )
        .route(
            "/admin/providers/{id}/delete",
            web::post().to(providers::delete),
        )
        .route("/admin/roles", web::get().to(roles::list))
        .route("/admin/roles", web::post().to(roles::create_role))
        .route(
            "/admin/roles/{name}/rename",
            web::post().to(roles::rename_role),
        )
        .route(
            "/admin/roles/{name}/delete",
            web::post().to(roles::delete_role),
        )
        .route("/admin/groups", web::post().to(roles::create_group))
        .route("/admin/groups/{id}", web::get().to(roles::show_group))
        .route("/admin/groups/{id}", web::post().to(roles::update_group))
        .route(
            "/admin/groups/{id}/delete",
            web::post().to(roles::delete_group),
        )
        .route(
            "/admin/groups/{id}/members",
            web::post().to(roles::add_member),
        )
        .route(
            "/admin/groups/{id}/members/{user}/remove",
            web::post().to(roles::remove_member),
        )
        .route("/admin/keys", web::get().to(keys::list))
        .route("/admin/keys/rotate", web::post().to(keys::rotate))
        .route("/admin/sessions", web::get().to(sessions::list))
        .route(
            "/admin/sessions/{sid}/revoke",
            web::post().to(sessions::revoke),
        )
        .route("/admin/audit", web::get().to(audit::list))
        .route("/admin/audit/export", web::get().to(audit::export));
}
