//! Where an authorization request's parameters come from: the query or
//! form itself, a pushed request (`request_uri`, RFC 9126) or a signed
//! request object (`request`, RFC 9101). The latter two replace the query's
//! parameters entirely.

use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::clients::Client;
use core_auth::oidc::authorize as authz;
use core_auth::oidc::{par, request_object};
use core_auth::UnixTime;
use web_kit::context::AppContext;
use web_kit::errors::PageError;

use super::respond;
use crate::protocol::params::Params;

/// The parameters to validate, and how they came.
pub struct Source {
    pub params: Params,
    /// The `request_uri` of a pushed request.
    pub pushed: Option<String>,
    /// They came as a signed request object (directly or pushed).
    pub signed: bool,
}

fn gone() -> PageError {
    PageError::BadRequest(
        "The pushed authorization request (request_uri) is unknown, expired or already used. \
         Start again from the application."
            .into(),
    )
}

/// Resolves the request's parameters for `client` (when known). `Err` of
/// the inner result: the request ends here with that answer (an invalid
/// request object sent back to a registered redirect URI).
pub async fn resolve(
    req: &HttpRequest,
    ctx: &AppContext,
    client: Option<&Client>,
    params: Params,
    now: UnixTime,
) -> Result<Result<Source, HttpResponse>, PageError> {
    // Only our own request URIs are pushed requests; one by reference to
    // elsewhere is left to validation (`request_uri_not_supported`).
    let pushed = params
        .get("request_uri")
        .filter(|u| u.starts_with(par::URN_PREFIX))
        .cloned();
    let object = params.get("request").filter(|r| !r.is_empty()).cloned();
    let Some(client) = client else {
        // An unknown client: the caller shows the page for it.
        return Ok(Ok(Source {
            params,
            pushed,
            signed: false,
        }));
    };
    if let Some(uri) = &pushed {
        let (id, uri) = (client.client_id.clone(), uri.clone());
        let taken = ctx
            .db(move |c| par::take(c, &id, &uri, now))
            .await?
            .ok_or_else(gone)?;
        return Ok(Ok(Source {
            params: taken.params,
            pushed,
            signed: taken.signed,
        }));
    }
    let Some(object) = object else {
        return Ok(Ok(Source {
            params,
            pushed: None,
            signed: false,
        }));
    };
    let keys = match req.app_data::<web::Data<crate::ProtocolState>>() {
        Some(state) => {
            crate::protocol::client_auth::registered_keys(&state.client_jwks, client).await
        }
        None => None,
    };
    let c = client.clone();
    let decoded = ctx
        .compute(move |ctx| {
            request_object::decode(&c, &object, keys.as_deref(), &ctx.config.issuer, now)
        })
        .await;
    match decoded {
        Ok(p) => Ok(Ok(Source {
            params: p,
            pushed: None,
            signed: true,
        })),
        // Sent back only to a redirect URI registered for the client.
        Err(e) => match authz::resolve_redirect(&params, Some(client)) {
            Ok((redirect_uri, _)) => Ok(Err(respond::error(
                authz::ResponseMode::Query,
                &redirect_uri,
                &e,
                params.get("state").cloned().filter(|s| !s.is_empty()),
                &ctx.config.issuer,
            ))),
            Err(_) => Err(PageError::BadRequest(format!(
                "The signed authorization request is invalid: {}.",
                e.description
            ))),
        },
    }
}
