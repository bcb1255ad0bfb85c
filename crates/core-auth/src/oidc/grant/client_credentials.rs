//! `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client
//! acting for itself. The token's `sub` is the client id; scopes are the
//! client's own (never `openid`, no refresh token).
//!
//! These tokens are not recorded one row each: a resource server checks
//! them by signature, and introspection and revocation stay exact through
//! the client's `tokens_not_before` (set when its secret is replaced) and
//! the deny list of revoked `jti`s ([`crate::oidc::tokens::client_token_active`]).
//! What is written, in the request's group commit, is the issuance audit:
//! one counter per client, minute and scope (`token_issuance`).

use diesel::sql_types::{BigInt, Text};
use diesel::RunQueryDsl;
use serde_json::json;

use super::{param, Params, Prepared};
use crate::actor::Actor;
use crate::clients::{Client, GrantType};
use crate::clock::UnixTime;
use crate::db::group::CountKey;
use crate::db::DbConn;
use crate::error::CoreResult;
use crate::oidc::error::{OAuthError, OAuthResult};
use crate::oidc::scopes::ScopeSet;
use crate::oidc::tokens::{self, TokenResponse, AT_TYP, GTY_CLIENT_CREDENTIALS};
use crate::oidc::Oidc;

/// One issued token, to be counted: the client, the minute and the scope.
#[derive(Debug, Clone)]
pub struct Issuance {
    pub client_id: String,
    pub minute: UnixTime,
    pub scope: String,
}

impl Issuance {
    pub fn key(&self) -> CountKey {
        (self.client_id.clone(), self.minute, self.scope.clone())
    }
}

/// Checks the request and signs the token; its issuance is to be counted
/// (committed) before the token is handed out.
pub fn prepare(
    o: Oidc<'_>,
    client: &Client,
    p: &Params,
    _meta: &Actor,
    now: UnixTime,
) -> OAuthResult<Prepared> {
    if client.is_public() || !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the client_credentials grant",
        ));
    }
    let allowed = ScopeSet(client.scopes.clone());
    let scope = match param(p, "scope") {
        Some(s) if !ScopeSet::is_well_formed(s) => {
            return Err(OAuthError::invalid_scope(
                "the scope parameter has invalid characters",
            ))
        }
        Some(s) => {
            let requested = ScopeSet::parse(s);
            if !requested.is_subset_of(&allowed) {
                return Err(OAuthError::invalid_scope(
                    "the client may not ask for this scope",
                ));
            }
            requested
        }
        None => allowed,
    }
    .to_string();
    // A token is never dated before the client's `tokens_not_before` (the
    // second after its secret was replaced).
    let iat = now.max(client.tokens_not_before);
    let exp = iat + tokens::lifetime_at(client, o.config);
    let claims = json!({
        "iss": o.config.issuer,
        "sub": client.client_id,
        "aud": client.client_id,
        "exp": exp,
        "iat": iat,
        "jti": uuid::Uuid::new_v4().to_string(),
        "client_id": client.client_id,
        "scope": scope,
        "gty": GTY_CLIENT_CREDENTIALS,
    });
    let access_token =
        o.keys
            .sign_as(client.id_token_signed_response_alg, Some(AT_TYP), &claims)?;
    let response = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: exp - now,
        scope: scope.clone(),
        id_token: None,
        refresh_token: None,
    };
    Ok(Prepared::Counted {
        response,
        issued: Issuance {
            client_id: client.client_id.clone(),
            minute: now - now.rem_euclid(60),
            scope,
        },
    })
}

/// Adds `n` to the issuance counter `key` (client, minute, scope): the
/// group commit's counter function.
pub fn add_issued(c: &mut DbConn, key: &CountKey, n: i64) -> CoreResult<()> {
    let (client_id, minute, scope) = key;
    let sql = |p: [&str; 4]| {
        format!(
            "INSERT INTO token_issuance (client_id, minute, scope, count) VALUES ({}, {}, {}, {}) \
             ON CONFLICT (client_id, minute, scope) DO UPDATE SET count = token_issuance.count + excluded.count",
            p[0], p[1], p[2], p[3]
        )
    };
    match c {
        DbConn::Sqlite(c) => diesel::sql_query(sql(["?", "?", "?", "?"]))
            .bind::<Text, _>(client_id)
            .bind::<BigInt, _>(*minute)
            .bind::<Text, _>(scope)
            .bind::<BigInt, _>(n)
            .execute(c)?,
        DbConn::Postgresql(c) => diesel::sql_query(sql(["$1", "$2", "$3", "$4"]))
            .bind::<Text, _>(client_id)
            .bind::<BigInt, _>(*minute)
            .bind::<Text, _>(scope)
            .bind::<BigInt, _>(n)
            .execute(c)?,
    };
    Ok(())
}

/// The whole grant on one connection (tests, callers without a group
/// commit).
pub fn exchange(
    o: Oidc<'_>,
    client: &Client,
    p: &Params,
    meta: &Actor,
    now: UnixTime,
) -> OAuthResult<TokenResponse> {
    super::run_now(o, prepare(o, client, p, meta, now)?)
}

/// One issuance counter: how many tokens `client_id` got for `scope` in
/// the minute starting at `minute`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, diesel::Queryable)]
pub struct Issued {
    pub client_id: String,
    pub minute: UnixTime,
    pub scope: String,
    pub count: i64,
}

/// The newest issuance counters (of `client_id` when given), newest first.
pub fn issued(c: &mut DbConn, client_id: Option<&str>, limit: i64) -> CoreResult<Vec<Issued>> {
    use crate::db::schema::token_issuance as t;
    use diesel::prelude::*;
    let mut q = t::table
        .select((t::client_id, t::minute, t::scope, t::count))
        .order((t::minute.desc(), t::client_id, t::scope))
        .limit(limit)
        .into_boxed();
    if let Some(id) = client_id {
        q = q.filter(t::client_id.eq(id.to_string()));
    }
    Ok(q.load(c)?)
}
