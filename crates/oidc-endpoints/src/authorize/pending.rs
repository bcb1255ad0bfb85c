//! Authorization requests waiting for a sign-in or consent, kept in the
//! server-side session under a random id (so any node can resume them).

use std::collections::HashMap;

use actix_session::Session;
use core_auth::oidc::authorize::AuthzRequest;
use core_auth::secret::random_token;
use web_kit::errors::PageError;

const KEY: &str = "authz";
const MAX_PENDING: usize = 5;
/// A pending request older than this is dropped.
const MAX_AGE: i64 = 3600;

fn load(session: &Session) -> HashMap<String, AuthzRequest> {
    session
        .get::<HashMap<String, AuthzRequest>>(KEY)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn save(session: &Session, map: &HashMap<String, AuthzRequest>) -> Result<(), PageError> {
    session
        .insert(KEY, map)
        .map_err(|e| PageError::BadRequest(format!("session: {e}")))
}

/// Stores `req`; returns its id.
pub fn put(session: &Session, req: &AuthzRequest, now: i64) -> Result<String, PageError> {
    let mut map = load(session);
    map.retain(|_, r| now - r.requested_at < MAX_AGE);
    while map.len() >= MAX_PENDING {
        let oldest = map
            .iter()
            .min_by_key(|(_, r)| r.requested_at)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => map.remove(&k),
            None => break,
        };
    }
    let rid = random_token().into_inner()[..22].to_string();
    map.insert(rid.clone(), req.clone());
    save(session, &map)?;
    Ok(rid)
}

pub fn get(session: &Session, rid: &str, now: i64) -> Option<AuthzRequest> {
    load(session)
        .remove(rid)
        .filter(|r| now - r.requested_at < MAX_AGE)
}

pub fn remove(session: &Session, rid: &str) -> Result<(), PageError> {
    let mut map = load(session);
    if map.remove(rid).is_some() {
        save(session, &map)?;
    }
    Ok(())
}
