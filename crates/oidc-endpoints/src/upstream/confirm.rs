//! `GET|POST /login/upstream/confirm`: an account already has the address
//! the provider gave, and the provider is not trusted to vouch for it, so
//! the person proves the account is theirs with its password; then the
//! link is made and they are signed in.

use actix_session::Session;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::actor::Actor;
use core_auth::audit::{self, Event};
use core_auth::federation::login::{self, Confirmed};
use core_auth::federation::pending::PendingLink;
use core_auth::secret::Secret;
use core_auth::{throttle, users, CoreError, CoreResult};
use serde::Deserialize;

use super::pages::{back_to, error_page};
use super::{load_link, provider, LINK};
use crate::auditing;
use crate::context::AppContext;
use crate::csrf;
use crate::errors::PageError;
use crate::form::Form;
use crate::identity;
use crate::pages::Layout;
use crate::util::{render, see_other};

#[derive(Template)]
#[template(path = "upstream_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    csrf: String,
    provider: String,
    email: String,
    has_password: bool,
    error: Option<String>,
}

fn expired() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "Too much time has passed since you signed in with the provider. Please start again.",
        back_to("", false),
    )
}

async fn page(
    ctx: &AppContext,
    session: &Session,
    link: &PendingLink,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, PageError> {
    let Some(p) = provider(ctx, &link.provider).await? else {
        return Ok(expired());
    };
    let uid = link.user_id.clone();
    let Some(user) = ctx.db(move |c| users::find_by_id(c, &uid)).await? else {
        return Ok(expired());
    };
    let page = ConfirmPage {
        layout: Layout::anonymous("Link your account"),
        csrf: csrf::token(session)?,
        provider: p.display_name,
        email: user.email,
        has_password: user.password_hash.is_some(),
        error,
    };
    Ok(render(status, &page))
}

pub async fn show(ctx: web::Data<AppContext>, session: Session) -> Result<HttpResponse, PageError> {
    match load_link(&session).filter(|l| l.is_live(ctx.now())) {
        Some(link) => page(&ctx, &session, &link, StatusCode::OK, None).await,
        None => Ok(expired()),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    csrf_token: String,
    password: Secret,
}

enum Outcome {
    Done(CoreResult<Confirmed>),
    Throttled(i64),
}

/// Checks the password (under the account's sign-in throttle, as the sign-in
/// form does), makes the link and writes the audit rows.
pub async fn submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    form: Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let now = ctx.now();
    let Some(link) = load_link(&session).filter(|l| l.is_live(now)) else {
        return Ok(expired());
    };
    let Some(p) = provider(&ctx, &link.provider).await? else {
        return Ok(expired());
    };
    let who = link.identity();
    let password = form.into_inner().password;
    let meta = auditing::meta(&req, None);
    let (p2, who2, uid, audit_meta) = (p.clone(), who.clone(), link.user_id.clone(), meta.clone());
    let outcome = ctx
        .run(move |ctx| -> CoreResult<Outcome> {
            let t = &ctx.config.throttle;
            let rule = throttle::Rule {
                max: t.sign_in_max_failures,
                window: t.sign_in_window_secs,
            };
            let email = {
                let mut conn = ctx.pool.get()?;
                let Some(user) = users::find_by_id(&mut conn, &uid)? else {
                    return Ok(Outcome::Done(Err(CoreError::NotFound("user"))));
                };
                if let Some(wait) = throttle::retry_after(
                    &mut conn,
                    throttle::Kind::SignIn,
                    &user.email,
                    rule,
                    now,
                )? {
                    let e = Event::failure("sign_in")
                        .subject(&uid)
                        .with("method", "upstream_link")
                        .with("provider", p2.id.as_str())
                        .with("reason", "throttled");
                    audit::record(&mut conn, &audit_meta, e, now)?;
                    return Ok(Outcome::Throttled(wait));
                }
                user.email
            };
            let result = login::confirm_with_password(
                &ctx.pool,
                &ctx.passwords,
                &p2,
                &who2,
                &uid,
                &password,
                now,
            );
            let mut conn = ctx.pool.get()?;
            match &result {
                Ok(_) => {
                    throttle::clear(&mut conn, throttle::Kind::SignIn, &email)?;
                }
                Err(CoreError::InvalidCredentials) => {
                    let count =
                        throttle::hit(&mut conn, throttle::Kind::SignIn, &email, rule, now)?;
                    let e = Event::failure("sign_in")
                        .subject(&uid)
                        .with("method", "upstream_link")
                        .with("provider", p2.id.as_str())
                        .with("reason", "bad_credentials")
                        .with("failures_in_window", count);
                    audit::record(&mut conn, &audit_meta, e, now)?;
                    if count == rule.max {
                        let e =
                            Event::new("throttled", audit::Outcome::Denied).with("kind", "sign_in");
                        audit::record(&mut conn, &audit_meta, e, now)?;
                    }
                }
                Err(_) => {}
            }
            Ok(Outcome::Done(result))
        })
        .await?;
    let result = match outcome {
        Outcome::Done(r) => r,
        Outcome::Throttled(wait) => {
            ctx.metrics.sign_in("throttled");
            let minutes = (wait + 59) / 60;
            let message = format!(
                "Too many failed sign-ins for this account. For your security, try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            );
            let mut resp = page(
                &ctx,
                &session,
                &link,
                StatusCode::TOO_MANY_REQUESTS,
                Some(message),
            )
            .await?;
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(resp);
        }
    };
    match result {
        Ok(Confirmed::Linked { user_id }) => {
            session.remove(LINK);
            let mut amr = vec!["pwd".to_string()];
            for a in who.session_amr() {
                if !amr.contains(&a) {
                    amr.push(a);
                }
            }
            let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
            let sid = identity::sign_in(&session, &req, &user_id, now, &amr)?;
            ctx.metrics.sign_in("success");
            let m = Actor {
                actor_user_id: Some(user_id.clone()),
                session_id: Some(sid),
                ..meta
            };
            let linked = Event::success("upstream_link_created")
                .subject(&user_id)
                .with("provider", p.id.as_str())
                .with("how", "password");
            auditing::record(&ctx, m.clone(), linked).await;
            let signed_in = Event::success("sign_in")
                .subject(&user_id)
                .with("method", "upstream_link")
                .with("provider", p.id.as_str());
            auditing::record(&ctx, m.clone(), signed_in).await;
            auditing::record(&ctx, m, Event::success("session_started").subject(&user_id)).await;
            Ok(see_other(if link.next.is_empty() {
                "/account"
            } else {
                &link.next
            }))
        }
        Ok(Confirmed::Refused(r)) => {
            session.remove(LINK);
            let e = Event::failure("sign_in")
                .subject(&link.user_id)
                .with("method", "upstream_link")
                .with("provider", p.id.as_str())
                .with("reason", r.code());
            auditing::record(&ctx, meta, e).await;
            Ok(error_page(
                StatusCode::FORBIDDEN,
                "Sign-in refused",
                &r.message(&p.display_name),
                back_to(&link.next, false),
            ))
        }
        Err(CoreError::InvalidCredentials) => {
            ctx.metrics.sign_in("bad_credentials");
            page(
                &ctx,
                &session,
                &link,
                StatusCode::UNAUTHORIZED,
                Some("That is not the password of this account.".into()),
            )
            .await
        }
        Err(CoreError::AccountDisabled) => {
            ctx.metrics.sign_in("disabled");
            Ok(error_page(
                StatusCode::FORBIDDEN,
                "Account disabled",
                "This account is disabled. Contact your administrator if you think this is a mistake.",
                back_to("", false),
            ))
        }
        Err(CoreError::NotFound(_)) => Ok(expired()),
        Err(e) => Err(e.into()),
    }
}
