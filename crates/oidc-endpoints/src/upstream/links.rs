//! Linked sign-in providers on the account page: what is linked, what can
//! be added, and `POST /account/links/remove` (never the last way to sign
//! in).

use std::collections::HashMap;

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use core_auth::federation::links::{self, Unlinked};
use core_auth::federation::store;
use serde::Deserialize;
use web_kit::auditing;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::CurrentUser;
use web_kit::layout::human_date;
use web_kit::util::{see_other, urlencode};

use super::pages::{builtin_icon, buttons, ProviderButton};

/// One linked provider, as the account page lists it.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub provider: String,
    pub name: String,
    pub svg: &'static str,
    pub email: String,
    pub linked_on: String,
    pub last_used_on: String,
    /// False when this is the only way left to sign in.
    pub removable: bool,
}

/// The account page's "Sign-in methods" section.
#[derive(Debug, Clone, Default)]
pub struct AccountLinks {
    pub has_password: bool,
    pub rows: Vec<LinkRow>,
    /// Providers not linked yet (buttons that POST to `/account/links/add`).
    pub available: Vec<ProviderButton>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// Query parameters of `/account` that report a link change.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct Notices {
    linked: String,
    unlinked: String,
    link_error: String,
}

/// Builds the section for `user`.
pub async fn for_account(
    ctx: &AppContext,
    user: &CurrentUser,
    q: &Notices,
) -> Result<AccountLinks, PageError> {
    let (cfg, keys, uid) = (ctx.config.clone(), ctx.keys.clone(), user.id().to_string());
    let (providers, mine) = ctx
        .db(move |c| Ok((store::all(c, &cfg, keys.kek())?, links::for_user(c, &uid)?)))
        .await?;
    let has_password = user.user.user.password_hash.is_some();
    let names: HashMap<&str, (&str, bool, &str)> = providers
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                (p.display_name.as_str(), p.enabled, p.icon.as_str()),
            )
        })
        .collect();
    let usable = mine
        .iter()
        .filter(|l| names.get(l.provider.as_str()).is_some_and(|n| n.1))
        .count();
    let rows = mine
        .iter()
        .map(|l| {
            let (name, enabled, icon) = names.get(l.provider.as_str()).copied().unwrap_or((
                l.provider.as_str(),
                false,
                "key",
            ));
            LinkRow {
                provider: l.provider.clone(),
                name: if enabled {
                    name.to_string()
                } else {
                    format!("{name} (not available)")
                },
                svg: builtin_icon(icon).unwrap_or(""),
                email: l.email.clone(),
                linked_on: human_date(l.created_at),
                last_used_on: human_date(l.last_used_at),
                removable: has_password || !enabled || usable > 1,
            }
        })
        .collect();
    let unlinked: Vec<_> = providers
        .iter()
        .filter(|p| p.enabled && !mine.iter().any(|l| l.provider == p.id))
        .cloned()
        .collect();
    let name_of = |id: &str| {
        names
            .get(id)
            .map(|n| n.0.to_string())
            .unwrap_or_else(|| id.to_string())
    };
    let notice = if !q.linked.is_empty() {
        Some(format!(
            "Your {} account is linked: you can sign in with it.",
            name_of(&q.linked)
        ))
    } else if !q.unlinked.is_empty() {
        Some(format!(
            "{} is no longer linked to your account.",
            name_of(&q.unlinked)
        ))
    } else {
        None
    };
    let error = (q.link_error == "last").then(|| {
        "That is your only way to sign in, so it cannot be removed. Set a password (\u{201c}Forgot your password?\u{201d} on the sign-in page sends a link) or link another provider first.".to_string()
    });
    Ok(AccountLinks {
        has_password,
        rows,
        available: buttons(&unlinked, ""),
        notice,
        error,
    })
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct RemoveForm {
    csrf_token: String,
    provider: String,
}

/// `POST /account/links/remove` (`core_auth::federation::links::unlink`).
pub async fn remove(
    req: HttpRequest,
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    form: Form<RemoveForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let (actor, now) = (auditing::meta(&req, Some(&user)), ctx.now());
    let provider = form.provider.clone();
    let result = ctx
        .call(move |core| links::unlink(core, &actor, &provider, now))
        .await?;
    Ok(match result {
        Unlinked::Removed => see_other(&format!("/account?unlinked={}", urlencode(&form.provider))),
        Unlinked::LastSignInMethod => see_other("/account?link_error=last"),
        Unlinked::NotFound => see_other("/account"),
    })
}
