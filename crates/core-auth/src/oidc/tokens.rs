//! Issuing tokens, recording them, revoking them.
//!
//! Access tokens are JWTs (RFC 9068, `typ: at+jwt`). Those issued for a
//! user have a row per token so they can be revoked with their grant,
//! session or user; those a client gets for itself (client_credentials,
//! marked `gty`) have none: [`client_token_active`] decides from the
//! client's `tokens_not_before` and the deny list of revoked `jti`s. Refresh tokens are JWTs (`typ: refresh+jwt`)
//! whose `jti` names a server-side record (stored as its SHA-256) in a
//! family: every use rotates, and a rotated token presented again revokes
//! the family. All three tokens of a grant are signed with the client's
//! algorithm (`id_token_signed_response_alg`: RS256 unless it chose
//! another) by that algorithm's active key. Records are written inside the
//! grant's transaction; signing happens after it commits, so no lock is held
//! during the signature.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::clients::{Client, GrantType};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::{access_tokens, clients, refresh_tokens, revoked_tokens};
use crate::db::DbConn;
use crate::error::{CoreError, CoreResult};
use crate::keys::{Algorithm, KeyRing};
use crate::oidc::claims::{self, Target};
use crate::oidc::scopes::ScopeSet;
use crate::secret::{random_token, sha256_hex};
use crate::users::User;

pub const AT_TYP: &str = "at+jwt";
pub const RT_TYP: &str = "refresh+jwt";
/// The `gty` claim of a client_credentials access token (not recorded).
pub const GTY_CLIENT_CREDENTIALS: &str = "client_credentials";

/// What tokens are being issued for.
#[derive(Debug, Clone)]
pub struct GrantContext {
    pub client: Client,
    /// `None` for client_credentials.
    pub user: Option<User>,
    /// Scope of the access token.
    pub scope: ScopeSet,
    /// Scope the grant holds (a refresh may narrow the access token's).
    pub grant_scope: ScopeSet,
    pub claims: Option<String>,
    pub sid: Option<String>,
    pub auth_time: Option<UnixTime>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    pub nonce: Option<String>,
    /// The refresh family (and grant id) tokens belong to.
    pub family_id: Option<String>,
    /// When the family ends (refresh absolute lifetime).
    pub family_expires_at: Option<UnixTime>,
}

/// The token endpoint's success response (RFC 6749 §5.1, OIDC §3.1.3.3).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Rows written, claims ready to sign.
#[derive(Debug)]
pub struct Planned {
    grant: GrantContext,
    at_jti: String,
    at_exp: UnixTime,
    rt: Option<(String, UnixTime)>,
    now: UnixTime,
    /// Effective roles, when the `roles` scope was granted.
    roles: Option<Vec<String>>,
}

pub(crate) fn lifetime_at(client: &Client, cfg: &Config) -> i64 {
    client
        .access_token_lifetime_secs
        .unwrap_or(cfg.tokens.access_token_lifetime_secs)
}

/// Whether the grant gets a refresh token, and whether it is offline
/// (survives the session).
pub fn refresh_policy(client: &Client, grant_scope: &ScopeSet) -> Option<bool> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return None;
    }
    let offline = grant_scope.contains("offline_access");
    (offline || client.always_issue_refresh).then_some(offline)
}

