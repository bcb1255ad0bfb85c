//! `GET|POST /authorize`, and where it comes back after sign-in
//! (`/authorize/resume`) and consent (`POST /authorize/consent`).

mod pending;
pub mod respond;
mod source;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::audit::{Event, EventKind, Outcome};
use core_auth::clients::{self, Client};
use core_auth::oidc::authorize::{
    self as authz, AuthzError, AuthzRequest, HintCheck, Next, SessionInfo,
};
use core_auth::oidc::codes::{self, CodeBinding};
use core_auth::oidc::logout::parse_id_token_hint;
use core_auth::oidc::{consent, par, request_object, scopes, ErrorCode, OAuthError};
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::{self, Form};
use web_kit::identity::{CurrentUser, MaybeUser};
use web_kit::layout::Layout;
use web_kit::util::{render, see_other, urlencode};

use crate::protocol::params::{from_query_allowing_nul, Params};
use source::Source;

pub fn mount(t: &mut web_kit::routes::Table) {
    use actix_web::http::Method;
    use web_kit::ratelimit::Group;
    use web_kit::routes::Opts;
    let limited = Opts::limit(Group::Authorize);
    t.add(Method::GET, "/authorize", limited, authorize_get)
        .add(
            Method::POST,
            "/authorize",
            limited.csrf_exempt(
                "an authorization request posted by the application (OIDC Core 3.1.2.1)",
            ),
            authorize_post,
        )
        .get("/authorize/resume", resume)
        .post("/authorize/consent", consent_submit);
}

fn bad_request(msg: String) -> PageError {
    PageError::BadRequest(msg)
}

async fn authorize_get(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
) -> Result<HttpResponse, PageError> {
    let params = from_query_allowing_nul(req.query_string())
        .map_err(|e| bad_request(format!("The authorization request is malformed: {e}.")))?;
    start(&req, ctx, session, user.0, params).await
}

async fn authorize_post(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    mut payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let malformed =
        |e: form::BodyError| bad_request(format!("The authorization request is malformed: {e}."));
    let body = form::read_body(&req, &mut payload, ctx.config.max_body_bytes)
        .await
        .map_err(malformed)?;
    if !form::is_form(&req) {
        return Err(malformed(form::BodyError::ContentType));
    }
    let pairs = form::parse_pairs_allowing_nul(&body).map_err(malformed)?;
    start(&req, ctx, session, user.0, pairs.into_iter().collect()).await
}

async fn start(
    req: &HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: Option<CurrentUser>,
    params: Params,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    // An id no client can have is unknown without asking the database.
    let client =
        if client_id.is_empty() || client_id.len() > 256 || client_id.chars().any(char::is_control)
        {
            None
        } else {
            let id = client_id.clone();
            ctx.db(move |c| clients::find(c, &id)).await?
        };
    let Source {
        params,
        pushed,
        signed,
    } = match source::resolve(req, &ctx, client.as_ref(), params, now).await? {
        Ok(source) => source,
        Err(answer) => return Ok(answer),
    };
    let client = match authz::resolve_redirect(&params, client.as_ref()) {
        Err(AuthzError::Page(m)) => return Err(bad_request(m)),
        Err(AuthzError::Redirect { .. }) => {
            return Err(bad_request("The request could not be verified.".into()))
        }
        Ok((redirect_uri, _)) => match client {
            Some(c)
                if (pushed.is_none() && par::required(&ctx.config, &c))
                    || (!signed && c.require_signed_request_object) =>
            {
                let form_post =
                    params.get("response_mode").map(String::as_str) == Some("form_post");
                let error = match pushed.is_none() && par::required(&ctx.config, &c) {
                    true => par::required_error(),
                    false => request_object::required_error(),
                };
                return Ok(respond::error(
                    if form_post {
                        authz::ResponseMode::FormPost
                    } else {
                        authz::ResponseMode::Query
                    },
                    &redirect_uri,
                    &error,
                    params.get("state").cloned().filter(|s| !s.is_empty()),
                    &ctx.config.issuer,
                ));
            }
            Some(c) => c,
            None => return Err(bad_request("The application is not registered.".into())),
        },
    };
    let hint = params
        .get("id_token_hint")
        .filter(|t| !t.is_empty())
        .map(|t| {
            parse_id_token_hint(&ctx.keys, &ctx.config.issuer, t).map(|h| HintCheck {
                sub: h.sub,
                audiences: h.audiences,
            })
        });
    match authz::validate(&params, &client, hint, now) {
        Err(AuthzError::Page(m)) => Err(bad_request(m)),
        Err(AuthzError::Redirect {
            redirect_uri,
            response_mode,
            state,
            error,
        }) => Ok(respond::error(
            response_mode,
            &redirect_uri,
            &error,
            state,
            &ctx.config.issuer,
        )),
        Ok(mut request) => {
            request.session_at_start = user.as_ref().map(|u| u.sid.clone());
            proceed(req, &ctx, &session, user, request, client, None).await
        }
    }
}

