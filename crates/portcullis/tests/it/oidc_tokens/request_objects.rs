//! Signed request objects (RFC 9101): `request` at `/authorize` or inside a
//! pushed request, signed with the client's registered keys; only the
//! object's parameters count; `none`, HMAC, foreign keys, wrong `typ`,
//! `iss`, `aud` and expiry are refused with `invalid_request_object`.
//! Clients may be required to send them.

use super::*;
use testkit::oidc::{pkce, Outcome};

const REDIRECT: &str = "https://signed.example.com/cb";

struct Keyed {
    client: TestClient,
    signer: josekit::jws::alg::rsassa::RsassaJwsSigner,
}

async fn keyed_client(srv: &TestServer, require: bool) -> Keyed {
    let kp = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let mut jwk = kp.to_jwk_public_key();
    jwk.set_key_id("ro-1");
    let jwks = json!({ "keys": [Value::Object(jwk.as_ref().clone())] }).to_string();
    let client = srv
        .register(ClientSpec {
            name: "Signed requests".into(),
            redirect_uris: vec![REDIRECT.into()],
            jwks,
            require_signed_request_object: require,
            ..ClientSpec::default()
        })
        .await;
    let signer = josekit::jws::RS256
        .signer_from_jwk(&kp.to_jwk_key_pair())
        .unwrap();
    Keyed { client, signer }
}

fn sign(
    signer: &dyn josekit::jws::JwsSigner,
    typ: Option<&str>,
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let mut h = josekit::jws::JwsHeader::new();
    if let Some(k) = kid {
        h.set_key_id(k);
    }
    if let Some(t) = typ {
        h.set_token_type(t);
    }
    josekit::jws::serialize_compact(&serde_json::to_vec(claims).unwrap(), &h, signer).unwrap()
}

fn claims(srv: &TestServer, k: &Keyed, challenge: &str, now: i64) -> Value {
    json!({
        "iss": k.client.client_id,
        "aud": srv.at(""),
        "exp": now + 300,
        "nbf": now - 10,
        "client_id": k.client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid email",
        "state": "signed-state",
        "nonce": "signed-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "max_age": 3600,
    })
}

