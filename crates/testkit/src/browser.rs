//! Headless Chromium through chromedriver and fantoccini.
//!
//! When chromedriver is not installed the browser tests skip with a loud
//! message, so `cargo test` works on a machine with only the Rust
//! toolchain; CI sets `PORTCULLIS_TEST_REQUIRE_BROWSER=1`, which turns a
//! missing browser into a failure.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn chromedriver() -> Option<String> {
    if let Ok(p) = std::env::var("CHROMEDRIVER") {
        return Some(p);
    }
    [
        "/usr/bin/chromedriver",
        "/usr/lib/chromium/chromedriver",
        "/usr/local/bin/chromedriver",
    ]
    .iter()
    .find(|p| std::path::Path::new(p).exists())
    .map(|p| p.to_string())
}

impl Browser {
    /// A fresh headless browser, or `None` (with a message) when none is
    /// installed and none is required.
    pub async fn start() -> Option<Browser> {
        let Some(driver_bin) = chromedriver() else {
            if std::env::var("PORTCULLIS_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("PORTCULLIS_TEST_REQUIRE_BROWSER=1 but chromedriver is not installed");
            }
            eprintln!("SKIPPED: browser test needs chromium and chromedriver (apt install chromium chromium-driver)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_err = String::new();
        for _ in 0..100 {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    })
                }
                Err(e) => {
                    last_err = e.to_string();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("could not start headless chromium: {last_err}");
    }

    /// Closes the browser session and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A WebDriver extension command of the W3C WebAuthn spec (§11), which
/// chromedriver implements: a virtual authenticator for passkey tests.
#[derive(Debug)]
struct WebAuthnCommand {
    /// The path after `/session/{id}/`.
    path: String,
    body: Option<serde_json::Value>,
    method: http::Method,
}

impl fantoccini::wd::WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(serde_json::Value::to_string),
        )
    }
}

impl Browser {
    /// Adds a virtual platform authenticator (CTAP2, resident keys, user
    /// verification that always succeeds) and returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let r = self
            .client
            .issue_cmd(WebAuthnCommand {
                path: "webauthn/authenticator".into(),
                method: http::Method::POST,
                body: Some(serde_json::json!({
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserConsenting": true,
                    "isUserVerified": true,
                })),
            })
            .await
            .expect("add a virtual authenticator");
        r.as_str().expect("authenticator id").to_string()
    }

    /// Removes a virtual authenticator (and the credentials it holds).
    pub async fn remove_virtual_authenticator(&self, authenticator: &str) {
        self.client
            .issue_cmd(WebAuthnCommand {
                path: format!("webauthn/authenticator/{authenticator}"),
                method: http::Method::DELETE,
                body: None,
            })
            .await
            .expect("remove the virtual authenticator");
    }

    /// Gives a virtual authenticator a credential (as [`Self::credentials`]
    /// lists them: id, private key, user handle, counter).
    pub async fn add_credential(&self, authenticator: &str, credential: &serde_json::Value) {
        self.client
            .issue_cmd(WebAuthnCommand {
                path: format!("webauthn/authenticator/{authenticator}/credential"),
                method: http::Method::POST,
                body: Some(credential.clone()),
            })
            .await
            .expect("add a credential");
    }

    /// The credentials the virtual authenticator holds (JSON objects).
    pub async fn credentials(&self, authenticator: &str) -> Vec<serde_json::Value> {
        let r = self
            .client
            .issue_cmd(WebAuthnCommand {
                path: format!("webauthn/authenticator/{authenticator}/credentials"),
                method: http::Method::GET,
                body: None,
            })
            .await
            .expect("list credentials");
        r.as_array().cloned().unwrap_or_default()
    }
}

/// Waits (up to a minute) until the element `css` shows a text that
/// contains `want`, and returns it. After a click the browser may still
/// show the old page, or replace an element while it is read (a stale
/// element): both are looked at again, never taken for the answer.
pub async fn see(client: &Client, css: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::from("(no such element)");
    loop {
        if let Ok(e) = client.find(fantoccini::Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                if t.contains(want) {
                    return t;
                }
                last = t;
            }
        }
        if std::time::Instant::now() > deadline {
            let url = client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("{css} on {url} never showed {want:?}; last seen: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
