//! Sensitive actions (deleting, changing roles, rotating keys or secrets)
//! ask for the password again when the sign-in is older than ten minutes.
//!
//! The action's own form is answered with a page that carries every field
//! it sent plus a password field and posts back to the same action; with
//! the right password the session's `auth_time` becomes now and the action
//! goes ahead in that same request. A form that carries a secret (an
//! upstream provider's client secret) has the password field itself
//! instead ([`check_inline`]), so that the secret is never sent back.
//!
//! Whoever has linked an upstream provider may confirm with a fresh
//! sign-in there instead (`POST /login/upstream/{id}/reauth`): they come
//! back to the page they were on and do the action again. An account
//! without a password (created through a provider) has only that way.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::audit::Event;
use core_auth::sessions::keys;
use core_auth::{users, CoreError, Secret};
use oidc_endpoints::identity::CurrentUser;
use oidc_endpoints::pages::Layout;
use oidc_endpoints::util::render;
use oidc_endpoints::{auditing, AppContext, PageError};

use crate::fields::Fields;
use crate::guard::RequireAdmin;
use crate::view::{frame, Chrome};

/// How old a sign-in may be for a sensitive action.
pub const MAX_AGE_SECS: i64 = 600;
pub const FIELD: &str = "reauth_password";

#[derive(Template)]
#[template(path = "admin/reauth.html")]
struct ReauthPage {
    layout: Layout,
    admin: Chrome,
    action: String,
    what: String,
    hidden: Vec<(String, String)>,
    error: Option<String>,
    has_password: bool,
    /// Linked, enabled providers: (id, display name).
    providers: Vec<(String, String)>,
    /// Where a provider round trip comes back to.
    back: String,
    csrf: String,
}

/// The local page the request came from (its `Referer`), where a provider
/// round trip returns: the action is done again from there.
fn came_from(req: &HttpRequest, ctx: &AppContext) -> String {
    req.headers()
        .get(actix_web::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix(ctx.config.issuer.trim_end_matches('/')))
        .and_then(oidc_endpoints::util::local_path)
        .unwrap_or_else(|| "/admin".into())
}

/// Whether a sensitive action needs the password now.
pub fn needed(ctx: &AppContext, admin: &CurrentUser) -> bool {
    ctx.now() - admin.auth_time > MAX_AGE_SECS
}

/// Checks `password` (non-empty) as the administrator's: right, the
/// session's `auth_time` becomes now. Both outcomes are audited.
async fn confirm(
    req: &HttpRequest,
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    password: String,
) -> Result<bool, PageError> {
    let now = ctx.now();
    let email = admin.user.user.email.clone();
    let secret = Secret::new(password);
    let checked = ctx
        .run(move |ctx| users::authenticate(&ctx.pool, &ctx.passwords, &email, &secret, now))
        .await;
    let meta = auditing::meta(req, Some(admin));
    match checked {
        Ok(u) if u.id == admin.id() => {
            session
                .insert(keys::AUTH_TIME, now)
                .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
            auditing::record(
                ctx,
                meta,
                Event::success("admin_reauth").subject(admin.id()),
            )
            .await;
            Ok(true)
        }
        Ok(_) | Err(CoreError::InvalidCredentials) | Err(CoreError::AccountDisabled) => {
            auditing::record(
                ctx,
                meta,
                Event::failure("admin_reauth")
                    .subject(admin.id())
                    .with("reason", "bad_credentials"),
            )
            .await;
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// For a form that carries a secret, which must not travel back to the
/// browser in the hidden fields of the password page: the form itself has
/// the password field ([`FIELD`]) while [`needed`]. `None`: go ahead.
/// `Some((status, message))`: show the form again with the message at that
/// field (200 when the password is asked for, 401 when it was wrong).
pub async fn check_inline(
    req: &HttpRequest,
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    fields: &Fields,
) -> Result<Option<(StatusCode, String)>, PageError> {
    if !needed(ctx, admin) {
        return Ok(None);
    }
    let password = fields.get(FIELD).to_string();
    if admin.user.user.password_hash.is_none() {
        return Ok(Some((
            StatusCode::OK,
            "Your account has no password: confirm it is you at /admin/reauth (with an account linked to yours), then save again.".into(),
        )));
    }
    if password.is_empty() {
        return Ok(Some((
            StatusCode::OK,
            "Enter your password to confirm this change.".into(),
        )));
    }
    if confirm(req, ctx, session, admin, password).await? {
        Ok(None)
    } else {
        Ok(Some((
            StatusCode::UNAUTHORIZED,
            "That password is not right.".into(),
        )))
    }
}

/// `None`: go ahead. `Some(page)`: answer with the page (the password
/// form, or the form again after a wrong password).
pub async fn gate(
    req: &HttpRequest,
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    fields: &Fields,
    what: &str,
) -> Result<Option<HttpResponse>, PageError> {
    if !needed(ctx, admin) {
        return Ok(None);
    }
    let password = fields.get(FIELD).to_string();
    let mut error = None;
    if !password.is_empty() {
        if confirm(req, ctx, session, admin, password).await? {
            return Ok(None);
        }
        error = Some("That password is not right.".to_string());
    }
    let hidden = fields
        .0
        .iter()
        .filter(|(k, _)| k != FIELD)
        .cloned()
        .collect();
    let back = came_from(req, ctx);
    page(ctx, session, admin, req.path(), what, hidden, error, &back)
        .await
        .map(Some)
}

/// The password page (and the linked providers' buttons).
#[allow(clippy::too_many_arguments)]
async fn page(
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    action: &str,
    what: &str,
    hidden: Vec<(String, String)>,
    error: Option<String>,
    back: &str,
) -> Result<HttpResponse, PageError> {
    let has_password = admin.user.user.password_hash.is_some();
    let title = if has_password {
        "Confirm your password"
    } else {
        "Confirm it is you"
    };
    let (layout, chrome) = frame(session, admin, title, "")?;
    let providers = oidc_endpoints::upstream::linked_providers(ctx, admin.id()).await?;
    let csrf = oidc_endpoints::csrf::token(session)?;
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &ReauthPage {
            layout,
            admin: chrome,
            action: action.to_string(),
            what: what.to_string(),
            hidden,
            error,
            has_password,
            providers,
            back: back.to_string(),
            csrf,
        },
    ))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

/// The page of `/admin/reauth`: its password form posts back there with
/// `next`, where the administrator goes on to.
async fn standalone(
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    next: &str,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let hidden = vec![
        (
            "csrf_token".to_string(),
            oidc_endpoints::csrf::token(session)?,
        ),
        ("next".to_string(), next.to_string()),
    ];
    page(
        ctx,
        session,
        admin,
        "/admin/reauth",
        "go on",
        hidden,
        error,
        next,
    )
    .await
}

/// `GET /admin/reauth?next=`: confirm who you are now, then go on to
/// `next` (for forms that ask inline, when the account has no password).
pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = oidc_endpoints::util::local_path(&q.next).unwrap_or_else(|| "/admin".into());
    standalone(&ctx, &session, &admin, &next, None).await
}

/// `POST /admin/reauth`: the password, then on to `next`.
pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    oidc_endpoints::csrf::verify(&session, fields.get("csrf_token"))?;
    let next =
        oidc_endpoints::util::local_path(fields.get("next")).unwrap_or_else(|| "/admin".into());
    let password = fields.get(FIELD).to_string();
    if !password.is_empty() && confirm(&req, &ctx, &session, &admin, password).await? {
        return Ok(oidc_endpoints::util::see_other(&next));
    }
    let error = Some("That password is not right.".to_string());
    standalone(&ctx, &session, &admin, &next, error).await
}
