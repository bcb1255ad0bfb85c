//! actix-session's storage backend. A signed-in session is a row in our
//! database: every node sees it, and a deleted row is a dead cookie. An
//! anonymous session's state is sealed into the cookie itself
//! ([`core_auth::sealed_state`]): a visitor who has not signed in writes no
//! row, unless their state is too large for a cookie.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use core_auth::sealed_state::{self, Sealer};
use core_auth::sessions::{self, keys};

use crate::context::AppContext;

#[derive(Clone)]
pub struct DbSessionStore {
    ctx: AppContext,
    sealer: Sealer,
}

impl DbSessionStore {
    /// `master`: the (secret, shared) cookie key the sealing key comes from.
    pub fn new(ctx: AppContext, master: &[u8]) -> Self {
        Self {
            ctx,
            sealer: Sealer::derive(master),
        }
    }

    /// Seals anonymous state into the cookie; stores a row for signed-in
    /// state and for state too large to seal.
    async fn store(&self, state: HashMap<String, String>) -> Result<SessionKey, anyhow::Error> {
        let now = self.ctx.now();
        if !state.contains_key(keys::USER_ID) {
            if let Some(sealed) = self.sealer.seal(&state, now) {
                return key_of(sealed);
            }
        }
        let max = self.ctx.config.session.max_per_user;
        let key = self
            .ctx
            .db(move |c| sessions::create(c, &state, now, max))
            .await?;
        key_of(key.into_inner())
    }
}

fn key_of(s: String) -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(s).map_err(|e| anyhow::anyhow!("{e}"))
}

impl SessionStore for DbSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let key = session_key.as_ref().to_string();
        let (now, t) = (self.ctx.now(), self.ctx.session_timeouts());
        if sealed_state::is_sealed(&key) {
            return Ok(self.sealer.open(&key, now, t.idle));
        }
        self.ctx
            .db(move |c| sessions::load(c, &key, now, t))
            .await
            .map_err(|e| LoadError::Other(e.into()))
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        _ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        self.store(state).await.map_err(SaveError::Other)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: HashMap<String, String>,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let key = session_key.as_ref().to_string();
        if sealed_state::is_sealed(&key) {
            // Sealed state is rewritten whole (sealed again, or a row once
            // signed in or too large).
            return self.store(state).await.map_err(UpdateError::Other);
        }
        let now = self.ctx.now();
        let max = self.ctx.config.session.max_per_user;
        // A session deleted meanwhile stays deleted; the cookie then points
        // at nothing and the next request is anonymous.
        self.ctx
            .db(move |c| sessions::update(c, &key, &state, now, max))
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        Ok(session_key)
    }

    async fn update_ttl(
        &self,
        _session_key: &SessionKey,
        _ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        // Expiry is ours (idle and absolute timeouts in `sessions::load`).
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let key = session_key.as_ref().to_string();
        if sealed_state::is_sealed(&key) {
            return Ok(());
        }
        self.ctx
            .db(move |c| sessions::delete(c, &key))
            .await
            .map_err(anyhow::Error::from)
    }
}
