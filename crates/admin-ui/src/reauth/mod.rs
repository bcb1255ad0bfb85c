//! Confirming who you are before a sensitive action.
//!
//! The domain decides which actions are sensitive (anything that grants
//! admin power, issues a secret or changes who can sign in) and refuses
//! them with `CoreError::ReauthRequired` when the administrator signed in
//! longer ago than `admin.reauth_window_secs`. The console answers that
//! refusal with [`AdminForm::reauth_page`]: every field the form sent plus
//! a password field, posting back to the same action. [`AdminForm`] checks
//! that password before the handler runs (throttled and audited like a
//! sign-in, see `core_auth::signin::reauthenticate`); right, the session's
//! `auth_time` becomes now and the action goes ahead in that same request.
//! A form that carries a secret (an upstream provider's client secret) has
//! the password field itself instead, so that the secret is never sent
//! back.
//!
//! Whoever has linked an upstream provider may confirm with a fresh
//! sign-in there instead (`POST /login/upstream/{id}/reauth`): they come
//! back to the page they were on and do the action again. An account
//! without a password (created through a provider) has only that way.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::actor::Actor;
use core_auth::sessions::keys;
use core_auth::signin::{self, Refusal};
use core_auth::Secret;
use oidc_endpoints::identity::CurrentUser;
use oidc_endpoints::pages::Layout;
use oidc_endpoints::ratelimit::Group;
use oidc_endpoints::util::{client_addr, render};
use oidc_endpoints::{auditing, csrf, AppContext, PageError};

use crate::fields::Fields;
use crate::guard::RequireAdmin;
use crate::view::{frame, Chrome};

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

/// Whether a sensitive action would be refused now (for forms that show
/// the password field themselves).
pub fn needed(ctx: &AppContext, admin: &CurrentUser) -> bool {
    ctx.now() - admin.auth_time > ctx.config.admin.reauth_window_secs.max(0)
}

/// A submitted console form: an administrator (checked before the body is
/// read), its fields (read strictly), and the re-authentication password,
/// if it carries one, checked. Its CSRF token was verified before: every
/// console route is in the route table, so the CSRF guard
/// (`oidc_endpoints::csrf::guard`) checks every console POST before the
/// handler runs. The replayed form of [`AdminForm::reauth_page`] carries
/// the token among its hidden fields.
pub struct AdminForm {
    pub admin: CurrentUser,
    pub fields: Fields,
    /// A password was given and refused: the status and message to show.
    pub refused: Option<(StatusCode, String)>,
    req: HttpRequest,
}

impl AdminForm {
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name)
    }

    /// The administrator as the actor of a use case.
    pub fn actor(&self) -> Actor {
        auditing::meta(&self.req, Some(&self.admin))
    }

    /// The answer to `CoreError::ReauthRequired`: the password page, which
    /// posts the same fields back to the same action (after a wrong
    /// password, with the message and its status).
    pub async fn reauth_page(
        &self,
        ctx: &AppContext,
        session: &Session,
        what: &str,
    ) -> Result<HttpResponse, PageError> {
        let hidden = self
            .fields
            .0
            .iter()
            .filter(|(k, _)| k != FIELD)
            .cloned()
            .collect();
        let back = came_from(&self.req, ctx);
        let (status, error) = match &self.refused {
            Some((s, m)) => (*s, Some(m.clone())),
            None => (StatusCode::OK, None),
        };
        page(
            ctx,
            session,
            &self.admin,
            self.req.path(),
            what,
            hidden,
            error,
            status,
            &back,
        )
        .await
    }

    /// For a form that asks inline ([`FIELD`] in the form itself): the
    /// status and message to show at that field after `ReauthRequired`.
    pub fn inline_message(&self) -> (StatusCode, String) {
        if let Some(r) = &self.refused {
            return r.clone();
        }
        if self.admin.user.user.password_hash.is_none() {
            return (
                StatusCode::OK,
                "Your account has no password: confirm it is you at /admin/reauth (with an account linked to yours), then save again.".into(),
            );
        }
        (
            StatusCode::OK,
            "Enter your password to confirm this change.".into(),
        )
    }
}

