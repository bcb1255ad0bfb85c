//! The one piece of shared state: cloned into every worker as `web::Data`.

use std::sync::Arc;

use actix_web::web;
use core_auth::db::DbConn;
use core_auth::password::Passwords;
use core_auth::sessions::Timeouts;
use core_auth::{Clock, Config, CoreError, CoreResult, DbPool, UnixTime};

#[derive(Clone, Debug)]
pub struct AppContext {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
}

impl AppContext {
    pub fn new(pool: DbPool, config: Config, clock: Arc<dyn Clock>) -> Self {
        let passwords = Passwords::new(&config.password);
        Self {
            pool,
            config: Arc::new(config),
            clock,
            passwords,
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn session_timeouts(&self) -> Timeouts {
        Timeouts::from(&self.config.session)
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> CoreResult<T>
    where
        F: FnOnce(&mut DbConn) -> CoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` on the blocking pool (bcrypt, RSA, anything that takes the
    /// pool itself).
    pub async fn run<T, F>(&self, f: F) -> CoreResult<T>
    where
        F: FnOnce(&AppContext) -> CoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let ctx = self.clone();
        blocking(move || f(&ctx)).await
    }
}

async fn blocking<T, F>(f: F) -> CoreResult<T>
where
    F: FnOnce() -> CoreResult<T> + Send + 'static,
    T: Send + 'static,
{
    web::block(f)
        .await
        .map_err(|e| CoreError::Unavailable(format!("blocking task failed: {e}")))?
}
