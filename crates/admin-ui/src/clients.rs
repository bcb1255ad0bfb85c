//! Clients (relying parties): list, create (the secret is shown once),
//! edit, rotate the secret, delete.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::admin::clients as admin_clients;
use core_auth::clients::{self, AuthMethod, Client, ClientSpec, GrantType};
use core_auth::error::ValidationErrors;
use core_auth::keys::Algorithm;
use core_auth::{CoreError, Secret};
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};
use web_kit::{AppContext, CurrentUser, PageError};

use crate::fields::Fields;
use crate::guard::RequireAdmin;
use crate::reauth::AdminForm;
use crate::view::{flash, frame, Chrome, Time};

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ListPage {
    layout: Layout,
    admin: Chrome,
    rows: Vec<(String, String, String, String, Time)>,
}

pub async fn list(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let all = ctx.db(clients::list).await?;
    let (layout, chrome) = frame(&session, &admin, "Clients", "clients")?;
    let rows = all
        .into_iter()
        .map(|c| {
            let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
            (
                c.client_id,
                c.name,
                c.auth_method.as_str().to_string(),
                grants.join(", "),
                Time(c.created_at),
            )
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ListPage {
            layout,
            admin: chrome,
            rows,
        },
    ))
}

#[derive(Template)]
#[template(path = "admin/client_form.html")]
struct FormPage {
    layout: Layout,
    admin: Chrome,
    /// `None`: a new client.
    id: Option<String>,
    spec: ClientSpec,
    methods: Vec<&'static str>,
    algs: Vec<&'static str>,
    grants: Vec<(&'static str, bool)>,
    /// Shown once, right after it was made.
    secret: Option<String>,
    errors: ValidationErrors,
    redirect_text: String,
    post_logout_text: String,
    scopes_text: String,
    audiences_text: String,
    at_ttl: String,
    idle_ttl: String,
    abs_ttl: String,
}

fn num(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    session: &Session,
    admin: &CurrentUser,
    id: Option<String>,
    spec: ClientSpec,
    secret: Option<Secret>,
    errors: ValidationErrors,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let title = if id.is_some() {
        "Client"
    } else {
        "Register a client"
    };
    let (layout, chrome) = frame(session, admin, title, "clients")?;
    let grants = GrantType::ALL
        .iter()
        .map(|g| (g.as_str(), spec.grant_types.iter().any(|s| s == g.as_str())))
        .collect();
    let mut resp = render(
        status,
        &FormPage {
            layout,
            admin: chrome,
            id,
            methods: AuthMethod::ALL.iter().map(|m| m.as_str()).collect(),
            algs: Algorithm::ALL.iter().map(|a| a.as_str()).collect(),
            grants,
            secret: secret.map(Secret::into_inner),
            redirect_text: spec.redirect_uris.join("\n"),
            post_logout_text: spec.post_logout_redirect_uris.join("\n"),
            scopes_text: spec.scopes.join(" "),
            audiences_text: spec.resource_server_audiences.join("\n"),
            at_ttl: num(spec.access_token_lifetime_secs),
            idle_ttl: num(spec.refresh_token_idle_secs),
            abs_ttl: num(spec.refresh_token_absolute_secs),
            spec,
            errors,
        },
    );
    resp.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

/// The spec a form describes; number fields that are not numbers are
/// reported like the domain's own checks.
fn spec_from(f: &Fields) -> Result<ClientSpec, ValidationErrors> {
    let mut v = ValidationErrors::default();
    let mut num = |name: &'static str| match f.number(name) {
        Ok(n) => n,
        Err(m) => {
            v.add(name, m);
            None
        }
    };
    let auth_method = f.get("auth_method").to_string();
    let spec = ClientSpec {
        name: f.get("name").to_string(),
        redirect_uris: f.lines("redirect_uris"),
        post_logout_redirect_uris: f.lines("post_logout_redirect_uris"),
        public: auth_method == AuthMethod::None.as_str(),
        grant_types: f.ticked("grant."),
        scopes: f
            .get("scopes")
            .split_whitespace()
            .map(String::from)
            .collect(),
        skip_consent: f.checked("skip_consent"),
        always_issue_refresh: f.checked("always_issue_refresh"),
        auth_method,
        jwks_uri: f.get("jwks_uri").to_string(),
        jwks: f.get("jwks").to_string(),
        access_token_lifetime_secs: num("access_token_lifetime_secs"),
        refresh_token_idle_secs: num("refresh_token_idle_secs"),
        refresh_token_absolute_secs: num("refresh_token_absolute_secs"),
        resource_server_audiences: f
            .get("resource_server_audiences")
            .split_whitespace()
            .map(String::from)
            .collect(),
        id_token_signed_response_alg: f.get("id_token_signed_response_alg").to_string(),
        require_pushed_authorization_requests: f.checked("require_par"),
        require_signed_request_object: f.checked("require_signed_request_object"),
    };
    if v.is_empty() {
        Ok(spec)
    } else {
        Err(v)
    }
}

pub async fn new_form(
    session: Session,
    RequireAdmin(admin): RequireAdmin,
) -> Result<HttpResponse, PageError> {
    let spec = ClientSpec {
        auth_method: AuthMethod::ClientSecretBasic.as_str().into(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        id_token_signed_response_alg: Algorithm::DEFAULT.as_str().into(),
        ..ClientSpec::default()
    };
    form_page(
        &session,
        &admin,
        None,
        spec,
        None,
        ValidationErrors::default(),
        StatusCode::OK,
    )
}

/// `POST /admin/clients`: registers the client and shows its secret once.
pub async fn create(
    ctx: web::Data<AppContext>,
    session: Session,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let (admin, fields) = (&form.admin, &form.fields);
    let spec = match spec_from(fields) {
        Ok(s) => s,
        Err(v) => {
            return form_page(
                &session,
                admin,
                None,
                ClientSpec::default(),
                None,
                v,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let meta = form.actor();
    let now = ctx.now();
    let s = spec.clone();
    match ctx
        .call(move |core| admin_clients::create(core, &meta, &s, now))
        .await
    {
        Ok((client, secret)) => {
            let spec = admin_clients::spec_of(&client);
            form_page(
                &session,
                admin,
                Some(client.client_id),
                spec,
                secret,
                ValidationErrors::default(),
                StatusCode::CREATED,
            )
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "register a client").await
        }
        Err(CoreError::Validation(v)) => form_page(
            &session,
            admin,
            None,
            spec,
            None,
            v,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

async fn load(ctx: &AppContext, id: &str) -> Result<Client, PageError> {
    let id = id.to_string();
    Ok(ctx
        .db(move |c| clients::find(c, &id)?.ok_or(CoreError::NotFound("client")))
        .await?)
}

/// `GET /admin/clients/{id}`: the client's settings, as an edit form.
pub async fn show(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let client = load(&ctx, &path).await?;
    let spec = admin_clients::spec_of(&client);
    form_page(
        &session,
        &admin,
        Some(client.client_id),
        spec,
        None,
        ValidationErrors::default(),
        StatusCode::OK,
    )
}

/// `POST /admin/clients/{id}`: saves the settings.
pub async fn update(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let (admin, fields) = (&form.admin, &form.fields);
    let id = path.into_inner();
    load(&ctx, &id).await?;
    let spec = match spec_from(fields) {
        Ok(s) => s,
        Err(v) => {
            return form_page(
                &session,
                admin,
                Some(id),
                ClientSpec::default(),
                None,
                v,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let meta = form.actor();
    let now = ctx.now();
    let (cid, s) = (id.clone(), spec.clone());
    match ctx
        .call(move |core| admin_clients::update(core, &meta, &cid, &s, now))
        .await
    {
        Ok((client, Some(secret))) => {
            let spec = admin_clients::spec_of(&client);
            form_page(
                &session,
                admin,
                Some(id),
                spec,
                Some(secret),
                ValidationErrors::default(),
                StatusCode::OK,
            )
        }
        Ok((_, None)) => {
            flash(&session, "Changes saved.");
            Ok(see_other(&format!("/admin/clients/{id}")))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "change this client").await
        }
        Err(CoreError::Validation(v)) => form_page(
            &session,
            admin,
            Some(id),
            spec,
            None,
            v,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/clients/{id}/rotate-secret`: a new secret, shown once.
pub async fn rotate_secret(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let admin = &form.admin;
    let id = path.into_inner();
    let client = load(&ctx, &id).await?;
    let meta = form.actor();
    let now = ctx.now();
    let cid = id.clone();
    match ctx
        .call(move |core| admin_clients::rotate_secret(core, &meta, &cid, now))
        .await
    {
        Ok(secret) => form_page(
            &session,
            admin,
            Some(id),
            admin_clients::spec_of(&client),
            Some(secret),
            ValidationErrors::default(),
            StatusCode::OK,
        ),
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "rotate this client's secret")
                .await
        }
        Err(CoreError::Validation(v)) => {
            flash(
                &session,
                v.0.first().map(|e| e.message.clone()).unwrap_or_default(),
            );
            Ok(see_other(&format!("/admin/clients/{id}")))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/client_delete.html")]
struct ConfirmDelete {
    layout: Layout,
    admin: Chrome,
    id: String,
    name: String,
}

pub async fn confirm_delete(
    ctx: web::Data<AppContext>,
    session: Session,
    RequireAdmin(admin): RequireAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let client = load(&ctx, &path).await?;
    let (layout, chrome) = frame(&session, &admin, "Delete client", "clients")?;
    Ok(render(
        StatusCode::OK,
        &ConfirmDelete {
            layout,
            admin: chrome,
            id: client.client_id,
            name: client.name,
        },
    ))
}

pub async fn delete(
    ctx: web::Data<AppContext>,
    session: Session,
    path: web::Path<String>,
    form: AdminForm,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    load(&ctx, &id).await?;
    let meta = form.actor();
    let now = ctx.now();
    match ctx
        .call(move |core| admin_clients::delete(core, &meta, &id, now))
        .await
    {
        Ok(c) => {
            flash(&session, format!("The client {} was deleted.", c.name));
            Ok(see_other("/admin/clients"))
        }
        Err(CoreError::ReauthRequired { .. }) => {
            form.reauth_page(&ctx, &session, "delete this client").await
        }
        Err(e) => Err(e.into()),
    }
}
