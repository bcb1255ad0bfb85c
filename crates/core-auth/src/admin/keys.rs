//! Signing keys rotated on an administrator's word.

use crate::actor::Actor;
use crate::clock::UnixTime;
use crate::error::CoreResult;
use crate::keys::store::{self, Changes};
use crate::service::Core;

/// Rotates now (the published next key becomes active, a new next key is
/// made), audited in the same transactions, and reloads this node's key
/// ring (other nodes follow within `keys.refresh_interval_secs`).
pub fn rotate(core: &Core<'_>, actor: &Actor, now: UnixTime) -> CoreResult<Changes> {
    super::sensitive(core, actor, now)?;
    let changes = store::maintain(core.pool, core.kek(), core.config, actor, now, true)?;
    let mut conn = core.conn()?;
    core.keys.reload(&mut conn, now)?;
    Ok(changes)
}
