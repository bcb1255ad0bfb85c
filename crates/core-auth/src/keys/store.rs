//! The key lifecycle, in the database.
//!
//! - `next`: published in the JWKS, signs nothing yet.
//! - `active`: signs everything. Exactly one.
//! - `retired`: signs nothing, stays in the JWKS until everything it signed
//!   has expired (the longest token lifetime), then is deleted.
//!
//! Rotation promotes `next` to `active` once the active key is older than
//! the rotation period and the next key has been published for at least the
//! pre-publication period; a new `next` is made at once. RSA key generation
//! is slow, so it happens before the transaction that uses the key.

use crate::audit::EventKind;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::KeyPair;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::kek::Kek;
use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::signing_keys;
use crate::db::{write_tx, DbConn, DbPool};
use crate::error::{CoreError, CoreResult};

pub const ALG: &str = "RS256";
const PG_KEYS_LOCK: i64 = 0x6b65_7973; // "keys"

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Active,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }

    fn parse(s: &str) -> KeyState {
        match s {
            "active" => KeyState::Active,
            "next" => KeyState::Next,
            _ => KeyState::Retired,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub public_jwk: String,
    pub private_key: String,
    pub created_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    pub retired_at: Option<UnixTime>,
}

/// What `keys list`, the admin console and the API show.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
    pub state: KeyState,
    pub created_at: UnixTime,
    pub activated_at: Option<UnixTime>,
    pub retired_at: Option<UnixTime>,
    /// For the active key: when rotation is due. For a retired key: when it
    /// leaves the JWKS.
    pub until: Option<UnixTime>,
}

/// A freshly generated key, encrypted, ready to insert.
pub struct NewKey {
    kid: String,
    public_jwk: String,
    private_key: String,
}

/// RFC 7638 thumbprint of an RSA public key: SHA-256 over the canonical
/// JSON of its required members, base64url.
pub fn rsa_thumbprint(e: &str, n: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Generates an RSA key pair (slow: run it on the blocking pool).
pub fn generate(kek: &Kek, bits: u32) -> CoreResult<NewKey> {
    let pair = RsaKeyPair::generate(bits)
        .map_err(|e| CoreError::Crypto(format!("RSA key generation: {e}")))?;
    let mut jwk = pair.to_jwk_public_key();
    let e = jwk
        .parameter("e")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let n = jwk
        .parameter("n")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if e.is_empty() || n.is_empty() {
        return Err(CoreError::Crypto("generated key has no modulus".into()));
    }
    let kid = rsa_thumbprint(&e, &n);
    jwk.set_key_id(&kid);
    jwk.set_algorithm(ALG);
    jwk.set_key_use("sig");
    let private_key = kek.encrypt(kid.as_bytes(), &pair.to_der_private_key())?;
    Ok(NewKey {
        kid,
        public_jwk: jwk.to_string(),
        private_key,
    })
}

fn insert(conn: &mut DbConn, k: &NewKey, state: KeyState, now: UnixTime) -> CoreResult<()> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&k.kid),
            signing_keys::alg.eq(ALG),
            signing_keys::state.eq(state.as_str()),
            signing_keys::public_jwk.eq(&k.public_jwk),
            signing_keys::private_key.eq(&k.private_key),
            signing_keys::created_at.eq(now),
            signing_keys::activated_at.eq((state == KeyState::Active).then_some(now)),
            signing_keys::retired_at.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn load_rows(conn: &mut DbConn) -> CoreResult<Vec<KeyRow>> {
    Ok(signing_keys::table
        .select(KeyRow::as_select())
        .order(signing_keys::created_at.asc())
        .load(conn)?)
}

fn lock(conn: &mut DbConn) -> CoreResult<()> {
    if let DbConn::Postgresql(c) = conn {
        c.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_KEYS_LOCK})"))?;
    }
    Ok(())
}

/// What a lifecycle pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub created: Vec<String>,
    pub activated: Vec<String>,
    pub retired: Vec<String>,
    pub deleted: Vec<String>,
}

impl Changes {
    fn merge(&mut self, o: Changes) {
        self.created.extend(o.created);
        self.activated.extend(o.activated);
        self.retired.extend(o.retired);
        self.deleted.extend(o.deleted);
    }

    pub fn is_empty(&self) -> bool {
        self.created.is_empty()
            && self.activated.is_empty()
            && self.retired.is_empty()
            && self.deleted.is_empty()
    }
}

/// One lifecycle pass: makes sure there is an active and a next key,
/// rotates when due (or at once when `force`), deletes retired keys whose
/// tokens have all expired. Safe to run on several nodes at once.
pub fn maintain(
    pool: &DbPool,
    kek: &Kek,
    cfg: &Config,
    actor: &Actor,
    now: UnixTime,
    force: bool,
) -> CoreResult<Changes> {
    let mut done = Changes::default();
    let mut spare: Vec<NewKey> = Vec::new();
    let mut forced = false;
    // Each round either finishes or asks for one more generated key.
    for _ in 0..4 {
        let mut conn = pool.get()?;
        let needs_key = write_tx(&mut conn, |c| -> CoreResult<(bool, Changes)> {
            lock(c)?;
            let mut all = Changes::default();
            let needs = round(c, kek, cfg, now, force, &mut forced, &mut spare, &mut all)?;
            // The round's changes and their audit rows commit together.
            audit_changes(c, &all, actor, now)?;
            Ok((needs, all))
        })
        .map(|(needs, all)| {
            done.merge(all);
            needs
        })?;
        if !needs_key {
            return Ok(done);
        }
        drop(conn);
        spare.push(generate(kek, cfg.keys.rsa_bits)?);
    }
    Ok(done)
}

