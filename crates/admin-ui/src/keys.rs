//! Signing keys: the table (kid, algorithm, state, dates) and "rotate now"
//! (the published next key of each algorithm becomes active at once; a new
//! next key is made).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::keys::store;
use core_auth::CoreError;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, PageError};

use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome, MaybeTime, Time};

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

/// `POST /admin/keys/rotate`: the next key becomes active now (sensitive:
/// asks for the administrator's password when the sign-in is not fresh).
pub async fn rotate(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let actor = form.actor();
    let now = ctx.now();
    match ctx
        .call(move |core| core_auth::admin::keys::rotate(core, &actor, now))
        .await
    {
        Ok(changes) => {
            // One activation per algorithm of keys.algorithms.
            let many = changes.activated.len() > 1;
            flash(
                &session,
                format!(
                    "Rotated: {} {} now the active key{}.",
                    changes.activated.join(", "),
                    if many { "are" } else { "is" },
                    if many { "s" } else { "" }
                ),
            );
            Ok(see_other("/admin/keys"))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "rotate the signing key")
                .await
        }
        Err(e) => Err(e.into()),
    }
}