/// Writes the access token row and, when `refresh` says so, a new refresh
/// token record. Call inside the grant's transaction.
pub fn plan(
    conn: &mut DbConn,
    cfg: &Config,
    grant: GrantContext,
    refresh: Option<bool>,
    now: UnixTime,
) -> CoreResult<Planned> {
    let at_jti = uuid::Uuid::new_v4().to_string();
    let at_exp = now + lifetime_at(&grant.client, cfg);
    diesel::insert_into(access_tokens::table)
        .values((
            access_tokens::jti.eq(&at_jti),
            access_tokens::client_id.eq(&grant.client.client_id),
            access_tokens::user_id.eq(grant.user.as_ref().map(|u| u.id.as_str())),
            access_tokens::grant_id.eq(&grant.family_id),
            access_tokens::sid.eq(&grant.sid),
            access_tokens::scope.eq(grant.scope.to_string()),
            access_tokens::claims.eq(&grant.claims),
            access_tokens::acr.eq(&grant.acr),
            access_tokens::created_at.eq(now),
            access_tokens::expires_at.eq(at_exp),
        ))
        .execute(conn)?;
    let rt = match (refresh, &grant.user, &grant.family_id) {
        (Some(offline), Some(user), Some(family)) => {
            let idle = grant
                .client
                .refresh_token_idle_secs
                .unwrap_or(cfg.tokens.refresh_token_idle_secs);
            let family_exp = grant.family_expires_at.unwrap_or(
                now + grant
                    .client
                    .refresh_token_absolute_secs
                    .unwrap_or(cfg.tokens.refresh_token_absolute_secs),
            );
            let exp = (now + idle).min(family_exp);
            let jti = random_token().into_inner();
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::jti_hash.eq(sha256_hex(&jti)),
                    refresh_tokens::family_id.eq(family),
                    refresh_tokens::client_id.eq(&grant.client.client_id),
                    refresh_tokens::user_id.eq(&user.id),
                    refresh_tokens::scope.eq(grant.grant_scope.to_string()),
                    refresh_tokens::claims.eq(&grant.claims),
                    refresh_tokens::sid.eq(&grant.sid),
                    refresh_tokens::offline.eq(offline),
                    refresh_tokens::auth_time.eq(grant.auth_time.unwrap_or(now)),
                    refresh_tokens::amr
                        .eq(serde_json::to_string(&grant.amr).unwrap_or_else(|_| "[]".into())),
                    refresh_tokens::acr.eq(grant.acr.clone().unwrap_or_default()),
                    refresh_tokens::created_at.eq(now),
                    refresh_tokens::expires_at.eq(exp),
                    refresh_tokens::family_expires_at.eq(family_exp),
                ))
                .execute(conn)?;
            Some((jti, exp))
        }
        _ => None,
    };
    let roles = match &grant.user {
        Some(u) if grant.scope.contains("roles") => {
            Some(crate::roles::effective_roles(conn, &u.id)?)
        }
        _ => None,
    };
    Ok(Planned {
        grant,
        at_jti,
        at_exp,
        rt,
        roles,
        now,
    })
}

/// `at_hash` of an RS256 ID token: the left half of SHA-256 of the access
/// token, base64url (other algorithms: [`Algorithm::token_hash`]).
pub fn at_hash(access_token: &str) -> String {
    Algorithm::Rs256.token_hash(access_token)
}

/// Signs what `plan` recorded.
pub fn sign(keys: &KeyRing, cfg: &Config, p: Planned) -> CoreResult<TokenResponse> {
    let g = &p.grant;
    let alg = g.client.id_token_signed_response_alg;
    let issuer = &cfg.issuer;
    let sub = g
        .user
        .as_ref()
        .map(|u| u.id.clone())
        .unwrap_or_else(|| g.client.client_id.clone());
    let mut at = Map::new();
    at.insert("iss".into(), json!(issuer));
    at.insert("sub".into(), json!(sub));
    at.insert("aud".into(), json!(g.client.client_id));
    at.insert("exp".into(), json!(p.at_exp));
    at.insert("iat".into(), json!(p.now));
    at.insert("jti".into(), json!(p.at_jti));
    at.insert("client_id".into(), json!(g.client.client_id));
    at.insert("scope".into(), json!(g.scope.to_string()));
    if let Some(t) = g.auth_time {
        at.insert("auth_time".into(), json!(t));
    }
    if let Some(a) = &g.acr {
        at.insert("acr".into(), json!(a));
    }
    if let Some(s) = &g.sid {
        at.insert("sid".into(), json!(s));
    }
    if let Some(r) = &p.roles {
        at.insert(cfg.tokens.roles_claim.clone(), json!(r));
    }
    let access_token = keys.sign_as(alg, Some(AT_TYP), &at)?;

    let id_token = match (&g.user, g.scope.contains("openid")) {
        (Some(user), true) => {
            let mut id = Map::new();
            id.insert("iss".into(), json!(issuer));
            id.insert("sub".into(), json!(user.id));
            id.insert("aud".into(), json!(g.client.client_id));
            id.insert("azp".into(), json!(g.client.client_id));
            id.insert(
                "exp".into(),
                json!(p.now + cfg.tokens.id_token_lifetime_secs),
            );
            id.insert("iat".into(), json!(p.now));
            if let Some(t) = g.auth_time {
                id.insert("auth_time".into(), json!(t));
            }
            if let Some(n) = &g.nonce {
                id.insert("nonce".into(), json!(n));
            }
            id.insert("at_hash".into(), json!(alg.token_hash(&access_token)));
            if let Some(s) = &g.sid {
                id.insert("sid".into(), json!(s));
            }
            if !g.amr.is_empty() {
                id.insert("amr".into(), json!(g.amr));
            }
            if let Some(a) = &g.acr {
                id.insert("acr".into(), json!(a));
            }
            if let Some(r) = &p.roles {
                id.insert(cfg.tokens.roles_claim.clone(), json!(r));
            }
            let request: Option<Value> = g
                .claims
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok());
            for (k, v) in claims::release(user, &g.scope, request.as_ref(), Target::IdToken) {
                id.entry(k).or_insert(v);
            }
            Some(keys.sign_as(alg, Some("JWT"), &id)?)
        }
        _ => None,
    };

    let refresh_token = match (&p.rt, &g.user) {
        (Some((jti, exp)), Some(user)) => Some(keys.sign_as(
            alg,
            Some(RT_TYP),
            &json!({
                "iss": issuer,
                "sub": user.id,
                "aud": issuer,
                "client_id": g.client.client_id,
                "jti": jti,
                "iat": p.now,
                "exp": exp,
            }),
        )?),
        _ => None,
    };

    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: p.at_exp - p.now,
        scope: g.scope.to_string(),
        id_token,
        refresh_token,
    })
}

