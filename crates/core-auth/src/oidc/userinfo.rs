//! The UserInfo endpoint (OIDC Core §5.3): claims by granted scope and the
//! `claims` request, for a valid, unrevoked access token.

use diesel::prelude::*;
use serde_json::{json, Map, Value};

use crate::clock::UnixTime;
use crate::db::schema::{access_tokens, users};
use crate::oidc::claims::{self, Target};
use crate::oidc::error::{ErrorCode, OAuthError, OAuthResult};
use crate::oidc::scopes::ScopeSet;
use crate::oidc::tokens::{self, AccessRow};
use crate::oidc::Oidc;
use crate::users::User;

pub fn userinfo(o: Oidc<'_>, token: &str, now: UnixTime) -> OAuthResult<Map<String, Value>> {
    let jwt = tokens::verify_access_jwt(o.keys, o.config, token, now)
        .map_err(OAuthError::invalid_token)?;
    let jti = jwt
        .get("jti")
        .and_then(Value::as_str)
        .ok_or_else(|| OAuthError::invalid_token("the token has no identifier"))?;
    if tokens::is_client_token(&jwt) {
        return Err(OAuthError::invalid_token(
            "the token does not belong to an active user",
        ));
    }
    // One query: the token record and its user.
    let found: Option<(AccessRow, Option<User>)> = access_tokens::table
        .left_join(users::table)
        .filter(access_tokens::jti.eq(jti))
        .select((AccessRow::as_select(), Option::<User>::as_select()))
        .get_result(&mut *o.pool.get()?)
        .optional()?;
    let Some((row, user)) = found else {
        return Err(OAuthError::invalid_token("the token is not known"));
    };
    if row.revoked_at.is_some() {
        return Err(OAuthError::invalid_token("the token has been revoked"));
    }
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(OAuthError::invalid_token(
            "the token does not belong to an active user",
        ));
    };
    let scope = ScopeSet::parse(&row.scope);
    if !scope.contains("openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token was not granted the openid scope",
        ));
    }
    let request: Option<Value> = row
        .claims
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok());
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.id));
    for (k, v) in claims::release(&user, &scope, request.as_ref(), Target::Userinfo) {
        out.insert(k, v);
    }
    if scope.contains("roles") {
        let roles = crate::roles::effective_roles(&mut *o.pool.get()?, &user.id)?;
        out.insert(o.config.tokens.roles_claim.clone(), json!(roles));
    }
    if let Some(acr) = row.acr.filter(|a| !a.is_empty()) {
        out.insert("acr".into(), json!(acr));
    }
    Ok(out)
}
