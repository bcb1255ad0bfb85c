//! Portcullis as a relying party of an upstream provider: discovery (cached
//! per node), the authorization URL, the code exchange with PKCE, and the
//! identity, from a validated ID token (`openidconnect`) or a plain OAuth2
//! user-info document (`oauth2`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use core_auth::federation::identity::{self, UpstreamIdentity};
use core_auth::federation::pending::PendingLogin;
use core_auth::federation::{Kind, TokenAuth, UpstreamProvider};
use core_auth::UnixTime;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, RequestTokenError, TokenResponse as _};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AuthUrl, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, JsonWebKeySet, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse as _, TokenUrl,
};
use serde_json::Value;

/// Discovery documents and keys are re-read after this long (and at once
/// when an ID token names a key we do not have).
const METADATA_TTL: i64 = 3600;
const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY: usize = 1024 * 1024;

/// Why talking to the provider failed. Each maps to a page and an audit
/// reason; none carries secrets.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Network failure, timeout, or a 5xx: the provider is down.
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    /// The token endpoint refused the code (expired, used, wrong client).
    #[error("provider refused the code: {0}")]
    CodeRejected(String),
    /// The ID token failed validation (signature, issuer, audience, nonce,
    /// expiry).
    #[error("invalid ID token: {0}")]
    InvalidIdToken(String),
    /// Something else the provider sent could not be used.
    #[error("unusable answer from the provider: {0}")]
    BadResponse(String),
}

impl UpstreamError {
    pub fn code(&self) -> &'static str {
        match self {
            UpstreamError::Unreachable(_) => "provider_unreachable",
            UpstreamError::CodeRejected(_) => "code_rejected",
            UpstreamError::InvalidIdToken(_) => "invalid_id_token",
            UpstreamError::BadResponse(_) => "bad_response",
        }
    }
}

/// An OpenID Connect client built from a discovery document.
type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

struct Cached {
    fetched_at: UnixTime,
    meta: Arc<CoreProviderMetadata>,
}

/// The HTTP client and the discovery cache; one per node, in
/// [`crate::ProtocolState`].
pub struct Upstreams {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upstreams")
    }
}

impl Default for Upstreams {
    fn default() -> Self {
        // No redirects: every URL is configured or discovered, and a
        // provider's redirect is not followed anywhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("Portcullis/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

fn unreachable(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Unreachable(e.to_string())
}

fn bad(e: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::BadResponse(e.to_string())
}

fn scheme_ok(p: &UpstreamProvider, url: &str) -> bool {
    url.starts_with("https://") || (p.dangerous_allow_http && url.starts_with("http://"))
}

fn asymmetric(alg: &CoreJwsSigningAlgorithm) -> bool {
    use CoreJwsSigningAlgorithm as A;
    matches!(
        alg,
        A::RsaSsaPkcs1V15Sha256
            | A::RsaSsaPkcs1V15Sha384
            | A::RsaSsaPkcs1V15Sha512
            | A::EcdsaP256Sha256
            | A::EcdsaP384Sha384
            | A::EcdsaP521Sha512
            | A::RsaSsaPssSha256
            | A::RsaSsaPssSha384
            | A::RsaSsaPssSha512
            | A::EdDsa
    )
}

fn pkce(pending: &PendingLogin) -> PkceCodeChallenge {
    PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
        pending.pkce_verifier.clone(),
    ))
}

fn token_error<RE: std::error::Error + 'static, T: oauth2::ErrorResponse + 'static>(
    e: RequestTokenError<RE, T>,
) -> UpstreamError {
    match e {
        RequestTokenError::ServerResponse(r) => UpstreamError::CodeRejected(r.to_string()),
        RequestTokenError::Request(r) => unreachable(r),
        RequestTokenError::Parse(e, _) => bad(format!("token response: {e}")),
        RequestTokenError::Other(m) => bad(m),
    }
}

fn cache_key(p: &UpstreamProvider) -> String {
    format!("{}\n{}\n{}", p.id, p.issuer, p.dangerous_allow_http)
}

