//! The key lifecycle, in the database, for each algorithm of
//! `keys.algorithms` on its own:
//!
//! - `next`: published in the JWKS, signs nothing yet.
//! - `active`: signs the tokens of the clients that use its algorithm.
//!   Exactly one per algorithm.
//! - `retired`: signs nothing, stays in the JWKS until everything it signed
//!   has expired (the longest token lifetime), then is deleted.
//!
//! Rotation promotes `next` to `active` once the active key is older than
//! the rotation period and the next key has been published for at least the
//! pre-publication period; a new `next` is made at once. Key generation
//! (slow for RSA) happens before the transaction that uses the key. The keys
//! of an algorithm taken out of `keys.algorithms` are wound down: the active
//! one retires, the next one goes.

use crate::audit::EventKind;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use super::alg::Algorithm;
use super::kek::Kek;
pub use super::material::{generate, rsa_thumbprint, thumbprint, NewKey};
use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::signing_keys;
use crate::db::{write_tx, DbConn, DbPool};
use crate::error::CoreResult;

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

fn insert(conn: &mut DbConn, k: &NewKey, state: KeyState, now: UnixTime) -> CoreResult<()> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&k.kid),
            signing_keys::alg.eq(k.alg.as_str()),
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

/// One lifecycle pass over every algorithm of `keys.algorithms`: makes
/// sure each has an active and a next key, rotates when due (or at once
/// when `force`), deletes retired keys whose tokens have all expired, and
/// winds down the keys of algorithms no longer configured. Safe to run on
/// several nodes at once.
pub fn maintain(
    pool: &DbPool,
    kek: &Kek,
    cfg: &Config,
    actor: &Actor,
    now: UnixTime,
    force: bool,
) -> CoreResult<Changes> {
    let mut done = Changes::default();
    for &alg in &cfg.keys.algorithms {
        done.merge(maintain_one(pool, kek, cfg, alg, actor, now, force)?);
    }
    done.merge(wind_down(pool, kek, cfg, actor, now)?);
    Ok(done)
}

/// The lifecycle of one algorithm's keys.
fn maintain_one(
    pool: &DbPool,
    kek: &Kek,
    cfg: &Config,
    alg: Algorithm,
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
        let mut pass = Pass {
            kek,
            cfg,
            alg,
            now,
            force,
            forced: &mut forced,
            spare: &mut spare,
        };
        let needs_key = write_tx(&mut conn, |c| -> CoreResult<(bool, Changes)> {
            lock(c)?;
            let mut all = Changes::default();
            let needs = pass.round(c, &mut all)?;
            // The round's changes and their audit rows commit together.
            audit_changes(c, &all, alg, actor, now)?;
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
        spare.push(generate(kek, alg, cfg.keys.rsa_bits)?);
    }
    Ok(done)
}

/// One algorithm's lifecycle round and what it carries between rounds.
struct Pass<'a> {
    kek: &'a Kek,
    cfg: &'a Config,
    alg: Algorithm,
    now: UnixTime,
    force: bool,
    /// Whether the forced rotation already happened (in an earlier round).
    forced: &'a mut bool,
    /// Keys generated outside the transaction, waiting to be inserted.
    spare: &'a mut Vec<NewKey>,
}

