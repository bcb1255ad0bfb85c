//! Upstream errors end on a page with a way back; providers stored at run time.

use super::*;

#[actix_web::test]
async fn upstream_errors_end_on_a_page_with_a_way_back() {
    let fake = Fake::start();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://127.0.0.1:{}", dead.local_addr().unwrap().port());
    drop(dead);
    let down = TestServer::start_with(|c| {
        c.upstream = vec![
            fake_provider("fake", &fake),
            UpstreamProvider {
                issuer: dead_url.clone(),
                ..fake_provider("down", &fake)
            },
            UpstreamProvider {
                allow_registration: false,
                ..fake_provider("closed", &fake)
            },
        ]
    })
    .await;
    let b = down.client();
    let next = "/authorize/resume?rid=abc";

    // Denied consent at the provider.
    let (state, _, _) = begin(&down, &b, "fake", next).await;
    let r = b
        .get(down.at(&format!(
            "/login/upstream/fake/callback?error=access_denied&state={}",
            urlencode(&state)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let body = r.text().await.unwrap();
    assert!(body.contains("You did not allow fake"), "{body}");
    assert!(
        body.contains(&format!("href=\"/login?next={}\"", urlencode(next))),
        "{body}"
    );

    // The provider cannot be reached.
    let r = b.get(down.at("/login/upstream/down")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 502);
    assert!(r.text().await.unwrap().contains("is not available"));

    // Unknown people, registration closed.
    let r = through_fake(
        &down,
        &fake,
        &b,
        "closed",
        json!({"email": "new@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("new accounts cannot be created"));

    // No such provider.
    let (status, _) = down.get(&b, "/login/upstream/nope").await;
    assert_eq!(status, 404);
    assert_eq!(user_count(&down).await, 0);
    fake.stop().await;
}

#[actix_web::test]
async fn providers_stored_at_run_time_appear_and_sign_in() {
    let fake = Fake::start();
    let down = TestServer::start().await;
    let (cfg, keys) = (down.ctx.config.clone(), down.ctx.keys.clone());
    let p = UpstreamProvider {
        display_name: "Stored IdP".into(),
        ..fake_provider("stored", &fake)
    };
    let now = down.ctx.now();
    down.with_db(move |c| {
        core_auth::federation::store::save(c, &cfg, keys.kek(), p, now).unwrap();
    })
    .await;
    let b = down.client();
    let (_, body) = down.get(&b, "/login?next=%2Faccount").await;
    assert!(body.contains("Sign in with Stored IdP"), "{body}");
    assert_eq!(
        button_href(&body, "stored"),
        "/login/upstream/stored?next=%2Faccount"
    );
    let r = through_fake(
        &down,
        &fake,
        &b,
        "stored",
        json!({"email": "s@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(location(&r), "/account");
    // The secret is stored encrypted, never in clear.
    let raw: String = down
        .with_db(|c| {
            core_auth::db::schema::upstream_providers::table
                .select(core_auth::db::schema::upstream_providers::client_secret)
                .first(c)
                .unwrap()
        })
        .await;
    assert!(!raw.contains("downstream-secret"));
    fake.stop().await;
}
