//! Relying parties (OAuth clients): registration, secrets, redirect URIs.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::db::schema::clients;
use crate::db::DbConn;
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::keys::Algorithm;
use crate::secret::{ct_eq, random_token, sha256_hex, Secret};

mod validate;

use validate::validate;
pub use validate::{
    is_private_use_scheme, native_redirect_uri_problem, redirect_uri_problem, SIGNING_ALG_FIELD,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    auth_method: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    skip_consent: bool,
    always_issue_refresh: bool,
    jwks_uri: Option<String>,
    jwks: Option<String>,
    access_token_lifetime_secs: Option<i64>,
    refresh_token_idle_secs: Option<i64>,
    refresh_token_absolute_secs: Option<i64>,
    created_at: i64,
    updated_at: i64,
    resource_server_audiences: String,
    id_token_signed_response_alg: String,
    tokens_not_before: Option<i64>,
    require_pushed_authorization_requests: bool,
    require_signed_request_object: bool,
}

/// A registered client.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Scopes beyond the standard OpenID ones this client may ask for.
    pub scopes: Vec<String>,
    pub skip_consent: bool,
    /// Issue refresh tokens even without `offline_access` (bound to the session).
    pub always_issue_refresh: bool,
    pub jwks_uri: Option<String>,
    #[serde(skip)]
    pub jwks: Option<String>,
    pub access_token_lifetime_secs: Option<i64>,
    pub refresh_token_idle_secs: Option<i64>,
    pub refresh_token_absolute_secs: Option<i64>,
    /// The audiences (`aud` values of access tokens) this client serves as
    /// a resource server: it may introspect the tokens issued for them.
    pub resource_server_audiences: Vec<String>,
    /// The algorithm of its ID tokens, and of its access and refresh
    /// tokens too (one of the server's `keys.algorithms`).
    pub id_token_signed_response_alg: Algorithm,
    /// Access tokens issued to the client itself (client_credentials)
    /// before this time are no longer active: when it was registered, or
    /// when its secret was last replaced.
    pub tokens_not_before: UnixTime,
    /// Authorization requests must come through PAR (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// Authorization requests must be signed request objects (RFC 9101).
    pub require_signed_request_object: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    /// Constant-time check of a presented secret against the stored hash.
    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_hash {
            Some(h) => ct_eq(sha256_hex(presented).as_bytes(), h.as_bytes()),
            None => false,
        }
    }

    /// The registered redirect URI equal to `uri` (RFC 8252 §7.3: a
    /// loopback IP URI registered without a port matches any port).
    pub fn match_redirect_uri(&self, uri: &str) -> Option<String> {
        self.redirect_uris
            .iter()
            .find(|r| r.as_str() == uri || loopback_port_variant(r, uri))
            .map(|_| uri.to_string())
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }
}

fn loopback_port_variant(registered: &str, given: &str) -> bool {
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    let loopback_ip = matches!(r.host_str(), Some("127.0.0.1") | Some("[::1]"));
    if r.scheme() != "http" || !loopback_ip || r.port().is_some() {
        return false;
    }
    let mut g2 = g.clone();
    if g2.set_port(None).is_err() {
        return false;
    }
    g2.as_str() == r.as_str() && g.host_str() == r.host_str()
}

fn parse_list<T: for<'de> Deserialize<'de>>(s: &str) -> Vec<T> {
    serde_json::from_str(s).unwrap_or_default()
}

fn json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

