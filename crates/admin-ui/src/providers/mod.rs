//! Upstream sign-in providers ("Sign in with Google", any OpenID Connect
//! or OAuth 2.0 provider): the list (those of the configuration file
//! read-only, the stored ones managed here), a configured provider's
//! settings, the create and edit form ([`form`]), deletion.

pub mod form;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::providers::{self as admin_providers, ProviderInfo, Source};
use web_kit::context::ProviderCache;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, PageError};

use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome};

/// What a configured provider's page says about changing it.
pub const CONFIGURED: &str =
    "This provider is defined in the configuration file; change it there (and restart).";

/// One line of the list.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub preset: String,
    pub enabled: bool,
    pub allow_registration: bool,
    pub trust_email: bool,
    pub domains: String,
    pub linked: i64,
    pub configured: bool,
    /// Why a stored provider signs nobody in (its settings do not validate).
    pub problem: Option<String>,
}

impl From<&ProviderInfo> for Row {
    fn from(i: &ProviderInfo) -> Self {
        let p = i.shown();
        Row {
            id: p.id.clone(),
            name: p.display_name.clone(),
            kind: p.kind.clone(),
            preset: p.preset.clone(),
            enabled: p.enabled,
            allow_registration: p.allow_registration,
            trust_email: p.trust_email,
            domains: p.allowed_email_domains.join(", "),
            linked: i.linked,
            configured: i.source == Source::Config,
            problem: i.problem.clone(),
        }
    }
}

/// The provider `id`, configured or stored (404 when neither).
pub async fn load(ctx: &AppContext, id: &str) -> Result<ProviderInfo, PageError> {
    let (cfg, keys, id) = (ctx.config.clone(), ctx.keys.clone(), id.to_string());
    Ok(ctx
        .db(move |c| admin_providers::get(c, &cfg, keys.kek(), &id))
        .await?)
}

/// A stored provider (configured ones cannot change here: 403).
pub async fn load_stored(ctx: &AppContext, id: &str) -> Result<ProviderInfo, PageError> {
    let info = load(ctx, id).await?;
    if info.source == Source::Config {
        return Err(PageError::Forbidden(CONFIGURED.into()));
    }
    Ok(info)
}

#[derive(Template)]
#[template(path = "admin/providers.html")]
struct ListPage {
    layout: Layout,
    admin: Chrome,
    rows: Vec<Row>,
}

/// `GET /admin/providers`.
pub async fn list(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let (cfg, keys) = (ctx.config.clone(), ctx.keys.clone());
    let all = ctx
        .db(move |c| admin_providers::list(c, &cfg, keys.kek()))
        .await?;
    let (layout, chrome) = frame(&session, &admin, "Sign-in providers", "providers")?;
    Ok(render(
        StatusCode::OK,
        &ListPage {
            layout,
            admin: chrome,
            rows: all.iter().map(Row::from).collect(),
        },
    ))
}

#[derive(Template)]
#[template(path = "admin/provider.html")]
struct ConfiguredPage {
    layout: Layout,
    admin: Chrome,
    row: Row,
    /// (key, value) of the settings in use; never the secret.
    settings: Vec<(&'static str, String)>,
    redirect_uri: String,
}

/// A configured provider's settings, read-only.
fn configured_page(
    ctx: &AppContext,
    session: &Session,
    admin: &web_kit::CurrentUser,
    info: &ProviderInfo,
) -> Result<HttpResponse, PageError> {
    let p = info.shown();
    let mut settings = vec![
        ("preset", p.preset.clone()),
        ("kind", p.kind.clone()),
        ("display_name", p.display_name.clone()),
        ("client_id", p.client_id.clone()),
        (
            "client_secret",
            if info.has_secret { "set" } else { "not set" }.into(),
        ),
    ];
    let urls = [
        ("issuer", &p.issuer),
        ("tenant", &p.tenant),
        ("authorization_url", &p.authorization_url),
        ("token_url", &p.token_url),
        ("userinfo_url", &p.userinfo_url),
        ("emails_url", &p.emails_url),
        ("subject_field", &p.subject_field),
        ("email_field", &p.email_field),
        ("email_verified_field", &p.email_verified_field),
        ("name_field", &p.name_field),
        ("token_auth_method", &p.token_auth_method),
    ];
    settings.extend(
        urls.into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k, v.clone())),
    );
    settings.push(("scopes", p.scopes.join(" ")));
    if p.dangerous_allow_http {
        settings.push(("dangerous_allow_http", "true".into()));
    }
    let (layout, chrome) = frame(session, admin, &p.display_name, "providers")?;
    Ok(render(
        StatusCode::OK,
        &ConfiguredPage {
            layout,
            admin: chrome,
            row: Row::from(info),
            settings,
            redirect_uri: p.redirect_uri(&ctx.config.issuer),
        },
    ))
}

/// `GET /admin/providers/{id}`: a stored provider's edit form, or a
/// configured provider's settings.
pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let info = load(&ctx, &path).await?;
    if info.source == Source::Config {
        return configured_page(&ctx, &session, &admin, &info);
    }
    form::edit_page(&ctx, &session, &admin, info).await
}

#[derive(Template)]
#[template(path = "admin/provider_delete.html")]
struct ConfirmDelete {
    layout: Layout,
    admin: Chrome,
    id: String,
    name: String,
    linked: i64,
}

/// `GET /admin/providers/{id}/delete`: the confirmation page.
pub async fn confirm_delete(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let info = load_stored(&ctx, &path).await?;
    let (layout, chrome) = frame(&session, &admin, "Delete sign-in provider", "providers")?;
    Ok(render(
        StatusCode::OK,
        &ConfirmDelete {
            layout,
            admin: chrome,
            name: info.shown().display_name.clone(),
            id: info.settings.id,
            linked: info.linked,
        },
    ))
}

/// `POST /admin/providers/{id}/delete`.
pub async fn delete(
    ctx: web::Data<AppContext>,
    cache: web::Data<dyn ProviderCache>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    load_stored(&ctx, &id).await?;
    let actor = form.actor();
    let (now, pid) = (ctx.now(), id.clone());
    let info = match ctx
        .call(move |core| admin_providers::delete(core, &actor, &pid, now))
        .await
    {
        Ok(info) => info,
        Err(core_auth::CoreError::ReauthRequired { .. }) => {
            return form
                .reauth_page(&ctx, &session, "delete this sign-in provider")
                .await
        }
        Err(e) => return Err(e.into()),
    };
    cache.forget(&id);
    flash(
        &session,
        format!(
            "The provider {} was deleted, with its links to {} accounts.",
            info.shown().display_name,
            info.linked
        ),
    );
    Ok(see_other("/admin/providers"))
}
