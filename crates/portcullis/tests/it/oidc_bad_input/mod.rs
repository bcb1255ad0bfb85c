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

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

mod authorize;
mod introspect_revoke;
mod misc;
mod token;
mod userinfo;
