//! Bad input on every OpenID Connect endpoint: missing, duplicated,
//! oversized and malformed parameters, wrong content types and garbage
//! JWTs get the RFC error (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3,
//! RFC 7009, RFC 7662), never a 500.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use core_auth::clients::ClientSpec;
use josekit::jwk::KeyPair as _;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use testkit::oidc::{authorize_url, pkce, TestClient};
use testkit::TestServer;

use crate::util::PASSWORD;

const FORM: &str = "application/x-www-form-urlencoded";
const EMAIL: &str = "bad.input@example.com";
const CALLBACK: &str = "https://app.example.com/callback";
const SIGNED_OUT: &str = "https://app.example.com/signed-out";

/// What came back, with the body kept as text.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    async fn from(r: reqwest::Response) -> Reply {
        Reply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap_or_default(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_string())
    }
}

/// A raw POST: exactly this content type (or none), body and
/// Authorization header.
#[derive(Clone)]
struct Req {
    content_type: Option<String>,
    body: Vec<u8>,
    auth: Option<String>,
}

impl Req {
    fn form(body: impl Into<Vec<u8>>) -> Req {
        Req {
            content_type: Some(FORM.into()),
            body: body.into(),
            auth: None,
        }
    }

    fn typed(content_type: &str, body: impl Into<Vec<u8>>) -> Req {
        Req {
            content_type: Some(content_type.into()),
            body: body.into(),
            auth: None,
        }
    }

    fn untyped(body: impl Into<Vec<u8>>) -> Req {
        Req {
            content_type: None,
            body: body.into(),
            auth: None,
        }
    }

    fn auth(mut self, value: &str) -> Req {
        self.auth = Some(value.into());
        self
    }

    async fn post(&self, srv: &TestServer, path: &str) -> Reply {
        let mut req = http().post(srv.at(path)).body(self.body.clone());
        if let Some(ct) = &self.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = &self.auth {
            req = req.header("authorization", a);
        }
        Reply::from(req.send().await.expect("POST")).await
    }
}

/// A client without cookies that never follows a redirect (a redirect to
/// the client's site is a result to inspect, not a place to go).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

fn basic_for(c: &TestClient) -> String {
    basic(
        &c.client_id,
        c.secret.as_deref().expect("a confidential client"),
    )
}

/// `k=v&...`, form-encoded.
fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Asserts an RFC 6749 §5.2 JSON error: the status, the `error` code, a
/// description, and for `invalid_client` a 401 with a challenge.
#[track_caller]
fn assert_oauth_error(case: &str, r: &Reply, status: u16, error: &str) {
    assert!(
        r.status < 500,
        "{case}: a server error: {} {}",
        r.status,
        r.body
    );
    assert_eq!(r.status, status, "{case}: status; body {}", r.body);
    let body = r.json();
    assert_eq!(
        body["error"].as_str(),
        Some(error),
        "{case}: error code in {}",
        r.body
    );
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{case}: an error_description in {}",
        r.body
    );
    if error == "invalid_client" {
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Basic realm="),
            "{case}: 401 invalid_client needs a WWW-Authenticate challenge, got {challenge:?}"
        );
    }
}

/// Asserts an RFC 6750 §3 bearer error at userinfo.
#[track_caller]
fn assert_bearer_error(case: &str, r: &Reply, status: u16, error: &str) {
    assert!(
        r.status < 500,
        "{case}: a server error: {} {}",
        r.status,
        r.body
    );
    assert_eq!(r.status, status, "{case}: status; body {}", r.body);
    assert_eq!(
        r.json()["error"].as_str(),
        Some(error),
        "{case}: error code in {}",
        r.body
    );
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=\"portcullis\""),
        "{case}: challenge {challenge:?}"
    );
    assert!(
        challenge.contains(&format!("error=\"{error}\"")),
        "{case}: challenge {challenge:?} names the error"
    );
}

/// Asserts the friendly HTML error page, and above all no redirect.
#[track_caller]
fn assert_error_page(case: &str, r: &Reply, status: u16) {
    assert!(
        r.status < 500,
        "{case}: a server error: {} {}",
        r.status,
        r.body
    );
    assert_eq!(r.status, status, "{case}: status; body {}", r.body);
    assert_eq!(r.header("location"), None, "{case}: never a redirect");
    assert!(r.body.contains("<html"), "{case}: an HTML page: {}", r.body);
    assert!(
        !r.body.contains("app.example.com"),
        "{case}: the page does not send the browser to the client"
    );
}

/// Asserts an authorization error sent back to the client's redirect URI
/// (RFC 6749 §4.1.2.1, RFC 9207): `error`, `state` and `iss`.
#[track_caller]
fn assert_error_redirect(srv: &TestServer, case: &str, r: &Reply, error: &str, state: &str) {
    assert!(
        r.status < 500,
        "{case}: a server error: {} {}",
        r.status,
        r.body
    );
    assert_eq!(r.status, 303, "{case}: a redirect; body {}", r.body);
    let loc = r.header("location").expect("location");
    let url = url::Url::parse(&loc).unwrap_or_else(|e| panic!("{case}: {loc}: {e}"));
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.path()
        ),
        CALLBACK,
        "{case}: back to the registered redirect URI"
    );
    let params: std::collections::HashMap<String, String> =
        url.query_pairs().into_owned().collect();
    assert_eq!(
        params.get("error").map(String::as_str),
        Some(error),
        "{case}: {loc}"
    );
    assert!(
        params
            .get("error_description")
            .is_some_and(|d| !d.is_empty()),
        "{case}: {loc}"
    );
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(state),
        "{case}: {loc}"
    );
    assert_eq!(
        params.get("iss").map(String::as_str),
        Some(srv.url.as_str()),
        "{case}: {loc}"
    );
    assert!(
        !params.contains_key("code"),
        "{case}: no code with an error"
    );
}

async fn get(srv: &TestServer, path_and_query: &str) -> Reply {
    Reply::from(
        srv.client()
            .get(srv.at(path_and_query))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET: {}", e.without_url())),
    )
    .await
}

/// A raw HTTP/1.1 GET, for a request line longer than an HTTP client
/// library will build. Returns the status and the response head.
async fn raw_get(srv: &TestServer, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = srv.url.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    // The server may answer before it has read it all.
    let _ = s.write_all(req.as_bytes()).await;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head)
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

/// An unsecured JWT (RFC 7519 §6): the header and payload, an empty
/// signature.
fn unsigned_jwt(header: Value, payload: Value) -> String {
    format!("{}.{}.", b64(&header), b64(&payload))
}

/// Signs JWTs with an RSA key this server has never seen.
struct Forger {
    pair: josekit::jwk::alg::rsa::RsaKeyPair,
}

