//! Refused forms, configured providers, and the password asked again.

use super::*;

#[actix_web::test]
async fn a_refused_form_keeps_what_was_typed_except_the_secret() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let typed = "typed-secret-Zr4";
    let form = vec![
        ("id", "Bad Id"),
        ("kind", "oidc"),
        ("display_name", "Keep Me"),
        ("client_id", ""),
        ("client_secret", typed),
        ("issuer", "http://idp.example.com"),
        ("scopes", "openid email"),
        ("allowed_email_domains", "example.com\nnodot"),
        ("enabled", "on"),
    ];
    let r = post(&srv, &admin, "/admin/providers", &form).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    for f in [
        "id",
        "client_id",
        "issuer",
        "allowed_email_domains",
        "client_secret",
    ] {
        assert!(
            page.contains(&format!("id=\"{f}-error\"")),
            "{f} has its message: {page}"
        );
    }
    assert!(page.contains("must be https"), "{page}");
    assert!(page.contains("Type the secret again"));
    assert!(!page.contains(typed), "the secret is not sent back");
    assert_eq!(html::input_value(&page, "id").as_deref(), Some("Bad Id"));
    assert_eq!(
        html::input_value(&page, "display_name").as_deref(),
        Some("Keep Me")
    );
    assert_eq!(
        html::input_value(&page, "issuer").as_deref(),
        Some("http://idp.example.com")
    );
    assert_eq!(
        html::input_value(&page, "client_secret").as_deref(),
        Some("")
    );
    assert!(page.contains("example.com\nnodot</textarea>"), "{page}");
    assert!(page.contains("name=\"enabled\" id=\"enabled\" checked"));
    assert!(!page.contains("name=\"trust_email\" id=\"trust_email\" checked"));

    // An id that is taken.
    let ok = oidc_form("dup", "https://idp.example.com", SECRET);
    assert_eq!(
        post(&srv, &admin, "/admin/providers", &ok).await.status(),
        303
    );
    let r = post(&srv, &admin, "/admin/providers", &ok).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("exists already"));
    // A new enabled provider needs a secret; a disabled one may go without.
    let r = post(
        &srv,
        &admin,
        "/admin/providers",
        &with(
            oidc_form("nosecret", "https://idp.example.com", ""),
            "enabled",
            "",
        ),
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post(
        &srv,
        &admin,
        "/admin/providers",
        &oidc_form("nosecret2", "https://idp.example.com", ""),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("id=\"client_secret-error\""));
    assert_eq!(
        events(&srv, "admin_upstream_provider_created").await.len(),
        2
    );
}

#[actix_web::test]
async fn configured_providers_are_read_only_in_the_console() {
    let srv = TestServer::start_with(|c| {
        c.upstream = vec![core_auth::federation::UpstreamProvider {
            id: "google".into(),
            preset: "google".into(),
            client_id: "cfg-client".into(),
            client_secret: "config-file-secret-Vb2".into(),
            ..Default::default()
        }]
    })
    .await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let (_, list) = srv.get(&admin, "/admin/providers").await;
    let row = &list[list.find("data-provider=\"google\"").unwrap()..];
    assert!(row[..row.find("</tr>").unwrap()].contains("from the configuration file"));
    let (status, page) = srv.get(&admin, "/admin/providers/google").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"read-only\"") && page.contains("cfg-client"));
    assert!(
        page.contains("https://accounts.google.com"),
        "the preset's issuer"
    );
    assert!(
        !page.contains("action=\"/admin/providers/google\""),
        "no edit form"
    );
    assert!(!page.contains("config-file-secret-Vb2"));

    let r = post(
        &srv,
        &admin,
        "/admin/providers/google",
        &oidc_form("google", "https://idp.example.com", "x"),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("configuration file"));
    assert_eq!(
        srv.get(&admin, "/admin/providers/google/delete").await.0,
        403
    );
    assert_eq!(
        post(&srv, &admin, "/admin/providers/google/delete", &[])
            .await
            .status(),
        403
    );
    let r = post(
        &srv,
        &admin,
        "/admin/providers",
        &oidc_form("google", "https://idp.example.com", "x"),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("is defined in the configuration file"));
    let (_, login) = srv.get(&srv.client(), "/login").await;
    assert!(login.contains("Sign in with Google"), "still there");
    for e in CHANGES {
        assert!(events(&srv, e).await.is_empty(), "{e}");
    }
}

#[actix_web::test]
async fn saving_and_deleting_a_provider_ask_for_the_password_after_ten_minutes() {
    let srv = TestServer::start().await;
    let (admin, _) = admin_browser(&srv, "admin@example.com").await;
    let (_, fresh) = srv.get(&admin, "/admin/providers/new").await;
    assert!(
        !fresh.contains("name=\"reauth_password\""),
        "not asked while recent"
    );
    srv.clock.advance(11 * 60);
    let (_, form_page) = srv.get(&admin, "/admin/providers/new").await;
    assert!(
        form_page.contains("name=\"reauth_password\""),
        "the form asks for it"
    );

    let form = oidc_form("corp", "https://idp.example.com", SECRET);
    let r = post(&srv, &admin, "/admin/providers", &form).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("id=\"reauth_password-error\"")
            && page.contains("Enter your password to confirm"),
        "{page}"
    );
    assert!(
        !page.contains(SECRET),
        "the secret does not come back in the page"
    );
    assert_eq!(
        html::input_value(&page, "display_name").as_deref(),
        Some("Corp SSO")
    );
    assert_eq!(
        srv.get(&admin, "/admin/providers/corp").await.0,
        404,
        "not saved"
    );

    let r = post(
        &srv,
        &admin,
        "/admin/providers",
        &with(form.clone(), "reauth_password", "wrong password"),
    )
    .await;
    assert_eq!(r.status(), 401);
    let page = r.text().await.unwrap();
    assert!(page.contains("That password is not right.") && !page.contains(SECRET));
    assert_eq!(events(&srv, "admin_reauth").await[0].outcome, "failure");
    assert_eq!(
        srv.get(&admin, "/admin/providers/corp").await.0,
        404,
        "not saved"
    );

    let r = post(
        &srv,
        &admin,
        "/admin/providers",
        &with(form.clone(), "reauth_password", PASSWORD),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(srv.get(&admin, "/admin/providers/corp").await.0, 200);

    // Deleting goes through the password page (no secret in that form).
    srv.clock.advance(11 * 60);
    let r = post(&srv, &admin, "/admin/providers/corp/delete", &[]).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Confirm your password") && page.contains("delete this sign-in provider")
    );
    assert_eq!(
        srv.get(&admin, "/admin/providers/corp").await.0,
        200,
        "not deleted yet"
    );
    let r = post(
        &srv,
        &admin,
        "/admin/providers/corp/delete",
        &[("reauth_password", PASSWORD)],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(srv.get(&admin, "/admin/providers/corp").await.0, 404);
}
