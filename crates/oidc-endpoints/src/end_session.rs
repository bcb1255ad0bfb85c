//! `GET|POST /end_session`: OpenID Connect RP-Initiated Logout 1.0.
//!
//! With a valid `id_token_hint` for the signed-in person, sign out at once.
//! Otherwise ask them to confirm (a CSRF-protected form) rather than sign
//! out silently. Signing out deletes the session and revokes the refresh
//! tokens (and access tokens) issued in it; offline_access grants survive.
//! `post_logout_redirect_uri` is followed only when it exactly matches one
//! registered for the identified client.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::clients::{self, Client};
use core_auth::oidc::authorize::ResponseMode;
use core_auth::oidc::logout::{parse_id_token_hint, IdTokenHint};
use serde::Deserialize;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::{self, Form};
use web_kit::identity::MaybeUser;
use web_kit::layout::Layout;
use web_kit::util::render;

use crate::authorize::respond::respond;
use crate::protocol::params::{from_query, Params};

pub fn mount(t: &mut web_kit::routes::Table) {
    use actix_web::http::Method;
    use web_kit::routes::Opts;
    t.get("/end_session", end_session_get)
        .add(
            Method::POST,
            "/end_session",
            Opts::default().csrf_exempt(
                "RP-initiated logout is posted by the application; it only asks, the confirmation is guarded",
            ),
            end_session_post,
        )
        .post("/end_session/confirm", confirm);
}

#[derive(Template)]
#[template(path = "end_session.html")]
struct ConfirmPage {
    layout: Layout,
    csrf: String,
    client_name: String,
    client_id: String,
    post_logout_redirect_uri: String,
    state: String,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage {
    layout: Layout,
    client_name: String,
}

async fn end_session_get(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
) -> Result<HttpResponse, PageError> {
    let p = from_query(req.query_string())
        .map_err(|e| PageError::BadRequest(format!("The logout request is malformed: {e}.")))?;
    handle(req, ctx, session, user, p).await
}

async fn end_session_post(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    mut payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let pairs = form::read_pairs(&req, &mut payload, ctx.config.max_body_bytes)
        .await
        .map_err(|e| PageError::BadRequest(format!("The logout request is malformed: {e}.")))?;
    handle(req, ctx, session, user, pairs.into_iter().collect()).await
}

fn param(p: &Params, k: &str) -> Option<String> {
    p.get(k).filter(|v| !v.is_empty()).cloned()
}

async fn handle(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    p: Params,
) -> Result<HttpResponse, PageError> {
    let hint: Option<IdTokenHint> = match param(&p, "id_token_hint") {
        None => None,
        Some(t) => Some(
            parse_id_token_hint(&ctx.keys, &ctx.config.issuer, &t).map_err(|e| {
                PageError::BadRequest(format!("The id_token_hint is not valid: {e}."))
            })?,
        ),
    };
    let client_id = match (param(&p, "client_id"), &hint) {
        (Some(c), Some(h)) if !h.audiences.contains(&c) => {
            return Err(PageError::BadRequest(
                "client_id does not match the id_token_hint.".into(),
            ))
        }
        (Some(c), _) => Some(c),
        (None, Some(h)) => h.audiences.first().cloned(),
        (None, None) => None,
    };
    let client = match client_id {
        Some(id) => ctx.db(move |c| clients::find(c, &id)).await?,
        None => None,
    };
    let redirect = param(&p, "post_logout_redirect_uri").filter(|u| {
        client
            .as_ref()
            .is_some_and(|c: &Client| c.has_post_logout_redirect_uri(u))
    });
    let state = param(&p, "state");
    let current = user.0;
    // Sign out at once only when the hint names the person signed in here
    // (or nobody is signed in: there is nothing to confirm).
    let hint_matches = match (&hint, &current) {
        (Some(h), Some(u)) => h.sub == u.id(),
        (_, None) => true,
        (None, Some(_)) => false,
    };
    if hint_matches {
        if let Some(u) = current {
            web_kit::identity::sign_out(
                &ctx,
                &session,
                web_kit::auditing::meta(&req, Some(&u)),
                "rp_initiated",
            )
            .await?;
        }
        return Ok(finish(redirect, state, client.as_ref()));
    }
    let csrf = csrf::token(&session)?;
    let page = ConfirmPage {
        layout: Layout::anonymous("Sign out"),
        csrf,
        client_name: client.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        client_id: client
            .as_ref()
            .map(|c| c.client_id.clone())
            .unwrap_or_default(),
        post_logout_redirect_uri: redirect.unwrap_or_default(),
        state: state.unwrap_or_default(),
    };
    Ok(render(StatusCode::OK, &page))
}

fn finish(
    redirect: Option<String>,
    state: Option<String>,
    client: Option<&Client>,
) -> HttpResponse {
    match redirect {
        Some(uri) => {
            let fields = state.map(|s| vec![("state", s)]).unwrap_or_default();
            respond(ResponseMode::Query, &uri, fields)
        }
        None => render(
            StatusCode::OK,
            &SignedOutPage {
                layout: Layout::anonymous("Signed out"),
                client_name: client.map(|c| c.name.clone()).unwrap_or_default(),
            },
        ),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct ConfirmForm {
    csrf_token: String,
    client_id: String,
    post_logout_redirect_uri: String,
    state: String,
    decision: String,
}

async fn confirm(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: MaybeUser,
    form: Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let client = if form.client_id.is_empty() {
        None
    } else {
        let id = form.client_id.clone();
        ctx.db(move |c| clients::find(c, &id)).await?
    };
    // Re-check the redirect: the form's fields come from the browser.
    let redirect = Some(form.post_logout_redirect_uri.clone()).filter(|u| {
        !u.is_empty()
            && client
                .as_ref()
                .is_some_and(|c| c.has_post_logout_redirect_uri(u))
    });
    let state = Some(form.state.clone()).filter(|s| !s.is_empty());
    if form.decision != "sign_out" {
        // Stayed signed in: nothing is sent to the application, which
        // could not tell this answer from a sign-out.
        return Ok(web_kit::util::see_other("/account"));
    }
    if let Some(u) = user.0 {
        web_kit::identity::sign_out(
            &ctx,
            &session,
            web_kit::auditing::meta(&req, Some(&u)),
            "rp_initiated",
        )
        .await?;
    }
    Ok(finish(redirect, state, client.as_ref()))
}
