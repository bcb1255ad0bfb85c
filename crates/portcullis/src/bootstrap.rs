//! Start-up: directories, database, migrations, the first admin.

use std::sync::Arc;

use core_auth::db::{self, migrate};
use core_auth::password::Passwords;
use core_auth::secret::Secret;
use core_auth::users::{self, NewUser, ROLE_ADMIN};
use core_auth::{Clock, Config, CoreError, CoreResult, DbPool};
use oidc_endpoints::AppContext;

/// Creates the data directory, connects, applies pending migrations.
pub fn open_database(cfg: &Config) -> CoreResult<DbPool> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
        CoreError::Config(format!(
            "data_dir: cannot create {}: {e}",
            cfg.data_dir.display()
        ))
    })?;
    let pool = db::connect_pool(cfg)?;
    let mut conn = pool.get()?;
    let applied = migrate::run_pending(&mut conn)?;
    for v in &applied {
        tracing::info!(version = %v, "migration applied");
    }
    Ok(pool)
}

/// Everything the server needs, ready to serve.
pub fn context(cfg: Config, clock: Arc<dyn Clock>) -> CoreResult<AppContext> {
    let pool = open_database(&cfg)?;
    Ok(AppContext::new(pool, cfg, clock))
}

/// The first administrator, from `PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL` and
/// `PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD`. Does nothing when neither is set
/// or the account already exists (its password is never reset from here).
pub fn bootstrap_admin(
    pool: &DbPool,
    passwords: &Passwords,
    email: Option<String>,
    password: Option<Secret>,
    now: i64,
) -> CoreResult<Option<String>> {
    let (email, password) = match (email, password) {
        (None, None) => return Ok(None),
        (Some(e), Some(p)) if !e.trim().is_empty() && !p.is_empty() => (e, p),
        _ => {
            return Err(CoreError::Config(
                "set both PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL and PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD, or neither".into(),
            ))
        }
    };
    {
        let mut conn = pool.get()?;
        if users::find_by_email(&mut conn, &email)?.is_some() {
            return Ok(None);
        }
    }
    let input = NewUser {
        email,
        name: "Administrator".into(),
        password,
        roles: vec![ROLE_ADMIN.into()],
        email_verified: true,
    };
    match users::create_user(pool, passwords, &input, now) {
        Ok(u) => Ok(Some(u.user.id)),
        Err(CoreError::EmailTaken) => Ok(None),
        Err(CoreError::Validation(v)) => Err(CoreError::Config(format!("bootstrap admin: {v}"))),
        Err(e) => Err(e),
    }
}
