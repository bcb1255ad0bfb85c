//! Migrations apply up, down and up again on the selected backend.

use core_auth::db::{self, migrate, DbUrl};
use diesel::prelude::*;
use testkit::TestDb;

#[test]
fn migrations_run_up_down_and_up_again() {
    let tdb = TestDb::new();
    let pool = db::pool_for(DbUrl::parse(tdb.url()).unwrap(), 1, 5, 5000).unwrap();
    let mut c = pool.get().unwrap();
    // TestDb arrives migrated.
    assert!(migrate::pending(&mut c).unwrap().is_empty());
    let count = |c: &mut core_auth::DbConn| {
        core_auth::db::schema::roles::table
            .count()
            .get_result::<i64>(c)
    };
    assert_eq!(count(&mut c).unwrap(), 2, "built-in roles seeded");
    let reverted = migrate::revert_all(&mut c).unwrap();
    assert!(!reverted.is_empty());
    assert!(count(&mut c).is_err(), "tables are gone after reverting");
    let applied = migrate::run_pending(&mut c).unwrap();
    assert_eq!(applied.len(), reverted.len());
    assert_eq!(count(&mut c).unwrap(), 2);
    assert!(
        migrate::run_pending(&mut c).unwrap().is_empty(),
        "idempotent"
    );
}
