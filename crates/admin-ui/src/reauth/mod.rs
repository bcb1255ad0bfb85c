//! Confirming who you are before a sensitive action.
//!
//! The domain decides which actions are sensitive (anything that grants
//! admin power, issues a secret or changes who can sign in) and refuses
//! them with `CoreError::ReauthRequired` when the administrator signed in
//! longer ago than `admin.reauth_window_secs`. The console answers that
//! refusal with [`AdminForm::reauth_page`]: every field the form sent plus
//! a password field, posting back to the same action. [`AdminForm`] checks
//! that password before the handler runs (throttled and audited like a
//! sign-in, see `core_auth::signin::reauthenticate`). For an account
//! without a second factor, a right password makes the session's
//! `auth_time` now and the action goes ahead in that same request. For an
//! account with one (`core_auth::mfa::factors(..).any()`), the same page
//! then asks for it ([`factor`]: a code from the app, a recovery code or a
//! passkey), posting the same fields back again; only the right second
//! factor moves `auth_time`. A form that carries a secret (an upstream
//! provider's client secret) has the fields itself instead ([`inline`]),
//! so that the secret is never sent back.
//!
//! Whoever has linked an upstream provider may confirm with a fresh
//! sign-in there instead (`POST /login/upstream/{id}/reauth`): they come
//! back to the page they were on and do the action again. An account
//! without a password (created through a provider) has only that way.

mod factor;
mod password;

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::actor::Actor;
use core_auth::federation::store;
use web_kit::identity::CurrentUser;
use web_kit::layout::Layout;
use web_kit::util::render;
use web_kit::{auditing, csrf, AppContext, PageError};

use crate::fields::Fields;
use crate::guard::RequireAdmin;
use crate::view::{frame, Chrome};

pub use factor::{passkey_options, Offer};

/// The administrator's password.
pub const FIELD: &str = "reauth_password";
/// A code from the authenticator app (six digits) or a recovery code.
pub const CODE_FIELD: &str = "reauth_code";
/// A recovery code (the second step's own form for it).
pub const RECOVERY_FIELD: &str = "reauth_recovery_code";
/// A passkey's answer, in the fields `static/webauthn.js` fills (no
/// console form may use these names for anything else).
pub const PASSKEY_HANDLE: &str = "handle";
pub const PASSKEY_RESPONSE: &str = "response";

/// The fields of the re-authentication itself: never replayed.
fn is_proof_field(name: &str) -> bool {
    [
        FIELD,
        CODE_FIELD,
        RECOVERY_FIELD,
        PASSKEY_HANDLE,
        PASSKEY_RESPONSE,
    ]
    .contains(&name)
}

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
    /// The account has a second factor (asked after the password).
    has_factor: bool,
    /// The password passed: the second factor is asked now.
    second: Option<Offer>,
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

/// What a form that asks inline (a form carrying a secret) shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline {
    /// The password field.
    pub password: bool,
    /// The field for a code from the app or a recovery code.
    pub code: bool,
}

/// The re-authentication fields an inline form shows now: none within the
/// window; else the password (unless it passed in the last five minutes)
/// and, for an account with a second factor, a code.
pub async fn inline(
    ctx: &AppContext,
    session: &Session,
    admin: &CurrentUser,
) -> Result<Inline, PageError> {
    if !needed(ctx, admin) {
        return Ok(Inline::default());
    }
    let offer = factor::factors_of(ctx, admin).await?;
    let password_done = offer.is_some() && factor::pending(session, admin.id(), ctx.now());
    Ok(Inline {
        password: !password_done,
        code: offer.is_some_and(|o| o.takes_code()),
    })
}

/// A submitted console form: an administrator (checked before the body is
/// read), its fields (read strictly), and the re-authentication it carries
/// (a password, a second factor or both), checked. Its CSRF token was
/// verified before: every console route is in the route table, so the
/// CSRF guard (`web_kit::csrf::guard`) checks every console POST
/// before the handler runs. The replayed form of
/// [`AdminForm::reauth_page`] carries the token among its hidden fields.
pub struct AdminForm {
    pub admin: CurrentUser,
    pub fields: Fields,
    /// A password or second factor was given and refused: the status and
    /// message to show.
    pub refused: Option<(StatusCode, String)>,
    /// The password was right in this request and the account's second
    /// factor is asked next.
    pub factor_next: bool,
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

