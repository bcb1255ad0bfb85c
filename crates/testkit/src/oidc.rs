//! Driving the OpenID Connect flow the way a browser does.

use std::collections::HashMap;

use core_auth::clients::{self, ClientSpec};

use crate::html;
use crate::server::TestServer;

/// A client registered for a test.
#[derive(Debug, Clone)]
pub struct TestClient {
    pub client_id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

/// Where a browser flow ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Redirected off the server (to the client), with the query parameters.
    Redirect {
        url: String,
        params: HashMap<String, String>,
    },
    /// A page on the server that needs no further step we know (status, body).
    Page { status: u16, body: String },
}

impl Outcome {
    /// The callback parameters; panics (with the page) when the flow did
    /// not reach the client.
    pub fn params(&self) -> &HashMap<String, String> {
        match self {
            Outcome::Redirect { params, .. } => params,
            Outcome::Page { status, body } => panic!("flow ended on a page ({status}): {body}"),
        }
    }

    pub fn code(&self) -> String {
        self.params()
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in {:?}", self.params()))
    }
}

impl TestServer {
    /// Registers a client directly in the database.
    pub async fn register(&self, spec: ClientSpec) -> TestClient {
        let redirect_uri = spec.redirect_uris.first().cloned().unwrap_or_default();
        let now = self.ctx.now();
        let (c, secret) = self
            .with_db(move |conn| clients::create(conn, &spec, now).expect("register client"))
            .await;
        TestClient {
            client_id: c.client_id,
            secret: secret.map(|s| s.into_inner()),
            redirect_uri,
        }
    }

    /// A confidential web client with the usual settings.
    pub async fn web_client(&self) -> TestClient {
        self.register(ClientSpec {
            name: "Test App".into(),
            redirect_uris: vec!["https://app.example.com/callback".into()],
            post_logout_redirect_uris: vec!["https://app.example.com/signed-out".into()],
            ..ClientSpec::default()
        })
        .await
    }

    /// Follows `url` like a browser: signs in with `creds` when the sign-in
    /// page appears, answers the consent page with `allow`, and stops at the
    /// first redirect that leaves the server.
    pub async fn drive(
        &self,
        browser: &reqwest::Client,
        url: &str,
        creds: Option<(&str, &str)>,
        allow: bool,
    ) -> Outcome {
        let mut next = url.to_string();
        for _ in 0..12 {
            let resp = browser.get(&next).send().await.expect("GET");
            let status = resp.status().as_u16();
            if std::env::var("PORTCULLIS_TEST_TRACE").is_ok() {
                eprintln!(
                    "drive: GET {next} -> {status} {:?}",
                    resp.headers().get("location")
                );
            }
            if (300..400).contains(&status) {
                let loc = resp
                    .headers()
                    .get("location")
                    .expect("location")
                    .to_str()
                    .unwrap()
                    .to_string();
                if loc.starts_with('/') {
                    next = self.at(&loc);
                    continue;
                }
                if loc.starts_with(&self.url) {
                    next = loc;
                    continue;
                }
                return redirect_outcome(&loc);
            }
            let body = resp.text().await.unwrap_or_default();
            if body.contains("action=\"/login\"") && status == 200 {
                let Some((email, password)) = creds else {
                    return Outcome::Page { status, body };
                };
                let form = [
                    ("email", email.to_string()),
                    ("password", password.to_string()),
                    ("csrf_token", html::csrf(&body)),
                    ("next", html::input_value(&body, "next").unwrap_or_default()),
                ];
                let r = browser
                    .post(self.at("/login"))
                    .form(&form)
                    .send()
                    .await
                    .expect("POST /login");
                if r.status().as_u16() != 303 {
                    let s = r.status().as_u16();
                    return Outcome::Page {
                        status: s,
                        body: r.text().await.unwrap_or_default(),
                    };
                }
                next = self.at(r.headers()["location"].to_str().unwrap());
                continue;
            }
            if body.contains("action=\"/authorize/consent\"") {
                let form = [
                    ("csrf_token", html::csrf(&body)),
                    ("rid", html::input_value(&body, "rid").unwrap_or_default()),
                    ("decision", if allow { "allow" } else { "deny" }.to_string()),
                ];
                let r = browser
                    .post(self.at("/authorize/consent"))
                    .form(&form)
                    .send()
                    .await
                    .expect("POST consent");
                let loc = r
                    .headers()
                    .get("location")
                    .map(|v| v.to_str().unwrap().to_string());
                match loc {
                    Some(l) if l.starts_with('/') => next = self.at(&l),
                    Some(l) => return redirect_outcome(&l),
                    None => {
                        let s = r.status().as_u16();
                        return Outcome::Page {
                            status: s,
                            body: r.text().await.unwrap_or_default(),
                        };
                    }
                }
                continue;
            }
            return Outcome::Page { status, body };
        }
        panic!("too many steps following {url}");
    }

    /// POSTs a form to `/token` (or another endpoint) and returns status,
    /// headers and JSON body.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
        let mut req = reqwest::Client::new().post(self.at(path)).form(form);
        if let Some((u, p)) = basic {
            req = req.basic_auth(u, Some(p));
        }
        let r = req.send().await.expect("POST");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, headers, json)
    }
}

fn redirect_outcome(loc: &str) -> Outcome {
    let url = url::Url::parse(loc).expect("absolute redirect");
    let params = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Outcome::Redirect {
        url: loc.to_string(),
        params,
    }
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    use base64::Engine as _;
    let verifier = core_auth::secret::random_token().into_inner();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `/authorize?...` for `client` with the given extra parameters.
pub fn authorize_url(srv: &TestServer, client: &TestClient, extra: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse(&srv.at("/authorize")).expect("url");
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("response_type", "code");
        q.append_pair("client_id", &client.client_id);
        q.append_pair("redirect_uri", &client.redirect_uri);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        if !extra.iter().any(|(k, _)| *k == "scope") {
            q.append_pair("scope", "openid email profile");
        }
    }
    u.to_string()
}