impl Forger {
    fn new() -> Forger {
        Forger {
            pair: josekit::jws::RS256.generate_key_pair(2048).unwrap(),
        }
    }

    fn sign(&self, typ: &str, kid: Option<&str>, claims: &Value) -> String {
        let signer = josekit::jws::RS256
            .signer_from_der(self.pair.to_der_private_key())
            .unwrap();
        let mut h = josekit::jws::JwsHeader::new();
        h.set_token_type(typ);
        if let Some(k) = kid {
            h.set_key_id(k);
        }
        josekit::jws::serialize_compact(&serde_json::to_vec(claims).unwrap(), &h, &signer).unwrap()
    }

    /// The public key as a JWK Set (for a private_key_jwt client).
    fn jwks(&self, kid: &str) -> String {
        let mut jwk = self.pair.to_jwk_public_key();
        jwk.set_key_id(kid);
        jwk.set_key_use("sig");
        json!({ "keys": [Value::Object(jwk.as_ref().clone())] }).to_string()
    }
}

/// An HS256 JWT (the classic algorithm-confusion attempt).
fn hs256_jwt(typ: &str, kid: &str, claims: &Value) -> String {
    let signer = josekit::jws::HS256
        .signer_from_bytes(b"a shared secret the server never agreed to")
        .unwrap();
    let mut h = josekit::jws::JwsHeader::new();
    h.set_token_type(typ);
    h.set_key_id(kid);
    josekit::jws::serialize_compact(&serde_json::to_vec(claims).unwrap(), &h, &signer).unwrap()
}

/// Garbage that looks like a JWT: three base64url parts that decode to
/// nothing sensible.
const JWT_LOOKALIKE: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5vcGUifQ.bm90IGpzb24.c2lnbmF0dXJl";

/// Plausible access token claims for this server.
fn at_claims(srv: &TestServer, client_id: &str, sub: &str) -> Value {
    let now = srv.ctx.now();
    json!({
        "iss": srv.url, "sub": sub, "aud": client_id, "client_id": client_id,
        "jti": "forged-jti", "iat": now, "exp": now + 600, "scope": "openid email profile",
    })
}

/// Plausible ID token claims for this server.
fn id_claims(srv: &TestServer, client_id: &str, sub: &str) -> Value {
    let now = srv.ctx.now();
    json!({ "iss": srv.url, "sub": sub, "aud": client_id, "iat": now, "exp": now + 600 })
}

/// Real tokens: a user signs in through /authorize with scope
/// `openid offline_access` and the code is exchanged with PKCE.
async fn real_tokens(srv: &TestServer, client: &TestClient) -> Value {
    srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        srv,
        client,
        &[
            ("scope", "openid offline_access"),
            ("state", "st"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let code = srv
        .drive(&srv.client(), &url, Some((EMAIL, PASSWORD)), true)
        .await
        .code();
    let (status, _, json) = srv
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &client.redirect_uri),
                ("code_verifier", &verifier),
            ],
            Some((&client.client_id, client.secret.as_deref().unwrap_or(""))),
        )
        .await;
    assert_eq!(status, 200, "{json}");
    for k in ["access_token", "refresh_token", "id_token"] {
        assert!(json[k].is_string(), "{k} in {json}");
    }
    json
}

async fn public_client(srv: &TestServer) -> TestClient {
    srv.register(ClientSpec {
        name: "Public App".into(),
        redirect_uris: vec!["https://spa.example.com/cb".into()],
        public: true,
        ..ClientSpec::default()
    })
    .await
}

// ---------------------------------------------------------------- /token

#[actix_web::test]
async fn token_endpoint_answers_rfc6749_errors_for_missing_duplicated_oversized_and_malformed_parameters(
) {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let auth = basic_for(&client);
    let limit = srv.ctx.config.max_body_bytes;
    let oversized = format!("grant_type=authorization_code&code={}", "a".repeat(limit));
    assert!(oversized.len() > limit);
    let mut invalid_utf8 = b"grant_type=authorization_code&code=".to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    let cases: Vec<(&str, Req, u16, &str)> = vec![
        ("empty body", Req::form(""), 400, "invalid_request"),
        ("no grant_type", Req::form("code=abc"), 400, "invalid_request"),
        ("empty grant_type", Req::form("grant_type=&code=abc"), 400, "invalid_request"),
        (
            "unknown grant_type",
            Req::form("grant_type=urn%3Aexample%3Amagic"),
            400,
            "unsupported_grant_type",
        ),
        (
            "password grant_type",
            Req::form("grant_type=password&username=a&password=b"),
            400,
            "unsupported_grant_type",
        ),
        (
            "implicit-looking grant_type",
            Req::form("grant_type=token"),
            400,
            "unsupported_grant_type",
        ),
        (
            "missing code",
            Req::form(encode(&[
                ("grant_type", "authorization_code"),
                ("redirect_uri", CALLBACK),
            ])),
            400,
            "invalid_request",
        ),
        (
            "empty code",
            Req::form("grant_type=authorization_code&code="),
            400,
            "invalid_request",
        ),
        (
            "missing refresh_token",
            Req::form("grant_type=refresh_token"),
            400,
            "invalid_request",
        ),
        (
            "code twice",
            Req::form("grant_type=authorization_code&code=one&code=two"),
            400,
            "invalid_request",
        ),
        (
            "grant_type twice",
            Req::form("grant_type=authorization_code&grant_type=refresh_token&code=x"),
            400,
            "invalid_request",
        ),
        (
            "grant_type twice, same value",
            Req::form("grant_type=authorization_code&grant_type=authorization_code&code=x"),
            400,
            "invalid_request",
        ),
        (
            "body over max_body_bytes",
            Req::form(oversized),
            400,
            "invalid_request",
        ),
        (
            "JSON instead of a form",
            Req::typed(
                "application/json",
                r#"{"grant_type":"authorization_code","code":"x"}"#,
            ),
            400,
            "invalid_request",
        ),
        (
            "text/plain",
            Req::typed("text/plain", "grant_type=authorization_code&code=x"),
            400,
            "invalid_request",
        ),
        (
            "multipart",
            Req::typed(
                "multipart/form-data; boundary=XyZ",
                "--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nauthorization_code\r\n--XyZ--\r\n",
            ),
            400,
            "invalid_request",
        ),
        (
            "no content type",
            Req::untyped("grant_type=authorization_code&code=x"),
            400,
            "invalid_request",
        ),
        ("raw invalid UTF-8", Req::form(invalid_utf8), 400, "invalid_request"),
        (
            "percent-encoded invalid UTF-8",
            Req::form("grant_type=authorization_code&code=%FF%FE"),
            400,
            "invalid_request",
        ),
        (
            "invalid UTF-8 in a parameter name",
            Req::form("grant_type=authorization_code&%C3%28=x"),
            400,
            "invalid_request",
        ),
        (
            "a grant this client may not use",
            Req::form("grant_type=client_credentials"),
            400,
            "unauthorized_client",
        ),
    ];
    for (case, req, status, error) in cases {
        let r = req.auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(case, &r, status, error);
    }
}

