//! Passkeys in headless Chromium with a virtual authenticator (the
//! WebDriver WebAuthn extension). WebAuthn needs a secure context and a
//! domain: the server's issuer is `http://localhost:PORT`.

use fantoccini::{Client, Locator};
use testkit::browser::see;
use testkit::{Browser, TestServer};

use crate::util::PASSWORD;

fn localhost(srv: &TestServer, path: &str) -> String {
    srv.at(path).replace("127.0.0.1", "localhost")
}

async fn click(b: &Client, css: &str) {
    b.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn fill(b: &Client, css: &str, value: &str) {
    let e = b.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

async fn sign_out(b: &Client) {
    click(b, "header form[action='/logout'] button").await;
}

/// The heading of the page once it is one of `choices`.
async fn one_of(b: &Client, choices: &[&str]) -> String {
    for _ in 0..600 {
        if let Ok(e) = b.find(Locator::Css("main h1")).await {
            if let Ok(t) = e.text().await {
                if let Some(c) = choices.iter().find(|c| t.contains(*c)) {
                    return c.to_string();
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the page never showed one of {choices:?}");
}

async fn password(b: &Client, srv: &TestServer) {
    b.goto(&localhost(srv, "/login")).await.unwrap();
    fill(b, "#email", "grace@example.com").await;
    fill(b, "#password", PASSWORD).await;
    click(b, "form[action='/login'] button[type=submit]").await;
}

async fn events(srv: &TestServer, event: &'static str) -> Vec<(String, String)> {
    srv.with_db(move |c| {
        let f = core_auth::audit::Filter {
            event: Some(event.into()),
            ..Default::default()
        };
        core_auth::audit::query(c, &f, 100)
            .unwrap()
            .into_iter()
            .map(|r| (r.outcome, r.detail))
            .collect()
    })
    .await
}

#[actix_web::test]
async fn add_a_passkey_then_sign_in_with_it_alone_and_as_the_second_factor() {
    let srv = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    srv.create_user("grace@example.com", "Grace", PASSWORD, &[])
        .await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;
    // A page first, so the authenticator belongs to this origin's tab.
    b.goto(&localhost(&srv, "/login")).await.unwrap();
    let authenticator = browser.add_virtual_authenticator().await;
    password(b, &srv).await;
    see(b, "main h1", "Grace").await;

    b.goto(&localhost(&srv, "/account/two-factor"))
        .await
        .unwrap();
    fill(b, "#passkey-name", "Laptop").await;
    click(b, "#add-passkey").await;
    // The first factor: its recovery codes, shown once.
    see(b, "main h1", "recovery codes").await;
    let codes = b
        .find(Locator::Css("#recovery-codes"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        codes.lines().filter(|l| l.contains('-')).count(),
        10,
        "{codes}"
    );
    click(b, "main a.button").await;
    see(b, "#passkeys", "Laptop").await;
    let creds = browser.credentials(&authenticator).await;
    assert_eq!(creds.len(), 1);
    assert_eq!(
        creds[0]["isResidentCredential"], true,
        "a discoverable credential"
    );

    // Without a password. The sign-in page offers the passkey in the
    // email field's autofill (conditional mediation), which Chromium's
    // virtual authenticator may answer at once; else the button.
    sign_out(b).await;
    if one_of(b, &["Sign in", "Grace"]).await == "Sign in" {
        click(b, "#passkey-sign-in").await;
        see(b, "main h1", "Grace").await;
    }
    // An application signing the person in gets an ID token that says a
    // passkey was used, at the phishing-resistant level.
    let id = code_flow(&srv, b).await;
    let amr = id["amr"].as_array().unwrap();
    assert!(amr.iter().any(|m| m == "hwk" || m == "swk"), "{id}");
    assert!(amr.iter().any(|m| m == "mfa"), "{id}");
    assert_eq!(id["acr"], "3", "{id}");
    b.goto(&localhost(&srv, "/account")).await.unwrap();
    let rows = events(&srv, "passkey_sign_in").await;
    assert!(
        rows.iter()
            .any(|(o, d)| o == "success" && d.contains("Laptop")),
        "{rows:?}"
    );

    // After a password: the second step offers the passkey. (The device
    // is away while the password is typed, so that autofill cannot answer.)
    // (Its counter as it is now: an older one would be a cloned key.)
    let credential = browser.credentials(&authenticator).await[0].clone();
    browser.remove_virtual_authenticator(&authenticator).await;
    sign_out(b).await;
    see(b, "main h1", "Sign in").await;
    password(b, &srv).await;
    see(b, "main h1", "Two-step verification").await;
    let authenticator = browser.add_virtual_authenticator().await;
    browser.add_credential(&authenticator, &credential).await;
    click(b, "#use-passkey").await;
    see(b, "main h1", "Grace").await;
    let rows = events(&srv, "second_factor").await;
    assert!(
        rows.iter()
            .any(|(o, d)| o == "success" && d.contains("passkey")),
        "{rows:?}"
    );

    // Rename, then remove (the account then has no factor and no codes).
    b.goto(&localhost(&srv, "/account/two-factor"))
        .await
        .unwrap();
    click(b, "#passkeys details summary").await;
    let rename = "#passkeys form[action$='/rename'] input[name=name]";
    fill(b, rename, "Work laptop").await;
    click(b, "#passkeys form[action$='/rename'] button").await;
    see(b, "#passkeys", "Work laptop").await;
    click(b, "#passkeys form[action$='/remove'] button").await;
    see(b, "main .alert.success", "removed").await;
    let (left, keys) = srv
        .with_db(|c| {
            let uid = uid_of(c, "grace@example.com");
            let f = core_auth::mfa::factors(c, &uid).unwrap();
            (f.recovery_codes_left, f.passkeys.len())
        })
        .await;
    assert_eq!((left, keys), (0, 0));
    browser.close().await;
}

/// An authorization-code flow in the browser (consent allowed) for a
/// client whose redirect URI is on this server; returns the ID token's
/// claims.
async fn code_flow(srv: &TestServer, b: &Client) -> serde_json::Value {
    let app = srv
        .register(core_auth::clients::ClientSpec {
            name: "Passkey App".into(),
            redirect_uris: vec![localhost(srv, "/healthz")],
            ..Default::default()
        })
        .await;
    let (verifier, challenge) = testkit::oidc::pkce();
    let url = testkit::oidc::authorize_url(
        srv,
        &app,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("acr_values", "3"),
        ],
    )
    .replace("127.0.0.1", "localhost");
    b.goto(&url).await.unwrap();
    see(b, "main h1", "Passkey App").await;
    click(b, "button[name=decision][value=allow]").await;
    let mut code = None;
    for _ in 0..100 {
        let u = b.current_url().await.unwrap();
        if let Some((_, c)) = u.query_pairs().find(|(k, _)| k == "code") {
            code = Some(c.into_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let code = code.expect("redirected back with a code");
    let (status, t) = crate::oidc_support::exchange(srv, &app, &code, &verifier).await;
    assert_eq!(status, 200, "{t}");
    crate::oidc_support::jwt_claims(&crate::oidc_support::s(&t, "id_token"))
}

fn uid_of(c: &mut core_auth::DbConn, email: &str) -> String {
    core_auth::users::find_by_email(c, email)
        .unwrap()
        .unwrap()
        .id
}

/// Two nodes on one database (one issuer, as behind a load balancer): the
/// ceremony begun on one is finished on the other, because its challenge
/// lives in the database.
#[actix_web::test]
async fn a_passkey_ceremony_begun_on_one_node_finishes_on_another() {
    let a = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    let issuer = a.ctx.config.issuer.clone();
    let b_node = a.start_sibling(move |c| c.issuer = issuer).await;
    a.create_user("grace@example.com", "Grace", PASSWORD, &[])
        .await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;
    b.goto(&localhost(&a, "/login")).await.unwrap();
    browser.add_virtual_authenticator().await;
    password(b, &a).await;
    see(b, "main h1", "Grace").await;
    b.goto(&localhost(&a, "/account/two-factor")).await.unwrap();
    // The options come from node A; the answer goes to node B.
    let finish_on_b = localhost(&b_node, "/account/two-factor/passkeys");
    b.execute(
        "document.querySelector('form[data-webauthn=create]').action = arguments[0];",
        vec![serde_json::Value::from(finish_on_b)],
    )
    .await
    .unwrap();
    fill(b, "#passkey-name", "Phone").await;
    click(b, "#add-passkey").await;
    see(b, "main h1", "recovery codes").await;
    let url = b.current_url().await.unwrap();
    assert_eq!(
        url.port(),
        url::Url::parse(&b_node.url).unwrap().port(),
        "finished on B"
    );
    let names = a
        .with_db(|c| {
            let uid = uid_of(c, "grace@example.com");
            core_auth::mfa::passkeys::list(c, &uid)
                .unwrap()
                .into_iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
        })
        .await;
    assert_eq!(names, ["Phone"]);
    browser.close().await;
}

/// Bad WebAuthn answers are refused with a message and an audit row, never
/// a session: an answer made for another origin, and a cloned key (its
/// counter went backwards).
#[actix_web::test]
async fn a_wrong_origin_and_a_cloned_key_are_refused() {
    let a = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    // Another node configured with another origin (a misconfigured one).
    let other = a
        .start_sibling(|c| c.issuer = c.issuer.replace("127.0.0.1", "localhost"))
        .await;
    a.create_user("grace@example.com", "Grace", PASSWORD, &[])
        .await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let b = &browser.client;
    b.goto(&localhost(&a, "/login")).await.unwrap();
    let authenticator = browser.add_virtual_authenticator().await;
    password(b, &a).await;
    see(b, "main h1", "Grace").await;

    // Wrong origin: the answer made for A's page is sent to the other node.
    b.goto(&localhost(&a, "/account/two-factor")).await.unwrap();
    let elsewhere = localhost(&other, "/account/two-factor/passkeys");
    b.execute(
        "document.querySelector('form[data-webauthn=create]').action = arguments[0];",
        vec![serde_json::Value::from(elsewhere)],
    )
    .await
    .unwrap();
    fill(b, "#passkey-name", "Laptop").await;
    click(b, "#add-passkey").await;
    see(b, "main .alert.error", "could not be added").await;
    let none = a
        .with_db(|c| {
            let uid = uid_of(c, "grace@example.com");
            core_auth::mfa::passkeys::list(c, &uid).unwrap().len()
        })
        .await;
    assert_eq!(none, 0);

    // A real one, then its copy with an older counter.
    b.goto(&localhost(&a, "/account/two-factor")).await.unwrap();
    fill(b, "#passkey-name", "Laptop").await;
    click(b, "#add-passkey").await;
    see(b, "main h1", "recovery codes").await;
    let snapshot = browser.credentials(&authenticator).await[0].clone();
    // Used once as the second factor (the counter moves on).
    browser.remove_virtual_authenticator(&authenticator).await;
    b.goto(&localhost(&a, "/account")).await.unwrap();
    sign_out(b).await;
    see(b, "main h1", "Sign in").await;
    password(b, &a).await;
    see(b, "main h1", "Two-step verification").await;
    let auth = browser.add_virtual_authenticator().await;
    browser.add_credential(&auth, &snapshot).await;
    click(b, "#use-passkey").await;
    see(b, "main h1", "Grace").await;
    // The old copy again: refused as a possible clone.
    browser.remove_virtual_authenticator(&auth).await;
    sign_out(b).await;
    see(b, "main h1", "Sign in").await;
    password(b, &a).await;
    see(b, "main h1", "Two-step verification").await;
    let auth = browser.add_virtual_authenticator().await;
    browser.add_credential(&auth, &snapshot).await;
    click(b, "#use-passkey").await;
    see(b, "#challenge-error", "could not be verified").await;
    let (status, _) = a.get(&a.client(), "/account").await;
    assert_eq!(status, 303);
    let rows = events(&a, "second_factor").await;
    assert!(
        rows.iter()
            .any(|(o, d)| o == "failure" && d.contains("\"reason\":\"invalid\"")),
        "{rows:?}"
    );
    browser.close().await;
}
