//! Sign-in through upstream providers. `two_servers`: one Portcullis is the
//! upstream of another (kind = oidc and kind = oauth2). The rest use a tiny
//! fake provider (`fake`) whose ID tokens the test writes: state, replay,
//! ID token validation, linking rules, domains, unlinking, errors.

mod audit;
mod browser;
pub(crate) mod fake;
mod reauth;
mod register_page;
mod second_factor;
mod two_servers;

use core_auth::federation::UpstreamProvider;
use diesel::prelude::*;
use serde_json::{json, Value};
use testkit::{html, TestServer};

use crate::util::{location, user_count, PASSWORD};
use fake::Fake;

const CLIENT_ID: &str = "downstream-client";

/// A provider `id` that is the fake.
fn fake_provider(id: &str, fake: &Fake) -> UpstreamProvider {
    UpstreamProvider {
        id: id.into(),
        kind: "oidc".into(),
        issuer: fake.url.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: "downstream-secret".into(),
        dangerous_allow_http: true,
        ..UpstreamProvider::default()
    }
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The `href` of the provider button `id` on a page.
pub fn button_href(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("data-provider=\"{id}\""))
        .unwrap_or_else(|| panic!("no button for {id} in {body}"));
    let tag = &body[body[..at].rfind('<').unwrap()..at];
    let h = tag.find("href=\"").unwrap() + 6;
    unescape(&tag[h..h + tag[h..].find('"').unwrap()])
}

/// Starts a sign-in at provider `id`; returns the state and nonce sent to
/// the provider and the whole authorization URL.
async fn begin(
    down: &TestServer,
    browser: &reqwest::Client,
    id: &str,
    next: &str,
) -> (String, String, String) {
    let r = browser
        .get(down.at(&format!("/login/upstream/{id}?next={}", urlencode(next))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let loc = location(&r);
    let q = query(&loc);
    (
        q["state"].clone(),
        q.get("nonce").cloned().unwrap_or_default(),
        loc,
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The provider sends the browser back with `code` and `state`.
async fn callback(
    down: &TestServer,
    browser: &reqwest::Client,
    id: &str,
    state: &str,
) -> reqwest::Response {
    browser
        .get(down.at(&format!(
            "/login/upstream/{id}/callback?code=the-code&state={}",
            urlencode(state)
        )))
        .send()
        .await
        .unwrap()
}

/// One whole sign-in through the fake with ID token claims `extra`.
async fn through_fake(
    down: &TestServer,
    fake: &Fake,
    browser: &reqwest::Client,
    id: &str,
    extra: Value,
) -> reqwest::Response {
    let (state, nonce, _) = begin(down, browser, id, "/account").await;
    fake.id_token(CLIENT_ID, &nonce, down.ctx.now(), extra);
    callback(down, browser, id, &state).await
}

async fn links_of(down: &TestServer, email: &str) -> Vec<String> {
    let email = email.to_string();
    down.with_db(move |c| {
        use core_auth::db::schema::{federated_identities as f, users as u};
        f::table
            .inner_join(u::table)
            .filter(u::email_key.eq(email.to_lowercase()))
            .select(f::provider)
            .order(f::provider.asc())
            .load::<String>(c)
            .unwrap()
    })
    .await
}

#[actix_web::test]
async fn tampered_state_is_refused_and_the_genuine_one_still_works() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| c.upstream = vec![fake_provider("fake", &fake)]).await;
    let browser = down.client();
    let (state, nonce, auth_url) = begin(&down, &browser, "fake", "/account").await;
    let q = query(&auth_url);
    assert!(auth_url.starts_with(&format!("{}/authorize?", fake.url)));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], down.at("/login/upstream/fake/callback"));
    fake.id_token(
        CLIENT_ID,
        &nonce,
        down.ctx.now(),
        json!({"email": "t@example.com", "email_verified": true}),
    );

    let mut tampered = state.clone();
    tampered.replace_range(..1, if state.starts_with('A') { "B" } else { "A" });
    let r = callback(&down, &browser, "fake", &tampered).await;
    assert_eq!(r.status().as_u16(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("This sign-in has expired"), "{body}");
    assert!(body.contains("href=\"/login\""), "a way back: {body}");
    assert_eq!(user_count(&down).await, 0);
    assert!(
        fake.state.lock().unwrap().token_form.is_empty(),
        "no code exchange"
    );

    let r = callback(&down, &browser, "fake", &state).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/account");
    assert_eq!(user_count(&down).await, 1);
    // PKCE: the verifier sent matches the challenge of the redirect.
    let form = fake.state.lock().unwrap().token_form.clone();
    let verifier = &form.iter().find(|(k, _)| k == "code_verifier").unwrap().1;
    let (_, challenge) = {
        use base64::Engine as _;
        let d = <sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes());
        (
            (),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d),
        )
    };
    assert_eq!(challenge, q["code_challenge"]);
    fake.stop().await;
}

#[actix_web::test]
async fn a_replayed_callback_is_refused() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| c.upstream = vec![fake_provider("fake", &fake)]).await;
    let browser = down.client();
    let (state, nonce, _) = begin(&down, &browser, "fake", "/account").await;
    fake.id_token(
        CLIENT_ID,
        &nonce,
        down.ctx.now(),
        json!({"email": "r@example.com", "email_verified": true}),
    );
    let r = callback(&down, &browser, "fake", &state).await;
    assert_eq!(r.status().as_u16(), 303);
    // The same browser again, and another browser that copied the URL.
    for b in [&browser, &down.client()] {
        let r = callback(&down, b, "fake", &state).await;
        assert_eq!(r.status().as_u16(), 400);
        assert!(r.text().await.unwrap().contains("already used"));
    }
    assert_eq!(user_count(&down).await, 1);
    fake.stop().await;
}

