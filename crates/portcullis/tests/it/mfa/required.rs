//! Enrolment when the account must have a second factor.

use testkit::TestServer;

use super::{code_now, password_step, recovery_codes, text_of};
use crate::util::{location, PASSWORD};

#[actix_web::test]
async fn a_required_role_enrols_before_any_session_is_issued() {
    let srv = TestServer::start_with(|c| c.mfa.required_for_roles = vec!["admin".into()]).await;
    srv.create_user("root@example.com", "Root", PASSWORD, &["admin"])
        .await;
    let c = srv.client();
    assert_eq!(
        password_step(&srv, &c, "root@example.com").await,
        "/login/enrol"
    );
    let (status, _) = srv.get(&c, "/admin").await;
    assert_ne!(status, 200, "no session before enrolment");
    let (status, page) = srv.get(&c, "/login/enrol").await;
    assert_eq!(status, 200);
    assert!(page.contains("must use a second factor"));
    let secret = text_of(&page, "totp-secret");
    let r = srv
        .submit(
            &c,
            "/login/enrol",
            "/login/enrol/totp",
            &[("code", "123123")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let again = r.text().await.unwrap();
    assert_eq!(text_of(&again, "totp-secret"), secret, "the same key again");
    // The last step cannot be skipped to.
    let (status, _) = srv.get(&c, "/login/enrol/done").await;
    assert_eq!(status, 303);
    assert_eq!(srv.get(&c, "/account").await.0, 303);

    let code = code_now(&srv, &secret);
    let r = srv
        .submit(&c, "/login/enrol", "/login/enrol/totp", &[("code", &code)])
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert_eq!(recovery_codes(&page).len(), 10);
    let token = testkit::html::csrf(&page);
    let r = c
        .post(srv.at("/login/enrol/done"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/account");
    assert_eq!(srv.get(&c, "/admin").await.0, 200);

    // Next time: the second step, not enrolment.
    let c = srv.client();
    assert_eq!(
        password_step(&srv, &c, "root@example.com").await,
        "/login/second-factor"
    );
}

#[actix_web::test]
async fn the_owner_cannot_remove_a_required_last_factor() {
    let srv = TestServer::start_with(|c| c.mfa.required_for_roles = vec!["auditor".into()]).await;
    srv.with_db(|c| {
        core_auth::roles::create_role(c, "auditor", "", 0).unwrap();
    })
    .await;
    srv.create_user("dee@example.com", "Dee", PASSWORD, &["auditor"])
        .await;
    let c = srv.client();
    password_step(&srv, &c, "dee@example.com").await;
    let (_, page) = srv.get(&c, "/login/enrol").await;
    let secret = text_of(&page, "totp-secret");
    let code = code_now(&srv, &secret);
    let r = srv
        .submit(&c, "/login/enrol", "/login/enrol/totp", &[("code", &code)])
        .await;
    let token = testkit::html::csrf(&r.text().await.unwrap());
    c.post(srv.at("/login/enrol/done"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    let r = srv
        .submit(
            &c,
            "/account/two-factor",
            "/account/two-factor/app/remove",
            &[],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("must have a second factor"));
}
