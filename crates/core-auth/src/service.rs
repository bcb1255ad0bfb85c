//! [`Core`]: what every use case may need (storage, configuration,
//! password hashing, keys), borrowed from whichever face calls it: the web
//! context of the pages, console and API, or the command line's.

use crate::accounts::Mailer;
use crate::config::Config;
use crate::db::{DbConn, DbPool, PooledConn};
use crate::error::CoreResult;
use crate::keys::kek::Kek;
use crate::keys::KeyRing;
use crate::oidc::Oidc;
use crate::password::Passwords;

#[derive(Clone, Copy)]
pub struct Core<'a> {
    pub pool: &'a DbPool,
    pub config: &'a Config,
    pub passwords: &'a Passwords,
    pub keys: &'a KeyRing,
}

impl<'a> Core<'a> {
    /// A pooled connection.
    pub fn conn(&self) -> CoreResult<PooledConn> {
        Ok(self.pool.get()?)
    }

    pub fn kek(&self) -> &'a Kek {
        self.keys.kek()
    }

    pub fn mailer(&self) -> Mailer<'a> {
        Mailer {
            config: self.config,
            kek: self.keys.kek(),
        }
    }

    pub fn oidc(&self) -> Oidc<'a> {
        Oidc {
            pool: self.pool,
            keys: self.keys,
            config: self.config,
        }
    }
}

/// Runs `f` with a connection of `core`'s pool.
pub fn with_conn<T>(
    core: &Core<'_>,
    f: impl FnOnce(&mut DbConn) -> CoreResult<T>,
) -> CoreResult<T> {
    let mut conn = core.conn()?;
    f(&mut conn)
}
