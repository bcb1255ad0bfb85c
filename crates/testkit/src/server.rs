//! A real Portcullis server per test, on 127.0.0.1 with a free port.

use std::sync::Arc;

use actix_web::dev::ServerHandle;
use core_auth::secret::Secret;
use core_auth::users::{self, NewUser, UserWithRoles};
use core_auth::{Config, ManualClock};
use portcullis::{bootstrap, server};
use web_kit::AppContext;

use crate::db::TestDb;
use crate::html;

pub struct TestServer {
    /// Base URL, also the issuer: `http://127.0.0.1:PORT`.
    pub url: String,
    pub ctx: AppContext,
    pub clock: ManualClock,
    /// Shared by sibling servers (see [`TestServer::start_sibling`]).
    pub db: Arc<TestDb>,
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    _data: tempfile::TempDir,
}

/// The configuration tests start from: fast bcrypt, one worker.
pub fn test_config(db: &TestDb, data_dir: &std::path::Path, port: u16) -> Config {
    let mut cfg = Config {
        issuer: format!("http://127.0.0.1:{port}"),
        bind: format!("127.0.0.1:{port}"),
        data_dir: data_dir.to_path_buf(),
        database_url: db.url().to_string(),
        ..Config::default()
    };
    cfg.password.bcrypt_cost = 4;
    cfg.workers = 2;
    cfg.database.pool_size = 4;
    // Every test request comes from 127.0.0.1: per-IP limits are for the
    // tests that are about them (which turn them on).
    cfg.rate_limits.enabled = false;
    cfg
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts with the test configuration changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(
            Arc::new(TestDb::new()),
            ManualClock::starting_now(),
            None,
            tweak,
        )
        .await
    }

    /// A second node on the same database (and clock, and key-encryption
    /// key): two processes' worth of server state sharing one database.
    pub async fn start_sibling(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(
            self.db.clone(),
            self.clock.clone(),
            Some(self._data.path()),
            tweak,
        )
        .await
    }

    async fn start_on(
        db: Arc<TestDb>,
        clock: ManualClock,
        kek_from: Option<&std::path::Path>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        crate::init_logging();
        let data = tempfile::tempdir().expect("tempdir");
        if let Some(from) = kek_from {
            let name = core_auth::keys::kek::FILE_NAME;
            std::fs::copy(from.join(name), data.path().join(name))
                .expect("copy key-encryption key");
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut cfg = test_config(&db, data.path(), port);
        tweak(&mut cfg);
        let cfg = cfg.validated().expect("valid test config");
        let ctx = tokio::task::spawn_blocking({
            let clock = clock.clone();
            move || bootstrap::context(cfg, Arc::new(clock), None)
        })
        .await
        .expect("join")
        .expect("context");
        // The server runs on its own thread with its own actix system, so
        // that dropping the TestServer can stop it and wait for its workers:
        // no thread may still hold database connections when the test
        // process exits (libpq and OpenSSL tear down at exit).
        let (tx, rx) = std::sync::mpsc::channel();
        let server_ctx = ctx.clone();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let srv = server::start(server_ctx, listener).expect("server");
                let _ = tx.send(srv.handle());
                let _ = srv.await;
            })
        });
        let handle = rx.recv().expect("server handle");
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            ctx,
            clock,
            db,
            handle,
            thread: Some(thread),
            _data: data,
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// A browser-like client: cookie store on, redirects off.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// Creates an account directly (no HTTP).
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        password: &str,
        roles: &[&str],
    ) -> UserWithRoles {
        let ctx = self.ctx.clone();
        let input = NewUser {
            email: email.into(),
            name: name.into(),
            password: Secret::new(password),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            email_verified: true,
        };
        let now = ctx.now();
        tokio::task::spawn_blocking(move || {
            users::create_user(&ctx.pool, &ctx.passwords, &input, now)
        })
        .await
        .expect("join")
        .expect("create user")
    }

    /// GET `path` and return (status, body).
    pub async fn get(&self, client: &reqwest::Client, path: &str) -> (u16, String) {
        let r = client.get(self.at(path)).send().await.expect("GET");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// GET a page with a form, then POST `fields` plus its CSRF token.
    pub async fn submit(
        &self,
        client: &reqwest::Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let (_, body) = self.get(client, page).await;
        let token = html::csrf(&body);
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        client
            .post(self.at(action))
            .form(&form)
            .send()
            .await
            .expect("POST")
    }

    /// Signs `client` in through the real sign-in page; panics on failure.
    pub async fn sign_in(&self, client: &reqwest::Client, email: &str, password: &str) {
        let r = self
            .submit(
                client,
                "/login",
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(
            r.status().as_u16(),
            303,
            "sign-in of {email} failed: {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// Runs `f` with a database connection.
    pub async fn with_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut core_auth::DbConn) -> T + Send + 'static,
    ) -> T {
        let pool = self.ctx.pool.clone();
        tokio::task::spawn_blocking(move || f(&mut pool.get().expect("conn")))
            .await
            .expect("join")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The stop command is sent at once; the server thread finishes its
        // workers and exits.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
