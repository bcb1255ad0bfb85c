//! Providers managed at run time (the admin console), stored in the
//! database next to those of the configuration file, so every node sees
//! the same list. The settings are the `[[upstream]]` keys as JSON; the
//! client secret is encrypted with the key-encryption key.
//!
//! Configured providers win: a stored provider cannot take a configured
//! provider's id.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::upstream_providers;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::keys::Kek;

use super::provider::{validate, UpstreamProvider};

const AAD: &[u8] = b"portcullis upstream client secret";

#[derive(Queryable)]
struct Row {
    id: String,
    settings: String,
    client_secret: String,
}

fn decode(kek: &Kek, r: Row) -> CoreResult<UpstreamProvider> {
    let mut p: UpstreamProvider = serde_json::from_str(&r.settings)
        .map_err(|e| CoreError::Config(format!("stored upstream provider {}: {e}", r.id)))?;
    let secret = kek.decrypt(AAD, &r.client_secret)?;
    p.client_secret = String::from_utf8(secret)
        .map_err(|_| CoreError::Crypto("stored upstream secret is not UTF-8".into()))?;
    p.id = r.id;
    let mut one = [p];
    validate(&mut one)?;
    let [p] = one;
    Ok(p)
}

fn rows(conn: &mut DbConn) -> CoreResult<Vec<Row>> {
    Ok(upstream_providers::table
        .select((
            upstream_providers::id,
            upstream_providers::settings,
            upstream_providers::client_secret,
        ))
        .order(upstream_providers::id.asc())
        .load(conn)?)
}

/// The stored providers, validated. One that no longer validates (its
/// preset changed, say) is left out with a warning rather than breaking
/// the sign-in page.
pub fn list_stored(conn: &mut DbConn, kek: &Kek) -> CoreResult<Vec<UpstreamProvider>> {
    let mut out = Vec::new();
    for r in rows(conn)? {
        let id = r.id.clone();
        match decode(kek, r) {
            Ok(p) => out.push(p),
            Err(e) => {
                tracing::warn!(provider = %id, error = %e, "stored upstream provider skipped")
            }
        }
    }
    Ok(out)
}

/// Every provider: those of the configuration, then the stored ones.
pub fn all(conn: &mut DbConn, cfg: &Config, kek: &Kek) -> CoreResult<Vec<UpstreamProvider>> {
    let mut list = cfg.upstream.clone();
    for p in list_stored(conn, kek)? {
        if !list.iter().any(|c| c.id == p.id) {
            list.push(p);
        }
    }
    Ok(list)
}

/// The enabled provider with this id, if any.
pub fn find_enabled(
    conn: &mut DbConn,
    cfg: &Config,
    kek: &Kek,
    id: &str,
) -> CoreResult<Option<UpstreamProvider>> {
    if let Some(p) = cfg.upstream.iter().find(|p| p.id == id) {
        return Ok(Some(p.clone()).filter(|p| p.enabled));
    }
    let row: Option<Row> = upstream_providers::table
        .find(id)
        .select((
            upstream_providers::id,
            upstream_providers::settings,
            upstream_providers::client_secret,
        ))
        .first(conn)
        .optional()?;
    match row {
        Some(r) => Ok(Some(decode(kek, r)?).filter(|p| p.enabled)),
        None => Ok(None),
    }
}

/// Ids of the providers people can sign in with now (for the rule that
/// nobody removes their last way to sign in).
pub fn usable_ids(conn: &mut DbConn, cfg: &Config, kek: &Kek) -> CoreResult<Vec<String>> {
    Ok(all(conn, cfg, kek)?
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| p.id)
        .collect())
}

fn invalid(message: String) -> CoreError {
    let mut v = ValidationErrors::default();
    v.add("upstream", message);
    CoreError::Validation(v)
}

/// Creates or replaces a stored provider after validating it. An empty
/// `client_secret` keeps the stored one. Returns the provider as it will be
/// used (presets applied).
pub fn save(
    conn: &mut DbConn,
    cfg: &Config,
    kek: &Kek,
    mut p: UpstreamProvider,
    now: UnixTime,
) -> CoreResult<UpstreamProvider> {
    if cfg.upstream.iter().any(|c| c.id == p.id) {
        return Err(invalid(format!(
            "`{}` is defined in the configuration file; change it there",
            p.id
        )));
    }
    write_tx(conn, |c| {
        if p.client_secret.is_empty() {
            if let Some(r) = upstream_providers::table
                .find(&p.id)
                .select((
                    upstream_providers::id,
                    upstream_providers::settings,
                    upstream_providers::client_secret,
                ))
                .first::<Row>(c)
                .optional()?
            {
                p.client_secret = String::from_utf8(kek.decrypt(AAD, &r.client_secret)?)
                    .map_err(|_| CoreError::Crypto("stored upstream secret is not UTF-8".into()))?;
            }
        }
        let mut checked = [p.clone()];
        validate(&mut checked).map_err(|e| match e {
            CoreError::Config(m) => invalid(m),
            other => other,
        })?;
        let secret = kek.encrypt(AAD, p.client_secret.as_bytes())?;
        let mut settings = p.clone();
        settings.client_secret = String::new();
        let json = serde_json::to_string(&settings)
            .map_err(|e| CoreError::Config(format!("upstream settings: {e}")))?;
        let n = diesel::update(upstream_providers::table.find(&p.id))
            .set((
                upstream_providers::settings.eq(&json),
                upstream_providers::client_secret.eq(&secret),
                upstream_providers::updated_at.eq(now),
            ))
            .execute(c)?;
        if n == 0 {
            diesel::insert_into(upstream_providers::table)
                .values((
                    upstream_providers::id.eq(&p.id),
                    upstream_providers::settings.eq(&json),
                    upstream_providers::client_secret.eq(&secret),
                    upstream_providers::created_at.eq(now),
                    upstream_providers::updated_at.eq(now),
                ))
                .execute(c)?;
        }
        let [done] = checked;
        Ok(done)
    })
}

/// Deletes a stored provider. Its links stay (they sign nobody in until a
/// provider with that id exists again) and can be removed by their users.
pub fn delete(conn: &mut DbConn, id: &str) -> CoreResult<bool> {
    Ok(diesel::delete(upstream_providers::table.find(id)).execute(conn)? > 0)
}