    /// Whether the form carried a password or a second factor.
    fn carries_proof(&self) -> bool {
        !self.get(FIELD).is_empty() || factor::Proof::from_fields(&self.fields).is_some()
    }

    /// The answer to `CoreError::ReauthRequired`: the password page, or,
    /// once the password passed, the second factor's; either posts the
    /// same fields back to the same action (after a refusal, with the
    /// message and its status).
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
            .filter(|(k, _)| !is_proof_field(k))
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

    /// For a form that asks inline ([`inline`]): the status and message to
    /// show at the password field after `ReauthRequired`.
    pub async fn inline_message(
        &self,
        ctx: &AppContext,
        session: &Session,
    ) -> Result<(StatusCode, String), PageError> {
        if let Some(r) = &self.refused {
            return Ok(r.clone());
        }
        let ask = inline(ctx, session, &self.admin).await?;
        let msg = if self.admin.user.user.password_hash.is_none() {
            "Your account has no password: confirm it is you at /admin/reauth (with an account linked to yours), then save again."
        } else if !ask.password && ask.code {
            "Your password is confirmed. Now enter a code from your authenticator app (or a recovery code) to save."
        } else if !ask.password {
            "Your password is confirmed. Confirm with your passkey at /admin/reauth, then save again."
        } else if ask.code {
            "Enter your password and a code from your authenticator app (or a recovery code) to confirm this change."
        } else {
            "Enter your password to confirm this change."
        };
        Ok((StatusCode::OK, msg.into()))
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
            let mut factor_next = false;
            let password = fields.get(FIELD);
            if !password.is_empty() && needed(&ctx, &admin) {
                match password::confirm(&req, &ctx, &session, &admin, password).await? {
                    Ok(password::Passed::Confirmed(now)) => admin.auth_time = now,
                    Ok(password::Passed::FactorNext) => factor_next = true,
                    Err(r) => refused = Some(r),
                }
            }
            if refused.is_none() && needed(&ctx, &admin) {
                if let Some(proof) = factor::Proof::from_fields(&fields) {
                    match factor::confirm(&req, &ctx, &session, &admin, proof).await? {
                        Ok(now) => {
                            admin.auth_time = now;
                            factor_next = false;
                        }
                        Err(r) => refused = Some(r),
                    }
                }
            }
            Ok(AdminForm {
                admin,
                fields,
                refused,
                factor_next,
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
        .and_then(web_kit::util::local_path)
        .unwrap_or_else(|| "/admin".into())
}

/// The password page (and the linked providers' buttons), or the second
/// factor's page while the password step waits for it.
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
    let offer = factor::factors_of(ctx, admin).await?;
    let has_factor = offer.is_some();
    let second = offer.filter(|_| factor::pending(session, admin.id(), ctx.now()));
    let title = if second.is_some() {
        "Confirm with your second factor"
    } else if has_password {
        "Confirm your password"
    } else {
        "Confirm it is you"
    };
    let (layout, chrome) = frame(session, admin, title, "")?;
    let (cfg, keys, uid) = (ctx.config.clone(), ctx.keys.clone(), admin.id().to_string());
    let providers = ctx
        .db(move |c| store::linked_enabled(c, &cfg, keys.kek(), &uid))
        .await?;
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
            has_factor,
            second,
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
/// `next` (for forms that ask inline, when the account has no password or
/// confirms with a passkey).
pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = web_kit::util::local_path(&q.next).unwrap_or_else(|| "/admin".into());
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

/// `POST /admin/reauth`: the password (then the second factor, for an
/// account with one), then on to `next`.
pub async fn submit(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let next = web_kit::util::local_path(form.get("next")).unwrap_or_else(|| "/admin".into());
    if form.refused.is_none() && form.carries_proof() && !needed(&ctx, &form.admin) {
        return Ok(web_kit::util::see_other(&next));
    }
    let mut form = form;
    if form.refused.is_none() && !form.factor_next {
        let msg = if factor::pending(&session, form.admin.id(), ctx.now()) {
            "Enter a code from your authenticator app or a recovery code, or use your passkey."
        } else {
            "That password is not right."
        };
        form.refused = Some((StatusCode::UNAUTHORIZED, msg.to_string()));
    }
    form.reauth_page(&ctx, &session, "go on").await
}
