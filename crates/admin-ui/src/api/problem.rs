//! Errors of the admin API as RFC 7807 problem documents
//! (`application/problem+json`), with one message per field for invalid
//! input and the stable `PC-` code of the domain error.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use core_auth::CoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 7807 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The stable error code, e.g. `PC-VA01` (invalid input), `PC-NF01` (not found).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Invalid input: one entry per message, by field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// Everything an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or one that is not valid (401 with `WWW-Authenticate`).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A valid token without the admin role or scope.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Invalid input, per field (422).
    #[error("invalid: {0:?}")]
    Invalid(Vec<(String, String)>),
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![(field.to_string(), message.into())])
    }

    pub fn problem(&self) -> Problem {
        let p =
            |status: StatusCode, kind: &str, title: &str, detail: String, code: Option<&str>| {
                Problem {
                    kind: kind.to_string(),
                    title: title.to_string(),
                    status: status.as_u16(),
                    detail,
                    code: code.map(String::from),
                    errors: vec![],
                }
            };
        match self {
            ApiError::Unauthorized(d) => p(
                StatusCode::UNAUTHORIZED,
                "about:blank",
                "Unauthorized",
                d.clone(),
                None,
            ),
            ApiError::Forbidden(d) => p(
                StatusCode::FORBIDDEN,
                "about:blank",
                "Forbidden",
                d.clone(),
                None,
            ),
            ApiError::BadRequest(d) => p(
                StatusCode::BAD_REQUEST,
                "about:blank",
                "Bad Request",
                d.clone(),
                None,
            ),
            ApiError::Invalid(errors) => Problem {
                errors: errors
                    .iter()
                    .map(|(f, m)| FieldProblem {
                        field: f.clone(),
                        message: m.clone(),
                    })
                    .collect(),
                ..p(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "urn:portcullis:problem:validation",
                    "Invalid input",
                    "Some fields are not valid; see errors.".into(),
                    Some("PC-VA01"),
                )
            },
            ApiError::Core(e) => match e {
                CoreError::Validation(v) => ApiError::Invalid(
                    v.0.iter()
                        .map(|f| (f.field.to_string(), f.message.clone()))
                        .collect(),
                )
                .problem(),
                CoreError::NotFound(what) => p(
                    StatusCode::NOT_FOUND,
                    "about:blank",
                    "Not Found",
                    format!("There is no such {what}."),
                    Some(e.code()),
                ),
                CoreError::EmailTaken => Problem {
                    errors: vec![FieldProblem {
                        field: "email".into(),
                        message: "An account with this email address exists.".into(),
                    }],
                    ..p(
                        StatusCode::CONFLICT,
                        "urn:portcullis:problem:conflict",
                        "Conflict",
                        "The email address is in use.".into(),
                        Some(e.code()),
                    )
                },
                CoreError::ReauthRequired { max_age } => p(
                    StatusCode::UNAUTHORIZED,
                    "urn:portcullis:problem:reauth-required",
                    "Authentication too old",
                    format!(
                        "This action needs a token issued (for a user: a sign-in) within the last {max_age} seconds; get a new token and try again."
                    ),
                    Some(e.code()),
                ),
                CoreError::Unavailable(_) => p(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "about:blank",
                    "Service Unavailable",
                    "The database cannot be reached; try again.".into(),
                    Some(e.code()),
                ),
                _ => p(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "about:blank",
                    "Internal Server Error",
                    "The request failed; it has been logged.".into(),
                    Some(e.code()),
                ),
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.problem().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Core(e) = self {
            if e.is_internal() {
                tracing::error!(code = e.code(), error = %e, "admin API request failed");
            }
        }
        let problem = self.problem();
        let mut resp = HttpResponse::build(self.status_code());
        resp.content_type("application/problem+json")
            .insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::Unauthorized(d) => {
                let v = if d.starts_with("no bearer") {
                    r#"Bearer realm="portcullis-admin""#.to_string()
                } else {
                    r#"Bearer realm="portcullis-admin", error="invalid_token""#.to_string()
                };
                resp.insert_header((header::WWW_AUTHENTICATE, v));
            }
            ApiError::Core(CoreError::ReauthRequired { max_age }) => {
                // RFC 9470 (step-up authentication).
                let v = format!(
                    r#"Bearer realm="portcullis-admin", error="insufficient_user_authentication", error_description="a more recent authentication is required", max_age={max_age}"#
                );
                resp.insert_header((header::WWW_AUTHENTICATE, v));
            }
            ApiError::Forbidden(_) => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="portcullis-admin", error="insufficient_scope", scope="admin""#,
                ));
            }
            _ => {}
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}