fn authorize_url(
    srv: &TestServer,
    client_id: &str,
    request: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut u = url::Url::parse(&srv.at("/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request", request);
    for (k, v) in extra {
        u.query_pairs_mut().append_pair(k, v);
    }
    u.to_string()
}

#[actix_web::test]
async fn a_signed_request_signs_in_and_only_its_parameters_count() {
    let srv = TestServer::start().await;
    let k = keyed_client(&srv, false).await;
    let (verifier, challenge) = pkce();
    let now = srv.ctx.now();
    let jwt = sign(
        &k.signer,
        Some("oauth-authz-req+jwt"),
        Some("ro-1"),
        &claims(&srv, &k, &challenge, now),
    );
    let b = signed_in(&srv, "signed@example.com").await;
    // Query parameters beside the object are ignored.
    let url = authorize_url(
        &srv,
        &k.client.client_id,
        &jwt,
        &[("state", "forged"), ("scope", "openid profile")],
    );
    let p = srv.drive(&b, &url, None, true).await.params().clone();
    assert_eq!(p["state"], "signed-state");
    let (status, t) = exchange(&srv, &k.client, &p["code"], &verifier).await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["scope"], "openid email");
    assert_eq!(jwt_claims(&s(&t, "id_token"))["nonce"], "signed-nonce");

    let doc: Value = reqwest::get(srv.at("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["request_parameter_supported"], true);
    assert!(doc["request_object_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a != "none" && !a.as_str().unwrap().starts_with("HS")));
}

#[actix_web::test]
async fn every_kind_of_bad_request_object_is_refused() {
    use base64::Engine as _;
    let srv = TestServer::start().await;
    let k = keyed_client(&srv, false).await;
    let (_, challenge) = pkce();
    let now = srv.ctx.now();
    let good = claims(&srv, &k, &challenge, now);
    let with = |key: &str, v: Value| {
        let mut c = good.clone();
        c[key] = v;
        c
    };
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    // alg none: an unsigned object.
    let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&good));
    // HS256 keyed with something the attacker knows (here the client id;
    // the classic case is the public key): no HMAC is ever accepted.
    let known = format!("{0}{0}", k.client.client_id).into_bytes();
    let hs = josekit::jws::HS256.signer_from_bytes(&known).unwrap();
    let hmac = sign(&hs, None, Some("ro-1"), &good);
    let stranger = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let foreign = sign(
        &josekit::jws::RS256
            .signer_from_jwk(&stranger.to_jwk_key_pair())
            .unwrap(),
        None,
        Some("ro-1"),
        &good,
    );
    let cases: Vec<(&str, String)> = vec![
        ("alg none", none),
        ("HS256 with a known secret", hmac),
        ("another key", foreign),
        (
            "expired",
            sign(&k.signer, None, Some("ro-1"), &with("exp", json!(now - 1))),
        ),
        (
            "exp a day away",
            sign(
                &k.signer,
                None,
                Some("ro-1"),
                &with("exp", json!(now + 86_400)),
            ),
        ),
        ("no exp", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("exp");
            sign(&k.signer, None, Some("ro-1"), &c)
        }),
        (
            "nbf in the future",
            sign(
                &k.signer,
                None,
                Some("ro-1"),
                &with("nbf", json!(now + 600)),
            ),
        ),
        (
            "aud another server",
            sign(
                &k.signer,
                None,
                Some("ro-1"),
                &with("aud", json!("https://other.example")),
            ),
        ),
        (
            "iss another client",
            sign(
                &k.signer,
                None,
                Some("ro-1"),
                &with("iss", json!("someone")),
            ),
        ),
        (
            "client_id another client",
            sign(
                &k.signer,
                None,
                Some("ro-1"),
                &with("client_id", json!("someone")),
            ),
        ),
        (
            "typ of an access token",
            sign(&k.signer, Some("at+jwt"), Some("ro-1"), &good),
        ),
        (
            "request inside",
            sign(&k.signer, None, Some("ro-1"), &with("request", json!("x"))),
        ),
        ("not a JWT", "not.a.jwt".to_string()),
    ];
    let b = signed_in(&srv, "refused@example.com").await;
    for (what, jwt) in cases {
        // With a registered redirect URI in the query, the error goes there.
        let url = authorize_url(
            &srv,
            &k.client.client_id,
            &jwt,
            &[("redirect_uri", REDIRECT), ("state", "q")],
        );
        match srv.drive(&b, &url, None, true).await {
            Outcome::Redirect { params, .. } => {
                assert_eq!(
                    params["error"], "invalid_request_object",
                    "{what}: {params:?}"
                );
                assert!(!params.contains_key("code"), "{what}");
            }
            Outcome::Page { status, body } => panic!("{what}: a page {status}: {body}"),
        }
        // Without one, a page: nothing is redirected to an unchecked URI.
        let url = authorize_url(&srv, &k.client.client_id, &jwt, &[]);
        match srv.drive(&b, &url, None, true).await {
            Outcome::Page { status, .. } => assert_eq!(status, 400, "{what}"),
            Outcome::Redirect { url, .. } => {
                // The client has a single registered redirect URI, which
                // resolve_redirect may use: still only the error.
                assert!(
                    url.contains("error=invalid_request_object"),
                    "{what}: {url}"
                );
            }
        }
    }
}

#[actix_web::test]
async fn a_client_required_to_sign_gets_nothing_without_a_signed_request() {
    let srv = TestServer::start().await;
    let k = keyed_client(&srv, true).await;
    let (verifier, challenge) = pkce();
    let b = signed_in(&srv, "required@example.com").await;
    let plain = testkit::oidc::authorize_url(
        &srv,
        &k.client,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "p"),
        ],
    );
    let p = srv.drive(&b, &plain, None, true).await.params().clone();
    assert_eq!(p["error"], "invalid_request", "{p:?}");
    assert!(
        p["error_description"].contains("signed request objects"),
        "{p:?}"
    );
    // Pushed without a request object: refused at /par.
    let secret = k.client.secret.clone().unwrap();
    let (status, _, v) = srv
        .post_form(
            "/par",
            &[
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            Some((&k.client.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    // Pushed as a signed object: accepted, and the flow completes.
    let now = srv.ctx.now();
    let jwt = sign(
        &k.signer,
        Some("oauth-authz-req+jwt"),
        Some("ro-1"),
        &claims(&srv, &k, &challenge, now),
    );
    let (status, _, v) = srv
        .post_form(
            "/par",
            &[("request", &jwt)],
            Some((&k.client.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let mut u = url::Url::parse(&srv.at("/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("client_id", &k.client.client_id)
        .append_pair("request_uri", v["request_uri"].as_str().unwrap());
    let p = srv.drive(&b, u.as_str(), None, true).await.params().clone();
    assert_eq!(p["state"], "signed-state");
    assert_eq!(
        exchange(&srv, &k.client, &p["code"], &verifier).await.0,
        200
    );
    // A bad object pushed: the JSON error.
    let (status, _, v) = srv
        .post_form(
            "/par",
            &[("request", "x.y.z")],
            Some((&k.client.client_id, &secret)),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"], "invalid_request_object");
}
