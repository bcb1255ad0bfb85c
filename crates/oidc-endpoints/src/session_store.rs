//! actix-session's storage backend, in our database: every node sees every
//! session, and a deleted row is a dead cookie.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use core_auth::sessions;

use crate::context::AppContext;

#[derive(Clone)]
pub struct DbSessionStore {
    ctx: AppContext,
}

impl DbSessionStore {
    pub fn new(ctx: AppContext) -> Self {
        Self { ctx }
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
        let now = self.ctx.now();
        let key = self
            .ctx
            .db(move |c| sessions::create(c, &state, now))
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        key_of(key.into_inner()).map_err(SaveError::Other)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: HashMap<String, String>,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let key = session_key.as_ref().to_string();
        let now = self.ctx.now();
        // A session deleted meanwhile stays deleted; the cookie then points
        // at nothing and the next request is anonymous.
        self.ctx
            .db(move |c| sessions::update(c, &key, &state, now))
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
        self.ctx
            .db(move |c| sessions::delete(c, &key))
            .await
            .map_err(anyhow::Error::from)
    }
}
