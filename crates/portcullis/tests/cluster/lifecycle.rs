//! Graceful stop, and backup and restore.

use std::path::Path;
use std::time::Duration;

use testkit::cluster::{free_port, Node};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_and_exits_0() {
    let c = Cluster::start(1, false, false);
    c.create_user("slow@example.com");
    // Make sign-in slow (bcrypt cost 12) so a request is surely in flight.
    let mut node = {
        let dir = c.dir.path().join("slow");
        let port = free_port();
        let cfg = node_config(
            c.db.url(),
            &format!("http://127.0.0.1:{port}"),
            port,
            &dir,
            None,
        )
        .replace("bcrypt_cost = 4", "bcrypt_cost = 12");
        let n = Node::start(Path::new(BIN), "slow", &dir, port, &cfg, &c.env());
        n.wait_ready(Duration::from_secs(30));
        n
    };
    let b = browser();
    let page = b
        .get(format!("{}/login", node.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = testkit::html::csrf(&page);
    let url = format!("{}/login", node.url);
    let in_flight = tokio::spawn(async move {
        b.post(url)
            .form(&[
                ("email", "slow@example.com"),
                ("password", "wrong but slow to check"),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    node.sigterm();
    let status = in_flight
        .await
        .unwrap()
        .expect("the request in flight got its answer");
    assert_eq!(status, 401);
    let exit = tokio::task::spawn_blocking(move || {
        let e = node.wait_exit(Duration::from_secs(20));
        (e, node.log())
    })
    .await
    .unwrap();
    let (exit, log) = exit;
    assert!(
        exit.is_some_and(|e| e.success()),
        "exit 0 after SIGTERM: {exit:?}\n{log}"
    );
    assert!(
        log.contains("Portcullis stopped"),
        "workers stopped cleanly:\n{log}"
    );
    checked("SIGTERM: the sign-in in flight was answered (401), workers stopped, exit status 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_from_backup_gives_a_working_server_with_every_user_and_client() {
    if std::env::var(testkit::db::PG_ENV).is_ok_and(|v| !v.is_empty()) {
        eprintln!("SKIPPED: `portcullis backup` is for SQLite (PostgreSQL uses pg_dump)");
        return;
    }
    // A node whose key-encryption key is a file in its data directory.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = dir.path().join("live");
    let db_url = format!("sqlite://{}", data.join("portcullis.db").display());
    let cfg = node_config(
        &db_url,
        &format!("http://127.0.0.1:{port}"),
        port,
        &data,
        None,
    );
    let mut live = Node::start(Path::new(BIN), "live", &data, port, &cfg, &[]);
    live.wait_ready(Duration::from_secs(30));
    let cli = |config_dir: &Path, args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(BIN)
            .arg("--config")
            .arg(config_dir.join("portcullis.toml"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for i in 0..5 {
        cli(
            &data,
            &[
                "users",
                "create",
                "--email",
                &format!("u{i}@example.com"),
                "--name",
                "U",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        );
    }
    let client: serde_json::Value = serde_json::from_str(&cli(
        &data,
        &[
            "clients",
            "create",
            "--name",
            "Svc",
            "--grant-type",
            "client_credentials",
            "--scope",
            "api",
        ],
        "",
    ))
    .unwrap();
    let backup = dir.path().join("backup.db");
    let out = cli(&data, &["backup", backup.to_str().unwrap()], "");
    assert!(out.contains("key-encryption key copied"), "{out}");
    live.sigterm();
    live.wait_exit(Duration::from_secs(20));
    // Restore on a fresh directory: the database file and the key.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&backup, restored.join("portcullis.db")).unwrap();
    std::fs::copy(
        backup.with_extension("key-encryption-key"),
        restored.join("key-encryption-key"),
    )
    .unwrap();
    let port2 = free_port();
    let db2 = format!("sqlite://{}", restored.join("portcullis.db").display());
    let cfg2 = node_config(
        &db2,
        &format!("http://127.0.0.1:{port2}"),
        port2,
        &restored,
        None,
    );
    let node = Node::start(Path::new(BIN), "restored", &restored, port2, &cfg2, &[]);
    node.wait_ready(Duration::from_secs(30));
    let users = cli(&restored, &["users", "list", "--json"], "");
    for i in 0..5 {
        assert!(
            users.contains(&format!("u{i}@example.com")),
            "user {i} restored"
        );
    }
    let r = reqwest::Client::new()
        .post(format!("{}/token", node.url))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the restored client and signing keys work");
    let b = browser();
    assert_eq!(
        sign_in(&b, &node.url, "u3@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    checked("backup while serving, restore on a new directory: 5 users, the client and the signing keys work");
}