#[actix_web::test]
async fn token_endpoint_answers_401_invalid_client_with_a_challenge_for_bad_client_authentication()
{
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.as_str();
    let secret = client.secret.clone().unwrap();
    let body = "grant_type=authorization_code&code=abc";
    let cases: Vec<(&str, Req)> = vec![
        (
            "wrong secret",
            Req::form(body).auth(&basic(id, "not-the-secret")),
        ),
        ("empty secret", Req::form(body).auth(&basic(id, ""))),
        (
            "unknown client (Basic)",
            Req::form(body).auth(&basic("no-such-client", &secret)),
        ),
        (
            "unknown client (client_id only)",
            Req::form(format!("{body}&client_id=no-such-client")),
        ),
        (
            "unknown client (client_secret_post)",
            Req::form(format!("{body}&client_id=no-such-client&client_secret=x")),
        ),
        ("no client authentication at all", Req::form(body)),
        ("Basic without credentials", Req::form(body).auth("Basic")),
        ("Basic with an empty value", Req::form(body).auth("Basic ")),
        (
            "Basic that is not base64",
            Req::form(body).auth("Basic !!!not*base64!!!"),
        ),
        (
            "Basic without a colon",
            Req::form(body).auth(&format!("Basic {}", STANDARD.encode(id))),
        ),
        (
            "Basic that decodes to invalid UTF-8",
            Req::form(body).auth(&format!("Basic {}", STANDARD.encode([0xff, b':', 0xfe]))),
        ),
        (
            "Basic with invalid percent-encoded UTF-8",
            Req::form(body).auth(&basic(id, "%FF%FE")),
        ),
        (
            "a Bearer token instead of client credentials",
            Req::form(body).auth("Bearer abc"),
        ),
        (
            "client_secret_post by a client_secret_basic client",
            Req::form(format!("{body}&client_id={id}&client_secret={secret}")),
        ),
        (
            "a confidential client presenting no secret",
            Req::form(format!("{body}&client_id={id}")),
        ),
        (
            "a garbage client assertion",
            Req::form(format!(
                "{body}&client_assertion_type={}&client_assertion=garbage",
                "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            )),
        ),
    ];
    for (case, req) in cases {
        let r = req.post(&srv, "/token").await;
        assert_oauth_error(case, &r, 401, "invalid_client");
    }

    // Malformed in a different way: two methods, or ids that disagree.
    let cases: Vec<(&str, Req)> = vec![
        (
            "Basic and client_secret at once",
            Req::form(format!("{body}&client_id={id}&client_secret={secret}"))
                .auth(&basic(id, &secret)),
        ),
        (
            "client_secret and client_assertion at once",
            Req::form(format!(
                "{body}&client_id={id}&client_secret={secret}&client_assertion=x.y.z&client_assertion_type={}",
                "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
            )),
        ),
        (
            "client_id disagrees with the Basic header",
            Req::form(format!("{body}&client_id=someone-else")).auth(&basic(id, &secret)),
        ),
        (
            "client_secret without client_id",
            Req::form(format!("{body}&client_secret={secret}")),
        ),
        (
            "client_assertion without its type",
            Req::form(format!("{body}&client_assertion=x.y.z")),
        ),
        (
            "client_id twice",
            Req::form(format!("{body}&client_id={id}&client_id={id}")).auth(&basic(id, &secret)),
        ),
    ];
    for (case, req) in cases {
        let r = req.post(&srv, "/token").await;
        assert_oauth_error(case, &r, 400, "invalid_request");
    }

    // The control: the same credentials, right, get past authentication.
    let r = Req::form(body)
        .auth(&basic(id, &secret))
        .post(&srv, "/token")
        .await;
    assert_oauth_error(
        "correct credentials, garbage code",
        &r,
        400,
        "invalid_grant",
    );
}

#[actix_web::test]
async fn token_endpoint_answers_invalid_grant_for_garbage_codes_and_refresh_tokens() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let auth = basic_for(&client);
    let kid = srv.ctx.keys.active_kid();
    let forger = Forger::new();
    let now = srv.ctx.now();
    let rt_claims = json!({
        "iss": srv.url, "sub": "someone", "aud": srv.url, "client_id": client.client_id,
        "jti": "forged", "iat": now, "exp": now + 3600,
    });
    let none_rt = unsigned_jwt(
        json!({"alg": "none", "typ": "refresh+jwt"}),
        rt_claims.clone(),
    );
    let none_rt_with_kid = unsigned_jwt(
        json!({"alg": "none", "typ": "refresh+jwt", "kid": kid}),
        rt_claims.clone(),
    );
    let none_rt_no_sig = none_rt.trim_end_matches('.').to_string();
    let foreign_rt = forger.sign("refresh+jwt", Some(&kid), &rt_claims);
    let foreign_rt_unknown_kid = forger.sign("refresh+jwt", Some("not-our-key"), &rt_claims);
    let hs_rt = hs256_jwt("refresh+jwt", &kid, &rt_claims);
    let long_garbage = "A".repeat(8000);
    let refresh_tokens: Vec<(&str, &str)> = vec![
        ("garbage", "garbage"),
        ("JWT lookalike", JWT_LOOKALIKE),
        ("two dots", ".."),
        ("alg none", &none_rt),
        ("alg none with our kid", &none_rt_with_kid),
        ("alg none without the trailing dot", &none_rt_no_sig),
        ("signed by a foreign key under our kid", &foreign_rt),
        (
            "signed by a foreign key, unknown kid",
            &foreign_rt_unknown_kid,
        ),
        ("HS256 under our kid", &hs_rt),
        ("8000 bytes of garbage", &long_garbage),
        ("non-ASCII", "ñ.ñ.ñ"),
    ];
    for (case, token) in refresh_tokens {
        let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(&format!("refresh_token: {case}"), &r, 400, "invalid_grant");
    }

    let codes: Vec<(&str, &str)> = vec![
        ("garbage", "garbage"),
        ("JWT lookalike", JWT_LOOKALIKE),
        ("alg none JWT", &none_rt),
        ("8000 bytes", &long_garbage),
        ("non-ASCII", "ç%&=?"),
    ];
    for (case, code) in codes {
        let body = encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
        ]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(&format!("code: {case}"), &r, 400, "invalid_grant");
    }

    // A form with a charset parameter or an odd-case media type is still a
    // form: the strictness is about the media type, not its spelling.
    for ct in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        let r = Req::typed(ct, "grant_type=authorization_code&code=garbage")
            .auth(&auth)
            .post(&srv, "/token")
            .await;
        assert_oauth_error(ct, &r, 400, "invalid_grant");
    }
}

