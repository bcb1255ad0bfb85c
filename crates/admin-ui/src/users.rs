//! Admin actions on accounts.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::audit::Event;
use core_auth::{users, CoreError};
use oidc_endpoints::form::Form;
use oidc_endpoints::util::see_other;
use oidc_endpoints::{auditing, csrf, AppContext, PageError};
use serde::Deserialize;

use crate::guard::RequireAdmin;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ActionForm {
    csrf_token: String,
}

/// `POST /admin/users/{id}/delete`: deletes an account, its sessions and
/// tokens. The last administrator cannot be deleted.
pub async fn delete(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
    form: Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let id = path.into_inner();
    let target = id.clone();
    match ctx.db(move |c| users::delete(c, &target)).await {
        Ok(deleted) => {
            auditing::record(
                &ctx,
                auditing::meta(&req, Some(&admin)),
                Event::success("admin_user_deleted")
                    .subject(&deleted.id)
                    .with("email", deleted.email.clone()),
            )
            .await;
            Ok(see_other("/admin?deleted=1"))
        }
        Err(CoreError::Validation(v)) => {
            auditing::record(
                &ctx,
                auditing::meta(&req, Some(&admin)),
                Event::failure("admin_user_deleted")
                    .subject(&id)
                    .with("reason", "last_admin"),
            )
            .await;
            Err(PageError::Forbidden(
                v.0.first().map(|e| e.message.clone()).unwrap_or_default(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
