//! How failures look to a person in a browser: a page with a friendly
//! message and the right status. (Protocol endpoints answer RFC 6749 JSON
//! instead; see `oauth_error`.)

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use core_auth::CoreError;

use crate::util::render;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    #[error(transparent)]
    Core(#[from] CoreError),
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub layout: crate::layout::Layout,
    pub status: u16,
    pub heading: &'a str,
    pub message: &'a str,
}

impl PageError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "That request could not be understood", m.clone()),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "You can't do that", m.clone()),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your security the form could not be accepted: it is too old, or it was sent from another site. Go back, reload the page and try again.".into(),
            ),
            PageError::NotFound => (StatusCode::NOT_FOUND, "Page not found", "There is nothing at this address.".into()),
            PageError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "That was too much",
                "The form you sent is larger than this server accepts.".into(),
            ),
            PageError::SignInRequired { .. } => (StatusCode::SEE_OTHER, "Sign in", String::new()),
            PageError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!(
                    "For your security there is a pause here. Please try again in {}.",
                    if *retry_after < 90 {
                        format!("{retry_after} seconds")
                    } else {
                        format!("{} minutes", retry_after.div_ceil(60))
                    }
                ),
            ),
            PageError::Core(e) => match e {
                CoreError::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", format!("That {what} does not exist.")),
                CoreError::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "The service can't reach its database right now. Please try again in a moment.".into(),
                ),
                CoreError::Validation(v) => (StatusCode::UNPROCESSABLE_ENTITY, "Please check your input", v.to_string()),
                CoreError::AccountDisabled => (StatusCode::FORBIDDEN, "Account disabled", "This account is disabled.".into()),
                CoreError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "Sign-in failed", "Incorrect email or password.".into()),
                CoreError::EmailTaken => (StatusCode::CONFLICT, "Email in use", "An account with this email already exists.".into()),
                CoreError::ReauthRequired { .. } => (
                    StatusCode::FORBIDDEN,
                    "Confirm it is you",
                    "This action needs a recent sign-in. Go back and confirm your password, or sign out and sign in again.".into(),
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "An unexpected error stopped this request. It has been logged; please try again.".into(),
                ),
            },
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::SignInRequired { next } = self {
            let location = format!("/login?next={}", crate::util::urlencode(next));
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .finish();
        }
        let (status, heading, message) = self.parts();
        if let PageError::TooManyRequests { retry_after } = self {
            let mut resp = render(
                status,
                &ErrorPage {
                    layout: crate::layout::Layout::anonymous(heading),
                    status: status.as_u16(),
                    heading,
                    message: &message,
                },
            );
            if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
        if let PageError::Core(e) = self {
            if e.is_internal() {
                tracing::error!(code = e.code(), error = %e, "request failed");
            }
        }
        render(
            status,
            &ErrorPage {
                layout: crate::layout::Layout::anonymous(heading),
                status: status.as_u16(),
                heading,
                message: &message,
            },
        )
    }
}
