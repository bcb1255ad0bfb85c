//! Who is asking: extractors that read the session and load the user.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::{web, FromRequest, HttpRequest};
use core_auth::sessions::keys;
use core_auth::users::{self, UserWithRoles, ROLE_ADMIN};

use crate::context::AppContext;
use crate::errors::PageError;

/// The signed-in user, with roles. As an extractor it redirects to the
/// sign-in page (coming back here) when nobody is signed in.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: UserWithRoles,
    pub sid: String,
    pub auth_time: i64,
    /// How the person authenticated (`amr`), e.g. `["pwd"]`.
    pub amr: Vec<String>,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.user.roles.iter().any(|r| r == ROLE_ADMIN)
    }

    pub fn id(&self) -> &str {
        &self.user.user.id
    }
}

/// The signed-in user if there is one.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

async fn load(req: &HttpRequest) -> Result<Option<CurrentUser>, PageError> {
    let session = req.get_session();
    let Ok(Some(uid)) = session.get::<String>(keys::USER_ID) else {
        return Ok(None);
    };
    let ctx = req
        .app_data::<web::Data<AppContext>>()
        .ok_or_else(|| PageError::BadRequest("server misconfigured: no context".into()))?
        .clone();
    let found = ctx
        .db(move |c| match users::find_by_id(c, &uid)? {
            Some(u) if !u.disabled => Ok(Some(users::with_roles(c, u)?)),
            _ => Ok(None),
        })
        .await?;
    match found {
        Some(user) => Ok(Some(CurrentUser {
            user,
            sid: session
                .get::<String>(keys::SID)
                .ok()
                .flatten()
                .unwrap_or_default(),
            auth_time: session
                .get::<i64>(keys::AUTH_TIME)
                .ok()
                .flatten()
                .unwrap_or_default(),
            amr: session
                .get::<Vec<String>>(keys::AMR)
                .ok()
                .flatten()
                .unwrap_or_default(),
        })),
        None => {
            // Deleted or disabled since sign-in: the session is over.
            session.purge();
            Ok(None)
        }
    }
}

fn here(req: &HttpRequest) -> String {
    let uri = req.uri();
    uri.path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

impl FromRequest for MaybeUser {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { load(&req).await.map(MaybeUser) })
    }
}

impl FromRequest for CurrentUser {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match load(&req).await? {
                Some(u) => Ok(u),
                None => Err(PageError::SignInRequired { next: here(&req) }),
            }
        })
    }
}

/// A new public session id (the OIDC `sid`), for [`sign_in`]; made before
/// the sign-in's use case runs, so that its audit rows carry it.
pub fn new_sid() -> String {
    core_auth::secret::random_token().into_inner()
}

/// Starts a signed-in session: a new session id (the old cookie stops
/// working), the public `sid`, the time and methods of authentication, and
/// a new CSRF token. The session row (and its `session_started` audit row)
/// is written when the response goes out (`core_auth::sessions::create`).
pub fn sign_in(
    session: &actix_session::Session,
    req: &HttpRequest,
    user_id: &str,
    sid: &str,
    now: i64,
    amr: &[&str],
) -> Result<(), PageError> {
    session.renew();
    let err = |e: actix_session::SessionInsertError| PageError::BadRequest(format!("session: {e}"));
    session.insert(keys::USER_ID, user_id).map_err(err)?;
    session.insert(keys::SID, sid).map_err(err)?;
    session.insert(keys::AUTH_TIME, now).map_err(err)?;
    session.insert(keys::AMR, amr).map_err(err)?;
    session
        .insert(keys::IP, crate::util::client_ip(req))
        .map_err(err)?;
    session
        .insert(keys::USER_AGENT, crate::util::user_agent(req))
        .map_err(err)?;
    crate::csrf::rotate(session)?;
    Ok(())
}

/// What a throttled password check says: "Too many failed sign-ins for
/// `whom`", and when to try again.
pub fn throttled_message(whom: &str, retry_after: i64) -> String {
    let minutes = (retry_after + 59) / 60;
    format!(
        "Too many failed sign-ins for {whom}. For your security, try again in {minutes} minute{}.",
        if minutes == 1 { "" } else { "s" }
    )
}

/// `Retry-After` on the answer to a throttled password check.
pub fn retry_after(resp: &mut actix_web::HttpResponse, r: core_auth::signin::Refusal) {
    if let core_auth::signin::Refusal::Throttled { retry_after } = r {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string()) {
            resp.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
    }
}

/// True when `user` may use the admin console.
pub fn is_admin(user: &CurrentUser) -> bool {
    user.user.roles.iter().any(|r| r == ROLE_ADMIN)
}

/// Ends a signed-in session (`core_auth::sessions::sign_out`: the session
/// row, the tokens issued in it, its `session_ended` row, in one
/// transaction) and forgets the cookie.
pub async fn sign_out(
    ctx: &AppContext,
    session: &actix_session::Session,
    meta: core_auth::actor::Actor,
    how: &'static str,
) -> Result<(), PageError> {
    let now = ctx.now();
    ctx.db(move |c| core_auth::sessions::sign_out(c, &meta, how, now))
        .await?;
    session.purge();
    Ok(())
}

/// After a sign-in of `user_id` at `now` (`amr`: how): the new signed-in
/// session `sid` ([`sign_in`]), counted in `/metrics`, and on to `next`
/// (a local path, already checked) or the account page.
#[allow(clippy::too_many_arguments)]
pub fn signed_in(
    ctx: &AppContext,
    session: &actix_session::Session,
    req: &HttpRequest,
    user_id: &str,
    sid: &str,
    now: i64,
    amr: &[String],
    next: &str,
) -> Result<actix_web::HttpResponse, PageError> {
    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
    sign_in(session, req, user_id, sid, now, &amr)?;
    ctx.metrics.sign_in("success");
    Ok(crate::util::see_other(if next.is_empty() {
        "/account"
    } else {
        next
    }))
}