impl Pass<'_> {
    /// One round in its transaction: `Ok(true)` when it needs one more
    /// generated key (in `spare`) to finish.
    fn round(&mut self, c: &mut DbConn, all: &mut Changes) -> CoreResult<bool> {
        let now = self.now;
        let every = load_rows(c)?;
        // Keys stored under another key-encryption key would be mixed in
        // with ours: refuse before changing anything.
        if let Some(r) = every.iter().find(|r| r.state == "active").or(every.first()) {
            self.kek.decrypt(r.kid.as_bytes(), &r.private_key)?;
        }
        let rows: Vec<&KeyRow> = every
            .iter()
            .filter(|r| r.alg == self.alg.as_str())
            .collect();
        let mut active = rows.iter().find(|r| r.state == "active").copied().cloned();
        let mut next = rows.iter().find(|r| r.state == "next").copied().cloned();

        if active.is_none() {
            if let Some(n) = next.take() {
                promote(c, &n.kid, now)?;
                all.activated.push(n.kid.clone());
                active = Some(n);
            } else {
                if let Some(k) = self.spare.pop() {
                    insert(c, &k, KeyState::Active, now)?;
                    all.created.push(k.kid.clone());
                    all.activated.push(k.kid.clone());
                }
                return Ok(true);
            }
        }
        let keys = &self.cfg.keys;
        let due = (self.force && !*self.forced)
            || active.as_ref().is_some_and(|a| {
                a.activated_at.unwrap_or(a.created_at) + keys.rotation_period_secs <= now
            });
        if due {
            if let (Some(a), Some(n)) = (active.as_ref(), next.as_ref()) {
                let published_long_enough = n.created_at + keys.prepublish_secs <= now;
                if published_long_enough || self.force {
                    retire(c, &a.kid, now)?;
                    promote(c, &n.kid, now)?;
                    all.retired.push(a.kid.clone());
                    all.activated.push(n.kid.clone());
                    *self.forced = true;
                    next = None;
                }
            }
        }
        if next.is_none() {
            match self.spare.pop() {
                Some(k) => {
                    insert(c, &k, KeyState::Next, now)?;
                    all.created.push(k.kid);
                }
                None => return Ok(true),
            }
        }
        let retention = self.cfg.tokens.longest_lifetime();
        for r in rows.iter().filter(|r| r.state == "retired") {
            if r.retired_at.unwrap_or(now) + retention <= now {
                diesel::delete(signing_keys::table.find(&r.kid)).execute(c)?;
                all.deleted.push(r.kid.clone());
            }
        }
        Ok(false)
    }
}

/// The keys of algorithms taken out of `keys.algorithms`: the active key
/// retires (what it signed still verifies until it expires), the next key,
/// which never signed, is deleted, and retired keys leave as usual.
fn wind_down(
    pool: &DbPool,
    kek: &Kek,
    cfg: &Config,
    actor: &Actor,
    now: UnixTime,
) -> CoreResult<Changes> {
    let offered: Vec<&str> = cfg.keys.algorithms.iter().map(|a| a.as_str()).collect();
    let retention = cfg.tokens.longest_lifetime();
    let mut conn = pool.get()?;
    write_tx(&mut conn, |c| -> CoreResult<Changes> {
        lock(c)?;
        let rows = load_rows(c)?;
        let mut done = Changes::default();
        let mut algs: Vec<&str> = rows
            .iter()
            .map(|r| r.alg.as_str())
            .filter(|a| !offered.contains(a))
            .collect();
        algs.sort_unstable();
        algs.dedup();
        for alg in algs {
            let mut all = Changes::default();
            for r in rows.iter().filter(|r| r.alg == alg) {
                match r.state.as_str() {
                    "active" => {
                        kek.decrypt(r.kid.as_bytes(), &r.private_key)?;
                        retire(c, &r.kid, now)?;
                        all.retired.push(r.kid.clone());
                    }
                    "next" => {
                        diesel::delete(signing_keys::table.find(&r.kid)).execute(c)?;
                        all.deleted.push(r.kid.clone());
                    }
                    _ if r.retired_at.unwrap_or(now) + retention <= now => {
                        diesel::delete(signing_keys::table.find(&r.kid)).execute(c)?;
                        all.deleted.push(r.kid.clone());
                    }
                    _ => {}
                }
            }
            audit_changes_named(c, &all, alg, actor, now)?;
            done.merge(all);
        }
        Ok(done)
    })
}

/// Records a lifecycle round in the audit log, one row per change and a
/// `key_rotated` row when a key was retired.
fn audit_changes(
    c: &mut DbConn,
    ch: &Changes,
    alg: Algorithm,
    actor: &Actor,
    now: UnixTime,
) -> CoreResult<()> {
    audit_changes_named(c, ch, alg.as_str(), actor, now)
}

fn audit_changes_named(
    c: &mut DbConn,
    ch: &Changes,
    alg: &str,
    actor: &Actor,
    now: UnixTime,
) -> CoreResult<()> {
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
                Event::success(event)
                    .with("kid", kid.clone())
                    .with("alg", alg),
                now,
            )?;
        }
    }
    if !ch.retired.is_empty() {
        audit::record(
            c,
            actor,
            Event::success(EventKind::KeyRotated)
                .with("alg", alg)
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

/// Every key, by algorithm (RS256 first), newest first, with when it
/// changes next.
pub fn list(conn: &mut DbConn, cfg: &Config) -> CoreResult<Vec<KeyInfo>> {
    let mut rows = load_rows(conn)?;
    rows.reverse();
    // Stable: within an algorithm the newest stays first.
    rows.sort_by_key(|r| Algorithm::parse(&r.alg).map_or(usize::MAX, |a| a as usize));
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
