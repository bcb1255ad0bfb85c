//! The admin JSON API under `/admin/api/v1`: the console's operations for
//! services and scripts. Bearer tokens (see [`auth`]), cursor pagination,
//! RFC 7807 problem documents ([`problem`]), an OpenAPI 3 document
//! generated from these handlers ([`openapi`]), rate-limited per client IP
//! (`rate_limits.admin_api`).

pub mod auth;
mod clients;
mod directory;
pub mod extract;
pub mod mfa;
pub mod openapi;
pub mod problem;
pub mod providers;
pub mod system;
pub mod types;
pub mod users;

use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};
use web_kit::ratelimit::{Group, RateLimit};

use problem::ApiError;

pub const BASE: &str = "/admin/api/v1";

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::Core(core_auth::CoreError::NotFound(
        "API route",
    )))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .wrap(RateLimit(Group::AdminApi))
            // The one public route: the API's description.
            .route("/openapi.json", web::get().to(openapi::serve))
            // Every other route, the unknown ones included, is behind
            // `auth::require_admin`: the caller is authenticated before any
            // extractor reads the request, so a body is never parsed for a
            // caller who may not use the API. Add new routes in here.
            .service(
                web::scope("")
                    .wrap(from_fn(auth::require_admin))
                    .route("/users", web::get().to(users::list_users))
                    .route("/users", web::post().to(users::create_user))
                    .route("/users/{id}", web::get().to(users::get_user))
                    .route("/users/{id}", web::patch().to(users::update_user))
                    .route("/users/{id}", web::delete().to(users::delete_user))
                    .route(
                        "/users/{id}/password-reset",
                        web::post().to(users::password_reset),
                    )
                    .route(
                        "/users/{id}/revoke-sessions",
                        web::post().to(users::revoke_sessions),
                    )
                    .route(
                        "/users/{id}/clear-throttle",
                        web::post().to(users::clear_user_throttle),
                    )
                    .route(
                        "/users/{id}/mfa-requirement",
                        web::post().to(mfa::set_requirement),
                    )
                    .route("/users/{id}/mfa-reset", web::post().to(mfa::reset))
                    .route("/users/{id}/mfa/app", web::delete().to(mfa::remove_app))
                    .route(
                        "/users/{id}/mfa/passkeys/{passkey_id}",
                        web::delete().to(mfa::remove_passkey),
                    )
                    .route("/clients", web::get().to(clients::list_clients))
                    .route("/clients", web::post().to(clients::create_client))
                    .route("/clients/{id}", web::get().to(clients::get_client))
                    .route("/clients/{id}", web::put().to(clients::update_client))
                    .route("/clients/{id}", web::delete().to(clients::delete_client))
                    .route(
                        "/clients/{id}/rotate-secret",
                        web::post().to(clients::rotate_secret),
                    )
                    .route(
                        "/upstream-providers",
                        web::get().to(providers::list_upstream_providers),
                    )
                    .route(
                        "/upstream-providers",
                        web::post().to(providers::create_upstream_provider),
                    )
                    .route(
                        "/upstream-providers/{id}",
                        web::get().to(providers::get_upstream_provider),
                    )
                    .route(
                        "/upstream-providers/{id}",
                        web::put().to(providers::update_upstream_provider),
                    )
                    .route(
                        "/upstream-providers/{id}",
                        web::delete().to(providers::delete_upstream_provider),
                    )
                    .route("/roles", web::get().to(directory::list_roles))
                    .route("/roles", web::post().to(directory::create_role))
                    .route("/roles/{name}", web::patch().to(directory::rename_role))
                    .route("/roles/{name}", web::delete().to(directory::delete_role))
                    .route("/groups", web::get().to(directory::list_groups))
                    .route("/groups", web::post().to(directory::create_group))
                    .route("/groups/{id}", web::get().to(directory::get_group))
                    .route("/groups/{id}", web::patch().to(directory::update_group))
                    .route("/groups/{id}", web::delete().to(directory::delete_group))
                    .route(
                        "/groups/{id}/members/{user_id}",
                        web::put().to(directory::add_member),
                    )
                    .route(
                        "/groups/{id}/members/{user_id}",
                        web::delete().to(directory::remove_member),
                    )
                    .route("/keys", web::get().to(system::list_keys))
                    .route("/keys/rotate", web::post().to(system::rotate_keys))
                    .route("/sessions", web::get().to(system::list_sessions))
                    .route("/sessions/{sid}", web::delete().to(system::revoke_session))
                    .route("/audit", web::get().to(system::list_audit))
                    .route("/audit/export", web::get().to(system::export_audit))
                    .route("/throttles", web::get().to(system::list_throttles))
                    .route(
                        "/throttles/{kind}/{key}",
                        web::delete().to(system::clear_throttle),
                    )
                    .route("/stats", web::get().to(system::stats))
                    .default_service(web::to(not_found)),
            ),
    );
}
