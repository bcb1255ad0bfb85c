//! CSRF protection: a synchronizer token kept in the server-side session and
//! echoed by every form as `csrf_token`. Checked before anything changes.

use actix_session::Session;
use core_auth::secret::{ct_eq, random_token};
use core_auth::sessions::keys;

use crate::errors::PageError;

/// The session's CSRF token, created on first use.
pub fn token(session: &Session) -> Result<String, PageError> {
    if let Ok(Some(t)) = session.get::<String>(keys::CSRF) {
        return Ok(t);
    }
    rotate(session)
}

/// A fresh token (at sign-in, so a token seen before sign-in is useless after).
pub fn rotate(session: &Session) -> Result<String, PageError> {
    let t = random_token().into_inner();
    session
        .insert(keys::CSRF, &t)
        .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
    Ok(t)
}

/// Refuses with 403 unless `submitted` is this session's token.
pub fn verify(session: &Session, submitted: &str) -> Result<(), PageError> {
    match session.get::<String>(keys::CSRF) {
        Ok(Some(expected))
            if !submitted.is_empty() && ct_eq(expected.as_bytes(), submitted.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(PageError::Csrf),
    }
}
