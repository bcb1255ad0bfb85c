//! The one gate in front of every admin route.

use core_auth::audit::EventKind;
use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use core_auth::audit::{Event, Outcome};
use web_kit::{auditing, AppContext};
use web_kit::{CurrentUser, PageError};

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
        let method = req.method().to_string();
        let req = req.clone();
        Box::pin(async move {
            let user = user.await?;
            if user.is_admin() {
                Ok(RequireAdmin(user))
            } else {
                if let Some(ctx) = req.app_data::<web::Data<AppContext>>() {
                    auditing::record(
                        ctx,
                        auditing::meta(&req, Some(&user)),
                        Event::new(EventKind::PermissionDenied, Outcome::Denied)
                            .subject(user.id())
                            .with("path", path)
                            .with("method", method)
                            .with("required_role", "admin"),
                    )
                    .await;
                }
                Err(PageError::Forbidden(
                    "This area is for administrators. Your account does not have the admin role."
                        .into(),
                ))
            }
        })
    }
}