#[actix_web::test]
async fn id_tokens_with_wrong_audience_nonce_issuer_expiry_or_key_are_refused() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| c.upstream = vec![fake_provider("fake", &fake)]).await;
    let browser = down.client();
    let now = down.ctx.now();
    let ok = json!({"email": "v@example.com", "email_verified": true});
    for (case, extra, foreign) in [
        ("audience", json!({"aud": "someone-else"}), false),
        ("nonce", json!({"nonce": "not-the-nonce"}), false),
        ("issuer", json!({"iss": "http://127.0.0.1:1"}), false),
        (
            "expired",
            json!({"iat": now - 900, "exp": now - 600}),
            false,
        ),
        ("foreign key", json!({}), true),
    ] {
        let mut claims = ok.clone();
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        fake.state.lock().unwrap().foreign_key = foreign;
        let r = through_fake(&down, &fake, &browser, "fake", claims).await;
        assert_eq!(r.status().as_u16(), 502, "{case}");
        let body = r.text().await.unwrap();
        assert!(body.contains("could not be verified"), "{case}: {body}");
        assert_eq!(user_count(&down).await, 0, "{case}: nothing created");
    }
    fake.state.lock().unwrap().foreign_key = false;
    let r = through_fake(&down, &fake, &browser, "fake", ok).await;
    assert_eq!(r.status().as_u16(), 303, "the valid token signs in");
    assert_eq!(user_count(&down).await, 1);
    fake.stop().await;
}

/// Starts linking `provider` from the account page: the answer is a page
/// with a link on to the provider (a form may not redirect off-site under
/// the pages' CSP); returns that link.
async fn account_email(down: &TestServer, browser: &reqwest::Client) -> String {
    let (status, body) = down.get(browser, "/account").await;
    assert_eq!(status, 200);
    body
}

async fn start_link(down: &TestServer, b: &reqwest::Client, provider: &str) -> String {
    let r = account_post(down, b, "/account/links/add", provider).await;
    assert_eq!(r.status().as_u16(), 200);
    let body = r.text().await.unwrap();
    let at = body.find("data-continue").expect("a continue link");
    let tag = &body[body[..at].rfind('<').unwrap()..at];
    let h = tag.find("href=\"").unwrap() + 6;
    unescape(&tag[h..h + tag[h..].find('"').unwrap()])
}

/// HTML entities as askama writes them (`&#38;`), and the named ones.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').unwrap() + i;
        let n: u32 = rest[i + 2..end].parse().unwrap();
        out.push(char::from_u32(n).unwrap());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    html::decode(&out)
}

/// Posts an account-page form (its CSRF token from `/account`).
async fn account_post(
    down: &TestServer,
    b: &reqwest::Client,
    action: &str,
    provider: &str,
) -> reqwest::Response {
    down.submit(b, "/account", action, &[("provider", provider)])
        .await
}

#[actix_web::test]
async fn links_are_added_and_removed_on_the_account_page_but_never_the_last_way_in() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| {
        c.upstream = vec![fake_provider("one", &fake), fake_provider("two", &fake)]
    })
    .await;
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "one",
        json!({"sub": "p-1", "email": "pat@example.com", "email_verified": true, "name": "Pat"}),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    let page = account_email(&down, &b).await;
    assert!(page.contains("Your only way to sign in"), "{page}");
    assert!(page.contains("Link two"));

    // Created through "one": no password, one link. Removing it is refused.
    let r = account_post(&down, &b, "/account/links/remove", "one").await;
    assert_eq!(location(&r), "/account?link_error=last");
    assert_eq!(links_of(&down, "pat@example.com").await, ["one"]);
    let (_, page) = down.get(&b, "/account?link_error=last").await;
    assert!(page.contains("cannot be removed"));

    // Link "two" from the account page (another subject at the provider).
    let q = query(&start_link(&down, &b, "two").await);
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        down.ctx.now(),
        json!({"sub": "p-2", "email": "pat@work.example.com"}),
    );
    let r = callback(&down, &b, "two", &q["state"]).await;
    assert_eq!(location(&r), "/account?linked=two");
    assert_eq!(links_of(&down, "pat@example.com").await, ["one", "two"]);
    assert_eq!(user_count(&down).await, 1);

    // Now "one" can go, and then "two" cannot.
    let r = account_post(&down, &b, "/account/links/remove", "one").await;
    assert_eq!(location(&r), "/account?unlinked=one");
    let r = account_post(&down, &b, "/account/links/remove", "two").await;
    assert_eq!(location(&r), "/account?link_error=last");
    assert_eq!(links_of(&down, "pat@example.com").await, ["two"]);

    // A user with a password may remove their only link.
    down.create_user("pw@example.com", "Pw", PASSWORD, &[])
        .await;
    let b = down.client();
    down.sign_in(&b, "pw@example.com", PASSWORD).await;
    let q = query(&start_link(&down, &b, "one").await);
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        down.ctx.now(),
        json!({"sub": "p-3"}),
    );
    assert_eq!(
        location(&callback(&down, &b, "one", &q["state"]).await),
        "/account?linked=one"
    );
    let r = account_post(&down, &b, "/account/links/remove", "one").await;
    assert_eq!(location(&r), "/account?unlinked=one");
    assert!(links_of(&down, "pw@example.com").await.is_empty());
    fake.stop().await;
}

mod errors;
mod linking;
