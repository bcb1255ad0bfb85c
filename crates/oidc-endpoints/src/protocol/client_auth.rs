//! Reading client credentials off a request, then authenticating them.

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use core_auth::clients::{self, AuthMethod, Client};
use core_auth::oidc::client_auth::{self, Presented, ASSERTION_TYPE};
use core_auth::oidc::OAuthError;
use core_auth::secret::Secret;
use web_kit::context::AppContext;

use super::params::Params;
use crate::jwks_fetch::JwksCache;
use crate::protocol::errors::OAuthJson;

fn form_decode(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn basic(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(OAuthError::invalid_client("malformed Authorization header"));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "use HTTP Basic authentication for the client",
        ));
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    let id =
        form_decode(id).ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    let secret = form_decode(secret)
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    if id.contains('\0') || secret.contains('\0') {
        return Err(OAuthError::invalid_client("malformed Basic credentials"));
    }
    Ok(Some((id, secret)))
}

/// The credentials the request carries; exactly one method.
pub fn extract(req: &HttpRequest, p: &Params) -> Result<Presented, OAuthError> {
    let basic = basic(req)?;
    let get = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    let post_secret = get("client_secret");
    let assertion = get("client_assertion");
    let assertion_type = get("client_assertion_type");
    let client_id = get("client_id");
    let methods = usize::from(basic.is_some())
        + usize::from(post_secret.is_some())
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "use exactly one client authentication method",
        ));
    }
    if let Some((id, secret)) = basic {
        if client_id.as_ref().is_some_and(|c| *c != id) {
            return Err(OAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        return Ok(Presented::Basic {
            client_id: id,
            secret: Secret::new(secret),
        });
    }
    if let Some(secret) = post_secret {
        let client_id = client_id.ok_or_else(|| {
            OAuthError::invalid_request("client_id is required with client_secret")
        })?;
        return Ok(Presented::Post {
            client_id,
            secret: Secret::new(secret),
        });
    }
    if let Some(assertion) = assertion {
        if assertion_type.as_deref() != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            )));
        }
        return Ok(Presented::Assertion {
            assertion,
            client_id,
        });
    }
    match client_id {
        Some(id) => Ok(Presented::Public { client_id: id }),
        None => Err(OAuthError::invalid_client(
            "client authentication is required",
        )),
    }
}

/// The client's registered public keys (its JWKS document, or the one at
/// its `jwks_uri`, cached), for its assertions and request objects.
pub async fn registered_keys(jwks_cache: &JwksCache, client: &Client) -> Option<String> {
    match (&client.jwks, &client.jwks_uri) {
        (Some(doc), _) => Some(doc.clone()),
        (None, Some(uri)) => jwks_cache.get(uri, false).await,
        _ => None,
    }
}

/// Authenticates the request's client; `allow_public` says whether a
/// public client (method `none`) may use this endpoint. `jwks_cache`: the key
/// sets of clients that registered a `jwks_uri`.
pub async fn authenticate(
    ctx: &AppContext,
    jwks_cache: &JwksCache,
    req: &HttpRequest,
    p: &Params,
    allow_public: bool,
) -> Result<Client, OAuthJson> {
    let presented = extract(req, p)?;
    let client_id = presented.client_id()?;
    let now = ctx.now();
    let client = ctx.db(move |c| clients::find(c, &client_id)).await?;
    let jwks = match (&presented, &client) {
        (Presented::Assertion { .. }, Some(c)) if c.auth_method == AuthMethod::PrivateKeyJwt => {
            match (&c.jwks, &c.jwks_uri) {
                (Some(doc), _) => Some(doc.clone()),
                (None, Some(uri)) => jwks_cache.get(uri, false).await,
                _ => None,
            }
        }
        _ => None,
    };
    let jwks_uri = client
        .as_ref()
        .and_then(|c| c.jwks_uri.clone())
        .filter(|_| jwks.is_some());
    let attempt = {
        let (client, presented) = (client.clone(), presented.clone());
        ctx.run(move |ctx| {
            let mut conn = ctx.pool.get().map_err(OAuthError::from)?;
            client_auth::authenticate(
                &mut conn,
                ctx.oidc(),
                client,
                &presented,
                jwks.as_deref(),
                now,
            )
        })
        .await
    };
    let client = match (attempt, jwks_uri) {
        (Ok(c), _) => c,
        // The client may have rotated its keys since we cached them: fetch
        // its JWKS once more and retry.
        (Err(e), Some(uri)) if e.description.contains("signature") => {
            let fresh = jwks_cache.get(&uri, true).await;
            ctx.run(move |ctx| {
                let mut conn = ctx.pool.get().map_err(OAuthError::from)?;
                client_auth::authenticate(
                    &mut conn,
                    ctx.oidc(),
                    client,
                    &presented,
                    fresh.as_deref(),
                    now,
                )
            })
            .await?
        }
        (Err(e), _) => return Err(e.into()),
    };
    if client.is_public() && !allow_public {
        return Err(OAuthError::invalid_client("public clients cannot use this endpoint").into());
    }
    Ok(client)
}

/// Authenticates the request's client, then runs `f` with it on the
/// blocking pool. A client secret (or a public client) is checked in the
/// same blocking task as `f`: one hop to the blocking pool per request.
/// An assertion (`private_key_jwt`) may need the client's JWKS fetched
/// first, so it takes [`authenticate`]'s path, then a second hop.
pub async fn authenticate_then<T, F>(
    ctx: &AppContext,
    jwks_cache: &JwksCache,
    req: &HttpRequest,
    p: &Params,
    allow_public: bool,
    f: F,
) -> Result<T, OAuthJson>
where
    F: FnOnce(&AppContext, Client) -> Result<T, OAuthError> + Send + 'static,
    T: Send + 'static,
{
    let presented = extract(req, p)?;
    if matches!(presented, Presented::Assertion { .. }) {
        let client = authenticate(ctx, jwks_cache, req, p, allow_public).await?;
        return Ok(ctx.compute(move |ctx| f(ctx, client)).await?);
    }
    let client_id = presented.client_id()?;
    let now = ctx.now();
    Ok(ctx
        .compute(move |ctx| {
            let client = {
                let mut conn = ctx.pool.get().map_err(OAuthError::from)?;
                let client = clients::find(&mut conn, &client_id).map_err(OAuthError::from)?;
                client_auth::authenticate(&mut conn, ctx.oidc(), client, &presented, None, now)?
            };
            if client.is_public() && !allow_public {
                return Err(OAuthError::invalid_client(
                    "public clients cannot use this endpoint",
                ));
            }
            f(ctx, client)
        })
        .await?)
}
