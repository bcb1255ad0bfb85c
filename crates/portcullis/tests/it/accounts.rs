//! Registration, sign-in, the account page, sign-out, admin guard.

use testkit::{html, TestServer};

use crate::util::{location, user_count, PASSWORD};

#[actix_web::test]
async fn register_see_account_and_sign_out() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let r = srv
        .submit(
            &c,
            "/register",
            "/register",
            &[
                ("email", "Ada@Example.com"),
                ("name", "Ada Lovelace"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Check your inbox"));
    srv.sign_in(&c, "ada@example.com", PASSWORD).await;
    let (status, body) = srv.get(&c, "/account").await;
    assert_eq!(status, 200);
    assert!(body.contains("Ada Lovelace"));
    assert!(
        body.contains("Please confirm your email address"),
        "unverified banner"
    );
    assert!(body.contains("Ada@Example.com"));
    assert!(body.contains("Member since"));
    assert!(body.contains(">user<"), "roles are listed: {body}");

    let csrf = html::csrf(&body);
    let r = c
        .post(srv.at("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?signed_out=1");
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 303, "signed out: the account page sends to sign-in");

    // Sign in again with the email in another case.
    srv.sign_in(&c, "ada@EXAMPLE.com", PASSWORD).await;
    let (status, body) = srv.get(&c, "/account").await;
    assert_eq!(status, 200);
    assert!(body.contains("Ada Lovelace"));
}

#[actix_web::test]
async fn registration_errors_rerender_with_typed_values_but_never_the_password() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let long = "x".repeat(129);
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        // (email, name, password, field with the error, message fragment)
        ("not-an-email", "Ada", PASSWORD, "email", "valid email"),
        ("", "Ada", PASSWORD, "email", "Enter your email"),
        ("ada@example", "Ada", PASSWORD, "email", "valid email"),
        ("ada@example.com", "   ", PASSWORD, "name", "full name"),
        ("ada@example.com", "Ada", "short", "password", "at least 8"),
        ("ada@example.com", "Ada", &long, "password", "at most 128"),
        (
            "ada@example.com",
            "Ada",
            "password123",
            "password",
            "most common",
        ),
        (
            "ada@example.com",
            "Ada",
            "ada@example.com",
            "password",
            "email address",
        ),
    ];
    for (email, name, password, field, fragment) in cases {
        let r = srv
            .submit(
                &c,
                "/register",
                "/register",
                &[("email", email), ("name", name), ("password", password)],
            )
            .await;
        assert_eq!(r.status(), 422, "{field} case should fail validation");
        let body = r.text().await.unwrap();
        let error_id = format!("id=\"{field}-error\"");
        assert!(
            body.contains(&error_id),
            "no error shown next to {field}: {body}"
        );
        assert!(
            body.contains(fragment),
            "message for {field} should mention {fragment:?}"
        );
        assert_eq!(
            html::input_value(&body, "email").unwrap(),
            *email,
            "typed email kept"
        );
        assert_eq!(
            html::input_value(&body, "name").unwrap(),
            *name,
            "typed name kept"
        );
        assert!(
            html::input_value(&body, "password").is_none(),
            "password never echoed"
        );
        if password.len() >= 8 {
            assert!(
                !body.contains(password) || password == email,
                "password text must not appear in the page"
            );
        }
    }
    assert_eq!(user_count(&srv).await, 0, "nothing was stored");
}

