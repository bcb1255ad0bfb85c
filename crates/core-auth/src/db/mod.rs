//! Storage: one diesel connection type over SQLite and PostgreSQL, chosen at
//! run time by the `database_url` scheme, pooled with r2d2.

pub mod files;
pub mod group;
pub mod migrate;
pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;

use crate::config::Config;
use crate::error::{CoreError, CoreResult};

/// A connection to either backend. Domain code takes `&mut DbConn`.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = r2d2::Pool<ConnManager>;
pub type PooledConn = r2d2::PooledConnection<ConnManager>;

/// Which backend a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbUrl {
    /// `sqlite://PATH` (`sqlite:///abs/path` for absolute), `sqlite:PATH`, a
    /// bare file path, or `postgres://` / `postgresql://`. Anything else is a
    /// clear error.
    pub fn parse(url: &str) -> CoreResult<DbUrl> {
        let url = url.trim();
        if url.is_empty() {
            return Err(CoreError::Config("database_url: empty".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        let path = if let Some(p) = url.strip_prefix("sqlite://") {
            p
        } else if let Some(p) = url.strip_prefix("sqlite:") {
            p
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(CoreError::Config(format!(
                "database_url: unsupported scheme `{scheme}`; use sqlite://PATH or postgres://USER@HOST/DB"
            )));
        } else {
            url
        };
        if path.is_empty() || path.contains(":memory:") || path.starts_with("file:") {
            return Err(CoreError::Config(
                "database_url: give SQLite a file path (in-memory databases are not shared between connections)".into(),
            ));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(path)))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            DbUrl::Sqlite(_) => "sqlite",
            DbUrl::Postgres(_) => "postgres",
        }
    }
}

/// Opens connections of the backend the URL names, with SQLite tuned for a
/// server: WAL, foreign keys, a busy timeout.
#[derive(Debug, Clone)]
pub struct ConnManager {
    url: DbUrl,
    busy_timeout_ms: u64,
}

