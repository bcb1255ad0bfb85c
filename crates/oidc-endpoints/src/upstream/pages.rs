//! What upstream sign-in shows: the provider buttons (sign-in page and
//! account page), the error page with its way back, and the icons
//! (inline SVG: nothing fetched from elsewhere, the CSP stays strict).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use core_auth::federation::UpstreamProvider;
use web_kit::layout::Layout;
use web_kit::util::{render, urlencode};

const GOOGLE: &str = r##"<svg viewBox="0 0 18 18" width="18" height="18" aria-hidden="true" focusable="false"><path fill="#EA4335" d="M9 3.48c1.69 0 2.83.73 3.48 1.34l2.54-2.48C13.46.89 11.43 0 9 0 5.48 0 2.44 2.02.96 4.96l2.91 2.26C4.6 5.05 6.62 3.48 9 3.48z"/><path fill="#4285F4" d="M17.64 9.2c0-.74-.06-1.28-.19-1.84H9v3.34h4.96c-.1.83-.64 2.08-1.84 2.92l2.84 2.2c1.7-1.57 2.68-3.88 2.68-6.62z"/><path fill="#FBBC05" d="M3.88 10.78A5.54 5.54 0 0 1 3.58 9c0-.62.11-1.22.29-1.78L.96 4.96A9 9 0 0 0 0 9c0 1.45.35 2.82.96 4.04l2.92-2.26z"/><path fill="#34A853" d="M9 18c2.43 0 4.47-.8 5.96-2.18l-2.84-2.2c-.76.53-1.78.9-3.12.9-2.38 0-4.4-1.57-5.12-3.74L.97 13.04C2.45 15.98 5.48 18 9 18z"/></svg>"##;
const GITHUB: &str = r##"<svg viewBox="0 0 16 16" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M8 0C3.58 0 0 3.58 0 8c0 3.54 2.29 6.53 5.47 7.59.4.07.55-.17.55-.38 0-.19-.01-.82-.01-1.49-2.01.37-2.53-.49-2.69-.94-.09-.23-.48-.94-.82-1.13-.28-.15-.68-.52-.01-.53.63-.01 1.08.58 1.23.82.72 1.21 1.87.87 2.33.66.07-.52.28-.87.51-1.07-1.78-.2-3.64-.89-3.64-3.95 0-.87.31-1.59.82-2.15-.08-.2-.36-1.02.08-2.12 0 0 .67-.21 2.2.82.64-.18 1.32-.27 2-.27s1.36.09 2 .27c1.53-1.04 2.2-.82 2.2-.82.44 1.1.16 1.92.08 2.12.51.56.82 1.27.82 2.15 0 3.07-1.87 3.75-3.65 3.95.29.25.54.73.54 1.48 0 1.07-.01 1.93-.01 2.2 0 .21.15.46.55.38A8 8 0 0 0 16 8c0-4.42-3.58-8-8-8z"/></svg>"##;
const MICROSOFT: &str = r##"<svg viewBox="0 0 21 21" width="18" height="18" aria-hidden="true" focusable="false"><rect x="1" y="1" width="9" height="9" fill="#F25022"/><rect x="11" y="1" width="9" height="9" fill="#7FBA00"/><rect x="1" y="11" width="9" height="9" fill="#00A4EF"/><rect x="11" y="11" width="9" height="9" fill="#FFB900"/></svg>"##;
const GITLAB: &str = r##"<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="#E24329" d="M12 22.1 16.4 8.6H7.6z"/><path fill="#FC6D26" d="M12 22.1 7.6 8.6H1.4zM12 22.1l4.4-13.5h6.2z"/><path fill="#FCA326" d="M1.4 8.6.1 12.7a.9.9 0 0 0 .3 1L12 22.1zM22.6 8.6l1.3 4.1a.9.9 0 0 1-.3 1L12 22.1z"/><path fill="#E24329" d="M1.4 8.6h6.2L4.9.4a.5.5 0 0 0-.9 0zM22.6 8.6h-6.2L19.1.4a.5.5 0 0 1 .9 0z"/></svg>"##;
const OPENID: &str = r##"<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="#F78C40" d="M11 3.6v16.2c-4.3-.5-7.3-2.7-7.3-5.3 0-2.3 2.4-4.3 5.7-5V7.2C4.9 8 1.6 11 1.6 14.5c0 3.8 4.3 7 10.1 7.5l3-1.4V2z"/><path fill="#B2B2B2" d="M14.7 7.1v2.4c1.3.2 2.4.6 3.3 1.2l-1.7.9 6.1 1.3-.4-4.4-1.7.9c-1.6-1.2-3.5-2-5.6-2.3z"/></svg>"##;
const KEY: &str = r##"<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" d="M15 7a4 4 0 1 1-3.9 4.9L3 20v-3h3v-3h3l2.1-2.1A4 4 0 0 1 15 7zm1 3h.01"/></svg>"##;

