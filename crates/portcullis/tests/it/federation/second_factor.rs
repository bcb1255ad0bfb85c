//! An account with a second factor is asked for it after an upstream
//! sign-in too, unless the provider is trusted for its own two-step
//! verification and its ID token says it used one.

use super::*;
use crate::mfa::{code_now, set_up_app};

#[actix_web::test]
async fn an_upstream_sign_in_is_followed_by_the_second_factor_unless_its_mfa_is_trusted() {
    let fake = Fake::start();
    let down = TestServer::start_with(|c| {
        c.upstream = vec![
            UpstreamProvider {
                trust_email: true,
                ..fake_provider("plain", &fake)
            },
            UpstreamProvider {
                trust_email: true,
                trust_mfa: true,
                ..fake_provider("strict", &fake)
            },
        ]
    })
    .await;
    down.create_user("ada@example.com", "Ada", PASSWORD, &[])
        .await;
    let b = down.client();
    down.sign_in(&b, "ada@example.com", PASSWORD).await;
    let (secret, _) = set_up_app(&down, &b).await;
    let id = |sub: &str, amr: Value| json!({"sub": sub, "email": "ada@example.com", "email_verified": true, "amr": amr});

    // Not trusted for MFA, whatever its token says: the factor is asked.
    let b = down.client();
    let r = through_fake(&down, &fake, &b, "plain", id("s-1", json!(["pwd", "mfa"]))).await;
    assert_eq!(location(&r), "/login/second-factor");
    assert_eq!(down.get(&b, "/account").await.0, 303, "not signed in yet");
    down.clock.advance(30);
    let r = down
        .submit(
            &b,
            "/login/second-factor",
            "/login/second-factor",
            &[("code", &code_now(&down, &secret))],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(down.get(&b, "/account").await.0, 200);

    // Trusted, and it says it used MFA: signed in at once.
    let b = down.client();
    let r = through_fake(&down, &fake, &b, "strict", id("s-2", json!(["pwd", "mfa"]))).await;
    assert_eq!(location(&r), "/account");
    // Trusted, but this time it did not: asked.
    let b = down.client();
    let r = through_fake(&down, &fake, &b, "strict", id("s-2", json!(["pwd"]))).await;
    assert_eq!(location(&r), "/login/second-factor");
    fake.stop().await;
}
