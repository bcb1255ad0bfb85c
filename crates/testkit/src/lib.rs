#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! (Test support code: panicking on a broken fixture is the right failure.)

//! Test helpers: a fresh database per test (SQLite file, or a PostgreSQL
//! database cloned from a migrated template), a real Portcullis server on
//! `127.0.0.1:0` with a manual clock, an HTTP client, and headless Chromium.
//!
//! The backend comes from `PORTCULLIS_TEST_DATABASE_URL`: unset means
//! SQLite; `postgres://postgres@127.0.0.1/test` means every test gets its own
//! PostgreSQL database on that server.

pub mod browser;
pub mod cluster;
pub mod db;
pub mod html;
pub mod mail;
pub mod oidc;
pub mod server;

pub use browser::Browser;
pub use db::TestDb;
pub use server::TestServer;

/// Everything logged at INFO and above by any test in this process, as
/// JSON lines: tests scan it for secrets.
static CAPTURED: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = CAPTURED.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log lines captured so far in this process.
pub fn captured_logs() -> String {
    CAPTURED
        .lock()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default()
}

/// Logs to the test's captured output (level from `RUST_LOG`, default
/// warn) and, at INFO, into [`captured_logs`]; once per process.
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let shown = tracing_subscriber::fmt::layer()
        .with_test_writer()
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        );
    let captured = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(|| Capture)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let _ = tracing_subscriber::registry()
        .with(shown)
        .with(captured)
        .try_init();
}
