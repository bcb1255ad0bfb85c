//! Embedded migrations for both backends. The two trees under `migrations/`
//! have the same versions and names.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConn;
use crate::error::{CoreError, CoreResult};

pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A fixed key for `pg_advisory_lock`, so nodes starting together migrate one
/// at a time.
const PG_MIGRATION_LOCK: i64 = 0x506f_7274_6375_6c6c; // "Portcull"

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConn) -> CoreResult<Vec<String>> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(|m| m.to_string()).collect()),
        DbConn::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
            let r = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(|m| m.to_string()).collect());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))?;
            r
        }
    };
    let applied: Vec<String> = applied.map_err(|e| CoreError::Migration(e.to_string()))?;
    // Users who existed before the search table get their terms now.
    if applied.iter().any(|v| v.ends_with("000006")) {
        let n = crate::admin::search::backfill(conn)?;
        if n > 0 {
            tracing::info!(users = n, "search terms built for existing users");
        }
    }
    Ok(applied)
}

/// Reverts every applied migration (tests and disaster recovery only).
pub fn revert_all(conn: &mut DbConn) -> CoreResult<Vec<String>> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c
            .revert_all_migrations(SQLITE)
            .map(|v| v.iter().map(|m| m.to_string()).collect()),
        DbConn::Postgresql(c) => c
            .revert_all_migrations(POSTGRES)
            .map(|v| v.iter().map(|m| m.to_string()).collect()),
    };
    reverted.map_err(|e| CoreError::Migration(e.to_string()))
}

/// Versions of the migrations not yet applied.
pub fn pending(conn: &mut DbConn) -> CoreResult<Vec<String>> {
    let p = match conn {
        DbConn::Sqlite(c) => c
            .pending_migrations(SQLITE)
            .map(|v| v.iter().map(|m| m.name().to_string()).collect()),
        DbConn::Postgresql(c) => c
            .pending_migrations(POSTGRES)
            .map(|v| v.iter().map(|m| m.name().to_string()).collect()),
    };
    p.map_err(|e| CoreError::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use diesel::migration::MigrationSource;

    use super::*;

    /// The two trees must name the same migrations in the same order.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &EmbeddedMigrations| -> Vec<String> {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(m)
                .unwrap()
                .iter()
                .map(|m| m.name().to_string())
                .collect()
        };
        let s = names(&SQLITE);
        assert!(!s.is_empty());
        assert_eq!(s, names(&POSTGRES));
    }
}
