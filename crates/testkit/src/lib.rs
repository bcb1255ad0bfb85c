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
pub mod db;
pub mod html;
pub mod mail;
pub mod oidc;
pub mod server;

pub use browser::Browser;
pub use db::TestDb;
pub use server::TestServer;

/// Logs to the test's captured output, once per process.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}
