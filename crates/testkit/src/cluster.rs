//! Real `portcullis serve` processes and an nginx in front of them, for the
//! multi-node and fault tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Whether the multi-node tests may run here: they need nginx and
/// PostgreSQL (`PORTCULLIS_TEST_DATABASE_URL`). With
/// `PORTCULLIS_TEST_REQUIRE_CLUSTER=1` a missing piece is a failure.
pub fn cluster_available(need_postgres: bool) -> bool {
    let required = std::env::var("PORTCULLIS_TEST_REQUIRE_CLUSTER").is_ok_and(|v| v == "1");
    let nginx = Command::new("nginx")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    let pg = !need_postgres || std::env::var(crate::db::PG_ENV).is_ok_and(|v| !v.is_empty());
    if nginx && pg {
        return true;
    }
    let missing = if nginx {
        "PostgreSQL (PORTCULLIS_TEST_DATABASE_URL)"
    } else {
        "nginx (apt install nginx-light)"
    };
    if required {
        panic!("PORTCULLIS_TEST_REQUIRE_CLUSTER=1 but {missing} is missing");
    }
    eprintln!("SKIPPED: the cluster tests need {missing}");
    false
}

/// The status of `GET path` on 127.0.0.1:port, if the server answers.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 32];
    let n = s.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]).into_owned();
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One `portcullis serve` process with its own directory and config file.
pub struct Node {
    pub name: String,
    pub port: u16,
    pub url: String,
    pub dir: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// Writes `config` (TOML) to `<dir>/portcullis.toml` and starts the node.
    pub fn start(
        bin: &Path,
        name: &str,
        dir: &Path,
        port: u16,
        config: &str,
        env: &[(&str, String)],
    ) -> Node {
        std::fs::create_dir_all(dir).expect("node dir");
        std::fs::write(dir.join("portcullis.toml"), config).expect("node config");
        let mut n = Node {
            name: name.to_string(),
            port,
            url: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
            bin: bin.to_path_buf(),
            child: None,
        };
        n.spawn(env);
        n
    }

    fn spawn(&mut self, env: &[(&str, String)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .expect("node log");
        let mut cmd = Command::new(&self.bin);
        cmd.args(["--log-format", "json", "serve"])
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start portcullis"));
    }

    /// Starts the process again (same config, same database).
    pub fn restart(&mut self, env: &[(&str, String)]) {
        self.spawn(env);
    }

    /// Waits until `/readyz` answers 200 (plain HTTP over a socket, so it
    /// works from async and blocking code alike).
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if http_status(self.port, "/readyz") == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "node {} not ready after {timeout:?}; log:\n{}",
            self.name,
            self.log_tail()
        );
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `kill -TERM`: a graceful stop.
    pub fn sigterm(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    self.child = None;
                    return Some(status);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// nginx, round-robin over `upstreams`, with the proxy settings of
/// `deploy/nginx/portcullis-proxy.inc` (so CI checks what users deploy).
/// Every response says which node answered in `X-Upstream`.
pub struct Nginx {
    pub port: u16,
    pub url: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Nginx {
    pub fn start(upstreams: &[u16]) -> Nginx {
        let dir = tempfile::tempdir().expect("nginx dir");
        let port = free_port();
        let snippet = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/nginx/portcullis-proxy.inc");
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        let d = dir.path().display();
        let conf = format!(
            "worker_processes 1;\nuser root;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
             upstream portcullis_nodes {{\n{servers}        keepalive 8;\n    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        location / {{\n            proxy_pass http://portcullis_nodes;\n\
             include {};\n            add_header X-Upstream $upstream_addr always;\n        }}\n    }}\n}}\n",
            snippet.display()
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("nginx.conf");
        let child = Command::new("nginx")
            .args([
                "-p",
                &d.to_string(),
                "-c",
                &format!("{d}/nginx.conf"),
                "-g",
                "daemon off;",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx {
            port,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            child: Some(child),
        }
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
