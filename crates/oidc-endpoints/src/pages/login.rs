//! Sign-in. One message and one status for an unknown email and a wrong
//! password, and the same time spent on both (see `users::authenticate`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::actor::Actor;
use core_auth::audit::{self, Event, Outcome};
use core_auth::secret::Secret;
use core_auth::{throttle, users, CoreError};
use serde::Deserialize;

use crate::auditing;
use crate::context::AppContext;
use crate::csrf;
use crate::errors::PageError;
use crate::form::Form;
use crate::identity::{self, MaybeUser};
use crate::pages::Layout;
use crate::util::{local_path, render, see_other};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    /// "Sign in with ..." buttons, one per enabled upstream provider.
    providers: Vec<crate::upstream::pages::ProviderButton>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
    signed_out: Option<String>,
    login_hint: String,
    /// `login`: show the form even to someone signed in (re-authentication).
    prompt: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: Secret,
    next: String,
    csrf_token: String,
}

pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let next = local_path(&q.next).unwrap_or_default();
    let reauth = q.prompt == "login";
    let mut email: String = q.login_hint.chars().take(254).collect();
    let mut notice = q
        .signed_out
        .as_ref()
        .map(|_| "You have signed out.".to_string());
    if let Some(u) = &user.0 {
        if !reauth {
            return Ok(see_other(if next.is_empty() { "/account" } else { &next }));
        }
        if email.is_empty() {
            email = u.user.user.email.clone();
        }
        notice = Some("Please enter your password again to continue.".into());
    }
    let providers = crate::upstream::pages::buttons(&crate::upstream::enabled(&ctx).await?, &next);
    let page = LoginPage {
        layout: Layout::anonymous("Sign in"),
        csrf: csrf::token(&session)?,
        email,
        next,
        error: None,
        notice,
        providers,
    };
    Ok(render(StatusCode::OK, &page))
}

enum Attempt {
    SignedIn(core_auth::users::User),
    Refused(CoreError),
    Throttled(i64),
}

pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let form = form.into_inner();
    let next = local_path(&form.next).unwrap_or_default();
    let now = ctx.now();
    let meta = auditing::meta(&req, None);
    let (email, password, audit_meta) = (form.email.clone(), form.password, meta.clone());
    let attempt = ctx
        .run(move |ctx| -> core_auth::CoreResult<Attempt> {
            let t = &ctx.config.throttle;
            let rule = throttle::Rule {
                max: t.sign_in_max_failures,
                window: t.sign_in_window_secs,
            };
            {
                let mut conn = ctx.pool.get()?;
                if let Some(wait) =
                    throttle::retry_after(&mut conn, throttle::Kind::SignIn, &email, rule, now)?
                {
                    let subject = users::find_by_email(&mut conn, &email)?.map(|u| u.id);
                    let mut e = Event::failure("sign_in").with("reason", "throttled");
                    if let Some(s) = subject {
                        e = e.subject(s);
                    }
                    audit::record(&mut conn, &audit_meta, e, now)?;
                    return Ok(Attempt::Throttled(wait));
                }
            }
            let result = users::authenticate(&ctx.pool, &ctx.passwords, &email, &password, now);
            let mut conn = ctx.pool.get()?;
            match result {
                Ok(user) => {
                    throttle::clear(&mut conn, throttle::Kind::SignIn, &email)?;
                    audit::record(
                        &mut conn,
                        &audit_meta,
                        Event::success("sign_in")
                            .subject(&user.id)
                            .with("method", "pwd"),
                        now,
                    )?;
                    Ok(Attempt::SignedIn(user))
                }
                Err(e @ (CoreError::InvalidCredentials | CoreError::AccountDisabled)) => {
                    let count =
                        throttle::hit(&mut conn, throttle::Kind::SignIn, &email, rule, now)?;
                    let reason = if matches!(e, CoreError::AccountDisabled) {
                        "disabled"
                    } else {
                        "bad_credentials"
                    };
                    let mut ev = Event::failure("sign_in")
                        .with("reason", reason)
                        .with("failures_in_window", count);
                    if let Some(u) = users::find_by_email(&mut conn, &email)? {
                        ev = ev.subject(u.id);
                    }
                    audit::record(&mut conn, &audit_meta, ev, now)?;
                    if count == rule.max {
                        audit::record(
                            &mut conn,
                            &audit_meta,
                            Event::new("throttled", Outcome::Denied).with("kind", "sign_in"),
                            now,
                        )?;
                    }
                    Ok(Attempt::Refused(e))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    let (status, message, retry_after) = match attempt {
        Attempt::SignedIn(user) => {
            ctx.metrics.sign_in("success");
            let sid = identity::sign_in(&session, &req, &user.id, now, &["pwd"])?;
            let m = Actor {
                actor_user_id: Some(user.id.clone()),
                session_id: Some(sid),
                ..meta
            };
            auditing::record(&ctx, m, Event::success("session_started").subject(&user.id)).await;
            return Ok(see_other(if next.is_empty() { "/account" } else { &next }));
        }
        Attempt::Refused(CoreError::AccountDisabled) => {
            ctx.metrics.sign_in("disabled");
            (
                StatusCode::FORBIDDEN,
                "This account is disabled. Contact your administrator if you think this is a mistake.".to_string(),
                None,
            )
        }
        Attempt::Refused(_) => {
            ctx.metrics.sign_in("bad_credentials");
            (
                StatusCode::UNAUTHORIZED,
                "Incorrect email or password.".to_string(),
                None,
            )
        }
        Attempt::Throttled(wait) => {
            ctx.metrics.sign_in("throttled");
            let minutes = (wait + 59) / 60;
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many failed sign-ins for this address. For your security, try again in {minutes} minute{}.", if minutes == 1 { "" } else { "s" }),
                Some(wait),
            )
        }
    };
    let providers = crate::upstream::pages::buttons(&crate::upstream::enabled(&ctx).await?, &next);
    let page = LoginPage {
        layout: Layout::anonymous("Sign in"),
        csrf: csrf::token(&session)?,
        email: form.email.chars().take(254).collect(),
        next,
        error: Some(message),
        notice: None,
        providers,
    };
    let mut resp = render(status, &page);
    if let Some(wait) = retry_after {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
    }
    Ok(resp)
}
