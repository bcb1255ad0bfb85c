//! Upstream sign-in providers in the admin console: only for admins and
//! with CSRF; a provider added in the console signs people in through the
//! fake upstream of the federation tests; its secret is write-only (never
//! in a page, kept by an empty field, replaced by a typed one); refused
//! forms keep what was typed but the secret; configured providers are
//! read-only; saving and deleting ask for the password after ten minutes;
//! every change is audited. (The API: `api_providers.rs`.)

use std::collections::HashMap;

use serde_json::{json, Value};
use testkit::{html, TestServer};

use super::admin_browser;
use super::api::events;
use crate::federation::button_href;
use crate::federation::fake::Fake;
use crate::util::{location, PASSWORD};

pub const CLIENT_ID: &str = "portcullis-at-the-fake";
const SECRET: &str = "first-upstream-secret-7Qx";
const CHANGES: [&str; 3] = [
    "admin_upstream_provider_created",
    "admin_upstream_provider_updated",
    "admin_upstream_provider_deleted",
];

/// Posts `fields` and a CSRF token of `c`'s session to `action`.
pub async fn post(
    srv: &TestServer,
    c: &reqwest::Client,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, page) = srv.get(c, "/admin").await;
    let token = html::csrf(&page);
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    c.post(srv.at(action)).form(&form).send().await.unwrap()
}

/// The console's fields of an OpenID Connect provider at the fake, with
/// the secret in the form body so that the fake sees it.
pub(crate) fn oidc_form<'a>(
    id: &'a str,
    issuer: &'a str,
    secret: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("id", id),
        ("preset", ""),
        ("kind", "oidc"),
        ("display_name", "Corp SSO"),
        ("icon", ""),
        ("client_id", CLIENT_ID),
        ("client_secret", secret),
        ("token_auth_method", "client_secret_post"),
        ("issuer", issuer),
        ("scopes", "openid email"),
        ("allowed_email_domains", ""),
        ("enabled", "on"),
        ("allow_registration", "on"),
        ("trust_email", "on"),
        ("dangerous_allow_http", "on"),
    ]
}

fn with<'a>(
    mut form: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    form.retain(|(k, _)| *k != key);
    form.push((key, value));
    form
}

fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Starts a sign-in at provider `id`: the provider's authorization URL.
pub async fn start(srv: &TestServer, browser: &reqwest::Client, id: &str) -> String {
    let r = browser
        .get(srv.at(&format!("/login/upstream/{id}?next=%2Faccount")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r)
}

/// A whole sign-in through the fake at provider `id` in a new browser;
/// returns the callback's answer and the form the fake's token endpoint got.
pub async fn sign_in_through(
    srv: &TestServer,
    fake: &Fake,
    id: &str,
    email: &str,
) -> (reqwest::Response, Vec<(String, String)>) {
    let browser = srv.client();
    let url = start(srv, &browser, id).await;
    assert!(
        url.starts_with(&format!("{}/authorize?", fake.url)),
        "{url}"
    );
    let q = query(&url);
    fake.id_token(
        CLIENT_ID,
        &q["nonce"],
        srv.ctx.now(),
        json!({"email": email, "email_verified": true}),
    );
    let state: String = url::form_urlencoded::byte_serialize(q["state"].as_bytes()).collect();
    let r = browser
        .get(srv.at(&format!(
            "/login/upstream/{id}/callback?code=the-code&state={state}"
        )))
        .send()
        .await
        .unwrap();
    let form = fake.state.lock().unwrap().token_form.clone();
    (r, form)
}

/// The client secret the fake's token endpoint received.
pub fn secret_sent(form: &[(String, String)]) -> String {
    form.iter()
        .find(|(k, _)| k == "client_secret")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn detail(row: &core_auth::audit::Row) -> Value {
    serde_json::from_str(&row.detail).unwrap()
}

#[actix_web::test]
async fn provider_pages_are_for_admins_only_and_their_forms_need_the_csrf_token() {
    let srv = TestServer::start_with(|c| {
        c.upstream = vec![core_auth::federation::UpstreamProvider {
            id: "cfg".into(),
            preset: "google".into(),
            client_id: "cid".into(),
            client_secret: "s".into(),
            ..Default::default()
        }]
    })
    .await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let r = post(
        &srv,
        &admin,
        "/admin/providers",
        &oidc_form("stored", "https://idp.example.com", SECRET),
    )
    .await;
    assert_eq!(r.status(), 303);
    let pages = [
        "/admin/providers",
        "/admin/providers/new",
        "/admin/providers/cfg",
        "/admin/providers/stored",
        "/admin/providers/stored/delete",
    ];
    for p in pages {
        let (status, body) = srv.get(&admin, p).await;
        assert_eq!(status, 200, "{p}");
        assert!(
            !body.contains(" style="),
            "{p}: inline styles break the CSP"
        );
        assert!(
            body.contains(
                "<a href=\"/admin/providers\" aria-current=\"page\">Sign-in providers</a>"
            ),
            "{p}: in the navigation, as the current section"
        );
    }
    assert_eq!(srv.get(&admin, "/admin/providers/nope").await.0, 404);

    srv.create_user("user@example.com", "Ursula", PASSWORD, &[])
        .await;
    let user = srv.client();
    srv.sign_in(&user, "user@example.com", PASSWORD).await;
    let anon = srv.client();
    for p in pages {
        assert_eq!(srv.get(&user, p).await.0, 403, "{p} for a non-admin");
        let r = anon.get(srv.at(p)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{p} for nobody");
        assert!(location(&r).starts_with("/login?next="));
    }
    let (_, page) = srv.get(&user, "/account").await;
    let token = html::csrf(&page);
    for action in [
        "/admin/providers",
        "/admin/providers/stored",
        "/admin/providers/stored/delete",
    ] {
        let mut form = oidc_form("other", "https://idp.example.com", SECRET);
        form.push(("csrf_token", &token));
        let r = user.post(srv.at(action)).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 403, "{action} by a non-admin");
        let r = admin
            .post(srv.at(action))
            .form(&with(
                oidc_form("other", "https://idp.example.com", SECRET),
                "csrf_token",
                "forged",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{action} with a forged CSRF token");
    }
    assert_eq!(
        srv.get(&admin, "/admin/providers/other").await.0,
        404,
        "nothing was created"
    );
    assert_eq!(
        srv.get(&admin, "/admin/providers/stored").await.0,
        200,
        "nothing was deleted"
    );
    for (e, n) in CHANGES.iter().zip([1, 0, 0]) {
        assert_eq!(events(&srv, e).await.len(), n, "{e}");
    }
    assert!(!events(&srv, "permission_denied").await.is_empty());
}

#[actix_web::test]
async fn a_provider_added_in_the_console_signs_people_in_and_its_secret_never_shows() {
    let fake = Fake::start();
    let srv = TestServer::start().await;
    let (admin, admin_id) = admin_browser(&srv, "admin@example.com").await;
    let (_, login) = srv.get(&srv.client(), "/login").await;
    assert!(!login.contains("data-provider=\"corp\""));

    let r = post(
        &srv,
        &admin,
        "/admin/providers",
        &oidc_form("corp", &fake.url, SECRET),
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(location(&r), "/admin/providers/corp");
    let (_, page) = srv.get(&admin, "/admin/providers/corp").await;
    assert!(
        page.contains("was added") && page.contains("/login/upstream/corp/callback"),
        "{page}"
    );
    assert!(page.contains("A secret is set"));
    let created = events(&srv, "admin_upstream_provider_created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].actor_user_id.as_deref(), Some(admin_id.as_str()));
    assert_eq!(detail(&created[0])["provider"], "corp");

    // Its button is on the sign-in page, and it signs people in.
    let (_, login) = srv.get(&srv.client(), "/login?next=%2Faccount").await;
    assert!(login.contains("Sign in with Corp SSO"), "{login}");
    assert_eq!(
        button_href(&login, "corp"),
        "/login/upstream/corp?next=%2Faccount"
    );
    let (r, form) = sign_in_through(&srv, &fake, "corp", "ann@corp.example").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    assert_eq!(secret_sent(&form), SECRET);

    // Edited with the secret field left empty: the stored secret stays.
    let edit = with(
        with(oidc_form("corp", &fake.url, ""), "display_name", "Corp"),
        "trust_email",
        "",
    );
    let r = post(&srv, &admin, "/admin/providers/corp", &edit).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (r, form) = sign_in_through(&srv, &fake, "corp", "ann@corp.example").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        secret_sent(&form),
        SECRET,
        "the empty field kept the secret"
    );
    let updated = events(&srv, "admin_upstream_provider_updated").await;
    let mut changed: Vec<String> =
        serde_json::from_value(detail(&updated[0])["changed"].clone()).unwrap();
    changed.sort();
    assert_eq!(changed, ["display_name", "trust_email"]);
    assert_eq!(detail(&updated[0])["new_secret"], false);

    // A typed secret replaces it.
    let r = post(
        &srv,
        &admin,
        "/admin/providers/corp",
        &with(edit.clone(), "client_secret", "second-secret-9Kp"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, form) = sign_in_through(&srv, &fake, "corp", "ann@corp.example").await;
    assert_eq!(secret_sent(&form), "second-secret-9Kp");
    assert_eq!(
        detail(&events(&srv, "admin_upstream_provider_updated").await[0])["new_secret"],
        true
    );

    // With an account linked, the provider cannot be pointed at another
    // server: its subjects would be someone else's user ids.
    let elsewhere = with(edit.clone(), "issuer", "https://other-idp.example");
    let r = post(&srv, &admin, "/admin/providers/corp", &elsewhere).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"issuer-error\""), "{page}");
    assert!(
        page.contains("One account is linked to this provider"),
        "{page}"
    );
    let (_, form) = sign_in_through(&srv, &fake, "corp", "ann@corp.example").await;
    assert_eq!(
        secret_sent(&form),
        "second-secret-9Kp",
        "still the same provider"
    );

    // No page, audit row or log line shows either secret.
    let (_, list) = srv.get(&admin, "/admin/providers").await;
    assert!(list.contains("data-provider=\"corp\"") && list.contains("managed here"));
    let row = &list[list.find("data-provider=\"corp\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>1</td>"), "one linked account: {row}");
    let mut seen = list;
    for p in [
        "/admin/providers/corp",
        "/admin/providers/corp/delete",
        "/admin/providers/new",
        "/admin/audit",
        "/admin/audit/export?format=json",
        "/login",
    ] {
        seen.push_str(&srv.get(&admin, p).await.1);
    }
    let rows = srv
        .with_db(|c| core_auth::audit::query(c, &Default::default(), 1000).unwrap())
        .await;
    seen.push_str(&format!("{rows:?}"));
    seen.push_str(&testkit::captured_logs());
    for s in [SECRET, "second-secret-9Kp"] {
        assert!(!seen.contains(s), "{s} was shown");
    }

    // Deleted: the button goes, and the link with it.
    let (_, confirm) = srv.get(&admin, "/admin/providers/corp/delete").await;
    assert!(
        confirm.contains("The links are deleted with it"),
        "{confirm}"
    );
    let r = post(&srv, &admin, "/admin/providers/corp/delete", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/providers");
    let (_, login) = srv.get(&srv.client(), "/login").await;
    assert!(!login.contains("data-provider=\"corp\""), "{login}");
    assert_eq!(srv.get(&srv.client(), "/login/upstream/corp").await.0, 404);
    assert_eq!(srv.get(&admin, "/admin/providers/corp").await.0, 404);
    let deleted = events(&srv, "admin_upstream_provider_deleted").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(detail(&deleted[0])["links_removed"], 1);
    let links = srv
        .with_db(|c| core_auth::federation::links::count_by_provider(c).unwrap())
        .await;
    assert!(links.is_empty(), "{links:?}");
    let (_, audit) = srv.get(&admin, "/admin/audit").await;
    assert!(audit.contains("admin_upstream_provider_deleted"));
    fake.stop().await;
}

mod forms;
