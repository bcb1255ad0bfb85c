//! The `Authorization` header: client authentication at the token
//! endpoint (Basic, or credentials in the body), the bearer token of
//! userinfo (header or body), the admin API's bearer and the metrics
//! token. Input: the header value, a newline, the query string, a
//! newline, the form body.
//!
//! Checks: no panic; a non-Basic header never authenticates a client;
//! Basic credentials built the RFC 6749 §2.3.1 way read back exactly;
//! a bearer token is never empty or padded; the metrics token matches
//! only itself.
#![no_main]

use actix_web::http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use actix_web::test::TestRequest;
use actix_web::{web, FromRequest, HttpRequest};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use core_auth::oidc::client_auth::Presented;
use futures_util::FutureExt as _;
use libfuzzer_sys::fuzz_target;
use oidc_endpoints::protocol::client_auth::extract;
use oidc_endpoints::protocol::params::Params;
use portcullis_fuzz::Fields;
use web_kit::form::parse_pairs;

const METRICS_TOKEN: &str = "metrics-token-0123456789";

fn request(
    header: Option<&HeaderValue>,
    query: &str,
    body: &[u8],
) -> Option<(HttpRequest, actix_web::dev::Payload)> {
    let uri = format!("/userinfo?{query}");
    // Refuse what the HTTP layer would not have let through as a URI.
    uri.parse::<actix_web::http::Uri>().ok()?;
    let mut t = if body.is_empty() {
        TestRequest::get()
    } else {
        TestRequest::post()
            .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(body.to_vec())
    };
    t = t.uri(&uri);
    if let Some(h) = header {
        t = t.insert_header((AUTHORIZATION, h.clone()));
    }
    Some(t.to_http_parts())
}

fn basic_header(id: &str, secret: &str) -> HeaderValue {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let value = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    );
    HeaderValue::from_str(&value).expect("base64 is a valid header value")
}

fuzz_target!(|data: &[u8]| {
    let f = Fields::new(data, 3);
    let header = HeaderValue::from_bytes(f.bytes(0))
        .ok()
        .filter(|_| !f.bytes(0).is_empty());
    let query = f.text(1);
    let body = f.bytes(2);
    let Some((req, mut payload)) = request(header.as_ref(), &query, body) else {
        return;
    };
    let params: Params = parse_pairs(body)
        .map(|p| p.into_iter().collect())
        .unwrap_or_default();

    // Client authentication.
    match extract(&req, &params) {
        Ok(Presented::Basic { client_id, secret }) => {
            let h = header.as_ref().expect("Basic credentials without a header");
            let scheme = h
                .as_bytes()
                .split(|b| *b == b' ')
                .next()
                .unwrap_or_default();
            assert!(scheme.eq_ignore_ascii_case(b"basic"), "{h:?}");
            assert!(!client_id.contains('\0') && !secret.expose().contains('\0'));
        }
        Ok(_) => assert!(header.is_none(), "a client authenticated past {header:?}"),
        Err(_) => {}
    }
    if let Ok(p) = extract(&req, &params) {
        let _ = p.client_id();
    }

    // Basic credentials, built as a client must, read back unchanged.
    if let Ok(text) = std::str::from_utf8(f.bytes(0)) {
        let (id, secret) = text.split_once(':').unwrap_or((text, ""));
        let h = basic_header(id, secret);
        let req = TestRequest::post()
            .insert_header((AUTHORIZATION, h))
            .to_http_request();
        match extract(&req, &Params::new()) {
            Ok(Presented::Basic {
                client_id,
                secret: s,
            }) => {
                assert_eq!(client_id, id);
                assert_eq!(s.expose(), secret);
            }
            Ok(_) => panic!("Basic credentials read as another method"),
            Err(e) => assert!(
                id.contains('\0') || secret.contains('\0'),
                "{id:?}:{secret:?} refused: {e:?}"
            ),
        }
    }

    // The admin API's bearer token.
    if let Some(t) = admin_ui::api::auth::bearer(&req) {
        assert!(!t.is_empty() && t.trim() == t, "{t:?}");
    }

    // The metrics token.
    if web_kit::metrics::bearer_matches(&req, METRICS_TOKEN) {
        let v = header
            .as_ref()
            .and_then(|h| h.to_str().ok())
            .expect("a header");
        let (_, token) = v.split_once(' ').expect("a scheme");
        assert_eq!(token.trim(), METRICS_TOKEN);
    }

    // userinfo: header or body, never both, never the URL.
    let Some(Ok(mut payload)) = web::Payload::from_request(&req, &mut payload).now_or_never()
    else {
        return;
    };
    let limit = 64 * 1024;
    if let Some(Ok(Some(t))) =
        oidc_endpoints::protocol::userinfo::bearer(&req, &mut payload, limit).now_or_never()
    {
        assert!(!t.is_empty(), "an empty bearer token");
        assert!(
            !query
                .split('&')
                .any(|kv| kv.split('=').next() == Some("access_token")),
            "a token accepted next to access_token in the URL"
        );
    }
});