#[actix_web::test]
async fn garbage_and_unsigned_client_assertions_are_invalid_client() {
    let srv = TestServer::start().await;
    let owner = Forger::new();
    let client = srv
        .register(ClientSpec {
            name: "JWT App".into(),
            redirect_uris: vec![CALLBACK.into()],
            auth_method: "private_key_jwt".into(),
            jwks: owner.jwks("client-key"),
            ..ClientSpec::default()
        })
        .await;
    let id = client.client_id.as_str();
    let now = srv.ctx.now();
    let claims = json!({
        "iss": id, "sub": id, "aud": srv.at("/token"), "jti": "j1", "iat": now, "exp": now + 60,
    });
    let none = unsigned_jwt(json!({"alg": "none", "kid": "client-key"}), claims.clone());
    let foreign = Forger::new().sign("JWT", Some("client-key"), &claims);
    let hs = hs256_jwt("JWT", "client-key", &claims);
    let no_sub = unsigned_jwt(json!({"alg": "none"}), json!({"iss": id}));
    let assertions: Vec<(&str, &str)> = vec![
        ("garbage", "garbage"),
        ("JWT lookalike", JWT_LOOKALIKE),
        ("alg none", &none),
        ("signed by another key under the client's kid", &foreign),
        ("HS256", &hs),
        ("no sub", &no_sub),
    ];
    let ty = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    for (case, assertion) in assertions {
        let body = encode(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", id),
            ("client_assertion_type", ty),
            ("client_assertion", assertion),
        ]);
        let r = Req::form(body).post(&srv, "/token").await;
        assert_oauth_error(case, &r, 401, "invalid_client");
    }
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_assertion_type", "urn:example:not-jwt-bearer"),
        ("client_assertion", &none),
    ]);
    let r = Req::form(body).post(&srv, "/token").await;
    assert_oauth_error("wrong client_assertion_type", &r, 400, "invalid_request");

    // The control: a properly signed assertion gets past authentication.
    let good = owner.sign("JWT", Some("client-key"), &claims);
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_assertion_type", ty),
        ("client_assertion", &good),
    ]);
    let r = Req::form(body).post(&srv, "/token").await;
    assert_oauth_error("a good assertion, garbage code", &r, 400, "invalid_grant");
}

// ------------------------------------------------------------- /userinfo

#[actix_web::test]
async fn userinfo_without_a_token_answers_401_with_a_bare_bearer_challenge() {
    let srv = TestServer::start().await;
    let replies = vec![
        ("GET", get(&srv, "/userinfo").await),
        (
            "POST, empty form",
            Req::form("").post(&srv, "/userinfo").await,
        ),
        (
            "POST, empty access_token",
            Req::form("access_token=").post(&srv, "/userinfo").await,
        ),
        (
            "POST, no body",
            Req::untyped("").post(&srv, "/userinfo").await,
        ),
    ];
    for (case, r) in replies {
        assert_eq!(r.status, 401, "{case}: {}", r.body);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm="),
            "{case}: challenge {challenge:?}"
        );
        // RFC 6750 §3.1: no error code when the request had no token.
        assert!(
            !challenge.contains("error="),
            "{case}: a bare challenge, got {challenge:?}"
        );
    }
}

#[actix_web::test]
async fn userinfo_answers_invalid_token_for_garbage_unsigned_and_foreign_tokens() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let user = srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let sub = user.user.id.clone();
    let kid = srv.ctx.keys.active_kid();
    let claims = at_claims(&srv, &client.client_id, &sub);
    let forger = Forger::new();
    let mut expired = claims.clone();
    expired["exp"] = json!(srv.ctx.now() - 10);
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://evil.example.com");
    let tokens: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        ("three dots", "...".into()),
        (
            "alg none",
            unsigned_jwt(json!({"alg": "none", "typ": "at+jwt"}), claims.clone()),
        ),
        (
            "alg none with our kid",
            unsigned_jwt(
                json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "a foreign RSA key under our kid",
            forger.sign("at+jwt", Some(&kid), &claims),
        ),
        (
            "a foreign RSA key, its own kid",
            forger.sign("at+jwt", Some("evil"), &claims),
        ),
        (
            "a foreign RSA key, no kid",
            forger.sign("at+jwt", None, &claims),
        ),
        ("HS256 under our kid", hs256_jwt("at+jwt", &kid, &claims)),
        ("8000 bytes", "A".repeat(8000)),
        // Signed by this server but not genuine access tokens.
        (
            "our key, an unknown jti",
            srv.ctx.keys.sign(Some("at+jwt"), &claims).unwrap(),
        ),
        (
            "our key, expired",
            srv.ctx.keys.sign(Some("at+jwt"), &expired).unwrap(),
        ),
        (
            "our key, another issuer",
            srv.ctx.keys.sign(Some("at+jwt"), &other_issuer).unwrap(),
        ),
        (
            "our key, an ID token type",
            srv.ctx.keys.sign(Some("JWT"), &claims).unwrap(),
        ),
    ];
    for (case, token) in &tokens {
        let r = Reply::from(
            http()
                .get(srv.at("/userinfo"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_bearer_error(&format!("header: {case}"), &r, 401, "invalid_token");
        let r = Req::form(encode(&[("access_token", token)]))
            .post(&srv, "/userinfo")
            .await;
        assert_bearer_error(&format!("form body: {case}"), &r, 401, "invalid_token");
    }
}

#[actix_web::test]
async fn userinfo_refuses_tokens_in_the_query_sent_twice_or_in_a_malformed_request() {
    let srv = TestServer::start().await;
    let limit = srv.ctx.config.max_body_bytes;
    let oversized = format!("access_token={}", "a".repeat(limit));
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "access_token in the query (GET)",
            http().get(srv.at("/userinfo?access_token=abc")),
        ),
        (
            "access_token in the query with a header token",
            http()
                .get(srv.at("/userinfo?x=1&access_token=abc"))
                .bearer_auth("abc"),
        ),
        (
            "access_token in the query (POST)",
            http()
                .post(srv.at("/userinfo?access_token=abc"))
                .header("content-type", FORM)
                .body(""),
        ),
        (
            "header and form body",
            http()
                .post(srv.at("/userinfo"))
                .bearer_auth("abc")
                .header("content-type", FORM)
                .body("access_token=abc"),
        ),
        (
            "access_token twice in the body",
            http()
                .post(srv.at("/userinfo"))
                .header("content-type", FORM)
                .body("access_token=abc&access_token=def"),
        ),
        (
            "body over max_body_bytes",
            http()
                .post(srv.at("/userinfo"))
                .header("content-type", FORM)
                .body(oversized),
        ),
        (
            "invalid UTF-8 body",
            http()
                .post(srv.at("/userinfo"))
                .header("content-type", FORM)
                .body(b"access_token=%FF%FE".to_vec()),
        ),
        (
            "Bearer with no token",
            http()
                .get(srv.at("/userinfo"))
                .header("authorization", "Bearer "),
        ),
        (
            "Authorization header that is not visible ASCII",
            http().get(srv.at("/userinfo")).header(
                "authorization",
                reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            ),
        ),
    ];
    for (case, req) in cases {
        let r = Reply::from(req.send().await.unwrap()).await;
        assert_bearer_error(case, &r, 400, "invalid_request");
    }
}

