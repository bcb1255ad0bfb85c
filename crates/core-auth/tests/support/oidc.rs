//! Getting tokens the way a relying party does, through the domain's
//! grants: a client, a code bound to a user and session, its redemption,
//! a refresh; and the records behind the tokens.

use std::collections::HashMap;

use core_auth::actor::Actor;
use core_auth::clients::{self, Client, ClientSpec};
use core_auth::oidc::codes::{self, CodeBinding};
use core_auth::oidc::grant::{authorization_code, refresh_token};
use core_auth::oidc::tokens::{self, TokenResponse, RT_TYP};
use core_auth::oidc::{ErrorCode, OAuthError};
use core_auth::secret::Secret;
use core_auth::users::User;

use super::Env;

pub const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// A confidential client allowed authorization_code and refresh_token.
pub fn client(env: &Env, always_issue_refresh: bool) -> Client {
    let spec = ClientSpec {
        name: "Test app".into(),
        redirect_uris: vec![REDIRECT.into()],
        scopes: vec!["openid".into(), "offline_access".into()],
        always_issue_refresh,
        ..ClientSpec::default()
    };
    clients::create(&mut env.conn(), &spec, env.now())
        .expect("client")
        .0
}

/// A code for `user` in session `sid`, as the authorization endpoint
/// issues it.
pub fn code(env: &Env, client: &Client, user: &User, scope: &str, sid: &str) -> Secret {
    let b = CodeBinding {
        client_id: client.client_id.clone(),
        user_id: user.id.clone(),
        redirect_uri: REDIRECT.into(),
        redirect_uri_given: true,
        scope: scope.into(),
        nonce: Some("n-1".into()),
        code_challenge: None,
        claims: None,
        auth_time: env.now(),
        amr: vec!["pwd".into()],
        acr: "0".into(),
        sid: sid.into(),
    };
    let lifetime = env.config.tokens.authorization_code_lifetime_secs;
    let actor = Actor::anonymous("192.0.2.8", "test browser").signed_in(&user.id, sid, env.now());
    codes::issue(&mut env.conn(), &actor, &b, lifetime, env.now()).expect("code")
}

fn rp() -> Actor {
    Actor::anonymous("192.0.2.7", "test-rp")
}

pub fn redeem(env: &Env, client: &Client, code: &Secret) -> Result<TokenResponse, OAuthError> {
    let p: HashMap<String, String> = HashMap::from([
        ("code".into(), code.expose().to_string()),
        ("redirect_uri".into(), REDIRECT.into()),
    ]);
    authorization_code::exchange(env.core().oidc(), client, &p, &rp(), env.now())
}

pub fn refresh(env: &Env, client: &Client, rt: &str) -> Result<TokenResponse, OAuthError> {
    let p = HashMap::from([("refresh_token".to_string(), rt.to_string())]);
    refresh_token::exchange(env.core().oidc(), client, &p, &rp(), env.now())
}

/// The server-side record of a refresh token.
pub fn rt_row(env: &Env, rt: &str) -> tokens::RefreshRow {
    let claims = env
        .keys
        .verify(rt, Some(RT_TYP))
        .expect("our refresh token");
    let jti = claims["jti"].as_str().expect("jti");
    tokens::find_refresh(&mut env.conn(), jti)
        .expect("query")
        .expect("refresh record")
}

/// Whether the access token's record is revoked.
pub fn at_revoked(env: &Env, at: &str) -> bool {
    let claims = tokens::verify_access_jwt(&env.keys, &env.config, at, env.now()).expect("valid");
    let jti = claims["jti"].as_str().expect("jti");
    tokens::find_access(&mut env.conn(), jti)
        .expect("query")
        .expect("access record")
        .revoked_at
        .is_some()
}

/// Asserts `invalid_grant` with a description containing `says`.
pub fn refused(r: Result<TokenResponse, OAuthError>, says: &str) {
    match r {
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidGrant, "{e}");
            assert!(e.description.contains(says), "{e}");
        }
        Ok(_) => panic!("expected invalid_grant ({says})"),
    }
}
