//! Reading mail in tests: the `.eml` files of the file transport, and a
//! real SMTP server (Python's aiosmtpd, writing a Maildir) for the SMTP
//! transport.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::TestServer;

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The outbox id, from the `Message-ID` (the order messages were queued).
    pub id: i64,
    pub to: String,
    pub subject: String,
    /// The raw message with quoted-printable soft breaks undone.
    pub body: String,
}

impl Mail {
    /// The first link on this server in the message whose path is `path`
    /// (e.g. `/verify-email`).
    pub fn link(&self, path: &str) -> Option<String> {
        let at = self.body.find(&format!("{path}?token="))?;
        let start = self.body[..at].rfind("http")?;
        let tail = &self.body[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '&')
            .unwrap_or(tail.len());
        Some(tail[..end].to_string())
    }
}

/// Undoes quoted-printable: soft line breaks and `=XX` escapes.
pub fn unquote(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = joined
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header(raw: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    raw.lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase())
        })
        .map(|l| l[prefix.len()..].trim().to_string())
        .unwrap_or_default()
}

/// Parses a stored message.
pub fn parse(raw: &str) -> Mail {
    let to = header(raw, "To");
    let to = match (to.find('<'), to.find('>')) {
        (Some(a), Some(b)) if a < b => to[a + 1..b].to_string(),
        _ => to,
    };
    let id = header(raw, "Message-ID")
        .trim_start_matches("<outbox-")
        .split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Mail {
        id,
        to,
        subject: header(raw, "Subject"),
        body: unquote(raw),
    }
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_file())
                .map(|e| {
                    (
                        e.metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH),
                        e.path(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

impl TestServer {
    /// Delivers what is due in the outbox (file transport) and returns every
    /// message written so far, oldest first.
    pub async fn mails(&self) -> Vec<Mail> {
        let transport = portcullis::mailer::build(&self.ctx.config).expect("transport");
        portcullis::mailer::deliver_due(&self.ctx, &transport, "test-worker")
            .await
            .expect("deliver");
        read_dir_sorted(&portcullis::mailer::outbox_dir(&self.ctx.config))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| parse(&std::fs::read_to_string(p).unwrap_or_default()))
            .collect::<Vec<_>>()
            .tap_sort()
    }

    /// Messages to `to`, oldest first.
    pub async fn mails_to(&self, to: &str) -> Vec<Mail> {
        self.mails()
            .await
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .collect()
    }
}

/// A real SMTP server on 127.0.0.1 (aiosmtpd) that stores messages in a
/// Maildir. `None` (with a message) when aiosmtpd is not installed and
/// `PORTCULLIS_TEST_REQUIRE_SMTP` is not `1`.
pub struct SmtpServer {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Option<Child>,
}

fn aiosmtpd_available() -> bool {
    Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl SmtpServer {
    /// A free port with no server on it yet.
    pub fn reserve() -> Option<SmtpServer> {
        if !aiosmtpd_available() {
            if std::env::var("PORTCULLIS_TEST_REQUIRE_SMTP").is_ok_and(|v| v == "1") {
                panic!("PORTCULLIS_TEST_REQUIRE_SMTP=1 but aiosmtpd is not installed (pip install aiosmtpd)");
            }
            eprintln!("SKIPPED: SMTP test needs aiosmtpd (pip install aiosmtpd)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        Some(SmtpServer {
            port,
            maildir: tempfile::tempdir().expect("maildir"),
            child: None,
        })
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    pub fn start(&mut self) {
        self.stop();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Messages received so far.
    pub fn received(&self) -> Vec<Mail> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            for p in read_dir_sorted(&self.maildir.path().join("mail").join(sub)) {
                out.push(parse(&std::fs::read_to_string(p).unwrap_or_default()));
            }
        }
        out.tap_sort()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

trait SortById {
    fn tap_sort(self) -> Self;
}

impl SortById for Vec<Mail> {
    fn tap_sort(mut self) -> Self {
        self.sort_by_key(|m| m.id);
        self
    }
}
