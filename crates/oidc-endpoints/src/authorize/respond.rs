//! Answering the client: a redirect with the parameters in the query
//! (`response_mode=query`) or an auto-submitting form (`form_post`). Every
//! response carries `iss` (RFC 9207) and the client's `state`.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;
use core_auth::oidc::authorize::ResponseMode;
use core_auth::oidc::OAuthError;
use web_kit::util::{render, urlencode};

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPost<'a> {
    action: &'a str,
    fields: &'a [(&'static str, String)],
}

pub fn respond(
    mode: ResponseMode,
    redirect_uri: &str,
    fields: Vec<(&'static str, String)>,
) -> HttpResponse {
    match mode {
        ResponseMode::Query => {
            let mut url = redirect_uri.to_string();
            let mut sep = if url.contains('?') { '&' } else { '?' };
            for (k, v) in &fields {
                url.push(sep);
                url.push_str(k);
                url.push('=');
                url.push_str(&urlencode(v));
                sep = '&';
            }
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, url))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        ResponseMode::FormPost => {
            let origin = url::Url::parse(redirect_uri)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| "'none'".into());
            let mut resp = render(
                StatusCode::OK,
                &FormPost {
                    action: redirect_uri,
                    fields: &fields,
                },
            );
            let csp = format!(
                "default-src 'none'; script-src 'self'; style-src 'self'; form-action {origin}; frame-ancestors 'none'; base-uri 'none'"
            );
            if let Ok(v) = header::HeaderValue::from_str(&csp) {
                resp.headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, v);
            }
            resp
        }
    }
}

/// The success response.
pub fn code(
    mode: ResponseMode,
    redirect_uri: &str,
    code: String,
    state: Option<String>,
    issuer: &str,
) -> HttpResponse {
    let mut f = vec![("code", code)];
    if let Some(s) = state {
        f.push(("state", s));
    }
    f.push(("iss", issuer.to_string()));
    respond(mode, redirect_uri, f)
}

/// An error response to the client (RFC 6749 §4.1.2.1).
pub fn error(
    mode: ResponseMode,
    redirect_uri: &str,
    e: &OAuthError,
    state: Option<String>,
    issuer: &str,
) -> HttpResponse {
    let mut f = vec![
        ("error", e.code.as_str().to_string()),
        ("error_description", e.description.clone()),
    ];
    if let Some(s) = state {
        f.push(("state", s));
    }
    f.push(("iss", issuer.to_string()));
    respond(mode, redirect_uri, f)
}
