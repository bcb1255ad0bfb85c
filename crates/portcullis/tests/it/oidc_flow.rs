//! The whole OpenID Connect flow with the `openidconnect` crate as the
//! relying party: discovery, authorization through the real sign-in and
//! consent pages, code + PKCE exchange, ID token verified against the JWKS,
//! userinfo, refresh, introspection, revocation, RP-initiated logout.

use core_auth::clients::ClientSpec;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use testkit::oidc::Outcome;
use testkit::TestServer;

use crate::util::PASSWORD;

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[actix_web::test]
async fn full_flow_with_the_openidconnect_crate_as_relying_party() {
    let srv = TestServer::start().await;
    let user = srv
        .create_user("rp@example.com", "Relying Person", PASSWORD, &[])
        .await;
    let app = srv
        .register(ClientSpec {
            name: "Real RP".into(),
            redirect_uris: vec!["https://rp.example.com/callback".into()],
            post_logout_redirect_uris: vec!["https://rp.example.com/bye".into()],
            ..ClientSpec::default()
        })
        .await;
    let http = http();

    // Discovery and JWKS.
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(srv.url.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(app.client_id.clone()),
        app.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(app.redirect_uri.clone()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(srv.at("/introspect")).unwrap());

    // Authorization request through the real pages.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = srv.client();
    let outcome = srv
        .drive(
            &browser,
            auth_url.as_str(),
            Some(("rp@example.com", PASSWORD)),
            true,
        )
        .await;
    let Outcome::Redirect { url, params } = &outcome else {
        panic!("no redirect: {outcome:?}")
    };
    assert!(url.starts_with("https://rp.example.com/callback?"));
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(state.secret().as_str())
    );
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(srv.url.as_str()),
        "RFC 9207 iss"
    );

    // Code + PKCE for tokens.
    let tokens = client
        .exchange_code(AuthorizationCode::new(outcome.code()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), user.user.id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some("rp@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(claims.auth_time().is_some());
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims.access_token_hash(),
        Some(&at_hash),
        "at_hash binds the access token"
    );
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access grants a refresh token"
    );
    let granted = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    assert!(granted.contains(&"email".to_string()) && granted.contains(&"openid".to_string()));

    // Userinfo.
    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().map(|e| e.as_str()), Some("rp@example.com"));
    assert_eq!(
        info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Relying Person")
    );

    // Introspection of the access token.
    let intro = client
        .introspect(tokens.access_token())
        .request_async(&http)
        .await
        .expect("introspect");
    assert!(intro.active());
    assert_eq!(intro.sub(), Some(user.user.id.as_str()));

    // Refresh: a new pair, and the old refresh token is dead.
    let first_rt = tokens.refresh_token().unwrap().clone();
    let refreshed = client
        .exchange_refresh_token(&first_rt)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let second_rt = refreshed
        .refresh_token()
        .expect("rotated refresh token")
        .clone();
    assert_ne!(second_rt.secret(), first_rt.secret());
    let refreshed_id = refreshed.id_token().expect("ID token on refresh");
    let rclaims = refreshed_id
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("refreshed ID token verifies");
    assert_eq!(rclaims.subject(), claims.subject());
    assert_eq!(
        rclaims.auth_time(),
        claims.auth_time(),
        "auth_time is the original sign-in"
    );

    // Revocation of the new access token (RFC 7009). The oauth2 crate only
    // revokes over https, so this one request is made by hand.
    let (status, _, _) = srv
        .post_form(
            "/revoke",
            &[
                ("token", refreshed.access_token().secret()),
                ("token_type_hint", "access_token"),
            ],
            Some((&app.client_id, app.secret.as_deref().unwrap())),
        )
        .await;
    assert_eq!(status, 200);
    let intro = client
        .introspect(refreshed.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!intro.active(), "revoked access token is inactive");
    let r: Result<openidconnect::core::CoreUserInfoClaims, _> = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(r.is_err(), "revoked access token refused at userinfo");

    // RP-initiated logout with the ID token as hint: no confirmation needed.
    let mut logout = url::Url::parse(&srv.at("/end_session")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", &refreshed_id.to_string())
        .append_pair("post_logout_redirect_uri", "https://rp.example.com/bye")
        .append_pair("state", "bye-state");
    let r = browser.get(logout.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "https://rp.example.com/bye?state=bye-state"
    );
    // The session is gone: a silent request now fails with login_required.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (again, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .set_pkce_challenge(challenge)
        .url();
    let o = srv.drive(&browser, again.as_str(), None, true).await;
    assert_eq!(
        o.params().get("error").map(String::as_str),
        Some("login_required")
    );
    // The offline_access grant survives the logout.
    let after_logout = client
        .exchange_refresh_token(&second_rt)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        after_logout.is_ok(),
        "offline grants survive RP-initiated logout: {after_logout:?}"
    );
}

