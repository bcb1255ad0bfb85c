//! Linking to an existing account, and allowed email domains.

use super::*;

/// A browser now signed in: its account page names `email`.
#[actix_web::test]
async fn linking_to_an_existing_account_needs_a_trusted_verified_email_or_the_password() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| {
        c.upstream = vec![
            UpstreamProvider {
                trust_email: true,
                ..fake_provider("trusted", &fake)
            },
            fake_provider("untrusted", &fake),
        ]
    })
    .await;
    for who in ["ada", "bob", "cy"] {
        down.create_user(&format!("{who}@example.com"), who, PASSWORD, &[])
            .await;
    }
    let users = user_count(&down).await;

    // Trusted provider, verified address: linked at once.
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "trusted",
        json!({"sub": "s-ada", "email": "ada@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(account_email(&down, &b).await.contains("ada@example.com"));
    assert_eq!(links_of(&down, "ada@example.com").await, ["trusted"]);

    // Trusted provider, address not verified by it: password first.
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "trusted",
        json!({"sub": "s-bob", "email": "bob@example.com", "email_verified": false}),
    )
    .await;
    assert_eq!(location(&r), "/login/upstream/confirm");
    assert!(links_of(&down, "bob@example.com").await.is_empty());
    let (_, page) = down.get(&b, "/account").await;
    assert!(!page.contains("bob@example.com"), "not signed in yet");

    // Untrusted provider, verified address: password first, too.
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "untrusted",
        json!({"sub": "s-cy", "email": "cy@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(location(&r), "/login/upstream/confirm");
    let (status, page) = down.get(&b, "/login/upstream/confirm").await;
    assert_eq!(status, 200);
    assert!(page.contains("cy@example.com"), "{page}");
    let wrong = down
        .submit(
            &b,
            "/login/upstream/confirm",
            "/login/upstream/confirm",
            &[("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(links_of(&down, "cy@example.com").await.is_empty());
    let right = down
        .submit(
            &b,
            "/login/upstream/confirm",
            "/login/upstream/confirm",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(right.status().as_u16(), 303);
    assert_eq!(location(&right), "/account");
    assert_eq!(links_of(&down, "cy@example.com").await, ["untrusted"]);
    assert!(account_email(&down, &b).await.contains("cy@example.com"));

    // Next time the link alone signs cy in.
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "untrusted",
        json!({"sub": "s-cy", "email": "cy@example.com"}),
    )
    .await;
    assert_eq!(location(&r), "/account");
    assert_eq!(user_count(&down).await, users, "no account was created");
    fake.stop().await;
}

#[actix_web::test]
async fn an_email_domain_outside_the_allowed_list_is_refused() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| {
        c.upstream = vec![UpstreamProvider {
            allowed_email_domains: vec!["example.org".into()],
            ..fake_provider("corp", &fake)
        }]
    })
    .await;
    for (sub, email, verified) in [
        ("s1", "x@example.com", true),
        ("s2", "y@example.org", false),
        ("s3", "z@sub.example.org", true),
        ("s4", "", false),
    ] {
        let b = down.client();
        let r = through_fake(
            &down,
            &fake,
            &b,
            "corp",
            json!({"sub": sub, "email": email, "email_verified": verified}),
        )
        .await;
        assert_eq!(r.status().as_u16(), 403, "{email}");
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("limited to certain email domains"));
    }
    assert_eq!(user_count(&down).await, 0);
    let b = down.client();
    let r = through_fake(
        &down,
        &fake,
        &b,
        "corp",
        json!({"sub": "s5", "email": "ok@example.org", "email_verified": true}),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(user_count(&down).await, 1);
    fake.stop().await;
}
