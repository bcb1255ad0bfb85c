//! Files the server writes hold secrets: owner-only whatever the umask.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use diesel::prelude::*;

use super::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs the binary in `dir` with nothing configured (data in `./data`,
/// SQLite), under the common umask 022.
fn run_022(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("sh")
        .args(["-c", "umask 022 && exec \"$0\" \"$@\"", BIN])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTCULLIS_PASSWORD__BCRYPT_COST", "4")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    out
}

#[test]
fn data_dir_database_key_and_backups_are_owner_only_and_old_ones_are_tightened() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let db = data.join("portcullis.db");
    let kek = data.join(core_auth::keys::kek::FILE_NAME);
    run_022(dir, &["migrate"]);
    run_022(dir, &["keys", "rotate"]);
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&db), 0o600, "database");
    assert_eq!(mode(&kek), 0o600, "key-encryption key");

    std::fs::create_dir(dir.join("backups")).unwrap();
    run_022(dir, &["backup", "backups/b.db"]);
    let backup = dir.join("backups/b.db");
    assert_eq!(mode(&backup), 0o600, "backup");
    assert_eq!(
        mode(&dir.join("backups/b.key-encryption-key")),
        0o600,
        "the key beside the backup"
    );
    // A complete copy.
    let mut copy = diesel::SqliteConnection::establish(&backup.to_string_lossy()).unwrap();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let keys: N = diesel::sql_query("SELECT count(*) AS n FROM signing_keys")
        .get_result(&mut copy)
        .unwrap();
    assert!(keys.n > 0);
    let again = Command::new(BIN)
        .args(["backup", "backups/b.db"])
        .current_dir(dir)
        .env_clear()
        .output()
        .unwrap();
    assert_user_error(&again, "already exists");

    // Left open by an older version: tightened at start, and said so.
    for (p, m) in [(&data, 0o755), (&db, 0o644), (&kek, 0o644)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    let out = run_022(dir, &["keys", "rotate"]);
    assert_eq!((mode(&data), mode(&db), mode(&kek)), (0o700, 0o600, 0o600));
    let logs = text(&out.stderr);
    assert_eq!(
        logs.matches("permissions tightened").count(),
        3,
        "one warning per file: {logs}"
    );
}
