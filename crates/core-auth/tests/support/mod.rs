//! Test support for core-auth's own integration tests (the files beside
//! this directory): a fresh, migrated database per test (SQLite in a
//! temporary directory; PostgreSQL when `PORTCULLIS_TEST_DATABASE_URL` is
//! set, cloned from a migrated template as `testkit` does), a
//! [`core_auth::Core`] over it with fast bcrypt and real signing keys, and a
//! [`ManualClock`]. No HTTP, no server.
//!
//! (`testkit` depends on the server crates, so core-auth cannot use it.)

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod oidc;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use core_auth::actor::Actor;
use core_auth::audit::{self, Filter};
use core_auth::db::{self, migrate, DbConn, DbUrl, PooledConn};
use core_auth::keys::{store, Kek, KeyRing};
use core_auth::password::Passwords;
use core_auth::secret::Secret;
use core_auth::sessions::{keys, State};
use core_auth::users::{self, NewUser, User};
use core_auth::{Clock, Config, Core, DbPool, ManualClock};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// The environment variable naming the PostgreSQL server tests use.
pub const PG_ENV: &str = "PORTCULLIS_TEST_DATABASE_URL";
/// Where the clock of every test starts.
pub const T0: i64 = 1_800_000_000;
/// The password of the accounts [`Env::user`] makes.
pub const PASSWORD: &str = "a long and unusual passphrase 42";

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    url: DbUrl,
    _dir: Option<tempfile::TempDir>,
    /// (admin url, database name) on PostgreSQL.
    pg: Option<(String, String)>,
}

impl TestDb {
    /// A fresh, migrated database on the backend the environment selects.
    pub fn new() -> TestDb {
        match std::env::var(PG_ENV).ok().filter(|v| !v.is_empty()) {
            Some(admin) => Self::postgres(&admin),
            None => Self::sqlite(),
        }
    }

    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = DbUrl::Sqlite(dir.path().join("test.db"));
        let pool = db::pool_for(url.clone(), 1, 5, 5000).expect("sqlite pool");
        migrate::run_pending(&mut pool.get().expect("conn")).expect("migrate");
        TestDb {
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A new database cloned from a migrated template, named (as testkit
    /// names it, so both share it) after a hash of the migrations.
    fn postgres(admin_url: &str) -> TestDb {
        let template = format!("portcullis_tpl_{}", migrations_hash());
        let name = format!("portcullis_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("cannot connect to {admin_url}: {e}"));
        // The same lock as testkit's: CREATE DATABASE ... TEMPLATE needs
        // nobody connected to the template.
        admin
            .batch_execute("SELECT pg_advisory_lock(7320170001)")
            .expect("advisory lock");
        let exists = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM pg_database WHERE datname = '{template}'"
        ))
        .get_result::<Count>(&mut admin)
        .expect("pg_database")
        .n;
        if exists == 0 {
            let building = format!("{template}_build");
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))
                .expect("drop stale");
            admin
                .batch_execute(&format!("CREATE DATABASE {building}"))
                .expect("create template");
            {
                let mut c = DbConn::Postgresql(
                    diesel::PgConnection::establish(&with_db(admin_url, &building))
                        .expect("connect template"),
                );
                migrate::run_pending(&mut c).expect("migrate template");
            }
            admin
                .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
                .expect("rename template");
        }
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .expect("clone template");
        admin
            .batch_execute("SELECT pg_advisory_unlock(7320170001)")
            .expect("advisory unlock");
        TestDb {
            url: DbUrl::Postgres(with_db(admin_url, &name)),
            _dir: None,
            pg: Some((admin_url.to_string(), name)),
        }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.pg {
            if let Ok(mut c) = diesel::PgConnection::establish(admin_url) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn with_db(admin_url: &str, db: &str) -> String {
    match url::Url::parse(admin_url) {
        Ok(mut u) => {
            u.set_path(&format!("/{db}"));
            u.to_string()
        }
        Err(_) => format!("{admin_url}/{db}"),
    }
}

fn migrations_hash() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let mut files = walk(&root);
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(
            f.strip_prefix(&root)
                .unwrap_or(&f)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Everything a use case needs, owned by the test. Fields drop in order:
/// the pool before the database it points at.
pub struct Env {
    pub clock: ManualClock,
    pub config: Config,
    pub pool: DbPool,
    pub passwords: Passwords,
    pub keys: KeyRing,
    db: TestDb,
}

impl Env {
    pub fn new() -> Env {
        Self::with(|_| {})
    }

    /// The test configuration (bcrypt cost 4), changed by `tweak`.
    pub fn with(tweak: impl FnOnce(&mut Config)) -> Env {
        let db = TestDb::new();
        let clock = ManualClock::new(T0);
        let mut config = Config {
            issuer: "http://127.0.0.1:9".into(),
            data_dir: std::env::temp_dir(),
            database_url: match db.url() {
                DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
                DbUrl::Postgres(u) => u.clone(),
            },
            ..Config::default()
        };
        config.password.bcrypt_cost = 4;
        config.database.pool_size = 4;
        tweak(&mut config);
        let config = config.validated().expect("valid test config");
        let pool = db::pool_for(db.url().clone(), 4, 5, 5000).expect("pool");
        let passwords = Passwords::new(&config.password);
        let kek = Kek::from_bytes(core_auth::secret::random_bytes::<32>());
        store::maintain(&pool, &kek, &config, &Actor::system(), clock.now(), false)
            .expect("signing keys");
        let keys = KeyRing::load(&mut pool.get().expect("conn"), kek, clock.now()).expect("ring");
        Env {
            clock,
            config,
            pool,
            passwords,
            keys,
            db,
        }
    }

    pub fn core(&self) -> Core<'_> {
        Core {
            pool: &self.pool,
            config: &self.config,
            passwords: &self.passwords,
            keys: &self.keys,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn advance(&self, secs: i64) {
        self.clock.advance(secs);
    }

    pub fn conn(&self) -> PooledConn {
        self.pool.get().expect("connection")
    }

    /// A verified account with [`PASSWORD`] and `roles` (plus `user`).
    pub fn user(&self, email: &str, roles: &[&str]) -> User {
        let input = NewUser {
            email: email.into(),
            name: email.split('@').next().unwrap_or("someone").into(),
            password: Secret::new(PASSWORD.to_string()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            email_verified: true,
        };
        users::create_user(&self.pool, &self.passwords, &input, self.now())
            .expect("create user")
            .user
    }

    /// Audit rows of `event`, newest first.
    pub fn audit(&self, event: &str) -> Vec<audit::Row> {
        let f = Filter {
            event: Some(event.into()),
            ..Filter::default()
        };
        audit::query(&mut self.conn(), &f, 1000).expect("audit query")
    }

    /// The detail object of an audit row.
    pub fn detail(row: &audit::Row) -> serde_json::Value {
        serde_json::from_str(&row.detail).expect("detail JSON")
    }
}

/// A signed-in actor (a session, proved at `at`).
pub fn admin_actor(user: &User, at: i64) -> Actor {
    Actor::anonymous("192.0.2.10", "test").signed_in(&user.id, "sid-of-admin", at)
}

/// The state of a signed-in session of `user` with public id `sid`.
pub fn signed_in_state(user_id: &str, sid: &str, at: i64) -> State {
    HashMap::from([
        (keys::USER_ID.into(), format!("\"{user_id}\"")),
        (keys::SID.into(), format!("\"{sid}\"")),
        (keys::AUTH_TIME.into(), at.to_string()),
        (keys::IP.into(), "\"192.0.2.4\"".into()),
        (keys::USER_AGENT.into(), "\"test browser\"".into()),
    ])
}
