//! The OpenID Connect provider: authorization requests, consent, codes,
//! tokens (one file per grant under `grant/`), userinfo, introspection,
//! revocation and logout.

pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod codes;
pub mod consent;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod logout;
pub mod par;
pub mod request_object;
pub mod revoke;
pub mod scopes;
pub mod tokens;
pub mod userinfo;

use crate::config::Config;
use crate::db::DbPool;
use crate::keys::KeyRing;

pub use error::{ErrorCode, OAuthError, OAuthResult};
pub use scopes::ScopeSet;

/// What the protocol code needs: storage, keys, configuration.
#[derive(Clone, Copy)]
pub struct Oidc<'a> {
    pub pool: &'a DbPool,
    pub keys: &'a KeyRing,
    pub config: &'a Config,
}

impl Oidc<'_> {
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.config.issuer)
    }
}
