//! Protocol parameters from the query string or a form body, strictly: a
//! repeated parameter is `invalid_request` (RFC 6749 §3.1), as are invalid
//! UTF-8, oversized bodies and the wrong content type.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use core_auth::oidc::OAuthError;
use web_kit::context::AppContext;
use web_kit::form::{self, BodyError};

use crate::protocol::errors::OAuthJson;

pub type Params = HashMap<String, String>;

pub fn describe(e: &BodyError) -> OAuthError {
    OAuthError::invalid_request(e.to_string())
}

/// Parameters of a query string, NUL characters allowed (the authorization
/// endpoint reports them to the client itself).
pub fn from_query_allowing_nul(query: &str) -> Result<Params, BodyError> {
    Ok(form::parse_pairs_allowing_nul(query.as_bytes())?
        .into_iter()
        .collect())
}

/// Parameters of a query string.
pub fn from_query(query: &str) -> Result<Params, BodyError> {
    Ok(form::parse_pairs(query.as_bytes())?.into_iter().collect())
}

/// A urlencoded POST body as parameters; errors answer RFC 6749 JSON.
pub struct FormParams(pub Params);

impl FromRequest for FormParams {
    type Error = OAuthJson;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = req
                .app_data::<web::Data<AppContext>>()
                .map(|c| c.config.max_body_bytes)
                .unwrap_or(64 * 1024);
            let pairs = form::read_pairs(&req, &mut payload, limit)
                .await
                .map_err(|e| OAuthJson(describe(&e)))?;
            Ok(FormParams(pairs.into_iter().collect()))
        })
    }
}
