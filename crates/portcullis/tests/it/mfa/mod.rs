//! Second factors through the pages: an authenticator app and recovery
//! codes over HTTP (`totp`), enrolment when a role requires it
//! (`required`), passkeys in headless Chromium with a virtual
//! authenticator (`passkeys`).

mod passkeys;
mod protocol;
mod required;
mod totp;

use testkit::TestServer;

use crate::util::location;

/// The text of the element with `id` (up to its first `<`).
pub fn text_of(html: &str, id: &str) -> String {
    let needle = format!("id=\"{id}\">");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no #{id} in page:\n{html}"))
        + needle.len();
    let end = at + html[at..].find('<').unwrap();
    testkit::html::decode(html[at..end].trim())
}

/// The recovery codes a page shows.
pub fn recovery_codes(html: &str) -> Vec<String> {
    let at = html
        .find("id=\"recovery-codes\"")
        .expect("recovery codes shown");
    let end = at + html[at..].find("</ul>").unwrap();
    html[at..end]
        .split("<li>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].trim().to_string())
        .collect()
}

/// The code the app would show now for `secret`, on the server's clock.
pub fn code_now(srv: &TestServer, secret: &str) -> String {
    core_auth::mfa::totp::code_at(secret, srv.ctx.now()).unwrap()
}

/// Turns on an authenticator app for the signed-in `client` through the
/// pages; returns the secret and the recovery codes shown.
pub async fn set_up_app(srv: &TestServer, client: &reqwest::Client) -> (String, Vec<String>) {
    let (status, page) = srv.get(client, "/account/two-factor/app").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<svg"), "a QR code is shown");
    assert!(page.contains("autocomplete=\"one-time-code\""));
    assert!(page.contains("inputmode=\"numeric\""));
    let secret = text_of(&page, "totp-secret");
    let uri = text_of(&page, "totp-uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let code = code_now(srv, &secret);
    let r = srv
        .submit(
            client,
            "/account/two-factor/app",
            "/account/two-factor/app",
            &[("code", &code)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200, "{}", location(&r));
    let codes = recovery_codes(&r.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Password step of a sign-in; returns where it sent the browser.
pub async fn password_step(srv: &TestServer, client: &reqwest::Client, email: &str) -> String {
    let r = srv
        .submit(
            client,
            "/login",
            "/login",
            &[("email", email), ("password", crate::util::PASSWORD)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    location(&r)
}
