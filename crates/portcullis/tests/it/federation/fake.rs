//! A tiny OpenID Connect provider inside the test: discovery, JWKS, a
//! token endpoint that answers with whatever ID token claims the test set
//! (signed with a josekit RSA key), and userinfo. For the cases a real
//! provider would never produce: wrong audience, wrong nonce, expired.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use serde_json::{json, Map, Value};

#[derive(Default)]
pub struct State {
    /// Claims of the next ID token (signed as they are).
    pub claims: Map<String, Value>,
    /// Sign with this other key (not in the JWKS) instead.
    pub foreign_key: bool,
    /// The last form posted to /token.
    pub token_form: Vec<(String, String)>,
    pub userinfo: Value,
}

pub struct Fake {
    pub url: String,
    pub state: Arc<Mutex<State>>,
    handle: ServerHandle,
}

struct Keys {
    jwks: Value,
    signer: josekit::jws::alg::rsassa::RsassaJwsSigner,
    foreign: josekit::jws::alg::rsassa::RsassaJwsSigner,
}

impl Fake {
    /// Starts on 127.0.0.1:0 in the test's runtime.
    pub fn start() -> Fake {
        let kp = RS256.generate_key_pair(2048).unwrap();
        let mut jwk = kp.to_jwk_public_key();
        jwk.set_key_id("fake-1");
        jwk.set_algorithm("RS256");
        jwk.set_key_use("sig");
        let other = RS256.generate_key_pair(2048).unwrap();
        let keys = Arc::new(Keys {
            jwks: json!({ "keys": [serde_json::to_value(jwk.as_ref()).unwrap()] }),
            signer: RS256.signer_from_der(kp.to_der_private_key()).unwrap(),
            foreign: RS256.signer_from_der(other.to_der_private_key()).unwrap(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(State::default()));
        let (s, k, u) = (state.clone(), keys.clone(), url.clone());
        let server = HttpServer::new(move || {
            let (s, k, u) = (s.clone(), k.clone(), u.clone());
            let (s2, s3) = (s.clone(), s.clone());
            let k2 = k.clone();
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let u = u.clone();
                        async move {
                            HttpResponse::Ok().json(json!({
                                "issuer": u,
                                "authorization_endpoint": format!("{u}/authorize"),
                                "token_endpoint": format!("{u}/token"),
                                "userinfo_endpoint": format!("{u}/userinfo"),
                                "jwks_uri": format!("{u}/jwks"),
                                "response_types_supported": ["code"],
                                "subject_types_supported": ["public"],
                                "id_token_signing_alg_values_supported": ["RS256"],
                            }))
                        }
                    }),
                )
                .route(
                    "/jwks",
                    web::get().to(move || {
                        let k = k.clone();
                        async move { HttpResponse::Ok().json(&k.jwks) }
                    }),
                )
                .route(
                    "/token",
                    web::post().to(move |form: web::Form<Vec<(String, String)>>| {
                        let (s, k) = (s2.clone(), k2.clone());
                        async move {
                            let mut st = s.lock().unwrap();
                            st.token_form = form.into_inner();
                            let payload = JwtPayload::from_map(st.claims.clone()).unwrap();
                            let mut header = JwsHeader::new();
                            header.set_token_type("JWT");
                            header.set_key_id("fake-1");
                            let signer = if st.foreign_key {
                                &k.foreign
                            } else {
                                &k.signer
                            };
                            let id_token =
                                jwt::encode_with_signer(&payload, &header, signer).unwrap();
                            HttpResponse::Ok().json(json!({
                                "access_token": "fake-access-token",
                                "token_type": "Bearer",
                                "expires_in": 300,
                                "id_token": id_token,
                            }))
                        }
                    }),
                )
                .route(
                    "/userinfo",
                    web::get().to(move || {
                        let s = s3.clone();
                        async move { HttpResponse::Ok().json(&s.lock().unwrap().userinfo) }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Fake { url, state, handle }
    }

    /// Sets the claims of the next ID token: valid ones for `aud` and
    /// `nonce` at `now`, with `extra` merged over them.
    pub fn id_token(&self, aud: &str, nonce: &str, now: i64, extra: Value) {
        let mut claims = json!({
            "iss": self.url,
            "sub": "fake-subject-1",
            "aud": aud,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
        });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            claims[k] = v;
        }
        self.state.lock().unwrap().claims = claims.as_object().cloned().unwrap();
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
