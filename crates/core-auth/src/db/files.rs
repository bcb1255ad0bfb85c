//! Files Portcullis writes hold secrets (the SQLite database, backups,
//! the key-encryption key, queued mail with live links), so they are
//! owner-only whatever the umask: files 0600, directories 0700. Files and
//! directories found more open than that are tightened, with a warning.
//! On systems other than Unix these are plain creations.

use std::fs::File;
use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// The mode of every file Portcullis writes.
pub const FILE_MODE: u32 = 0o600;
/// The mode of every directory Portcullis creates.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents with mode 0700; an existing
/// `dir` open to group or others is tightened.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(DIR_MODE);
    b.create(dir)?;
    tighten(dir).map(|_| ())
}

/// Creates the missing parents of `path` with mode 0700 (existing ones are
/// left as they are: they may be shared directories).
pub fn private_parents(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) if !parent.exists() => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            b.mode(DIR_MODE);
            b.create(parent)
        }
        _ => Ok(()),
    }
}

/// A new, empty file with mode 0600; fails if `path` exists.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(FILE_MODE);
    o.open(path)
}

/// Makes sure `path` exists with mode 0600: created empty when missing,
/// tightened when open to group or others.
pub fn private_file(path: &Path) -> io::Result<()> {
    match create_private(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tighten(path).map(|_| ()),
        Err(e) => Err(e),
    }
}

/// Takes group and other permissions away from `path` if it has any (and
/// says so in the log). Nothing happens when it does not exist; when the
/// mode cannot be changed (not our file) a warning says so and start-up
/// goes on. True when the mode changed.
pub fn tighten(path: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 == 0 {
            return Ok(false);
        }
        let new = mode & 0o700;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(new)) {
            // Not ours to change (a directory made by the container
            // runtime, say): say so, and go on.
            tracing::warn!(
                path = %path.display(),
                mode = %format!("{mode:04o}"),
                error = %e,
                "readable by other users and the permissions cannot be tightened"
            );
            return Ok(false);
        }
        tracing::warn!(
            path = %path.display(),
            was = %format!("{mode:04o}"),
            now = %format!("{new:04o}"),
            "permissions tightened: this file holds secrets and was readable by other users"
        );
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_owner_only_and_tightens_what_it_finds() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700, "parents too");
        let f = dir.join("f");
        private_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert!(create_private(&f).is_err(), "never over an existing file");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_file(&f).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!((mode(&f), mode(&dir)), (0o600, 0o700));
        assert!(!tighten(&f).unwrap(), "nothing left to do");
        assert!(!tighten(&dir.join("missing")).unwrap());
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_parents(&shared.join("x/db")).unwrap();
        assert_eq!(mode(&shared), 0o755, "an existing parent is left alone");
        assert_eq!(mode(&shared.join("x")), 0o700);
    }
}
