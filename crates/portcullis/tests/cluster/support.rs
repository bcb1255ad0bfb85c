//! Starting a cluster: nodes sharing one database and key-encryption key,
//! an SMTP server, nginx in front.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use sha2::Digest;

use testkit::cluster::{free_port, Nginx, Node};
use testkit::mail::SmtpServer;
use testkit::TestDb;

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");
pub const PASSWORD: &str = "correct horse battery staple";

pub fn checked(what: &str) {
    println!("CHECKED: {what}");
}

pub struct Cluster {
    pub db: TestDb,
    pub nodes: Vec<Node>,
    pub nginx: Option<Nginx>,
    pub smtp: Option<SmtpServer>,
    pub kek: String,
    pub dir: tempfile::TempDir,
    pub issuer: String,
}

/// Settings every node gets; `issuer` is the public URL (nginx).
pub fn node_config(
    db_url: &str,
    issuer: &str,
    port: u16,
    data_dir: &Path,
    smtp_port: Option<u16>,
) -> String {
    let mail = match smtp_port {
        Some(p) => format!(
            "[mail]\ntransport = \"smtp\"\npoll_interval_secs = 1\nmax_retry_interval_secs = 2\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {p}\ntls = \"none\"\ntimeout_secs = 3\n"
        ),
        None => String::new(),
    };
    format!(
        "issuer = \"{issuer}\"\nbind = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\ndatabase_url = \"{db_url}\"\n\
         trusted_proxies = [\"127.0.0.1\"]\n\
         [database]\npool_size = 6\nconnect_timeout_secs = 2\n\
         [password]\nbcrypt_cost = 4\n\
         [keys]\nrefresh_interval_secs = 1\n\
         [rate_limits]\nenabled = false\n{mail}",
        data_dir.display()
    )
}

impl Cluster {
    /// `n` nodes on one fresh database (PostgreSQL when configured, else a
    /// shared SQLite file), behind nginx when `proxied`.
    pub fn start(n: usize, proxied: bool, with_smtp: bool) -> Cluster {
        Self::start_on(TestDb::new(), n, proxied, with_smtp)
    }

    /// The same on a given database.
    pub fn start_on(db: TestDb, n: usize, proxied: bool, with_smtp: bool) -> Cluster {
        let dir = tempfile::tempdir().expect("cluster dir");
        let kek = "ab".repeat(16) + &"cd".repeat(16);
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let nginx = proxied.then(|| Nginx::start(&ports));
        let issuer = nginx
            .as_ref()
            .map(|g| g.url.clone())
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", ports[0]));
        let mut smtp = if with_smtp {
            SmtpServer::reserve()
        } else {
            None
        };
        if let Some(s) = smtp.as_mut() {
            s.start();
        }
        let smtp_port = smtp.as_ref().map(|s| s.port);
        let mut nodes = Vec::new();
        for (i, port) in ports.iter().enumerate() {
            let ndir = dir.path().join(format!("node{i}"));
            let cfg = node_config(db.url(), &issuer, *port, &ndir, smtp_port);
            nodes.push(Node::start(
                Path::new(BIN),
                &format!("node{i}"),
                &ndir,
                *port,
                &cfg,
                &[("PORTCULLIS_KEY_ENCRYPTION_KEY", kek.clone())],
            ));
        }
        for node in &nodes {
            node.wait_ready(Duration::from_secs(30));
        }
        Cluster {
            db,
            nodes,
            nginx,
            smtp,
            kek,
            dir,
            issuer,
        }
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("PORTCULLIS_KEY_ENCRYPTION_KEY", self.kek.clone())]
    }

    /// Runs the CLI against the cluster's database (node 0's config).
    pub fn cli(&self, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(self.nodes[0].dir.join("portcullis.toml"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORTCULLIS_KEY_ENCRYPTION_KEY", &self.kek)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cli");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "portcullis {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn create_user(&self, email: &str) {
        self.cli(
            &[
                "users",
                "create",
                "--email",
                email,
                "--name",
                "Cluster User",
                "--verified",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        );
    }

    /// A confidential web client (skip consent) and its secret.
    pub fn web_client(&self) -> (String, String) {
        let out = self.cli(
            &[
                "clients",
                "create",
                "--name",
                "Cluster App",
                "--redirect-uri",
                "https://app.example.com/cb",
                "--skip-consent",
            ],
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        (
            v["client_id"].as_str().unwrap().to_string(),
            v["client_secret"].as_str().unwrap().to_string(),
        )
    }

    /// The public URL (nginx, or node 0).
    pub fn url(&self) -> &str {
        &self.issuer
    }

    /// nginx's error log, for failure messages.
    pub fn proxy_errors(&self) -> String {
        self.nginx
            .as_ref()
            .map(|n| n.error_log())
            .unwrap_or_default()
    }
}

/// A browser-like client.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

pub fn upstream(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Signs `b` in through `base` (the sign-in page's form, CSRF and all).
pub async fn sign_in(
    b: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = b
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = testkit::html::csrf(&page);
    b.post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap()
}

pub fn pkce() -> (String, String) {
    let verifier = core_auth::secret::random_token().into_inner();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Runs /authorize through `base` for a signed-in browser; returns the code
/// and which node issued it.
pub async fn authorize(
    b: &reqwest::Client,
    base: &str,
    client_id: &str,
    scope: &str,
) -> (String, String, String) {
    let (verifier, challenge) = pkce();
    let mut u = url::Url::parse(&format!("{base}/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", "https://app.example.com/cb")
        .append_pair("scope", scope)
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let r = b.get(u.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 303, "authorize: {:?}", r.text().await);
    let node = upstream(&r);
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    (code, verifier, node)
}

pub async fn token(base: &str, client: &(String, String), form: &[(&str, &str)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}
