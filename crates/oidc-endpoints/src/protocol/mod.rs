//! The back-channel protocol endpoints: token, userinfo, introspection,
//! revocation. They answer JSON (RFC 6749 §5.2 errors) and allow CORS
//! without credentials where the specs expect browsers to call them.

pub mod client_auth;
pub mod errors;
pub mod introspect;
pub mod params;
pub mod revoke;
pub mod token;
pub mod userinfo;

use actix_cors::Cors;
use actix_web::web;

use crate::ratelimit::{Group, RateLimit};

/// CORS for endpoints browsers call directly (single-page apps): any
/// origin, no credentials (no cookies are ever used by these endpoints).
pub fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods(vec!["GET", "POST", "OPTIONS"])
        .allowed_headers(vec!["authorization", "content-type", "accept"])
        .max_age(3600)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/token")
            .wrap(RateLimit(Group::Token))
            .wrap(cors())
            .route(web::post().to(token::token)),
    )
    .service(
        web::resource("/userinfo")
            .wrap(cors())
            .route(web::get().to(userinfo::userinfo))
            .route(web::post().to(userinfo::userinfo)),
    )
    .service(
        web::resource("/revoke")
            .wrap(RateLimit(Group::Revoke))
            .wrap(cors())
            .route(web::post().to(revoke::revoke)),
    )
    .service(
        web::resource("/introspect")
            .wrap(RateLimit(Group::Introspect))
            .route(web::post().to(introspect::introspect)),
    );
}
