//! Start-up: directories, database, migrations, the first admin.

use std::sync::Arc;

use core_auth::actor::Actor;
use core_auth::admin::provision;
use core_auth::db::{self, migrate};
use core_auth::keys::kek::{self, KekSource};
use core_auth::keys::{store, Kek, KeyRing};
use core_auth::secret::Secret;
use core_auth::{Clock, Config, Core, CoreError, CoreResult, DbPool};
use web_kit::AppContext;

/// Creates the data directory (mode 0700; an existing one open to others is
/// tightened), connects, applies pending migrations.
pub fn open_database(cfg: &Config) -> CoreResult<DbPool> {
    db::files::private_dir(&cfg.data_dir).map_err(|e| {
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

/// The key-encryption key, from `PORTCULLIS_KEY_ENCRYPTION_KEY` (passed in
/// as `env_value`) or the data directory.
pub fn key_encryption_key(cfg: &Config, env_value: Option<&str>) -> CoreResult<Kek> {
    let (kek, source) = Kek::resolve(env_value, &cfg.data_dir)?;
    match source {
        KekSource::Environment => tracing::info!(
            "signing keys are encrypted with the key from {}",
            kek::ENV_VAR
        ),
        KekSource::File(p) => {
            tracing::info!(path = %p.display(), "signing keys are encrypted with the key-encryption key file")
        }
        KekSource::Generated(p) => tracing::warn!(
            path = %p.display(),
            "generated a development key-encryption key; in production set {} (the same on every node)",
            kek::ENV_VAR
        ),
    }
    Ok(kek)
}

/// Makes sure signing keys exist and rotates them when due; then loads
/// the key ring.
pub fn key_ring(pool: &DbPool, cfg: &Config, kek: Kek, now: i64) -> CoreResult<KeyRing> {
    store::maintain(pool, &kek, cfg, &Actor::system(), now, false)?;
    let mut conn = pool.get()?;
    let ring = KeyRing::load(&mut conn, kek, now)?;
    ring.attach_pool(pool.clone());
    Ok(ring)
}

/// Everything the server needs, ready to serve. `kek_env` is the value of
/// `PORTCULLIS_KEY_ENCRYPTION_KEY`, if set.
pub fn context(
    cfg: Config,
    clock: Arc<dyn Clock>,
    kek_env: Option<&str>,
) -> CoreResult<AppContext> {
    let pool = open_database(&cfg)?;
    let kek = key_encryption_key(&cfg, kek_env)?;
    let ring = key_ring(&pool, &cfg, kek, clock.now())?;
    warn_about_unsigned_clients(&pool, &cfg)?;
    if let Err(why) = core_auth::mfa::passkeys::availability(&cfg) {
        // Said once here and on the pages, instead of failing obscurely
        // when someone tries to add one.
        tracing::warn!(issuer = %cfg.issuer, "passkeys are off: {why}");
    }
    Ok(AppContext::new(pool, cfg, clock, Arc::new(ring)))
}

/// Clients registered with an algorithm taken out of `keys.algorithms`
/// since: their token requests fail until it is listed again or they are
/// moved to another algorithm. Said once at start, by client.
fn warn_about_unsigned_clients(pool: &DbPool, cfg: &Config) -> CoreResult<()> {
    let mut conn = pool.get()?;
    for c in core_auth::clients::list(&mut conn)? {
        let alg = c.id_token_signed_response_alg;
        if !cfg.keys.algorithms.contains(&alg) {
            tracing::warn!(
                client_id = %c.client_id,
                %alg,
                "this client's tokens are signed with {alg}, which keys.algorithms no longer lists: its token requests fail until {alg} is listed again or the client is given another algorithm"
            );
        }
    }
    Ok(())
}

/// The first administrator, from `PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL` and
/// `PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD` (`core_auth::admin::provision::first_admin`,
/// audited as the server itself). Does nothing when neither is set or the
/// account already exists (its password is never reset from here).
pub fn bootstrap_admin(
    core: &Core<'_>,
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
    match provision::first_admin(core, &Actor::system(), &email, password, now) {
        Ok(created) => Ok(created.map(|u| u.user.id)),
        Err(CoreError::Validation(v)) => Err(CoreError::Config(format!("bootstrap admin: {v}"))),
        Err(e) => Err(e),
    }
}
