//! Request bodies and query strings of the admin API, whose failures are
//! problem documents too (actix's own extractors answer plain text).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use web_kit::form::read_body;
use web_kit::AppContext;

use super::problem::ApiError;

/// A JSON body (`application/json`), deserialized strictly: unknown fields
/// and wrong types answer 400 with the reason.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let limit = req
                .app_data::<web::Data<AppContext>>()
                .map(|c| c.config.max_body_bytes)
                .unwrap_or(64 * 1024);
            let body = read_body(&req, &mut payload, limit)
                .await
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            if req.content_type() != "application/json" {
                return Err(ApiError::BadRequest(
                    "send the body as application/json".into(),
                ));
            }
            serde_json::from_slice(&body)
                .map(ApiJson)
                .map_err(|e| ApiError::BadRequest(format!("the JSON body is not valid: {e}")))
        })
    }
}

/// A query string, deserialized strictly.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            serde_urlencoded::from_str::<T>(req.query_string())
                .map(ApiQuery)
                .map_err(|e| ApiError::BadRequest(format!("the query string is not valid: {e}"))),
        )
    }
}

/// Page size: 1 to 200, 50 when not given.
pub fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    match l {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("limit", "Use a page size from 1 to 200.")),
    }
}

/// Opaque cursors: base64url of the position.
pub fn encode_cursor(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s.as_bytes())
}

pub fn decode_cursor(c: Option<&str>) -> Result<Option<String>, ApiError> {
    match c.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "This cursor is not one the API gave out.")),
    }
}
