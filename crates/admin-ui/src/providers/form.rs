//! The create and edit form of a stored provider. The client secret is
//! write-only: the form never shows it, not even after a refused save (the
//! administrator types it again), and an empty secret on edit keeps the
//! stored one. Saving is a sensitive action: the form carries the password
//! field itself when the sign-in is older than `admin.reauth_window_secs`,
//! so the secret never travels back through the password page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::providers::{self as admin_providers, ProviderInfo};
use core_auth::error::ValidationErrors;
use core_auth::federation::presets::PRESETS;
use core_auth::federation::provider::BUILTIN_ICONS;
use core_auth::federation::UpstreamProvider;
use core_auth::CoreError;
use web_kit::context::ProviderCache;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, CurrentUser, PageError};

use super::load_stored;
use crate::fields::Fields;
use crate::guard::RequireAdmin;
use crate::reauth::{self, AdminForm};
use crate::view::{flash, frame, Chrome};

#[derive(Template)]
#[template(path = "admin/provider_form.html")]
struct FormPage {
    layout: Layout,
    admin: Chrome,
    /// `None`: a new provider.
    id: Option<String>,
    /// The settings as entered; `client_secret` is always empty here.
    p: UpstreamProvider,
    scopes_text: String,
    domains_text: String,
    presets: &'static [&'static str],
    icon_hint: String,
    /// A stored provider has a secret (edit).
    has_secret: bool,
    /// The sign-in is older than the re-authentication window: the form
    /// asks for the password (and a second factor's code).
    reauth: reauth::Inline,
    linked: i64,
    /// Why the stored settings do not validate.
    problem: Option<String>,
    /// Where the provider sends people back (register it there).
    redirect_uri: String,
    errors: ValidationErrors,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