impl web_kit::context::ProviderCache for Upstreams {
    /// Drops this node's cached discovery documents of provider `id` (after
    /// an administrator changed or deleted it; other nodes key their
    /// caches by the issuer, so they never use a stale one either).
    fn forget(&self, id: &str) {
        let prefix = format!("{id}\n");
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|k, _| !k.starts_with(&prefix));
        }
    }
}

impl Upstreams {
    async fn get_json(&self, url: &str, bearer: Option<&str>) -> Result<Value, UpstreamError> {
        let mut req = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(unreachable)?;
        if status.is_server_error() {
            return Err(UpstreamError::Unreachable(format!(
                "{url} answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(bad(format!("{url} answered {status}")));
        }
        if body.len() > MAX_BODY {
            return Err(bad(format!("{url}: answer too large")));
        }
        serde_json::from_slice(&body).map_err(|e| bad(format!("{url}: {e}")))
    }

    async fn fetch_metadata(
        &self,
        p: &UpstreamProvider,
    ) -> Result<CoreProviderMetadata, UpstreamError> {
        let url = format!("{}/.well-known/openid-configuration", p.issuer);
        let doc = self.get_json(&url, None).await?;
        let meta: CoreProviderMetadata =
            serde_json::from_value(doc).map_err(|e| bad(format!("discovery document: {e}")))?;
        // A multi-tenant Microsoft document names a template issuer; every
        // other document must name the configured issuer.
        if !p.multi_tenant() && meta.issuer().as_str().trim_end_matches('/') != p.issuer {
            return Err(bad(format!(
                "discovery document names issuer {}, not {}",
                meta.issuer().as_str(),
                p.issuer
            )));
        }
        let mut urls = vec![
            meta.authorization_endpoint().as_str(),
            meta.jwks_uri().as_str(),
        ];
        urls.extend(meta.token_endpoint().map(|u| u.as_str()));
        urls.extend(meta.userinfo_endpoint().map(|u| u.as_str()));
        if let Some(u) = urls.iter().find(|u| !scheme_ok(p, u)) {
            return Err(bad(format!("discovery names a non-https endpoint: {u}")));
        }
        if meta.token_endpoint().is_none() {
            return Err(bad("discovery document has no token endpoint"));
        }
        let jwks = JsonWebKeySet::fetch_async(meta.jwks_uri(), &self.http)
            .await
            .map_err(|e| unreachable(format!("JWKS: {e}")))?;
        Ok(meta.set_jwks(jwks))
    }

    /// The provider's discovery document with its keys, from the cache unless
    /// it is older than the TTL or `fresh` is asked for.
    async fn metadata(
        &self,
        p: &UpstreamProvider,
        now: UnixTime,
        fresh: bool,
    ) -> Result<Arc<CoreProviderMetadata>, UpstreamError> {
        // Keyed by what the document depends on: after an administrator
        // changes a provider's issuer, no node uses the old issuer's document.
        let key = cache_key(p);
        if !fresh {
            if let Ok(cache) = self.cache.lock() {
                if let Some(c) = cache.get(&key) {
                    if now - c.fetched_at < METADATA_TTL && now >= c.fetched_at {
                        return Ok(c.meta.clone());
                    }
                }
            }
        }
        let meta = Arc::new(self.fetch_metadata(p).await?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                key,
                Cached {
                    fetched_at: now,
                    meta: meta.clone(),
                },
            );
        }
        Ok(meta)
    }

    fn oidc_client(
        p: &UpstreamProvider,
        meta: &CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<OidcClient, UpstreamError> {
        let post = match p.token_auth() {
            TokenAuth::Post => true,
            TokenAuth::Basic => false,
            TokenAuth::Auto => meta
                .token_endpoint_auth_methods_supported()
                .is_some_and(|m| {
                    !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
                        && m.contains(&CoreClientAuthMethod::ClientSecretPost)
                }),
        };
        let client = CoreClient::from_provider_metadata(
            meta.clone(),
            ClientId::new(p.client_id.clone()),
            Some(ClientSecret::new(p.client_secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(bad)?);
        Ok(if post {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }

    fn oauth2_client(
        p: &UpstreamProvider,
        redirect_uri: &str,
    ) -> Result<
        BasicClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        UpstreamError,
    > {
        let client = BasicClient::new(oauth2::ClientId::new(p.client_id.clone()))
            .set_client_secret(oauth2::ClientSecret::new(p.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(p.authorization_url.clone()).map_err(bad)?)
            .set_token_uri(TokenUrl::new(p.token_url.clone()).map_err(bad)?)
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(bad)?);
        Ok(match p.token_auth() {
            TokenAuth::Post => client.set_auth_type(AuthType::RequestBody),
            _ => client,
        })
    }

    /// Where to send the browser: the provider's authorization endpoint with
    /// `state`, `nonce` (OpenID Connect) and the PKCE challenge of `pending`.
    pub async fn authorize_url(
        &self,
        p: &UpstreamProvider,
        redirect_uri: &str,
        pending: &PendingLogin,
        now: UnixTime,
    ) -> Result<String, UpstreamError> {
        let state = pending.state.clone();
        let scopes = p
            .scopes
            .iter()
            .filter(|s| *s != "openid")
            .map(|s| Scope::new(s.clone()));
        match p.kind() {
            Kind::Oidc => {
                let meta = self.metadata(p, now, false).await?;
                let client = Self::oidc_client(p, &meta, redirect_uri)?;
                let nonce = pending.nonce.clone();
                let mut request = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        move || CsrfToken::new(state),
                        move || Nonce::new(nonce),
                    )
                    .add_scopes(scopes)
                    .set_pkce_challenge(pkce(pending));
                if pending.is_reauth() {
                    // Confirming who someone is: the provider must ask
                    // for their credentials again, not reuse its session.
                    request = request
                        .add_prompt(openidconnect::core::CoreAuthPrompt::Login)
                        .set_max_age(std::time::Duration::ZERO);
                }
                let (url, _, _) = request.url();
                Ok(url.to_string())
            }
            Kind::Oauth2 => {
                let client = Self::oauth2_client(p, redirect_uri)?;
                let scopes = p.scopes.iter().map(|s| oauth2::Scope::new(s.clone()));
                let (url, _) = client
                    .authorize_url(move || oauth2::CsrfToken::new(state))
                    .add_scopes(scopes)
                    .set_pkce_challenge(pkce(pending))
                    .url();
                Ok(url.to_string())
            }
        }
    }

    /// Exchanges `code` (with the PKCE verifier) and returns who signed in:
    /// the validated ID token's claims, completed from the userinfo
    /// endpoint when they lack the address; or the OAuth2 user info.
    /// `iss` is the callback's RFC 9207 parameter, when the provider sent it.
    pub async fn identify(
        &self,
        p: &UpstreamProvider,
        redirect_uri: &str,
        pending: &PendingLogin,
        code: &str,
        iss: Option<&str>,
        now: UnixTime,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        match p.kind() {
            Kind::Oidc => {
                self.identify_oidc(p, redirect_uri, pending, code, iss, now)
                    .await
            }
            Kind::Oauth2 => self.identify_oauth2(p, redirect_uri, pending, code).await,
        }
    }

    async fn identify_oidc(
        &self,
        p: &UpstreamProvider,
        redirect_uri: &str,
        pending: &PendingLogin,
        code: &str,
        iss: Option<&str>,
        now: UnixTime,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let meta = self.metadata(p, now, false).await?;
        if let Some(iss) = iss {
            if !p.multi_tenant() && iss != meta.issuer().as_str() {
                return Err(bad("the callback's iss is not the provider's issuer"));
            }
        }
        let client = Self::oidc_client(p, &meta, redirect_uri)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(bad)?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = response.id_token().ok_or_else(|| {
            UpstreamError::InvalidIdToken("the token response has no ID token".into())
        })?;
        let nonce = Nonce::new(pending.nonce.clone());
        let verify =
            |meta: &CoreProviderMetadata| -> Result<UpstreamIdentity, ClaimsVerificationError> {
                let client = Self::oidc_client(p, meta, redirect_uri)
                    .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
                let algs: Vec<CoreJwsSigningAlgorithm> = meta
                    .id_token_signing_alg_values_supported()
                    .iter()
                    .filter(|a| asymmetric(a))
                    .cloned()
                    .collect();
                let at =
                    chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0).unwrap_or_default();
                let verifier = client
                    .id_token_verifier()
                    .set_allowed_algs(if algs.is_empty() {
                        vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]
                    } else {
                        algs
                    })
                    .require_issuer_match(!p.multi_tenant())
                    .set_time_fn(move || at);
                let claims = id_token.claims(&verifier, &nonce)?;
                Ok(UpstreamIdentity {
                    subject: claims.subject().as_str().to_string(),
                    email: claims
                        .email()
                        .map(|e| e.as_str().to_string())
                        .unwrap_or_default(),
                    email_verified: claims.email_verified().unwrap_or(false),
                    name: claims
                        .name()
                        .and_then(|n| n.get(None))
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default(),
                    amr: claims
                        .auth_method_refs()
                        .map(|l| l.iter().map(|a| a.as_str().to_string()).collect())
                        .unwrap_or_default(),
                })
            };
        let mut id = match verify(&meta) {
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                // Perhaps a key the provider rotated in since we cached its
                // JWKS: read it again, once.
                let fresh = self.metadata(p, now, true).await?;
                verify(&fresh)
            }
            other => other,
        }
        .map_err(|e| UpstreamError::InvalidIdToken(e.to_string()))?;
        if p.multi_tenant() {
            let (iss, tid) = unverified_iss_tid(&id_token.to_string());
            if !p.issuer_matches(&iss, tid.as_deref()) {
                return Err(UpstreamError::InvalidIdToken(format!(
                    "issuer {iss} is not the tenant's"
                )));
            }
        }
        if id.email.is_empty() {
            // The ID token lacks the address: ask the userinfo endpoint. A
            // failure there is not the sign-in's: it goes on without one.
            if let Err(e) = self
                .complete_from_userinfo(&client, response.access_token(), &mut id)
                .await
            {
                tracing::info!(provider = %p.id, error = %e, "upstream userinfo unavailable");
            }
        }
        id.checked().map_err(bad)
    }

    async fn complete_from_userinfo(
        &self,
        client: &OidcClient,
        token: &AccessToken,
        id: &mut UpstreamIdentity,
    ) -> Result<(), UpstreamError> {
        let request = client
            .user_info(
                token.clone(),
                Some(openidconnect::SubjectIdentifier::new(id.subject.clone())),
            )
            .map_err(bad)?;
        let info: CoreUserInfoClaims = request
            .request_async(&self.http)
            .await
            .map_err(|e| bad(format!("userinfo: {e}")))?;
        if let Some(e) = info.email() {
            id.email = e.as_str().to_string();
            id.email_verified = info.email_verified().unwrap_or(false);
        }
        if id.name.is_empty() {
            if let Some(n) = info.name().and_then(|n| n.get(None)) {
                id.name = n.as_str().to_string();
            }
        }
        Ok(())
    }

    async fn identify_oauth2(
        &self,
        p: &UpstreamProvider,
        redirect_uri: &str,
        pending: &PendingLogin,
        code: &str,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let client = Self::oauth2_client(p, redirect_uri)?;
        let response = client
            .exchange_code(oauth2::AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(oauth2::PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let token = response.access_token().secret().clone();
        let doc = self.get_json(&p.userinfo_url, Some(&token)).await?;
        let emails = if p.emails_url.is_empty() {
            None
        } else {
            // Without the scope for it the list is refused: then the
            // address stays unverified rather than failing the sign-in.
            match self.get_json(&p.emails_url, Some(&token)).await {
                Ok(v) => Some(v),
                Err(UpstreamError::Unreachable(e)) => return Err(UpstreamError::Unreachable(e)),
                Err(e) => {
                    tracing::info!(provider = %p.id, error = %e, "upstream email list unavailable");
                    None
                }
            }
        };
        identity::from_userinfo(p, &doc, emails.as_ref()).map_err(bad)
    }
}

/// `iss` and `tid` of a JWT's payload, read without verification (only
/// after the signature has been checked).
fn unverified_iss_tid(jwt: &str) -> (String, Option<String>) {
    use base64::Engine as _;
    let payload = jwt
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or(Value::Null);
    let s = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_string);
    (s("iss").unwrap_or_default(), s("tid"))
}