/// ES256 and EdDSA ID tokens checked by the `openidconnect` crate (v4
/// verifies both with its core types; no feature to turn on): discovery
/// lists them (the crate's verifier then allows them), the JWKS holds every
/// key, and a relying party that allows only the algorithm it registered
/// (`id_token_signed_response_alg`; OIDC Core §3.1.3.7 step 7) finds the
/// key by `kid` and checks the signature and `at_hash` (SHA-512 for
/// Ed25519).
#[actix_web::test]
async fn es256_and_eddsa_id_tokens_verify_with_the_openidconnect_crate() {
    use openidconnect::core::CoreJwsSigningAlgorithm as Alg;
    use openidconnect::JsonWebKey;
    let srv = TestServer::start().await;
    let user = srv
        .create_user("algs@example.com", "Al Gorithm", PASSWORD, &[])
        .await;
    let http = http();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(srv.url.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    assert_eq!(
        meta.id_token_signing_alg_values_supported(),
        &vec![Alg::RsaSsaPkcs1V15Sha256, Alg::EcdsaP256Sha256, Alg::EdDsa]
    );
    let published = meta.jwks().keys();
    assert_eq!(published.len(), 6, "active and next of three algorithms");
    let browser = srv.client();
    let mut signed_in = false;
    for (name, alg) in [("ES256", Alg::EcdsaP256Sha256), ("EdDSA", Alg::EdDsa)] {
        assert_eq!(
            published
                .iter()
                .filter(|k| matches!(
                    k.signing_alg(),
                    openidconnect::JsonWebKeyAlgorithm::Algorithm(a) if *a == alg
                ))
                .count(),
            2,
            "{name}: active and next in the JWKS"
        );
        let app = srv
            .register(ClientSpec {
                name: format!("{name} RP"),
                redirect_uris: vec!["https://rp.example.com/callback".into()],
                skip_consent: true,
                id_token_signed_response_alg: name.into(),
                ..ClientSpec::default()
            })
            .await;
        let client = CoreClient::from_provider_metadata(
            meta.clone(),
            ClientId::new(app.client_id.clone()),
            app.secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(app.redirect_uri.clone()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        let creds = (!signed_in).then_some(("algs@example.com", PASSWORD));
        signed_in = true;
        let outcome = srv.drive(&browser, auth_url.as_str(), creds, true).await;
        let tokens = client
            .exchange_code(AuthorizationCode::new(outcome.code()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("token exchange");
        let id_token = tokens.id_token().expect("an ID token");
        assert_eq!(id_token.signing_alg().unwrap(), &alg, "{name}");
        let rs256_only = client
            .id_token_verifier()
            .set_allowed_algs([Alg::RsaSsaPkcs1V15Sha256]);
        assert!(
            id_token.claims(&rs256_only, &nonce).is_err(),
            "{name}: a relying party that allows only RS256 refuses it"
        );
        // From discovery the crate allows what the provider lists.
        id_token
            .claims(&client.id_token_verifier(), &nonce)
            .unwrap_or_else(|e| panic!("{name} with the discovered algorithms: {e}"));
        let rp = client.id_token_verifier().set_allowed_algs([alg.clone()]);
        let claims = id_token
            .claims(&rp, &nonce)
            .unwrap_or_else(|e| panic!("{name} ID token verifies against the JWKS: {e}"));
        assert_eq!(claims.subject().as_str(), user.user.id);
        let key = id_token.signing_key(&rp).unwrap();
        assert_eq!(
            key.key_id().map(|k| k.as_str().to_string()),
            srv.ctx
                .keys
                .active_kid_of(core_auth::keys::Algorithm::parse(name).unwrap()),
            "{name}: signed by the active key"
        );
        let at_hash = AccessTokenHash::from_token(tokens.access_token(), &alg, key).unwrap();
        assert_eq!(claims.access_token_hash(), Some(&at_hash), "{name} at_hash");
        // Its access token works at userinfo like any other.
        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .unwrap()
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{name} userinfo: {e:?}"));
        assert_eq!(info.subject(), claims.subject());
    }
}