/// The built-in icon called `name`, as inline SVG markup.
pub fn builtin_icon(name: &str) -> Option<&'static str> {
    Some(match name {
        "google" => GOOGLE,
        "github" => GITHUB,
        "microsoft" => MICROSOFT,
        "gitlab" => GITLAB,
        "openid" => OPENID,
        "key" => KEY,
        _ => return None,
    })
}

/// A "Sign in with ..." button.
#[derive(Debug, Clone)]
pub struct ProviderButton {
    pub id: String,
    pub name: String,
    /// Inline SVG of a built-in icon (our own constant markup), or empty.
    pub svg: &'static str,
    /// A configured `data:image/...` URL, or empty.
    pub img: String,
    /// Where the button goes (GET), with `next` carried along.
    pub href: String,
}

/// One button per provider, each carrying `next` through the round trip.
pub fn buttons(providers: &[UpstreamProvider], next: &str) -> Vec<ProviderButton> {
    providers
        .iter()
        .filter(|p| p.enabled)
        .map(|p| {
            let mut href = format!("/login/upstream/{}", p.id);
            if !next.is_empty() {
                href.push_str(&format!("?next={}", urlencode(next)));
            }
            let svg = builtin_icon(&p.icon).unwrap_or("");
            ProviderButton {
                id: p.id.clone(),
                name: p.display_name.clone(),
                svg,
                img: if svg.is_empty() {
                    p.icon.clone()
                } else {
                    String::new()
                },
                href,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "upstream_error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
    back_href: &'a str,
    back_label: &'a str,
}

/// Where a failed flow offers to go back to: the sign-in page (keeping
/// `next`), or the account page when the person was adding a link.
pub fn back_to(next: &str, linking: bool) -> (String, &'static str) {
    if linking {
        return ("/account".into(), "Back to your account");
    }
    let href = if next.is_empty() {
        "/login".to_string()
    } else {
        format!("/login?next={}", urlencode(next))
    };
    (href, "Back to sign-in")
}

/// The page a failed upstream sign-in ends on.
pub fn error_page(
    status: StatusCode,
    heading: &str,
    message: &str,
    back: (String, &'static str),
) -> HttpResponse {
    render(
        status,
        &ErrorPage {
            layout: Layout::anonymous(heading),
            heading,
            message,
            back_href: &back.0,
            back_label: back.1,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_icon_name_has_markup() {
        for name in core_auth::federation::provider::BUILTIN_ICONS {
            let svg = builtin_icon(name).unwrap_or_default();
            assert!(
                svg.starts_with("<svg") && svg.contains("aria-hidden"),
                "{name}"
            );
        }
        assert!(builtin_icon("nope").is_none());
    }

    #[test]
    fn buttons_carry_next_and_skip_disabled_providers() {
        let on = UpstreamProvider {
            id: "corp".into(),
            display_name: "Corp".into(),
            icon: "data:image/png;base64,AAAA".into(),
            ..UpstreamProvider::default()
        };
        let off = UpstreamProvider {
            id: "off".into(),
            enabled: false,
            ..UpstreamProvider::default()
        };
        let b = buttons(&[on, off], "/authorize/resume?rid=x");
        assert_eq!(b.len(), 1);
        assert_eq!(
            b[0].href,
            "/login/upstream/corp?next=%2Fauthorize%2Fresume%3Frid%3Dx"
        );
        assert_eq!(b[0].img, "data:image/png;base64,AAAA");
        assert!(b[0].svg.is_empty());
    }
}
