//! `portcullis backup FILE`: an online, consistent copy of a SQLite
//! database (`VACUUM INTO`), while the server keeps serving. PostgreSQL
//! databases are backed up with PostgreSQL's own tools (docs/deployment.md).

use std::path::Path;

use core_auth::db::{files, DbConn, DbUrl};
use core_auth::keys::kek;
use core_auth::{Config, CoreError};
use diesel::connection::SimpleConnection;

use crate::cli::UserError;

fn exists(file: &Path) -> UserError {
    UserError(format!(
        "{} already exists; choose a new file name",
        file.display()
    ))
}

pub fn run(cfg: &Config, file: &Path) -> Result<(), UserError> {
    if file.exists() {
        return Err(exists(file));
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
    // The copy holds everything the database does: it is created empty
    // with mode 0600 first (`VACUUM INTO` fills an existing empty file and
    // keeps its mode).
    files::create_private(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(file),
        _ => UserError(format!("cannot create {}: {e}", file.display())),
    })?;
    let target = file.to_string_lossy().replace('\'', "''");
    let copied = match &mut *conn {
        DbConn::Sqlite(c) => c
            .batch_execute(&format!("VACUUM INTO '{target}'"))
            .map_err(|e| UserError(format!("backup failed: {e}"))),
        DbConn::Postgresql(_) => Err(UserError("not a SQLite database".into())),
    };
    if let Err(e) = copied {
        let _ = std::fs::remove_file(file);
        return Err(e);
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

/// Copies `from` into `to` (replacing it), created with mode 0600.
fn copy_private(from: &Path, to: &Path) -> Result<(), UserError> {
    let err = |e: std::io::Error| {
        UserError(format!(
            "copying {} to {}: {e}",
            from.display(),
            to.display()
        ))
    };
    let mut src = std::fs::File::open(from).map_err(err)?;
    match std::fs::remove_file(to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let mut dst = files::create_private(to).map_err(err)?;
    std::io::copy(&mut src, &mut dst)
        .and_then(|_| dst.sync_all())
        .map_err(err)?;
    Ok(())
}
