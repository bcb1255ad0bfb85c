//! The one gate in front of every admin route.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest};
use oidc_endpoints::{CurrentUser, PageError};

/// A signed-in user with the `admin` role. Nobody signed in: redirect to
/// the sign-in page. Signed in without the role: 403.
#[derive(Debug, Clone)]
pub struct RequireAdmin(pub CurrentUser);

impl FromRequest for RequireAdmin {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        let path = req.path().to_string();
        Box::pin(async move {
            let user = user.await?;
            if user.is_admin() {
                Ok(RequireAdmin(user))
            } else {
                tracing::warn!(user_id = %user.id(), path = %path, "admin access denied");
                Err(PageError::Forbidden(
                    "This area is for administrators. Your account does not have the admin role."
                        .into(),
                ))
            }
        })
    }
}