/// Revokes a refresh family and every access token issued from it.
pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: UnixTime) -> CoreResult<usize> {
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    diesel::update(
        access_tokens::table
            .filter(access_tokens::grant_id.eq(family_id))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n)
}

/// Revokes one access token by `jti`.
pub fn revoke_access_token(conn: &mut DbConn, jti: &str, now: UnixTime) -> CoreResult<bool> {
    let n = diesel::update(
        access_tokens::table
            .find(jti)
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n > 0)
}

fn family_ids(
    conn: &mut DbConn,
    q: refresh_tokens::BoxedQuery<'_, crate::db::MultiBackend>,
) -> CoreResult<Vec<String>> {
    let mut ids: Vec<String> = q.select(refresh_tokens::family_id).distinct().load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Ends every token `client_id` holds for `user_id` (consent withdrawn).
pub fn revoke_for_user_client(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
    now: UnixTime,
) -> CoreResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::client_id.eq(client_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    diesel::update(
        access_tokens::table
            .filter(access_tokens::user_id.eq(user_id))
            .filter(access_tokens::client_id.eq(client_id))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}

/// Ends every token of a user (password reset, account disabled). With
/// `keep_offline`, offline_access grants survive.
pub fn revoke_for_user(
    conn: &mut DbConn,
    user_id: &str,
    keep_offline: bool,
    now: UnixTime,
) -> CoreResult<()> {
    let mut q = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    if keep_offline {
        q = q.filter(refresh_tokens::offline.eq(false));
    }
    for family in family_ids(conn, q)? {
        revoke_family(conn, &family, now)?;
    }
    if !keep_offline {
        diesel::update(
            access_tokens::table
                .filter(access_tokens::user_id.eq(user_id))
                .filter(access_tokens::revoked_at.is_null()),
        )
        .set(access_tokens::revoked_at.eq(Some(now)))
        .execute(conn)?;
    }
    Ok(())
}

/// Ends the tokens bound to a browser session (RP-initiated logout):
/// refresh families that are not offline, and access tokens issued in the
/// session outside offline grants.
pub fn revoke_for_session(conn: &mut DbConn, sid: &str, now: UnixTime) -> CoreResult<usize> {
    let online = refresh_tokens::table
        .filter(refresh_tokens::sid.eq(sid))
        .filter(refresh_tokens::offline.eq(false))
        .into_boxed();
    let mut n = 0;
    for family in family_ids(conn, online)? {
        n += revoke_family(conn, &family, now)?;
    }
    let offline: Vec<String> = refresh_tokens::table
        .filter(refresh_tokens::sid.eq(sid))
        .filter(refresh_tokens::offline.eq(true))
        .select(refresh_tokens::family_id)
        .load(conn)?;
    diesel::update(
        access_tokens::table
            .filter(access_tokens::sid.eq(sid))
            .filter(access_tokens::revoked_at.is_null())
            .filter(diesel::dsl::not(
                access_tokens::grant_id.eq_any(offline).assume_not_null(),
            )),
    )
    .set(access_tokens::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n)
}

/// The access token record, for revocation checks.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_tokens)]
pub struct AccessRow {
    pub jti: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub grant_id: Option<String>,
    pub sid: Option<String>,
    pub scope: String,
    pub claims: Option<String>,
    pub acr: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

pub fn find_access(conn: &mut DbConn, jti: &str) -> CoreResult<Option<AccessRow>> {
    Ok(access_tokens::table
        .find(jti)
        .select(AccessRow::as_select())
        .get_result(conn)
        .optional()?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub jti_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub claims: Option<String>,
    pub sid: Option<String>,
    pub offline: bool,
    pub auth_time: UnixTime,
    pub amr: String,
    pub acr: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub family_expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

pub fn find_refresh(conn: &mut DbConn, jti: &str) -> CoreResult<Option<RefreshRow>> {
    Ok(refresh_tokens::table
        .find(sha256_hex(jti))
        .select(RefreshRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// A verified access token: signature, type, issuer and expiry checked
/// against our keys; the caller checks the record.
pub fn verify_access_jwt(
    keys: &KeyRing,
    cfg: &Config,
    token: &str,
    now: UnixTime,
) -> Result<Map<String, Value>, String> {
    let claims = keys
        .verify(token, Some(AT_TYP))
        .map_err(|e| e.to_string())?;
    if claims.get("iss").and_then(Value::as_str) != Some(cfg.issuer.as_str()) {
        return Err("issued by another server".into());
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => Ok(claims),
        Some(_) => Err("the token has expired".into()),
        None => Err("the token has no expiry".into()),
    }
}

/// Whether verified access-token `claims` are of an unrecorded
/// client_credentials token.
pub fn is_client_token(claims: &Map<String, Value>) -> bool {
    claims.get("gty").and_then(Value::as_str) == Some(GTY_CLIENT_CREDENTIALS)
}

/// The record of an access token whose signature, issuer and expiry were
/// verified (`claims`): its row, or for a client_credentials token one
/// made from its claims when the token is still active. `None`: unknown,
/// or no longer active. The caller checks `revoked_at` of a stored row.
pub fn access_record(
    conn: &mut DbConn,
    claims: &Map<String, Value>,
    now: UnixTime,
) -> CoreResult<Option<AccessRow>> {
    let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
        return Ok(None);
    };
    if !is_client_token(claims) {
        return find_access(conn, jti);
    }
    let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
    let int = |k: &str| claims.get(k).and_then(Value::as_i64);
    let (Some(client_id), Some(iat), Some(exp)) = (text("client_id"), int("iat"), int("exp"))
    else {
        return Ok(None);
    };
    if !client_token_active(conn, &client_id, jti, iat, now)? {
        return Ok(None);
    }
    Ok(Some(AccessRow {
        jti: jti.to_string(),
        client_id,
        user_id: None,
        grant_id: None,
        sid: None,
        scope: text("scope").unwrap_or_default(),
        claims: None,
        acr: None,
        created_at: iat,
        expires_at: exp,
        revoked_at: None,
    }))
}

/// Whether client `client_id`'s token `jti` issued at `iat` is active: the
/// client exists, the token is not older than its `tokens_not_before` (or
/// its registration), and the `jti` is not on the deny list. One query.
pub fn client_token_active(
    conn: &mut DbConn,
    client_id: &str,
    jti: &str,
    iat: UnixTime,
    _now: UnixTime,
) -> CoreResult<bool> {
    let found: Option<(i64, Option<i64>, Option<String>)> = clients::table
        .left_join(
            revoked_tokens::table.on(revoked_tokens::client_id
                .eq(clients::id)
                .and(revoked_tokens::jti.eq(jti))),
        )
        .filter(clients::id.eq(client_id))
        .select((
            clients::created_at,
            clients::tokens_not_before,
            revoked_tokens::jti.nullable(),
        ))
        .first(conn)
        .optional()?;
    Ok(match found {
        Some((created, not_before, revoked)) => {
            revoked.is_none() && iat >= not_before.unwrap_or(0).max(created)
        }
        None => false,
    })
}

/// Puts a client_credentials token on the deny list until it expires.
/// `true` when it was not there yet.
pub fn deny_client_token(
    conn: &mut DbConn,
    client_id: &str,
    jti: &str,
    expires_at: UnixTime,
    now: UnixTime,
) -> CoreResult<bool> {
    let listed: i64 = revoked_tokens::table
        .filter(revoked_tokens::jti.eq(jti))
        .count()
        .get_result(conn)?;
    if listed > 0 {
        return Ok(false);
    }
    diesel::insert_into(revoked_tokens::table)
        .values((
            revoked_tokens::jti.eq(jti),
            revoked_tokens::client_id.eq(client_id),
            revoked_tokens::revoked_at.eq(now),
            revoked_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Parses a stored `amr` list.
pub fn parse_amr(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

impl From<serde_json::Error> for CoreError {
    fn from(e: serde_json::Error) -> Self {
        CoreError::Crypto(format!("JSON: {e}"))
    }
}