impl FromRequest for AdminForm {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let admin = RequireAdmin::from_request(req, payload);
        let fields = Fields::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let RequireAdmin(mut admin) = admin.await?;
            let fields = fields.await?;
            let session = req.get_session();
            let ctx = req
                .app_data::<web::Data<AppContext>>()
                .ok_or_else(|| PageError::BadRequest("server misconfigured: no context".into()))?
                .clone();
            let mut refused = None;
            let password = fields.get(FIELD);
            if !password.is_empty() && needed(&ctx, &admin) {
                match confirm(&req, &ctx, &session, &admin, password).await? {
                    Ok(now) => admin.auth_time = now,
                    Err(r) => refused = Some(r),
                }
            }
            Ok(AdminForm {
                admin,
                fields,
                refused,
                req,
            })
        })
    }
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

fn minutes(secs: i64) -> String {
    let m = (secs + 59) / 60;
    format!("{m} minute{}", if m == 1 { "" } else { "s" })
}

/// Checks `password` as the administrator's, against the per-IP sign-in
/// limit and the account's throttle. Right: the session's `auth_time`
/// becomes now (returned). Refused: the status and message to show.
async fn confirm(
    req: &HttpRequest,
    ctx: &web::Data<AppContext>,
    session: &Session,
    admin: &CurrentUser,
    password: &str,
) -> Result<Result<i64, (StatusCode, String)>, PageError> {
    if let Some(ip) = client_addr(req) {
        if let Err(wait) = ctx.limits.check(Group::SignIn, ip) {
            ctx.metrics.rate_limited(Group::SignIn.name());
            return Ok(Err((
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many attempts from your network. Try again in {wait} seconds."),
            )));
        }
    }
    let actor = auditing::meta(req, Some(admin));
    let secret = Secret::new(password.to_string());
    let now = ctx.now();
    let checked = ctx
        .call(move |core| signin::reauthenticate(core, &actor, &secret, now))
        .await?;
    Ok(match checked {
        Ok(_) => {
            session
                .insert(keys::AUTH_TIME, now)
                .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
            Ok(now)
        }
        Err(Refusal::Throttled { retry_after }) => Err((
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many wrong passwords for your account. For your security, try again in {}.",
                minutes(retry_after)
            ),
        )),
        Err(Refusal::Wrong | Refusal::Disabled) => Err((
            StatusCode::UNAUTHORIZED,
            "That password is not right.".to_string(),
        )),
    })
}

/// The password page (and the linked providers' buttons).
#[allow(clippy::too_many_arguments)]
async fn page(
    ctx: &AppContext,
    session: &Session,
    admin: &CurrentUser,
    action: &str,
    what: &str,
    hidden: Vec<(String, String)>,
    error: Option<String>,
    status: StatusCode,
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
    let csrf = csrf::token(session)?;
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

/// `GET /admin/reauth?next=`: confirm who you are now, then go on to
/// `next` (for forms that ask inline, when the account has no password).
pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = oidc_endpoints::util::local_path(&q.next).unwrap_or_else(|| "/admin".into());
    let hidden = vec![
        ("csrf_token".to_string(), csrf::token(&session)?),
        ("next".to_string(), next.clone()),
    ];
    page(
        &ctx,
        &session,
        &admin,
        "/admin/reauth",
        "go on",
        hidden,
        None,
        StatusCode::OK,
        &next,
    )
    .await
}

/// `POST /admin/reauth`: the password, then on to `next`.
pub async fn submit(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let next =
        oidc_endpoints::util::local_path(form.get("next")).unwrap_or_else(|| "/admin".into());
    if form.refused.is_none() && !form.get(FIELD).is_empty() && !needed(&ctx, &form.admin) {
        return Ok(oidc_endpoints::util::see_other(&next));
    }
    let mut form = form;
    if form.refused.is_none() {
        form.refused = Some((
            StatusCode::UNAUTHORIZED,
            "That password is not right.".to_string(),
        ));
    }
    form.reauth_page(&ctx, &session, "go on").await
}