#[actix_web::test]
async fn real_tokens_used_in_the_wrong_place_are_refused() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let tokens = real_tokens(&srv, &client).await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();
    let id = tokens["id_token"].as_str().unwrap();
    let userinfo = |t: &str| {
        let req = http().get(srv.at("/userinfo")).bearer_auth(t);
        async move { Reply::from(req.send().await.unwrap()).await }
    };

    // The control: the access token itself works.
    let r = userinfo(at).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = userinfo(rt).await;
    assert_bearer_error(
        "a refresh token as an access token",
        &r,
        401,
        "invalid_token",
    );
    let r = userinfo(id).await;
    assert_bearer_error("an ID token as an access token", &r, 401, "invalid_token");

    // An access token or ID token is not a refresh token.
    let auth = basic_for(&client);
    for (case, t) in [("access token", at), ("ID token", id)] {
        let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", t)]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(
            &format!("{case} as a refresh token"),
            &r,
            400,
            "invalid_grant",
        );
    }
    // Nor is anything a code.
    for (case, t) in [
        ("access token", at),
        ("refresh token", rt),
        ("ID token", id),
    ] {
        let body = encode(&[
            ("grant_type", "authorization_code"),
            ("code", t),
            ("redirect_uri", CALLBACK),
        ]);
        let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
        assert_oauth_error(&format!("{case} as a code"), &r, 400, "invalid_grant");
    }

    // Another client's refresh token.
    let other = srv.web_client().await;
    let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    let r = Req::form(body)
        .auth(&basic_for(&other))
        .post(&srv, "/token")
        .await;
    assert_oauth_error("another client's refresh token", &r, 400, "invalid_grant");

    // An access or refresh token is not an id_token_hint.
    for (case, t) in [("access token", at), ("refresh token", rt)] {
        let q = encode(&[
            ("id_token_hint", t),
            ("client_id", &client.client_id),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "st"),
        ]);
        let r = get(&srv, &format!("/end_session?{q}")).await;
        assert_error_page(&format!("end_session: {case} as id_token_hint"), &r, 400);
    }

    // The refresh token still works after all that (none of it touched it).
    let body = encode(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    let r = Req::form(body).auth(&auth).post(&srv, "/token").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // An expired access token.
    srv.clock
        .advance(srv.ctx.config.tokens.access_token_lifetime_secs + 1);
    let r = userinfo(at).await;
    assert_bearer_error("an expired access token", &r, 401, "invalid_token");
}

// ----------------------------------------------------------- /introspect

