//! `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`
//! (RFC 8414) and `/jwks`. The discovery documents depend only on the
//! configuration and are serialized once; the JWKS comes pre-serialized from
//! the key ring and changes only when the keys do.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use core_auth::clients::AuthMethod;
use core_auth::oidc::claims::supported_claims;
use core_auth::oidc::client_auth::ASSERTION_ALGS;
use core_auth::oidc::scopes::STANDARD;
use core_auth::Config;
use serde_json::{json, Value};
use web_kit::context::AppContext;

use crate::ProtocolState;

#[derive(Debug)]
pub struct Discovery {
    pub openid: web::Bytes,
    pub oauth: web::Bytes,
}

/// The provider metadata: exactly what is implemented.
pub fn metadata(cfg: &Config) -> Value {
    let i = &cfg.issuer;
    let auth_methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "end_session_endpoint": format!("{i}/end_session"),
        "introspection_endpoint": format!("{i}/introspect"),
        "revocation_endpoint": format!("{i}/revoke"),
        "pushed_authorization_request_endpoint": format!("{i}/par"),
        "require_pushed_authorization_requests": cfg.par.required,
        "scopes_supported": STANDARD,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": cfg.keys.algorithms,
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": supported_claims(),
        "claims_parameter_supported": true,
        "claim_types_supported": ["normal"],
        "acr_values_supported": core_auth::oidc::authorize::acr::SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ASSERTION_ALGS,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
        "ui_locales_supported": ["en"],
        "claims_locales_supported": ["en"],
        "display_values_supported": ["page"],
    })
}

impl Discovery {
    pub fn build(cfg: &Config) -> Discovery {
        let doc = metadata(cfg);
        let openid = serde_json::to_vec(&doc).unwrap_or_default();
        // RFC 8414 metadata: the same document; OpenID-only members are
        // harmless extensions there.
        Discovery {
            openid: web::Bytes::from(openid.clone()),
            oauth: web::Bytes::from(openid),
        }
    }
}

pub fn mount(t: &mut web_kit::routes::Table) {
    use actix_web::http::Method;
    use web_kit::routes::Opts;
    let o = Opts::default().cors();
    t.add(Method::GET, "/.well-known/openid-configuration", o, openid)
        .add(
            Method::GET,
            "/.well-known/oauth-authorization-server",
            o,
            oauth,
        )
        .add(Method::GET, "/jwks", o, jwks);
}

fn json_bytes(body: web::Bytes, max_age: i64) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .body(body)
}

async fn openid(state: web::Data<ProtocolState>) -> HttpResponse {
    json_bytes(state.discovery.openid.clone(), 3600)
}

async fn oauth(state: web::Data<ProtocolState>) -> HttpResponse {
    json_bytes(state.discovery.oauth.clone(), 3600)
}

async fn jwks(ctx: web::Data<AppContext>) -> HttpResponse {
    let body = ctx.keys.jwks();
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", ctx.config.keys.jwks_max_age_secs),
        ))
        .body(web::Bytes::copy_from_slice(&body))
}
