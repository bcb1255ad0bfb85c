//! Client (relying party) changes made by administrators, audited.

use crate::audit::EventKind;
use serde_json::json;

use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clients::{self, Client, ClientSpec};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::secret::Secret;
use crate::service::Core;

fn get(c: &mut DbConn, id: &str) -> CoreResult<Client> {
    clients::find(c, id)?.ok_or(CoreError::NotFound("client"))
}

/// Registers a client; the secret (for secret-based methods) is returned
/// once and stored only as a hash.
pub fn create(
    core: &Core<'_>,
    actor: &Actor,
    spec: &ClientSpec,
    now: UnixTime,
) -> CoreResult<(Client, Option<Secret>)> {
    super::sensitive(core, actor, now)?;
    clients::validate_offered(spec, &core.config.keys.algorithms)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let (client, secret) = clients::create(c, spec, now)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::ClientCreated)
                .client(&client.client_id)
                .with("name", client.name.clone())
                .with("auth_method", client.auth_method.as_str())
                .with("grant_types", json!(client.grant_types))
                .with("scopes", json!(client.scopes))
                .with(
                    "resource_server_audiences",
                    json!(client.resource_server_audiences),
                )
                .with(
                    "id_token_signed_response_alg",
                    client.id_token_signed_response_alg.as_str(),
                ),
            now,
        )?;
        Ok((client, secret))
    })
}

/// The names of the settings that differ.
fn changed(a: &Client, b: &Client) -> Vec<&'static str> {
    let mut out = vec![];
    let pairs: [(&'static str, bool); 16] = [
        ("name", a.name != b.name),
        ("auth_method", a.auth_method != b.auth_method),
        ("redirect_uris", a.redirect_uris != b.redirect_uris),
        (
            "post_logout_redirect_uris",
            a.post_logout_redirect_uris != b.post_logout_redirect_uris,
        ),
        ("grant_types", a.grant_types != b.grant_types),
        ("scopes", a.scopes != b.scopes),
        ("skip_consent", a.skip_consent != b.skip_consent),
        (
            "always_issue_refresh",
            a.always_issue_refresh != b.always_issue_refresh,
        ),
        ("jwks", a.jwks_uri != b.jwks_uri || a.jwks != b.jwks),
        (
            "access_token_lifetime_secs",
            a.access_token_lifetime_secs != b.access_token_lifetime_secs,
        ),
        (
            "refresh_token_idle_secs",
            a.refresh_token_idle_secs != b.refresh_token_idle_secs,
        ),
        (
            "refresh_token_absolute_secs",
            a.refresh_token_absolute_secs != b.refresh_token_absolute_secs,
        ),
        (
            "resource_server_audiences",
            a.resource_server_audiences != b.resource_server_audiences,
        ),
        (
            "id_token_signed_response_alg",
            a.id_token_signed_response_alg != b.id_token_signed_response_alg,
        ),
        (
            "require_pushed_authorization_requests",
            a.require_pushed_authorization_requests != b.require_pushed_authorization_requests,
        ),
        (
            "require_signed_request_object",
            a.require_signed_request_object != b.require_signed_request_object,
        ),
    ];
    for (name, differs) in pairs {
        if differs {
            out.push(name);
        }
    }
    out
}

/// Replaces a client's settings. A new secret is returned when the client
/// moved to a secret-based method without having one.
pub fn update(
    core: &Core<'_>,
    actor: &Actor,
    id: &str,
    spec: &ClientSpec,
    now: UnixTime,
) -> CoreResult<(Client, Option<Secret>)> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let before = get(c, id)?;
        clients::validate_offered(spec, &core.config.keys.algorithms)?;
        let (after, secret) = clients::update(c, id, spec, now)?;
        let fields = changed(&before, &after);
        if !fields.is_empty() || secret.is_some() {
            audit::record(
                c,
                actor,
                Event::success(EventKind::ClientUpdated)
                    .client(id)
                    .with("changed", json!(fields))
                    .with("new_secret", secret.is_some()),
                now,
            )?;
        }
        Ok((after, secret))
    })
}

pub fn rotate_secret(
    core: &Core<'_>,
    actor: &Actor,
    id: &str,
    now: UnixTime,
) -> CoreResult<Secret> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        get(c, id)?;
        let s = clients::rotate_secret(c, id, now)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::ClientSecretRotated).client(id),
            now,
        )?;
        Ok(s)
    })
}

pub fn delete(core: &Core<'_>, actor: &Actor, id: &str, now: UnixTime) -> CoreResult<Client> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    write_tx(c, |c| {
        let client = get(c, id)?;
        clients::delete(c, id)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::ClientDeleted)
                .client(id)
                .with("name", client.name.clone()),
            now,
        )?;
        Ok(client)
    })
}

/// The spec that reproduces a client (the starting point of an edit).
pub fn spec_of(c: &Client) -> ClientSpec {
    ClientSpec {
        name: c.name.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        public: c.is_public(),
        grant_types: c
            .grant_types
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        scopes: c.scopes.clone(),
        skip_consent: c.skip_consent,
        always_issue_refresh: c.always_issue_refresh,
        auth_method: c.auth_method.as_str().to_string(),
        jwks_uri: c.jwks_uri.clone().unwrap_or_default(),
        jwks: c.jwks.clone().unwrap_or_default(),
        access_token_lifetime_secs: c.access_token_lifetime_secs,
        refresh_token_idle_secs: c.refresh_token_idle_secs,
        refresh_token_absolute_secs: c.refresh_token_absolute_secs,
        resource_server_audiences: c.resource_server_audiences.clone(),
        id_token_signed_response_alg: c.id_token_signed_response_alg.as_str().to_string(),
        require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        require_signed_request_object: c.require_signed_request_object,
    }
}
