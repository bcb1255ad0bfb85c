//! Small helpers shared by the handlers.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

/// Renders a template as an HTML response with `status`.
pub fn render<T: Template>(status: StatusCode, t: &T) -> HttpResponse {
    match t.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// A 303 redirect (after a POST the browser follows it with a GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `next` when it is a path on this server, else `None`. Refuses absolute
/// URLs, scheme-relative `//host`, backslashes (browsers read `/\host` as
/// `//host`) and control characters: no open redirect.
pub fn local_path(next: &str) -> Option<String> {
    let next = next.trim();
    if !next.starts_with('/')
        || next.starts_with("//")
        || next.contains('\\')
        || next.chars().any(|c| c.is_control() || c.is_whitespace())
        || next.len() > 2048
    {
        return None;
    }
    // Resolve against a fixed base: the result must stay on that origin.
    let base = url::Url::parse("http://portcullis.invalid/").ok()?;
    let joined = base.join(next).ok()?;
    if joined.origin() != base.origin() {
        return None;
    }
    let mut out = joined.path().to_string();
    if let Some(q) = joined.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// Percent-encodes a query parameter value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The client's address. The peer address, until a trusted proxy is
/// configured: forwarded headers are never believed by default.
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(512)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_accepted_as_next() {
        assert_eq!(local_path("/account").as_deref(), Some("/account"));
        assert_eq!(
            local_path("/authorize?client_id=a&x=1").as_deref(),
            Some("/authorize?client_id=a&x=1")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\tevil",
            " //evil.example",
            "",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
        // Dot segments cannot climb off the origin.
        assert_eq!(local_path("/../../account").as_deref(), Some("/account"));
    }
}