impl ConnManager {
    pub fn new(url: DbUrl, busy_timeout_ms: u64) -> Self {
        Self {
            url,
            busy_timeout_ms,
        }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    pub fn establish(&self) -> Result<DbConn, diesel::r2d2::Error> {
        match &self.url {
            DbUrl::Postgres(u) => diesel::PgConnection::establish(u)
                .map(DbConn::Postgresql)
                .map_err(diesel::r2d2::Error::ConnectionError),
            DbUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut c = diesel::SqliteConnection::establish(&path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // auto_vacuum takes effect on a new, empty database only
                // (before its first table and before WAL mode): there
                // pruning can give freed pages back to the file system
                // (`prune::give_back_space`). The busy timeout comes first:
                // on a new file these pragmas take the write lock.
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA auto_vacuum = INCREMENTAL; \
                     PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// Builds the pool for `cfg.database_url`, creating the SQLite file's
/// directory when needed. Fails when no connection can be made within the
/// configured timeout.
pub fn connect_pool(cfg: &Config) -> CoreResult<DbPool> {
    let url = DbUrl::parse(&cfg.database_url)?;
    pool_for(
        url,
        cfg.database.pool_size,
        cfg.database.connect_timeout_secs,
        cfg.database.busy_timeout_ms,
    )
}

pub fn pool_for(
    url: DbUrl,
    size: u32,
    timeout_secs: u64,
    busy_timeout_ms: u64,
) -> CoreResult<DbPool> {
    if let DbUrl::Sqlite(path) = &url {
        private_sqlite_files(path)?;
    }
    let manager = ConnManager::new(url, busy_timeout_ms);
    // Fail fast with the real error rather than r2d2's timeout message.
    let probe = manager
        .establish()
        .map_err(|e| CoreError::Unavailable(e.to_string()))?;
    drop(probe);
    r2d2::Pool::builder()
        .max_size(size)
        // No background replenishment: a connection is opened when one is
        // needed and then kept. (A replenishing thread still inside libpq
        // when a short-lived process such as the CLI exits can crash it.)
        .min_idle(Some(0))
        // No `SELECT 1` before every use: a broken connection shows itself
        // by failing, and r2d2 then discards it (`has_broken`).
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(timeout_secs.max(1)))
        .build(manager)
        .map_err(CoreError::from)
}

/// The SQLite database is created empty with mode 0600 before SQLite opens
/// it (SQLite gives its `-wal` and `-shm` files the database file's mode);
/// an existing one, and its side files, are tightened. Missing directories
/// on the way are created 0700.
fn private_sqlite_files(path: &std::path::Path) -> CoreResult<()> {
    files::private_parents(path).map_err(|e| {
        CoreError::Config(format!(
            "database_url: cannot create the directory of {}: {e}",
            path.display()
        ))
    })?;
    files::private_file(path).map_err(|e| {
        CoreError::Config(format!(
            "database_url: cannot create {}: {e}",
            path.display()
        ))
    })?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        files::tighten(std::path::Path::new(&side))
            .map_err(|e| CoreError::Config(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

impl DbConn {
    pub fn backend(&self) -> &'static str {
        match self {
            DbConn::Postgresql(_) => "postgres",
            DbConn::Sqlite(_) => "sqlite",
        }
    }
}

/// Runs `f` in a write transaction. On SQLite the transaction starts with
/// `BEGIN IMMEDIATE`, so it holds the write lock from the start and never
/// fails half-way with `SQLITE_BUSY` on a lock upgrade; on PostgreSQL it is
/// an ordinary transaction (use `FOR UPDATE` where rows must be locked).
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    // Inside an open transaction: a savepoint, as diesel nests them.
    let depth = <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(E::from)?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Postgresql(_) => {
            <DbConn as Connection>::TransactionManager::begin_transaction(conn)?
        }
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback leaves the connection broken; r2d2 drops it.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// True when the database answers a trivial query.
pub fn ping(conn: &mut DbConn) -> bool {
    conn.ping().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes_pick_the_backend() {
        assert_eq!(
            DbUrl::parse("sqlite://./data/p.db").unwrap(),
            DbUrl::Sqlite("./data/p.db".into())
        );
        assert_eq!(
            DbUrl::parse("sqlite:///var/lib/p.db").unwrap(),
            DbUrl::Sqlite("/var/lib/p.db".into())
        );
        assert_eq!(DbUrl::parse("p.db").unwrap(), DbUrl::Sqlite("p.db".into()));
        assert_eq!(
            DbUrl::parse("postgres://u@h/db").unwrap().backend(),
            "postgres"
        );
        assert_eq!(
            DbUrl::parse("postgresql://u@h/db").unwrap().backend(),
            "postgres"
        );
        let e = DbUrl::parse("mysql://root@localhost/x").unwrap_err();
        assert!(e.to_string().contains("unsupported scheme `mysql`"), "{e}");
        assert!(DbUrl::parse("sqlite::memory:").is_err());
        assert!(DbUrl::parse("").is_err());
    }

    #[test]
    fn sqlite_connections_use_wal_and_foreign_keys() {
        #[derive(QueryableByName)]
        struct Mode {
            #[diesel(sql_type = diesel::sql_types::Text)]
            journal_mode: String,
        }
        #[derive(QueryableByName)]
        struct Fk {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            foreign_keys: i32,
        }
        let dir = tempfile::tempdir().unwrap();
        let pool = pool_for(DbUrl::Sqlite(dir.path().join("a/b.db")), 2, 5, 1000).unwrap();
        let mut c = pool.get().unwrap();
        let DbConn::Sqlite(inner) = &mut *c else {
            panic!("sqlite expected")
        };
        let m: Mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result(inner)
            .unwrap();
        assert_eq!(m.journal_mode, "wal");
        let f: Fk = diesel::sql_query("PRAGMA foreign_keys")
            .get_result(inner)
            .unwrap();
        assert_eq!(f.foreign_keys, 1);
        assert!(ping(&mut c));
    }

    #[cfg(unix)]
    #[test]
    fn sqlite_files_are_owner_only_and_too_open_ones_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .permissions()
                .mode()
                & 0o777
        };
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/p.db");
        let side = |s: &str| dir.path().join(format!("data/p.db{s}"));
        {
            let pool = pool_for(DbUrl::Sqlite(db.clone()), 1, 5, 1000).unwrap();
            let mut c = pool.get().unwrap();
            c.batch_execute("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('secret')")
                .unwrap();
            assert_eq!(mode(&db), 0o600);
            assert_eq!(mode(&dir.path().join("data")), 0o700);
            // SQLite gives its side files the database file's mode.
            assert_eq!((mode(&side("-wal")), mode(&side("-shm"))), (0o600, 0o600));
        }
        // Files left too open (an older version, a copy) are tightened.
        std::fs::write(side("-wal"), b"").unwrap();
        for p in [db.clone(), side("-wal")] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        private_sqlite_files(&db).unwrap();
        assert_eq!((mode(&db), mode(&side("-wal"))), (0o600, 0o600));
    }
}
