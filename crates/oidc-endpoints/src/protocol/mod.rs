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

use crate::ratelimit::Group;

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

pub fn mount(t: &mut crate::routes::Table) {
    use crate::routes::Opts;
    use actix_web::http::Method;
    const CLIENT: &str = "a protocol endpoint: the client authenticates, no cookie is used";
    const BEARER: &str = "a protocol endpoint: a bearer token authenticates, no cookie is used";
    t.add(
        Method::POST,
        "/token",
        Opts::limit(Group::Token).cors().csrf_exempt(CLIENT),
        token::token,
    )
    .add(
        Method::GET,
        "/userinfo",
        Opts::default().cors(),
        userinfo::userinfo,
    )
    .add(
        Method::POST,
        "/userinfo",
        Opts::default().cors().csrf_exempt(BEARER),
        userinfo::userinfo,
    )
    .add(
        Method::POST,
        "/revoke",
        Opts::limit(Group::Revoke).cors().csrf_exempt(CLIENT),
        revoke::revoke,
    )
    .add(
        Method::POST,
        "/introspect",
        Opts::limit(Group::Introspect).csrf_exempt(CLIENT),
        introspect::introspect,
    );
}