impl From<ClientRow> for Client {
    fn from(r: ClientRow) -> Self {
        Client {
            client_id: r.id,
            name: r.name,
            secret_hash: r.secret_hash,
            auth_method: AuthMethod::parse(&r.auth_method).unwrap_or(AuthMethod::ClientSecretBasic),
            redirect_uris: parse_list(&r.redirect_uris),
            post_logout_redirect_uris: parse_list(&r.post_logout_redirect_uris),
            grant_types: parse_list(&r.grant_types),
            scopes: parse_list(&r.scopes),
            skip_consent: r.skip_consent,
            always_issue_refresh: r.always_issue_refresh,
            jwks_uri: r.jwks_uri,
            jwks: r.jwks,
            access_token_lifetime_secs: r.access_token_lifetime_secs,
            refresh_token_idle_secs: r.refresh_token_idle_secs,
            refresh_token_absolute_secs: r.refresh_token_absolute_secs,
            resource_server_audiences: parse_list(&r.resource_server_audiences),
            id_token_signed_response_alg: Algorithm::parse(&r.id_token_signed_response_alg)
                .unwrap_or(Algorithm::DEFAULT),
            tokens_not_before: r.tokens_not_before.unwrap_or(0).max(r.created_at),
            require_pushed_authorization_requests: r.require_pushed_authorization_requests,
            require_signed_request_object: r.require_signed_request_object,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What registration takes (CLI, admin console, admin API).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Public client (a browser or native app): no secret, PKCE required.
    pub public: bool,
    /// Empty: authorization_code and refresh_token.
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub skip_consent: bool,
    pub always_issue_refresh: bool,
    /// Empty: `none` for public clients, else client_secret_basic.
    pub auth_method: String,
    pub jwks_uri: String,
    /// A JWK Set document (for private_key_jwt without a jwks_uri).
    pub jwks: String,
    pub access_token_lifetime_secs: Option<i64>,
    pub refresh_token_idle_secs: Option<i64>,
    pub refresh_token_absolute_secs: Option<i64>,
    /// The audiences this client serves as a resource server (today an
    /// access token's `aud` is the client_id it was issued to): the client
    /// may introspect tokens for them.
    pub resource_server_audiences: Vec<String>,
    /// RS256, PS256, ES256 or EdDSA (empty: RS256): how its ID, access and
    /// refresh tokens are signed.
    pub id_token_signed_response_alg: String,
    /// Accept authorization requests only through PAR (RFC 9126).
    pub require_pushed_authorization_requests: bool,
    /// Accept only signed request objects (RFC 9101); needs `jwks` or
    /// `jwks_uri`.
    pub require_signed_request_object: bool,
}

/// Checks a registration as [`create`] and [`update`] do, without storing
/// anything (the field errors, or `Ok`).
pub fn validate_spec(spec: &ClientSpec) -> CoreResult<()> {
    validate(spec).map(|_| ())
}

/// Checks a registration as [`validate_spec`] does and, besides, that the
/// signing algorithm it asks for is one this server has keys for
/// (`keys.algorithms`, given as `offered`): every field's error at once.
pub fn validate_offered(spec: &ClientSpec, offered: &[Algorithm]) -> CoreResult<()> {
    let mut v = match validate(spec) {
        Ok(_) => ValidationErrors::default(),
        Err(CoreError::Validation(v)) => v,
        Err(e) => return Err(e),
    };
    if let Some(a) = Algorithm::parse(spec.id_token_signed_response_alg.trim()) {
        if !offered.contains(&a) {
            v.add(
                SIGNING_ALG_FIELD,
                format!(
                    "This server has no {a} signing keys; use {} (keys.algorithms in the configuration).",
                    Algorithm::names(offered)
                ),
            );
        }
    }
    v.into_result()
}

fn needs_secret(m: AuthMethod) -> bool {
    matches!(
        m,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    )
}

/// Registers a client. Returns it with its secret (for secret-based
/// methods), which is shown once and stored only as a SHA-256 hash.
pub fn create(
    conn: &mut DbConn,
    spec: &ClientSpec,
    now: UnixTime,
) -> CoreResult<(Client, Option<Secret>)> {
    let v = validate(spec)?;
    let id = random_token().into_inner()[..22].to_string();
    let secret = needs_secret(v.auth_method).then(random_token);
    diesel::insert_into(clients::table)
        .values((
            clients::id.eq(&id),
            clients::name.eq(&v.name),
            clients::secret_hash.eq(secret.as_ref().map(|s| sha256_hex(s.expose()))),
            clients::auth_method.eq(v.auth_method.as_str()),
            clients::redirect_uris.eq(json(&spec.redirect_uris)),
            clients::post_logout_redirect_uris.eq(json(&spec.post_logout_redirect_uris)),
            clients::grant_types.eq(json(&v.grant_types)),
            clients::scopes.eq(json(&v.scopes)),
            clients::skip_consent.eq(spec.skip_consent),
            clients::require_pushed_authorization_requests
                .eq(spec.require_pushed_authorization_requests),
            clients::require_signed_request_object.eq(spec.require_signed_request_object),
            clients::always_issue_refresh.eq(spec.always_issue_refresh),
            clients::jwks_uri.eq(&v.jwks_uri),
            clients::jwks.eq(&v.jwks),
            clients::access_token_lifetime_secs.eq(spec.access_token_lifetime_secs),
            clients::refresh_token_idle_secs.eq(spec.refresh_token_idle_secs),
            clients::refresh_token_absolute_secs.eq(spec.refresh_token_absolute_secs),
            clients::resource_server_audiences.eq(json(&v.resource_server_audiences)),
            clients::id_token_signed_response_alg.eq(v.signing_alg.as_str()),
            clients::created_at.eq(now),
            clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    let client = find(conn, &id)?.ok_or(CoreError::NotFound("client"))?;
    Ok((client, secret))
}

/// Replaces a client's settings (its id and secret stay). Switching to a
/// secret-based method from one without a secret issues a new secret.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    spec: &ClientSpec,
    now: UnixTime,
) -> CoreResult<(Client, Option<Secret>)> {
    let existing = find(conn, id)?.ok_or(CoreError::NotFound("client"))?;
    let v = validate(spec)?;
    let new_secret =
        (needs_secret(v.auth_method) && existing.secret_hash.is_none()).then(random_token);
    let secret_hash = if needs_secret(v.auth_method) {
        new_secret
            .as_ref()
            .map(|s| sha256_hex(s.expose()))
            .or(existing.secret_hash)
    } else {
        None
    };
    diesel::update(clients::table.find(id))
        .set((
            clients::name.eq(&v.name),
            clients::secret_hash.eq(secret_hash),
            clients::auth_method.eq(v.auth_method.as_str()),
            clients::redirect_uris.eq(json(&spec.redirect_uris)),
            clients::post_logout_redirect_uris.eq(json(&spec.post_logout_redirect_uris)),
            clients::grant_types.eq(json(&v.grant_types)),
            clients::scopes.eq(json(&v.scopes)),
            clients::skip_consent.eq(spec.skip_consent),
            clients::require_pushed_authorization_requests
                .eq(spec.require_pushed_authorization_requests),
            clients::require_signed_request_object.eq(spec.require_signed_request_object),
            clients::always_issue_refresh.eq(spec.always_issue_refresh),
            clients::jwks_uri.eq(&v.jwks_uri),
            clients::jwks.eq(&v.jwks),
            clients::access_token_lifetime_secs.eq(spec.access_token_lifetime_secs),
            clients::refresh_token_idle_secs.eq(spec.refresh_token_idle_secs),
            clients::refresh_token_absolute_secs.eq(spec.refresh_token_absolute_secs),
            clients::resource_server_audiences.eq(json(&v.resource_server_audiences)),
            clients::id_token_signed_response_alg.eq(v.signing_alg.as_str()),
            clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    let client = find(conn, id)?.ok_or(CoreError::NotFound("client"))?;
    Ok((client, new_secret))
}

pub fn find(conn: &mut DbConn, id: &str) -> CoreResult<Option<Client>> {
    Ok(clients::table
        .find(id)
        .select(ClientRow::as_select())
        .get_result(conn)
        .optional()?
        .map(Client::from))
}

pub fn list(conn: &mut DbConn) -> CoreResult<Vec<Client>> {
    Ok(clients::table
        .select(ClientRow::as_select())
        .order(clients::name.asc())
        .load(conn)?
        .into_iter()
        .map(Client::from)
        .collect())
}

/// A new secret for a confidential client; the old one stops working.
pub fn rotate_secret(conn: &mut DbConn, id: &str, now: UnixTime) -> CoreResult<Secret> {
    let c = find(conn, id)?.ok_or(CoreError::NotFound("client"))?;
    if !needs_secret(c.auth_method) {
        let mut v = ValidationErrors::default();
        v.add(
            "auth_method",
            format!("A client using {} has no secret.", c.auth_method.as_str()),
        );
        return Err(CoreError::Validation(v));
    }
    let secret = random_token();
    diesel::update(clients::table.find(id))
        .set((
            clients::secret_hash.eq(sha256_hex(secret.expose())),
            clients::updated_at.eq(now),
            // Tokens issued with the old secret end, those of this second
            // included; the next ones are dated from `now + 1`.
            clients::tokens_not_before.eq(Some(now + 1)),
        ))
        .execute(conn)?;
    Ok(secret)
}

/// Deletes a client and (by cascade) its codes, tokens and consents.
pub fn delete(conn: &mut DbConn, id: &str) -> CoreResult<()> {
    let n = diesel::delete(clients::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(CoreError::NotFound("client"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        assert_eq!(redirect_uri_problem("https://app.example.com/cb"), None);
        assert_eq!(redirect_uri_problem("https://app.example.com/cb?x=1"), None);
        assert_eq!(redirect_uri_problem("http://127.0.0.1:8000/cb"), None);
        assert_eq!(redirect_uri_problem("http://[::1]/cb"), None);
        assert_eq!(redirect_uri_problem("http://localhost:3000/cb"), None);
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "/relative",
            "com.example.app:/cb",
            "javascript:alert(1)",
            "https://user:pw@app.example.com/cb",
        ] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn native_apps_may_use_reverse_domain_private_use_schemes() {
        for good in [
            "com.example.app:/oauth2redirect",
            "com.example.app:/cb?x=1",
            "io.github.some-app:/callback",
        ] {
            assert!(is_private_use_scheme(good), "{good}");
            assert_eq!(native_redirect_uri_problem(good), None, "{good}");
            assert!(redirect_uri_problem(good).is_some(), "confidential: {good}");
        }
        for bad in [
            "myapp:/cb",
            "com..example:/cb",
            "Com.Example:/cb",
            "com.example.app:",
            "com.example.app:/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
        ] {
            assert!(
                native_redirect_uri_problem(bad).is_some(),
                "{bad} should be refused"
            );
        }
        // The usual rules still hold for a native app's other URIs.
        assert_eq!(native_redirect_uri_problem("http://127.0.0.1/cb"), None);
        assert!(native_redirect_uri_problem("http://example.com/cb").is_some());
    }

    fn client(uris: &[&str]) -> Client {
        Client {
            client_id: "c".into(),
            name: "c".into(),
            secret_hash: Some(sha256_hex("s3cret")),
            auth_method: AuthMethod::ClientSecretBasic,
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec![],
            skip_consent: false,
            always_issue_refresh: false,
            jwks_uri: None,
            jwks: None,
            access_token_lifetime_secs: None,
            refresh_token_idle_secs: None,
            refresh_token_absolute_secs: None,
            resource_server_audiences: vec![],
            id_token_signed_response_alg: Algorithm::DEFAULT,
            tokens_not_before: 0,
            require_pushed_authorization_requests: false,
            require_signed_request_object: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn redirect_uris_match_exactly_except_loopback_ports() {
        let c = client(&["https://app.example.com/cb", "http://127.0.0.1/cb"]);
        assert!(c.match_redirect_uri("https://app.example.com/cb").is_some());
        assert!(c
            .match_redirect_uri("https://app.example.com/cb/")
            .is_none());
        assert!(c
            .match_redirect_uri("https://app.example.com/cbx")
            .is_none());
        assert!(c
            .match_redirect_uri("https://app.example.com/cb?x=1")
            .is_none());
        assert!(c.match_redirect_uri("https://APP.example.com/cb").is_none());
        assert!(c.match_redirect_uri("http://127.0.0.1:49152/cb").is_some());
        assert!(c
            .match_redirect_uri("http://127.0.0.1:49152/cb?x")
            .is_none());
        assert!(c
            .match_redirect_uri("http://127.0.0.1:49152/other")
            .is_none());
    }

    #[test]
    fn secrets_compare_by_hash() {
        let c = client(&[]);
        assert!(c.secret_matches("s3cret"));
        assert!(!c.secret_matches("s3creT"));
        assert!(!c.secret_matches(""));
    }
}
