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

/// `next` when it is a path on this server: see [`core_auth::local_path`],
/// the one rule every `next` goes through.
pub use core_auth::local_path::local_path;

/// Percent-encodes a query parameter value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The client's address: the peer address, unless the peer is a trusted
/// proxy (`trusted_proxies`); then the right-most `X-Forwarded-For` entry
/// that is not a trusted proxy. Without trusted proxies forwarded headers
/// are never believed.
pub fn client_addr(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = req
        .app_data::<actix_web::web::Data<crate::context::AppContext>>()
        .map(|c| c.trusted_proxies.clone())
        .unwrap_or_default();
    Some(forwarded_client(
        peer,
        &trusted,
        req.headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok()),
    ))
}

/// The client given the peer, the trusted proxies and the
/// `X-Forwarded-For` header values in order.
pub fn forwarded_client<'a>(
    peer: std::net::IpAddr,
    trusted: &[ipnet::IpNet],
    forwarded: impl Iterator<Item = &'a str>,
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain: Vec<std::net::IpAddr> = forwarded
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    chain
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(chain.first())
        .copied()
        .unwrap_or(peer)
}

/// [`client_addr`] as text, for logs and the audit log.
pub fn client_ip(req: &HttpRequest) -> String {
    client_addr(req).map(|a| a.to_string()).unwrap_or_default()
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
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let nets: Vec<ipnet::IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ];
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        // Not from a proxy: the header is ignored.
        assert_eq!(
            forwarded_client(ip("203.0.113.9"), &nets, ["1.2.3.4"].into_iter()),
            ip("203.0.113.9")
        );
        // From a proxy: the right-most untrusted entry (a client cannot spoof
        // by prepending entries).
        assert_eq!(
            forwarded_client(
                ip("10.0.0.2"),
                &nets,
                ["6.6.6.6, 198.51.100.7", "10.0.0.5"].into_iter()
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &nets, std::iter::empty()),
            ip("127.0.0.1")
        );
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &[], ["6.6.6.6"].into_iter()),
            ip("127.0.0.1")
        );
    }
}