#[actix_web::test]
async fn duplicate_email_is_refused_case_insensitively() {
    let srv = TestServer::start().await;
    srv.create_user("grace@example.com", "Grace Hopper", PASSWORD, &[])
        .await;
    let c = srv.client();
    let r = srv
        .submit(
            &c,
            "/register",
            "/register",
            &[
                ("email", " GRACE@example.COM "),
                ("name", "Impostor"),
                ("password", "another fine password"),
            ],
        )
        .await;
    // The same answer as a new registration (no enumeration); nothing is
    // created, and the owner is told (see mail::duplicate_registration_*).
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Check your inbox"));
    assert_eq!(user_count(&srv).await, 1);
    let r = srv
        .submit(
            &c,
            "/login",
            "/login",
            &[
                ("email", "grace@example.com"),
                ("password", "another fine password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401, "the impostor's password does not work");
}

#[actix_web::test]
async fn wrong_password_and_unknown_email_get_identical_responses() {
    let srv = TestServer::start().await;
    srv.create_user("known@example.com", "Known", PASSWORD, &[])
        .await;
    let c = srv.client();
    let mut answers = Vec::new();
    for email in ["known@example.com", "nobody@example.com"] {
        let r = srv
            .submit(
                &c,
                "/login",
                "/login",
                &[("email", email), ("password", "wrong password here")],
            )
            .await;
        let status = r.status().as_u16();
        let cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let body = r.text().await.unwrap().replace(email, "EMAIL");
        answers.push((status, cookies, body));
    }
    assert_eq!(answers[0].0, 401);
    assert!(answers[0].2.contains("Incorrect email or password."));
    assert_eq!(
        answers[0], answers[1],
        "unknown email and wrong password must look the same"
    );
}

#[actix_web::test]
async fn disabled_user_cannot_sign_in() {
    let srv = TestServer::start().await;
    let u = srv
        .create_user("off@example.com", "Off", PASSWORD, &[])
        .await;
    let c = srv.client();
    srv.sign_in(&c, "off@example.com", PASSWORD).await;
    let id = u.user.id.clone();
    let now = srv.ctx.now();
    srv.with_db(move |conn| core_auth::users::set_disabled(conn, &id, true, now).unwrap())
        .await;
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 303, "disabling ends the running session");
    let r = srv
        .submit(
            &c,
            "/login",
            "/login",
            &[("email", "off@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("disabled"));
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 303, "still not signed in");
    // A wrong password for a disabled account says nothing about the account.
    let r = srv
        .submit(
            &c,
            "/login",
            "/login",
            &[
                ("email", "off@example.com"),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 401);
}

#[actix_web::test]
async fn csrf_missing_or_wrong_is_403_and_changes_nothing() {
    let srv = TestServer::start().await;
    srv.create_user("csrf@example.com", "Csrf", PASSWORD, &[])
        .await;
    let c = srv.client();
    srv.get(&c, "/register").await; // the session has a token, the form omits it
    for token in [None, Some("wrong"), Some("")] {
        let mut form = vec![
            ("email", "new@example.com"),
            ("name", "New"),
            ("password", PASSWORD),
        ];
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let r = c
            .post(srv.at("/register"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "register with token {token:?}");
        assert!(r.text().await.unwrap().contains("This form has expired"));

        let mut form = vec![("email", "csrf@example.com"), ("password", PASSWORD)];
        if let Some(t) = token {
            form.push(("csrf_token", t));
        }
        let r = c.post(srv.at("/login")).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 403, "login with token {token:?}");
    }
    assert_eq!(user_count(&srv).await, 1, "no account was created");
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 303, "no sign-in happened");

    // A token from another session is wrong too.
    let other = srv.client();
    let (_, page) = srv.get(&other, "/login").await;
    let foreign = html::csrf(&page);
    let r = c
        .post(srv.at("/login"))
        .form(&[
            ("email", "csrf@example.com"),
            ("password", PASSWORD),
            ("csrf_token", foreign.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Sign-out without the token leaves the session alone.
    srv.sign_in(&c, "csrf@example.com", PASSWORD).await;
    let r = c
        .post(srv.at("/logout"))
        .form(&[("csrf_token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (status, _) = srv.get(&c, "/account").await;
    assert_eq!(status, 200, "still signed in");
}

#[actix_web::test]
async fn next_accepts_only_local_paths() {
    let srv = TestServer::start().await;
    srv.create_user("next@example.com", "Next", PASSWORD, &[])
        .await;
    for (next, expected) in [
        ("/admin", "/admin"),
        ("https://evil.example/", "/account"),
        ("//evil.example/x", "/account"),
        ("/\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
    ] {
        let c = srv.client();
        let r = srv
            .submit(
                &c,
                "/login",
                "/login",
                &[
                    ("email", "next@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), expected, "next={next}");
    }
    // The sign-in page carries a local `next` through its form, drops others.
    let c = srv.client();
    // Dot segments that a browser resolves to `//evil.example` (finding 2):
    // refused on /login (POST and GET when signed in), /register and the
    // console's session-revoke form.
    let off_site = [
        "/.//evil.example",
        "/a/..//evil.example",
        "/%2e//evil.example",
        "/.///evil.example",
        "/%2F%2Fevil.example",
    ];
    let root = srv
        .create_user("root@example.com", "Root", PASSWORD, &["admin"])
        .await;
    let admin = srv.client();
    srv.sign_in(&admin, "root@example.com", PASSWORD).await;
    for next in off_site {
        let fresh = srv.client();
        let r = srv
            .submit(
                &fresh,
                "/login",
                "/login",
                &[
                    ("email", "next@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(location(&r), "/account", "POST /login next={next}");
        let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        for page in ["/login", "/register"] {
            let r = fresh
                .get(srv.at(&format!("{page}?next={q}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303, "{page}");
            assert_eq!(location(&r), "/account", "GET {page} next={next}");
        }
        let root_id = root.user.id.clone();
        let sid = srv
            .with_db(move |c| {
                use core_auth::db::schema::sessions::dsl as s;
                use diesel::prelude::*;
                s::sessions
                    .filter(s::user_id.ne(root_id))
                    .select(s::sid)
                    .first::<String>(c)
                    .unwrap()
            })
            .await;
        let (_, page) = srv.get(&admin, "/admin/sessions").await;
        let token = html::csrf(&page);
        let r = admin
            .post(srv.at(&format!("/admin/sessions/{sid}/revoke")))
            .form(&[("csrf_token", token.as_str()), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), "/admin/sessions", "revoke next={next}");
    }
    let (_, body) = srv.get(&c, "/login?next=%2Faccount%3Fx%3D1").await;
    assert_eq!(html::input_value(&body, "next").unwrap(), "/account?x=1");
    let (_, body) = srv.get(&c, "/login?next=https%3A%2F%2Fevil.example").await;
    assert_eq!(html::input_value(&body, "next").unwrap(), "");
}

#[actix_web::test]
async fn admin_page_requires_the_admin_role() {
    let srv = TestServer::start().await;
    srv.create_user("admin@example.com", "Admin", PASSWORD, &["admin"])
        .await;
    srv.create_user("user@example.com", "User", PASSWORD, &[])
        .await;

    let anon = srv.client();
    let r = anon.get(srv.at("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?next=%2Fadmin");

    let user = srv.client();
    srv.sign_in(&user, "user@example.com", PASSWORD).await;
    let (status, body) = srv.get(&user, "/admin").await;
    assert_eq!(status, 403);
    assert!(body.contains("administrators"));

    let admin = srv.client();
    srv.sign_in(&admin, "admin@example.com", PASSWORD).await;
    let (status, body) = srv.get(&admin, "/admin").await;
    assert_eq!(status, 200);
    assert!(body.contains("user@example.com") && body.contains("admin@example.com"));
}

#[actix_web::test]
async fn health_and_readiness_answer_json() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let r = c.get(srv.at("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let r = c.get(srv.at("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["database"], "ok");
}

#[actix_web::test]
async fn pages_carry_security_headers() {
    let srv = TestServer::start().await;
    let r = srv.client().get(srv.at("/login")).send().await.unwrap();
    let h = r.headers();
    let csp = h.get("content-security-policy").unwrap().to_str().unwrap();
    for part in [
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert_eq!(h.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer");
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    let css = srv
        .client()
        .get(srv.at("/static/portcullis.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}
