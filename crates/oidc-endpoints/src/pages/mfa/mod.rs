//! Second factors on the pages: asked for after the first factor
//! (`challenge`), enrolled when the account must have one and has none
//! (`enrol`), managed by the person on /account/two-factor (`settings`),
//! and passkeys as a sign-in of their own (`challenge::passkey_*`).
//!
//! Between the first factor and the second, the person is not signed in:
//! the anonymous session holds a [`Pending`] sign-in (sealed in its cookie,
//! so any node reads it) for five minutes. The rules (who is asked, what
//! counts, the throttle, the audit rows) are `core_auth::mfa`'s.

mod challenge;
mod enrol;
mod settings;

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse};
use core_auth::mfa::{self, Next};
use serde::{Deserialize, Serialize};
use web_kit::context::AppContext;
use web_kit::errors::PageError;
use web_kit::identity;
use web_kit::routes::{Opts, Table};
use web_kit::util::see_other;

/// The session key of a sign-in waiting for its second factor.
const PENDING: &str = "mfa_pending";
/// How long the second step may take, in seconds.
const PENDING_SECS: i64 = 300;

/// A sign-in whose first factor passed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub user_id: String,
    /// The methods so far (`pwd`, or an upstream sign-in's).
    pub amr: Vec<String>,
    /// Where to go when signed in (a local path, or empty for /account).
    pub next: String,
    pub started_at: i64,
    /// The account must enrol a factor before it is signed in.
    pub enrol: bool,
    /// The method of the factor just enrolled (`otp`, `hwk`, `swk`): the
    /// person has seen their recovery codes and may now continue.
    #[serde(default)]
    pub enrolled: Option<String>,
    /// A signed-in person stepping up to this `acr` level for an
    /// application (0: a sign-in). Level 3 takes a passkey only.
    #[serde(default)]
    pub min_level: u8,
    /// The session id the first factor's audit rows named (the session
    /// starts with it).
    #[serde(default)]
    pub sid: Option<String>,
}

impl Pending {
    /// What the audit rows call this step.
    fn step(&self) -> core_auth::mfa::Step {
        if self.min_level > 0 {
            core_auth::mfa::Step::StepUp
        } else {
            core_auth::mfa::Step::SignIn
        }
    }

    /// Only a passkey will do (a phishing-resistant level was asked).
    fn passkey_only(&self) -> bool {
        self.min_level >= 3
    }

    fn take_live(session: &Session, now: i64) -> Option<Pending> {
        session
            .get::<Pending>(PENDING)
            .ok()
            .flatten()
            .filter(|p| now - p.started_at <= PENDING_SECS && now >= p.started_at)
    }
}

/// The live pending sign-in, or a redirect back to the sign-in page.
fn pending(session: &Session, now: i64) -> Result<Pending, Box<HttpResponse>> {
    Pending::take_live(session, now).ok_or_else(|| {
        session.remove(PENDING);
        Box::new(see_other("/login?expired=1"))
    })
}

fn destination(next: &str) -> &str {
    if next.is_empty() {
        "/account"
    } else {
        next
    }
}

/// What every first factor (a password, an upstream provider) calls when
/// it passed: signs in at once when no second factor applies, else parks
/// the sign-in and sends the person to the second step or to enrolment.
/// `upstream_mfa`: the upstream provider's own multi-factor sign-in is
/// trusted for this provider and its ID token said so.
#[allow(clippy::too_many_arguments)]
pub async fn after_first_factor(
    ctx: &AppContext,
    session: &Session,
    req: &HttpRequest,
    user_id: &str,
    sid: &str,
    amr: &[&str],
    next: &str,
    upstream_mfa: bool,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let config = ctx.config.clone();
    let uid = user_id.to_string();
    let decided = ctx
        .db(move |c| mfa::after_first_factor(c, &config, &uid, upstream_mfa))
        .await?;
    let enrol = match decided {
        Next::Done => {
            session.remove(PENDING);
            identity::sign_in(session, req, user_id, sid, now, amr)?;
            return Ok(see_other(destination(next)));
        }
        Next::SecondFactor(_) => false,
        Next::Enrol => true,
    };
    let p = Pending {
        user_id: user_id.to_string(),
        amr: amr.iter().map(|s| s.to_string()).collect(),
        next: next.to_string(),
        started_at: now,
        enrol,
        enrolled: None,
        min_level: 0,
        sid: Some(sid.to_string()),
    };
    session
        .insert(PENDING, &p)
        .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
    Ok(see_other(if enrol {
        "/login/enrol"
    } else {
        "/login/second-factor"
    }))
}