/// Signs in, asks for consent, or issues the code, as the request needs.
async fn proceed(
    req: &HttpRequest,
    ctx: &AppContext,
    session: &Session,
    user: Option<CurrentUser>,
    request: AuthzRequest,
    client: Client,
    rid: Option<String>,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let info = match &user {
        Some(u) => Some(session_info(ctx, u, &request).await?),
        None => None,
    };
    let consent_covers = match &user {
        Some(u) if !client.skip_consent => {
            let (uid, cid, wanted) = (
                u.id().to_string(),
                client.client_id.clone(),
                request.scope.clone(),
            );
            ctx.db(move |c| Ok(wanted.is_subset_of(&consent::granted(c, &uid, &cid)?)))
                .await?
        }
        _ => true,
    };
    let issuer = ctx.config.issuer.clone();
    let mut next = authz::decide(&request, &client, info.as_ref(), consent_covers, now);
    // With `accounts.require_verified_email`, an unverified address stops
    // the sign-in here, with a way to get a new link and continue.
    if let (Next::Consent | Next::Issue, Some(u)) = (&next, &user) {
        if ctx.config.accounts.require_verified_email && !u.user.user.email_verified {
            if request.prompt.none {
                next = Next::Fail(OAuthError::new(
                    ErrorCode::InteractionRequired,
                    "the user must verify their email address",
                ));
            } else {
                let rid = match rid {
                    Some(r) => r,
                    None => pending::put(session, &request, now)?,
                };
                return verify_first(session, u, &rid);
            }
        }
    }
    match next {
        Next::SignIn => {
            let rid = match rid {
                Some(r) => r,
                None => pending::put(session, &request, now)?,
            };
            let mut url = format!(
                "/login?next={}",
                urlencode(&format!("/authorize/resume?rid={rid}"))
            );
            if user.is_some() {
                url.push_str("&prompt=login");
            }
            if let Some(h) = &request.login_hint {
                url.push_str(&format!("&login_hint={}", urlencode(h)));
            }
            Ok(see_other(&url))
        }
        Next::StepUp(level) => {
            let rid = match rid {
                Some(r) => r,
                None => pending::put(session, &request, now)?,
            };
            Ok(see_other(&format!(
                "/login/step-up?level={level}&next={}",
                urlencode(&format!("/authorize/resume?rid={rid}"))
            )))
        }
        Next::Consent => {
            let Some(user) = user else {
                return Err(bad_request("Sign in first.".into()));
            };
            let rid = match rid {
                Some(r) => r,
                None => pending::put(session, &request, now)?,
            };
            consent_page(session, &user, &client, &request, &rid)
        }
        Next::Fail(e) => {
            if let Some(r) = rid {
                pending::remove(session, &r)?;
            }
            Ok(respond::error(
                request.response_mode,
                &request.redirect_uri,
                &e,
                request.state,
                &issuer,
            ))
        }
        Next::Issue => {
            let (Some(user), Some(info)) = (user, info) else {
                return Err(bad_request("Sign in first.".into()));
            };
            if let Some(r) = rid {
                pending::remove(session, &r)?;
            }
            issue(req, ctx, &user, &info, request).await
        }
    }
}

