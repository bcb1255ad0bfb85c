//! `/admin/api/v1/clients`: list, register (the secret is in the answer,
//! once), read, replace the settings, rotate the secret, delete.

use actix_web::{web, HttpResponse};
use core_auth::admin::clients as admin_clients;
use core_auth::clients::{self, ClientSpec};
use core_auth::{CoreError, Secret};
use web_kit::AppContext;

use super::auth::ApiAdmin;
use super::extract::ApiJson;
use super::problem::{ApiError, Problem};
use super::types::{ClientIn, ClientList, ClientOut, ClientWithSecret, SecretOut};

fn with_secret(c: core_auth::clients::Client, s: Option<Secret>) -> ClientWithSecret {
    ClientWithSecret {
        client: ClientOut::from(c),
        client_secret: s.map(Secret::into_inner),
    }
}

/// Every registered client, by name.
#[utoipa::path(get, path = "/admin/api/v1/clients", tag = "clients",
    responses(
        (status = 200, description = "The clients", body = ClientList),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn list_clients(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
) -> Result<HttpResponse, ApiError> {
    let all = ctx.db(clients::list).await?;
    Ok(HttpResponse::Ok().json(ClientList {
        items: all.into_iter().map(ClientOut::from).collect(),
    }))
}

/// Register a client. The secret (secret-based methods) is in this answer only.
#[utoipa::path(post, path = "/admin/api/v1/clients", tag = "clients", request_body = ClientIn,
    responses(
        (status = 201, description = "Registered", body = ClientWithSecret),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_client(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    ApiJson(body): ApiJson<ClientIn>,
) -> Result<HttpResponse, ApiError> {
    let spec = ClientSpec::from(body);
    let now = ctx.now();
    let (c, s) = ctx
        .call(move |core| admin_clients::create(core, &admin.actor, &spec, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/admin/api/v1/clients/{}", c.client_id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(with_secret(c, s)))
}

/// One client.
#[utoipa::path(get, path = "/admin/api/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client", body = ClientOut),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_client(
    _: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let c = ctx
        .db(move |c| clients::find(c, &id)?.ok_or(CoreError::NotFound("client")))
        .await?;
    Ok(HttpResponse::Ok().json(ClientOut::from(c)))
}

/// Replace a client's settings (its id and secret stay; a switch to a
/// secret-based method issues a secret, returned once).
#[utoipa::path(put, path = "/admin/api/v1/clients/{id}", tag = "clients", request_body = ClientIn,
    params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "Updated", body = ClientWithSecret),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn update_client(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
    ApiJson(body): ApiJson<ClientIn>,
) -> Result<HttpResponse, ApiError> {
    let (id, spec, now) = (path.into_inner(), ClientSpec::from(body), ctx.now());
    let (c, s) = ctx
        .call(move |core| admin_clients::update(core, &admin.actor, &id, &spec, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(with_secret(c, s)))
}

/// A new secret; the old one stops working at once.
#[utoipa::path(post, path = "/admin/api/v1/clients/{id}/rotate-secret", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 200, description = "The new secret (shown once)", body = SecretOut),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The client has no secret (public or private_key_jwt)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    let s = ctx
        .call(move |core| admin_clients::rotate_secret(core, &admin.actor, &id, now))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(SecretOut {
            client_secret: s.into_inner(),
        }))
}

/// Delete a client with its consents, codes and tokens.
#[utoipa::path(delete, path = "/admin/api/v1/clients/{id}", tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such client", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_client(
    admin: ApiAdmin,
    ctx: web::Data<AppContext>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (path.into_inner(), ctx.now());
    ctx.call(move |core| admin_clients::delete(core, &admin.actor, &id, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
