//! `portcullis backup FILE`: an online, consistent copy of a SQLite
//! database (`VACUUM INTO`), while the server keeps serving. PostgreSQL
//! databases are backed up with PostgreSQL's own tools (docs/deployment.md).

use std::path::Path;

use core_auth::db::{DbConn, DbUrl};
use core_auth::keys::kek;
use core_auth::{Config, CoreError};
use diesel::connection::SimpleConnection;

use crate::cli::UserError;

pub fn run(cfg: &Config, file: &Path) -> Result<(), UserError> {
    if file.exists() {
        return Err(UserError(format!(
            "{} already exists; choose a new file name",
            file.display()
        )));
    }
    match DbUrl::parse(&cfg.database_url)? {
        DbUrl::Postgres(_) => {
            return Err(UserError(
                "this server uses PostgreSQL: back it up with pg_dump (see docs/deployment.md)"
                    .into(),
            ))
        }
        DbUrl::Sqlite(_) => {}
    }
    let pool = crate::bootstrap::open_database(cfg)?;
    let mut conn = pool.get().map_err(CoreError::from)?;
    let target = file.to_string_lossy().replace('\'', "''");
    match &mut *conn {
        DbConn::Sqlite(c) => c
            .batch_execute(&format!("VACUUM INTO '{target}'"))
            .map_err(|e| UserError(format!("backup failed: {e}")))?,
        DbConn::Postgresql(_) => return Err(UserError("not a SQLite database".into())),
    }
    println!("database copied to {}", file.display());
    // The signing keys in the copy are encrypted: the copy is only useful
    // with the same key-encryption key.
    let kek_file = cfg.data_dir.join(kek::FILE_NAME);
    if std::env::var(kek::ENV_VAR).is_err() && kek_file.exists() {
        let copy = file.with_extension("key-encryption-key");
        copy_private(&kek_file, &copy)?;
        println!(
            "key-encryption key copied to {} (keep it as safe as the database; restore it as {}/{})",
            copy.display(),
            cfg.data_dir.display(),
            kek::FILE_NAME
        );
    } else {
        println!(
            "the signing keys are encrypted with {}: keep that value to restore",
            kek::ENV_VAR
        );
    }
    Ok(())
}

fn copy_private(from: &Path, to: &Path) -> Result<(), UserError> {
    std::fs::copy(from, to).map_err(|e| UserError(format!("copying {}: {e}", from.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| UserError(format!("{}: {e}", to.display())))?;
    }
    Ok(())
}
