//! The `portcullis` command line, as a user runs it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use testkit::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

#[cfg(unix)]
mod files;

struct Env {
    dir: tempfile::TempDir,
    db: TestDb,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            db: TestDb::new(),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORTCULLIS_DATABASE_URL", self.db.url())
            .env("PORTCULLIS_PASSWORD__BCRYPT_COST", "4");
        c
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn assert_user_error(out: &Output, fragment: &str) {
    assert!(!out.status.success(), "should fail");
    let err = text(&out.stderr);
    assert!(
        err.contains(fragment),
        "stderr should mention {fragment:?}: {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "no panic: {err}"
    );
}

#[test]
fn users_create_and_list() {
    let env = Env::new();
    let out = env.run(
        &[
            "users",
            "create",
            "--email",
            "root@example.com",
            "--name",
            "Root",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "a long and unusual passphrase\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["email"], "root@example.com");
    assert_eq!(v["id"].as_str().unwrap().len(), 36);
    assert_eq!(v["roles"], serde_json::json!(["user", "admin"]));

    let out = env.run(&["users", "list", "--json"], "");
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["email"], "root@example.com");
    assert_eq!(list[0]["roles"], serde_json::json!(["admin", "user"]));
    assert!(list[0].get("password_hash").is_none(), "never printed");

    let out = env.run(&["users", "list"], "");
    let table = text(&out.stdout);
    assert!(
        table.contains("root@example.com") && table.contains("admin,user"),
        "{table}"
    );
}

#[test]
fn user_errors_are_one_line_on_stderr_with_a_failing_exit() {
    let env = Env::new();
    let create = |email: &str, pw: &str, extra: &[&str]| {
        let mut args = vec![
            "users",
            "create",
            "--email",
            email,
            "--name",
            "N",
            "--password-stdin",
        ];
        args.extend_from_slice(extra);
        env.run(&args, pw)
    };
    assert_user_error(&create("weak@example.com", "password\n", &[]), "password:");
    assert_user_error(
        &create("bad-email", "a long and unusual passphrase\n", &[]),
        "email:",
    );
    assert_user_error(&create("x@example.com", "", &[]), "no password");
    assert_user_error(
        &create(
            "x@example.com",
            "a long and unusual passphrase\n",
            &["--role", "wizard"],
        ),
        "no role named wizard",
    );
    assert!(
        create("x@example.com", "a long and unusual passphrase\n", &[])
            .status
            .success()
    );
    assert_user_error(
        &create("X@example.com", "a long and unusual passphrase\n", &[]),
        "already exists",
    );

    let out = env.run(
        &["users", "create", "--email", "y@example.com", "--name", "N"],
        "",
    );
    assert!(!out.status.success(), "--password-stdin is required");
}

#[test]
fn configuration_errors_name_the_problem() {
    let env = Env::new();
    std::fs::write(
        env.dir.path().join("portcullis.toml"),
        "isuer = \"http://x\"\n",
    )
    .unwrap();
    assert_user_error(&env.run(&["check-config"], ""), "isuer");
    assert_user_error(&env.run(&["migrate"], ""), "isuer");
    std::fs::write(
        env.dir.path().join("portcullis.toml"),
        "issuer = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let out = env.run(&["check-config"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("configuration is valid"));

    let out = env.run(&["--config", "missing.toml", "check-config"], "");
    assert_user_error(&out, "missing.toml");

    let mut c = env.cmd(&["migrate"]);
    c.env("PORTCULLIS_DATABASE_URL", "mysql://root@127.0.0.1/x");
    let out = c.output().unwrap();
    assert_user_error(&out, "unsupported scheme `mysql`");

    let mut c = env.cmd(&["migrate"]);
    c.env("PORTCULLIS_PASSWORD__BCRYPT_COST", "99");
    assert_user_error(&c.output().unwrap(), "bcrypt_cost");
}

#[test]
fn migrate_reports_an_up_to_date_database() {
    let env = Env::new();
    let out = env.run(&["migrate"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("up to date"));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_ready(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::blocking::get(format!("http://127.0.0.1:{port}/readyz")) {
            if r.status() == 200 {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// With nothing configured but a free port, `serve` makes its data dir,
/// migrates and serves; the bootstrap admin can sign in; logs are JSON
/// lines without query strings.
#[test]
fn serve_from_nothing_with_a_bootstrap_admin_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["--log-format", "json", "serve"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTCULLIS_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("PORTCULLIS_PASSWORD__BCRYPT_COST", "4")
        .env("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL", "boot@example.com")
        .env(
            "PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD",
            "bootstrap secret phrase",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = wait_ready(port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(format!("{base}/login?next=/admin&secret=sekrit-query"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let token = testkit::html::csrf(&page);
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", "boot@example.com"),
            ("password", "bootstrap secret phrase"),
            ("csrf_token", &token),
            ("next", "/admin"),
        ])
        .send()
        .unwrap();
    let signed_in = r.status().as_u16();
    let admin = client
        .get(format!("{base}/admin"))
        .send()
        .unwrap()
        .status()
        .as_u16();
    let _ = child.kill();
    let mut logs = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        logs.push(line.unwrap());
    }
    let _ = child.wait();
    assert!(ready, "server never became ready: {logs:?}");
    assert!(
        dir.path().join("data/portcullis.db").exists(),
        "default data dir and database created"
    );
    assert_eq!(signed_in, 303);
    assert_eq!(admin, 200, "bootstrap admin has the admin role");
    let all = logs.join("\n");
    for line in &logs {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    assert!(
        logs.iter().any(|l| l.contains("\"path\":\"/login\"")
            && l.contains("\"status\":200")
            && l.contains("\"method\":\"GET\"")
            && l.contains("latency_ms")),
        "one line per request: {all}"
    );
    for secret in ["sekrit-query", "bootstrap secret phrase", token.as_str()] {
        assert!(!all.contains(secret), "{secret:?} leaked into the logs");
    }
}

#[test]
fn clients_create_show_rotate_and_delete() {
    let env = Env::new();
    let out = env.run(
        &[
            "clients",
            "create",
            "--name",
            "Web App",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--post-logout-redirect-uri",
            "https://app.example.com/bye",
            "--scope",
            "api:read",
            "--skip-consent",
            "--resource-server-audience",
            "orders-api",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 43, "256 random bits, base64url");
    assert_eq!(created["auth_method"], "client_secret_basic");
    assert_eq!(
        created["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        created["resource_server_audiences"],
        serde_json::json!(["orders-api"])
    );

    let out = env.run(&["clients", "show", &id], "");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["name"], "Web App");
    assert!(
        shown.get("client_secret").is_none() && !text(&out.stdout).contains(&secret),
        "the secret is shown once"
    );

    let out = env.run(&["clients", "rotate-secret", &id], "");
    let rotated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);

    let out = env.run(&["clients", "list"], "");
    assert!(text(&out.stdout).contains(&id));

    let out = env.run(
        &[
            "clients",
            "create",
            "--name",
            "SPA",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:3000/cb",
        ],
        "",
    );
    let spa: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spa["auth_method"], "none");
    assert!(
        spa.get("client_secret").is_none(),
        "public clients have no secret"
    );

    assert_user_error(
        &env.run(
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--redirect-uri",
                "http://app.example.com/cb",
            ],
            "",
        ),
        "loopback",
    );
    assert_user_error(
        &env.run(
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--redirect-uri",
                "https://app.example.com/cb#x",
            ],
            "",
        ),
        "fragment",
    );
    assert_user_error(
        &env.run(
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--public",
                "--grant-type",
                "client_credentials",
            ],
            "",
        ),
        "public client cannot use client_credentials",
    );
    assert_user_error(
        &env.run(
            &[
                "clients",
                "create",
                "--name",
                "Bad",
                "--redirect-uri",
                "https://a.example/cb",
                "--auth-method",
                "private_key_jwt",
            ],
            "",
        ),
        "JWKS",
    );

    let out = env.run(&["clients", "delete", &id], "");
    assert!(out.status.success());
    assert_user_error(&env.run(&["clients", "show", &id], ""), "no client");
    assert_user_error(&env.run(&["clients", "delete", &id], ""), "no client");
}

#[test]
fn keys_list_and_rotate() {
    let env = Env::new();
    // The first rotation creates the active and next keys, then activates the next one.
    let out = env.run(&["keys", "rotate"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.run(&["keys", "list", "--json"], "");
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = keys.as_array().unwrap();
    // Each algorithm of keys.algorithms (RS256, ES256, EdDSA by default)
    // has its own active and next key.
    let kid = |alg: &str, state: &str| -> Vec<serde_json::Value> {
        keys.iter()
            .filter(|k| k["alg"] == alg && k["state"] == state)
            .map(|k| k["kid"].clone())
            .collect()
    };
    let (mut active_before, mut next_before) = (vec![], vec![]);
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert_eq!(kid(alg, "active").len(), 1, "{alg}: {keys:?}");
        assert_eq!(kid(alg, "next").len(), 1, "{alg}: {keys:?}");
        active_before.extend(kid(alg, "active"));
        next_before.extend(kid(alg, "next"));
    }
    let out = env.run(&["keys", "rotate"], "");
    let rotated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sorted = |v: &serde_json::Value| {
        let mut v: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let sorted_json = |v: Vec<serde_json::Value>| sorted(&serde_json::Value::Array(v));
    assert_eq!(
        sorted(&rotated["activated"]),
        sorted_json(next_before),
        "the published next keys sign now, one per algorithm"
    );
    assert_eq!(sorted(&rotated["retired"]), sorted_json(active_before));
    let table = text(&env.run(&["keys", "list"], "").stdout);
    assert!(
        table.contains("retired") && table.contains("active") && table.contains("next"),
        "{table}"
    );
    for alg in ["ALG", "RS256", "ES256", "EdDSA"] {
        assert!(table.contains(alg), "{alg} in {table}");
    }
    assert!(
        env.dir.path().join("data/key-encryption-key").exists(),
        "a development key-encryption key was generated"
    );
    // Another key-encryption key cannot use the stored keys.
    let mut c = env.cmd(&["keys", "rotate"]);
    c.env("PORTCULLIS_KEY_ENCRYPTION_KEY", "ab".repeat(32));
    let out = c.output().unwrap();
    assert_user_error(&out, "key-encryption key");
}