/// What the form shows besides the settings.
struct Extra {
    has_secret: bool,
    linked: i64,
    problem: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn page(
    ctx: &AppContext,
    session: &Session,
    admin: &CurrentUser,
    id: Option<String>,
    mut p: UpstreamProvider,
    extra: Extra,
    errors: ValidationErrors,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    p.client_secret = String::new();
    let title = match &id {
        Some(_) => "Sign-in provider",
        None => "Add a sign-in provider",
    };
    let (layout, chrome) = frame(session, admin, title, "providers")?;
    let redirect_uri = format!(
        "{}/login/upstream/{}/callback",
        ctx.config.issuer.trim_end_matches('/'),
        id.as_deref().unwrap_or("<id>")
    );
    Ok(render(
        status,
        &FormPage {
            layout,
            admin: chrome,
            id,
            scopes_text: p.scopes.join(" "),
            domains_text: p.allowed_email_domains.join("\n"),
            p,
            presets: PRESETS,
            icon_hint: format!(
                "{} or a data:image/…;base64, URL (32 KiB at most). Empty: the preset's.",
                BUILTIN_ICONS.join(", ")
            ),
            has_secret: extra.has_secret,
            reauth: reauth::inline(ctx, session, admin).await?,
            linked: extra.linked,
            problem: extra.problem,
            redirect_uri,
            errors,
        },
    ))
}

/// The edit form of a stored provider.
pub async fn edit_page(
    ctx: &AppContext,
    session: &Session,
    admin: &CurrentUser,
    info: ProviderInfo,
) -> Result<HttpResponse, PageError> {
    page(
        ctx,
        session,
        admin,
        Some(info.settings.id.clone()),
        info.settings,
        Extra {
            has_secret: info.has_secret,
            linked: info.linked,
            problem: info.problem,
        },
        ValidationErrors::default(),
        StatusCode::OK,
    )
    .await
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// The settings a form describes (`id` from the form on create, from the
/// path on edit).
fn provider_from(f: &Fields, id: &str) -> UpstreamProvider {
    let t = |name: &str| f.get(name).trim().to_string();
    UpstreamProvider {
        id: id.trim().to_string(),
        preset: t("preset"),
        kind: t("kind"),
        display_name: t("display_name"),
        icon: t("icon"),
        enabled: f.checked("enabled"),
        client_id: t("client_id"),
        client_secret: t("client_secret"),
        issuer: t("issuer"),
        tenant: t("tenant"),
        authorization_url: t("authorization_url"),
        token_url: t("token_url"),
        userinfo_url: t("userinfo_url"),
        emails_url: t("emails_url"),
        scopes: f
            .get("scopes")
            .split_whitespace()
            .map(String::from)
            .collect(),
        subject_field: t("subject_field"),
        email_field: t("email_field"),
        email_verified_field: t("email_verified_field"),
        name_field: t("name_field"),
        token_auth_method: t("token_auth_method"),
        allowed_email_domains: words(f.get("allowed_email_domains")),
        allow_registration: f.checked("allow_registration"),
        trust_email: f.checked("trust_email"),
        trust_mfa: f.checked("trust_mfa"),
        dangerous_allow_http: f.checked("dangerous_allow_http"),
    }
}

/// A typed secret is not shown back: say so at its field.
fn secret_not_kept(errors: &mut ValidationErrors, p: &UpstreamProvider, editing: bool) {
    if p.client_secret.is_empty() || errors.get("client_secret").is_some() {
        return;
    }
    errors.add(
        "client_secret",
        if editing {
            "Type the new secret again: it is never sent back to the browser (left empty, the current secret stays)."
        } else {
            "Type the secret again: it is never sent back to the browser."
        },
    );
}

/// `GET /admin/providers/new`.
pub async fn new_form(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    page(
        &ctx,
        &session,
        &admin,
        None,
        UpstreamProvider::default(),
        Extra {
            has_secret: false,
            linked: 0,
            problem: None,
        },
        ValidationErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// Saves (creates when `existing` is `None`): the domain's checks (a stale
/// sign-in first); a refused form comes back with what was typed, except
/// the secret.
async fn save(
    ctx: web::Data<AppContext>,
    cache: web::Data<dyn ProviderCache>,
    session: Session,
    form: AdminForm,
    existing: Option<ProviderInfo>,
) -> Result<HttpResponse, PageError> {
    let admin = &form.admin;
    let id = match &existing {
        Some(info) => info.settings.id.clone(),
        None => form.get("id").trim().to_string(),
    };
    let p = provider_from(&form.fields, &id);
    let editing = existing.is_some();
    let extra = match &existing {
        Some(info) => Extra {
            has_secret: info.has_secret,
            linked: info.linked,
            problem: info.problem.clone(),
        },
        None => Extra {
            has_secret: false,
            linked: 0,
            problem: None,
        },
    };
    let shown_id = existing.map(|_| id.clone());
    let actor = form.actor();
    let now = ctx.now();
    let (pid, input) = (id.clone(), p.clone());
    let saved = ctx
        .call(move |core| {
            if editing {
                admin_providers::update(core, &actor, &pid, input, now)
            } else {
                admin_providers::create(core, &actor, input, now)
            }
        })
        .await;
    match saved {
        Ok(info) => {
            cache.forget(&id);
            flash(
                &session,
                if editing {
                    "Changes saved.".to_string()
                } else {
                    format!(
                        "The provider {} was added. Register {} as the redirect URI at the provider.",
                        info.shown().display_name,
                        info.shown().redirect_uri(&ctx.config.issuer)
                    )
                },
            );
            Ok(see_other(&format!("/admin/providers/{id}")))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            let (status, message) = form.inline_message(&ctx, &session).await?;
            let mut errors = ValidationErrors::default();
            errors.add(reauth::FIELD, message);
            secret_not_kept(&mut errors, &p, editing);
            page(&ctx, &session, admin, shown_id, p, extra, errors, status).await
        }
        Err(CoreError::Validation(mut v)) => {
            secret_not_kept(&mut v, &p, editing);
            page(
                &ctx,
                &session,
                admin,
                shown_id,
                p,
                extra,
                v,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/providers`: adds a provider.
pub async fn create(
    ctx: web::Data<AppContext>,
    cache: web::Data<dyn ProviderCache>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    save(ctx, cache, session, form, None).await
}

/// `POST /admin/providers/{id}`: replaces a stored provider's settings.
pub async fn update(
    ctx: web::Data<AppContext>,
    cache: web::Data<dyn ProviderCache>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let info = load_stored(&ctx, &path).await?;
    save(ctx, cache, session, form, Some(info)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_settings() {
        let f = Fields(vec![
            ("preset".into(), "google".into()),
            ("client_id".into(), " cid ".into()),
            ("client_secret".into(), "s3cret".into()),
            ("scopes".into(), "openid  email".into()),
            (
                "allowed_email_domains".into(),
                "a.example, b.example\r\nc.example".into(),
            ),
            ("enabled".into(), "on".into()),
            ("trust_email".into(), "on".into()),
        ]);
        let p = provider_from(&f, " corp ");
        assert_eq!(p.id, "corp");
        assert_eq!(p.client_id, "cid");
        assert_eq!(p.scopes, ["openid", "email"]);
        assert_eq!(
            p.allowed_email_domains,
            ["a.example", "b.example", "c.example"]
        );
        assert!(p.enabled && p.trust_email && !p.allow_registration && !p.dangerous_allow_http);
        let mut e = ValidationErrors::default();
        secret_not_kept(&mut e, &p, true);
        assert!(e
            .get("client_secret")
            .is_some_and(|m| m.contains("current secret stays")));
        let mut e = ValidationErrors::default();
        secret_not_kept(&mut e, &provider_from(&Fields::default(), "x"), false);
        assert!(e.is_empty());
    }
}
