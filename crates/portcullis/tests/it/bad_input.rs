//! Hostile and broken input: always a clean 4xx, never a 500 or a panic,
//! nothing stored.

use testkit::{html, TestServer};

use crate::util::{user_count, PASSWORD};

async fn token(srv: &TestServer, c: &reqwest::Client) -> String {
    let (_, body) = srv.get(c, "/register").await;
    html::csrf(&body)
}

#[actix_web::test]
async fn broken_form_bodies_get_clean_4xx_pages() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let t = token(&srv, &c).await;
    let form = "application/x-www-form-urlencoded";
    let bodies: Vec<(Vec<u8>, &str, u16)> = vec![
        // invalid UTF-8 after percent-decoding
        (
            format!("csrf_token={t}&email=%FF%FE&name=x&password=%C3%28aaaaaaaa").into_bytes(),
            form,
            400,
        ),
        // raw invalid UTF-8 bytes
        (
            [
                format!("csrf_token={t}&email=").as_bytes(),
                &[0xff, 0xfe, 0xfd],
                b"&name=x",
            ]
            .concat(),
            form,
            400,
        ),
        // a field given twice
        (
            format!("csrf_token={t}&email=a@b.co&email=c@d.co&name=x&password=y").into_bytes(),
            form,
            400,
        ),
        // JSON where a form is expected
        (br#"{"email":"a@b.co"}"#.to_vec(), "application/json", 400),
        // no content type at all
        (b"email=a".to_vec(), "", 400),
    ];
    for (body, ctype, expected) in bodies {
        let mut req = c.post(srv.at("/register")).body(body.clone());
        if !ctype.is_empty() {
            req = req.header("content-type", ctype);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(
            status,
            expected,
            "body {:?}: {text}",
            String::from_utf8_lossy(&body)
        );
        assert!(text.contains("<html"), "a page, not a bare error");
    }
    assert_eq!(user_count(&srv).await, 0);
}

#[actix_web::test]
async fn oversized_bodies_and_a_10_mb_password_answer_413() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let t = token(&srv, &c).await;
    let huge = "a".repeat(10 * 1024 * 1024);
    for path in ["/register", "/login"] {
        let r = c
            .post(srv.at(path))
            .form(&[
                ("csrf_token", t.as_str()),
                ("email", "big@example.com"),
                ("name", "Big"),
                ("password", huge.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("larger than this server accepts"));
    }
    assert_eq!(user_count(&srv).await, 0);
    // Just over the configured limit is refused too; the limit is the config's.
    let limit = srv.ctx.config.max_body_bytes;
    let filler = "b".repeat(limit);
    let r = c
        .post(srv.at("/login"))
        .form(&[("csrf_token", t.as_str()), ("email", filler.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[actix_web::test]
async fn sql_looking_input_is_just_text() {
    let srv = TestServer::start().await;
    let c = srv.client();
    let name = "Robert'); DROP TABLE users;--";
    let r = srv
        .submit(
            &c,
            "/register",
            "/register",
            &[
                ("email", "bobby@example.com"),
                ("name", name),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    srv.sign_in(&c, "bobby@example.com", PASSWORD).await;
    let (_, body) = srv.get(&c, "/account").await;
    assert!(
        body.contains("Robert&#39;); DROP TABLE users;--"),
        "stored and shown literally, escaped"
    );
    assert_eq!(user_count(&srv).await, 1);

    let other = srv.client();
    for email in ["' OR '1'='1", "bobby@example.com' --", "\" OR 1=1; --"] {
        let r = srv
            .submit(
                &other,
                "/login",
                "/login",
                &[("email", email), ("password", "' OR '1'='1")],
            )
            .await;
        assert_eq!(r.status(), 401, "{email}");
    }
}

#[actix_web::test]
async fn odd_queries_and_unknown_paths_are_not_errors() {
    let srv = TestServer::start().await;
    let c = srv.client();
    for path in [
        "/login?next=%ZZ",
        "/login?next=%00",
        "/login?next=/a&next=/b",
        "/register?next=%F0%28%8C%BC",
        "/login?signed_out",
    ] {
        let (status, _) = srv.get(&c, path).await;
        assert!(status < 500, "{path} answered {status}");
    }
    let (status, body) = srv.get(&c, "/no/such/page").await;
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"));
    let r = c.get(srv.at("/static/../Cargo.toml")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
