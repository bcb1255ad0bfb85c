//! The back-channel protocol endpoints: token, userinfo, introspection,
//! revocation, pushed authorization requests. They answer JSON (RFC 6749 §5.2 errors) and allow CORS
//! without credentials where the specs expect browsers to call them.

pub mod client_auth;
pub mod errors;
pub mod introspect;
pub mod par;
pub mod params;
pub mod revoke;
pub mod token;
pub mod userinfo;

use web_kit::ratelimit::Group;

pub fn mount(t: &mut web_kit::routes::Table) {
    use actix_web::http::Method;
    use web_kit::routes::Opts;
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
        "/par",
        Opts::limit(Group::Token).csrf_exempt(CLIENT),
        par::push,
    )
    .add(
        Method::POST,
        "/introspect",
        Opts::limit(Group::Introspect).csrf_exempt(CLIENT),
        introspect::introspect,
    );
}
