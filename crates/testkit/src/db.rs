//! One database per test.

use std::path::PathBuf;

use core_auth::db::{self, migrate, DbConn, DbUrl};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// Environment variable naming the PostgreSQL server tests use.
pub const PG_ENV: &str = "PORTCULLIS_TEST_DATABASE_URL";

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    url: String,
    backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>, // (admin url, database name)
}

impl TestDb {
    /// A fresh, migrated database on the backend the environment selects.
    pub fn new() -> TestDb {
        match std::env::var(PG_ENV).ok().filter(|v| !v.is_empty()) {
            Some(admin) => Self::postgres(&admin),
            None => Self::sqlite(),
        }
    }

    /// A fresh SQLite file in its own temporary directory, migrated.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path: PathBuf = dir.path().join("test.db");
        let url = format!("sqlite://{}", path.display());
        let pool = db::pool_for(DbUrl::Sqlite(path), 1, 5, 5000).expect("sqlite pool");
        migrate::run_pending(&mut pool.get().expect("conn")).expect("migrate");
        TestDb {
            url,
            backend: "sqlite",
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A new PostgreSQL database cloned from a migrated template. The
    /// template is named after a hash of the migrations, so a change to any
    /// migration builds a new one.
    pub fn postgres(admin_url: &str) -> TestDb {
        let template = format!("portcullis_tpl_{}", migrations_hash());
        let name = format!("portcullis_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("cannot connect to {admin_url}: {e}"));
        // Serialise template creation and cloning: CREATE DATABASE ...
        // TEMPLATE needs nobody connected to the template.
        admin
            .batch_execute("SELECT pg_advisory_lock(7320170001)")
            .expect("advisory lock");
        let exists: i64 = diesel::sql_query(format!(
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
            url: with_db(admin_url, &name),
            backend: "postgres",
            _dir: None,
            pg: Some((admin_url.to_string(), name)),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// A directory for this test's data (the SQLite file's, or a new one).
    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
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

/// `admin_url` with its database replaced by `db`.
pub fn with_db(admin_url: &str, db: &str) -> String {
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
    let mut files: Vec<PathBuf> = walk(&root);
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

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
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