/// One round of [`maintain`] in its transaction: `Ok(true)` when it needs
/// one more generated key (in `spare`) to finish.
#[allow(clippy::too_many_arguments)]
fn round(
    c: &mut DbConn,
    kek: &Kek,
    cfg: &Config,
    now: UnixTime,
    force: bool,
    forced: &mut bool,
    spare: &mut Vec<NewKey>,
    all: &mut Changes,
) -> CoreResult<bool> {
    {
        {
            let rows = load_rows(c)?;
            // Keys stored under another key-encryption key would be mixed in
            // with ours: refuse before changing anything.
            if let Some(r) = rows.iter().find(|r| r.state == "active").or(rows.first()) {
                kek.decrypt(r.kid.as_bytes(), &r.private_key)?;
            }
            let mut active = rows.iter().find(|r| r.state == "active").cloned();
            let mut next = rows.iter().find(|r| r.state == "next").cloned();

            if active.is_none() {
                if let Some(n) = next.take() {
                    promote(c, &n.kid, now)?;
                    all.activated.push(n.kid.clone());
                    active = Some(n);
                } else if let Some(k) = spare.pop() {
                    insert(c, &k, KeyState::Active, now)?;
                    all.created.push(k.kid.clone());
                    all.activated.push(k.kid.clone());
                    return Ok(true);
                } else {
                    return Ok(true);
                }
            }
            let due = (force && !*forced)
                || active.as_ref().is_some_and(|a| {
                    a.activated_at.unwrap_or(a.created_at) + cfg.keys.rotation_period_secs <= now
                });
            if due {
                if let (Some(a), Some(n)) = (active.as_ref(), next.as_ref()) {
                    let published_long_enough = n.created_at + cfg.keys.prepublish_secs <= now;
                    if published_long_enough || force {
                        retire(c, &a.kid, now)?;
                        promote(c, &n.kid, now)?;
                        all.retired.push(a.kid.clone());
                        all.activated.push(n.kid.clone());
                        *forced = true;
                        next = None;
                    }
                }
            }
            if next.is_none() {
                match spare.pop() {
                    Some(k) => {
                        insert(c, &k, KeyState::Next, now)?;
                        all.created.push(k.kid);
                    }
                    None => return Ok(true),
                }
            }
            let retention = cfg.tokens.longest_lifetime();
            for r in rows.iter().filter(|r| r.state == "retired") {
                if r.retired_at.unwrap_or(now) + retention <= now {
                    diesel::delete(signing_keys::table.find(&r.kid)).execute(c)?;
                    all.deleted.push(r.kid.clone());
                }
            }
            Ok(false)
        }
    }
}

/// Records a lifecycle round in the audit log, one row per change and a
/// `key_rotated` row when a key was retired.
fn audit_changes(c: &mut DbConn, ch: &Changes, actor: &Actor, now: UnixTime) -> CoreResult<()> {
    for (event, kids) in [
        (EventKind::KeyCreated, &ch.created),
        (EventKind::KeyActivated, &ch.activated),
        (EventKind::KeyRetired, &ch.retired),
        (EventKind::KeyDeleted, &ch.deleted),
    ] {
        for kid in kids {
            audit::record(
                c,
                actor,
                Event::success(event).with("kid", kid.clone()),
                now,
            )?;
        }
    }
    if !ch.retired.is_empty() {
        audit::record(
            c,
            actor,
            Event::success(EventKind::KeyRotated)
                .with("activated", ch.activated.clone())
                .with("retired", ch.retired.clone()),
            now,
        )?;
    }
    Ok(())
}

fn promote(c: &mut DbConn, kid: &str, now: UnixTime) -> CoreResult<()> {
    diesel::update(signing_keys::table.find(kid))
        .set((
            signing_keys::state.eq("active"),
            signing_keys::activated_at.eq(Some(now)),
        ))
        .execute(c)?;
    Ok(())
}

fn retire(c: &mut DbConn, kid: &str, now: UnixTime) -> CoreResult<()> {
    diesel::update(signing_keys::table.find(kid))
        .set((
            signing_keys::state.eq("retired"),
            signing_keys::retired_at.eq(Some(now)),
        ))
        .execute(c)?;
    Ok(())
}

/// Every key, newest first, with when it changes next.
pub fn list(conn: &mut DbConn, cfg: &Config) -> CoreResult<Vec<KeyInfo>> {
    let mut rows = load_rows(conn)?;
    rows.reverse();
    Ok(rows
        .into_iter()
        .map(|r| {
            let state = KeyState::parse(&r.state);
            let until = match state {
                KeyState::Active => r.activated_at.map(|t| t + cfg.keys.rotation_period_secs),
                KeyState::Retired => r.retired_at.map(|t| t + cfg.tokens.longest_lifetime()),
                KeyState::Next => None,
            };
            KeyInfo {
                kid: r.kid,
                alg: r.alg,
                state,
                created_at: r.created_at,
                activated_at: r.activated_at,
                retired_at: r.retired_at,
                until,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            rsa_thumbprint("AQAB", n),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