async fn issue(
    req: &HttpRequest,
    ctx: &AppContext,
    user: &CurrentUser,
    info: &SessionInfo,
    request: AuthzRequest,
) -> Result<HttpResponse, PageError> {
    let now = ctx.now();
    let binding = CodeBinding {
        client_id: request.client_id.clone(),
        user_id: user.id().to_string(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_given: request.redirect_uri_given,
        scope: request.scope.to_string(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        claims: request.claims.clone(),
        auth_time: user.auth_time,
        amr: user.amr.clone(),
        acr: authz::acr_for(&request, info).to_string(),
        sid: user.sid.clone(),
    };
    let lifetime = ctx.config.tokens.authorization_code_lifetime_secs;
    let actor = auditing::meta(req, Some(user));
    let code = ctx
        .db(move |c| codes::issue(c, &actor, &binding, lifetime, now))
        .await?;
    Ok(respond::code(
        request.response_mode,
        &request.redirect_uri,
        code.into_inner(),
        request.state,
        &ctx.config.issuer,
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ResumeQuery {
    rid: String,
}

fn expired() -> PageError {
    bad_request("This sign-in request has expired or was already used. Go back to the application and start again.".into())
}

async fn resume(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    q: web::Query<ResumeQuery>,
) -> Result<HttpResponse, PageError> {
    let request = pending::get(&session, &q.rid, ctx.now()).ok_or_else(expired)?;
    let client_id = request.client_id.clone();
    let client = ctx
        .db(move |c| clients::find(c, &client_id))
        .await?
        .ok_or_else(|| bad_request("The application is no longer registered.".into()))?;
    proceed(
        &req,
        &ctx,
        &session,
        user.0,
        request,
        client,
        Some(q.rid.clone()),
    )
    .await
}

struct ScopeLine {
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    layout: Layout,
    csrf: String,
    rid: String,
    client_name: String,
    redirect_host: String,
    email: String,
    scopes: Vec<ScopeLine>,
    /// Individual claims asked for beyond the scopes (`claims` parameter).
    claims: Vec<String>,
}

fn consent_page(
    session: &Session,
    user: &CurrentUser,
    client: &Client,
    request: &AuthzRequest,
    rid: &str,
) -> Result<HttpResponse, PageError> {
    let csrf = csrf::token(session)?;
    let page = ConsentPage {
        layout: Layout::for_user("Allow access", user, &csrf),
        csrf,
        rid: rid.to_string(),
        client_name: client.name.clone(),
        redirect_host: url::Url::parse(&request.redirect_uri)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default(),
        email: user.user.user.email.clone(),
        scopes: request
            .scope
            .iter()
            .map(|s| ScopeLine {
                name: s.to_string(),
                description: scopes::describe(s),
            })
            .collect(),
        claims: core_auth::oidc::claims::beyond_scopes(
            &request.scope,
            request.claims_value().as_ref(),
        ),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ConsentForm {
    csrf_token: String,
    rid: String,
    decision: String,
}

async fn consent_submit(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    form: Form<ConsentForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let now = ctx.now();
    let request = pending::get(&session, &form.rid, now).ok_or_else(expired)?;
    let Some(user) = user.0 else {
        return Ok(see_other(&format!(
            "/login?next={}",
            urlencode(&format!("/authorize/resume?rid={}", form.rid))
        )));
    };
    pending::remove(&session, &form.rid)?;
    let issuer = ctx.config.issuer.clone();
    if form.decision != "allow" {
        auditing::record(
            &ctx,
            auditing::meta(&req, Some(&user)),
            Event::new(EventKind::Consent, Outcome::Denied)
                .subject(user.id())
                .client(&request.client_id)
                .with("scope", request.scope.to_string()),
        )
        .await;
        let e = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return Ok(respond::error(
            request.response_mode,
            &request.redirect_uri,
            &e,
            request.state,
            &issuer,
        ));
    }
    let (cid, scope) = (request.client_id.clone(), request.scope.clone());
    let actor = auditing::meta(&req, Some(&user));
    ctx.db(move |c| consent::grant(c, &actor, &cid, &scope, now))
        .await?;
    let info = session_info(&ctx, &user, &request).await?;
    issue(&req, &ctx, &user, &info, request).await
}

/// The signed-in session as the request's rules see it. The highest `acr`
/// level the account's factors could reach (for step-up) is looked up only
/// when the request asks for a level the session does not have: no query
/// on the usual path.
async fn session_info(
    ctx: &AppContext,
    u: &CurrentUser,
    request: &AuthzRequest,
) -> Result<SessionInfo, PageError> {
    let have = authz::acr::level_of(&u.amr);
    let reachable = if authz::acr::wanted(request).is_some_and(|w| w.level > have) {
        let uid = u.id().to_string();
        let f = ctx.db(move |c| core_auth::mfa::factors(c, &uid)).await?;
        if !f.passkeys.is_empty() {
            3
        } else if f.any() {
            2
        } else {
            1
        }
    } else {
        have
    };
    Ok(SessionInfo {
        user_id: u.id().to_string(),
        auth_time: u.auth_time,
        sid: u.sid.clone(),
        amr: u.amr.clone(),
        reachable,
    })
}

#[derive(Template)]
#[template(path = "verify_required.html")]
struct VerifyRequired {
    layout: Layout,
    csrf: String,
    email: String,
    resume: String,
}

fn verify_first(
    session: &Session,
    user: &CurrentUser,
    rid: &str,
) -> Result<HttpResponse, PageError> {
    let csrf = csrf::token(session)?;
    let page = VerifyRequired {
        layout: Layout::for_user("Confirm your email address", user, &csrf),
        csrf,
        email: user.user.user.email.clone(),
        resume: format!("/authorize/resume?rid={rid}"),
    };
    Ok(render(StatusCode::FORBIDDEN, &page))
}
