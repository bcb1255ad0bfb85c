//! Claims in userinfo and in access tokens.

use super::*;

#[actix_web::test]
async fn userinfo_releases_claims_by_scope_and_the_claims_parameter() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "claims@example.com").await;
    // Fill in a profile on the account page.
    let (_, page) = srv.get(&b, "/account/profile").await;
    let r = b
        .post(srv.at("/account/profile"))
        .form(&[
            ("csrf_token", testkit::html::csrf(&page).as_str()),
            ("name", "Claire Claims"),
            ("given_name", "Claire"),
            ("family_name", "Claims"),
            ("phone_number", "+44 20 7946 0000"),
            ("locality", "London"),
            ("country", "UK"),
            ("website", "https://claire.example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let claims_param =
        r#"{"userinfo":{"phone_number":{"essential":true}},"id_token":{"given_name":null}}"#;
    let (c, v) = code(
        &srv,
        &b,
        &app,
        &[
            ("scope", "openid profile address"),
            ("claims", claims_param),
            ("nonce", "n-1"),
        ],
    )
    .await;
    let (_, t) = exchange(&srv, &app, &c, &v).await;
    let id = jwt_claims(&s(&t, "id_token"));
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["given_name"], "Claire");
    assert_eq!(id["azp"], app.client_id.as_str());
    assert!(id["sid"].is_string() && id["amr"] == json!(["pwd"]));
    let info: Value = reqwest::Client::new()
        .get(srv.at("/userinfo"))
        .bearer_auth(s(&t, "access_token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "Claire Claims");
    assert_eq!(info["family_name"], "Claims");
    assert_eq!(info["website"], "https://claire.example.com");
    assert_eq!(info["address"]["locality"], "London");
    assert_eq!(
        info["phone_number"], "+44 20 7946 0000",
        "asked for by the claims parameter"
    );
    assert!(info.get("email").is_none(), "email scope not granted");
    assert_eq!(info["acr"], "0", "the session was reused for this request");
    // POST with the token in a form body works the same.
    let via_post: Value = reqwest::Client::new()
        .post(srv.at("/userinfo"))
        .form(&[("access_token", s(&t, "access_token"))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(via_post["sub"], info["sub"]);
    // An invalid profile value is refused with the typed values kept.
    let (_, page) = srv.get(&b, "/account/profile").await;
    let r = b
        .post(srv.at("/account/profile"))
        .form(&[
            ("csrf_token", testkit::html::csrf(&page).as_str()),
            ("name", "Claire"),
            ("birthdate", "yesterday"),
            ("nickname", "cc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("birthdate-error"));
    assert_eq!(
        testkit::html::input_value(&body, "nickname").as_deref(),
        Some("cc")
    );
}

#[actix_web::test]
async fn access_tokens_carry_the_rfc_9068_claims_and_expire() {
    let srv = TestServer::start().await;
    let app = srv.web_client().await;
    let b = signed_in(&srv, "at@example.com").await;
    let (c, v) = code(&srv, &b, &app, &[]).await;
    let (_, t) = exchange(&srv, &app, &c, &v).await;
    let at = s(&t, "access_token");
    let claims = jwt_claims(&at);
    for k in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "jti",
        "client_id",
        "scope",
    ] {
        assert!(claims.get(k).is_some(), "{k} in {claims}");
    }
    assert_eq!(
        t["expires_in"],
        srv.ctx.config.tokens.access_token_lifetime_secs
    );
    assert_eq!(t["token_type"], "Bearer");
    srv.clock
        .advance(srv.ctx.config.tokens.access_token_lifetime_secs + 1);
    let r = reqwest::Client::new()
        .get(srv.at("/userinfo"))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
}
