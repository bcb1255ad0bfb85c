//! Cross-cutting response behaviour: one log line (and the HTTP metrics)
//! per request, and the security headers every response carries.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::context::AppContext;

/// Logs method, path (never the query string: it can hold codes and
/// tokens), status and latency, once per request, and records the request
/// in the metrics under its route pattern.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let route = req.match_pattern();
    let metrics = req
        .app_data::<web::Data<AppContext>>()
        .map(|ctx| ctx.metrics.clone());
    let res = next.call(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    let latency_ms = elapsed * 1000.0;
    if let Some(m) = metrics {
        let status = match &res {
            Ok(r) => r.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        m.http_request(route.as_deref(), &method, status.as_u16(), elapsed);
    }
    match &res {
        Ok(r) => tracing::info!(
            target: "http",
            method = %method,
            path = %path,
            status = r.status().as_u16(),
            latency_ms = format_args!("{latency_ms:.2}"),
            "request"
        ),
        Err(e) => tracing::warn!(
            target: "http",
            method = %method,
            path = %path,
            status = e.as_response_error().status_code().as_u16(),
            latency_ms = format_args!("{latency_ms:.2}"),
            "request"
        ),
    }
    res
}

/// The content security policy of our pages: our own styles and scripts
/// only, never framed, no plugins, no `<base>`.
///
/// No `form-action`: browsers apply it to every redirect that follows a
/// form's submission, and the answers to the sign-in, consent and sign-out
/// forms redirect to the application (another origin) by design. Every
/// value on our pages is escaped, so no injected form could use the gap.
pub const PAGE_CSP: &str =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
     frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

/// `Strict-Transport-Security` when the issuer is https: browsers use
/// https only for a year, on this host and its subdomains.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Adds the security headers to every response (a handler that set its own
/// CSP keeps it); HTML responses also get the page CSP, and every response
/// gets HSTS when the issuer is https.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let https = req
        .app_data::<web::Data<AppContext>>()
        .is_some_and(|ctx| ctx.config.is_https());
    let mut res = next.call(req).await?;
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if is_html && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        );
    }
    Ok(res)
}
