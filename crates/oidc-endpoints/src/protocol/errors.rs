//! OAuth errors as HTTP: RFC 6749 §5.2 JSON with the right status, and the
//! `WWW-Authenticate` challenge on 401 (RFC 6749 §5.2 for clients, RFC 6750
//! §3 for bearer tokens).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use core_auth::oidc::{ErrorCode, OAuthError};
use core_auth::CoreError;
use serde_json::json;

/// An error at a JSON endpoint that authenticates clients.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OAuthJson(pub OAuthError);

/// An error at the bearer-token protected endpoint (userinfo).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BearerError(pub OAuthError);

impl From<OAuthError> for OAuthJson {
    fn from(e: OAuthError) -> Self {
        OAuthJson(e)
    }
}

impl From<CoreError> for OAuthJson {
    fn from(e: CoreError) -> Self {
        OAuthJson(e.into())
    }
}

impl From<OAuthError> for BearerError {
    fn from(e: OAuthError) -> Self {
        BearerError(e)
    }
}

impl From<CoreError> for BearerError {
    fn from(e: CoreError) -> Self {
        BearerError(e.into())
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A quoted-string for a challenge parameter (RFC 9110 §5.6.4).
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect()
}

fn body(e: &OAuthError) -> serde_json::Value {
    json!({ "error": e.code.as_str(), "error_description": e.description })
}

impl ResponseError for OAuthJson {
    fn status_code(&self) -> StatusCode {
        status_of(self.0.code)
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        r.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if self.0.code == ErrorCode::InvalidClient {
            r.insert_header((
                header::WWW_AUTHENTICATE,
                "Basic realm=\"portcullis\", charset=\"UTF-8\"",
            ));
        }
        r.json(body(&self.0))
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        status_of(self.0.code)
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        r.insert_header((header::CACHE_CONTROL, "no-store"));
        let challenge = match self.0.code {
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope | ErrorCode::InvalidRequest => {
                Some(format!(
                    "Bearer realm=\"portcullis\", error=\"{}\", error_description=\"{}\"",
                    self.0.code.as_str(),
                    quoted(&self.0.description)
                ))
            }
            _ => None,
        };
        if let Some(c) = challenge {
            r.insert_header((header::WWW_AUTHENTICATE, c));
        }
        r.json(body(&self.0))
    }
}

/// 401 for a request with no token at all: a bare challenge (RFC 6750 §3.1).
pub fn bearer_required() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"portcullis\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(
            json!({ "error": "invalid_token", "error_description": "an access token is required" }),
        )
}