/// A signed-in person who confirmed who they are again with a first factor
/// (a linked provider): when their account has a second factor, it is
/// asked too, and the session's sign-in time moves only after it (a new
/// session starts, as after any sign-in). `None`: no factor, nothing more.
pub async fn reauth_second_factor(
    ctx: &AppContext,
    session: &Session,
    user: &identity::CurrentUser,
    next: &str,
) -> Result<Option<HttpResponse>, PageError> {
    let uid = user.id().to_string();
    if !ctx.db(move |c| Ok(mfa::factors(c, &uid)?.any())).await? {
        return Ok(None);
    }
    let p = Pending {
        user_id: user.id().to_string(),
        amr: user.amr.clone(),
        next: next.to_string(),
        started_at: ctx.now(),
        enrol: false,
        enrolled: None,
        min_level: 2,
        sid: None,
    };
    session
        .insert(PENDING, &p)
        .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
    Ok(Some(see_other("/login/second-factor")))
}

/// Finishes a pending sign-in whose second factor passed: the session
/// starts with the first factor's methods plus the second's and `mfa`.
fn complete(
    session: &Session,
    req: &HttpRequest,
    p: &Pending,
    factor_amr: &str,
    now: i64,
) -> Result<HttpResponse, PageError> {
    session.remove(PENDING);
    let mut amr: Vec<&str> = p.amr.iter().map(String::as_str).collect();
    for m in [factor_amr, "mfa"] {
        if !amr.contains(&m) {
            amr.push(m);
        }
    }
    let sid = p.sid.clone().unwrap_or_else(identity::new_sid);
    identity::sign_in(session, req, &p.user_id, &sid, now, &amr)?;
    Ok(see_other(destination(&p.next)))
}

pub fn mount(t: &mut Table) {
    use actix_web::http::Method;
    use web_kit::ratelimit::Group;
    let sign_in = Opts::limit(Group::SignIn);
    t.add(
        Method::GET,
        "/login/second-factor",
        sign_in,
        challenge::show,
    )
    .add(
        Method::POST,
        "/login/second-factor",
        sign_in,
        challenge::submit,
    )
    .add(Method::GET, "/login/step-up", sign_in, challenge::step_up)
    .add(
        Method::POST,
        "/login/second-factor/passkey/options",
        sign_in,
        challenge::passkey_options,
    )
    .add(
        Method::POST,
        "/login/second-factor/passkey",
        sign_in,
        challenge::passkey_submit,
    )
    .add(
        Method::POST,
        "/login/passkey/options",
        sign_in,
        challenge::sign_in_options,
    )
    .add(
        Method::POST,
        "/login/passkey",
        sign_in,
        challenge::sign_in_submit,
    )
    .add(Method::GET, "/login/enrol", sign_in, enrol::show)
    .add(
        Method::POST,
        "/login/enrol/totp",
        sign_in,
        enrol::confirm_totp,
    )
    .add(
        Method::POST,
        "/login/enrol/passkey/options",
        sign_in,
        enrol::passkey_options,
    )
    .add(
        Method::POST,
        "/login/enrol/passkey",
        sign_in,
        enrol::passkey_submit,
    )
    .add(Method::GET, "/login/enrol/done", sign_in, enrol::done)
    .add(Method::POST, "/login/enrol/done", sign_in, enrol::done)
    .get("/account/two-factor", settings::show)
    .get("/account/two-factor/app", settings::app_show)
    .post("/account/two-factor/app", settings::app_confirm)
    .post("/account/two-factor/app/remove", settings::app_remove)
    .post(
        "/account/two-factor/recovery-codes",
        settings::recovery_codes,
    )
    .post(
        "/account/two-factor/passkeys/options",
        settings::passkey_options,
    )
    .post("/account/two-factor/passkeys", settings::passkey_add)
    .post(
        "/account/two-factor/passkeys/{id}/rename",
        settings::passkey_rename,
    )
    .post(
        "/account/two-factor/passkeys/{id}/remove",
        settings::passkey_remove,
    );
}

/// A JSON answer for the pages' WebAuthn script: the ceremony's handle
/// and the options for `navigator.credentials`.
fn ceremony_json(ch: &core_auth::mfa::passkeys::Challenge) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "handle": ch.handle.expose(),
            "options": ch.options,
        }))
}

/// Passkeys cannot work with this issuer: a JSON answer saying why.
fn unavailable_json(why: &str) -> HttpResponse {
    HttpResponse::Conflict()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": why }))
}
