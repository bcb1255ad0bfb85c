//! CSRF protection: a synchronizer token kept in the server-side session and
//! echoed by every form as `csrf_token`. Checked before anything changes.

use actix_session::Session;
use core_auth::secret::{ct_eq, random_token};
use core_auth::sessions::keys;

use crate::errors::PageError;

/// The session's CSRF token, created on first use.
pub fn token(session: &Session) -> Result<String, PageError> {
    if let Ok(Some(t)) = session.get::<String>(keys::CSRF) {
        return Ok(t);
    }
    rotate(session)
}

/// A fresh token (at sign-in, so a token seen before sign-in is useless after).
pub fn rotate(session: &Session) -> Result<String, PageError> {
    let t = random_token().into_inner();
    session
        .insert(keys::CSRF, &t)
        .map_err(|e| PageError::BadRequest(format!("session: {e}")))?;
    Ok(t)
}

/// Refuses with 403 unless `submitted` is this session's token.
pub fn verify(session: &Session, submitted: &str) -> Result<(), PageError> {
    match session.get::<String>(keys::CSRF) {
        Ok(Some(expected))
            if !submitted.is_empty() && ct_eq(expected.as_bytes(), submitted.as_bytes()) =>
        {
            Ok(())
        }
        _ => Err(PageError::Csrf),
    }
}

/// The CSRF guard, in front of every route: a state-changing request to a
/// guarded route ([`crate::routes::CsrfGuarded`]) must carry this session's
/// token as the `csrf_token` field of its form body, or it answers 403
/// before any handler runs. The body is read here (within
/// `max_body_bytes`) and handed on unchanged. Every route of the route
/// tables is guarded unless exempt, and a route missing from them is
/// guarded too (fail closed), so a new form route is guarded by
/// construction; exempting one (or a bearer-token API's whole scope) is a
/// visible decision in the route table, with its reason.
pub async fn guard(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_session::SessionExt;
    use actix_web::web;

    let checked = match (
        req.match_pattern(),
        req.app_data::<web::Data<crate::routes::CsrfGuarded>>(),
    ) {
        (Some(p), Some(g)) => g.guards(req.method(), &p),
        // Unconfigured: guard every state-changing request.
        (Some(_), None) => !crate::routes::is_safe(req.method()),
        // Nothing is mounted there: the answer is "not found".
        (None, _) => false,
    };
    if !checked {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // What the forms' own extractor would say about a body it cannot read.
    let is_form = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().map(str::trim) == Some("application/x-www-form-urlencoded")
        });
    if !is_form {
        let e = PageError::BadRequest(
            "Forms must be sent as application/x-www-form-urlencoded.".into(),
        );
        return Ok(req.error_response(e));
    }
    let body = match req.extract::<web::Bytes>().await {
        Ok(b) => b,
        Err(e) if e.as_response_error().status_code().as_u16() == 413 => {
            return Ok(req.error_response(PageError::PayloadTooLarge))
        }
        Err(e) => {
            let e = PageError::BadRequest(format!("The form could not be read ({e})."));
            return Ok(req.error_response(e));
        }
    };
    let submitted = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if let Err(e) = verify(&req.get_session(), &submitted) {
        return Ok(req.error_response(e));
    }
    let once = futures_util::stream::once(async move { Ok(body) });
    req.set_payload(actix_web::dev::Payload::Stream {
        payload: Box::pin(once),
    });
    Ok(next.call(req).await?.map_into_boxed_body())
}