#[actix_web::test]
async fn introspection_requires_a_confidential_client_and_answers_inactive_for_garbage() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let public = public_client(&srv).await;
    let auth = basic_for(&client);
    let kid = srv.ctx.keys.active_kid();
    let claims = at_claims(&srv, &client.client_id, "someone");
    let limit = srv.ctx.config.max_body_bytes;

    let r = Req::form("token=abc").post(&srv, "/introspect").await;
    assert_oauth_error("no client authentication", &r, 401, "invalid_client");
    let r = Req::form("token=abc")
        .auth(&basic(&client.client_id, "wrong"))
        .post(&srv, "/introspect")
        .await;
    assert_oauth_error("wrong secret", &r, 401, "invalid_client");
    let r = Req::form(format!("token=abc&client_id={}", public.client_id))
        .post(&srv, "/introspect")
        .await;
    assert_oauth_error("a public client", &r, 401, "invalid_client");

    let cases: Vec<(&str, Req)> = vec![
        ("missing token", Req::form("")),
        ("empty token", Req::form("token=")),
        ("token twice", Req::form("token=a&token=b")),
        (
            "JSON body",
            Req::typed("application/json", r#"{"token":"abc"}"#),
        ),
        ("no content type", Req::untyped("token=abc")),
        ("invalid UTF-8", Req::form("token=%FF%FE")),
        (
            "body over max_body_bytes",
            Req::form(format!("token={}", "a".repeat(limit))),
        ),
    ];
    for (case, req) in cases {
        let r = req.auth(&auth).post(&srv, "/introspect").await;
        assert_oauth_error(case, &r, 400, "invalid_request");
    }

    let forger = Forger::new();
    let tokens: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        (
            "alg none access token",
            unsigned_jwt(
                json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "alg none refresh token",
            unsigned_jwt(
                json!({"alg": "none", "typ": "refresh+jwt", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "a foreign key under our kid",
            forger.sign("at+jwt", Some(&kid), &claims),
        ),
        ("8000 bytes", "A".repeat(8000)),
    ];
    for hint in [
        None,
        Some("access_token"),
        Some("refresh_token"),
        Some("bogus_hint"),
    ] {
        for (case, token) in &tokens {
            let mut pairs = vec![("token", token.as_str())];
            if let Some(h) = hint {
                pairs.push(("token_type_hint", h));
            }
            let r = Req::form(encode(&pairs))
                .auth(&auth)
                .post(&srv, "/introspect")
                .await;
            assert_eq!(r.status, 200, "{case} (hint {hint:?}): {}", r.body);
            assert_eq!(r.json(), json!({"active": false}), "{case} (hint {hint:?})");
        }
    }
}

// --------------------------------------------------------------- /revoke

#[actix_web::test]
async fn revocation_answers_invalid_request_for_bad_requests_and_200_for_garbage_tokens() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let auth = basic_for(&client);
    let kid = srv.ctx.keys.active_kid();
    let limit = srv.ctx.config.max_body_bytes;

    let cases: Vec<(&str, Req)> = vec![
        ("missing token", Req::form("")),
        (
            "empty token",
            Req::form("token=&token_type_hint=access_token"),
        ),
        ("token twice", Req::form("token=a&token=b")),
        (
            "JSON body",
            Req::typed("application/json", r#"{"token":"abc"}"#),
        ),
        ("text/plain", Req::typed("text/plain", "token=abc")),
        ("no content type", Req::untyped("token=abc")),
        ("invalid UTF-8", Req::form(b"token=\xff\xfe".to_vec())),
        (
            "body over max_body_bytes",
            Req::form(format!("token={}", "a".repeat(limit))),
        ),
    ];
    for (case, req) in cases {
        let r = req.auth(&auth).post(&srv, "/revoke").await;
        assert_oauth_error(case, &r, 400, "invalid_request");
    }
    let r = Req::form("token=abc").post(&srv, "/revoke").await;
    assert_oauth_error("no client authentication", &r, 401, "invalid_client");
    let r = Req::form("token=abc")
        .auth(&basic(&client.client_id, "wrong"))
        .post(&srv, "/revoke")
        .await;
    assert_oauth_error("wrong secret", &r, 401, "invalid_client");

    // RFC 7009 §2.2: an invalid token is not an error.
    let now = srv.ctx.now();
    let rt_claims = json!({
        "iss": srv.url, "sub": "x", "client_id": client.client_id, "jti": "forged",
        "iat": now, "exp": now + 60,
    });
    let tokens: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        (
            "alg none refresh token",
            unsigned_jwt(
                json!({"alg": "none", "typ": "refresh+jwt", "kid": kid}),
                rt_claims.clone(),
            ),
        ),
        (
            "a foreign key under our kid",
            Forger::new().sign("refresh+jwt", Some(&kid), &rt_claims),
        ),
        ("8000 bytes", "A".repeat(8000)),
    ];
    for hint in [None, Some("refresh_token"), Some("bogus_hint")] {
        for (case, token) in &tokens {
            let mut pairs = vec![("token", token.as_str())];
            if let Some(h) = hint {
                pairs.push(("token_type_hint", h));
            }
            let r = Req::form(encode(&pairs))
                .auth(&auth)
                .post(&srv, "/revoke")
                .await;
            assert_eq!(r.status, 200, "{case} (hint {hint:?}): {}", r.body);
        }
    }
}

// ------------------------------------------------------------ /authorize

#[actix_web::test]
async fn authorize_shows_an_error_page_and_never_redirects_when_the_client_or_redirect_uri_is_in_doubt(
) {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.as_str();
    let cb = urlencode(CALLBACK);
    let common = "response_type=code&scope=openid&state=st";
    // Under the 64 KiB an HTTP client library will put in a URL.
    let big = "x".repeat(60 * 1024);
    let long_id = "c".repeat(5000);
    let queries: Vec<(&str, String)> = vec![
        ("no parameters", String::new()),
        ("missing client_id", format!("{common}&redirect_uri={cb}")),
        (
            "empty client_id",
            format!("{common}&client_id=&redirect_uri={cb}"),
        ),
        (
            "unknown client_id",
            format!("{common}&client_id=no-such-client&redirect_uri={cb}"),
        ),
        (
            "duplicated client_id",
            format!("{common}&client_id={id}&client_id={id}&redirect_uri={cb}"),
        ),
        (
            "duplicated client_id, one unknown",
            format!("{common}&client_id={id}&client_id=evil&redirect_uri={cb}"),
        ),
        (
            "duplicated redirect_uri",
            format!(
                "{common}&client_id={id}&redirect_uri={cb}&redirect_uri={}",
                urlencode("https://evil.example.com/cb")
            ),
        ),
        (
            "an unregistered redirect_uri",
            format!(
                "{common}&client_id={id}&redirect_uri={}",
                urlencode("https://evil.example.com/callback")
            ),
        ),
        (
            "a registered redirect_uri with a path suffix",
            format!("{common}&client_id={id}&redirect_uri={cb}%2F..%2Fevil"),
        ),
        (
            "a redirect_uri that is not a URL",
            format!("{common}&client_id={id}&redirect_uri=not%20a%20url"),
        ),
        (
            "invalid UTF-8 in client_id",
            format!("{common}&client_id=%FF%FE&redirect_uri={cb}"),
        ),
        (
            "invalid UTF-8 in another parameter",
            format!("response_type=code&scope=%C3%28&client_id={id}&redirect_uri={cb}"),
        ),
        (
            "an oversized client_id",
            format!("{common}&client_id={long_id}&redirect_uri={cb}"),
        ),
        (
            "an oversized query without a client",
            format!("{common}&junk={big}&redirect_uri={cb}"),
        ),
    ];
    for (case, q) in queries {
        let r = get(&srv, &format!("/authorize?{q}")).await;
        assert_error_page(case, &r, 400);
    }

    // The same by POST, plus the wrong content types.
    let posts: Vec<(&str, Req)> = vec![
        (
            "POST: unknown client_id",
            Req::form(format!("{common}&client_id=nope&redirect_uri={cb}")),
        ),
        (
            "POST: duplicated client_id",
            Req::form(format!(
                "{common}&client_id={id}&client_id={id}&redirect_uri={cb}"
            )),
        ),
        (
            "POST: JSON",
            Req::typed(
                "application/json",
                format!(
                    r#"{{"client_id":"{id}","response_type":"code","redirect_uri":"{CALLBACK}"}}"#
                ),
            ),
        ),
        (
            "POST: no content type",
            Req::untyped(format!("{common}&client_id={id}&redirect_uri={cb}")),
        ),
        (
            "POST: invalid UTF-8",
            Req::form(format!(
                "{common}&client_id={id}&redirect_uri={cb}&state=%FF"
            )),
        ),
    ];
    for (case, req) in posts {
        let r = req.post(&srv, "/authorize").await;
        assert_error_page(case, &r, 400);
    }
    let limit = srv.ctx.config.max_body_bytes;
    let r = Req::form(format!(
        "{common}&client_id={id}&redirect_uri={cb}&nonce={}",
        "n".repeat(limit)
    ))
    .post(&srv, "/authorize")
    .await;
    assert_error_page("POST: body over max_body_bytes", &r, 400);

    // A request head beyond what the HTTP server reads at all: refused
    // before the application sees it (431), and still no redirect.
    let q = format!(
        "{common}&client_id={id}&redirect_uri={cb}&nonce={}",
        "n".repeat(140 * 1024)
    );
    let (status, head) = raw_get(&srv, &format!("/authorize?{q}")).await;
    assert_eq!(status, 431, "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("\r\nlocation:"),
        "never a redirect: {head}"
    );
}

#[actix_web::test]
async fn authorize_sends_errors_for_a_trusted_client_to_its_redirect_uri_with_state_and_iss() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.clone();
    let user = srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let kid = srv.ctx.keys.active_kid();
    let claims = id_claims(&srv, &id, &user.user.id);
    let forger = Forger::new();
    let none_hint = unsigned_jwt(
        json!({"alg": "none", "typ": "JWT", "kid": kid}),
        claims.clone(),
    );
    let foreign_hint = forger.sign("JWT", Some(&kid), &claims);
    let hs_hint = hs256_jwt("JWT", &kid, &claims);
    let mut other_aud = claims.clone();
    other_aud["aud"] = json!("another-client");
    let other_aud_hint = srv.ctx.keys.sign(Some("JWT"), &other_aud).unwrap();
    let big = "n".repeat(5000);
    let (_, challenge) = pkce();
    let state = "xyz-state";
    // Each case: extra parameters over a valid base (client_id,
    // redirect_uri, state), whether to add response_type=code, the error.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing response_type",
            vec![("scope", "openid")],
            false,
            "invalid_request",
        ),
        (
            "empty response_type",
            vec![("scope", "openid"), ("response_type", "")],
            false,
            "invalid_request",
        ),
        (
            "response_type=token",
            vec![("scope", "openid"), ("response_type", "token")],
            false,
            "unsupported_response_type",
        ),
        (
            "response_type=id_token token",
            vec![("scope", "openid"), ("response_type", "id_token token")],
            false,
            "unsupported_response_type",
        ),
        (
            "scope with a quote",
            vec![("scope", "openid \"x\"")],
            true,
            "invalid_scope",
        ),
        (
            "scope with a backslash",
            vec![("scope", "openid\\")],
            true,
            "invalid_scope",
        ),
        (
            "scope with a control character",
            vec![("scope", "openid\u{7}")],
            true,
            "invalid_scope",
        ),
        (
            "scope with non-ASCII",
            vec![("scope", "openid é")],
            true,
            "invalid_scope",
        ),
        ("no scope at all", vec![], true, "invalid_scope"),
        (
            "garbage id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", "garbage")],
            true,
            "invalid_request",
        ),
        (
            "JWT-lookalike id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", JWT_LOOKALIKE)],
            true,
            "invalid_request",
        ),
        (
            "alg none id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", &none_hint)],
            true,
            "invalid_request",
        ),
        (
            "id_token_hint signed by a foreign key under our kid",
            vec![("scope", "openid"), ("id_token_hint", &foreign_hint)],
            true,
            "invalid_request",
        ),
        (
            "HS256 id_token_hint",
            vec![("scope", "openid"), ("id_token_hint", &hs_hint)],
            true,
            "invalid_request",
        ),
        (
            "id_token_hint issued to another client",
            vec![("scope", "openid"), ("id_token_hint", &other_aud_hint)],
            true,
            "invalid_request",
        ),
        (
            "request object",
            vec![("scope", "openid"), ("request", JWT_LOOKALIKE)],
            true,
            "request_not_supported",
        ),
        (
            "request_uri",
            vec![
                ("scope", "openid"),
                ("request_uri", "https://app.example.com/req.jwt"),
            ],
            true,
            "request_uri_not_supported",
        ),
        (
            "an oversized parameter",
            vec![("scope", "openid"), ("nonce", &big)],
            true,
            "invalid_request",
        ),
        (
            "unknown response_mode",
            vec![("scope", "openid"), ("response_mode", "fragment")],
            true,
            "invalid_request",
        ),
        (
            "PKCE plain",
            vec![
                ("scope", "openid"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "plain"),
            ],
            true,
            "invalid_request",
        ),
        (
            "a malformed code_challenge",
            vec![
                ("scope", "openid"),
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            true,
            "invalid_request",
        ),
        (
            "code_challenge_method alone",
            vec![("scope", "openid"), ("code_challenge_method", "S256")],
            true,
            "invalid_request",
        ),
        (
            "unknown prompt",
            vec![("scope", "openid"), ("prompt", "dance")],
            true,
            "invalid_request",
        ),
        (
            "prompt=none with login",
            vec![("scope", "openid"), ("prompt", "none login")],
            true,
            "invalid_request",
        ),
        (
            "negative max_age",
            vec![("scope", "openid"), ("max_age", "-1")],
            true,
            "invalid_request",
        ),
        (
            "non-numeric max_age",
            vec![("scope", "openid"), ("max_age", "soon")],
            true,
            "invalid_request",
        ),
        (
            "claims that are not JSON",
            vec![("scope", "openid"), ("claims", "{not json")],
            true,
            "invalid_request",
        ),
    ];
    for (case, extra, with_type, error) in cases {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("client_id", &id),
            ("redirect_uri", CALLBACK),
            ("state", state),
        ];
        if with_type {
            pairs.push(("response_type", "code"));
        }
        pairs.extend(extra.iter().copied());
        let r = get(&srv, &format!("/authorize?{}", encode(&pairs))).await;
        assert_error_redirect(&srv, case, &r, error, state);
        // And by POST.
        let r = Req::form(encode(&pairs)).post(&srv, "/authorize").await;
        assert_error_redirect(&srv, &format!("POST: {case}"), &r, error, state);
    }

    // The redirect URI may be left out when it is the client's only one.
    let q = encode(&[("client_id", &id), ("state", state), ("scope", "openid")]);
    let r = get(&srv, &format!("/authorize?{q}")).await;
    assert_error_redirect(&srv, "implicit redirect_uri", &r, "invalid_request", state);
}

