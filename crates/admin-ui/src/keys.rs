//! Signing keys: the table (kid, algorithm, state, dates) and "rotate now"
//! (the published next key becomes active at once; a new next key is made).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use core_auth::audit::{Event, Meta};
use core_auth::keys::store::{self, Changes};
use core_auth::CoreResult;
use oidc_endpoints::pages::Layout;
use oidc_endpoints::util::{render, see_other};
use oidc_endpoints::{auditing, csrf, AppContext, PageError};

use crate::fields::Fields;
use crate::guard::RequireAdmin;
use crate::reauth;
use crate::view::{flash, frame, Chrome, MaybeTime, Time};

/// Rotates now, reloads this node's key ring (other nodes follow within
/// `keys.refresh_interval_secs`) and audits `key_rotated`.
pub async fn rotate_now(ctx: &AppContext, meta: Meta) -> CoreResult<Changes> {
    let now = ctx.now();
    let changes = ctx
        .run(move |ctx| -> CoreResult<Changes> {
            let changes = store::maintain(&ctx.pool, ctx.keys.kek(), &ctx.config, now, true)?;
            let mut conn = ctx.pool.get()?;
            ctx.keys.reload(&mut conn, now)?;
            Ok(changes)
        })
        .await?;
    auditing::record(
        ctx,
        meta,
        Event::success("key_rotated")
            .with("activated", changes.activated.clone())
            .with("retired", changes.retired.clone())
            .with("created", changes.created.clone())
            .with("deleted", changes.deleted.clone()),
    )
    .await;
    Ok(changes)
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    layout: Layout,
    admin: Chrome,
    rows: Vec<(
        String,
        String,
        &'static str,
        Time,
        MaybeTime,
        MaybeTime,
        MaybeTime,
    )>,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let cfg = ctx.config.clone();
    let keys = ctx.db(move |c| store::list(c, &cfg)).await?;
    let (layout, chrome) = frame(&session, &admin, "Signing keys", "keys")?;
    let rows = keys
        .into_iter()
        .map(|k| {
            let (rotates, retires) = match k.state {
                store::KeyState::Active => (k.until, None),
                store::KeyState::Retired => (None, k.until),
                store::KeyState::Next => (None, None),
            };
            (
                k.kid,
                k.alg,
                k.state.as_str(),
                Time(k.created_at),
                MaybeTime(k.activated_at),
                MaybeTime(rotates),
                MaybeTime(retires),
            )
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &KeysPage {
            layout,
            admin: chrome,
            rows,
        },
    ))
}

pub async fn rotate(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    fields: Fields,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, fields.get("csrf_token"))?;
    if let Some(page) = reauth::gate(
        &req,
        &ctx,
        &session,
        &admin,
        &fields,
        "rotate the signing key",
    )
    .await?
    {
        return Ok(page);
    }
    let changes = rotate_now(&ctx, auditing::meta(&req, Some(&admin))).await?;
    flash(
        &session,
        format!(
            "Rotated: {} is now the active key.",
            changes.activated.first().cloned().unwrap_or_default()
        ),
    );
    Ok(see_other("/admin/keys"))
}
