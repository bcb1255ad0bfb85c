//! The registration page offers the providers through which a new account
//! can be made, keeping the application's pending request.

use core_auth::federation::UpstreamProvider;
use testkit::TestServer;

use super::fake::Fake;
use super::{button_href, fake_provider};

#[actix_web::test]
async fn the_registration_page_offers_providers_that_allow_registration() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| {
        c.upstream = vec![
            UpstreamProvider {
                display_name: "Open Co".into(),
                ..fake_provider("open", &fake)
            },
            UpstreamProvider {
                display_name: "Closed Co".into(),
                allow_registration: false,
                ..fake_provider("closed", &fake)
            },
        ]
    })
    .await;
    let b = down.client();
    let (status, page) = down
        .get(&b, "/register?next=%2Fauthorize%2Fresume%3Frid%3Dabc")
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Sign up with Open Co"), "{page}");
    assert_eq!(
        button_href(&page, "open"),
        "/login/upstream/open?next=%2Fauthorize%2Fresume%3Frid%3Dabc"
    );
    assert!(!page.contains("data-provider=\"closed\""), "{page}");
    // Both still sign in from the sign-in page.
    let (_, login) = down.get(&b, "/login").await;
    assert!(login.contains("data-provider=\"open\""));
    assert!(login.contains("data-provider=\"closed\""));
    // And after a rejected form the buttons are still there.
    let r = down
        .submit(
            &b,
            "/register",
            "/register",
            &[("name", ""), ("email", "x"), ("password", "")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().await.unwrap().contains("Sign up with Open Co"));
    fake.stop().await;
}