// ---------------------------------------------------------- /end_session

#[actix_web::test]
async fn end_session_refuses_garbage_and_unsigned_id_token_hints_without_redirecting() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let id = client.client_id.clone();
    let user = srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let kid = srv.ctx.keys.active_kid();
    let claims = id_claims(&srv, &id, &user.user.id);
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://evil.example.com");
    let hints: Vec<(&str, String)> = vec![
        ("garbage", "garbage".into()),
        ("JWT lookalike", JWT_LOOKALIKE.into()),
        ("two dots", "..".into()),
        (
            "alg none",
            unsigned_jwt(json!({"alg": "none", "typ": "JWT"}), claims.clone()),
        ),
        (
            "alg none with our kid",
            unsigned_jwt(
                json!({"alg": "none", "typ": "JWT", "kid": kid}),
                claims.clone(),
            ),
        ),
        (
            "a foreign RSA key under our kid",
            Forger::new().sign("JWT", Some(&kid), &claims),
        ),
        ("HS256 under our kid", hs256_jwt("JWT", &kid, &claims)),
        (
            "our key, another issuer",
            srv.ctx.keys.sign(Some("JWT"), &other_issuer).unwrap(),
        ),
        ("8000 bytes", "A".repeat(8000)),
    ];
    for (case, hint) in &hints {
        let with_client = encode(&[
            ("id_token_hint", hint),
            ("client_id", &id),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "st"),
        ]);
        let r = get(&srv, &format!("/end_session?{with_client}")).await;
        assert_error_page(&format!("GET: {case}"), &r, 400);
        let bare = encode(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", SIGNED_OUT),
        ]);
        let r = get(&srv, &format!("/end_session?{bare}")).await;
        assert_error_page(&format!("GET without client_id: {case}"), &r, 400);
        let r = Req::form(with_client).post(&srv, "/end_session").await;
        assert_error_page(&format!("POST: {case}"), &r, 400);
    }

    // A valid hint for another client than the client_id named.
    let genuine = srv.ctx.keys.sign(Some("JWT"), &claims).unwrap();
    let q = encode(&[
        ("id_token_hint", &genuine),
        ("client_id", "another-client"),
        ("post_logout_redirect_uri", SIGNED_OUT),
    ]);
    let r = get(&srv, &format!("/end_session?{q}")).await;
    assert_error_page("client_id does not match the hint", &r, 400);

    // Malformed requests.
    let cb = urlencode(SIGNED_OUT);
    let cases: Vec<(&str, Reply)> = vec![
        (
            "duplicated post_logout_redirect_uri",
            get(
                &srv,
                &format!(
                    "/end_session?client_id={id}&post_logout_redirect_uri={cb}&post_logout_redirect_uri={}",
                    urlencode("https://evil.example.com/")
                ),
            )
            .await,
        ),
        (
            "duplicated id_token_hint",
            get(&srv, "/end_session?id_token_hint=a&id_token_hint=b").await,
        ),
        (
            "invalid UTF-8",
            get(&srv, &format!("/end_session?client_id=%FF&post_logout_redirect_uri={cb}")).await,
        ),
        (
            "POST: JSON",
            Req::typed(
                "application/json",
                format!(r#"{{"client_id":"{id}","post_logout_redirect_uri":"{SIGNED_OUT}"}}"#),
            )
            .post(&srv, "/end_session")
            .await,
        ),
        (
            "POST: duplicated client_id",
            Req::form(format!("client_id={id}&client_id={id}&post_logout_redirect_uri={cb}"))
                .post(&srv, "/end_session")
                .await,
        ),
    ];
    for (case, r) in cases {
        assert_error_page(case, &r, 400);
    }

    // The control: the same request without a hint does go back to the
    // client (nobody is signed in here), so the refusals above are real.
    let q = encode(&[
        ("client_id", &id),
        ("post_logout_redirect_uri", SIGNED_OUT),
        ("state", "st"),
    ]);
    let r = get(&srv, &format!("/end_session?{q}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location").as_deref(),
        Some("https://app.example.com/signed-out?state=st")
    );
}

