//! Where we send browsers: registered redirect URIs
//! (`clients::redirect_uri_problem`), the redirect URI of a request
//! matched against the registered ones (`Client::match_redirect_uri`,
//! RFC 8252 loopback ports), post-logout redirect URIs, and `next`
//! (`core_auth::local_path::local_path`).
//!
//! Modes (first byte):
//! - 0: the rest is a request's redirect URI, matched against the test
//!   clients' registered URIs.
//! - 1: a registered URI, a newline, a request's redirect URI.
//! - 2: the rest is a `next` value.
#![no_main]

use core_auth::clients::redirect_uri_problem;
use core_auth::local_path::local_path;
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use portcullis_fuzz::{mode, web_client, Fields, REDIRECT_URIS};
use url::Url;

const LOOPBACK: &[&str] = &["127.0.0.1", "[::1]"];

/// An acceptable registration is an absolute https URL, or http on a
/// loopback host, without fragment or credentials.
fn check_registrable(uri: &str) {
    if redirect_uri_problem(uri).is_some() {
        return;
    }
    let u = Url::parse(uri).expect("an accepted redirect URI parses");
    assert!(u.fragment().is_none() && !uri.contains('#'), "{uri:?}");
    assert!(u.username().is_empty() && u.password().is_none(), "{uri:?}");
    match u.scheme() {
        "https" => assert!(u.host_str().is_some(), "{uri:?}"),
        "http" => assert!(
            matches!(
                u.host_str(),
                Some("127.0.0.1") | Some("[::1]") | Some("localhost")
            ),
            "{uri:?}"
        ),
        other => panic!("scheme {other} accepted: {uri:?}"),
    }
}

/// A matched request URI sends the browser where the registered one
/// does; only a loopback IP registered without a port lets the port vary.
fn check_match(registered: &[String], given: &str) {
    let c = core_auth::clients::Client {
        redirect_uris: registered.to_vec(),
        ..web_client().clone()
    };
    let Some(m) = c.match_redirect_uri(given) else {
        return;
    };
    assert_eq!(m, given);
    if registered.iter().any(|r| r == given) {
        return;
    }
    let g = Url::parse(given).expect("a matched URI parses");
    let ok = registered.iter().any(|r| {
        let Ok(r_url) = Url::parse(r) else {
            return false;
        };
        let mut g2 = g.clone();
        let _ = g2.set_port(None);
        r_url.scheme() == "http"
            && r_url.port().is_none()
            && LOOPBACK.contains(&r_url.host_str().unwrap_or_default())
            && g2 == r_url
            && g.host_str() == r_url.host_str()
    });
    assert!(ok, "{given:?} matched {registered:?}");
    // The browser goes to the registered place (any port).
    assert!(
        LOOPBACK.contains(&g.host_str().unwrap_or_default()),
        "{given:?}"
    );
    assert_eq!(g.scheme(), "http");
    assert!(g.fragment().is_none() && g.username().is_empty() && g.password().is_none());
}

/// What a browser does with `Location: <v>` on https://idp.example/.
fn browser_target(v: &str) -> Option<Url> {
    Url::parse("https://idp.example/login").ok()?.join(v).ok()
}

fn check_next(next: &str) {
    let Some(out) = local_path(next) else {
        return;
    };
    let t = browser_target(&out).expect("a relative reference");
    assert_eq!(t.host_str(), Some("idp.example"), "{next:?} -> {out:?}");
    assert_eq!(t.scheme(), "https");
    let decoded = percent_decode_str(&out).decode_utf8_lossy().to_string();
    assert!(
        browser_target(&decoded).is_none_or(|t| t.host_str() == Some("idp.example")),
        "{next:?} -> {out:?} decodes off-site"
    );
    assert!(
        out.starts_with('/') && !out[1..].starts_with(['/', '\\']),
        "{out:?}"
    );
    assert_eq!(
        local_path(&out).as_deref(),
        Some(out.as_str()),
        "not idempotent"
    );
}

fuzz_target!(|data: &[u8]| {
    let (m, rest) = mode(data, 3);
    match m {
        0 => {
            let given = String::from_utf8_lossy(rest);
            check_registrable(&given);
            let registered: Vec<String> = REDIRECT_URIS.iter().map(|s| s.to_string()).collect();
            check_match(&registered, &given);
            let c = web_client();
            if c.has_post_logout_redirect_uri(&given) {
                assert!(c.post_logout_redirect_uris.iter().any(|u| *u == given));
            }
        }
        1 => {
            let f = Fields::new(rest, 2);
            let (registered, given) = (f.text(0), f.text(1));
            check_registrable(&registered);
            check_registrable(&given);
            if redirect_uri_problem(&registered).is_none() {
                check_match(&[registered], &given);
            }
        }
        _ => check_next(&String::from_utf8_lossy(rest)),
    }
});
