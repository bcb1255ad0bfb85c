//! The key ring: signers (the active key of each algorithm) and verifiers
//! (every published key) built once per key set (parsing a key costs far
//! more than using it), and the JWKS document serialized once.
//! Each node re-reads the key set from the database every
//! `keys.refresh_interval_secs`, and at once when it meets an unknown `kid`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use josekit::jwk::Jwk;
use josekit::jws::{JwsHeader, JwsSigner, JwsVerifier};
use serde::Serialize;

use super::alg::Algorithm;
use super::kek::Kek;
use super::store::{self, KeyRow};
use crate::clock::UnixTime;
use crate::db::{DbConn, DbPool};
use crate::error::{CoreError, CoreResult};

/// The active key of one algorithm.
struct Active {
    kid: String,
    signer: Box<dyn JwsSigner>,
}

/// One immutable snapshot of the keys.
pub struct KeySet {
    /// The active key of each algorithm that has one.
    active: HashMap<Algorithm, Active>,
    /// Every published key, by `kid`, with the one algorithm it verifies.
    verifiers: HashMap<String, (Algorithm, Box<dyn JwsVerifier>)>,
    jwks: Arc<[u8]>,
    fingerprint: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("active", &self.active_kids())
            .field("kids", &self.verifiers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// `alg:kid` of every active key, in the order of [`Algorithm::ALL`].
    fn active_kids(&self) -> Vec<String> {
        Algorithm::ALL
            .iter()
            .filter_map(|a| self.active.get(a).map(|k| format!("{a}:{}", k.kid)))
            .collect()
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a JWT")]
    Malformed,
    #[error("signed with an algorithm other than its key's")]
    Algorithm,
    #[error("signed by a key this server does not know")]
    UnknownKey,
    #[error("the signature is invalid")]
    Signature,
    #[error("the token type is {0:?}")]
    Type(Option<String>),
}

#[derive(Debug)]
pub struct KeyRing {
    kek: Kek,
    set: ArcSwap<KeySet>,
    loaded_at: AtomicI64,
    /// For reloading at once when a token names a key we have not seen
    /// (another node rotated); set by [`KeyRing::attach_pool`].
    pool: std::sync::OnceLock<DbPool>,
    /// When the last such forced reload happened (std::time, not the
    /// domain clock: this bounds reload storms from forged `kid`s).
    last_forced: std::sync::Mutex<Option<std::time::Instant>>,
}

fn fingerprint(rows: &[KeyRow]) -> String {
    rows.iter()
        .map(|r| format!("{}:{};", r.kid, r.state))
        .collect()
}

fn build(kek: &Kek, rows: &[KeyRow]) -> CoreResult<KeySet> {
    let mut verifiers = HashMap::new();
    let mut jwks = Vec::new();
    let mut active = HashMap::new();
    for r in rows {
        let alg = Algorithm::parse(&r.alg).ok_or_else(|| {
            CoreError::Crypto(format!(
                "stored key {} has an unknown algorithm {}",
                r.kid, r.alg
            ))
        })?;
        let jwk = Jwk::from_bytes(r.public_jwk.as_bytes())
            .map_err(|e| CoreError::Crypto(format!("stored JWK {}: {e}", r.kid)))?;
        verifiers.insert(r.kid.clone(), (alg, alg.verifier(&jwk, &r.kid)?));
        jwks.push(serde_json::Value::Object(jwk.as_ref().clone()));
        if r.state == "active" {
            let der = kek.decrypt(r.kid.as_bytes(), &r.private_key)?;
            let signer = alg.signer(&der, &r.kid)?;
            active.insert(
                alg,
                Active {
                    kid: r.kid.clone(),
                    signer,
                },
            );
        }
    }
    if !active.contains_key(&Algorithm::DEFAULT) {
        return Err(CoreError::Crypto(format!(
            "there is no active {} signing key",
            Algorithm::DEFAULT
        )));
    }
    let doc = serde_json::to_vec(&serde_json::json!({ "keys": jwks }))
        .map_err(|e| CoreError::Crypto(format!("JWKS: {e}")))?;
    Ok(KeySet {
        active,
        verifiers,
        jwks: Arc::from(doc.into_boxed_slice()),
        fingerprint: fingerprint(rows),
    })
}

impl KeyRing {
    /// Loads the key set; the lifecycle (`store::maintain`) must have run.
    pub fn load(conn: &mut DbConn, kek: Kek, now: UnixTime) -> CoreResult<KeyRing> {
        let rows = store::load_rows(conn)?;
        let set = build(&kek, &rows)?;
        Ok(KeyRing {
            kek,
            set: ArcSwap::from_pointee(set),
            loaded_at: AtomicI64::new(now),
            pool: std::sync::OnceLock::new(),
            last_forced: std::sync::Mutex::new(None),
        })
    }

    /// Re-reads the key set; rebuilds only when it changed. Returns whether
    /// it changed.
    pub fn reload(&self, conn: &mut DbConn, now: UnixTime) -> CoreResult<bool> {
        let rows = store::load_rows(conn)?;
        self.loaded_at.store(now, Ordering::Relaxed);
        if fingerprint(&rows) == self.set.load().fingerprint {
            return Ok(false);
        }
        let set = build(&self.kek, &rows)?;
        tracing::info!(active = ?set.active_kids(), keys = set.verifiers.len(), "signing keys reloaded");
        self.set.store(Arc::new(set));
        Ok(true)
    }

    /// Reloads when the last load is older than `interval` seconds.
    pub fn refresh_if_stale(
        &self,
        pool: &DbPool,
        now: UnixTime,
        interval: i64,
    ) -> CoreResult<bool> {
        if now - self.loaded_at.load(Ordering::Relaxed) < interval {
            return Ok(false);
        }
        let mut conn = pool.get()?;
        self.reload(&mut conn, now)
    }

    /// Lets the ring reload itself when it meets an unknown `kid`.
    pub fn attach_pool(&self, pool: DbPool) {
        let _ = self.pool.set(pool);
    }

    /// Reloads now unless a forced reload happened in the last 5 seconds.
    fn reload_for_unknown_kid(&self) -> bool {
        let Some(pool) = self.pool.get() else {
            return false;
        };
        {
            let Ok(mut last) = self.last_forced.lock() else {
                return false;
            };
            if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(5)) {
                return false;
            }
            *last = Some(std::time::Instant::now());
        }
        let now = self.loaded_at.load(Ordering::Relaxed);
        match pool.get() {
            Ok(mut conn) => match self.reload(&mut conn, now) {
                Ok(changed) => changed,
                Err(e) => {
                    tracing::warn!(error = %e, "reloading signing keys for an unknown kid failed");
                    false
                }
            },
            Err(_) => false,
        }
    }

    pub fn kek(&self) -> &Kek {
        &self.kek
    }

    /// The `kid` of the active key of the default algorithm (RS256).
    pub fn active_kid(&self) -> String {
        self.active_kid_of(Algorithm::DEFAULT).unwrap_or_default()
    }

    /// The `kid` of the active key of `alg`, if it has one.
    pub fn active_kid_of(&self, alg: Algorithm) -> Option<String> {
        self.set.load().active.get(&alg).map(|a| a.kid.clone())
    }

    /// The algorithms that have an active key, in the order of
    /// [`Algorithm::ALL`].
    pub fn algorithms(&self) -> Vec<Algorithm> {
        let set = self.set.load();
        Algorithm::ALL
            .into_iter()
            .filter(|a| set.active.contains_key(a))
            .collect()
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.set.load().verifiers.contains_key(kid)
    }

    /// The JWKS document, serialized once per key set.
    pub fn jwks(&self) -> Arc<[u8]> {
        self.set.load().jwks.clone()
    }

    /// Signs `claims` with the active key of the default algorithm (RS256).
    pub fn sign<T: Serialize>(&self, typ: Option<&str>, claims: &T) -> CoreResult<String> {
        self.sign_as(Algorithm::DEFAULT, typ, claims)
    }

    /// Signs `claims` with the active key of `alg`: header `alg`, `kid`,
    /// and `typ` when given.
    pub fn sign_as<T: Serialize>(
        &self,
        alg: Algorithm,
        typ: Option<&str>,
        claims: &T,
    ) -> CoreResult<String> {
        let payload =
            serde_json::to_vec(claims).map_err(|e| CoreError::Crypto(format!("claims: {e}")))?;
        let set = self.set.load();
        let active = set.active.get(&alg).ok_or_else(|| {
            CoreError::Crypto(format!(
                "there is no active {alg} signing key: add {alg} to keys.algorithms, or move the clients that use it to another algorithm"
            ))
        })?;
        let mut header = JwsHeader::new();
        if let Some(t) = typ {
            header.set_token_type(t);
        }
        header.set_key_id(&active.kid);
        josekit::jws::serialize_compact(&payload, &header, &*active.signer)
            .map_err(|e| CoreError::Crypto(format!("signing: {e}")))
    }

    /// Verifies a compact JWS signed by one of our keys and returns its
    /// claims. `typ`, when given, must match the header's (case-insensitive).
    /// Expiry and audience are the caller's to check.
    pub fn verify(
        &self,
        token: &str,
        typ: Option<&str>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, VerifyError> {
        match self.verify_once(token, typ) {
            // Signed by a key another node made since we last looked?
            Err(VerifyError::UnknownKey) if self.reload_for_unknown_kid() => {
                self.verify_once(token, typ)
            }
            other => other,
        }
    }

    fn verify_once(
        &self,
        token: &str,
        typ: Option<&str>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, VerifyError> {
        let header = josekit::jwt::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let alg = header
            .claim("alg")
            .and_then(|v| v.as_str())
            .and_then(Algorithm::parse)
            .ok_or(VerifyError::Algorithm)?;
        let kid = header
            .claim("kid")
            .and_then(|v| v.as_str())
            .ok_or(VerifyError::UnknownKey)?
            .to_string();
        let set = self.set.load();
        let (key_alg, verifier) = set.verifiers.get(&kid).ok_or(VerifyError::UnknownKey)?;
        // A key verifies its own algorithm only.
        if *key_alg != alg {
            return Err(VerifyError::Algorithm);
        }
        let (payload, header) =
            josekit::jws::deserialize_compact(token, &**verifier).map_err(|e| match e {
                josekit::JoseError::InvalidSignature(_) => VerifyError::Signature,
                _ => VerifyError::Malformed,
            })?;
        if let Some(expected) = typ {
            let got = header.token_type();
            if !got.is_some_and(|g| {
                g.eq_ignore_ascii_case(expected)
                    || g.eq_ignore_ascii_case(&format!("application/{expected}"))
            }) {
                return Err(VerifyError::Type(got.map(str::to_string)));
            }
        }
        match serde_json::from_slice::<serde_json::Value>(&payload) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            _ => Err(VerifyError::Malformed),
        }
    }
}