// ----------------------------------------------------------- everywhere

/// A NUL byte is valid UTF-8 but not storable in PostgreSQL text: it must
/// never reach the database (a 500). A NUL in a form parameter makes the
/// request malformed (400 invalid_request); in the Basic credentials, the
/// client fails to authenticate (401 invalid_client).
/// Every case is tried before the test reports, so one run names them all.
#[actix_web::test]
async fn nul_bytes_in_identifiers_are_refused_not_server_errors() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    let secret = client.secret.clone().unwrap();
    let body = "grant_type=authorization_code&code=abc";
    let mut wrong: Vec<String> = Vec::new();
    let cases: Vec<(&str, Req, &str, u16, &str)> = vec![
        (
            "/token, client_id with NUL",
            Req::form(format!("{body}&client_id=a%00b")),
            "/token",
            400,
            "invalid_request",
        ),
        (
            "/token, Basic id with NUL",
            Req::form(body).auth(&basic("a%00b", &secret)),
            "/token",
            401,
            "invalid_client",
        ),
        (
            "/token, client_secret_post id with NUL",
            Req::form(format!("{body}&client_id=a%00b&client_secret=x")),
            "/token",
            400,
            "invalid_request",
        ),
        (
            "/introspect, Basic id with NUL",
            Req::form("token=abc").auth(&basic("a%00b", &secret)),
            "/introspect",
            401,
            "invalid_client",
        ),
        (
            "/revoke, Basic id with NUL",
            Req::form("token=abc").auth(&basic("a%00b", &secret)),
            "/revoke",
            401,
            "invalid_client",
        ),
        (
            "/token, code with NUL",
            Req::form("grant_type=authorization_code&code=a%00b").auth(&basic_for(&client)),
            "/token",
            400,
            "invalid_request",
        ),
    ];
    for (case, req, path, status, error) in cases {
        let r = req.post(&srv, path).await;
        let got = r.json()["error"].as_str().unwrap_or_default().to_string();
        if r.status != status || got != error {
            wrong.push(format!(
                "{case}: {} {} (expected {status} {error})",
                r.status, r.body
            ));
        }
    }
    let cb = urlencode(CALLBACK);
    let pages = [
        (
            "/authorize, client_id with NUL",
            format!("/authorize?response_type=code&scope=openid&client_id=a%00b&redirect_uri={cb}"),
        ),
        (
            "/end_session, client_id with NUL",
            format!(
                "/end_session?client_id=a%00b&post_logout_redirect_uri={}",
                urlencode(SIGNED_OUT)
            ),
        ),
    ];
    for (case, path) in pages {
        let r = get(&srv, &path).await;
        // /authorize: the client is unknown, so an error page; /end_session:
        // nobody is signed in and no client is known, so a page either way.
        if r.status >= 500 || r.header("location").is_some() {
            wrong.push(format!("{case}: {} {:?}", r.status, r.header("location")));
        }
    }
    assert!(
        wrong.is_empty(),
        "NUL bytes reached the database:\n{}",
        wrong.join("\n")
    );
}

/// The same through a whole flow: a NUL in `nonce` (kept with the code).
/// The request is either refused back to the client or completed; it never
/// ends on a server error page.
#[actix_web::test]
async fn a_nul_byte_in_the_nonce_does_not_break_the_flow() {
    let srv = TestServer::start().await;
    let client = srv.web_client().await;
    srv.create_user(EMAIL, "Bad Input", PASSWORD, &[]).await;
    let url = authorize_url(&srv, &client, &[("state", "st"), ("nonce", "a\0b")]);
    let out = srv
        .drive(&srv.client(), &url, Some((EMAIL, PASSWORD)), true)
        .await;
    match out {
        testkit::oidc::Outcome::Redirect { params, .. } => {
            assert_eq!(params.get("state").map(String::as_str), Some("st"));
            assert!(
                params.contains_key("code")
                    || params.get("error").map(String::as_str) == Some("invalid_request"),
                "{params:?}"
            );
        }
        testkit::oidc::Outcome::Page { status, body } => {
            panic!("the flow ended on a page ({status}) instead of at the client: {body}")
        }
    }
}

#[actix_web::test]
async fn wrong_http_methods_are_405_not_500() {
    let srv = TestServer::start().await;
    let c = http();
    for (method, path) in [
        (reqwest::Method::GET, "/token"),
        (reqwest::Method::PUT, "/token"),
        (reqwest::Method::GET, "/revoke"),
        (reqwest::Method::GET, "/introspect"),
        (reqwest::Method::DELETE, "/userinfo"),
        (reqwest::Method::PUT, "/authorize"),
        (reqwest::Method::DELETE, "/end_session"),
    ] {
        let r = c
            .request(method.clone(), srv.at(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
